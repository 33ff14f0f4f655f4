"""X (Twitter) API v2 recent search as a source, within a daily read budget.

What it does: polls `GET {base_url}/tweets/search/recent` for the configured `query` with the
bearer token from the environment variable named in `token_env` (read at every poll, so a token
set or rotated later is picked up), newest first, and turns each post into a `Post`: id = the
post id, plain text (the full text of long posts, HTML entities unescaped), created_at (aware
UTC), author = "@username", url = https://x.com/{username}/status/{id}, lang (X's "und" and
other non-language codes become None), tags = the post's hashtags, reach = the author's
followers, or the post's engagement (likes + reposts + replies + quotes) when the author is
unknown.

Budget: X bills every post read, so `daily_budget` caps the posts read per UTC day. The cursor
(compact JSON) keeps `since_id`, `day` and `read`; `read` restarts at 0 when the UTC day changes.
Before each request the remaining budget is checked and `max_results` is never more than what
is left; with fewer than 10 left (X's smallest page) no request is made and the poll returns no
error but a note: "daily read budget of 500 used; resumes at 00:00 UTC". Every other poll notes
how much has been read today, so source health shows it.

Paging and resume, newest first: a poll asks for posts newer than `since_id` (the newest post
read so far) and follows `next_token` while the budget lasts, for at most `max_pages` pages;
`since_id` then becomes the newest id read. When that walk is cut short (budget, page bound, rate
limit, a failed later page), the span it could not finish is kept in the cursor as `gap`
[since_id before, oldest id read], and later polls read it with `since_id`/`until_id` using the
pages and budget left after the new posts: fresh posts come first, and nothing is lost while X
still has it (7 days). One gap is kept; if a newer one opens before the older is finished, the
older is given up (logged). The very first poll reads one page of the newest posts and does not
page back through the week: the backlog is history, not worth a day's budget. If X says a saved
id is too old for recent search, the poll starts afresh from the newest posts.

Errors: a missing token, 401/403 (naming `token_env`, never the token), 429 (`retry_after` from
`x-rate-limit-reset`, or `Retry-After`), server errors and malformed JSON on the first page are
`FetchResult.error` in the shape "what failed: which thing: cause — what to do"; a failure on a
later page keeps the posts already read and says so in the note. Nothing raises.

What it does not do: stream (filtered stream is another product), expand referenced posts,
or read anything without a token; X API access is paid, so this source is off by default.
"""

from __future__ import annotations

import html
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bot.config import SourceConfig
from bot.html_text import plain_text
from bot.http import (
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
from detectors.records import Post

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.x.com/2"
DEFAULT_TOKEN_ENV = "X_BEARER_TOKEN"
MIN_PAGE = 10  # X's smallest max_results
MAX_PAGES = 5  # requests per poll, at most
MAX_BYTES = 5 * 1024 * 1024
FUTURE_TOLERANCE = timedelta(hours=1)
TWEET_FIELDS = "created_at,lang,public_metrics,author_id,entities,note_tweet"
USER_FIELDS = "username,public_metrics"
# X's codes for "no language" (undetermined, media only, hashtags only, ...), not languages.
NOT_LANGUAGES = frozenset({"und", "zxx", "art", "qam", "qct", "qht", "qme", "qst"})


class _Failure(Exception):
    """A request that gave no usable page: the cause, what to do, and what the server asked."""

    def __init__(
        self,
        cause: str,
        todo: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        stale_cursor: bool = False,
    ) -> None:
        super().__init__(cause)
        self.cause = cause
        self.todo = todo
        self.status = status
        self.retry_after = retry_after
        self.stale_cursor = stale_cursor


@dataclass
class _Cursor:
    since_id: str | None = None  # the newest post read: the next poll reads what is newer
    day: str = ""  # the UTC day `read` counts
    read: int = 0  # posts read that day
    gap: tuple[str, str] | None = None  # ids strictly between these are still to read

    @classmethod
    def load(cls, text: str | None, source_id: str) -> _Cursor:
        if not text:
            return cls()
        try:
            data = json.loads(text)
            gap = data.get("gap")
            low, high = (
                (_id(gap[0]), _id(gap[1]))
                if isinstance(gap, list) and len(gap) == 2
                else (None, None)
            )
            return cls(
                since_id=_id(data.get("since_id")),
                day=str(data.get("day") or ""),
                read=max(0, int(data.get("read") or 0)),
                gap=(low, high) if low and high else None,
            )
        except (ValueError, TypeError, AttributeError):
            log.warning("x_search source %r: unreadable cursor, starting afresh", source_id)
            return cls()

    def dump(self) -> str:
        data: dict[str, Any] = {"since_id": self.since_id, "day": self.day, "read": self.read}
        if self.gap:
            data["gap"] = list(self.gap)
        return json.dumps(data, separators=(",", ":"))


@dataclass
class _Walk:
    """One run of pages (newest first) between two ids, and how it ended."""

    ids: list[int] = field(default_factory=list)  # ids read, in the order read
    pages: int = 0
    complete: bool = False  # the last page had no next_token: nothing left in the span
    stopped: str | None = None  # "budget", "pages", "rate limit" or "failed (...)"
    failure: _Failure | None = None
    retry_after: float | None = None


class XSearchSource(OwnsHttpClient):
    """A configured X recent search. Thread-safe as long as the shared httpx.Client is."""

    kind: str = "x_search"

    def __init__(
        self,
        config: SourceConfig,
        client: httpx.Client | None = None,
        *,
        watch_terms: tuple[str, ...] = (),  # every adapter takes them; the query says it all
        max_pages: int = MAX_PAGES,
    ) -> None:
        self.id = config.id
        self.config = config
        options = config.options
        self.query = str(options.get("query") or "")
        self.token_env = str(options.get("token_env") or DEFAULT_TOKEN_ENV)
        self.daily_budget = int(options.get("daily_budget", 500))
        self.max_results = min(100, max(MIN_PAGE, int(options.get("max_results", 100))))
        self.base_url = str(options.get("base_url") or DEFAULT_BASE_URL).rstrip("/")
        self.max_pages = max(1, max_pages)
        self._use_client(client)

    # -----------------------------------------------------------------------------------------

    def fetch(self, state: SourceState, now: datetime) -> FetchResult:
        """Poll once. Never raises: errors are returned in `FetchResult.error`."""
        token = os.environ.get(self.token_env, "").strip()
        try:
            return self._fetch(state, now, token)
        except Exception as exc:
            log.exception("x_search source %r: unexpected error", self.id)
            detail = _scrub(f"{type(exc).__name__}: {exc}", token)
            return FetchResult(
                error=self._message(
                    f"unexpected error ({detail})",
                    BUG_TODO,
                )
            )

    def _fetch(self, state: SourceState, now: datetime, token: str) -> FetchResult:
        if not token:
            return FetchResult(
                error=self._message(
                    "no bearer token",
                    f"set {self.token_env} (X API access is paid; "
                    "this source is off in the default feeds.yaml)",
                )
            )
        cursor = _Cursor.load(state.cursor, self.id)
        today = now.astimezone(UTC).date().isoformat()
        if cursor.day != today:
            cursor.day, cursor.read = today, 0
        posts: list[Post] = []

        # 1. What is new since the newest post read. The first poll reads one page only: the
        #    backlog is history, not worth a day's budget.
        first = cursor.since_id is None
        walk = self._walk(
            cursor, cursor.since_id, None, 1 if first else self.max_pages, token, now, posts
        )
        if walk.failure is not None and walk.pages == 0 and walk.failure.stale_cursor and not first:
            # The saved id fell out of recent search's 7 days: start again from the newest.
            log.info("x_search source %r: saved since_id too old, starting afresh", self.id)
            cursor.since_id, cursor.gap, first = None, None, True
            walk = self._walk(cursor, None, None, 1, token, now, posts)
        if walk.failure is not None and walk.pages == 0:
            return FetchResult(
                status=walk.failure.status,
                retry_after=walk.failure.retry_after,
                error=self._message(walk.failure.cause, walk.failure.todo),
            )
        new_gap: tuple[str, str] | None = None
        if walk.ids:
            if not walk.complete and not first and cursor.since_id is not None:
                new_gap = (cursor.since_id, str(min(walk.ids)))
            cursor.since_id = str(max(walk.ids))
        last = walk

        # 2. With pages and budget to spare, the rest of an earlier poll's unfinished span.
        if walk.complete and cursor.gap is not None and walk.pages < self.max_pages:
            low, high = cursor.gap
            last = self._walk(cursor, low, high, self.max_pages - walk.pages, token, now, posts)
            if last.complete or (last.failure is not None and last.failure.stale_cursor):
                cursor.gap = None
            elif last.ids:
                cursor.gap = (low, str(min(last.ids)))
        if new_gap is not None:
            if cursor.gap is not None:
                log.info(
                    "x_search source %r: gave up an older unread span %s..%s for a newer one",
                    self.id,
                    *cursor.gap,
                )
            cursor.gap = new_gap
        return FetchResult(
            posts=posts,
            cursor=cursor.dump(),
            retry_after=walk.retry_after if walk.retry_after is not None else last.retry_after,
            note=self._note(cursor, last),
        )

    def _walk(
        self,
        cursor: _Cursor,
        since_id: str | None,
        until_id: str | None,
        page_limit: int,
        token: str,
        now: datetime,
        posts: list[Post],
    ) -> _Walk:
        """Read pages newest first between the ids, within the budget; append to `posts`."""
        walk = _Walk()
        seen = {post.id for post in posts}
        next_token: str | None = None
        while True:
            left = self.daily_budget - cursor.read
            if left < MIN_PAGE:
                walk.stopped = "budget"
                return walk
            if walk.pages >= page_limit:
                walk.stopped = "pages"
                return walk
            params: dict[str, str | int] = {
                "query": self.query,
                "max_results": min(self.max_results, left),
                "tweet.fields": TWEET_FIELDS,
                "expansions": "author_id",
                "user.fields": USER_FIELDS,
            }
            if since_id:
                params["since_id"] = since_id
            if until_id:
                params["until_id"] = until_id
            if next_token:
                params["next_token"] = next_token
            try:
                response, data = self._request(params, token, now)
            except _Failure as failure:
                walk.failure, walk.retry_after = failure, failure.retry_after
                walk.stopped = f"failed ({failure.cause})"
                return walk
            walk.pages += 1
            found = data.get("data")
            tweets: list[Any] = found if isinstance(found, list) else []
            cursor.read += len(tweets)
            users = _users(data.get("includes"))
            for tweet in tweets:
                tweet_id = _id(tweet.get("id")) if isinstance(tweet, dict) else None
                if tweet_id is None or tweet_id in seen:
                    continue
                seen.add(tweet_id)
                walk.ids.append(int(tweet_id))
                post = self._to_post(tweet, users, now)
                if post is not None:
                    posts.append(post)
            meta = data.get("meta")
            token_value = meta.get("next_token") if isinstance(meta, dict) else None
            next_token = token_value if isinstance(token_value, str) and token_value else None
            if next_token is None:
                walk.complete = True
                return walk
            if response.headers.get("x-rate-limit-remaining", "").strip() == "0":
                walk.retry_after = _reset_seconds(response.headers, now)
                walk.stopped = "rate limit"
                return walk

    def _note(self, cursor: _Cursor, walk: _Walk) -> str:
        left = self.daily_budget - cursor.read
        if left < MIN_PAGE:
            note = f"daily read budget of {self.daily_budget} used; resumes at 00:00 UTC"
            if left > 0:
                note += f" ({left} left, fewer than X's smallest page of {MIN_PAGE})"
        else:
            note = f"read {cursor.read} of {self.daily_budget} posts today (UTC)"
        if walk.complete or cursor.gap is None:
            return note
        if walk.stopped and walk.stopped.startswith("failed"):
            note += f"; a later page {walk.stopped}, the rest is read next poll"
        elif walk.stopped == "rate limit":
            note += "; X's rate limit reached, the rest is read after it resets"
        elif walk.stopped == "pages":
            note += f"; more than {self.max_pages} pages waiting, the rest is read next poll"
        return note

    # -----------------------------------------------------------------------------------------

    def _request(
        self, params: Mapping[str, str | int], token: str, now: datetime
    ) -> tuple[CappedResponse, dict[str, Any]]:
        url = str(httpx.URL(f"{self.base_url}/tweets/search/recent", params=dict(params)))
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        retry = "it will be retried with backoff"
        try:
            response = fetch_capped(self._client, url, headers, MAX_BYTES)
        except httpx.TimeoutException:
            raise _Failure("timed out", "X is slow or unreachable; " + retry) from None
        except (DeadlineExceededError, BodyTooLargeError) as exc:
            raise _Failure(str(exc), retry) from None
        except BlockedAddressError as exc:  # the SSRF guard: same words as every source
            raise _Failure(exc.cause, ALLOW_TODO) from None
        except httpx.ConnectError as exc:
            cause = _scrub(_cause(exc), token)
            raise _Failure(
                f"cannot connect ({cause})", "check base_url and the network; " + retry
            ) from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            cause = _scrub(f"{type(exc).__name__}: {_cause(exc)}", token)
            raise _Failure(
                f"HTTP error ({cause})",
                f"check base_url and the token in {self.token_env}; " + retry,
            ) from None
        status = response.status_code
        if not 200 <= status < 300:
            raise self._status_failure(response, token, now)
        try:
            data = json.loads(response.content)
        except (ValueError, UnicodeDecodeError) as exc:
            raise _Failure(
                f"the answer is not JSON ({_cause(exc)})",
                "X may be having trouble; " + retry,
                status=status,
            ) from None
        if not isinstance(data, dict):
            raise _Failure(
                "unexpected answer (not a JSON object)",
                "check base_url points at the X API v2 (https://api.x.com/2)",
                status=status,
            )
        return response, data

    def _status_failure(self, response: CappedResponse, token: str, now: datetime) -> _Failure:
        status = response.status_code
        detail = _problem(response.content, token)
        said = f": {detail}" if detail else ""
        if status == 401:
            return _Failure(
                f"X refused the bearer token (HTTP 401{said})",
                f"check the token in {self.token_env} (an app-only bearer token "
                "from the X developer portal)",
                status=status,
            )
        if status == 403:
            return _Failure(
                f"access denied (HTTP 403{said})",
                f"the token in {self.token_env} may lack access to recent search; "
                "check the app's project and access level in the X developer portal",
                status=status,
            )
        if status == 429:
            wait = _reset_seconds(response.headers, now)
            todo = (
                f"X asks to wait {format_seconds(wait)}; it will retry after that"
                if wait is not None
                else "it will be retried with backoff"
            )
            return _Failure("rate limited (HTTP 429)", todo, status=status, retry_after=wait)
        if status == 400:
            named = _bad_parameters(response.content) | {
                word for word in ("since_id", "until_id") if word in detail
            }
            stale = bool(named & {"since_id", "until_id"})
            return _Failure(
                f"X rejected the request (HTTP 400{said})",
                "check the source's query in feeds.yaml (X search operators)",
                status=status,
                stale_cursor=stale,
            )
        if status >= 500:
            wait = (
                parse_retry_after(response.headers.get("retry-after"), now)
                if status == 503
                else None
            )
            return _Failure(
                f"server error (HTTP {status})",
                "X is having trouble; it will be retried with backoff",
                status=status,
                retry_after=wait,
            )
        return _Failure(
            f"unexpected answer (HTTP {status}{said})",
            "check base_url in feeds.yaml",
            status=status,
        )

    # -----------------------------------------------------------------------------------------

    def _to_post(
        self, tweet: Mapping[str, Any], users: Mapping[str, Mapping[str, Any]], now: datetime
    ) -> Post | None:
        post_id = _id(tweet.get("id"))
        if post_id is None:
            return None
        note_tweet = tweet.get("note_tweet")
        raw = note_tweet.get("text") if isinstance(note_tweet, dict) else None
        if not isinstance(raw, str) or not raw.strip():
            raw = tweet.get("text")
        text = plain_text(html.unescape(raw)) if isinstance(raw, str) else ""
        if not text:
            return None
        user = users.get(str(tweet.get("author_id") or ""), {})
        username = user.get("username") if isinstance(user.get("username"), str) else None
        followers = _metric(user.get("public_metrics"), "followers_count")
        if followers is None:
            metrics = tweet.get("public_metrics")
            counts = [
                _metric(metrics, key)
                for key in ("like_count", "retweet_count", "reply_count", "quote_count")
            ]
            known = [c for c in counts if c is not None]
            reach = float(sum(known)) if known else None
        else:
            reach = float(followers)
        url = (
            f"https://x.com/{username}/status/{post_id}"
            if username
            else f"https://x.com/i/web/status/{post_id}"
        )
        return Post(
            source=self.id,
            id=post_id,
            text=text,
            created_at=_created_at(tweet.get("created_at"), now),
            author=f"@{username}" if username else None,
            url=url,
            lang=_lang(tweet.get("lang")) or self.config.lang,
            tags=_hashtags(tweet.get("entities")),
            reach=reach,
        )

    def _message(self, cause: str, todo: str) -> str:
        return f"x_search source '{self.id}': {cause} — {todo}"


# ---------------------------------------------------------------------------------------------


def _id(value: object) -> str | None:
    text = str(value).strip() if isinstance(value, str | int) else ""
    return text if text.isdigit() else None


def _users(includes: object) -> dict[str, Mapping[str, Any]]:
    users = includes.get("users") if isinstance(includes, dict) else None
    return {
        str(user["id"]): user
        for user in users or ()
        if isinstance(user, dict) and user.get("id") is not None
    }


def _metric(metrics: object, key: str) -> int | None:
    value = metrics.get(key) if isinstance(metrics, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _hashtags(entities: object) -> tuple[str, ...]:
    found: list[str] = []
    hashtags = entities.get("hashtags") if isinstance(entities, dict) else None
    for entry in hashtags or ():
        tag = entry.get("tag") if isinstance(entry, dict) else None
        if isinstance(tag, str) and tag.strip() and tag.strip() not in found:
            found.append(tag.strip())
    return tuple(found)


def _lang(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    primary = value.strip().lower().split("-", 1)[0]
    if primary in NOT_LANGUAGES or not primary.isalpha() or not 2 <= len(primary) <= 3:
        return None
    return primary


def _created_at(value: object, now: datetime) -> datetime:
    if not isinstance(value, str):
        return now
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return now
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    when = when.astimezone(UTC)
    return now if when > now + FUTURE_TOLERANCE else when


def _reset_seconds(headers: httpx.Headers, now: datetime) -> float | None:
    """Seconds until X's rate limit window resets (x-rate-limit-reset), else Retry-After."""
    reset = headers.get("x-rate-limit-reset", "").strip()
    if reset.isdigit():
        return min(max(float(reset) - now.timestamp(), 0.0), MAX_RETRY_AFTER_SECONDS)
    return parse_retry_after(headers.get("retry-after"), now)


def _problem(content: bytes, token: str = "") -> str:
    """X's own explanation from an error body (RFC 7807 problem or errors list), the token
    scrubbed, shortened."""
    try:
        data = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return ""
    if not isinstance(data, dict):
        return ""
    parts: list[str] = []
    errors = data.get("errors")
    if isinstance(errors, list):
        for error in errors[:2]:
            if isinstance(error, dict) and isinstance(error.get("message"), str):
                parts.append(error["message"])
    if not parts:
        for key in ("detail", "title"):
            if isinstance(data.get(key), str):
                parts.append(data[key])
                break
    # Scrubbed before it is shortened: a cut inside an echoed token would leave a piece of it
    # that the whole token no longer matches.
    text = _scrub(" ".join(" ".join(parts).split()), token)
    return text if len(text) <= 200 else text[:197] + "..."


def _bad_parameters(content: bytes) -> set[str]:
    """The request parameters an X 400 answer names (errors[].parameters)."""
    try:
        data = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return set()
    errors = data.get("errors") if isinstance(data, dict) else None
    return {
        str(name)
        for error in (errors if isinstance(errors, list) else ())
        if isinstance(error, dict) and isinstance(error.get("parameters"), dict)
        for name in error["parameters"]
    }


def _scrub(text: str, token: str) -> str:
    """The text with the token (should a server or library echo it) replaced."""
    return text.replace(token, "[token]") if token else text


def _cause(exc: BaseException) -> str:
    text = str(exc).strip()
    return text or type(exc).__name__
