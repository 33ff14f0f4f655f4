"""Alert policy and outbox: one alert per topic, edits when it grows, nothing lost in an outage."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.alerts import AlertPolicy
from bot.config import AlertsConfig, Config
from bot.delivery import deliver_outbox
from bot.notify.slack import SlackNotifier
from bot.store import Store
from detectors.records import Opportunity, Post, Trend
from tests.fake_slack import FakeSlack

NOW = datetime(2014, 6, 13, 19, 40, tzinfo=UTC)
CONFIG = Config(slack_channel="#inhaker")


def trend(count: int = 20, terms: tuple[str, ...] = ("twelftal",), at: datetime = NOW) -> Trend:
    return Trend(
        key=f"trend:{terms[0]}",
        title=f"#{terms[0]}",
        terms=terms,
        detected_at=at,
        score=12.0,
        count=count,
        baseline_rate=0.5,
        ratio=14.0,
        authors=15,
        sources=("x",),
        evidence=tuple(f"t-{i}" for i in range(count)),
        sparkline=(0, 0, 1, 3, 8, count),
    )


def opportunity(post_id: str = "t-7", score: float = 0.9) -> Opportunity:
    return Opportunity(
        key=f"opportunity:x:{post_id}",
        post_id=post_id,
        source="x",
        detected_at=NOW,
        score=score,
        category="submission",
        deadline="2014-06-20",
        asker="Emerce",
        text="Is jouw werkplek uniek, verrassend en een must see voor Emerce-lezers?",
    )


def store_at(database_url: str) -> Store:
    return Store(database_url)


def test_one_alert_per_topic_and_an_edit_when_it_doubles(database_url: str) -> None:
    store = store_at(database_url)
    policy = AlertPolicy(CONFIG, store)
    first = policy.consider_trends([trend(20)], NOW)
    assert [(d.alert_id, d.is_update) for d in first] == [("trend:twelftal:20140613T1940Z", False)]
    # Same story a minute later, a bit bigger: nothing new, nothing to edit.
    assert policy.consider_trends([trend(25)], NOW + timedelta(minutes=1)) == []
    # Twice as big: the first message is queued for an edit, still no second alert.
    grown = policy.consider_trends([trend(41)], NOW + timedelta(minutes=10))
    assert [(d.alert_id, d.is_update) for d in grown] == [("trend:twelftal:20140613T1940Z", True)]
    # A regrouped topic sharing a term is the same story.
    regrouped = trend(45, terms=("nedesp", "twelftal"))
    assert all(d.is_update for d in policy.consider_trends([regrouped], NOW + timedelta(hours=1)))
    assert len(store.all_alerts()) == 1


def test_a_topic_alerts_again_only_after_the_cooldown(database_url: str) -> None:
    store = store_at(database_url)
    config = replace(CONFIG, alerts=AlertsConfig(cooldown=timedelta(hours=2)))
    policy = AlertPolicy(config, store)
    policy.consider_trends([trend()], NOW)
    policy.consider_trends([trend()], NOW + timedelta(hours=1))  # still firing: extends it
    assert policy.consider_trends([trend()], NOW + timedelta(hours=2, minutes=30)) == []
    later = NOW + timedelta(hours=5)  # quiet for more than the cooldown, then a new rise
    assert [d.is_update for d in policy.consider_trends([trend()], later)] == [False]
    assert len(store.all_alerts()) == 2


def test_no_duplicates_across_restarts(database_url: str) -> None:
    AlertPolicy(CONFIG, store_at(database_url)).consider_trends([trend()], NOW)
    AlertPolicy(CONFIG, store_at(database_url)).consider_opportunity(opportunity(), NOW, NOW)
    restarted = AlertPolicy(CONFIG, store_at(database_url))
    assert restarted.consider_trends([trend()], NOW + timedelta(minutes=5)) == []
    assert restarted.consider_opportunity(opportunity(), NOW, NOW + timedelta(minutes=5)) is None
    assert len(store_at(database_url).all_alerts()) == 2


def test_max_new_alerts_per_tick_strongest_first(database_url: str) -> None:
    config = replace(CONFIG, alerts=AlertsConfig(max_per_tick=2))
    policy = AlertPolicy(config, store_at(database_url))
    trends = [replace(trend(terms=(f"t{i}",)), score=float(i)) for i in range(5)]
    decisions = policy.consider_trends(trends, NOW)
    assert [d.trend.terms for d in decisions if d.trend] == [("t4",), ("t3",)]


def test_stale_or_weak_opportunities_do_not_alert(database_url: str) -> None:
    policy = AlertPolicy(CONFIG, store_at(database_url))
    assert policy.consider_opportunity(opportunity(score=0.3), NOW, NOW) is None
    old = NOW - timedelta(days=3)
    assert policy.consider_opportunity(opportunity(), old, NOW) is None
    assert policy.consider_opportunity(opportunity(), NOW, NOW) is not None


def lookup(ids: object) -> list[Post]:
    return [
        Post(source="x", id="t-1", text="Wat een goal! #twelftal", created_at=NOW, author="fan1"),
    ]


def test_slack_outage_delays_but_never_loses_or_doubles(database_url: str) -> None:
    with FakeSlack() as slack:
        store = store_at(database_url)
        notifier = SlackNotifier(slack.token, base_url=slack.base_url)
        policy = AlertPolicy(CONFIG, store)
        policy.consider_trends([trend()], NOW)
        policy.consider_opportunity(opportunity(), NOW, NOW)

        slack.outage(True)
        report = deliver_outbox(store, notifier, lookup, {"x": "X"}, NOW)
        assert report.sent == 0
        assert report.failed == 1
        assert "chat.postMessage" in (report.error or "")
        assert slack.messages() == []
        assert len(store.outbox()) == 2

        slack.outage(False)
        later = NOW + timedelta(minutes=5)
        assert deliver_outbox(store, notifier, lookup, {"x": "X"}, later).sent == 2
        assert deliver_outbox(store, notifier, lookup, {"x": "X"}, later).sent == 0
        messages = slack.messages()
        assert len(messages) == 2
        texts = sorted(m["text"] for m in messages)
        assert "twelftal" in texts[1]
        assert "Emerce" in texts[0]
        assert all(row.slack_ts for row in store.all_alerts())


def test_a_grown_trend_edits_its_message_in_place(database_url: str) -> None:
    with FakeSlack() as slack:
        store = store_at(database_url)
        notifier = SlackNotifier(slack.token, base_url=slack.base_url)
        policy = AlertPolicy(CONFIG, store)
        policy.consider_trends([trend(20)], NOW)
        deliver_outbox(store, notifier, lookup, {}, NOW)
        policy.consider_trends([trend(60)], NOW + timedelta(minutes=20))
        report = deliver_outbox(store, notifier, lookup, {}, NOW + timedelta(minutes=20))
        assert report.updated == 1
        assert report.sent == 0
        messages = slack.messages()
        assert len(messages) == 1
        assert "60 posts" in str(messages[0]["blocks"])


def test_an_edit_after_a_restart_reaches_the_same_message_and_keeps_the_claim(
    database_url: str,
) -> None:
    with FakeSlack() as slack:
        store = store_at(database_url)
        policy = AlertPolicy(CONFIG, store)
        policy.consider_trends([trend(20)], NOW)
        deliver_outbox(store, SlackNotifier(slack.token, base_url=slack.base_url), lookup, {}, NOW)
        row = store.all_alerts()[0]
        assert row.slack_channel == "C0INHAKER1"
        store.add_feedback(row.id, "U0MARLOES", "claim", NOW)

        # A new process: new store handle, new notifier with no memory of channel ids.
        store = store_at(database_url)
        AlertPolicy(CONFIG, store).consider_trends([trend(80)], NOW + timedelta(minutes=30))
        fresh = SlackNotifier(slack.token, base_url=slack.base_url)
        report = deliver_outbox(store, fresh, lookup, {}, NOW + timedelta(minutes=30))
        assert report.updated == 1
        assert not slack.calls_to("conversations.list")
        (message,) = slack.messages()
        shown = str(message["blocks"])
        assert "80 posts" in shown
        assert "<@U0MARLOES> took this" in shown
        assert "inhaker_claim" not in shown


def test_a_message_slack_rejects_for_good_does_not_block_the_others(database_url: str) -> None:
    with FakeSlack() as slack:
        store = store_at(database_url)
        notifier = SlackNotifier(slack.token, base_url=slack.base_url)
        policy = AlertPolicy(CONFIG, store)
        policy.consider_trends([trend(20)], NOW)
        deliver_outbox(store, notifier, lookup, {}, NOW)
        slack.reset()  # someone deleted the alert message in Slack

        later = NOW + timedelta(minutes=20)
        policy.consider_trends([trend(60)], later)  # queues an edit of the deleted message
        policy.consider_opportunity(opportunity(), later, later)
        report = deliver_outbox(store, notifier, lookup, {}, later)

        assert report.sent == 1  # the open call still went out
        (message,) = slack.messages()
        assert "Emerce" in message["text"]
        edited = store.all_alerts()[0]
        assert "message_not_found" in (edited.last_error or "")
        assert store.outbox() == []  # not retried forever


def test_a_topic_reaching_a_later_stage_edits_its_message(database_url: str) -> None:
    with FakeSlack() as slack:
        store = store_at(database_url)
        notifier = SlackNotifier(slack.token, base_url=slack.base_url)
        policy = AlertPolicy(CONFIG, store)
        policy.consider_trends([replace(trend(20), stage="emerging")], NOW)
        deliver_outbox(store, notifier, lookup, {}, NOW)
        # Same size, same stage a minute later: nothing to say.
        later = NOW + timedelta(minutes=1)
        assert policy.consider_trends([replace(trend(21), stage="emerging")], later) == []
        # Now it peaks without doubling: the message must say so (the window is closing).
        later = NOW + timedelta(minutes=2)
        decisions = policy.consider_trends([replace(trend(22), stage="peaking")], later)
        assert [d.is_update for d in decisions] == [True]
        report = deliver_outbox(store, notifier, lookup, {}, later)
        assert (report.sent, report.updated, report.replies_sent) == (0, 1, 1)
        messages = [m for m in slack.messages() if m["thread_ts"] is None]
        assert len(messages) == 1
        assert "Peaking" in str(messages[0]["blocks"])
        # ... and a thread reply tells the channel (tests/test_delivery.py covers it in full).
        (reply,) = [m for m in slack.messages() if m["thread_ts"] == messages[0]["ts"]]
        assert "Now *peaking*" in reply["text"]
        # A stage never goes back: a late "rising" finding does not edit it again.
        later = NOW + timedelta(minutes=3)
        assert policy.consider_trends([replace(trend(22), stage="rising")], later) == []


def test_a_topic_is_recognised_by_its_key_even_with_new_terms(database_url: str) -> None:
    store = store_at(database_url)
    policy = AlertPolicy(CONFIG, store)
    policy.consider_trends([trend(20)], NOW)
    renamed = replace(trend(20, terms=("penalty", "alonso")), key="trend:twelftal")
    assert policy.consider_trends([renamed], NOW + timedelta(minutes=6)) == []
    assert len(store.all_alerts()) == 1
