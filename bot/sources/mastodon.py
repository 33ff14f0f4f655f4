"""A Mastodon instance as a source: hashtag timelines, the public or local timeline, and trends.

What it does: one `fetch` reads, from one instance, every configured hashtag timeline
(`/api/v1/timelines/tag/:tag`), the public or local timeline (`/api/v1/timelines/public`), and,
when enabled, the instance's trends (`/api/v1/trends/tags` become `ExternalTrend` signals,
`/api/v1/trends/statuses` and `/api/v1/trends/links` become posts). Timelines are read forward
with `min_id` from the newest status id seen per timeline (kept in the cursor as a compact JSON
object), following the `Link: rel="prev"` page while pages come back full, at most `MAX_PAGES`
pages per timeline per fetch; whatever is left is read on the next poll, so nothing is lost and
nothing read twice. `X-RateLimit-Remaining` / `X-RateLimit-Reset` are read on every answer: at
0 no further request is made and `retry_after` asks the poller to wait until the reset; a 429 is
an error with `retry_after`. An access token is read from the environment variable named by
`token_env` at fetch time and sent as `Authorization: Bearer` to the instance only; it never
appears in a message.

What it does not do: stream (the streaming API needs a long-lived connection per timeline and
gives nothing a 2-minute poll misses), read the home timeline, resolve remote accounts, or keep
engagement counts beyond `reach` (`Post` has no field for them yet).

Failures: a part that fails (one hashtag, the trends) while others work gives the posts of the
parts that worked and a `note` naming the failed part; when nothing could be read, or the
instance answered 429, the result is an error. Every message has the shape
"mastodon source '<id>': <what>: <cause> — <what to do>".
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import httpx

from bot.config import SourceConfig
from bot.html_text import html_to_text, plain_text
from bot.http import (
    DEFAULT_MAX_BYTES,
    MAX_RETRY_AFTER_SECONDS,
    BodyTooLargeError,
    CappedResponse,
    DeadlineExceededError,
    fetch_capped,
    format_seconds,
    parse_retry_after,
)
from bot.netguard import ALLOW_TODO, BlockedAddressError
from bot.sources.base import BUG_TODO, FetchResult, OwnsHttpClient, SourceState
from detectors.records import ExternalTrend, Post
from detectors.text import normalize_term

log = logging.getLogger(__name__)

KIND = "mastodon"
# Pages read per timeline per fetch when a busy timeline keeps filling them: 5 x 40 statuses
# per poll keeps up with ~100 statuses a minute at a 2-minute interval, and bounds the requests
# one poll can spend (Mastodon allows 300 per 5 minutes).
MAX_PAGES = 5
# Mastodon caps: statuses 40 per page; trending tags and links 20.
MAX_STATUS_LIMIT = 40
MAX_TREND_LIMIT = 20
FUTURE_TOLERANCE = timedelta(hours=1)
MAX_TEXT_CHARS = 20_000
ACCEPT = "application/json"
_LINK = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]+)*)")
_REL = re.compile(r"""rel\s*=\s*"?([^";]+)"?""", re.IGNORECASE)


@dataclass
class _Problem:
    """One part of a fetch that failed; `stop` ends the fetch, `fatal` makes it an error."""

    what: str
    cause: str
    todo: str
    status: int | None = None
    retry_after: float | None = None
    stop: bool = False
    fatal: bool = False

    def line(self, source_id: str) -> str:
        return f"{KIND} source '{source_id}': {self.what}: {self.cause} — {self.todo}"


@dataclass
class _Answer:
    data: Any
    response: CappedResponse


@dataclass
class _Run:
    """What one fetch has learnt so far: the rate limit, and whether to stop asking."""

    now: datetime
    token: str | None
    remaining: int | None = None
    reset_wait: float | None = None
    requests: int = 0
    stopped: bool = False
    problems: list[_Problem] = field(default_factory=list)

    @property
    def rate_exhausted(self) -> bool:
        return self.remaining is not None and self.remaining <= 0


class MastodonSource(OwnsHttpClient):
    """One Mastodon instance from feeds.yaml. Thread-safe as long as the shared client is."""

    kind: str = KIND

    def __init__(
        self,
        config: SourceConfig,
        client: httpx.Client | None = None,
        *,
        watch_terms: tuple[str, ...] = (),  # every adapter takes them; timelines need none
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_pages: int = MAX_PAGES,
    ) -> None:
        self.id = config.id
        self.config = config
        options: Mapping[str, Any] = config.options
        self.instance = str(options.get("instance") or config.url or "").strip().rstrip("/")
        tags: list[str] = []
        for raw in options.get("hashtags") or ():
            tag = str(raw).strip().lstrip("#")
            if tag and tag.casefold() not in {t.casefold() for t in tags}:
                tags.append(tag)
        self.hashtags = tuple(tags)
        self.timeline = str(options.get("timeline") or "none")
        self.trends = bool(options.get("trends", True))
        token_env = options.get("token_env")
        self.token_env = str(token_env) if token_env else None
        self.limit = max(1, min(int(options.get("limit") or MAX_STATUS_LIMIT), MAX_STATUS_LIMIT))
        self.max_bytes = max_bytes
        self.max_pages = max(1, max_pages)
        self._use_client(client)

    # -----------------------------------------------------------------------------------------

    def fetch(self, state: SourceState, now: datetime) -> FetchResult:
        """Poll once. Never raises: errors are returned in `FetchResult.error`."""
        token: str | None = None
        try:
            token = self._token()
            return self._scrubbed(self._fetch(state, now, token), token)
        except Exception as exc:
            log.exception("mastodon source %r: unexpected error", self.id)
            text = (
                f"{KIND} source '{self.id}': unexpected error ({type(exc).__name__}: {exc}) — "
                + BUG_TODO
            )
            return self._scrubbed(FetchResult(error=text), token)

    def _token(self) -> str | None:
        if not self.token_env:
            return None
        value = os.environ.get(self.token_env, "").strip()
        return value or None

    def _fetch(self, state: SourceState, now: datetime, token: str | None) -> FetchResult:
        if not self.instance:
            return FetchResult(
                error=f"{KIND} source '{self.id}': configuration: no instance URL — "
                "set instance: https://<server> in feeds.yaml"
            )
        plan = self._timelines()
        if not plan and not self.trends:
            return FetchResult(
                error=f"{KIND} source '{self.id}': configuration: nothing to read — "
                "add hashtags, set timeline: public or local, or set trends: true"
            )
        cursor = _load_cursor(state.cursor)
        new_cursor = {key: cursor[key] for key, _, _, _ in plan if key in cursor}
        run = _Run(now=now, token=token)
        posts: dict[str, Post] = {}
        backlog: dict[str, Post] = {}
        signals: dict[str, ExternalTrend] = {}
        parts_ok = 0
        skipped: list[str] = []

        for key, what, path, params in plan:
            if run.stopped or run.rate_exhausted:
                skipped.append(what)
                continue
            statuses, newest, problem = self._read_timeline(
                what, path, params, cursor.get(key), run
            )
            # A hashtag or timeline added after the source's first poll: its first page is
            # history (stored, never alerted), like a new source's backlog.
            first_read = key not in cursor and state.polls > 0
            for status in statuses:
                post = self._status_post(status, now)
                if post is not None:
                    (backlog if first_read else posts).setdefault(post.id, post)
            if newest is not None:
                new_cursor[key] = newest
            if problem is None:
                parts_ok += 1
            else:
                run.problems.append(problem)
                if problem.stop:
                    run.stopped = True

        if self.trends:
            if run.stopped or run.rate_exhausted:
                skipped.append("trends")
            else:
                trend_posts, trend_signals, problem = self._read_trends(run)
                for post in trend_posts:
                    posts.setdefault(post.id, post)
                for signal in trend_signals:
                    signals.setdefault(signal.term, signal)
                if problem is None:
                    parts_ok += 1
                else:
                    run.problems.append(problem)

        result = self._result(
            run, list(posts.values()), list(signals.values()), new_cursor, parts_ok, skipped
        )
        if result.ok and backlog:
            result = replace(result, backlog=[p for pid, p in backlog.items() if pid not in posts])
        return result

    def _result(
        self,
        run: _Run,
        posts: list[Post],
        signals: list[ExternalTrend],
        cursor: dict[str, str],
        parts_ok: int,
        skipped: list[str],
    ) -> FetchResult:
        fatal = next((p for p in run.problems if p.fatal), None)
        if fatal is not None or (parts_ok == 0 and run.problems):
            first = fatal or run.problems[0]
            others = [p for p in run.problems if p is not first]
            text = first.line(self.id)
            if others:
                text += " (also " + "; ".join(f"{p.what}: {p.cause}" for p in others[:3])
                text += f"; and {len(others) - 3} more)" if len(others) > 3 else ")"
            retry = max((p.retry_after for p in run.problems if p.retry_after), default=None)
            if retry is None and run.rate_exhausted:
                retry = run.reset_wait
            return FetchResult(error=text, status=first.status, retry_after=retry)

        notes = [p.line(self.id) for p in run.problems]
        retry_after: float | None = None
        if run.rate_exhausted:
            retry_after = run.reset_wait if run.reset_wait is not None else 60.0
            until = run.now + timedelta(seconds=retry_after)
            notes.append(
                f"{KIND} source '{self.id}': rate limit: used up after {run.requests} requests "
                "(X-RateLimit-Remaining 0)"
                + (f"; not read yet: {', '.join(skipped)}" if skipped else "")
                + f" — waiting until {until:%H:%M:%S} UTC; the rest is read then"
            )
        return FetchResult(
            posts=posts,
            signals=signals,
            cursor=json.dumps(cursor, separators=(",", ":"), sort_keys=True) if cursor else None,
            retry_after=retry_after,
            note=" | ".join(notes) if notes else None,
        )

    def _scrubbed(self, result: FetchResult, token: str | None) -> FetchResult:
        """Belt and braces: a token must never reach the store, the log or Slack."""
        if not token or len(token) < 4:
            return result
        error = result.error.replace(token, "***") if result.error else result.error
        note = result.note.replace(token, "***") if result.note else result.note
        if error == result.error and note == result.note:
            return result
        return FetchResult(
            posts=result.posts,
            backlog=result.backlog,
            signals=result.signals,
            cursor=result.cursor,
            error=error,
            retry_after=result.retry_after,
            status=result.status,
            note=note,
        )

    # -- timelines ----------------------------------------------------------------------------

    def _timelines(self) -> list[tuple[str, str, str, dict[str, str]]]:
        """(cursor key, what people read, path, fixed query) for each timeline to read."""
        plan = [
            (
                f"tag:{tag.casefold()}",
                f"#{tag} timeline",
                f"/api/v1/timelines/tag/{quote(tag, safe='')}",
                {},
            )
            for tag in self.hashtags
        ]
        if self.timeline == "public":
            plan.append(("public", "public timeline", "/api/v1/timelines/public", {}))
        elif self.timeline == "local":
            plan.append(("local", "local timeline", "/api/v1/timelines/public", {"local": "true"}))
        return plan

    def _read_timeline(
        self,
        what: str,
        path: str,
        params: dict[str, str],
        since: str | None,
        run: _Run,
    ) -> tuple[list[dict[str, Any]], str | None, _Problem | None]:
        """Statuses newer than `since` (the newest page when there is no `since`), the newest id
        read, and the problem that ended the read early, if any."""
        query = {**params, "limit": str(self.limit)}
        if since is not None:
            query["min_id"] = since
        url = self._url(path, query)
        newest = since
        statuses: list[dict[str, Any]] = []
        for page in range(self.max_pages):
            if run.rate_exhausted:
                break  # this timeline continues from `newest` after the reset
            got = self._get_json(url, what, run, timeline=True)
            if isinstance(got, _Problem):
                return statuses, newest, got
            if not isinstance(got.data, list):
                return (
                    statuses,
                    newest,
                    self._shape_problem(what, got, "a list of statuses", run.token),
                )
            items = [s for s in got.data if isinstance(s, dict) and _status_id(s)]
            before = newest
            for status in items:
                status_id = _status_id(status)
                assert status_id is not None
                if since is not None and not _newer(status_id, since):
                    continue  # a server that ignored min_id: already read last time
                statuses.append(status)
                if newest is None or _newer(status_id, newest):
                    newest = status_id
            if since is None or len(got.data) < self.limit or newest == before:
                break  # first read (newest page only), the last page, or no progress
            if page == self.max_pages - 1:
                log.info(
                    "mastodon source %r: %s is busy; read %d pages, the rest follows next poll",
                    self.id,
                    what,
                    self.max_pages,
                )
                break
            assert newest is not None
            url = self._next_page(got.response, path, query, newest)
        return statuses, newest, None

    def _next_page(
        self, response: CappedResponse, path: str, query: dict[str, str], newest: str
    ) -> str:
        """The `rel="prev"` link (newer statuses) when it stays on the instance and moves forward;
        otherwise the same request with `min_id` set to the newest id read."""
        link = _link_rel(response.headers.get("link"), "prev")
        if link and self._same_origin(link):
            min_ids = parse_qs(urlsplit(link).query).get("min_id")
            if min_ids and not _newer(newest, min_ids[0]):
                return link
        return self._url(path, {**query, "min_id": newest})

    def _same_origin(self, url: str) -> bool:
        ours, theirs = urlsplit(self.instance), urlsplit(url)
        return (ours.scheme, ours.netloc.lower()) == (theirs.scheme, theirs.netloc.lower())

    def _url(self, path: str, query: dict[str, str]) -> str:
        return f"{self.instance}{path}" + (f"?{urlencode(query)}" if query else "")

    # -- trends -------------------------------------------------------------------------------

    def _read_trends(self, run: _Run) -> tuple[list[Post], list[ExternalTrend], _Problem | None]:
        posts: list[Post] = []
        signals: list[ExternalTrend] = []
        trend_limit = str(min(self.limit, MAX_TREND_LIMIT))
        reads = (
            ("trending tags", "/api/v1/trends/tags", trend_limit),
            ("trending statuses", "/api/v1/trends/statuses", str(self.limit)),
            ("trending links", "/api/v1/trends/links", trend_limit),
        )
        for what, path, limit in reads:
            if run.rate_exhausted:
                break
            got = self._get_json(self._url(path, {"limit": limit}), what, run, timeline=False)
            if isinstance(got, _Problem):
                # Trends switched off or behind a login answer the same on all three endpoints:
                # one request tells, the other two would only repeat it.
                if not (posts or signals):
                    got.what = "trends" if got.status in (401, 403, 404) else got.what
                return posts, signals, got
            if not isinstance(got.data, list):
                return posts, signals, self._shape_problem(what, got, "a list", run.token)
            for item in got.data:
                if not isinstance(item, dict):
                    continue
                if path.endswith("/tags"):
                    signal = self._tag_signal(item, run.now)
                    if signal is not None:
                        signals.append(signal)
                elif path.endswith("/statuses"):
                    post = self._status_post(item, run.now)
                    if post is not None:
                        posts.append(post)
                else:
                    post = self._link_post(item, run.now)
                    if post is not None:
                        posts.append(post)
        return posts, signals, None

    def _tag_signal(self, tag: Mapping[str, Any], now: datetime) -> ExternalTrend | None:
        name = _str(tag.get("name"))
        if not name:
            return None
        term = normalize_term(name)
        if not term:
            return None
        return ExternalTrend(
            source=self.id,
            term=term,
            title=f"#{name}",
            observed_at=now,
            traffic=_today_uses(tag.get("history")),
            url=_str(tag.get("url")),
        )

    def _link_post(self, link: Mapping[str, Any], now: datetime) -> Post | None:
        url = _str(link.get("url"))
        if not url:
            return None
        title = plain_text(_str(link.get("title")) or "") or None
        text = plain_text(_str(link.get("description")) or "")
        return Post(
            source=self.id,
            id=f"link:{url}",
            text=text[:MAX_TEXT_CHARS],
            created_at=_when(link.get("published_at"), now),
            author=_str(link.get("author_name")) or _str(link.get("provider_name")),
            url=url,
            title=title,
            lang=_lang(link.get("language")) or _lang(self.config.lang),
            reach=_today_uses(link.get("history")),
        )

    # -- statuses -----------------------------------------------------------------------------

    def _status_post(self, status: Mapping[str, Any], now: datetime) -> Post | None:
        # A boost carries the boosted status: that one is the post, under its own id, so a boost
        # and the original (and two boosts of it) are one post.
        boosted = status.get("reblog")
        if isinstance(boosted, dict) and _status_id(boosted):
            status = boosted
        status_id = _status_id(status)
        if not status_id:
            return None
        text = html_to_text(_str(status.get("content")) or "")
        spoiler = plain_text(_str(status.get("spoiler_text")) or "")
        if spoiler:
            text = f"{spoiler}\n{text}" if text else spoiler
        if len(text) > MAX_TEXT_CHARS:
            text = text[:MAX_TEXT_CHARS].rstrip() + "…"
        account = status.get("account")
        account = account if isinstance(account, dict) else {}
        tags: list[str] = []
        for tag in status.get("tags") or ():
            name = _str(tag.get("name")) if isinstance(tag, dict) else None
            if name and name not in tags:
                tags.append(name)
        return Post(
            source=self.id,
            id=status_id,
            text=text,
            created_at=_when(status.get("created_at"), now),
            author=_str(account.get("acct")) or _str(account.get("username")),
            url=_str(status.get("url")) or _str(status.get("uri")),
            lang=_lang(status.get("language")) or _lang(self.config.lang),
            tags=tuple(tags),
            reach=_reach(status, account),
        )

    # -- HTTP ---------------------------------------------------------------------------------

    def _get_json(self, url: str, what: str, run: _Run, *, timeline: bool) -> _Answer | _Problem:
        headers = {"Accept": ACCEPT}
        if run.token:
            headers["Authorization"] = f"Bearer {run.token}"
        run.requests += 1
        try:
            response = fetch_capped(self._client, url, headers, self.max_bytes)
        except httpx.TimeoutException:
            timeout = self._client.timeout.read
            after = f" after {format_seconds(timeout)}" if timeout else ""
            return _Problem(
                what,
                f"timed out{after}",
                "the instance is slow or down; it will be retried with backoff",
                stop=True,
            )
        except DeadlineExceededError as exc:
            return _Problem(
                what, str(exc), "the instance is very slow; retried with backoff", stop=True
            )
        except BodyTooLargeError as exc:
            return _Problem(
                what, str(exc), "check instance in feeds.yaml points at a Mastodon server"
            )
        except httpx.TooManyRedirects:
            return _Problem(
                what,
                "too many redirects",
                "put the instance's final address (https://<server>) in feeds.yaml",
                stop=True,
            )
        except BlockedAddressError as exc:  # the SSRF guard: same words as every source
            return _Problem(what, exc.cause, ALLOW_TODO, stop=True)
        except httpx.ConnectError as exc:
            return _Problem(
                what,
                f"cannot connect to {urlsplit(self.instance).netloc or self.instance} "
                f"({_cause(exc)})",
                "check the instance URL in feeds.yaml and that the server is up; "
                "it will be retried with backoff",
                stop=True,
            )
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            return _Problem(
                what, f"invalid URL ({_cause(exc)})", "fix instance in feeds.yaml", stop=True
            )
        except httpx.HTTPError as exc:
            return _Problem(
                what,
                f"HTTP error ({type(exc).__name__}: {_cause(exc)})",
                "it will be retried with backoff",
                stop=True,
            )
        self._observe_rate_limit(response, run)
        status = response.status_code
        if not 200 <= status < 300:
            return self._status_problem(response, what, run, timeline=timeline)
        try:
            data = json.loads(response.content)
        except ValueError as exc:
            return _Problem(
                what,
                f"malformed JSON ({_json_cause(exc, response)})",
                "check instance in feeds.yaml points at a Mastodon server; "
                "it will be retried with backoff",
                status=status,
            )
        return _Answer(data, response)

    def _observe_rate_limit(self, response: CappedResponse, run: _Run) -> None:
        remaining = _int(response.headers.get("x-ratelimit-remaining"))
        if remaining is None:
            return
        run.remaining = remaining
        run.reset_wait = _reset_wait(response, run.now)

    def _status_problem(
        self, response: CappedResponse, what: str, run: _Run, *, timeline: bool
    ) -> _Problem:
        status = response.status_code
        said = _server_error(response, run.token)
        said_part = f": {said}" if said else ""
        if status == 429:
            retry = parse_retry_after(response.headers.get("retry-after"), run.now)
            if retry is None:
                retry = _reset_wait(response, run.now)
            wait = f"waits {format_seconds(retry)} as asked" if retry is not None else "backs off"
            return _Problem(
                what,
                f"rate limited (HTTP 429{said_part})",
                f"the instance allows 300 requests per 5 minutes; Inhaker {wait} before trying "
                "again — fewer hashtags or a longer interval use fewer",
                status=status,
                retry_after=retry,
                stop=True,
                fatal=True,
            )
        if status in (401, 403):
            cause, todo = self._auth_problem(status, said_part, trends=not timeline, run=run)
            return _Problem(what, cause, todo, status=status)
        if status == 404 and not timeline:
            return _Problem(
                what,
                "trends are switched off on this instance (HTTP 404: no trends API; Mastodon "
                "older than 3.5 or another server software)",
                "set trends: false for this source",
                status=status,
            )
        if status == 404 and what.startswith("#"):
            return _Problem(
                what,
                f"not found (HTTP 404{said_part})",
                "the hashtag may never have been used on this instance, or instance is not a "
                "Mastodon server; it is tried again next poll",
                status=status,
            )
        if status in (404, 410):
            return _Problem(
                what,
                f"not found (HTTP {status}{said_part})",
                "check instance in feeds.yaml points at a Mastodon server (https://<server>)",
                status=status,
            )
        if status in (502, 503, 504) or status >= 500:
            retry = parse_retry_after(response.headers.get("retry-after"), run.now)
            todo = (
                f"the instance asks to wait {format_seconds(retry)}; it will retry after that"
                if retry is not None
                else "the instance has trouble; it will be retried with backoff"
            )
            return _Problem(
                what,
                f"server error (HTTP {status})",
                todo,
                status=status,
                retry_after=retry,
                stop=True,
            )
        return _Problem(
            what,
            f"unexpected answer (HTTP {status}{said_part})",
            "check instance in feeds.yaml; it will be retried with backoff",
            status=status,
        )

    def _auth_problem(
        self, status: int, said_part: str, *, trends: bool, run: _Run
    ) -> tuple[str, str]:
        if run.token:
            if trends and status == 403:
                return (
                    f"trends are switched off on this instance (HTTP 403{said_part})",
                    "set trends: false for this source",
                )
            return (
                f"the access token was refused (HTTP {status}{said_part})",
                f"check the token in ${self.token_env}: it must be valid on this instance "
                "with the read:statuses scope",
            )
        if self.token_env:
            return (
                f"requires login (HTTP {status}{said_part}); ${self.token_env} is not set",
                f"set the environment variable {self.token_env} to an access token "
                "(read:statuses) for this instance",
            )
        return (
            f"requires login (HTTP {status}{said_part})",
            "set token_env to the name of an environment variable that holds an access token "
            "(read:statuses) for this instance" + ("; or set trends: false" if trends else ""),
        )

    def _shape_problem(self, what: str, got: _Answer, expected: str, token: str | None) -> _Problem:
        found = type(got.data).__name__
        said = got.data.get("error") if isinstance(got.data, dict) else None
        cause = f"unexpected answer: expected {expected}, got a JSON {_json_type(found)}"
        if isinstance(said, str) and said.strip():
            # Scrub before shortening, as `_server_error` does: a cut inside an echoed token
            # would leave a piece of it that `_scrubbed` no longer finds.
            said = said.strip().replace(token, "***") if token else said.strip()
            cause += f" ({said[:160]})"
        return _Problem(
            what,
            cause,
            "check instance in feeds.yaml points at a Mastodon server",
            status=got.response.status_code,
        )


# ---------------------------------------------------------------------------------------------
# Helpers


def _load_cursor(raw: str | None) -> dict[str, str]:
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        log.warning("mastodon cursor is not JSON, starting afresh: %r", raw[:200])
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): str(v) for k, v in data.items() if isinstance(v, str | int) and str(v)}


def _status_id(status: Mapping[str, Any]) -> str | None:
    value = status.get("id")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return _str(value)


def _id_key(value: str) -> tuple[int, str]:
    # Mastodon ids are decimal snowflakes sent as strings (ordered by length, then digits); other
    # servers use fixed-length sortable strings. Both order correctly this way.
    return (len(value), value)


def _newer(a: str, b: str) -> bool:
    return _id_key(a) > _id_key(b)


def _link_rel(header: str | None, rel: str) -> str | None:
    """The URL of `rel` in an RFC 8288 Link header ('<url>; rel="prev", <url>; rel="next"')."""
    if not header:
        return None
    for match in _LINK.finditer(header):
        params = match.group(2) or ""
        rel_match = _REL.search(params)
        if rel_match and rel in rel_match.group(1).lower().split():
            return match.group(1).strip()
    return None


def _reset_wait(response: CappedResponse, now: datetime) -> float | None:
    """Seconds until X-RateLimit-Reset, measured on the server's clock (its Date header) when it
    sends one, so a skewed local clock neither hammers nor waits for nothing."""
    reset = _parse_time(response.headers.get("x-ratelimit-reset"))
    if reset is None:
        return None
    reference = now
    date = response.headers.get("date")
    if date:
        try:
            parsed = parsedate_to_datetime(date)
        except (TypeError, ValueError, IndexError, OverflowError):
            parsed = None
        if parsed is not None:
            reference = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    seconds = (reset - reference).total_seconds()
    return min(max(seconds, 1.0), MAX_RETRY_AFTER_SECONDS)


def _parse_time(value: object) -> datetime | None:
    text = _str(value)
    if not text:
        return None
    if text.isdigit():  # some servers send epoch seconds
        try:
            return datetime.fromtimestamp(int(text), tz=UTC)
        except (OverflowError, ValueError, OSError):
            return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _when(value: object, now: datetime) -> datetime:
    parsed = _parse_time(value)
    if parsed is None:
        return now
    return now if parsed > now + FUTURE_TOLERANCE else parsed


def _reach(status: Mapping[str, Any], account: Mapping[str, Any]) -> float | None:
    followers = account.get("followers_count")
    if isinstance(followers, int | float) and not isinstance(followers, bool) and followers >= 0:
        return float(followers)
    # Without follower counts, the status's own engagement is the best measure of reach.
    counts = [
        status.get(key)
        for key in ("reblogs_count", "favourites_count")
        if isinstance(status.get(key), int | float) and not isinstance(status.get(key), bool)
    ]
    return float(sum(counts)) if counts else None


def _today_uses(history: object) -> float | None:
    """Uses on the newest day of a trend's history (Mastodon lists today first)."""
    if not isinstance(history, list):
        return None
    days = [d for d in history if isinstance(d, dict)]
    if not days:
        return None

    def day_of(entry: dict[str, Any]) -> int:
        day = _int(entry.get("day"))
        return day if day is not None else -1

    newest = max(days, key=day_of) if any(day_of(d) >= 0 for d in days) else days[0]
    return float(uses) if (uses := _int(newest.get("uses"))) is not None else None


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str):
        try:
            return int(float(value.strip()))
        except ValueError:
            return None
    return None


def _server_error(response: CappedResponse, token: str | None = None) -> str | None:
    """Mastodon's own words from an error body ({"error": "..."}), the token scrubbed, shortened."""
    try:
        data = json.loads(response.content)
    except ValueError:
        return None
    said = data.get("error") if isinstance(data, dict) else None
    if not isinstance(said, str) or not said.strip():
        return None
    said = " ".join(said.split())
    if token:
        # Before shortening: a cut inside an echoed token would leave a piece of it that
        # `_scrubbed` (which replaces the whole token) no longer finds.
        said = said.replace(token, "***")
    return said if len(said) <= 160 else said[:157] + "..."


def _json_cause(exc: ValueError, response: CappedResponse) -> str:
    content_type = response.headers.get("content-type", "")
    head = response.content[:512].lstrip().lower()
    if not response.content.strip():
        return "the response is empty"
    if content_type.lower().startswith("text/html") or head.startswith((b"<!doctype", b"<html")):
        return "got an HTML page, not JSON"
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    return str(exc)


def _json_type(python_type: str) -> str:
    return {"dict": "object", "list": "array", "str": "string", "NoneType": "null"}.get(
        python_type, python_type
    )


def _lang(value: object) -> str | None:
    """'nl-NL' -> 'nl': the primary subtag is what tokenizers and stopword lists key on."""
    text = _str(value)
    if not text:
        return None
    primary = text.replace("_", "-").split("-", 1)[0].strip().lower()
    return primary if primary.isalpha() and 2 <= len(primary) <= 8 else None


def _str(value: object) -> str | None:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return None


def _cause(exc: BaseException) -> str:
    text = str(exc).strip()
    return text or type(exc).__name__
