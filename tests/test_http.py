"""Tests for bot/http.py: Retry-After parsing, backoff, the shared client and capped downloads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from bot.http import (
    BACKOFF_CAP_SECONDS,
    MAX_RETRY_AFTER_SECONDS,
    USER_AGENT,
    BodyTooLargeError,
    backoff_seconds,
    fetch_capped,
    format_bytes,
    make_client,
    parse_retry_after,
)
from tests.feed_server import FeedServer

NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


# -- parse_retry_after ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        ("  30 ", 30.0),
        ("0", 0.0),
    ],
)
def test_retry_after_delta_seconds(value: str, expected: float) -> None:
    assert parse_retry_after(value, NOW) == expected


def test_retry_after_http_date_in_the_future() -> None:
    value = format_datetime(NOW + timedelta(minutes=5), usegmt=True)
    assert value.endswith("GMT")
    assert parse_retry_after(value, NOW) == 300.0


def test_retry_after_rfc850_and_asctime_dates_are_accepted() -> None:
    # RFC 9110 requires recipients to accept the two obsolete HTTP-date formats too.
    assert parse_retry_after("Saturday, 01-Mar-25 12:01:00 GMT", NOW) == 60.0
    assert parse_retry_after("Sat Mar  1 12:02:00 2025", NOW) == 120.0


def test_retry_after_date_in_the_past_means_now() -> None:
    assert parse_retry_after("Sat, 01 Mar 2025 11:00:00 GMT", NOW) == 0.0


@pytest.mark.parametrize("value", [None, "", "   ", "soon", "-5", "1.5", "Sat, 99 Foo 2025"])
def test_retry_after_unusable_values_give_none(value: str | None) -> None:
    assert parse_retry_after(value, NOW) is None


def test_retry_after_is_capped() -> None:
    assert parse_retry_after("99999999", NOW) == MAX_RETRY_AFTER_SECONDS
    far = format_datetime(NOW + timedelta(days=30), usegmt=True)
    assert parse_retry_after(far, NOW) == MAX_RETRY_AFTER_SECONDS


# -- backoff_seconds --------------------------------------------------------------------------


def test_backoff_doubles_from_the_base_interval() -> None:
    assert [backoff_seconds(n, 600) for n in (1, 2, 3, 4)] == [600, 1200, 2400, 4800]


def test_backoff_without_failures_is_the_base_interval() -> None:
    assert backoff_seconds(0, 600) == 600


def test_backoff_is_capped_at_six_hours() -> None:
    assert BACKOFF_CAP_SECONDS == 6 * 3600
    assert backoff_seconds(10, 600) == 6 * 3600
    assert backoff_seconds(10_000, 600) == 6 * 3600  # no overflow after a long outage


def test_backoff_custom_cap() -> None:
    assert backoff_seconds(5, 60, cap=300) == 300


def test_backoff_never_shortens_a_long_base_interval() -> None:
    day = 24 * 3600.0
    assert backoff_seconds(3, day) == day


def test_backoff_is_deterministic() -> None:
    assert {backoff_seconds(3, 60) for _ in range(20)} == {240}


def test_backoff_with_zero_base_is_zero() -> None:
    assert backoff_seconds(3, 0) == 0


# -- make_client and fetch_capped -------------------------------------------------------------


def test_make_client_sets_timeouts_user_agent_and_redirects() -> None:
    with make_client(7.5) as client:
        assert client.timeout == httpx.Timeout(connect=7.5, read=7.5, write=7.5, pool=7.5)
        assert client.headers["user-agent"] == USER_AGENT
        assert client.follow_redirects is True
        assert client.max_redirects == 5


def test_format_bytes() -> None:
    assert format_bytes(10 * 1024 * 1024) == "10 MiB"
    assert format_bytes(1536) == "1.5 KiB"
    assert format_bytes(12) == "12 bytes"


def test_fetch_capped_reads_the_body_and_sends_headers(feed_server: FeedServer) -> None:
    url = feed_server.serve("/a.xml", b"<rss/>", etag='"e1"')
    with make_client(5) as client:
        response = fetch_capped(client, url, {"If-None-Match": '"old"'})
    assert response.status_code == 200
    assert response.content == b"<rss/>"
    assert response.headers["etag"] == '"e1"'
    (request,) = feed_server.requests_for("/a.xml")
    assert request.headers["if-none-match"] == '"old"'
    assert request.headers["user-agent"] == USER_AGENT


def test_fetch_capped_follows_redirects_and_reports_the_final_url(feed_server: FeedServer) -> None:
    feed_server.serve("/new.xml", b"<rss/>")
    url = feed_server.redirect("/old.xml", "/new.xml")
    with make_client(5) as client:
        response = fetch_capped(client, url)
    assert response.url == feed_server.url("/new.xml")
    assert response.content == b"<rss/>"


def test_fetch_capped_accepts_a_body_exactly_at_the_cap(feed_server: FeedServer) -> None:
    url = feed_server.serve("/exact", b"x" * 1000, send_length=False)
    with make_client(5) as client:
        assert len(fetch_capped(client, url, max_bytes=1000).content) == 1000


def test_fetch_capped_refuses_a_declared_oversize_body(feed_server: FeedServer) -> None:
    url = feed_server.serve("/big", b"x" * 5000)
    with make_client(5) as client, pytest.raises(BodyTooLargeError) as info:
        fetch_capped(client, url, max_bytes=1000)
    assert info.value.declared == 5000
    assert "exceeds 1000 bytes" in str(info.value)


def test_fetch_capped_stops_an_undeclared_oversize_body(feed_server: FeedServer) -> None:
    # No Content-Length: the cap must be enforced while streaming.
    url = feed_server.serve("/stream", b"x" * (3 * 1024 * 1024), send_length=False)
    with make_client(5) as client, pytest.raises(BodyTooLargeError) as info:
        fetch_capped(client, url, max_bytes=1024 * 1024)
    assert info.value.declared is None
    assert "1 MiB" in str(info.value)


def test_transport_failures_name_the_cause_and_the_fix() -> None:
    from bot.http import transport_failure

    cause, todo = transport_failure(httpx.ConnectError("Name or service not known"), 15)
    assert cause == "cannot connect (Name or service not known)"
    assert "check the host name" in todo
    cause, _ = transport_failure(httpx.ReadTimeout("slow"), 15)
    assert cause == "timed out after 15s"
    cause, todo = transport_failure(httpx.InvalidURL("bad"), 15)
    assert cause == "invalid URL (bad)"
    assert "feeds.yaml" in todo
    cause, _ = transport_failure(httpx.RemoteProtocolError(""), 15)
    assert cause == "HTTP error (RemoteProtocolError: RemoteProtocolError)"
