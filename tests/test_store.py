"""The store on a real SQLite file and a real PostgreSQL database: dedupe, backlog, source state,
outbox survive restarts; concurrent writers from several processes."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

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


def test_posts_are_stored_once_and_come_back_aware(database_url: str) -> None:
    url = database_url
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


def test_backlog_is_stored_but_never_offered_for_alerts(database_url: str) -> None:
    store = Store(database_url)
    store.add_posts([post(1), post(2)], seen_at=NOW, backlog=True)
    store.add_posts([post(3)], seen_at=NOW, backlog=False)
    assert [p.id for p in store.posts_since(NOW - timedelta(hours=1))] == ["guid-3"]
    assert [p.id for p in store.posts_to_check()] == ["guid-3"]
    store.mark_checked(store.posts_to_check())
    assert store.posts_to_check() == []
    assert len(store.posts_since(NOW - timedelta(hours=1), include_backlog=True)) == 3


def test_source_state_round_trips_across_restarts(database_url: str) -> None:
    url = database_url
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


def test_outbox_rows_are_unique_and_survive_restart(database_url: str) -> None:
    url = database_url
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


def test_retention_prunes_old_posts(database_url: str) -> None:
    store = Store(database_url)
    store.add_posts([post(1, minutes_ago=60 * 24 * 8), post(2)], seen_at=NOW, backlog=False)
    assert store.prune_posts(NOW - timedelta(days=7)) == 1
    assert store.count_posts() == 1


def test_sqlite_file_uses_wal(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'x.db'}")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_evidence_uids_find_the_right_post_when_feeds_share_ids(database_url: str) -> None:
    store = Store(database_url)
    nos = post(1, source="nos")
    nu = Post(source="nu", id=nos.id, text="ander bericht", created_at=NOW)
    store.add_posts([nos, nu], seen_at=NOW, backlog=False)
    found = store.posts_by_uids([f"nu:{nos.id}", f"nos:{nos.id}", "nos:missing", "garbage"])
    assert [(p.source, p.text) for p in found] == [("nu", "ander bericht"), ("nos", "bericht 1")]


def test_a_known_post_gets_its_engagement_refreshed_not_duplicated(database_url: str) -> None:
    store = Store(database_url)
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


def test_a_slack_request_key_is_new_once_and_forgotten_after_a_day(database_url: str) -> None:
    store = Store(database_url)
    t0 = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
    assert store.first_time("action:U1:inhaker_claim:1.1", t0)
    assert not store.first_time("action:U1:inhaker_claim:1.1", t0 + timedelta(seconds=3))
    assert store.forget_requests(t0 - timedelta(hours=1)) == 0  # too young to forget
    assert store.forget_requests(t0 + timedelta(days=1, seconds=1)) == 1
    assert store.first_time("action:U1:inhaker_claim:1.1", t0 + timedelta(days=2))


# A process racing the others on the same keys: waits for the start file, then writes. Prints
# what it won as JSON, so the test can check each key was won exactly once.
RACER = r"""
import json, sys, time
from datetime import UTC, datetime
from pathlib import Path
from bot.sources.base import SourceState
from bot.store import Store

url, start, name, keys = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
store = Store(url)
now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
while not start.exists():
    time.sleep(0.005)
won = {"requests": [], "terms": [], "alerts": [], "replies": []}
for k in range(keys):
    if store.first_time(f"command:T1:{k}", now):
        won["requests"].append(k)
    if store.add_watch_term(f"term {k}", name, now):
        won["terms"].append(k)
    if store.add_alert(alert_id=f"trend:{k}", kind="trend", key=f"trend:{k}", title="t",
                       terms=[], payload={}, channel="#c", now=now):
        won["alerts"].append(k)
    if store.add_reply(f"r:{k}", alert_id=f"trend:{k}", kind="note", text="x", due_at=now,
                       now=now):
        won["replies"].append(k)
    store.add_feedback(f"trend:{k}", name, "useful", now)
    store.mute(f"term {k}", until=now, user_id=name, now=now)
    store.save_source_state(SourceState(source_id="nos", polls=k, note=name))
    store.begin_send(f"alert:trend:{k}", now)
    store.save_checkpoint("trends", "d", name.encode(), "{}", now)
print(json.dumps(won))
"""


def test_processes_racing_on_the_same_keys_each_key_is_won_exactly_once(
    database_url: str, tmp_path: Path
) -> None:
    """Several `inhaker serve` processes get the same Slack retry, the same watch term, the same
    alert id at once: exactly one of them acts, no process fails, no click is lost."""
    Store(database_url).close()  # schema in place, as a running deployment has it
    start = tmp_path / "start"
    keys, racers = 60, 4
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, database_url, str(start), f"U{n}", str(keys)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parent.parent,
        )
        for n in range(racers)
    ]
    start.touch()
    outputs = [proc.communicate(timeout=90) for proc in procs]
    for proc, (_out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    won = [json.loads(out) for out, _err in outputs]
    for kind in ("requests", "terms", "alerts", "replies"):
        winners = sorted(k for result in won for k in result[kind])
        assert winners == list(range(keys)), kind

    store = Store(database_url)
    assert len(store.feedback_since(NOW - timedelta(days=1))) == keys * racers
    assert len(store.watch_terms()) == keys
    assert len(store.active_mutes(NOW - timedelta(seconds=1))) == keys
    assert store.source_state("nos").polls == keys - 1
    assert store.load_checkpoint("trends") is not None
    store.close()


def test_values_from_outside_fit_whatever_their_length(database_url: str) -> None:
    """PostgreSQL enforces column lengths where SQLite never did: a long guid, URL, author line,
    hashtag alert id or Slack-typed term must still be stored, and come back unchanged."""
    store = Store(database_url)
    long_id = "https://example.org/item?" + "q=1&" * 200
    long_url = "https://example.org/" + "x" * 5000
    item = Post(
        source="nos",
        id=long_id,
        text="tekst é ✓",
        created_at=NOW,
        author="A. Auteur, " * 60,
        url=long_url,
        title="t" * 3000,
        lang="nl-NL-x-" + "a" * 40,
        tags=("#" + "lang" * 100,),
        reach=1.5,
    )
    assert store.add_posts([item], seen_at=NOW, backlog=False) == [item]
    assert store.posts_by_uids([f"nos:{long_id}"]) == [item]

    term = "een heel lange term " * 30
    assert store.add_watch_term(term, "U1", NOW) is True
    store.mute(term, until=NOW + timedelta(hours=1), user_id="U1", now=NOW, alert_id="a" * 600)
    assert [m.term for m in store.active_mutes(NOW)] == [term]
    alert_id = "trend:#" + "hashtag" * 80 + ":202611291200"
    assert store.add_alert(
        alert_id=alert_id,
        kind="trend",
        key=alert_id[:-13],
        title="#hashtag",
        terms=[term],
        payload={"x": "ü"},
        channel="#c",
        now=NOW,
    )
    assert store.add_reply(
        f"{alert_id}:remind:U1:20261129T120000",
        alert_id=alert_id,
        kind="reminder",
        text="x",
        due_at=NOW,
        now=NOW,
    )
    store.begin_send(f"reply:{alert_id}:remind:U1:20261129T120000", NOW)
    assert store.first_time("shortcut:" + "k" * 700, NOW)
    row = store.alert(alert_id)
    assert row is not None
    assert row.terms == (term,)
    assert row.payload == {"x": "ü"}
    assert row.needs_update is False

    arrays = bytes(range(256)) * 64
    store.save_checkpoint("trends", "burst", arrays, '{"a": 1}', NOW)
    checkpoint = store.load_checkpoint("trends")
    assert checkpoint is not None
    assert checkpoint.arrays == arrays
    assert checkpoint.saved_at == NOW
    store.close()


def test_every_postgresql_url_form_opens_the_same_store(db_backend: str, database_url: str) -> None:
    """postgresql:// (what people write), postgres:// (Heroku) and postgresql+psycopg:// are one
    store; all run on psycopg 3."""
    if db_backend != "postgresql":
        pytest.skip("PostgreSQL URL forms")
    rest = database_url.removeprefix("postgresql://")
    Store(database_url).add_watch_term("lancering", "U1", NOW)
    for url in (f"postgres://{rest}", f"postgresql+psycopg://{rest}"):
        store = Store(url)
        assert store.engine.dialect.driver == "psycopg"
        assert [t.term for t in store.watch_terms()] == ["lancering"]
        store.close()


def test_sixteen_poll_threads_writing_at_once_never_find_the_store_locked(
    database_url: str,
) -> None:
    """`inhaker run` polls with 16 threads; each stores a feed's items and saves the source's
    state while others do the same, and a large checkpoint is written meanwhile. On SQLite a
    transaction that read before it wrote used to fail at once with "database is locked" when
    another thread had committed in between (1,000 feeds in bench/worker_db.py crashed the
    cycle). Every write must wait its turn instead, on both databases."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    store = Store(database_url)
    now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    stop = threading.Event()

    def checkpoints() -> None:
        blob = b"x" * 2_000_000
        while not stop.is_set():
            store.save_checkpoint("trends", "d", blob, "{}", now)

    def feed(n: int) -> int:
        source = f"feed{n}"  # one poll job per source, as the scheduler runs them
        items = [
            Post(
                id=f"{n}-{i}",
                text=f"Bericht {i} van {source}",
                created_at=now,
                source=source,
                author=f"a{i}",
            )
            for i in range(30)
        ]
        stored = store.add_posts(items, seen_at=now, backlog=False)
        state = store.source_state(source)
        store.save_source_state(replace(state, polls=state.polls + 1, last_success_at=now))
        store.mark_checked(stored)
        return len(stored)

    writer = threading.Thread(target=checkpoints)
    writer.start()
    try:
        with ThreadPoolExecutor(max_workers=16) as pool:
            counts = list(pool.map(feed, range(600)))
    finally:
        stop.set()
        writer.join()
    assert sum(counts) == 600 * 30
    assert store.count_posts() == 600 * 30
    assert sum(s.polls for s in store.all_source_states().values()) == 600
    assert store.posts_to_check() == []  # every post marked checked, none forgotten
    store.close()
