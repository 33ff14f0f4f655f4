"""Bluesky through Jetstream: the public firehose of posts as JSON over a websocket.

What it does: connects to the first Jetstream endpoint that answers (failing over in the order
feeds.yaml lists them) with `?wantedCollections=app.bsky.feed.post`, resuming from the saved
cursor (Jetstream's `time_us`, microseconds since the epoch) minus a few seconds of `rewind`, so
nothing is missed across a reconnect or an endpoint switch. Events at or before the saved cursor
are dropped (the rewind would otherwise bring them twice). Only `commit` events that create an
`app.bsky.feed.post` become posts (replies included): at-uri as id, bsky.app link, text,
`createdAt` as aware UTC, the author's DID, language, and hashtags from the post's facets (whose
byte offsets are UTF-8) and its `tags`. Posts are then filtered by language (`langs`) and, with
`keep: matching`, by the team's watch terms; `keep: all` keeps every post for trend detection.

- `fetch` (for `inhaker run --once`) reads for at most `max_read`, or until the stream has been
  quiet for a second, then disconnects and returns the posts and the new cursor.
- `stream` (for `inhaker run`) reads until `stop` is set, handing a batch to the sink every second
  or 200 posts (and the cursor alone every ten seconds when nothing matched), reconnecting with
  exponential backoff (1 s up to 60 s) across the endpoints and resuming from the cursor the sink
  confirmed. It returns within about a second of `stop`, closing the socket cleanly.

Network trouble never raises: `fetch` returns one error line ("what failed: which thing: cause
— what to do"); `stream` logs a warning and hands the same line to the sink for source health.

What it does not do: decode Jetstream's zstd compression (it never asks for it), resolve DIDs
to handles, read likes, reposts or deletions, or remember which posts it has stored (the store
drops ids it has seen; the cursor keeps that rare).
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import re
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
from websockets.exceptions import (
    ConnectionClosed,
    InvalidHandshake,
    InvalidStatus,
    InvalidURI,
)
from websockets.sync.client import ClientConnection, connect

from bot.config import SourceConfig
from bot.config_sources import DEFAULT_JETSTREAM_ENDPOINTS
from bot.http import USER_AGENT, format_seconds
from bot.netguard import BlockedAddressError, NetGuard, guard_of, open_websocket_socket
from bot.sources.base import FetchResult, SourceState, StreamSink
from detectors.records import Post
from detectors.text import normalize, normalize_term, terms_of

log = logging.getLogger(__name__)

KIND = "bluesky_jetstream"
POST_COLLECTION = "app.bsky.feed.post"
TAG_FEATURE = "app.bsky.richtext.facet#tag"

# A client's clock may run a little fast; a post dated further ahead than this is dated by the
# moment Jetstream received it instead, so it cannot sit at the top of every window.
FUTURE_TOLERANCE = timedelta(hours=1)
# `fetch` stops once no event arrived for this long: the stream has caught up and is quiet.
IDLE_SECONDS = 1.0
# `stream` hands the sink a batch this often, or sooner when this many posts are waiting.
BATCH_SECONDS = 1.0
BATCH_POSTS = 200
# With no kept post, the cursor alone is saved this often (so a restart does not rewind far).
CURSOR_ONLY_SECONDS = 10.0
# Reconnect pauses: 1 s, doubling per connection that failed or died young, at most 60 s.
BACKOFF_START_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 60.0
# A connection that stayed up this long was healthy: the next pause starts at 1 s again.
HEALTHY_SECONDS = 30.0
OPEN_TIMEOUT_SECONDS = 10.0
CLOSE_TIMEOUT_SECONDS = 1.0
# How often a blocked read or connection attempt looks at `stop`.
STOP_CHECK_SECONDS = 0.25
# A post record is at most a few KB; anything near this is not a post worth reading.
MAX_MESSAGE_BYTES = 1024 * 1024
# Bluesky allows 300 graphemes; a record may still carry more (the lexicon is not enforced).
MAX_TEXT_CHARS = 10_000
MAX_TAGS = 20

_DID = re.compile(r"^did:[a-z]+:[A-Za-z0-9._:%-]{1,2048}$")
_RKEY = re.compile(r"^[A-Za-z0-9._:~-]{1,512}$")
_LANG = re.compile(r"^[A-Za-z]{2,8}$")
_FRACTION = re.compile(r"(\.\d{6})\d+")  # Python 3.11 reads at most microseconds


# ---------------------------------------------------------------------------------------------
# Decoding: pure functions over one event.


def facet_text(text: str, byte_start: int, byte_end: int) -> str | None:
    """The part of `text` a facet points at. Facet offsets count UTF-8 bytes, not characters.

    Returns None when the range is outside the text or cuts a character in half (a malformed
    facet), so a caller never gets a garbled tag.
    """
    if isinstance(byte_start, bool) or isinstance(byte_end, bool):
        return None
    if not isinstance(byte_start, int) or not isinstance(byte_end, int):
        return None
    data = text.encode("utf-8")
    if not 0 <= byte_start < byte_end <= len(data):
        return None
    try:
        return data[byte_start:byte_end].decode("utf-8")
    except UnicodeDecodeError:
        return None


def hashtags(record: Mapping[str, Any]) -> tuple[str, ...]:
    """Hashtags of a post record, without '#': tag facets first, then `record.tags`; each once."""
    text = record.get("text") if isinstance(record.get("text"), str) else ""
    found: list[str] = []
    seen: set[str] = set()

    def add(tag: object) -> None:
        if not isinstance(tag, str):
            return
        tag = tag.strip().lstrip("#").strip()
        key = normalize_term(tag)
        if tag and key and key not in seen and len(found) < MAX_TAGS:
            seen.add(key)
            found.append(tag)

    facets = record.get("facets")
    for facet in facets if isinstance(facets, list) else ():
        if not isinstance(facet, Mapping):
            continue
        features = facet.get("features")
        for feature in features if isinstance(features, list) else ():
            if not isinstance(feature, Mapping) or feature.get("$type") != TAG_FEATURE:
                continue
            tag = feature.get("tag")
            if not isinstance(tag, str) or not tag.strip():
                # A tag feature without its tag: the text it covers is the hashtag.
                index = facet.get("index")
                if isinstance(index, Mapping):
                    tag = facet_text(str(text), index.get("byteStart"), index.get("byteEnd"))
            add(tag)
    extra = record.get("tags")
    for tag in extra if isinstance(extra, list) else ():
        add(tag)
    return tuple(found)


def record_langs(record: Mapping[str, Any]) -> tuple[str, ...]:
    """The post's languages as primary subtags ('nl-BE' -> 'nl'), in order, each once."""
    langs = record.get("langs")
    found: list[str] = []
    for value in langs if isinstance(langs, list) else ():
        if not isinstance(value, str):
            continue
        primary = value.strip().replace("_", "-").split("-", 1)[0].lower()
        if _LANG.match(primary) and primary not in found:
            found.append(primary)
    return tuple(found)


def event_time(event: Mapping[str, Any]) -> int | None:
    """The event's `time_us` (Jetstream's cursor), or None when it has none (a heartbeat)."""
    value = event.get("time_us")
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return None
    return value


def _parse_created_at(value: object) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = _FRACTION.sub(r"\1", value.strip())
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:  # the lexicon requires an offset; some clients forget it
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def _from_time_us(time_us: int) -> datetime:
    return datetime.fromtimestamp(time_us / 1_000_000, tz=UTC)


def post_from_event(event: Mapping[str, Any], source_id: str) -> Post | None:
    """The Post for a Jetstream event that creates a post; None for every other event."""
    if event.get("kind") != "commit":
        return None
    commit = event.get("commit")
    if not isinstance(commit, Mapping):
        return None
    if commit.get("operation") != "create" or commit.get("collection") != POST_COLLECTION:
        return None
    record = commit.get("record")
    did, rkey = event.get("did"), commit.get("rkey")
    if not isinstance(record, Mapping) or not isinstance(did, str) or not isinstance(rkey, str):
        return None
    if not _DID.match(did) or not _RKEY.match(rkey):
        return None
    text = record.get("text")
    text = text[:MAX_TEXT_CHARS] if isinstance(text, str) else ""
    time_us = event_time(event)
    received = _from_time_us(time_us) if time_us is not None else None
    created = _parse_created_at(record.get("createdAt"))
    # No usable date, or one far ahead of when Jetstream saw the post: Jetstream's time is it.
    if created is None or (received is not None and created > received + FUTURE_TOLERANCE):
        created = received
    if created is None:
        return None  # neither a date nor a time_us: nothing to place it in time with
    langs = record_langs(record)
    return Post(
        source=source_id,
        id=f"at://{did}/{POST_COLLECTION}/{rkey}",
        text=text,
        created_at=created,
        author=did,
        url=f"https://bsky.app/profile/{did}/post/{rkey}",
        lang=langs[0] if langs else None,
        tags=hashtags(record),
    )


def subscribe_url(endpoint: str, cursor: int | None) -> str:
    """`endpoint` asking for posts only, from `cursor` (microseconds) when given."""
    parts = urlsplit(endpoint)
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if key not in ("wantedCollections", "cursor")
    ]
    query.append(("wantedCollections", POST_COLLECTION))
    if cursor is not None:
        query.append(("cursor", str(cursor)))
    return urlunsplit(parts._replace(query=urlencode(query)))


# ---------------------------------------------------------------------------------------------
# Reading.


@dataclass(slots=True)
class _Progress:
    """What one connection has read.

    `after`: events at or before it are duplicates brought again by the rewind (the cursor
    everything before this connection was handed over up to). `last`: the newest time_us seen.
    `confirmed`: the cursor the sink last saved. `pending`: kept posts not yet handed over.
    """

    after: int | None
    last: int | None = None
    confirmed: int | None = None
    events: int = 0
    pending: list[Post] = field(default_factory=list)
    unreadable: int = 0

    def __post_init__(self) -> None:
        self.last = self.confirmed = self.after


class _Stopped(Exception):
    """`stop` was set while connecting."""


class _SinkFailed(Exception):
    """The sink raised: reconnect from the last cursor it confirmed, so nothing is lost."""


def _dial(url: str, stop: threading.Event, guard: NetGuard | None = None) -> ClientConnection:
    """Open a websocket; a set `stop` abandons the attempt at once (it ends in the background).
    With a `guard` (the worker's SSRF guard) the TCP connection goes to a checked address."""
    lock = threading.Lock()
    done = threading.Event()
    outcome: dict[str, Any] = {}

    def attempt() -> None:
        try:
            # The worker's SSRF guard: connect to a checked address (None: websockets dials).
            sock = open_websocket_socket(guard, url, OPEN_TIMEOUT_SECONDS) if guard else None
            ws = connect(
                url,
                sock=sock,
                open_timeout=OPEN_TIMEOUT_SECONDS,
                close_timeout=CLOSE_TIMEOUT_SECONDS,
                max_size=MAX_MESSAGE_BYTES,
                user_agent_header=USER_AGENT,
            )
        except Exception as exc:
            with lock:
                outcome["error"] = exc
            done.set()
            return
        with lock:
            abandoned = outcome.get("abandoned", False)
            if not abandoned:
                outcome["ws"] = ws
        done.set()
        if abandoned:
            _close(ws)

    threading.Thread(target=attempt, name="jetstream-connect", daemon=True).start()
    while not done.wait(STOP_CHECK_SECONDS):
        if stop.is_set():
            with lock:
                if not done.is_set():
                    outcome["abandoned"] = True
                    raise _Stopped
    if "error" in outcome:
        raise outcome["error"]
    ws: ClientConnection = outcome["ws"]
    # Entering the context marks the connection as managed by us (websockets 17 warns about
    # unmanaged ones); `_close` ends it.
    return ws.__enter__()


def _close(ws: ClientConnection) -> None:
    with contextlib.suppress(Exception):
        ws.close()


def _host(endpoint: str) -> str:
    return urlsplit(endpoint).netloc or endpoint


def _describe(exc: BaseException) -> str:
    """A short cause for a failed connection attempt."""
    if isinstance(exc, BlockedAddressError):
        return str(exc)
    if isinstance(exc, InvalidStatus):
        return f"HTTP {exc.response.status_code} at the websocket handshake"
    if isinstance(exc, InvalidURI):
        return "not a valid ws(s):// URL"
    if isinstance(exc, InvalidHandshake):
        return f"websocket handshake failed ({exc})"
    if isinstance(exc, TimeoutError):
        return f"no answer within {format_seconds(OPEN_TIMEOUT_SECONDS)}"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower() if exc.strerror[:1].isupper() else exc.strerror
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _closed_cause(exc: ConnectionClosed) -> str:
    frame = exc.rcvd
    if frame is None:
        return "the connection dropped without a close frame"
    reason = f": {frame.reason}" if frame.reason else ""
    return f"the server closed it with code {frame.code}{reason}"


def _parse_cursor(value: str | None, now: datetime) -> tuple[int | None, str | None]:
    """A saved cursor as microseconds, or None with a note when it cannot be used."""
    if value is None or not value.strip():
        return None, None
    try:
        cursor = int(value.strip())
    except ValueError:
        return None, f"the saved cursor {value!r} is not a Jetstream time_us; reading from live"
    limit = int((now + FUTURE_TOLERANCE).timestamp() * 1_000_000)
    if cursor <= 0 or cursor > limit:
        return None, f"the saved cursor {value!r} is not a usable time; reading from live"
    return cursor, None


class JetstreamSource:
    """A configured Jetstream consumer (`kind: bluesky_jetstream`). One instance serves one
    stream thread or one `fetch` at a time."""

    kind: str = KIND

    def __init__(
        self,
        config: SourceConfig,
        client: httpx.Client | None = None,  # every adapter takes it; a websocket needs none
        *,
        watch_terms: tuple[str, ...] = (),
    ) -> None:
        self.id = config.id
        self.config = config
        self._guard = guard_of(client)  # the worker's SSRF guard rides on its shared client
        options = config.options
        self.endpoints: tuple[str, ...] = tuple(
            options.get("endpoints") or DEFAULT_JETSTREAM_ENDPOINTS
        )
        self.langs = frozenset(record_langs({"langs": list(options.get("langs") or ())}))
        self.keep: str = options.get("keep", "matching")
        self.rewind: timedelta = options.get("rewind", timedelta(seconds=5))
        self.max_read: timedelta = options.get("max_read", timedelta(seconds=10))
        words: set[str] = set()
        phrases: list[re.Pattern[str]] = []
        for term in watch_terms:
            normalized = normalize_term(term)
            if not normalized:
                continue
            if set(terms_of(normalized)) == {normalized}:
                words.add(normalized)
            else:
                # Phrases, and words the tokenizer never yields ("AI": too short): matched in
                # the normalized text, on word boundaries.
                phrases.append(re.compile(rf"(?<!\w){re.escape(normalized)}(?!\w)"))
        self._watch_words = frozenset(words)
        self._watch_phrases = tuple(phrases)
        self._note: str | None = None
        if self.keep == "matching" and not words and not phrases:
            self._note = (
                "keep: matching, but feeds.yaml has no watch terms, so every post is skipped "
                "— add watch.terms or set keep: all"
            )

    @property
    def rewind_us(self) -> int:
        return int(self.rewind.total_seconds() * 1_000_000)

    def close(self) -> None:
        """Nothing to close between reads (each read opens and closes its own socket)."""

    # -- filtering ----------------------------------------------------------------------------

    def matches_watch(self, post: Post) -> bool:
        """Whether the post mentions one of the team's watch terms (text or hashtags)."""
        terms = set(terms_of(post.text))
        terms.update(normalize_term(tag) for tag in post.tags)
        if self._watch_words & terms:
            return True
        if self._watch_phrases:
            text = normalize(post.text)
            return any(phrase.search(text) for phrase in self._watch_phrases)
        return False

    def _wanted(self, event: Mapping[str, Any]) -> Post | None:
        post = post_from_event(event, self.id)
        if post is None:
            return None
        if self.langs:
            commit = event["commit"]
            if not self.langs.intersection(record_langs(commit["record"])):
                return None
        if self.keep == "all":
            return post
        return post if self.matches_watch(post) else None

    def posts_from(
        self, events: Iterable[Mapping[str, Any]], *, after: int | None = None
    ) -> list[Post]:
        """The posts these options keep from `events`, skipping those at or before `after`."""
        progress = _Progress(after)
        for event in events:
            self._take(event, progress)
        return progress.pending

    def _take(self, event: object, progress: _Progress) -> None:
        if not isinstance(event, Mapping):
            progress.unreadable += 1
            return
        time_us = event_time(event)
        if time_us is None:
            return  # a heartbeat or something new: not part of the timeline
        progress.events += 1
        if progress.after is not None and time_us <= progress.after:
            return  # brought again by the rewind
        if progress.last is None or time_us > progress.last:
            progress.last = time_us
        try:
            post = self._wanted(event)
        except Exception:
            # One odd record must not cost the stream.
            log.warning("%s source %r: skipped an event", KIND, self.id, exc_info=True)
            return
        if post is not None:
            progress.pending.append(post)

    def _receive(self, raw: str | bytes, progress: _Progress) -> None:
        try:
            event = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            progress.unreadable += 1
            log.debug("%s source %r: a message that is not JSON", KIND, self.id)
            return
        self._take(event, progress)

    # -- run --once ---------------------------------------------------------------------------

    def fetch(self, state: SourceState, now: datetime) -> FetchResult:
        """Read the stream for a while from the saved cursor. Never raises."""
        try:
            return self._fetch(state, now)
        except Exception as exc:
            log.exception("%s source %r: unexpected error", KIND, self.id)
            return self._failed(
                f"unexpected error ({type(exc).__name__}: {exc})",
                "this is a bug in Inhaker; the log has the details, please report it",
            )

    def _fetch(self, state: SourceState, now: datetime) -> FetchResult:
        floor, cursor_note = _parse_cursor(state.cursor, now)
        progress = _Progress(floor)
        causes: list[str] = []
        never = threading.Event()
        deadline: float | None = None
        ended: str | None = None
        for endpoint in self.endpoints:
            url = subscribe_url(endpoint, self._resume_from(progress.last))
            try:
                ws = _dial(url, never, self._guard)
            except Exception as exc:
                causes.append(f"{_host(endpoint)}: {_describe(exc)}")
                log.warning("%s source %r: cannot connect to %s: %s", KIND, self.id, url, exc)
                continue
            if deadline is None:
                deadline = time.monotonic() + self.max_read.total_seconds()
            # After a failover, what the last endpoint sent is not wanted again.
            progress.after = progress.last
            try:
                ended = self._read_until_quiet(ws, progress, deadline)
            except ConnectionClosed as exc:
                causes.append(f"{_host(endpoint)}: {_closed_cause(exc)}")
                log.warning("%s source %r: %s closed the stream: %s", KIND, self.id, endpoint, exc)
                continue
            finally:
                _close(ws)
            break
        if ended is None and progress.events == 0:
            return self._failed(
                f"cannot read the stream from any endpoint ({'; '.join(causes)})",
                "check the endpoints in feeds.yaml and the network; "
                "it will be retried with backoff",
            )
        notes = [n for n in (self._note, cursor_note) if n]
        if ended is None:
            notes.append(f"the stream ended early ({'; '.join(causes)})")
        elif ended == "deadline" and progress.last is not None:
            behind = now - _from_time_us(progress.last)
            if behind > timedelta(minutes=1):
                notes.append(
                    f"still {_minutes(behind)} behind live after reading "
                    f"{format_seconds(self.max_read.total_seconds())}; "
                    "the next run continues from there"
                )
        if progress.unreadable:
            notes.append(_unreadable(progress.unreadable))
        cursor = str(progress.last) if progress.last is not None else state.cursor
        return FetchResult(posts=progress.pending, cursor=cursor, note="; ".join(notes) or None)

    def _read_until_quiet(self, ws: ClientConnection, progress: _Progress, deadline: float) -> str:
        """Read until the deadline ('deadline') or a second without events ('idle')."""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return "deadline"
            try:
                raw = ws.recv(timeout=min(IDLE_SECONDS, remaining))
            except TimeoutError:
                if deadline - time.monotonic() <= 0:
                    return "deadline"
                return "idle"
            self._receive(raw, progress)

    def _resume_from(self, cursor: int | None) -> int | None:
        return None if cursor is None else max(cursor - self.rewind_us, 0)

    def _failed(self, cause: str, todo: str) -> FetchResult:
        return FetchResult(error=f"{KIND} source '{self.id}': {cause} — {todo}")

    # -- run ----------------------------------------------------------------------------------

    def stream(self, state: SourceState, sink: StreamSink, stop: threading.Event) -> None:
        """Read until `stop` is set, handing batches to `sink`. Never raises for network
        trouble; returns within about a second of `stop`."""
        confirmed, cursor_note = _parse_cursor(state.cursor, datetime.now(UTC))
        if cursor_note:
            log.warning("%s source %r: %s", KIND, self.id, cursor_note)
        unhealthy = 0  # connections in a row that failed or died young
        while not stop.is_set():
            try:
                ws, endpoint = self._connect_any(confirmed, stop, sink)
            except _Stopped:
                return
            if ws is None:
                unhealthy += 1
                self._pause(unhealthy, stop)
                continue
            opened_at = time.monotonic()
            progress = _Progress(confirmed)
            try:
                self._pump(ws, progress, sink, stop)
            except ConnectionClosed as exc:
                log.warning(
                    "%s source %r: %s: %s; reconnecting",
                    KIND,
                    self.id,
                    _host(endpoint),
                    _closed_cause(exc),
                )
            except _SinkFailed:
                pass  # logged where it happened; the batch is read again from `confirmed`
            finally:
                _close(ws)
            confirmed = progress.confirmed
            if stop.is_set():
                return
            healthy = time.monotonic() - opened_at >= HEALTHY_SECONDS
            unhealthy = 0 if healthy else unhealthy + 1
            self._pause(max(unhealthy, 1), stop)

    def _connect_any(
        self, cursor: int | None, stop: threading.Event, sink: StreamSink
    ) -> tuple[ClientConnection | None, str]:
        """The first endpoint that answers; (None, '') after telling the sink none did."""
        causes: list[str] = []
        for endpoint in self.endpoints:
            if stop.is_set():
                raise _Stopped
            url = subscribe_url(endpoint, self._resume_from(cursor))
            try:
                return _dial(url, stop, self._guard), endpoint
            except _Stopped:
                raise
            except Exception as exc:
                causes.append(f"{_host(endpoint)}: {_describe(exc)}")
        error = self._failed(
            f"cannot connect to any endpoint ({'; '.join(causes)})",
            "check the endpoints in feeds.yaml and the network; retrying with backoff",
        )
        log.warning("%s", error.error)
        try:
            sink(error)  # source health shows it
        except Exception:
            log.exception("%s source %r: the sink failed to record an error", KIND, self.id)
        return None, ""

    def _pump(
        self, ws: ClientConnection, progress: _Progress, sink: StreamSink, stop: threading.Event
    ) -> None:
        """Read one connection until `stop` or until it closes, handing over what was read
        either way (unless the sink itself failed: then nothing more is handed over)."""
        last_flush = time.monotonic()
        sink_failed = False
        try:
            while not stop.is_set():
                try:
                    raw = ws.recv(timeout=STOP_CHECK_SECONDS)
                except TimeoutError:
                    raw = None
                if raw is not None:
                    self._receive(raw, progress)
                waited = time.monotonic() - last_flush
                if (
                    len(progress.pending) >= BATCH_POSTS
                    or (progress.pending and waited >= BATCH_SECONDS)
                    or (progress.last != progress.confirmed and waited >= CURSOR_ONLY_SECONDS)
                ):
                    self._flush(progress, sink)
                    last_flush = time.monotonic()
        except _SinkFailed:
            sink_failed = True
            raise
        finally:
            if not sink_failed and (progress.pending or progress.last != progress.confirmed):
                self._flush(progress, sink)

    def _flush(self, progress: _Progress, sink: StreamSink) -> None:
        """Hand the pending posts and the cursor to the sink; the cursor of the state it
        returns is where the next connection resumes."""
        posts, cursor = progress.pending, progress.last
        progress.pending = []
        note = self._note
        if progress.unreadable:
            extra = _unreadable(progress.unreadable)
            note = f"{note}; {extra}" if note else extra
            progress.unreadable = 0
        try:
            state = sink(
                FetchResult(
                    posts=posts, cursor=str(cursor) if cursor is not None else None, note=note
                )
            )
        except Exception as exc:
            # Not stored: reading on would lose these posts. Reconnect from the last cursor the
            # sink confirmed, so they come again.
            log.exception("%s source %r: storing a batch failed; re-reading it", KIND, self.id)
            raise _SinkFailed from exc
        saved, _ = _parse_cursor(state.cursor, datetime.now(UTC))
        progress.confirmed = saved if saved is not None else cursor

    def _pause(self, unhealthy: int, stop: threading.Event) -> None:
        delay = min(BACKOFF_START_SECONDS * 2 ** (unhealthy - 1), BACKOFF_CAP_SECONDS)
        stop.wait(delay * random.uniform(0.8, 1.0))


def _unreadable(count: int) -> str:
    return f"{count} unreadable message{'s' if count != 1 else ''} skipped"


def _minutes(delta: timedelta) -> str:
    minutes = delta.total_seconds() / 60
    if minutes < 120:
        return f"{minutes:.0f} min"
    return f"{minutes / 60:.1f} h"
