"""The monthly leaderboard, from clicks stored the way the Slack buttons store them.

A real SQLite store, a feeds.yaml with the team's time zone, and the blocks checked against
the fake Slack's Block Kit rules (and posted to it, as `/inhaker leaderboard` would show them).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from slack_sdk import WebClient

from bot.config import parse_config
from bot.leaderboard import (
    LeaderboardError,
    Standing,
    leaderboard,
    leaderboard_blocks,
    month_span,
    standing_line,
    standings,
)
from bot.store import Store
from tests.fake_slack import FakeSlack, validate_blocks

CONFIG = parse_config('slack:\n  channel: "#inhaker"\n  timezone: "Europe/Amsterdam"\n')
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def store(database_url: str) -> Store:
    return Store(database_url)


def test_claims_and_follow_throughs_are_counted_per_person_for_the_month(store: Store) -> None:
    store.add_feedback("a1", "UANNA", "claim", at("2026-11-03T10:00:00"))
    store.add_feedback("a1", "UANNA", "done", at("2026-11-04T10:00:00"))
    store.add_feedback("a2", "UANNA", "claim", at("2026-11-05T10:00:00"))
    # Others found a2 not relevant later: Anna's claim still counts.
    store.add_feedback("a2", "UBOB", "not_relevant", at("2026-11-05T11:00:00"))
    store.add_feedback("a3", "UBOB", "claim", at("2026-11-06T10:00:00"))
    # Done by someone who did not claim it is no follow-through of theirs.
    store.add_feedback("a3", "UCAS", "done", at("2026-11-07T10:00:00"))
    # Clicking twice scores once.
    store.add_feedback("a3", "UBOB", "claim", at("2026-11-06T10:01:00"))
    # Other months do not count.
    store.add_feedback("a9", "UCAS", "claim", at("2026-10-20T10:00:00"))
    store.add_feedback("a8", "UCAS", "claim", at("2026-12-01T10:00:00"))

    table = standings(store, CONFIG, "2026-11", NOW)
    assert table == [
        Standing("UANNA", claims=2, follow_throughs=1, points=5),
        Standing("UBOB", claims=1, follow_throughs=0, points=1),
    ]


def test_the_month_is_the_teams_month_not_utcs(store: Store) -> None:
    # Amsterdam is ahead of UTC: 23:30 on 30 November there is 22:30 UTC (November either
    # way), but 00:30 on 1 December there is still 30 November in UTC, and belongs to December.
    store.add_feedback("late", "UANNA", "claim", at("2026-11-30T22:30:00"))  # 23:30 Amsterdam
    store.add_feedback("early", "UBOB", "claim", at("2026-11-30T23:30:00"))  # 00:30, 1 Dec
    november = standings(store, CONFIG, "2026-11", NOW)
    december = standings(store, CONFIG, date(2026, 12, 1), NOW)
    assert [s.user_id for s in november] == ["UANNA"]
    assert [s.user_id for s in december] == ["UBOB"]
    # Without a month: the team's current month at `now`.
    assert standings(store, CONFIG, None, NOW) == december
    start, end = month_span(date(2026, 11, 1), "Europe/Amsterdam")
    assert (start, end) == (at("2026-10-31T23:00:00"), at("2026-11-30T23:00:00"))


def test_a_follow_through_counts_in_its_own_month(store: Store) -> None:
    store.add_feedback("a1", "UANNA", "claim", at("2026-10-28T10:00:00"))
    store.add_feedback("a1", "UANNA", "done", at("2026-11-02T10:00:00"))
    assert standings(store, CONFIG, "2026-10", NOW) == [Standing("UANNA", 1, 0, 1)]
    assert standings(store, CONFIG, "2026-11", NOW) == [Standing("UANNA", 0, 1, 3)]


def test_ties_go_to_follow_throughs_then_user_id(store: Store) -> None:
    for k in range(4):  # UZED: 4 claims = 4 points
        store.add_feedback(f"z{k}", "UZED", "claim", at(f"2026-11-1{k}T10:00:00"))
    store.add_feedback("y1", "UYES", "claim", at("2026-11-10T10:00:00"))  # UYES: 1 + 3 = 4
    store.add_feedback("y1", "UYES", "done", at("2026-11-11T10:00:00"))
    store.add_feedback("x1", "UAAA", "claim", at("2026-11-10T10:00:00"))
    store.add_feedback("x2", "UBBB", "claim", at("2026-11-10T10:00:00"))
    order = [s.user_id for s in standings(store, CONFIG, "2026-11", NOW)]
    assert order == ["UYES", "UZED", "UAAA", "UBBB"]


def test_the_leaderboard_reads_well_and_slack_accepts_it(
    store: Store, fake_slack: FakeSlack
) -> None:
    for user, count in (("UANNA", 3), ("UBOB", 2), ("UCAS", 1), ("UDAN", 1)):
        for k in range(count):
            store.add_feedback(f"{user}-{k}", user, "claim", at("2026-11-10T10:00:00"))
    blocks, text = leaderboard(store, CONFIG, "2026-11", NOW)
    assert validate_blocks(blocks) == []
    assert blocks[0]["text"]["text"] == "Leaderboard November 2026"
    lines = blocks[1]["text"]["text"].splitlines()
    assert lines[0].startswith("🥇 <@UANNA> — *3 points*")
    assert lines[1].startswith("🥈 <@UBOB>")
    assert lines[2].startswith("🥉 <@UCAS>")
    assert lines[3].startswith("4. <@UDAN> — *1 point*: 1 claim, 0 follow-throughs")
    assert text.startswith("Leaderboard November 2026: 1. <@UANNA> 3 points")
    client = WebClient(token=fake_slack.token, base_url=fake_slack.base_url)
    client.chat_postMessage(channel="#inhaker", text=text, blocks=blocks)
    assert fake_slack.messages("#inhaker")[-1]["text"] == text


def test_an_empty_month_says_so(store: Store) -> None:
    blocks, text = leaderboard(store, CONFIG, None, NOW)
    assert validate_blocks(blocks) == []
    assert blocks[0]["text"]["text"] == "Leaderboard December 2026"
    assert blocks[1]["text"]["text"] == "No hooks claimed yet this month."
    assert "no hooks claimed yet this month" in text


def test_a_big_team_stays_within_slacks_limits() -> None:
    table = [Standing(f"U{k:05d}", 1, 0, 1) for k in range(600)]
    assert validate_blocks(leaderboard_blocks(table, "November 2026")) == []


@pytest.mark.parametrize("month", ["2026-13", "november", "26-11", ""])
def test_a_month_that_is_not_one_is_named(store: Store, month: str) -> None:
    with pytest.raises(LeaderboardError, match="is not a month — write it as YYYY-MM"):
        standings(store, CONFIG, month, NOW)


def test_app_home_shows_a_persons_standing(store: Store) -> None:
    store.add_feedback("a1", "UANNA", "claim", at("2026-12-01T10:00:00"))
    store.add_feedback("a1", "UANNA", "done", at("2026-12-01T12:00:00"))
    store.add_feedback("a2", "UBOB", "claim", at("2026-12-01T11:00:00"))
    assert standing_line(store, CONFIG, "UBOB", NOW) == (
        "Your standing in December 2026: 🥈 2nd of 2 — 1 point: 1 claim, 0 follow-throughs"
    )
    assert standing_line(store, CONFIG, "UCAS", NOW) is None
