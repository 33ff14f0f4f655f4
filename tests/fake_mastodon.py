"""A fake Mastodon instance on 127.0.0.1: pages, rate-limits and asks for login like the real one.

What it does: keeps a list of statuses and answers the hashtag timeline
(`/api/v1/timelines/tag/:tag`), the public and local timelines (`/api/v1/timelines/public`,
`?local=true`) with Mastodon's own paging rules (`max_id`, `since_id`, `min_id`, `limit` up to
40; with `min_id` the page is the statuses right after it, newest first) and `Link` headers
(`rel="next"` older, `rel="prev"` newer), and the three trends endpoints. It counts requests
against a rate limit and sends `X-RateLimit-Limit/Remaining/Reset` on every answer (ISO 8601
reset, as Mastodon does), answering 429 once the budget is spent; it can require a bearer token
(401 like Mastodon without one). Any path can be overridden with a fixed answer (malformed JSON,
500, 404). Every request is recorded with its query and headers.

What it does not do: posting, accounts, streaming, or keep-alive. It is a fake server reached over
real sockets, not a mock.
"""

from __future__ import annotations

import json
import sys
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from tests.local_server import ServerThread

JSON_TYPE = "application/json; charset=utf-8"


def snowflake(when: datetime, sequence: int = 0) -> str:
    """A Mastodon-style status id: milliseconds since the epoch, shifted 16 bits, plus a counter."""
    millis = int(when.timestamp() * 1000)
    return str((millis << 16) + (sequence & 0xFFFF))


def make_status(
    status_id: str,
    html: str,
    *,
    created_at: datetime,
    acct: str = "redactie",
    followers: int | None = 1200,
    tags: tuple[str, ...] = (),
    language: str | None = "nl",
    spoiler: str = "",
    host: str = "mastodon.example",
    reblogs: int = 0,
    favourites: int = 0,
    replies: int = 0,
    reblog: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A status in the shape Mastodon 4.x sends (the fields an adapter reads, and a few more)."""
    username, _, domain = acct.partition("@")
    account_host = domain or host
    account: dict[str, Any] = {
        "id": str(abs(hash(acct)) % 10**17),
        "username": username,
        "acct": acct,
        "display_name": username.capitalize(),
        "locked": False,
        "bot": False,
        "created_at": "2022-11-03T00:00:00.000Z",
        "url": f"https://{account_host}/@{username}",
        "following_count": 310,
        "statuses_count": 4242,
    }
    if followers is not None:
        account["followers_count"] = followers
    return {
        "id": status_id,
        "created_at": created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + "000Z",
        "in_reply_to_id": None,
        "sensitive": bool(spoiler),
        "spoiler_text": spoiler,
        "visibility": "public",
        "language": language,
        "uri": f"https://{account_host}/users/{username}/statuses/{status_id}",
        "url": f"https://{account_host}/@{username}/{status_id}",
        "replies_count": replies,
        "reblogs_count": reblogs,
        "favourites_count": favourites,
        "content": html,
        "reblog": reblog,
        "account": account,
        "media_attachments": [],
        "mentions": [],
        "tags": [{"name": t, "url": f"https://{host}/tags/{t}"} for t in tags],
        "emojis": [],
        "card": None,
        "poll": None,
    }


@dataclass(frozen=True)
class Request:
    """One request as the server saw it: path without query, query as single values, headers
    with lowercase names."""

    path: str
    query: dict[str, str]
    headers: dict[str, str]


@dataclass
class Override:
    status: int
    body: bytes
    content_type: str = JSON_TYPE
    headers: dict[str, str] = field(default_factory=dict)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:
        fake = self.server.owner
        split = urlsplit(self.path)
        path = unquote(split.path)
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        headers = {name.lower(): value for name, value in self.headers.items()}
        fake._record(Request(path, query, headers))
        try:
            status, body, extra = fake._answer(path, query, headers)
        except Exception as exc:  # a bug in the fake must show as a 500 with the reason
            status, body, extra = 500, json.dumps({"error": repr(exc)}).encode(), {}
        content_type = extra.pop("Content-Type", JSON_TYPE)
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            pass

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: FakeMastodon

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FakeMastodon:
    """A Mastodon instance in a thread. Use as a context manager."""

    def __init__(self, *, rate_limit: int = 300, reset_in: float = 300.0) -> None:
        self.statuses: list[dict[str, Any]] = []
        self.trend_tags: list[dict[str, Any]] | None = []
        self.trend_statuses: list[dict[str, Any]] | None = []
        self.trend_links: list[dict[str, Any]] | None = []
        self.require_token: str | None = None  # answer 401 unless "Bearer <this>" is sent
        self.rate_limit = rate_limit
        self.remaining = rate_limit
        self.reset_in = reset_in  # seconds from each answer to the rate-limit reset
        self.retry_after: str | None = None  # Retry-After on 429s, when set
        self.overrides: dict[str, Override] = {}
        self._requests: list[Request] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self._serving = ServerThread(self._server, "fake-mastodon")

    # -- lifecycle ------------------------------------------------------------------------

    def __enter__(self) -> FakeMastodon:
        self._serving.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._serving.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # -- content --------------------------------------------------------------------------

    def add(self, *statuses: dict[str, Any]) -> None:
        with self._lock:
            self.statuses.extend(statuses)

    def override(
        self,
        path: str,
        body: bytes,
        status: int = 200,
        *,
        content_type: str = JSON_TYPE,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer GET `path` (any query) with exactly this."""
        with self._lock:
            self.overrides[path] = Override(status, body, content_type, dict(headers or {}))

    # -- requests -------------------------------------------------------------------------

    def _record(self, request: Request) -> None:
        with self._lock:
            self._requests.append(request)

    @property
    def requests(self) -> list[Request]:
        with self._lock:
            return list(self._requests)

    def requests_for(self, prefix: str) -> list[Request]:
        return [r for r in self.requests if r.path.startswith(prefix)]

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    # -- answering ------------------------------------------------------------------------

    def _answer(
        self, path: str, query: dict[str, str], headers: dict[str, str]
    ) -> tuple[int, bytes, dict[str, str]]:
        with self._lock:
            if self.remaining <= 0:
                extra = self._rate_headers()
                if self.retry_after is not None:
                    extra["Retry-After"] = self.retry_after
                return 429, b'{"error":"Too many requests"}', extra
            self.remaining -= 1
            extra = self._rate_headers()
            override = self.overrides.get(path)
            statuses = sorted(self.statuses, key=lambda s: (len(s["id"]), s["id"]), reverse=True)
        if override is not None:
            extra.update(override.headers)
            extra["Content-Type"] = override.content_type
            return override.status, override.body, extra
        if self.require_token is not None and headers.get("authorization") != (
            f"Bearer {self.require_token}"
        ):
            return 401, b'{"error":"This API requires an authenticated user"}', extra
        if path.startswith("/api/v1/timelines/tag/"):
            tag = path.rsplit("/", 1)[1].casefold()
            chosen = [
                s for s in statuses if tag in {t["name"].casefold() for t in s.get("tags", [])}
            ]
            return self._timeline(path, query, chosen, extra)
        if path == "/api/v1/timelines/public":
            local = query.get("local", "").lower() in ("1", "true")
            chosen = [s for s in statuses if not local or "@" not in s["account"]["acct"]]
            return self._timeline(path, query, chosen, extra)
        trends = {
            "/api/v1/trends/tags": self.trend_tags,
            "/api/v1/trends/statuses": self.trend_statuses,
            "/api/v1/trends/links": self.trend_links,
        }
        if path in trends:
            items = trends[path]
            if items is None:
                return 404, b'{"error":"Record not found"}', extra
            limit = int(query.get("limit", "10"))
            return 200, json.dumps(items[:limit]).encode(), extra
        return 404, b'{"error":"Record not found"}', extra

    def _timeline(
        self,
        path: str,
        query: dict[str, str],
        statuses: list[dict[str, Any]],
        extra: dict[str, str],
    ) -> tuple[int, bytes, dict[str, str]]:
        """Mastodon's paginate_by_id: newest first; with min_id, the oldest `limit` statuses
        after min_id, returned newest first."""

        def key(value: str) -> tuple[int, str]:
            return (len(value), value)

        limit = max(1, min(int(query.get("limit", "20")), 40))
        max_id, since_id, min_id = query.get("max_id"), query.get("since_id"), query.get("min_id")
        chosen = [s for s in statuses if max_id is None or key(s["id"]) < key(max_id)]
        if min_id is not None:
            after = [s for s in reversed(chosen) if key(s["id"]) > key(min_id)]
            page = list(reversed(after[:limit]))
        else:
            page = [s for s in chosen if since_id is None or key(s["id"]) > key(since_id)][:limit]
        if page:
            keep = {k: query[k] for k in ("limit", "local") if k in query}
            base = self.base_url + path
            older = urlencode({**keep, "max_id": page[-1]["id"]})
            newer = urlencode({**keep, "min_id": page[0]["id"]})
            extra["Link"] = f'<{base}?{older}>; rel="next", <{base}?{newer}>; rel="prev"'
        return 200, json.dumps(page).encode(), extra

    def _rate_headers(self) -> dict[str, str]:
        reset = datetime.now(UTC) + timedelta(seconds=self.reset_in)
        return {
            "X-RateLimit-Limit": str(self.rate_limit),
            "X-RateLimit-Remaining": str(max(self.remaining, 0)),
            "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }
