"""The store on a real SQLite file: dedupe, backlog, source state, outbox survive restarts."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.sources.base import SourceState
from bot.store import Store
from detectors.records import Post

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def post(i: int, source: str = "nos", minutes_ago: int = 0) -> Post:
    return Post(
        source=source,
        id=f"guid-{i}",
        text=f"bericht {i}",
        created_at=NOW - timedelta(minutes=minutes_ago),
        author="NOS",
        url=f"https://nos.nl/{i}",
        tags=("nieuws",),
    )


def test_posts_are_stored_once_and_come_back_aware(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'inhaker.db'}"
    store = Store(url)
    assert [p.id for p in store.add_posts([post(1), post(2)], seen_at=NOW, backlog=False)] == [
        "guid-1",
        "guid-2",
    ]
    # Same ids again (and a duplicate inside one batch): nothing new.
    assert store.add_posts([post(1), post(2), post(2)], seen_at=NOW, backlog=False) == []
    # The same id from another source is another post.
    assert len(store.add_posts([post(1, source="nu")], seen_at=NOW, backlog=False)) == 1
    store.close()

    reopened = Store(url)
    stored = reopened.posts_since(NOW - timedelta(hours=1))
    assert len(stored) == 3
    assert all(p.created_at.tzinfo is not None for p in stored)
    assert stored[0].tags == ("nieuws",)
    assert reopened.count_posts(source="nos") == 2


def test_backlog_is_stored_but_never_offered_for_alerts(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'x.db'}")
    store.add_posts([post(1), post(2)], seen_at=NOW, backlog=True)
    store.add_posts([post(3)], seen_at=NOW, backlog=False)
    assert [p.id for p in store.posts_since(NOW - timedelta(hours=1))] == ["guid-3"]
    assert [p.id for p in store.posts_to_check()] == ["guid-3"]
    store.mark_checked(store.posts_to_check())
    assert store.posts_to_check() == []
    assert len(store.posts_since(NOW - timedelta(hours=1), include_backlog=True)) == 3


def test_source_state_round_trips_across_restarts(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    store = Store(url)
    assert store.source_state("nos") == SourceState(source_id="nos")
    state = SourceState(
        source_id="nos",
        etag='"abc"',
        last_modified="Sat, 29 Nov 2026 11:00:00 GMT",
        next_due=NOW + timedelta(minutes=20),
        last_success_at=NOW,
        last_error="rss source 'nos': timed out",
        failures_in_a_row=2,
        polls=5,
    )
    store.save_source_state(state)
    store.save_source_state(replace(state, polls=6))
    store.close()
    assert Store(url).source_state("nos") == replace(state, polls=6)


def test_outbox_rows_are_unique_and_survive_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    store = Store(url)
    kwargs = dict(
        alert_id="trend:x:1",
        kind="trend",
        key="trend:x",
        title="#x",
        terms=["x"],
        payload={"trend": {"title": "#x"}},
        channel="#inhaker",
        now=NOW,
    )
    assert store.add_alert(**kwargs) is True
    assert store.add_alert(**kwargs) is False
    assert [r.id for r in store.outbox()] == ["trend:x:1"]
    store.mark_failed_attempt("trend:x:1", "slack down")
    store.close()

    store = Store(url)
    row = store.outbox()[0]
    assert row.attempts == 1
    assert row.last_error == "slack down"
    store.mark_sent("trend:x:1", ref="1700000000.000100", now=NOW)
    assert store.outbox() == []
    store.refresh_alert("trend:x:1", now=NOW, payload={"trend": {"title": "#x"}}, count=10)
    assert [r.id for r in store.outbox()] == ["trend:x:1"]  # an edit is queued
    store.mark_updated("trend:x:1")
    assert store.outbox() == []
    row = store.alert("trend:x:1")
    assert row is not None
    assert row.slack_ts == "1700000000.000100"


def test_retention_prunes_old_posts(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'x.db'}")
    store.add_posts([post(1, minutes_ago=60 * 24 * 8), post(2)], seen_at=NOW, backlog=False)
    assert store.prune_posts(NOW - timedelta(days=7)) == 1
    assert store.count_posts() == 1


def test_sqlite_file_uses_wal(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'x.db'}")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_evidence_uids_find_the_right_post_when_feeds_share_ids(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'x.db'}")
    nos = post(1, source="nos")
    nu = Post(source="nu", id=nos.id, text="ander bericht", created_at=NOW)
    store.add_posts([nos, nu], seen_at=NOW, backlog=False)
    found = store.posts_by_uids([f"nu:{nos.id}", f"nos:{nos.id}", "nos:missing", "garbage"])
    assert [(p.source, p.text) for p in found] == [("nu", "ander bericht"), ("nos", "bericht 1")]


def test_a_known_post_gets_its_engagement_refreshed_not_duplicated(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'x.db'}")
    first = Post(source="hn", id="1", text="Open data", created_at=NOW, reach=5.0, tags=("hn:top",))
    store.add_posts([first], seen_at=NOW, backlog=False)
    later = Post(
        source="hn",
        id="1",
        text="Open data (edited)",
        created_at=NOW,
        reach=120.0,
        tags=("hn:top", "velocity:high"),
    )
    assert store.add_posts([later], seen_at=NOW, backlog=False) == []
    (stored,) = store.posts_since(NOW - timedelta(hours=1))
    assert stored.reach == 120.0
    assert stored.tags == ("hn:top", "velocity:high")
    assert stored.text == "Open data"


def test_a_slack_request_key_is_new_once_and_forgotten_after_a_day(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'inhaker.db'}")
    t0 = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
    assert store.first_time("action:U1:inhaker_claim:1.1", t0)
    assert not store.first_time("action:U1:inhaker_claim:1.1", t0 + timedelta(seconds=3))
    assert store.forget_requests(t0 - timedelta(hours=1)) == 0  # too young to forget
    assert store.forget_requests(t0 + timedelta(days=1, seconds=1)) == 1
    assert store.first_time("action:U1:inhaker_claim:1.1", t0 + timedelta(days=2))
