"""A real local HTTP server that serves feeds the way publishers do, for source adapter tests.

What it does: runs a `ThreadingHTTPServer` on 127.0.0.1, port 0, in a background thread. Tests
register routes (`serve`, `serve_file`) with a body, status, content type, validators (ETag,
Last-Modified), extra headers and an optional delay; routes can be replaced while the server runs
(a feed that gains items between polls). It answers 304 when If-None-Match or If-Modified-Since
match the route's validators, and records every request (path and headers) so tests can assert
what a client sent. Hostile publishers are served too: `serve_stream` sends a body produced while
it is sent (chunked or until the connection closes), with pauses in between, so a test can serve
an endless stream, a 50 MB body or a stall mid-body without holding it in memory; compressed
bodies (a gzip bomb) are served with `serve` and a Content-Encoding header, bytes as given.

What it does not do: TLS, HTTP/1.1 keep-alive (every answer closes the connection), compress
anything itself, or anything beyond GET/HEAD. It is a fake publisher, not a mock: clients reach it
over real sockets.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from tests.local_server import ServerThread

RSS_TYPE = "application/rss+xml; charset=utf-8"
NOT_FOUND_BODY = b"<html><body><h1>404 Not Found</h1></body></html>"
# A streamed body: bytes are sent as they come; a float is a pause of that many seconds.
Stream = Callable[[], Iterable[bytes | float]]


@dataclass
class Route:
    """What the server answers on one path."""

    body: bytes
    content_type: str = RSS_TYPE
    etag: str | None = None
    last_modified: str | None = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before sending anything (a slow host)
    send_length: bool = True  # False: no Content-Length, the body ends when the connection closes
    stream: Stream | None = None  # a body made while sending (see `serve_stream`); `body` unused
    chunked: bool = False  # with `stream`: HTTP/1.1 chunked transfer encoding


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it; header names are lowercase."""

    method: str
    path: str
    headers: dict[str, str]


def _etag_matches(if_none_match: str, etag: str) -> bool:
    # RFC 9110: weak comparison for If-None-Match; "*" matches any current representation.
    def strip_weak(tag: str) -> str:
        tag = tag.strip()
        return tag[2:] if tag.startswith("W/") else tag

    candidates = [part.strip() for part in if_none_match.split(",")]
    return "*" in candidates or strip_weak(etag) in {strip_weak(c) for c in candidates}


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def _answer(self, send_body: bool) -> None:
        owner = self.server.owner
        path = self.path
        owner._record(
            RecordedRequest(
                method=self.command,
                path=path,
                headers={name.lower(): value for name, value in self.headers.items()},
            )
        )
        route = owner._route(path)
        try:
            if route is None:
                self._send(404, {"Content-Type": "text/html"}, NOT_FOUND_BODY, send_body)
                return
            if route.delay and owner._stopping.wait(route.delay):
                return  # the server is shutting down; drop the connection
            headers: dict[str, str] = {"Content-Type": route.content_type}
            if route.etag is not None:
                headers["ETag"] = route.etag
            if route.last_modified is not None:
                headers["Last-Modified"] = route.last_modified
            headers.update(route.headers)
            if route.status == 200 and self._not_modified(route):
                headers.pop("Content-Type", None)
                self._send(304, headers, b"", send_body=False)
                return
            if route.stream is not None:
                self._send_stream(route, headers, send_body)
                return
            self._send(route.status, headers, route.body, send_body, route.send_length)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            # The client gave up (timeout, size cap): that is what some tests are about.
            pass

    def _not_modified(self, route: Route) -> bool:
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match is not None:
            # RFC 9110: If-None-Match takes precedence over If-Modified-Since.
            return route.etag is not None and _etag_matches(if_none_match, route.etag)
        if_modified_since = self.headers.get("If-Modified-Since")
        # Exact comparison, as most origin servers and CDNs do for Last-Modified validators.
        return (
            if_modified_since is not None
            and route.last_modified is not None
            and if_modified_since.strip() == route.last_modified
        )

    def _send(
        self,
        status: int,
        headers: dict[str, str],
        body: bytes,
        send_body: bool,
        send_length: bool = True,
    ) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if send_length and status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body and body:
            view = memoryview(body)
            for start in range(0, len(view), 64 * 1024):
                self.wfile.write(view[start : start + 64 * 1024])

    def _send_stream(self, route: Route, headers: dict[str, str], send_body: bool) -> None:
        assert route.stream is not None
        stopping = self.server.owner._stopping
        if route.chunked:
            # Chunked framing needs an HTTP/1.1 status line; the connection still closes after.
            self.protocol_version = "HTTP/1.1"
            headers = {**headers, "Transfer-Encoding": "chunked", "Connection": "close"}
        self.send_response(route.status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if not send_body:
            return
        for piece in route.stream():
            if stopping.is_set():
                return  # the server is stopping: end an endless stream
            if isinstance(piece, float):
                if stopping.wait(piece):
                    return
                continue
            if not piece:
                continue
            if route.chunked:
                self.wfile.write(b"%x\r\n%b\r\n" % (len(piece), piece))
            else:
                self.wfile.write(piece)
            self.wfile.flush()
        if route.chunked:
            self.wfile.write(b"0\r\n\r\n")

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output quiet; requests are recorded instead


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: FeedServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client hanging up mid-answer is expected in these tests; anything else is a bug in
        # the fake and should show.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FeedServer:
    """A fake feed publisher on 127.0.0.1. Use as a context manager or via the `feed_server`
    fixture."""

    def __init__(self) -> None:
        self._routes: dict[str, Route] = {}
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self._serving = ServerThread(self._server, "feed-server")

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> FeedServer:
        self._serving.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers sleeping in a `delay`
        self._serving.stop()

    def __enter__(self) -> FeedServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses --------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._serving.port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        """The absolute URL of `path` on this server ('/nos.xml' or 'nos.xml')."""
        return self.base_url + _normalize(path)

    # -- routes -----------------------------------------------------------------------------

    def serve(
        self,
        path: str,
        body: bytes,
        content_type: str = RSS_TYPE,
        etag: str | None = None,
        last_modified: str | None = None,
        status: int = 200,
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
        send_length: bool = True,
    ) -> str:
        """Answer GET `path` with this; replaces any earlier route. Returns the URL."""
        route = Route(
            body=body,
            content_type=content_type,
            etag=etag,
            last_modified=last_modified,
            status=status,
            headers=dict(headers or {}),
            delay=delay,
            send_length=send_length,
        )
        with self._lock:
            self._routes[_normalize(path)] = route
        return self.url(path)

    def serve_stream(
        self,
        path: str,
        stream: Stream,
        content_type: str = RSS_TYPE,
        status: int = 200,
        headers: dict[str, str] | None = None,
        chunked: bool = True,
    ) -> str:
        """Answer GET `path` with a body made while it is sent: `stream()` is called per request
        and yields bytes (sent at once) or floats (pauses, in seconds). Without `chunked` the body
        ends when the connection closes. No Content-Length either way. Returns the URL."""
        route = Route(
            body=b"",
            content_type=content_type,
            status=status,
            headers=dict(headers or {}),
            stream=stream,
            chunked=chunked,
        )
        with self._lock:
            self._routes[_normalize(path)] = route
        return self.url(path)

    def serve_file(self, path: str, file: Path, **kwargs: Any) -> str:
        """Serve a file's bytes exactly as stored (no newline or encoding changes)."""
        return self.serve(path, file.read_bytes(), **kwargs)

    def redirect(self, path: str, to: str, status: int = 301) -> str:
        """Answer `path` with a redirect to `to` (a path on this server or an absolute URL)."""
        location = to if "://" in to else self.url(to)
        return self.serve(
            path, b"", content_type="text/html", status=status, headers={"Location": location}
        )

    def remove(self, path: str) -> None:
        with self._lock:
            self._routes.pop(_normalize(path), None)

    def _route(self, path: str) -> Route | None:
        with self._lock:
            return self._routes.get(_normalize(path.split("?", 1)[0]))

    # -- recorded requests ------------------------------------------------------------------

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request so far, oldest first (a copy)."""
        with self._lock:
            return list(self._requests)

    def requests_for(self, path: str) -> list[RecordedRequest]:
        wanted = _normalize(path)
        return [r for r in self.requests if _normalize(r.path.split("?", 1)[0]) == wanted]

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()


def _normalize(path: str) -> str:
    return path if path.startswith("/") else "/" + path
