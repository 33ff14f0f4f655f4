"""A fake Slack Socket Mode server on a real local websocket, for the real slack_sdk client.

What it does: runs a `websockets` sync server on 127.0.0.1 (port 0) in a background thread and
serves `apps.connections.open` on a running `FakeSlack`, the way Slack does:
- `apps.connections.open` must be called with an app-level token (xapp-...) that this server was
  given; any other token is refused (`invalid_auth` for unknown tokens, `not_allowed_token_type`
  for a bot token, and an app token is refused by every other Web API method, like Slack). It
  answers `{"ok": true, "url": "ws://127.0.0.1:PORT/link/?ticket=...&app_id=..."}`; each ticket
  opens one connection (unknown or reused tickets get HTTP 401 at the handshake).
- on connect it sends `{"type": "hello", ...}`; websockets answers the client's pings.
- a test pushes envelopes in Slack's format (`send_envelope("slash_commands", payload)`, where
  the payload is the form fields as JSON, or `"interactive"` with a `block_actions` payload) and
  waits for the ack that carries the same `envelope_id` (`wait_for_ack`, or both at once with
  `request`), getting the ack's `payload` back (`{}` for a bare ack).
- `drop()` ends the live connection the way Slack refreshes one (a `{"type": "disconnect"}`
  message, then a close frame), or with a close frame only (`warn=False`); the client then calls
  `apps.connections.open` again and reconnects. Every connection is recorded (`connections`).

What it does not do: TLS (the URL is ws://, which slack_sdk's builtin client allows on a port
other than 443), Events API envelopes it is not handed, Slack's retries of unacknowledged
envelopes or its 3-second deadline, more than one app, or anything on the internet.

To see the token a request carried, it wraps two private methods of the given `FakeSlack`
instance (`_check_auth`, `_dispatch`); nothing else about that FakeSlack changes.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

from tests.fake_slack import FakeSlack, SlackError

__all__ = ["DEFAULT_APP_TOKEN", "FakeSocketMode", "SocketConnection", "payload_from_form"]

DEFAULT_APP_TOKEN = "xapp-1-A0INHAKER-1-inhaker-test-app-token"
APP_ID = "A0INHAKER"


def payload_from_form(body: str) -> dict[str, Any]:
    """An HTTP-mode request body (tests/slack_requests.py) as its Socket Mode `payload`.

    Slash commands arrive as their form fields; interactive requests as the JSON in `payload`.
    """
    fields = dict(parse_qsl(body, keep_blank_values=True))
    if set(fields) == {"payload"}:
        return dict(json.loads(fields["payload"]))
    return fields


@dataclass
class SocketConnection:
    """One websocket connection the client opened."""

    number: int  # 1, 2, ... in the order they opened
    ticket: str
    opened_at: float  # time.monotonic()
    closed_at: float | None = None
    close_code: int | None = None  # the code the client sent; 1006 when it just went away
    received: list[dict[str, Any]] = field(default_factory=list)  # every JSON message from it
    _ws: ServerConnection | None = field(default=None, repr=False)

    @property
    def open(self) -> bool:
        return self.closed_at is None


class FakeSocketMode:
    """The fake Socket Mode endpoint. Use as a context manager or start/stop."""

    def __init__(
        self, slack: FakeSlack, *, app_token: str = DEFAULT_APP_TOKEN, app_id: str = APP_ID
    ) -> None:
        self.slack = slack
        self.app_tokens: set[str] = {app_token}
        self.app_id = app_id
        self._cond = threading.Condition()
        self._tickets: set[str] = set()  # issued, not yet used
        self._connections: list[SocketConnection] = []
        self._acks: dict[str, dict[str, Any]] = {}
        self.open_calls = 0  # successful apps.connections.open calls
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._local = threading.local()

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> FakeSocketMode:
        if self._server is not None:
            return self
        self._server = serve(
            self._handle,
            "127.0.0.1",
            0,
            process_request=self._check_ticket,
            compression=None,
            ping_interval=None,  # the client pings; the server only answers
            close_timeout=2,
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self._install_on(self.slack)
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        for conn in self.connections:
            if conn._ws is not None and conn.open:
                conn._ws.close(1001, "fake socket mode stopped")
        if server is not None:
            server.shutdown()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> FakeSocketMode:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeSocketMode is not started")
        return int(self._server.socket.getsockname()[1])

    # -- introspection ------------------------------------------------------------------------

    @property
    def connections(self) -> list[SocketConnection]:
        """Every connection so far, oldest first (the records themselves, updated live)."""
        with self._cond:
            return list(self._connections)

    def wait_for_connections(self, count: int = 1, *, timeout: float = 5) -> SocketConnection:
        """Wait until `count` connections have opened and the last is open; return that one."""

        def ready() -> bool:
            return len(self._connections) >= count and self._connections[-1].open

        with self._cond:
            if not self._cond.wait_for(ready, timeout):
                raise TimeoutError(
                    f"socket mode: {len(self._connections)} connections after {timeout}s, "
                    f"wanted {count} with the last one open"
                )
            return self._connections[-1]

    def wait_until_closed(self, conn: SocketConnection, *, timeout: float = 5) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: not conn.open, timeout):
                raise TimeoutError(f"socket mode: connection {conn.number} still open")

    # -- envelopes ----------------------------------------------------------------------------

    def send_envelope(
        self,
        kind: str,
        payload: Mapping[str, Any],
        *,
        envelope_id: str | None = None,
        accepts_response_payload: bool | None = None,
        timeout: float = 5,
    ) -> str:
        """Push an envelope on the live connection (waiting for one); return its envelope_id.

        `kind` is "slash_commands", "interactive" or "events_api". Slack sets
        `accepts_response_payload` for slash commands (and some interactive payloads) only.
        """
        envelope_id = envelope_id or str(uuid.uuid4())
        if accepts_response_payload is None:
            accepts_response_payload = kind == "slash_commands"
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "accepts_response_payload": accepts_response_payload,
            "payload": dict(payload),
        }
        self._live(timeout).send(json.dumps(envelope))
        return envelope_id

    def wait_for_ack(self, envelope_id: str, *, timeout: float = 5) -> dict[str, Any]:
        """The `payload` of the client's ack for `envelope_id` (`{}` for a bare ack)."""
        with self._cond:
            if not self._cond.wait_for(lambda: envelope_id in self._acks, timeout):
                raise TimeoutError(f"socket mode: no ack for envelope {envelope_id} in {timeout}s")
            return dict(self._acks[envelope_id].get("payload") or {})

    def request(
        self, kind: str, payload: Mapping[str, Any], *, timeout: float = 5
    ) -> dict[str, Any]:
        """send_envelope + wait_for_ack."""
        return self.wait_for_ack(
            self.send_envelope(kind, payload, timeout=timeout), timeout=timeout
        )

    def drop(self, *, warn: bool = True, reason: str = "refresh_requested") -> SocketConnection:
        """End the live connection; with `warn`, send Slack's disconnect message before closing.

        Returns once the connection is closed (the client reconnects on its own after that).
        """
        conn = self._live_record(timeout=5)
        ws = conn._ws
        assert ws is not None
        if warn:
            message = {
                "type": "disconnect",
                "reason": reason,
                "debug_info": {"host": "fake-socket-mode"},
            }
            with contextlib.suppress(ConnectionClosed):  # the client went first: fine
                ws.send(json.dumps(message))
        ws.close(1000 if warn else 1001, reason)
        self.wait_until_closed(conn)  # its handler has recorded the close
        return conn

    # -- internals ----------------------------------------------------------------------------

    def _live_record(self, timeout: float) -> SocketConnection:
        with self._cond:
            if not self._cond.wait_for(
                lambda: bool(self._connections) and self._connections[-1].open, timeout
            ):
                raise TimeoutError(f"socket mode: no open connection within {timeout}s")
            return self._connections[-1]

    def _live(self, timeout: float) -> ServerConnection:
        ws = self._live_record(timeout)._ws
        assert ws is not None
        return ws

    def _install_on(self, slack: FakeSlack) -> None:
        """Serve apps.connections.open on `slack`; let it see which token each call carried."""
        check_auth, dispatch = slack._check_auth, slack._dispatch
        local = self._local

        def token_of(headers: Mapping[str, str], params: dict[str, Any]) -> str | None:
            auth = headers.get("Authorization") or ""
            token = auth[len("Bearer ") :].strip() if auth.startswith("Bearer ") else None
            return token or params.get("token")

        def checked(headers: Mapping[str, str], params: dict[str, Any]) -> None:
            local.token = token_of(headers, params)
            if local.token in self.app_tokens:
                return  # an app-level token: only apps.connections.open will take it
            check_auth(headers, params)

        def dispatched(method: str, params: dict[str, Any]) -> dict[str, Any]:
            is_app_token = getattr(local, "token", None) in self.app_tokens
            if is_app_token != (method == "apps.connections.open"):
                raise SlackError("not_allowed_token_type")  # what Slack answers both ways
            return dispatch(method, params)

        slack._check_auth = checked  # type: ignore[method-assign]
        slack._dispatch = dispatched  # type: ignore[method-assign]
        slack.register("apps.connections.open", lambda _fake, _params: self._open())

    def _open(self) -> dict[str, Any]:
        ticket = uuid.uuid4().hex
        with self._cond:
            self._tickets.add(ticket)
            self.open_calls += 1
            self._cond.notify_all()
        url = f"ws://127.0.0.1:{self.port}/link/?ticket={ticket}&app_id={self.app_id}"
        return {"ok": True, "url": url}

    def _check_ticket(self, ws: ServerConnection, request: Request) -> Response | None:
        url = urlsplit(request.path)
        ticket = (parse_qs(url.query).get("ticket") or [""])[0]
        with self._cond:
            if url.path.rstrip("/") != "/link" or ticket not in self._tickets:
                return ws.respond(HTTPStatus.UNAUTHORIZED, "invalid or used ticket\n")
            self._tickets.discard(ticket)
        ws.ticket = ticket  # type: ignore[attr-defined]
        return None

    def _handle(self, ws: ServerConnection) -> None:
        with self._cond:
            conn = SocketConnection(
                number=len(self._connections) + 1,
                ticket=getattr(ws, "ticket", ""),
                opened_at=time.monotonic(),
                _ws=ws,
            )
        hello = {
            "type": "hello",
            "num_connections": 1,
            "debug_info": {"host": "fake-socket-mode", "approximate_connection_time": 18060},
            "connection_info": {"app_id": self.app_id},
        }
        try:
            ws.send(json.dumps(hello))
            with self._cond:  # visible to tests only once hello is on its way
                self._connections.append(conn)
                self._cond.notify_all()
            for raw in ws:
                message = json.loads(raw)
                with self._cond:
                    conn.received.append(message)
                    if isinstance(message, dict) and message.get("envelope_id"):
                        self._acks[str(message["envelope_id"])] = message
                    self._cond.notify_all()
        except ConnectionClosed:
            pass
        finally:
            with self._cond:
                if conn not in self._connections:
                    self._connections.append(conn)
                conn.closed_at = time.monotonic()
                rcvd = ws.protocol.close_rcvd
                conn.close_code = rcvd.code if rcvd is not None else 1006
                self._cond.notify_all()
