"""Platforms' own trend lists as signals: corroboration, and watch-term matches that alert alone."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.config import Config, SourceConfig
from bot.notify.slack import SlackNotifier
from bot.pipeline import Engine
from bot.store import Store
from detectors.records import ExternalTrend, Post
from tests.fake_slack import FakeSlack

NOW = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)
CONFIG = Config(
    sources=(
        SourceConfig(
            id="gt-nl",
            kind="google_trends",
            interval=timedelta(minutes=10),
            name="Google Trends NL",
        ),
    ),
    watch_terms=("werkplek", "#twelftal"),
)


def signal(term: str, title: str, *, minutes_ago: int = 10) -> ExternalTrend:
    return ExternalTrend(
        source="gt-nl",
        term=term,
        title=title,
        observed_at=NOW - timedelta(minutes=minutes_ago),
        traffic=20_000,
        url="https://trends.google.com/trending?geo=NL",
        news=(("Oranje wint met 5-1 — NOS", "https://nos.nl/l/1"),),
    )


def rising(engine: Engine, term: str) -> None:
    """Two quiet hours, then `term` from many authors in the last half hour."""
    posts = [
        Post(
            source="x",
            id=f"bg{i}",
            text=f"Gewoon een dag nummer {i} met koffie",
            created_at=NOW - timedelta(hours=3) + timedelta(minutes=i),
            author=f"u{i % 20}",
        )
        for i in range(150)
    ]
    posts += [
        Post(
            source="x",
            id=f"r{i}",
            text=f"Wat een avond! #{term}",
            created_at=NOW - timedelta(minutes=30 - i),
            author=f"fan{i}",
        )
        for i in range(20)
    ]
    engine.store.add_posts(posts, seen_at=NOW, backlog=False)
    engine.warm_up(NOW)


def test_a_rise_that_a_platform_also_lists_is_marked_corroborated(database_url: str) -> None:
    with FakeSlack() as slack:
        store = Store(database_url)
        engine = Engine(CONFIG, store, SlackNotifier(slack.token, base_url=slack.base_url))
        rising(engine, "oranjeboven")
        store.add_external_trends([signal("oranjeboven", "#OranjeBoven")])
        result = engine.tick(NOW)
        (decision,) = [d for d in result.decisions if d.kind == "trend"]
        assert decision.trend is not None
        assert decision.trend.corroborated_by == ("gt-nl",)
        (message,) = slack.messages()
        assert "Also on the trend list of Google Trends NL" in str(message["blocks"])


def test_a_listed_trend_matching_a_watch_term_alerts_on_its_own_once(database_url: str) -> None:
    with FakeSlack() as slack:
        store = Store(database_url)
        engine = Engine(CONFIG, store, SlackNotifier(slack.token, base_url=slack.base_url))
        store.add_external_trends(
            [signal("twelftal", "#Twelftal"), signal("weerbericht", "Weerbericht")]
        )
        first = engine.tick(NOW)
        assert [(d.kind, d.listed.term if d.listed else None) for d in first.decisions] == [
            ("listed", "twelftal")
        ]
        again = engine.tick(NOW + timedelta(minutes=5))  # still listed: no second alert
        assert again.decisions == []
        (message,) = slack.messages()
        shown = str(message["blocks"])
        assert "Trending on Google Trends NL: #Twelftal" in shown
        assert "matches your watch term *twelftal*" in shown
        assert "Oranje wint met 5-1" in shown
        assert "inhaker_claim" in shown


def test_stale_list_entries_are_ignored(database_url: str) -> None:
    store = Store(database_url)
    engine = Engine(CONFIG, store, SlackNotifier("xoxb-unused", base_url="http://127.0.0.1:9/"))
    store.add_external_trends([signal("werkplek", "Werkplek", minutes_ago=60 * 8)])
    assert engine.tick(NOW, deliver=False).decisions == []


def test_a_listed_term_that_is_already_our_own_alert_is_not_repeated(database_url: str) -> None:
    store = Store(database_url)
    config = replace(CONFIG, watch_terms=("oranjeboven",))
    engine = Engine(config, store, SlackNotifier("xoxb-unused", base_url="http://127.0.0.1:9/"))
    rising(engine, "oranjeboven")
    assert [d.kind for d in engine.tick(NOW, deliver=False).decisions] == ["trend"]
    store.add_external_trends([signal("oranjeboven", "#OranjeBoven")])
    assert engine.tick(NOW + timedelta(minutes=1), deliver=False).decisions == []
