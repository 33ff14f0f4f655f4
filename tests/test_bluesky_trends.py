"""Tests for the Bluesky trends source against a local HTTP server (tests/feed_server.py).

The server answers `app.bsky.unspecced.getTrends` with a hand-written response in the shape of
the lexicon (app.bsky.unspecced.defs#trendView), XRPC errors, rate-limit headers and broken
bodies, over real sockets. Nothing in the project is patched.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

import httpx
import pytest

from bot.config import SourceConfig
from bot.http import make_client
from bot.poller import build_source, poll
from bot.sources.base import Source, SourceState
from bot.sources.bluesky_trends import BlueskyTrendsSource
from bot.store import Store
from tests.feed_server import FeedServer

FIXTURE = Path(__file__).parent / "fixtures" / "bluesky" / "get_trends.json"
PATH = "/xrpc/app.bsky.unspecced.getTrends"
JSON_TYPE = "application/json; charset=utf-8"
NOW = datetime(2026, 3, 14, 10, 0, tzinfo=UTC)


@pytest.fixture
def client(no_proxy_env: None) -> Iterator[httpx.Client]:
    with make_client(timeout=5.0) as client:
        yield client


def config(base_url: str, limit: int = 10, source_id: str = "bsky-trends") -> SourceConfig:
    return SourceConfig(
        id=source_id,
        kind="bluesky_trends",
        interval=timedelta(minutes=10),
        options=MappingProxyType({"base_url": base_url, "limit": limit}),
    )


def source(server: FeedServer, client: httpx.Client, limit: int = 10) -> BlueskyTrendsSource:
    return BlueskyTrendsSource(config(server.base_url, limit), client=client)


def serve_json(server: FeedServer, body: Any, status: int = 200, **headers: str) -> None:
    server.serve(
        PATH,
        json.dumps(body).encode() if not isinstance(body, bytes) else body,
        content_type=JSON_TYPE,
        status=status,
        headers={k.replace("_", "-"): v for k, v in headers.items()},
    )


def test_trends_become_signals(feed_server: FeedServer, client: httpx.Client) -> None:
    feed_server.serve_file(PATH, FIXTURE, content_type=JSON_TYPE)
    src: Source = source(feed_server, client, limit=4)

    result = src.fetch(SourceState("bsky-trends"), NOW)

    assert result.ok, result.error
    assert result.posts == []
    assert result.retry_after is None
    by_term = {s.term: s for s in result.signals}
    assert list(by_term) == ["elfstedentocht", "voorjaarsnota", "pi day", "champions league"]
    elf = by_term["elfstedentocht"]
    assert elf.title == "Elfstedentocht"
    assert elf.traffic == 4812.0
    assert elf.url == "https://bsky.app/profile/trending.bsky.app/feed/3104432187"
    assert elf.observed_at == NOW
    assert elf.source == "bsky-trends"
    assert by_term["pi day"].title == "Pi Day"
    # An absolute link is kept as it is.
    assert by_term["champions league"].url == (
        "https://bsky.app/profile/trending.bsky.app/feed/3104201342"
    )
    [request] = feed_server.requests
    assert request.path == PATH + "?limit=4"
    assert request.headers["accept"] == "application/json"


def test_through_the_poller_signals_are_stored_and_refreshed_not_repeated(
    database_url: str, feed_server: FeedServer, client: httpx.Client
) -> None:
    store = Store(database_url)
    cfg = config(feed_server.base_url)
    src = build_source(cfg, client)
    assert isinstance(src, BlueskyTrendsSource)
    feed_server.serve_file(PATH, FIXTURE, content_type=JSON_TYPE)

    first = poll(src, cfg, store, NOW)
    assert first.error is None
    later = NOW + timedelta(minutes=10)
    body = json.loads(FIXTURE.read_text(encoding="utf-8"))
    body["trends"][0]["postCount"] = 9120
    serve_json(feed_server, body)
    second = poll(src, cfg, store, later)
    assert second.error is None

    stored = store.external_trends_since(NOW)
    assert len(stored) == 4  # one row per term, refreshed
    elf = next(t for t in stored if t.term == "elfstedentocht")
    assert elf.traffic == 9120.0
    assert elf.observed_at == later
    state = store.source_state("bsky-trends")
    assert state.polls == 2
    assert state.last_error is None


def test_an_empty_list_is_fine(feed_server: FeedServer, client: httpx.Client) -> None:
    serve_json(feed_server, {"trends": []})
    result = source(feed_server, client).fetch(SourceState("bsky-trends"), NOW)
    assert result.ok
    assert result.signals == []


def test_odd_entries_are_skipped(feed_server: FeedServer, client: httpx.Client) -> None:
    serve_json(
        feed_server,
        {
            "trends": [
                "not an object",
                {"postCount": 12},  # no topic, no name
                {"topic": "  ", "displayName": ""},
                {"topic": "koningsdag", "link": "ftp://elders", "postCount": "veel"},
                {"displayName": "Eurovisie", "postCount": 310, "link": "/search?q=eurovisie"},
            ]
        },
    )
    result = source(feed_server, client).fetch(SourceState("bsky-trends"), NOW)
    assert result.ok, result.error
    koningsdag, eurovisie = result.signals
    assert koningsdag.title == "koningsdag"
    assert koningsdag.url is None
    assert koningsdag.traffic is None
    assert eurovisie.term == "eurovisie"
    assert eurovisie.url == "https://bsky.app/search?q=eurovisie"


def test_429_is_an_error_with_retry_after(feed_server: FeedServer, client: httpx.Client) -> None:
    serve_json(
        feed_server,
        {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
        status=429,
        Retry_After="120",
    )
    result = source(feed_server, client).fetch(SourceState("bsky-trends"), NOW)
    assert result.error is not None
    assert result.error.startswith(
        "bluesky_trends source 'bsky-trends': app.bsky.unspecced.getTrends: rate limited "
        "(HTTP 429: RateLimitExceeded: Rate Limit Exceeded) — Bluesky asks to wait 120s"
    )
    assert result.retry_after == 120.0
    assert len(feed_server.requests) == 1


def test_429_without_retry_after_waits_for_the_ratelimit_reset(
    database_url: str, feed_server: FeedServer, client: httpx.Client
) -> None:
    store = Store(database_url)
    cfg = config(feed_server.base_url)
    src = build_source(cfg, client)
    # RateLimit-Reset is epoch seconds on the server's clock (its Date header is real time).
    serve_json(
        feed_server,
        {"error": "RateLimitExceeded"},
        status=429,
        RateLimit_Limit="3000",
        RateLimit_Remaining="0",
        RateLimit_Reset=str(int(time.time()) + 240),
    )
    outcome = poll(src, cfg, store, NOW)
    assert outcome.error is not None
    state = store.source_state("bsky-trends")
    assert state.retry_after_until is not None
    assert NOW + timedelta(seconds=200) <= state.retry_after_until <= NOW + timedelta(seconds=241)
    feed_server.clear_requests()
    assert poll(src, cfg, store, NOW + timedelta(seconds=100)).skipped is not None
    assert feed_server.requests == []  # waiting, not hammering


def test_remaining_zero_keeps_the_answer_and_waits(
    feed_server: FeedServer, client: httpx.Client
) -> None:
    feed_server.serve_file(
        PATH,
        FIXTURE,
        content_type=JSON_TYPE,
        headers={
            "RateLimit-Limit": "3000",
            "RateLimit-Remaining": "0",
            "RateLimit-Reset": str(int(time.time()) + 60),
        },
    )
    result = source(feed_server, client).fetch(SourceState("bsky-trends"), NOW)
    assert result.ok, result.error
    assert len(result.signals) == 4
    assert result.retry_after is not None
    assert 30 <= result.retry_after <= 61
    assert result.note is not None
    assert "rate limit" in result.note


def test_malformed_json_is_a_per_source_error(
    feed_server: FeedServer, client: httpx.Client
) -> None:
    serve_json(feed_server, b'{"trends": [{"topic": "elfstedentocht", ')
    result = source(feed_server, client).fetch(SourceState("bsky-trends"), NOW)
    assert result.error is not None
    assert result.error.startswith(
        "bluesky_trends source 'bsky-trends': app.bsky.unspecced.getTrends: malformed JSON ("
    )
    assert result.signals == []


def test_an_unexpected_shape_is_an_error(feed_server: FeedServer, client: httpx.Client) -> None:
    serve_json(feed_server, {"topics": [{"topic": "oud formaat"}]})
    result = source(feed_server, client).fetch(SourceState("bsky-trends"), NOW)
    assert result.error is not None
    assert "unexpected answer (an object without a 'trends' list" in result.error


def test_login_required_is_a_clear_error(feed_server: FeedServer, client: httpx.Client) -> None:
    serve_json(
        feed_server, {"error": "AuthMissing", "message": "Authentication Required"}, status=401
    )
    result = source(feed_server, client).fetch(SourceState("bsky-trends"), NOW)
    assert result.error is not None
    assert "requires login (HTTP 401: AuthMissing: Authentication Required)" in result.error
    assert "set base_url to https://public.api.bsky.app" in result.error


def test_a_server_without_the_method_says_so(feed_server: FeedServer, client: httpx.Client) -> None:
    serve_json(
        feed_server,
        {"error": "MethodNotImplemented", "message": "Method Not Implemented"},
        status=501,
    )
    result = source(feed_server, client).fetch(SourceState("bsky-trends"), NOW)
    assert result.error is not None
    assert "app.bsky.unspecced.getTrends is not offered here (HTTP 501" in result.error


def test_an_unreachable_host_is_a_clear_error(client: httpx.Client) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    src = BlueskyTrendsSource(config(f"http://127.0.0.1:{port}"), client=client)
    result = src.fetch(SourceState("bsky-trends"), NOW)
    assert result.error is not None
    assert f"cannot connect to 127.0.0.1:{port}" in result.error
    assert "check base_url in feeds.yaml" in result.error


def test_defaults_without_options() -> None:
    cfg = SourceConfig(id="b", kind="bluesky_trends", interval=timedelta(minutes=10))
    src = BlueskyTrendsSource(cfg)
    try:
        assert src.url == "https://public.api.bsky.app/xrpc/app.bsky.unspecced.getTrends?limit=10"
    finally:
        src.close()
