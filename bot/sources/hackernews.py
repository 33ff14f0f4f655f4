"""Hacker News as a source: the top/new/best lists, with score and comment velocity, and a search
for the team's watch terms.

What it does, per poll:

1. Reads each configured list from the Firebase API (`{base_url}/topstories.json`, `newstories`,
   `beststories`) and takes the first `max_items` ids of each.
2. Fetches the items (`{base_url}/item/{id}.json`) on a pool of at most 8 threads sharing the one
   HTTP client, within an overall time bound (`deadline`, 20 s by default): an item that has not
   answered by then is given up, so one slow item cannot stall the poll. Failed items are skipped
   and counted in `FetchResult.note`; they are tried again next poll. Deleted and dead items,
   jobs and comments are skipped.
3. Saves requests: an id whose item was fetched less than an hour ago (`REFETCH_AFTER`) is not
   fetched or returned again — the store already has it and would drop it. After an hour it is
   fetched again, so its score and comment count, and so its velocity, are brought up to date.
4. When `search_watch_terms` is on and feeds.yaml has watch terms, runs one Algolia
   `search_by_date` request per term (at most 10 terms per poll, rotating through longer lists)
   for stories created after the newest one already seen for that term (minus a 10-minute
   overlap, because Algolia indexes new stories with a delay; the store drops the duplicates).

Posts: id = the HN item id (Algolia's objectID is the same id, so both paths agree), title, text =
title plus the story text (HTML to text), url = the story's link or, for Ask/Show HN, its
discussion page, author, created_at (aware UTC; more than an hour in the future means now),
lang = the source's `lang` or "en", tags = labels ("hn:top", "hn:best", "hn:search", and
"velocity:high" for a fast story; labels contain a colon so the trend detector skips them),
reach = the score (points).

Velocity: the cursor keeps a bounded map (the `TRACKED_IDS` most recently fetched ids) of
id -> [first seen (epoch s), score then, comments then, last fetched (epoch s)]. Points per hour
and comments per hour are measured since first seen once that is at least 10 minutes ago;
before that (the first sighting) they are averaged over the story's age, since a story starts at
1 point and 0 comments. A story at `HIGH_POINTS_PER_HOUR` points/hour or `HIGH_COMMENTS_PER_HOUR`
comments/hour or more is tagged "velocity:high". `reach` stays the score: a rate is a different
unit and would make reach incomparable across posts; the tag carries the rate's verdict.

Errors: every lists failing (Firebase down, not JSON) is `FetchResult.error`, one line in the
shape "what failed: which thing: cause — what to do"; one list of several failing, some items
failing, or the Algolia search failing still returns the posts read, with a `note`. Nothing raises.

What it does not do: read comments, follow `kids`, update posts already stored (the store keeps
the first version it saw), or decide when to poll (the scheduler does).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bot.config import SourceConfig
from bot.html_text import html_to_text, plain_text
from bot.http import (
    BodyTooLargeError,
    DeadlineExceededError,
    fetch_capped,
    format_seconds,
    parse_retry_after,
)
from bot.netguard import ALLOW_TODO, BlockedAddressError
from bot.sources.base import BUG_TODO, FetchResult, OwnsHttpClient, SourceState
from detectors.records import Post

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://hacker-news.firebaseio.com/v0"
DEFAULT_ALGOLIA_URL = "https://hn.algolia.com/api/v1"
LIST_ENDPOINTS = {"top": "topstories", "new": "newstories", "best": "beststories"}
DISCUSSION_URL = "https://news.ycombinator.com/item?id={id}"

MAX_WORKERS = 8  # concurrent item requests, at most
DEFAULT_DEADLINE = 20.0  # seconds for all item requests of one poll
REFETCH_AFTER = 3600  # seconds: an item fetched more recently than this is not fetched again
TRACKED_IDS = 2000  # ids kept in the cursor's velocity map (a poll covers at most 1,500)
MIN_VELOCITY_SPAN = 600  # seconds of history before velocity is measured since first seen
MIN_AGE = 600  # seconds: a story's age is at least this when averaging over it
HIGH_POINTS_PER_HOUR = 50.0
HIGH_COMMENTS_PER_HOUR = 50.0
VELOCITY_TAG = "velocity:high"
MAX_SEARCH_TERMS = 10  # Algolia requests per poll
SEARCH_OVERLAP = 600  # seconds searched again before the newest story seen (indexing delay)
SEARCH_FIRST_LOOKBACK = 86400  # seconds searched on a term's first search
SEARCH_HITS = 100  # hitsPerPage
LIST_MAX_BYTES = 1024 * 1024
ITEM_MAX_BYTES = 1024 * 1024
SEARCH_MAX_BYTES = 5 * 1024 * 1024
FUTURE_TOLERANCE = timedelta(hours=1)
MAX_TEXT_CHARS = 20_000
POST_TYPES = frozenset({"story", "poll"})


class _Failure(Exception):
    """One request that did not give usable JSON: a short cause, and what the server asked."""

    def __init__(
        self,
        cause: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        blocked: bool = False,
    ):
        super().__init__(cause)
        self.cause = cause
        self.status = status
        self.retry_after = retry_after
        self.blocked = blocked  # refused by the SSRF guard: the fix is allow_private_hosts


@dataclass
class _Cursor:
    """What a poll leaves for the next one (saved as compact JSON in `SourceState.cursor`)."""

    # id -> [first seen, score then, comments then, last fetched]; times in epoch seconds
    seen: dict[str, list[int]] = field(default_factory=dict)
    search: dict[str, int] = field(default_factory=dict)  # term -> newest created_at_i seen
    offset: int = 0  # where the next poll's slice of watch terms starts

    @classmethod
    def load(cls, text: str | None, source_id: str) -> _Cursor:
        if not text:
            return cls()
        try:
            data = json.loads(text)
            seen = {
                str(key): [int(v) for v in value]
                for key, value in dict(data.get("seen") or {}).items()
                if isinstance(value, list) and len(value) == 4
            }
            search = {str(k): int(v) for k, v in dict(data.get("search") or {}).items()}
            offset = int(data.get("offset") or 0)
        except (ValueError, TypeError, AttributeError):
            log.warning("hackernews source %r: unreadable cursor, starting afresh", source_id)
            return cls()
        return cls(seen=seen, search=search, offset=offset)

    def dump(self) -> str:
        newest = sorted(self.seen.items(), key=lambda kv: kv[1][3], reverse=True)[:TRACKED_IDS]
        data: dict[str, Any] = {"seen": dict(newest), "search": self.search}
        if self.offset:
            data["offset"] = self.offset
        return json.dumps(data, separators=(",", ":"))

    def fresh(self, item_id: str, now_ts: int) -> bool:
        """True when the item was fetched less than REFETCH_AFTER ago (skip it this poll)."""
        entry = self.seen.get(item_id)
        return entry is not None and 0 <= now_ts - entry[3] < REFETCH_AFTER

    def observe(
        self,
        item_id: str,
        score: int,
        comments: int,
        created_ts: int | None,
        now_ts: int,
    ) -> tuple[float | None, float | None]:
        """Record a fetch of the item; return (points/hour, comments/hour)."""
        entry = self.seen.get(item_id)
        if entry is not None and now_ts - entry[0] >= MIN_VELOCITY_SPAN:
            hours = (now_ts - entry[0]) / 3600
            points_rate: float | None = max(0, score - entry[1]) / hours
            comments_rate: float | None = max(0, comments - entry[2]) / hours
        elif created_ts is not None:
            hours = max(now_ts - created_ts, MIN_AGE) / 3600
            points_rate = max(0, score - 1) / hours
            comments_rate = max(0, comments) / hours
        else:
            points_rate = comments_rate = None
        if entry is None or now_ts < entry[0]:
            self.seen[item_id] = [now_ts, score, comments, now_ts]
        else:
            entry[3] = now_ts
        return points_rate, comments_rate


class HackerNewsSource(OwnsHttpClient):
    """A configured Hacker News source. Thread-safe as long as the shared httpx.Client is."""

    kind: str = "hackernews"

    def __init__(
        self,
        config: SourceConfig,
        client: httpx.Client | None = None,
        *,
        watch_terms: tuple[str, ...] = (),
        deadline: float = DEFAULT_DEADLINE,
    ) -> None:
        self.id = config.id
        self.config = config
        options = config.options
        self.lists: tuple[str, ...] = tuple(options.get("lists") or ("top",))
        self.max_items = int(options.get("max_items", 30))
        self.search_watch_terms = bool(options.get("search_watch_terms", True))
        self.base_url = str(options.get("base_url") or DEFAULT_BASE_URL).rstrip("/")
        self.algolia_url = str(options.get("algolia_url") or DEFAULT_ALGOLIA_URL).rstrip("/")
        self.lang = config.lang or "en"
        self.deadline = deadline
        terms: list[str] = []
        for term in watch_terms:
            cleaned = " ".join(term.split())
            if cleaned and cleaned.casefold() not in {t.casefold() for t in terms}:
                terms.append(cleaned)
        self.watch_terms = tuple(terms)
        self._use_client(client)

    # -----------------------------------------------------------------------------------------

    def fetch(self, state: SourceState, now: datetime) -> FetchResult:
        """Poll once. Never raises: errors are returned in `FetchResult.error`."""
        try:
            return self._fetch(state, now)
        except Exception as exc:
            log.exception("hackernews source %r: unexpected error", self.id)
            return FetchResult(
                error=self._message(
                    f"unexpected error ({type(exc).__name__}: {exc})",
                    BUG_TODO,
                )
            )

    def _fetch(self, state: SourceState, now: datetime) -> FetchResult:
        cursor = _Cursor.load(state.cursor, self.id)
        now_ts = int(now.timestamp())
        notes: list[str] = []

        # 1. The lists: which ids, and which lists each id is on.
        lists_of: dict[str, list[str]] = {}
        failed_lists: list[tuple[str, _Failure]] = []
        for name in self.lists:
            try:
                ids = self._list_ids(name)
            except _Failure as failure:
                failed_lists.append((name, failure))
                continue
            for item_id in ids[: self.max_items]:
                lists_of.setdefault(item_id, []).append(name)
        if failed_lists and len(failed_lists) == len(self.lists):
            first_name, first = failed_lists[0]
            return FetchResult(
                status=first.status,
                retry_after=first.retry_after,
                error=self._message(
                    f"cannot read the {first_name} list ({self._list_url(first_name)}): "
                    f"{first.cause}",
                    _todo(first),
                ),
            )
        notes.extend(
            f"the {list_name} list could not be read ({why.cause}); the other lists were"
            for list_name, why in failed_lists
        )

        # 2. The items not fetched within the last hour, at bounded concurrency.
        wanted = [item_id for item_id in lists_of if not cursor.fresh(item_id, now_ts)]
        items, failures = self._fetch_items(wanted)
        if wanted and not items:
            causes = _summary(failures)
            return FetchResult(
                error=self._message(
                    f"every item request failed ({causes})",
                    "Hacker News may be down or slow; it will be retried with backoff",
                )
            )
        if failures:
            notes.append(
                f"{len(failures)} of {len(wanted)} items could not be read "
                f"({_summary(failures)}); they are tried again next poll"
            )

        posts: list[Post] = []
        returned: set[str] = set()
        for item_id in wanted:
            item = items.get(item_id)
            if item is None:
                continue
            post = self._item_post(item_id, item, lists_of[item_id], cursor, now)
            if post is not None:
                posts.append(post)
                returned.add(post.id)

        # 3. Algolia search for the watch terms; its failure alone is a note, not an error.
        if self.search_watch_terms and self.watch_terms:
            found, search_note = self._search(cursor, now, returned)
            posts.extend(found)
            if search_note:
                notes.append(search_note)

        log.debug(
            "hackernews source %r: %d ids on the lists, %d fetched, %d posts",
            self.id,
            len(lists_of),
            len(wanted),
            len(posts),
        )
        return FetchResult(
            posts=posts, cursor=cursor.dump(), note="; ".join(notes) if notes else None
        )

    # -- Firebase -----------------------------------------------------------------------------

    def _list_url(self, name: str) -> str:
        return f"{self.base_url}/{LIST_ENDPOINTS[name]}.json"

    def _list_ids(self, name: str) -> list[str]:
        data = self._get_json(self._list_url(name), LIST_MAX_BYTES)
        if not isinstance(data, list):
            raise _Failure(f"unexpected answer (expected a list of ids, got {_kind(data)})")
        ids: list[str] = []
        for value in data:
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                item_id = str(value)
                if item_id not in ids:
                    ids.append(item_id)
        return ids

    def _fetch_items(self, ids: list[str]) -> tuple[dict[str, Any], list[str]]:
        """Fetch items at bounded concurrency within the deadline: ({id: item}, [causes])."""
        if not ids:
            return {}, []
        items: dict[str, Any] = {}
        failures: list[str] = []
        executor = ThreadPoolExecutor(
            max_workers=min(MAX_WORKERS, len(ids)), thread_name_prefix=f"hn-{self.id}"
        )
        try:
            futures: dict[Future[Any], str] = {
                executor.submit(
                    self._get_json, f"{self.base_url}/item/{item_id}.json", ITEM_MAX_BYTES
                ): item_id
                for item_id in ids
            }
            done, not_done = wait(futures, timeout=self.deadline)
            for future in done:
                try:
                    item = future.result()
                except _Failure as failure:
                    failures.append(failure.cause)
                    continue
                if item is None:
                    # Firebase answers null for an id it does not have (yet): nothing to show.
                    items[futures[future]] = {}
                elif isinstance(item, dict):
                    items[futures[future]] = item
                else:
                    failures.append(f"unexpected answer ({_kind(item)})")
            for future in not_done:
                future.cancel()
                failures.append(f"no answer within {format_seconds(self.deadline)}")
        finally:
            # Never wait for a straggler: it ends on its own with the client's timeout.
            executor.shutdown(wait=False, cancel_futures=True)
        return items, failures

    def _item_post(
        self,
        item_id: str,
        item: Mapping[str, Any],
        lists: list[str],
        cursor: _Cursor,
        now: datetime,
    ) -> Post | None:
        now_ts = int(now.timestamp())
        score = _int(item.get("score"))
        comments = _int(item.get("descendants"))
        created_ts = _timestamp(item.get("time"))
        # Recorded even when skipped below, so a dead or deleted id is not fetched every poll.
        rates = cursor.observe(item_id, score, comments, created_ts, now_ts)
        if not item or item.get("deleted") or item.get("dead"):
            return None
        if item.get("type") not in POST_TYPES:
            return None
        return self._post(
            item_id,
            title=item.get("title"),
            story_html=item.get("text"),
            url=item.get("url"),
            author=item.get("by"),
            created_ts=created_ts,
            score=score,
            rates=rates,
            labels=lists,
            now=now,
        )

    # -- Algolia ------------------------------------------------------------------------------

    def _search_terms(self, cursor: _Cursor) -> list[str]:
        terms = list(self.watch_terms)
        if len(terms) <= MAX_SEARCH_TERMS:
            cursor.offset = 0
            return terms
        start = cursor.offset % len(terms)
        chosen = (terms[start:] + terms[:start])[:MAX_SEARCH_TERMS]
        cursor.offset = (start + MAX_SEARCH_TERMS) % len(terms)
        return chosen

    def _search(
        self, cursor: _Cursor, now: datetime, returned: set[str]
    ) -> tuple[list[Post], str | None]:
        now_ts = int(now.timestamp())
        posts: list[Post] = []
        failed: list[tuple[str, _Failure]] = []
        for term in self._search_terms(cursor):
            newest = cursor.search.get(term)
            since = (
                newest - SEARCH_OVERLAP if newest is not None else now_ts - SEARCH_FIRST_LOOKBACK
            )
            url = httpx.URL(
                f"{self.algolia_url}/search_by_date",
                params={
                    "query": term.lstrip("#"),  # HN has no hashtags; search the word
                    "tags": "story",
                    "numericFilters": f"created_at_i>{since}",
                    "hitsPerPage": SEARCH_HITS,
                },
            )
            try:
                data = self._get_json(str(url), SEARCH_MAX_BYTES)
                hits = data.get("hits") if isinstance(data, dict) else None
                if not isinstance(hits, list):
                    raise _Failure(f"unexpected answer (no hits list in {_kind(data)})")
            except _Failure as failure:
                failed.append((term, failure))
                continue
            for hit in hits:
                if not isinstance(hit, dict):
                    continue
                created_ts = _timestamp(hit.get("created_at_i"))
                if created_ts is not None:
                    newest = max(newest or 0, created_ts)
                post = self._hit_post(hit, cursor, now, returned)
                if post is not None:
                    posts.append(post)
                    returned.add(post.id)
            if newest is not None:
                cursor.search[term] = newest
        # Forget terms no longer watched, so the cursor does not grow with old config.
        cursor.search = {t: v for t, v in cursor.search.items() if t in self.watch_terms}
        if not failed:
            return posts, None
        names = ", ".join(f"'{term}'" for term, _ in failed)
        return posts, (
            f"Hacker News search (Algolia) failed for {names}: {failed[0][1].cause} — "
            "the lists were still read; the search is tried again next poll"
        )

    def _hit_post(
        self, hit: Mapping[str, Any], cursor: _Cursor, now: datetime, returned: set[str]
    ) -> Post | None:
        item_id = str(hit.get("objectID") or "").strip()
        if not item_id.isdigit() or item_id in returned:
            return None
        now_ts = int(now.timestamp())
        if cursor.fresh(item_id, now_ts):
            return None  # returned by an earlier poll within the hour (the search overlap)
        created_ts = _timestamp(hit.get("created_at_i"))
        score = _int(hit.get("points"))
        rates = cursor.observe(item_id, score, _int(hit.get("num_comments")), created_ts, now_ts)
        return self._post(
            item_id,
            title=hit.get("title"),
            story_html=hit.get("story_text"),
            url=hit.get("url"),
            author=hit.get("author"),
            created_ts=created_ts,
            score=score,
            rates=rates,
            labels=["search"],
            now=now,
        )

    # -- shared -------------------------------------------------------------------------------

    def _post(
        self,
        item_id: str,
        *,
        title: object,
        story_html: object,
        url: object,
        author: object,
        created_ts: int | None,
        score: int,
        rates: tuple[float | None, float | None],
        labels: Iterable[str],
        now: datetime,
    ) -> Post | None:
        title_text = plain_text(title) if isinstance(title, str) else ""
        if not title_text:
            return None
        body = html_to_text(story_html) if isinstance(story_html, str) else ""
        text = f"{title_text}\n{body}" if body else title_text
        if len(text) > MAX_TEXT_CHARS:
            text = text[:MAX_TEXT_CHARS].rstrip() + "…"
        link = url.strip() if isinstance(url, str) and url.strip() else None
        # Labels carry a colon ("hn:top", "velocity:high"): the trend detector reads tags as
        # topics and skips labels, so "top" or "best" never become trend terms.
        tags = [f"hn:{label}" for label in labels]
        points_rate, comments_rate = rates
        if (points_rate is not None and points_rate >= HIGH_POINTS_PER_HOUR) or (
            comments_rate is not None and comments_rate >= HIGH_COMMENTS_PER_HOUR
        ):
            tags.append(VELOCITY_TAG)
        return Post(
            source=self.id,
            id=item_id,
            text=text,
            created_at=_created_at(created_ts, now),
            author=author.strip() if isinstance(author, str) and author.strip() else None,
            url=link or DISCUSSION_URL.format(id=item_id),
            title=title_text,
            lang=self.lang,
            tags=tuple(dict.fromkeys(tags)),
            reach=float(score),
        )

    def _get_json(self, url: str, max_bytes: int) -> Any:
        """GET a JSON document; raise _Failure with a short cause for anything unusable."""
        now = datetime.now(UTC)
        try:
            response = fetch_capped(self._client, url, {"Accept": "application/json"}, max_bytes)
        except httpx.TimeoutException:
            raise _Failure("timed out") from None
        except (DeadlineExceededError, BodyTooLargeError) as exc:
            raise _Failure(str(exc)) from None
        except BlockedAddressError as exc:  # the SSRF guard: same words as every source
            raise _Failure(exc.cause, blocked=True) from None
        except httpx.ConnectError as exc:
            raise _Failure(f"cannot connect ({_cause(exc)})") from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise _Failure(f"HTTP error ({type(exc).__name__}: {_cause(exc)})") from None
        status = response.status_code
        if not 200 <= status < 300:
            retry_after = None
            if status in (429, 503):
                retry_after = parse_retry_after(response.headers.get("retry-after"), now)
            if status == 429:
                cause = "rate limited (HTTP 429)"
            elif status >= 500:
                cause = f"server error (HTTP {status})"
            elif status in (404, 410):
                cause = f"not found (HTTP {status})"
            else:
                cause = f"unexpected answer (HTTP {status})"
            raise _Failure(cause, status=status, retry_after=retry_after)
        try:
            return json.loads(response.content)
        except (ValueError, UnicodeDecodeError) as exc:
            raise _Failure(f"the answer is not JSON ({_cause(exc)})", status=status) from None

    def _message(self, cause: str, todo: str) -> str:
        return f"hackernews source '{self.id}': {cause} — {todo}"


# ---------------------------------------------------------------------------------------------


def _todo(failure: _Failure) -> str:
    if failure.blocked:
        return ALLOW_TODO
    if failure.retry_after is not None:
        return (
            f"the server asks to wait {format_seconds(failure.retry_after)}; "
            "it will retry after that"
        )
    if failure.status in (404, 410):
        return "check base_url in feeds.yaml (the Firebase API is https://hacker-news.firebaseio.com/v0)"
    return "Hacker News may be down; it will be retried with backoff"


def _summary(causes: list[str]) -> str:
    """'HTTP 500 ×2, timed out' — the distinct causes, most frequent first."""
    counts = Counter(causes)
    return ", ".join(f"{cause} ×{n}" if n > 1 else cause for cause, n in counts.most_common(3))


def _int(value: object) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return max(0, value)
    if isinstance(value, float) and value == value:  # not NaN
        return max(0, int(value))
    return 0


def _timestamp(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return None
    return int(value) if 0 < value < 1e11 else None


def _created_at(created_ts: int | None, now: datetime) -> datetime:
    if created_ts is None:
        return now
    when = datetime.fromtimestamp(created_ts, tz=UTC)
    return now if when > now + FUTURE_TOLERANCE else when


def _kind(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def _cause(exc: BaseException) -> str:
    text = str(exc).strip()
    return text or type(exc).__name__
