"""The buttons on every alert, clicked through real signed HTTP requests.

Each alert is delivered the way `inhaker run` delivers it (the outbox, the real SlackNotifier and
WebClient, the fake Slack Web API), so the clicks are on the message Slack really holds; the app
runs under waitress as `inhaker serve` runs it; the store is a real SQLite file. One test per
button, and what everyone sees afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.delivery import deliver_outbox
from bot.notify.slack import SlackNotifier
from bot.serialize import trend_to_dict
from bot.slack.app import build_app
from bot.store import Store
from detectors.records import Opportunity
from tests.fake_slack import FakeSlack, validate_blocks
from tests.samples import SLACK_TEST_CONFIG, rising_twelftal, store_call_alert, store_trend_alert
from tests.slack_requests import SIGNING_SECRET, button_click, post_signed, serving, wait_for

NOW = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
TREND_ID = "trend:twelftal:20261127T1400Z"
CALL_ID = "opportunity:nos:c-1"


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(database_url: str) -> Store:
    return Store(database_url)


@pytest.fixture
def notifier(fake_slack: FakeSlack) -> SlackNotifier:
    return SlackNotifier(fake_slack.token, base_url=fake_slack.base_url)


@pytest.fixture
def url(
    fake_slack: FakeSlack, store: Store, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    monkeypatch.setenv("SLACK_API_URL", fake_slack.base_url)
    app = build_app(
        store, SLACK_TEST_CONFIG, token=fake_slack.token, signing_secret=SIGNING_SECRET, clock=clock
    )
    with serving(app) as events_url:
        yield events_url


def send_trend(store: Store, notifier: SlackNotifier) -> None:
    trend = replace(rising_twelftal(NOW), stage="rising")
    store_trend_alert(store, trend, TREND_ID, NOW)
    deliver_outbox(store, notifier, store.posts_by_uids, {}, NOW)


def send_call(store: Store, notifier: SlackNotifier) -> None:
    opp = Opportunity(
        key=CALL_ID,
        post_id="c-1",
        source="nos",
        detected_at=NOW,
        score=0.95,
        category="submission",
        deadline="2026-12-01",
        asker="Emerce",
        text="Is jouw werkplek uniek? Mail redactie@emerce.example",
    )
    store_call_alert(store, opp, NOW)
    deliver_outbox(store, notifier, store.posts_by_uids, {}, NOW)


def the_message(fake_slack: FakeSlack) -> dict[str, Any]:
    messages = [m for m in fake_slack.messages("#inhaker") if not m.get("thread_ts")]
    assert len(messages) == 1, "one top-level message per alert"
    return messages[0]


def click(
    url: str,
    fake_slack: FakeSlack,
    action_id: str,
    alert_id: str,
    user: str = "U0ANNA",
) -> dict[str, Any]:
    """Click a button on the alert's message and wait for the message edit that follows."""
    message = the_message(fake_slack)
    edits_before = len(message["history"])  # successful edits so far
    ephemerals_before = len(fake_slack.ephemerals())
    body = button_click(
        action_id,
        alert_id,
        channel=message["channel"],
        ts=message["ts"],
        blocks=message["blocks"],
        user=user,
    )
    assert post_signed(url, body).status_code == 200
    wait_for(
        lambda: (
            len(the_message(fake_slack)["history"]) > edits_before
            or len(fake_slack.ephemerals()) > ephemerals_before
        )
    )
    after = the_message(fake_slack)
    assert validate_blocks(after["blocks"]) == []
    return after


def text_of(message: dict[str, Any]) -> str:
    return json.dumps(message["blocks"], ensure_ascii=False)


def buttons(message: dict[str, Any]) -> list[str]:
    return [
        e["action_id"]
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b.get("elements", [])
    ]


def actions_of(store: Store, alert_id: str) -> list[tuple[str, str]]:
    return [(user, action) for user, action, _ in store.feedback_for(alert_id)]


def test_claim_shows_who_took_it_to_everyone_and_offers_done(
    url: str, fake_slack: FakeSlack, store: Store, notifier: SlackNotifier
) -> None:
    send_trend(store, notifier)
    assert "inhaker_claim" in buttons(the_message(fake_slack))
    after = click(url, fake_slack, "inhaker_claim", TREND_ID)
    assert "✋ <@U0ANNA> took this" in text_of(after)
    assert buttons(after)[:2] == ["inhaker_done", "inhaker_release"]
    assert actions_of(store, TREND_ID) == [("U0ANNA", "claim")]


def test_a_second_claim_is_refused_privately_and_changes_nothing(
    url: str, fake_slack: FakeSlack, store: Store, notifier: SlackNotifier
) -> None:
    send_trend(store, notifier)
    click(url, fake_slack, "inhaker_claim", TREND_ID, user="U0ANNA")
    click(url, fake_slack, "inhaker_claim", TREND_ID, user="U0BRAM")
    note = fake_slack.ephemerals()[-1]
    assert note["user"] == "U0BRAM"
    assert "<@U0ANNA> already took this" in note["text"]
    assert actions_of(store, TREND_ID) == [("U0ANNA", "claim")]
    assert "✋ <@U0ANNA> took this" in text_of(the_message(fake_slack))


def test_done_by_the_claimer_closes_the_alert(
    url: str, fake_slack: FakeSlack, store: Store, notifier: SlackNotifier
) -> None:
    send_call(store, notifier)
    click(url, fake_slack, "inhaker_claim", CALL_ID, user="U0ANNA")
    click(url, fake_slack, "inhaker_done", CALL_ID, user="U0BRAM")  # not theirs
    assert "Only whoever took it" in fake_slack.ephemerals()[-1]["text"]
    after = click(url, fake_slack, "inhaker_done", CALL_ID, user="U0ANNA")
    assert "✅ <@U0ANNA> hooked in on this" in text_of(after)
    assert buttons(after) == []
    assert actions_of(store, CALL_ID) == [("U0ANNA", "claim"), ("U0ANNA", "done")]


def test_let_it_go_releases_a_claim(
    url: str, fake_slack: FakeSlack, store: Store, notifier: SlackNotifier
) -> None:
    send_trend(store, notifier)
    click(url, fake_slack, "inhaker_claim", TREND_ID, user="U0ANNA")
    after = click(url, fake_slack, "inhaker_release", TREND_ID, user="U0ANNA")
    assert "took this" not in text_of(after)
    assert buttons(after)[0] == "inhaker_claim"


def test_useful_and_not_relevant_are_one_vote_per_person(
    url: str, fake_slack: FakeSlack, store: Store, notifier: SlackNotifier
) -> None:
    send_trend(store, notifier)
    after = click(url, fake_slack, "inhaker_useful", TREND_ID, user="U0ANNA")
    assert "👍 Useful for <@U0ANNA>" in text_of(after)
    after = click(url, fake_slack, "inhaker_not_relevant", TREND_ID, user="U0BRAM")
    assert "👎 Not relevant for <@U0BRAM>" in text_of(after)
    # Anna changes her mind: her latest vote counts, once.
    after = click(url, fake_slack, "inhaker_not_relevant", TREND_ID, user="U0ANNA")
    shown = text_of(after)
    assert "Useful for" not in shown
    assert "👎 Not relevant for <@U0ANNA>, <@U0BRAM>" in shown
    assert "inhaker_claim" in buttons(after)  # still claimable


def test_snooze_shows_until_when_and_reminds_in_the_thread(
    url: str, fake_slack: FakeSlack, store: Store, notifier: SlackNotifier
) -> None:
    send_trend(store, notifier)
    after = click(url, fake_slack, "inhaker_snooze", TREND_ID, user="U0ANNA")
    shown = text_of(after)
    assert "⏰ Snoozed by <@U0ANNA> until <!date^" in shown
    assert "|17:00 UTC>" in shown  # each reader sees their own clock; UTC as the fallback
    # Nothing in the thread before it is due...
    deliver_outbox(store, notifier, store.posts_by_uids, {}, NOW + timedelta(hours=1))
    assert not [m for m in fake_slack.messages("#inhaker") if m.get("thread_ts")]
    # ...then one reminder under the alert, mentioning the person.
    deliver_outbox(store, notifier, store.posts_by_uids, {}, NOW + timedelta(hours=3, minutes=1))
    deliver_outbox(store, notifier, store.posts_by_uids, {}, NOW + timedelta(hours=3, minutes=2))
    replies = [m for m in fake_slack.messages("#inhaker") if m.get("thread_ts")]
    assert len(replies) == 1
    assert replies[0]["thread_ts"] == the_message(fake_slack)["ts"]
    assert replies[0]["text"].startswith("<@U0ANNA> ⏰ you snoozed this until 17:00 UTC")
    assert replies[0]["text"].count("<@U0ANNA>") == 1


def test_mute_topic_mutes_its_term_and_closes_the_alert(
    url: str, fake_slack: FakeSlack, store: Store, notifier: SlackNotifier
) -> None:
    send_trend(store, notifier)
    after = click(url, fake_slack, "inhaker_mute", TREND_ID, user="U0ANNA")
    assert "🔇 Topic muted by <@U0ANNA> for 7 days" in text_of(after)
    assert buttons(after) == []
    mutes = store.active_mutes(NOW)
    assert [(m.term, m.muted_by, m.until) for m in mutes] == [
        ("twelftal", "U0ANNA", NOW + timedelta(days=7))
    ]
    note = wait_for(lambda: fake_slack.ephemerals())
    assert "/inhaker unmute twelftal" in note[-1]["text"]


def test_a_grown_trend_keeps_showing_who_took_it(
    url: str, fake_slack: FakeSlack, store: Store, notifier: SlackNotifier
) -> None:
    """The worker edits a growing trend's message; the claim must survive the edit."""
    send_trend(store, notifier)
    click(url, fake_slack, "inhaker_claim", TREND_ID, user="U0ANNA")
    bigger = replace(rising_twelftal(NOW), count=120, stage="peaking")
    store.refresh_alert(
        TREND_ID, now=NOW + timedelta(minutes=5), payload={"trend": trend_to_dict(bigger)}
    )
    deliver_outbox(store, notifier, store.posts_by_uids, {}, NOW + timedelta(minutes=5))
    shown = text_of(the_message(fake_slack))
    assert "120 posts" in shown
    assert "✋ <@U0ANNA> took this" in shown
    assert "inhaker_claim" not in shown


def test_a_click_on_an_alert_the_store_no_longer_has_is_explained(
    url: str, fake_slack: FakeSlack, store: Store, notifier: SlackNotifier
) -> None:
    send_trend(store, notifier)
    message = the_message(fake_slack)
    body = button_click(
        "inhaker_useful", "trend:gone:1", channel=message["channel"], ts=message["ts"], blocks=[]
    )
    assert post_signed(url, body).status_code == 200
    notes = wait_for(lambda: fake_slack.ephemerals())
    assert "no longer has this alert" in notes[-1]["text"]
