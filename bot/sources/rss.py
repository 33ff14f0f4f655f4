"""RSS and Atom feeds as a source: one conditional GET per poll, every item normalized to a Post.

What it does: downloads the feed itself with the shared httpx client (If-None-Match /
If-Modified-Since from the stored validators, a size cap, explicit timeouts), hands the downloaded
bytes and the HTTP headers that matter for decoding to feedparser, and turns each entry into a
`Post` (stable id, plain-text title and body, aware-UTC time, author, link, language, tags).
Slightly broken feeds keep whatever entries feedparser recovered; `parse_feed` is that step on
its own (a downloaded body in, posts or the reason it is not a feed out). Every failure (network,
HTTP status, oversize or undecodable body, download deadline, not a feed, parser crash) comes back
as `FetchResult.error`, one line in the shape "what failed: which thing: cause — what to do";
nothing is raised.

What it does not do: let feedparser fetch URLs (it never sees one), decide when to poll next or
back off (the pipeline does, from `retry_after` and the error), remember which items it has seen
(the store drops known ids), or filter items by age.
"""

from __future__ import annotations

import calendar
import hashlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin

import feedparser
import httpx

from bot.config import SourceConfig
from bot.html_text import html_to_text, plain_text
from bot.http import (
    DEFAULT_MAX_BYTES,
    DEFAULT_TIMEOUT,
    DEFAULT_TOTAL_TIMEOUT,
    TRANSPORT_ERRORS,
    CappedResponse,
    conditional_headers,
    fetch_capped,
    format_seconds,
    parse_retry_after,
    transport_failure,
)
from bot.sources.base import BUG_TODO, FetchResult, OwnsHttpClient, SourceState
from detectors.records import Post

log = logging.getLogger(__name__)

ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.1"
)
# A publisher's clock may run a little fast; beyond this a date is wrong, and a post "from the
# future" would sit at the top of every window, so it is treated as seen now.
FUTURE_TOLERANCE = timedelta(hours=1)
# Full-content feeds can carry whole articles; detectors need the gist, and the store and Slack
# should not carry megabytes per item.
MAX_TEXT_CHARS = 20_000
# Response headers feedparser reads: Content-Type picks the encoding (RFC 3023 rules) and
# Content-Language is the default language. Content-Location is set separately, see below.
_PARSER_HEADERS = ("content-type", "content-language")


class RssSource(OwnsHttpClient):
    """A configured RSS/Atom feed. Thread-safe as long as the shared httpx.Client is."""

    kind: str = "rss"

    def __init__(
        self,
        config: SourceConfig,
        client: httpx.Client | None = None,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        total_timeout: float = DEFAULT_TOTAL_TIMEOUT,
        watch_terms: tuple[str, ...] = (),  # every adapter takes them; a feed needs none
    ) -> None:
        self.id = config.id
        self.config = config
        self.max_bytes = max_bytes
        self.total_timeout = total_timeout
        self._use_client(client)

    # -----------------------------------------------------------------------------------------

    def fetch(self, state: SourceState, now: datetime) -> FetchResult:
        """Poll once. Never raises: errors are returned in `FetchResult.error`."""
        try:
            return self._fetch(state, now)
        except Exception as exc:
            # Every expected failure is handled below; reaching here is a bug, so log it loudly
            # with the traceback but still keep the other sources running.
            log.exception("rss source %r: unexpected error", self.id)
            return self._failed(
                state,
                f"unexpected error ({type(exc).__name__}: {exc})",
                BUG_TODO,
            )

    def _fetch(self, state: SourceState, now: datetime) -> FetchResult:
        headers = conditional_headers(ACCEPT, state.etag, state.last_modified)

        try:
            response = fetch_capped(
                # feeds.yaml requires a url for rss; "" would be refused as an invalid URL.
                self._client,
                self.config.url or "",
                headers,
                self.max_bytes,
                self.total_timeout,
            )
        except TRANSPORT_ERRORS as exc:
            return self._failed(state, *transport_failure(exc, self._timeout()))
        return self._handle_response(response, state, now)

    def _handle_response(
        self, response: CappedResponse, state: SourceState, now: datetime
    ) -> FetchResult:
        status = response.status_code
        # A server that sends no validators this time keeps the ones we had (RFC 9110 304 rules).
        etag = response.headers.get("etag") or state.etag
        last_modified = response.headers.get("last-modified") or state.last_modified

        if status == 304:
            return FetchResult(
                not_modified=True, etag=etag, last_modified=last_modified, status=status
            )
        if not 200 <= status < 300:
            return self._status_error(response, state, now)

        parsed = parse_feed(
            response, source_id=self.id, now=now, default_lang=primary_lang(self.config.lang)
        )
        if parsed.error is not None:
            return self._failed(
                state, parsed.error, "check the URL points at an RSS/Atom feed", status=status
            )
        return FetchResult(
            posts=parsed.posts, etag=etag, last_modified=last_modified, status=status
        )

    def _status_error(
        self, response: CappedResponse, state: SourceState, now: datetime
    ) -> FetchResult:
        status = response.status_code
        retry_after: float | None = None
        if status in (429, 503):
            retry_after = parse_retry_after(response.headers.get("retry-after"), now)
        if status == 429:
            cause = "rate limited (HTTP 429)"
        elif status in (401, 403):
            cause = f"access denied (HTTP {status})"
        elif status in (404, 410):
            cause = f"not found (HTTP {status})"
        elif status >= 500:
            cause = f"server error (HTTP {status})"
        else:
            cause = f"unexpected answer (HTTP {status})"

        if retry_after is not None:
            todo = (
                f"the server asks to wait {format_seconds(retry_after)}; it will retry after that"
            )
        elif status in (401, 403):
            todo = "the feed may need a login or block bots; check it opens in a browser"
        elif status in (404, 410):
            todo = "check the URL in feeds.yaml; the feed may have moved"
        elif status == 429 or status >= 500:
            todo = "it will be retried with backoff"
        else:
            todo = "check the URL in feeds.yaml"
        return self._failed(state, cause, todo, status=status, retry_after=retry_after)

    # -----------------------------------------------------------------------------------------

    def _failed(
        self,
        state: SourceState,
        cause: str,
        todo: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> FetchResult:
        # A failed poll keeps the validators we already had; those of a response we could not
        # use are dropped, so the next poll downloads again instead of being told "not modified".
        return FetchResult(
            etag=state.etag,
            last_modified=state.last_modified,
            status=status,
            retry_after=retry_after,
            error=self._message(cause, todo),
        )

    def _message(self, cause: str, todo: str) -> str:
        return f"rss source '{self.id}' ({self.config.url}): {cause} — {todo}"

    def _timeout(self) -> float:
        timeout = self._client.timeout
        return timeout.read or timeout.connect or DEFAULT_TIMEOUT


# ---------------------------------------------------------------------------------------------
# Bytes to items.


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """The items of one downloaded feed, or why the document is not a usable feed."""

    posts: list[Post] = field(default_factory=list)
    error: str | None = None  # the cause, e.g. "not a feed (the response is empty)"


def parse_feed(
    response: CappedResponse,
    *,
    source_id: str,
    now: datetime,
    default_lang: str | None = None,
) -> ParsedFeed:
    """Turn a downloaded feed into posts (unique ids, plain text, aware-UTC times); never raises.

    Slightly broken feeds keep whatever entries feedparser recovered; a document with nothing
    usable that is not a well-formed feed gives `error` instead. `default_lang` is used when
    neither the feed nor an entry names its language.
    """
    try:
        parsed = feedparser.parse(
            response.content,
            response_headers=feed_parser_headers(response),
            # Sanitizing is wasted work: we keep text only, never HTML.
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except Exception as exc:
        log.warning("rss source %r: feedparser crashed", source_id, exc_info=True)
        return ParsedFeed(error=f"cannot parse the feed ({type(exc).__name__}: {exc})")

    entries = parsed.get("entries") or []
    feed = parsed.get("feed") or {}
    feed_lang = primary_lang(feed.get("language")) or default_lang
    posts: list[Post] = []
    seen: set[str] = set()
    for entry in entries:
        try:
            post = entry_to_post(entry, source_id, feed_lang, now)
        except Exception:
            # One odd entry must not cost the whole feed.
            log.warning("rss source %r: skipped an entry", source_id, exc_info=True)
            continue
        if post is None or post.id in seen:
            continue
        seen.add(post.id)
        posts.append(post)

    broken = feed_is_broken(parsed)
    if not posts and (broken or not parsed.get("version")):
        # Nothing usable and the document is not a (well-formed) feed. Many real feeds are
        # slightly broken, so this only fails when nothing could be recovered.
        return ParsedFeed(error=f"not a feed ({not_a_feed_cause(response, parsed)})")
    if broken:
        log.info(
            "rss source %r: feed is not well-formed (%s); kept %d of %d entries",
            source_id,
            parsed.get("bozo_exception"),
            len(posts),
            len(entries),
        )
    elif entries and not posts:
        log.warning(
            "rss source %r: %d entries, none with an id, link, title or text",
            source_id,
            len(entries),
        )
    return ParsedFeed(posts=posts)


def entry_to_post(
    entry: dict[str, Any], source_id: str, feed_lang: str | None, now: datetime
) -> Post | None:
    """One feedparser entry as a Post; None when it has no id, link, title or text at all."""
    title = feed_detail_text(entry, "title")
    text = _body_text(entry)
    if len(text) > MAX_TEXT_CHARS:
        text = text[:MAX_TEXT_CHARS].rstrip() + "…"
    link = clean_str(entry.get("link"))

    post_id = clean_str(entry.get("id")) or link
    if not post_id:
        # Without guid or link, the title is the most stable thing an item has; hash it so a
        # changed body does not look like a new item.
        basis = title or text
        if not basis:
            return None
        prefix = "t:" if title else "h:"
        post_id = (
            prefix
            + hashlib.sha1(
                " ".join(basis.casefold().split()).encode("utf-8"), usedforsecurity=False
            ).hexdigest()[:16]
        )

    lang = (
        primary_lang(feed_detail(entry, "summary_detail").get("language"))
        or primary_lang(feed_detail(entry, "title_detail").get("language"))
        or feed_lang
    )
    return Post(
        source=source_id,
        id=post_id,
        text=text,
        created_at=feed_created_at(entry, now),
        author=_author(entry),
        url=link,
        title=title,
        lang=lang,
        tags=_tags(entry),
    )


# ---------------------------------------------------------------------------------------------
# Small helpers on feedparser's dictionaries (FeedParserDict, a dict subclass).


def feed_parser_headers(response: CappedResponse) -> dict[str, str]:
    # feedparser looks headers up by lowercase name in a plain dict.
    headers = {name: response.headers[name] for name in _PARSER_HEADERS if name in response.headers}
    # Without a Content-Type, feedparser assumes ISO-8859-1 when any header is present; XML's own
    # default (the declaration, else UTF-8) is right far more often.
    headers.setdefault("content-type", "application/xml")
    # The final URL after redirects is where relative links in the feed point.
    location = response.headers.get("content-location")
    headers["content-location"] = urljoin(response.url, location) if location else response.url
    return headers


def feed_is_broken(parsed: Mapping[str, Any]) -> bool:
    """True when feedparser flagged a real syntax problem, not just an encoding/media-type note.

    feedparser also sets `bozo` when it had to guess the encoding or the server sent a non-XML
    Content-Type; the document itself parsed fine then, so an empty feed is still a feed.
    """
    if not parsed.get("bozo"):
        return False
    cause = parsed.get("bozo_exception")
    soft = isinstance(cause, feedparser.ThingsNobodyCaresAboutButMe) and not isinstance(
        cause, feedparser.CharacterEncodingUnknown
    )
    return not soft


def not_a_feed_cause(response: CappedResponse, parsed: Mapping[str, Any]) -> str:
    if not response.content.strip():
        return "the response is empty"
    parts: list[str] = []
    content_type = response.headers.get("content-type", "")
    head = response.content[:1024].lstrip().lower()
    if (
        content_type.lower().startswith(("text/html", "application/xhtml"))
        or head.startswith((b"<!doctype html", b"<head", b"<body"))
        or b"<html" in head
    ):
        parts.append("got an HTML page")
    cause = parsed.get("bozo_exception")
    if cause is not None:
        parts.append(f"feedparser: {type(cause).__name__}: {cause}")
    if not parts:
        parts.append("no RSS or Atom root element")
    return "; ".join(parts)


def clean_str(value: object) -> str | None:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return None


def feed_detail(entry: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = entry.get(key)
    return value if isinstance(value, Mapping) else {}


def feed_detail_text(entry: Mapping[str, Any], key: str) -> str | None:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        return None
    kind = feed_detail(entry, f"{key}_detail").get("type") or "text/html"
    text = plain_text(value) if kind == "text/plain" else html_to_text(value)
    return text or None


def _body_text(entry: Mapping[str, Any]) -> str:
    summary = feed_detail_text(entry, "summary")
    if summary:
        return summary
    # Atom entries and some RSS items only carry <content> / <content:encoded>.
    for content in entry.get("content") or ():
        if not isinstance(content, Mapping):
            continue
        value = content.get("value")
        if isinstance(value, str) and value.strip():
            kind = content.get("type") or "text/html"
            text = plain_text(value) if kind == "text/plain" else html_to_text(value)
            if text:
                return text
    return ""


def feed_created_at(entry: dict[str, Any], now: datetime) -> datetime:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        # dict.get, not entry.get: FeedParserDict answers a missing "updated_parsed" with
        # "published_parsed" and a DeprecationWarning.
        parsed = dict.get(entry, key)
        if not isinstance(parsed, time.struct_time | tuple) or len(parsed) < 6:
            continue
        try:
            # feedparser normalizes every date it understands to a UTC struct_time.
            when = datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
        except (OverflowError, ValueError, OSError):
            continue
        return now if when > now + FUTURE_TOLERANCE else when
    # No usable date: the first time we saw it is the best estimate of when it was published.
    return now


def _author(entry: Mapping[str, Any]) -> str | None:
    name = clean_str(feed_detail(entry, "author_detail").get("name"))
    if name:
        return plain_text(name)
    author = clean_str(entry.get("author"))
    return plain_text(html_to_text(author)) if author else None


def _tags(entry: Mapping[str, Any]) -> tuple[str, ...]:
    terms: list[str] = []
    for tag in entry.get("tags") or ():
        if not isinstance(tag, Mapping):
            continue
        term = clean_str(tag.get("term")) or clean_str(tag.get("label"))
        if term:
            term = plain_text(term)
            if term and term not in terms:
                terms.append(term)
    return tuple(terms)


def primary_lang(value: object) -> str | None:
    """'nl-NL' -> 'nl': the primary subtag is what tokenizers and stopword lists key on."""
    text = clean_str(value)
    if not text:
        return None
    primary = text.replace("_", "-").split("-", 1)[0].strip().lower()
    return primary if primary.isalpha() and 2 <= len(primary) <= 8 else None
