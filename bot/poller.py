"""Poll one source and record the outcome: new posts into the store, health into source state.

What it does: builds source adapters from feeds.yaml entries (`build_source`), and `poll` runs one
fetch with the source's saved state, then stores the posts it has not seen (items from a source's
first successful poll are its backlog: stored, never alerted), and saves the new state: validators
for the next conditional GET, health (last success, last error, failures in a row) and backoff
(exponential after failures; a server's Retry-After is obeyed as asked).

What it does not do: run detectors or alerts (bot/pipeline.py), or decide when to poll
(bot/scheduler.py calls `poll` on each source's interval; `inhaker run --once` calls it once).
"""

from __future__ import annotations

import hashlib
import importlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import httpx

from bot.config import SourceConfig
from bot.http import backoff_seconds
from bot.sources.base import FetchResult, Source, SourceState
from bot.store import Store
from detectors.records import Post

log = logging.getLogger(__name__)


# kind -> "module:class". Adapters are imported when a feeds.yaml uses their kind, so a kind's
# optional dependency (websockets for Jetstream) is only needed when it is configured.
ADAPTERS = {
    "rss": "bot.sources.rss:RssSource",
    "mastodon": "bot.sources.mastodon:MastodonSource",
    "bluesky_jetstream": "bot.sources.jetstream:JetstreamSource",
    "bluesky_trends": "bot.sources.bluesky_trends:BlueskyTrendsSource",
    "reddit": "bot.sources.reddit:RedditSource",
    "hackernews": "bot.sources.hackernews:HackerNewsSource",
    "google_trends": "bot.sources.google_trends:GoogleTrendsSource",
    "x_search": "bot.sources.x_search:XSearchSource",
}


def build_source(
    config: SourceConfig,
    client: httpx.Client | None = None,
    *,
    watch_terms: tuple[str, ...] = (),
) -> Source:
    """The adapter for a feeds.yaml source entry.

    Every adapter takes `(config, client=..., watch_terms=...)`: the shared HTTP client and the
    team's watch terms (Hacker News searches them; Jetstream keeps only posts that match them).
    """
    target = ADAPTERS.get(config.kind)
    if target is None:
        raise ValueError(f"source '{config.id}': unknown kind {config.kind!r}")
    module_name, class_name = target.split(":")
    adapter = getattr(importlib.import_module(module_name), class_name)
    source: Source = adapter(config, client=client, watch_terms=watch_terms)
    return source


@dataclass(frozen=True, slots=True)
class PollOutcome:
    source_id: str
    skipped: str | None = None  # why the poll did not happen (waiting out a Retry-After)
    new_posts: tuple[Post, ...] = ()  # new, alertable posts (not backlog)
    backlog: tuple[Post, ...] = ()  # the first poll's items: stored, history only
    error: str | None = None
    not_modified: bool = False


def _next_state(
    state: SourceState, result: FetchResult, interval: timedelta, now: datetime, new_items: int
) -> SourceState:
    retry_until = (
        now + timedelta(seconds=result.retry_after) if result.retry_after is not None else None
    )
    if result.ok:
        return replace(
            state,
            etag=result.etag if result.etag is not None else state.etag,
            last_modified=(
                result.last_modified if result.last_modified is not None else state.last_modified
            ),
            cursor=result.cursor if result.cursor is not None else state.cursor,
            next_due=None,
            retry_after_until=retry_until,
            last_polled_at=now,
            last_success_at=now,
            failures_in_a_row=0,
            polls=state.polls + 1,
            items_last_poll=new_items,
            note=result.note,
        )
    failures = state.failures_in_a_row + 1
    wait = backoff_seconds(failures, interval.total_seconds())
    return replace(
        state,
        next_due=now + timedelta(seconds=wait),
        retry_after_until=retry_until,
        last_polled_at=now,
        last_error=result.error,
        last_error_at=now,
        failures_in_a_row=failures,
        items_last_poll=0,
    )


def poll(
    source: Source,
    config: SourceConfig,
    store: Store,
    now: datetime,
    *,
    respect_backoff: bool = True,
) -> PollOutcome:
    """Fetch once and record everything. Never raises for a source's own failure."""
    state = store.source_state(source.id)
    if state.retry_after_until is not None and now < state.retry_after_until:
        return PollOutcome(
            source.id, skipped=f"server asked to wait until {state.retry_after_until:%H:%M:%S} UTC"
        )
    if respect_backoff and state.next_due is not None and now < state.next_due:
        return PollOutcome(source.id, skipped=f"backing off until {state.next_due:%H:%M:%S} UTC")
    try:
        result = source.fetch(state, now)
    except Exception as exc:  # an adapter bug must not stop the other sources
        log.exception("source %s raised instead of returning an error", source.id)
        result = FetchResult(
            error=f"{config.kind} source '{source.id}': internal error: {exc!r} — "
            "this is a bug in Inhaker; please report it"
        )
    return record(source.id, config, store, state, result, now)


# A post id (a feed's guid, a status URL) is a primary key: PostgreSQL refuses index entries over
# about 2.7 KB, and a feed whose guid is a whole article would fail every poll. Longer ids are
# replaced by their digest, the same one at every poll, so the post is still stored once.
MAX_POST_ID_CHARS = 512


def bounded_ids(posts: Sequence[Post]) -> list[Post]:
    """The posts, any id longer than MAX_POST_ID_CHARS replaced by "sha256:<its digest>"."""
    return [
        replace(post, id="sha256:" + hashlib.sha256(post.id.encode()).hexdigest())
        if len(post.id) > MAX_POST_ID_CHARS
        else post
        for post in posts
    ]


def record(
    source_id: str,
    config: SourceConfig,
    store: Store,
    state: SourceState,
    result: FetchResult,
    now: datetime,
    *,
    quiet: bool = False,
) -> PollOutcome:
    """Store what one fetch (or one stream batch) brought and save the source's new state.

    Posts not seen before are stored (as backlog on the source's first successful read);
    trend-list entries are stored as signals; validators, cursor, health and backoff are saved.
    """
    backlog = state.polls == 0
    stored: list[Post] = []
    history: list[Post] = []
    if result.ok and result.posts:
        stored = store.add_posts(bounded_ids(result.posts), seen_at=now, backlog=backlog)
    if result.ok and result.backlog:
        history = store.add_posts(bounded_ids(result.backlog), seen_at=now, backlog=True)
    if result.ok and result.signals:
        store.add_external_trends(result.signals, seen_at=now)
    store.save_source_state(_next_state(state, result, config.interval, now, len(stored)))
    if not result.ok:
        log.warning("poll failed: %s", result.error)
        return PollOutcome(source_id, error=result.error)
    # A stream records a batch every second; one line per batch would drown the log.
    log.log(
        logging.DEBUG if quiet else logging.INFO,
        "polled %s: %d items, %d new%s%s",
        source_id,
        len(result.posts),
        len(stored),
        " (backlog, not alerted)" if backlog and stored else "",
        f", {len(result.signals)} trending" if result.signals else "",
    )
    if backlog:
        return PollOutcome(source_id, backlog=(*stored, *history), not_modified=result.not_modified)
    return PollOutcome(
        source_id,
        new_posts=tuple(stored),
        backlog=tuple(history),
        not_modified=result.not_modified,
    )
