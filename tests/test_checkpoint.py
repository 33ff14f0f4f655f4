"""The trend detector's checkpoint: saved to the store, restored on start, refused when stale.

A real SQLite file, the real Engine, posts as `inhaker run` stores them.
"""

from __future__ import annotations

import logging
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from bot.config import Config, DetectionConfig
from bot.pipeline import Engine
from bot.replay import NullNotifier
from bot.store import Store
from detectors.records import Post
from detectors.stories import StoryDetector
from detectors.trends import RisingTermDetector

T0 = datetime(2024, 3, 4, 8, 0, tzinfo=UTC)
WORDS = ["koffie", "regen", "file", "lunch", "trein", "fiets", "zon", "kantoor", "boek", "tuin"]


def chatter(start: datetime, minutes: int, seed: int = 3) -> list[Post]:
    rng = random.Random(seed)
    return [
        Post(
            source="x",
            id=f"bg-{start:%H%M}-{m}-{k}",
            text=" ".join(rng.sample(WORDS, 3)),
            created_at=start + timedelta(minutes=m, seconds=20 * k),
            author=f"u{rng.randrange(80)}",
        )
        for m in range(minutes)
        for k in range(3)
    ]


def feed(engine: Engine, store: Store, posts: list[Post], until: datetime) -> None:
    """Store and ingest posts a minute at a time, ticking like the scheduler does."""
    now = posts[0].created_at.replace(second=0) + timedelta(minutes=1)
    while now <= until:
        batch = [p for p in posts if now - timedelta(minutes=1) <= p.created_at < now]
        engine.ingest(store.add_posts(batch, seen_at=now, backlog=False))
        engine.tick(now, deliver=False)
        now += timedelta(minutes=1)


def test_a_restart_continues_from_the_checkpoint(database_url: str) -> None:
    store = Store(database_url)
    config = Config()
    first = Engine(config, store, NullNotifier())
    until = T0 + timedelta(hours=3)
    feed(first, store, chatter(T0, 180), until)
    assert first.checkpoint(until) is not None
    # Posts stored after the checkpoint, before the crash: the restart must count them too.
    late = chatter(until, 3, seed=9)
    store.add_posts(late, seen_at=until + timedelta(minutes=3), backlog=False)
    first.ingest(late)

    second = Engine(config, store, NullNotifier())
    replayed = second.warm_up(until + timedelta(minutes=4))
    assert replayed == len(late)
    assert isinstance(first.detector, StoryDetector)
    assert isinstance(second.detector, StoryDetector)
    arrays_a, plain_a = first.detector.state()
    arrays_b, plain_b = second.detector.state()
    for name, value in arrays_a.items():
        assert np.array_equal(value, arrays_b[name]), name
    assert plain_a["updates"] == plain_b["updates"] > 30


def test_without_a_checkpoint_the_engine_warms_up_from_stored_posts(database_url: str) -> None:
    store = Store(database_url)
    posts = chatter(T0, 90)
    store.add_posts(posts, seen_at=T0 + timedelta(minutes=90), backlog=False)
    engine = Engine(Config(), store, NullNotifier())
    assert engine.warm_up(T0 + timedelta(minutes=91)) == len(posts)


def test_a_checkpoint_from_other_settings_is_ignored_with_a_log_line(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = Store(database_url)
    posts = chatter(T0, 90)
    store.add_posts(posts, seen_at=T0 + timedelta(minutes=90), backlog=False)
    old = Engine(Config(), store, NullNotifier())
    old.warm_up(T0 + timedelta(minutes=91))
    old.checkpoint(T0 + timedelta(minutes=91))
    # Someone edits feeds.yaml: smaller tables. The old tables cannot be used.
    edited = Config(detection=replace(DetectionConfig(), table_bits=16))
    engine = Engine(edited, store, NullNotifier())
    with caplog.at_level(logging.WARNING):
        assert engine.warm_up(T0 + timedelta(minutes=92)) == len(posts)
    assert "checkpoint" in caplog.text
    assert "other detector settings" in caplog.text


def test_detector_rising_selects_v1_and_keeps_no_checkpoint(database_url: str) -> None:
    store = Store(database_url)
    config = Config(
        detection=replace(DetectionConfig(), detector="rising", bucket=timedelta(minutes=10))
    )
    engine = Engine(config, store, NullNotifier())
    assert isinstance(engine.detector, RisingTermDetector)
    assert engine.checkpoint(T0) is None
    assert store.load_checkpoint("trends") is None


def test_trends_now_lists_an_active_topic_between_its_signals(database_url: str) -> None:
    """`/trends` and `inhaker trends` read the snapshot: a topic stays there while active."""
    store = Store(database_url)
    engine = Engine(Config(), store, NullNotifier())
    start = T0
    posts = chatter(start, 120)
    onset = start + timedelta(minutes=120)
    posts += [
        Post(
            source="x",
            id=f"storm-{k}",
            text=f"Storm #Ciara raast over {WORDS[k % len(WORDS)]} en meer",
            created_at=onset + timedelta(seconds=30 * k),
            author=f"w{k}",
        )
        for k in range(16)
    ]
    feed(engine, store, posts, onset + timedelta(minutes=9))
    alerted = [a.title for a in store.all_alerts()]
    assert "#ciara" in alerted
    # Quiet minutes: no new signal, yet the topic is still what is trending now.
    feed(
        engine,
        store,
        chatter(onset + timedelta(minutes=9), 5, seed=5),
        onset + timedelta(minutes=14),
    )
    snapshot, updated = store.current_trends()
    assert updated == onset + timedelta(minutes=14)
    assert [t["title"] for t in snapshot][:1] == ["#ciara"]
    assert snapshot[0]["stage"] in {"emerging", "rising", "peaking", "fading"}
