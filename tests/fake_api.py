"""A small fake JSON API on a real local socket, for source adapters that talk to web APIs.

What it does: runs a `ThreadingHTTPServer` on 127.0.0.1, port 0, in a background thread. Tests
register a handler per path (exact, or a regular expression for paths like `/item/123.json`);
a handler sees the request (method, path, parsed query string, lowercase headers, regex groups)
and returns a `Reply`: any status, a JSON value or raw bytes (so malformed bodies are easy), extra
headers (429 with `Retry-After` or `x-rate-limit-reset`) and an optional delay before answering.
Every request is recorded, and the server counts requests in flight per route so a test can
assert a client's concurrency bound. Handlers can be replaced while the server runs (an API whose
answers change between two polls).

What it does not do: TLS, keep-alive (each answer closes its connection), compression, or request
bodies. It is a fake service, not a mock: clients reach it over real sockets.
"""

from __future__ import annotations

import json
import re
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.local_server import ServerThread

JSON_TYPE = "application/json; charset=utf-8"


@dataclass(frozen=True)
class Request:
    """One request as the server saw it. Header names are lowercase; `query` keeps every value."""

    method: str
    path: str  # without the query string
    query: dict[str, list[str]]
    headers: dict[str, str]
    groups: tuple[str, ...] = ()  # groups of the route's regular expression, if it has one
    route: str = ""  # the route's path or pattern

    def arg(self, name: str, default: str | None = None) -> str | None:
        """The first value of query parameter `name`."""
        values = self.query.get(name)
        return values[0] if values else default


@dataclass
class Reply:
    """What a handler answers. `body` is JSON-encoded unless it is already bytes."""

    body: Any = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (a slow host)
    content_type: str = JSON_TYPE

    def encoded(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body).encode("utf-8")


Handler = Callable[[Request], Reply]


def static(body: Any, status: int = 200, **kwargs: Any) -> Handler:
    """A handler that always gives the same answer."""

    def handler(_request: Request) -> Reply:
        return Reply(body, status, **kwargs)

    return handler


class _RequestHandler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:
        owner = self.server.owner
        parts = urlsplit(self.path)
        found = owner._find(parts.path)
        request = Request(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={name.lower(): value for name, value in self.headers.items()},
            groups=found[2] if found else (),
            route=found[0] if found else "",
        )
        owner._record(request)
        if found is None:
            self._send(Reply({"error": "not found"}, 404))
            return
        route, handler, _groups = found
        owner._enter(route)
        left = False
        try:
            reply = handler(request)
            if reply.delay and owner._stopping.wait(reply.delay):
                return  # the server is shutting down; drop the connection
            # Leave before answering: once the client has its answer it may send the next
            # request at once, and that one must not be counted as overlapping with this one.
            owner._leave(route)
            left = True
            self._send(reply)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            pass  # the client gave up (its timeout): some tests are about exactly that
        finally:
            if not left:
                owner._leave(route)

    def _send(self, reply: Reply) -> None:
        body = reply.encoded()
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # requests are recorded instead


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: FakeApi

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FakeApi:
    """A fake JSON API on 127.0.0.1. Use as a context manager."""

    def __init__(self) -> None:
        self._exact: dict[str, Handler] = {}
        self._patterns: dict[str, tuple[re.Pattern[str], Handler]] = {}
        self._requests: list[Request] = []
        self._in_flight: dict[str, int] = {}
        self._max_in_flight: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _RequestHandler)
        self._server.owner = self
        self._serving = ServerThread(self._server, "fake-api")

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> FakeApi:
        self._serving.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers waiting out a delay
        self._serving.stop()

    def __enter__(self) -> FakeApi:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # -- routes -----------------------------------------------------------------------------

    def route(self, path: str, handler: Handler) -> None:
        """Answer GET `path` (exact, without query string) with `handler`; replaces earlier."""
        with self._lock:
            self._exact[path] = handler

    def route_pattern(self, pattern: str, handler: Handler) -> None:
        """Answer paths that fully match the regular expression `pattern` with `handler`."""
        with self._lock:
            self._patterns[pattern] = (re.compile(pattern), handler)

    def json(self, path: str, body: Any, status: int = 200, **kwargs: Any) -> None:
        """Answer GET `path` always with this body (JSON unless bytes), status and options."""
        self.route(path, static(body, status, **kwargs))

    def _find(self, path: str) -> tuple[str, Handler, tuple[str, ...]] | None:
        with self._lock:
            if path in self._exact:
                return path, self._exact[path], ()
            for pattern, (compiled, handler) in self._patterns.items():
                match = compiled.fullmatch(path)
                if match:
                    return pattern, handler, tuple(match.groups())
        return None

    # -- observation ------------------------------------------------------------------------

    def _record(self, request: Request) -> None:
        with self._lock:
            self._requests.append(request)

    def _enter(self, route: str) -> None:
        with self._lock:
            count = self._in_flight.get(route, 0) + 1
            self._in_flight[route] = count
            self._max_in_flight[route] = max(self._max_in_flight.get(route, 0), count)

    def _leave(self, route: str) -> None:
        with self._lock:
            self._in_flight[route] -= 1

    @property
    def requests(self) -> list[Request]:
        """Every request so far, oldest first (a copy)."""
        with self._lock:
            return list(self._requests)

    def requests_for(self, route: str) -> list[Request]:
        """Requests answered by the route registered as `route` (a path or a pattern)."""
        return [r for r in self.requests if r.route == route]

    def in_flight(self, route: str) -> int:
        """Requests to `route` still being answered right now (a delayed reply, for instance)."""
        with self._lock:
            return self._in_flight.get(route, 0)

    def max_in_flight(self, route: str) -> int:
        """The most requests to `route` that were being answered at the same time."""
        with self._lock:
            return self._max_in_flight.get(route, 0)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()
