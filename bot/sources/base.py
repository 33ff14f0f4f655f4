"""The contract every source adapter follows: state in, posts and new state out, errors as data.

What it does: defines `SourceState` (what the store keeps per source between polls: conditional
GET validators, a cursor, backoff and health), `FetchResult` (what one poll returns) and the
`Source` protocol. A source never raises past `fetch`: anything that goes wrong becomes a
`FetchResult` with `error` set, so one broken feed never stops the others.

What it does not do: store anything, schedule anything, or decide about backoff timing (the
pipeline does that from `FetchResult`, so every kind of source backs off the same way).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

import httpx

from bot.http import make_client
from detectors.records import ExternalTrend, Post

# The "what to do" of an error no adapter expected: it is our bug, not the user's setup.
BUG_TODO = "this is a bug in Inhaker; the log has the details, please report it"


@dataclass(frozen=True, slots=True)
class SourceState:
    """Per-source state kept in the store between polls."""

    source_id: str
    etag: str | None = None
    last_modified: str | None = None
    cursor: str | None = None
    next_due: datetime | None = None  # earliest next poll after failures (our own backoff)
    retry_after_until: datetime | None = None  # the server asked us to wait until then
    last_polled_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    failures_in_a_row: int = 0
    polls: int = 0  # successful polls so far; 0 means the next poll is the first (backlog)
    items_last_poll: int = 0
    note: str | None = None  # a non-error remark shown in health ("daily budget used up")


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What one poll of one source produced.

    `posts` are every item the source offered now (the store drops ones it has already seen);
    `signals` are entries of a platform's own trending list. `cursor` is the source's own
    resume point (a since_id, a Jetstream time_us, a JSON object of several): saved as given.
    `not_modified` is True for a 304 answer. `error` is one human line in the shape
    "what failed: which thing: cause — what to do". `retry_after` is a server's own
    request to wait (429/503 Retry-After), in seconds.
    """

    posts: list[Post] = field(default_factory=list)
    # Items from a part of the source read for the first time (a hashtag or subreddit added to
    # feeds.yaml later): stored as history, never alerted, like a new source's first poll.
    backlog: list[Post] = field(default_factory=list)
    signals: list[ExternalTrend] = field(default_factory=list)  # trend lists (not posts)
    etag: str | None = None
    last_modified: str | None = None
    cursor: str | None = None
    not_modified: bool = False
    error: str | None = None
    retry_after: float | None = None
    status: int | None = None
    note: str | None = None  # shown in source health without counting as a failure

    @property
    def ok(self) -> bool:
        return self.error is None


class Source(Protocol):
    """A configured source that can be polled. Implementations live in bot/sources/<kind>.py."""

    id: str
    kind: str

    def fetch(self, state: SourceState, now: datetime) -> FetchResult:
        """Poll once. Never raises: errors are returned in `FetchResult.error`."""
        ...


# A stream hands each batch to this sink, which stores it and returns the state to resume from.
StreamSink = Callable[[FetchResult], SourceState]


@runtime_checkable
class StreamSource(Source, Protocol):
    """A source that pushes (a websocket firehose) rather than being polled.

    `fetch` still exists for `inhaker run --once`: a bounded read (connect, read from the saved
    cursor for a few seconds, disconnect). `stream` is for `inhaker run`: read until `stop` is
    set, hand each batch to `sink` (which stores it and returns the new state, whose cursor is
    where a reconnect resumes), reconnect with backoff and fail over across endpoints. When no
    endpoint answers it hands the sink a `FetchResult` with `error` set, so source health shows
    it. It must return promptly once `stop` is set, and never raise for network trouble.
    """

    def stream(self, state: SourceState, sink: StreamSink, stop: threading.Event) -> None: ...


class OwnsHttpClient:
    """For HTTP adapters: use the runner's shared client, or make one that `close` releases."""

    _client: httpx.Client
    _owns_client: bool

    def _use_client(self, client: httpx.Client | None) -> None:
        self._owns_client = client is None
        self._client = client if client is not None else make_client()

    def close(self) -> None:
        """Close the HTTP client if this source created it (a shared client is left alone)."""
        if self._owns_client:
            self._client.close()
