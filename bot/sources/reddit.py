"""Reddit subreddit listings as a source, read through Reddit's public Atom feeds (`.rss`).

What it does: for each configured subreddit, GETs `{base_url}/r/{sub}/{listing}/.rss` with the
shared client's descriptive User-Agent (Reddit refuses generic ones) and a conditional GET of its
own: the ETag / Last-Modified of every subreddit's URL live in the source's JSON cursor, because
`FetchResult` has room for one pair only. Each entry becomes a `Post`: id `t3_…`, the title, the
self-text as plain text with Reddit's "submitted by /u/x [link] [comments]" footer taken out
(the author and the linked URL are read from it; a link post's text is the URL it links to),
author `/u/name`, the permalink as url, the subreddit as tag.

Politeness: every request, across every reddit source in the process, draws from one
module-level budget (`REDDIT_LIMITER`, 10 requests in any 60 seconds). When the budget is used
up, the remaining subreddits are not read this time (no sleeping: the scheduler polls again); the
result carries a `note` naming them, and the cursor puts them first next time so no subreddit
starves. An HTTP 429 stops the poll: an error with the server's Retry-After (or Reddit's
`x-ratelimit-reset`), so the poller waits. `x-ratelimit-remaining: 0` on a good answer stops
the poll too, without an error, and asks the poller to wait until the reset.

Partial failure (decided here): one subreddit that fails (404 banned or gone, 403 private or
quarantined, a redirect to search, broken XML, a timeout) does not cost the others. The result
keeps the others' posts and names the failed subreddit(s) in `note` (health shows it, it does not
count as a failure). The result is an error only when every subreddit read this time failed.

What it does not do: log in or use the JSON API (the Atom feeds need no credentials), read
comments or scores (the feeds do not carry them; a `[N comments]` count is kept as reach when
an older feed shows it), follow pagination, or sleep to wait for the budget.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from html import unescape
from typing import Any
from urllib.parse import urlsplit

import feedparser
import httpx

from bot.config import SourceConfig
from bot.html_text import html_to_text, plain_text
from bot.http import (
    DEFAULT_MAX_BYTES,
    DEFAULT_TIMEOUT,
    USER_AGENT,
    BodyTooLargeError,
    CappedResponse,
    DeadlineExceededError,
    conditional_headers,
    fetch_capped,
    format_seconds,
    parse_retry_after,
)
from bot.netguard import ALLOW_TODO, BlockedAddressError
from bot.ratelimit import SlidingWindowLimiter
from bot.sources.base import BUG_TODO, FetchResult, OwnsHttpClient, SourceState

# The RSS adapter's feedparser helpers, reused as they are (they are module-private there; see
# the report/dev notes: they would be better as a public bot/sources/feedparse.py).
# The feed helpers RSS uses too: one way to read dates, text and broken feeds.
from bot.sources.rss import (
    ACCEPT,
    MAX_TEXT_CHARS,
    clean_str,
    feed_created_at,
    feed_detail,
    feed_detail_text,
    feed_is_broken,
    feed_parser_headers,
    not_a_feed_cause,
    primary_lang,
)
from detectors.records import Post

log = logging.getLogger(__name__)

KIND = "reddit"
DEFAULT_BASE_URL = "https://www.reddit.com"
DEFAULT_LISTING = "new"
# Reddit's rule for clients without OAuth is about 10 requests a minute; this is for the whole
# process, so every reddit source shares it.
REQUESTS_PER_MINUTE = 10
REDDIT_LIMITER = SlidingWindowLimiter(REQUESTS_PER_MINUTE, 60.0)

# "&#32; submitted by &#32; <a href=...> /u/name </a>": the start of Reddit's footer. The last
# one counts: a self-text can contain the words "submitted by" too.
_SUBMITTED_BY = re.compile(r"(?:\s|&#32;|&nbsp;)*submitted\s+by(?:\s|&#32;|&nbsp;)*(?=<a\b)", re.I)
_ANCHOR = re.compile(r"<a\b([^>]*)>(.*?)</a\s*>", re.I | re.S)
_HREF = re.compile(r"""\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.I)
_COMMENTS = re.compile(r"^\[\s*(\d[\d,.]*)?\s*comments?\s*\]$", re.I)
_USER = re.compile(r"^/?u(?:ser)?/([\w-]+|\[deleted\])$", re.I)


# ---------------------------------------------------------------------------------------------
# The cursor: validators per listing URL, and the subreddits the budget left unread last time.


@dataclass(slots=True)
class _Cursor:
    validators: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    pending: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, raw: str | None, source_id: str) -> _Cursor:
        if not raw:
            return cls()
        try:
            data = json.loads(raw)
            validators = {
                str(url): (_opt_str(v.get("etag")), _opt_str(v.get("last_modified")))
                for url, v in dict(data.get("validators") or {}).items()
                if isinstance(v, Mapping)
            }
            pending = [str(s) for s in data.get("pending") or [] if isinstance(s, str)]
        except (ValueError, TypeError, AttributeError):
            # A cursor we cannot read costs one unconditional GET per subreddit, nothing more.
            log.warning(
                "reddit source %r: unreadable cursor %.80r; starting afresh", source_id, raw
            )
            return cls()
        return cls(validators, pending)

    def dump(self) -> str:
        data: dict[str, Any] = {
            "validators": {
                url: {
                    key: value
                    for key, value in (("etag", etag), ("last_modified", modified))
                    if value is not None
                }
                for url, (etag, modified) in sorted(self.validators.items())
                if etag is not None or modified is not None
            }
        }
        if self.pending:
            data["pending"] = self.pending
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


# ---------------------------------------------------------------------------------------------
# What reading one subreddit gave.


@dataclass(slots=True)
class _Read:
    subreddit: str
    url: str
    posts: list[Post] = field(default_factory=list)
    validators: tuple[str | None, str | None] = (None, None)
    not_modified: bool = False
    cause: str | None = None  # set when this subreddit failed
    todo: str | None = None
    status: int | None = None
    retry_after: float | None = None
    rate_limited: bool = False  # HTTP 429: stop the whole poll
    budget_used_up: bool = False  # x-ratelimit-remaining reached 0 on a good answer

    @property
    def failed(self) -> bool:
        return self.cause is not None


class RedditSource(OwnsHttpClient):
    """Configured subreddits of one `kind: reddit` entry. Thread-safe if the client is."""

    kind: str = KIND

    def __init__(
        self,
        config: SourceConfig,
        client: httpx.Client | None = None,
        *,
        watch_terms: tuple[str, ...] = (),  # every adapter takes them; listings need none
        limiter: SlidingWindowLimiter | None = None,  # tests inject one; default: shared
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.id = config.id
        self.config = config
        options = config.options
        self.subreddits = _unique(options.get("subreddits") or ())
        self.listing = str(options.get("listing") or DEFAULT_LISTING)
        self.base_url = str(options.get("base_url") or DEFAULT_BASE_URL).rstrip("/")
        self.max_bytes = max_bytes
        self.limiter = limiter if limiter is not None else REDDIT_LIMITER
        self._use_client(client)

    def listing_url(self, subreddit: str) -> str:
        return f"{self.base_url}/r/{subreddit}/{self.listing}/.rss"

    # -----------------------------------------------------------------------------------------

    def fetch(self, state: SourceState, now: datetime) -> FetchResult:
        """Poll every subreddit the budget allows. Never raises."""
        try:
            return self._fetch(state, now)
        except Exception as exc:
            log.exception("reddit source %r: unexpected error", self.id)
            return FetchResult(
                error=self._message(
                    f"unexpected error ({type(exc).__name__}: {exc})",
                    BUG_TODO,
                )
            )

    def _fetch(self, state: SourceState, now: datetime) -> FetchResult:
        if not self.subreddits:
            return FetchResult(
                error=self._message("no subreddits configured", "add `subreddits:` in feeds.yaml")
            )
        cursor = _Cursor.load(state.cursor, self.id)
        # Subreddits the budget skipped last time go first, so none of them starves.
        configured = {s.casefold(): s for s in self.subreddits}
        order = list(
            dict.fromkeys(
                configured[p.casefold()] for p in cursor.pending if p.casefold() in configured
            )
        )
        order += [s for s in self.subreddits if s not in order]

        reads: list[_Read] = []
        skipped: list[str] = []
        server_budget: _Read | None = None
        for index, subreddit in enumerate(order):
            if not self.limiter.try_acquire():
                skipped = order[index:]
                break
            url = self.listing_url(subreddit)
            read = self._read(subreddit, url, cursor.validators.get(url, (None, None)), now)
            if read.rate_limited:
                return self._rate_limited(read, reads)
            reads.append(read)
            if read.budget_used_up:
                server_budget = read
                skipped = order[index + 1 :]
                break

        # Validators: new ones from good answers, the old ones for everything else.
        current_urls = {self.listing_url(s) for s in self.subreddits}
        validators = {u: v for u, v in cursor.validators.items() if u in current_urls}
        for read in reads:
            if not read.failed:
                validators[read.url] = read.validators
        # Those left unread keep their turn: next time they go first, in this same order.
        new_cursor = _Cursor(validators, list(skipped))

        failed = [r for r in reads if r.failed]
        if reads and len(failed) == len(reads):
            return self._all_failed(failed, skipped)

        posts: list[Post] = []
        backlog: list[Post] = []
        seen: set[str] = set()
        for read in reads:
            # A subreddit read for the first time after the source's first poll (added later,
            # or skipped by the budget then): its listing is history, never alerted.
            first_read = read.url not in cursor.validators and state.polls > 0
            for post in read.posts:
                if post.id not in seen:
                    seen.add(post.id)
                    (backlog if first_read else posts).append(post)

        notes = [f"r/{r.subreddit}: {r.cause} — {r.todo}" for r in failed]
        retry_after: float | None = None
        if server_budget is not None:
            retry_after = server_budget.retry_after
            wait = f" for {format_seconds(retry_after)}" if retry_after is not None else ""
            notes.append(
                f"Reddit reports its rate limit used up (x-ratelimit-remaining: 0); "
                f"waiting{wait}; {_subs(skipped)} not read this time, first on the next poll"
            )
        elif skipped:
            notes.append(
                f"Reddit budget ({self.limiter.limit} requests per "
                f"{format_seconds(self.limiter.window)}, shared by every reddit source) used up; "
                f"{_subs(skipped)} not read this time, first on the next poll — fewer "
                "subreddits or a longer interval avoids this"
            )
        note = " | ".join(notes) if notes else None
        if note:
            log.info("reddit source %r: %s", self.id, note)
        return FetchResult(
            posts=posts,
            backlog=backlog,
            cursor=new_cursor.dump(),
            not_modified=bool(reads) and all(r.not_modified for r in reads),
            retry_after=retry_after,
            status=reads[-1].status if reads else None,
            note=note,
        )

    def _rate_limited(self, read: _Read, before: Sequence[_Read]) -> FetchResult:
        done = sum(1 for r in before if not r.failed)
        extra = f" after {done} good subreddit read(s) this poll" if done else ""
        return FetchResult(
            error=self._message(f"r/{read.subreddit}: {read.cause}{extra}", read.todo or ""),
            retry_after=read.retry_after,
            status=read.status,
        )

    def _all_failed(self, failed: Sequence[_Read], skipped: Sequence[str]) -> FetchResult:
        retry_after = max(
            (r.retry_after for r in failed if r.retry_after is not None), default=None
        )
        status = failed[0].status if len(failed) == 1 else None
        later = f" ({_subs(skipped)} not read: budget used up)" if skipped else ""
        if len(failed) == 1:
            read = failed[0]
            error = self._message(
                f"r/{read.subreddit} ({read.url}): {read.cause}{later}", read.todo or ""
            )
        else:
            causes = "; ".join(f"r/{r.subreddit}: {r.cause}" for r in failed)
            todos = {r.todo for r in failed}
            todo = (
                todos.pop()
                if len(todos) == 1
                else "check each subreddit opens in a browser; it will be retried with backoff"
            )
            error = self._message(
                f"all {len(failed)} subreddits failed: {causes}{later}", todo or ""
            )
        return FetchResult(error=error, retry_after=retry_after, status=status)

    # -----------------------------------------------------------------------------------------
    # One subreddit.

    def _read(
        self,
        subreddit: str,
        url: str,
        validators: tuple[str | None, str | None],
        now: datetime,
    ) -> _Read:
        read = _Read(subreddit, url, validators=validators)
        etag, modified = validators
        headers = conditional_headers(ACCEPT, etag, modified)
        if _generic_user_agent(self._client.headers.get("user-agent")):
            # Reddit answers generic library User-Agents with 429s; never send one.
            headers["User-Agent"] = USER_AGENT

        try:
            response = fetch_capped(self._client, url, headers, self.max_bytes)
        except Exception as exc:  # network trouble: mapped to a cause, never raised
            read.cause, read.todo = _transport_failure(exc, self._timeout())
            if read.cause is None:
                raise
            return read

        read.status = response.status_code
        self._server_budget(read, response, now)
        new_validators = (
            response.headers.get("etag") or etag,
            response.headers.get("last-modified") or modified,
        )
        if response.status_code == 304:
            read.not_modified = True
            read.validators = new_validators
            return read
        if response.status_code == 429:
            read.rate_limited = True
            read.retry_after = _retry_after(response, now)
            read.cause = "rate limited by Reddit (HTTP 429)"
            read.todo = (
                f"Reddit asks to wait {format_seconds(read.retry_after)}; polling resumes then"
                if read.retry_after is not None
                else "it will be retried with backoff; check the User-Agent is descriptive"
            )
            return read
        if not 200 <= response.status_code < 300:
            read.cause, read.todo = _status_failure(response.status_code)
            if response.status_code == 503:
                read.retry_after = parse_retry_after(response.headers.get("retry-after"), now)
            return read
        if not _still_the_subreddit(response.url, subreddit):
            read.cause = f"Reddit redirected to {response.url} instead of the listing"
            read.todo = "the subreddit may not exist (any more); check its name in feeds.yaml"
            return read

        posts, problem = self._parse(response, subreddit, now)
        if problem is not None:
            read.cause, read.todo = problem, "check the subreddit opens in a browser"
            return read
        read.posts = posts
        read.validators = new_validators
        return read

    def _server_budget(self, read: _Read, response: CappedResponse, now: datetime) -> None:
        """Reddit's own x-ratelimit-* headers: stop early when it says nothing is left."""
        remaining = _float(response.headers.get("x-ratelimit-remaining"))
        if remaining is not None and remaining < 1 and 200 <= response.status_code < 400:
            read.budget_used_up = True
            read.retry_after = _retry_after(response, now)

    def _parse(
        self, response: CappedResponse, subreddit: str, now: datetime
    ) -> tuple[list[Post], str | None]:
        try:
            parsed = feedparser.parse(
                response.content,
                response_headers=_parser_headers(response),
                sanitize_html=False,  # text only, never HTML: sanitizing is wasted work
                resolve_relative_uris=False,
            )
        except Exception as exc:
            log.warning("reddit source %r: feedparser crashed", self.id, exc_info=True)
            return [], f"cannot parse the feed ({type(exc).__name__}: {exc})"
        entries = parsed.get("entries") or []
        posts: list[Post] = []
        for entry in entries:
            try:
                post = self._to_post(entry, subreddit, now)
            except Exception:
                log.warning("reddit source %r: skipped an entry", self.id, exc_info=True)
                continue
            if post is not None:
                posts.append(post)
        if not posts and (feed_is_broken(parsed) or not parsed.get("version")):
            return [], f"not a feed ({not_a_feed_cause(response, parsed)})"
        return posts, None

    def _to_post(self, entry: dict[str, Any], subreddit: str, now: datetime) -> Post | None:
        footer = split_footer(_content_html(entry))
        permalink = clean_str(entry.get("link")) or footer.comments_url
        post_id = clean_str(entry.get("id")) or permalink
        if not post_id:
            return None
        text = footer.body_text
        if not text and footer.link and footer.link != permalink:
            text = footer.link  # a link post: what it links to is its content
        if len(text) > MAX_TEXT_CHARS:
            text = text[:MAX_TEXT_CHARS].rstrip() + "…"
        author = _user(clean_str(feed_detail(entry, "author_detail").get("name"))) or footer.author
        return Post(
            source=self.id,
            id=post_id,
            text=text,
            created_at=feed_created_at(entry, now),
            author=author,
            url=permalink,
            title=feed_detail_text(entry, "title"),
            lang=primary_lang(self.config.lang),
            tags=(subreddit,),
            reach=footer.comments,
        )

    # -----------------------------------------------------------------------------------------

    def _message(self, cause: str, todo: str) -> str:
        return f"{KIND} source '{self.id}': {cause} — {todo}"

    def _timeout(self) -> float:
        timeout = self._client.timeout
        return timeout.read or timeout.connect or DEFAULT_TIMEOUT


# ---------------------------------------------------------------------------------------------
# Reddit's footer: "submitted by /u/name [link] [comments]".


@dataclass(frozen=True, slots=True)
class Footer:
    """A Reddit entry's content split into its own text and the footer Reddit appends."""

    body_text: str
    author: str | None = None  # "/u/name"
    link: str | None = None  # the [link] target: the linked page, or the permalink for self posts
    comments_url: str | None = None
    comments: float | None = None  # "[12 comments]" in older feeds; newer ones show no count


def split_footer(html: str) -> Footer:
    """Split Reddit's entry HTML into plain body text and the parts of its footer."""
    matches = list(_SUBMITTED_BY.finditer(html))
    if not matches:
        return Footer(body_text=html_to_text(html))
    cut = matches[-1]
    author = link = comments_url = None
    comments: float | None = None
    for anchor in _ANCHOR.finditer(html, cut.end()):
        label = plain_text(html_to_text(anchor.group(2)))
        href = _href(anchor.group(1))
        if author is None and (user := _user(label)):
            author = user
        elif label.casefold() == "[link]":
            link = href
        elif match := _COMMENTS.match(label):
            comments_url = href
            if match.group(1):
                comments = float(re.sub(r"[,.]", "", match.group(1)))
    return Footer(
        body_text=html_to_text(html[: cut.start()]),
        author=author,
        link=link,
        comments_url=comments_url,
        comments=comments,
    )


def _parser_headers(response: CappedResponse) -> dict[str, str]:
    """The RSS adapter's headers for feedparser, minus Content-Location.

    feedparser resolves an Atom `<id>` against the document's location as if it were a relative
    URI, which would turn Reddit's `t3_1j1vq8k` into `https://…/new/t3_1j1vq8k`. Reddit's links
    are absolute, so nothing is lost by leaving the base out.
    """
    headers = feed_parser_headers(response)
    headers.pop("content-location", None)
    return headers


def _content_html(entry: Mapping[str, Any]) -> str:
    for content in entry.get("content") or ():
        if isinstance(content, Mapping) and isinstance(content.get("value"), str):
            return str(content["value"])
    summary = entry.get("summary")
    return summary if isinstance(summary, str) else ""


def _href(attributes: str) -> str | None:
    match = _HREF.search(attributes)
    if not match:
        return None
    value = unescape(next(g for g in match.groups() if g is not None)).strip()
    return value or None


def _user(name: str | None) -> str | None:
    """'/u/name', 'u/name' or 'name' (Reddit's Atom author) to '/u/name'."""
    if not name:
        return None
    name = name.strip()
    if match := _USER.match(name):
        return f"/u/{match.group(1)}"
    if re.fullmatch(r"[\w-]{2,40}", name):
        return f"/u/{name}"
    return None


# ---------------------------------------------------------------------------------------------
# HTTP outcomes.


def _transport_failure(exc: Exception, timeout: float) -> tuple[str | None, str | None]:
    """(cause, what to do) for a failed download; (None, None) for an exception we do not know."""
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out after {format_seconds(timeout)}", "it will be retried with backoff"
    if isinstance(exc, DeadlineExceededError):
        return str(exc), "Reddit is answering very slowly; it will be retried with backoff"
    if isinstance(exc, BodyTooLargeError):
        return str(exc), "check base_url points at Reddit"
    if isinstance(exc, httpx.TooManyRedirects):
        return "too many redirects", "check the subreddit's name and base_url in feeds.yaml"
    if isinstance(exc, BlockedAddressError):  # the SSRF guard: same words as every source
        return exc.cause, ALLOW_TODO
    if isinstance(exc, httpx.ConnectError):
        return (
            f"cannot connect ({_cause(exc)})",
            "check the network and base_url; it will be retried with backoff",
        )
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return f"invalid URL ({_cause(exc)})", "fix base_url in feeds.yaml"
    if isinstance(exc, httpx.HTTPError):
        return (
            f"HTTP error ({type(exc).__name__}: {_cause(exc)})",
            "it will be retried with backoff",
        )
    return None, None


def _status_failure(status: int) -> tuple[str, str]:
    if status == 403:
        return (
            "access denied (HTTP 403)",
            "the subreddit is private or quarantined, or Reddit blocks this host; "
            "check it opens in a private browser window",
        )
    if status == 401:
        return "login required (HTTP 401)", "the subreddit needs a login; remove it from feeds.yaml"
    if status in (404, 410):
        return (
            f"not found (HTTP {status})",
            "the subreddit is banned or does not exist; check its name in feeds.yaml",
        )
    if status >= 500:
        return f"Reddit server error (HTTP {status})", "it will be retried with backoff"
    return f"unexpected answer (HTTP {status})", "check base_url in feeds.yaml"


def _retry_after(response: CappedResponse, now: datetime) -> float | None:
    """Retry-After, else Reddit's x-ratelimit-reset (seconds until its window resets)."""
    seconds = parse_retry_after(response.headers.get("retry-after"), now)
    if seconds is None:
        reset = _float(response.headers.get("x-ratelimit-reset"))
        if reset is not None and reset >= 0:
            seconds = parse_retry_after(str(round(reset)), now)
    return seconds


def _still_the_subreddit(final_url: str, subreddit: str) -> bool:
    """False when Reddit redirected elsewhere (an unknown name goes to a search page)."""
    path = urlsplit(final_url).path.casefold()
    return f"/r/{subreddit.casefold()}/" in path


def _generic_user_agent(value: str | None) -> bool:
    return not value or value.lower().startswith(("python-httpx", "python-requests", "curl/"))


def _float(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value.strip())
    except ValueError:
        return None


def _unique(names: Sequence[str]) -> tuple[str, ...]:
    seen: set[str] = set()
    kept: list[str] = []
    for name in names:
        name = str(name).strip().removeprefix("r/").removeprefix("/r/")
        if name and name.casefold() not in seen:
            seen.add(name.casefold())
            kept.append(name)
    return tuple(kept)


def _subs(names: Sequence[str]) -> str:
    return ", ".join(f"r/{name}" for name in names)


def _cause(exc: BaseException) -> str:
    text = str(exc).strip()
    return text or type(exc).__name__
