"""A fake Bluesky Jetstream on a real local websocket, for the Jetstream source's tests.

What it does: runs a `websockets` sync server on 127.0.0.1 (port 0) in a background thread that
behaves like Jetstream's `/subscribe`:
- it holds a log of events (dicts, or JSON lines kept byte for byte, like the upstream golden
  file); `publish` appends to it and sends the new events to every live subscriber at once.
- `?cursor=<time_us>` replays the log from that time (events with `time_us >= cursor`, in log
  order), then goes on live; without a cursor a subscriber hears only what is published after
  it connected (live tail), as the real service does.
- `?wantedCollections=` (repeatable, `app.bsky.*` prefixes allowed) filters commit events by
  collection; identity and account events always pass, as upstream documents.
- `publish_on_connect` publishes events the moment the next subscriber has connected, so a
  live-tail reader gets them without a race against its own idle timeout.
- `drop_after(n)` makes the next connection end after it has sent `n` events: with a close frame
  (code 1011 by default) or abruptly (`abrupt=True`: the TCP connection is shut, no close frame).
  `drop()` ends the live connection now. `refuse_status` answers every handshake with that HTTP
  status instead (an endpoint that is up but not serving).
- every connection is recorded (`connections`): its path and query, the cursor and collections
  it asked for, the time_us of every event sent, and the close code the client sent.

Also here: builders for realistic events (`post_event`, `tag_facet`, ...) and `closed_port_url`,
the address of a port nobody listens on (connection refused).

What it does not do: TLS, zstd compression, `requireHello`/options updates, `wantedDids`,
`maxMessageSizeBytes`, heartbeats on request, or live tail for cursors in the future.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

__all__ = [
    "FakeJetstream",
    "JetstreamConnection",
    "closed_port_url",
    "post_event",
    "tag_facet",
]

POST = "app.bsky.feed.post"


@dataclass(frozen=True)
class _Entry:
    text: str  # the message as sent on the wire
    time_us: int | None
    kind: str | None
    collection: str | None


@dataclass(frozen=True)
class _Drop:
    after: int  # events sent before the connection ends
    abrupt: bool
    code: int
    reason: str


@dataclass
class JetstreamConnection:
    """One subscriber connection, as the server saw it."""

    number: int  # 1, 2, ... in the order they opened
    path: str  # with the query string
    query: dict[str, list[str]]
    cursor: int | None
    wanted: list[str]
    opened_at: float  # time.monotonic()
    closed_at: float | None = None
    close_code: int | None = None  # the code the client sent; None when it sent none
    dropped: bool = False  # the server ended it (drop / drop_after)
    sent: list[int | None] = field(default_factory=list)  # time_us of every event sent
    received: list[str] = field(default_factory=list)  # messages the client sent
    _ws: ServerConnection | None = field(default=None, repr=False)
    _drop: _Drop | None = field(default=None, repr=False)

    @property
    def open(self) -> bool:
        return self.closed_at is None


def _entry(event: Mapping[str, Any] | str) -> _Entry:
    text = event if isinstance(event, str) else json.dumps(event, ensure_ascii=False)
    data: Any = event
    if isinstance(event, str):
        try:
            data = json.loads(event)
        except ValueError:
            data = {}  # sent as is: a broken message
    if not isinstance(data, Mapping):
        data = {}
    commit = data.get("commit") if isinstance(data.get("commit"), Mapping) else {}
    time_us = data.get("time_us")
    return _Entry(
        text=text.rstrip("\n"),
        time_us=time_us if isinstance(time_us, int) else None,
        kind=data.get("kind"),
        collection=commit.get("collection"),
    )


def _wants(wanted: Sequence[str], entry: _Entry) -> bool:
    if not wanted or entry.kind != "commit":
        return True  # no filter, or an identity / account event: everyone hears those
    collection = entry.collection or ""
    for want in wanted:
        if want.endswith(".*"):
            if collection.startswith(want[:-1]):
                return True
        elif collection == want:
            return True
    return False


def _drop_due(conn: JetstreamConnection) -> bool:
    return conn._drop is not None and len(conn.sent) >= conn._drop.after


class FakeJetstream:
    """The fake service. Use as a context manager or start/stop."""

    def __init__(
        self,
        events: Iterable[Mapping[str, Any] | str] = (),
        *,
        refuse_status: int | None = None,
        pace: float = 0.0,
    ) -> None:
        self.refuse_status = refuse_status
        self.pace = pace  # seconds between two events sent to one subscriber
        self._cond = threading.Condition()
        self._log: list[_Entry] = [_entry(e) for e in events]
        self._connections: list[JetstreamConnection] = []
        self._drops: list[_Drop] = []
        self._on_connect: list[_Entry] = []
        self._stopping = False
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> FakeJetstream:
        if self._server is None:
            self._server = serve(
                self._handle,
                "127.0.0.1",
                0,
                process_request=self._check,
                ping_interval=None,
                close_timeout=2,
            )
            self._thread = threading.Thread(
                target=self._server.serve_forever, name="fake-jetstream", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if server is not None:
            server.shutdown()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> FakeJetstream:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeJetstream is not started")
        return int(self._server.socket.getsockname()[1])

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/subscribe"

    # -- driving it ---------------------------------------------------------------------------

    def publish(self, *events: Mapping[str, Any] | str) -> None:
        """Append events to the log; live subscribers get them now."""
        with self._cond:
            self._log.extend(_entry(e) for e in events)
            self._cond.notify_all()

    def publish_on_connect(self, *events: Mapping[str, Any] | str) -> None:
        """Publish these events the moment the next subscriber has connected (live for it)."""
        with self._cond:
            self._on_connect.extend(_entry(e) for e in events)

    def drop_after(
        self, count: int, *, abrupt: bool = False, code: int = 1011, reason: str = "restarting"
    ) -> None:
        """The next connection that opens ends after sending `count` events."""
        with self._cond:
            self._drops.append(_Drop(count, abrupt, code, reason))

    def drop(self, *, abrupt: bool = False, timeout: float = 5) -> JetstreamConnection:
        """End the live connection now; returns once its handler has finished."""
        conn = self.wait_for_connections(len(self.connections) or 1, timeout=timeout)
        with self._cond:
            conn._drop = _Drop(len(conn.sent), abrupt, 1011, "restarting")
            self._cond.notify_all()
        self.wait_until_closed(conn, timeout=timeout)
        return conn

    # -- introspection ------------------------------------------------------------------------

    @property
    def connections(self) -> list[JetstreamConnection]:
        """Every connection so far, oldest first (the records themselves, updated live)."""
        with self._cond:
            return list(self._connections)

    def wait_for_connections(self, count: int = 1, *, timeout: float = 5) -> JetstreamConnection:
        """Wait until `count` connections have opened and the last is open; return that one."""

        def ready() -> bool:
            return len(self._connections) >= count and self._connections[-1].open

        with self._cond:
            if not self._cond.wait_for(ready, timeout):
                raise TimeoutError(
                    f"fake jetstream: {len(self._connections)} connections after {timeout}s, "
                    f"wanted {count} with the last one open"
                )
            return self._connections[-1]

    def wait_until_closed(self, conn: JetstreamConnection, *, timeout: float = 5) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: not conn.open, timeout):
                raise TimeoutError(f"fake jetstream: connection {conn.number} still open")

    def wait_for_sent(self, conn: JetstreamConnection, count: int, *, timeout: float = 5) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: len(conn.sent) >= count, timeout):
                raise TimeoutError(
                    f"fake jetstream: connection {conn.number} sent {len(conn.sent)} events, "
                    f"wanted {count}"
                )

    # -- internals ----------------------------------------------------------------------------

    def _check(self, ws: ServerConnection, request: Request) -> Response | None:
        if urlsplit(request.path).path.rstrip("/") != "/subscribe":
            return ws.respond(HTTPStatus.NOT_FOUND, "404 page not found\n")
        if self.refuse_status is not None:
            return ws.respond(HTTPStatus(self.refuse_status), "unavailable\n")
        query = parse_qs(urlsplit(request.path).query)
        cursor = (query.get("cursor") or [""])[0]
        if cursor and not cursor.lstrip("-").isdigit():
            return ws.respond(HTTPStatus.BAD_REQUEST, "invalid cursor\n")
        return None

    def _handle(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        path = ws.request.path
        query = parse_qs(urlsplit(path).query)
        cursor_text = (query.get("cursor") or [""])[0]
        cursor = int(cursor_text) if cursor_text else None
        with self._cond:
            conn = JetstreamConnection(
                number=len(self._connections) + 1,
                path=path,
                query=query,
                cursor=cursor,
                wanted=list(query.get("wantedCollections") or []),
                opened_at=time.monotonic(),
                _ws=ws,
                _drop=self._drops.pop(0) if self._drops else None,
            )
            self._connections.append(conn)
            # A cursor replays the log from that time; none means live tail.
            position = 0 if cursor is not None else len(self._log)
            self._log.extend(self._on_connect)
            self._on_connect.clear()
            self._cond.notify_all()
        try:
            self._serve(ws, conn, position)
        except ConnectionClosed:
            pass
        finally:
            with self._cond:
                conn.closed_at = time.monotonic()
                rcvd = ws.protocol.close_rcvd
                conn.close_code = rcvd.code if rcvd is not None else None
                self._cond.notify_all()

    def _serve(self, ws: ServerConnection, conn: JetstreamConnection, position: int) -> None:
        while True:
            if self._maybe_drop(ws, conn):
                return
            with self._cond:
                self._cond.wait_for(
                    lambda start=position: (
                        start < len(self._log) or self._stopping or _drop_due(conn)
                    ),
                    timeout=0.1,
                )
                if self._stopping:
                    ws.close(1001, "shutting down")
                    return
                batch = self._log[position:]
                position = len(self._log)
            self._notice_client(ws, conn)
            for entry in batch:
                if conn.cursor is not None and (entry.time_us or conn.cursor) < conn.cursor:
                    continue
                if not _wants(conn.wanted, entry):
                    continue
                if self._maybe_drop(ws, conn):
                    return
                ws.send(entry.text)
                with self._cond:
                    conn.sent.append(entry.time_us)
                    self._cond.notify_all()
                if self.pace:
                    time.sleep(self.pace)

    def _notice_client(self, ws: ServerConnection, conn: JetstreamConnection) -> None:
        """Read what the client sent (nothing, usually); raises ConnectionClosed once it left."""
        while True:
            try:
                message = ws.recv(timeout=0)
            except TimeoutError:
                return
            with self._cond:
                conn.received.append(message if isinstance(message, str) else message.decode())

    def _maybe_drop(self, ws: ServerConnection, conn: JetstreamConnection) -> bool:
        drop = conn._drop
        if drop is None or not _drop_due(conn):
            return False
        with self._cond:
            conn.dropped = True
        if drop.abrupt:
            # No close frame: the TCP connection just ends, as when a server process dies.
            with contextlib.suppress(OSError):
                ws.socket.shutdown(socket.SHUT_RDWR)
        else:
            ws.close(drop.code, drop.reason)
        return True


# -------------------------------------------------------------------------------------------------
# Builders for realistic events.


def closed_port_url() -> str:
    """A ws:// URL on 127.0.0.1 where nothing listens: connecting is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"ws://127.0.0.1:{port}/subscribe"


def iso(time_us: int) -> str:
    """time_us as the ISO time a Bluesky client writes in `createdAt` (milliseconds, Z)."""
    moment = datetime.fromtimestamp(time_us / 1_000_000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def tag_facet(text: str, tag: str) -> dict[str, Any]:
    """The richtext facet for the first `#tag` in `text`, with UTF-8 byte offsets."""
    marker = f"#{tag}"
    index = text.index(marker)
    start = len(text[:index].encode("utf-8"))
    end = start + len(marker.encode("utf-8"))
    return {
        "$type": "app.bsky.richtext.facet",
        "index": {"byteStart": start, "byteEnd": end},
        "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": tag}],
    }


def post_event(
    time_us: int,
    text: str,
    *,
    did: str = "did:plc:ewvi7nxzyoun6zhxrhs64oiz",
    rkey: str | None = None,
    langs: Sequence[str] | None = ("nl",),
    hashtags: Sequence[str] = (),
    created_at: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A Jetstream commit event creating an app.bsky.feed.post, shaped like the real ones.

    `hashtags` get tag facets (they must occur in `text` as #tag). `rkey` defaults to a
    TID-like key derived from `time_us`; `created_at` to `time_us` a few ms earlier.
    """
    record: dict[str, Any] = {
        "$type": POST,
        "createdAt": created_at if created_at is not None else iso(time_us - 150_000),
        "text": text,
    }
    if langs is not None:
        record["langs"] = list(langs)
    if hashtags:
        record["facets"] = [tag_facet(text, tag) for tag in hashtags]
    if extra:
        record.update(extra)
    return {
        "did": did,
        "time_us": time_us,
        "kind": "commit",
        "commit": {
            "rev": _tid(time_us + 1),
            "operation": "create",
            "collection": POST,
            "rkey": rkey or _tid(time_us),
            "record": record,
            "cid": "bafyreih" + _tid(time_us).ljust(52, "a")[:52],
        },
    }


_B32 = "234567abcdefghijklmnopqrstuvwxyz"


def _tid(time_us: int) -> str:
    """A 13-character, sortable record key in the style of atproto TIDs."""
    value = (time_us << 10) & ((1 << 64) - 1)
    chars = []
    for _ in range(13):
        chars.append(_B32[value & 31])
        value >>= 5
    return "".join(reversed(chars))
