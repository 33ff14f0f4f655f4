"""Polling one source: health, backoff and Retry-After recorded in the store, with a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from bot.config import SourceConfig
from bot.poller import poll
from bot.sources.rss import RssSource
from bot.store import Store
from tests.feed_server import FeedServer

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def feed(*guids: str) -> bytes:
    items = "".join(
        f'<item><guid isPermaLink="false">{g}</guid><title>Bericht {g}</title>'
        f"<pubDate>{format_datetime(NOW - timedelta(minutes=5))}</pubDate></item>"
        for g in guids
    )
    channel = f"<channel><title>t</title>{items}</channel>"
    return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'.encode()


def setup(database_url: str, server: FeedServer) -> tuple[Store, RssSource, SourceConfig]:
    config = SourceConfig(
        id="nos", kind="rss", url=server.url("/feed.xml"), interval=timedelta(minutes=10)
    )
    return Store(database_url), RssSource(config), config


def test_first_poll_is_backlog_then_only_new_items_count(
    database_url: str, feed_server: FeedServer
) -> None:
    store, source, config = setup(database_url, feed_server)
    feed_server.serve("/feed.xml", feed("a", "b"), etag='"v1"')
    first = poll(source, config, store, NOW)
    assert [p.id for p in first.backlog] == ["a", "b"]
    assert first.new_posts == ()
    feed_server.serve("/feed.xml", feed("a", "b", "c"), etag='"v2"')
    second = poll(source, config, store, NOW + timedelta(minutes=10))
    assert [p.id for p in second.new_posts] == ["c"]
    third = poll(source, config, store, NOW + timedelta(minutes=20))
    assert third.not_modified
    assert third.new_posts == ()
    state = store.source_state("nos")
    assert state.polls == 3
    assert state.etag == '"v2"'
    assert state.last_success_at == NOW + timedelta(minutes=20)


def test_failures_back_off_exponentially_and_success_resets(
    database_url: str, feed_server: FeedServer
) -> None:
    store, source, config = setup(database_url, feed_server)
    feed_server.serve("/feed.xml", b"oops", status=500)
    poll(source, config, store, NOW)
    state = store.source_state("nos")
    assert state.failures_in_a_row == 1
    assert state.next_due == NOW + timedelta(minutes=10)
    assert "500" in (state.last_error or "")

    skipped = poll(source, config, store, NOW + timedelta(minutes=5))
    assert skipped.skipped is not None
    assert "backing off" in skipped.skipped

    poll(source, config, store, NOW + timedelta(minutes=10))
    assert store.source_state("nos").next_due == NOW + timedelta(minutes=30)  # 2 x interval

    feed_server.serve("/feed.xml", feed("a"))
    poll(source, config, store, NOW + timedelta(minutes=30))
    state = store.source_state("nos")
    assert state.failures_in_a_row == 0
    assert state.next_due is None
    assert state.last_error is not None  # the last error stays visible for the operator


def test_retry_after_is_obeyed_even_by_run_once(database_url: str, feed_server: FeedServer) -> None:
    store, source, config = setup(database_url, feed_server)
    feed_server.serve("/feed.xml", b"slow down", status=429, headers={"Retry-After": "900"})
    poll(source, config, store, NOW)
    assert store.source_state("nos").retry_after_until == NOW + timedelta(seconds=900)
    feed_server.clear_requests()
    waiting = poll(source, config, store, NOW + timedelta(minutes=5), respect_backoff=False)
    assert waiting.skipped is not None
    assert "server asked to wait" in waiting.skipped
    assert feed_server.requests == []  # not even a request was sent
    feed_server.serve("/feed.xml", feed("a"))
    later = poll(source, config, store, NOW + timedelta(minutes=16), respect_backoff=False)
    assert later.skipped is None
    assert later.error is None


def test_a_feed_whose_guids_are_whole_articles_is_stored_once_on_any_database(
    database_url: str, feed_server: FeedServer
) -> None:
    """A guid of 5,000 characters (seen in the wild: a CMS that puts the body in <guid>) would
    be refused as a PostgreSQL key and fail the source at every poll; it is stored under its
    digest instead, and the next poll recognises the same post."""
    huge = "artikel-" + "x" * 5000
    store, source, config = setup(database_url, feed_server)
    feed_server.serve("/feed.xml", feed("a"), etag='"v1"')
    poll(source, config, store, NOW)
    feed_server.serve("/feed.xml", feed("a", huge), etag='"v2"')
    second = poll(source, config, store, NOW + timedelta(minutes=10))
    assert second.error is None
    [post] = second.new_posts
    assert post.id.startswith("sha256:")
    assert post.title == f"Bericht {huge}"[: len(post.title)]
    feed_server.serve("/feed.xml", feed("a", huge), etag='"v3"')
    third = poll(source, config, store, NOW + timedelta(minutes=20))
    assert third.error is None
    assert third.new_posts == ()
    assert store.count_posts(source="nos") == 2


def test_a_database_failure_is_that_polls_error_and_the_cycle_goes_on(
    database_url: str, feed_server: FeedServer
) -> None:
    """A poll whose results cannot be stored (here: a table gone) is reported as that source's
    error; `run --once`'s cycle ends normally instead of dying on the exception."""
    import io

    from sqlalchemy import text

    from bot.config import parse_config
    from bot.notify.console import ConsoleNotifier
    from bot.scheduler import Runner

    feed_server.serve("/feed.xml", feed("a", "b"), etag='"v1"')
    config = parse_config(
        "allow_private_hosts: [127.0.0.1]\nsources:\n"
        f"  - id: nos\n    kind: rss\n    url: {feed_server.url('/feed.xml')}\n"
        f"  - id: nu\n    kind: rss\n    url: {feed_server.url('/feed.xml')}\n"
        "opportunities:\n  enabled: false\n",
        file="feeds.yaml",
    )
    store = Store(database_url)
    with store.engine.begin() as conn:
        conn.execute(text("DROP TABLE source_state"))
    runner = Runner(config, store, ConsoleNotifier(io.StringIO()))
    try:
        report = runner.run_once()
    finally:
        runner.stop()
        store.close()
    assert sorted(p.source_id for p in report.polls) == ["nos", "nu"]
    for outcome in report.polls:
        assert outcome.error is not None
        assert "the poll could not be stored" in outcome.error
        assert "fetched again at the next poll" in outcome.error
