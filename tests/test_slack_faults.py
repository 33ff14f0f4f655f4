"""Slack faults: lost answers, timeouts, minutes of 500s, storms of 429s — each alert once.

Everything runs through the real SlackNotifier (slack_sdk WebClient) and `deliver_outbox`
against tests/fake_slack.py over real HTTP, with a real SQLite store. The fake gives its
messages wall-clock ts, as Slack does, because the bot looks for a post whose answer was lost
by time. "Minutes" of faults are rounds whose `now` moves a minute each; a timeout is the fake
holding its answer longer than the notifier's (small) timeout, so nothing here waits long.
What tests/test_delivery.py already proves (a plain outage, one Retry-After) is not repeated.

Related guarantees proven elsewhere: forged and stale request signatures are rejected
(tests/test_slack_app.py::test_bad_signature_and_stale_timestamp_are_rejected); a retried or
redelivered Slack request never repeats an action
(tests/test_slack_commands.py::test_a_retried_event_or_click_is_not_acted_on_twice,
tests/test_socket_mode.py::test_a_redelivered_click_envelope_is_acknowledged_but_not_repeated).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from datetime import timedelta

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.delivery import ChannelPacer, DeliveryReport, deliver_outbox
from bot.notify.slack import ALERT_EVENT, SlackNotifier
from bot.store import Store
from tests.fake_slack import FakeSlack, SlackError
from tests.test_delivery import NOW, SteppedClock, no_posts, queue

CHANNELS = {"inhaker": "C0INHAKER1", "alpha": "C0ALPHA", "beta": "C0BETA"}
TIMEOUT = 0.3  # the notifier's client timeout here, in seconds
STALL = 1.0  # how long a stalled fake holds its answer: always past TIMEOUT


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    opened = Store(database_url)
    yield opened
    opened.close()


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack(channels=CHANNELS, channel_rate=None, clock_ts=True) as fake:
        yield fake


def notifier_for(fake: FakeSlack) -> SlackNotifier:
    return SlackNotifier(fake.token, base_url=fake.base_url, timeout=TIMEOUT)


def unpaced() -> ChannelPacer:
    return ChannelPacer(None)


def round_at(
    store: Store, notifier: SlackNotifier, minute: int, pacer: ChannelPacer
) -> DeliveryReport:
    return deliver_outbox(
        store, notifier, no_posts, {}, NOW + timedelta(minutes=minute), pacer=pacer
    )


def alert_ids_posted(fake: FakeSlack, channel: str | None = None) -> list[str]:
    """The alert each top-level message shows (from its metadata), in the order posted."""
    ids = []
    for message in fake.messages(channel):
        meta = message.get("metadata") or {}
        if message["thread_ts"] is None and meta.get("event_type") == ALERT_EVENT:
            ids.append(str(meta["event_payload"]["alert_id"]))
    return ids


def assert_each_once_in_order(
    fake: FakeSlack, store: Store, expected: dict[str, list[str]]
) -> None:
    """Every queued alert is in its channel exactly once, oldest first, and the store points at
    that very message."""
    for channel, ids in expected.items():
        assert alert_ids_posted(fake, channel) == ids
    messages = {(m["channel"], m["ts"]) for m in fake.messages()}
    for row in store.all_alerts():
        assert row.status == "sent", row
        assert (row.slack_channel, row.slack_ts) in messages
    assert store.outbox() == []


# -- an answer lost after Slack posted --------------------------------------------------------


def test_a_post_slack_accepted_but_answered_too_late_is_found_not_posted_again(
    store: Store, slack: FakeSlack
) -> None:
    notifier = notifier_for(slack)
    alert_id = queue(store, "Storm", "#inhaker", NOW)
    slack.stall("chat.postMessage", STALL, accept=True, calls=1)

    first = round_at(store, notifier, 0, unpaced())

    # Slack posted it, but the answer came after the client gave up: to the bot, a timeout.
    assert first.sent == 0
    assert first.failed == 1
    assert "timed out" in (first.error or "")
    assert alert_ids_posted(slack) == [alert_id]
    assert store.alert(alert_id).status == "pending"  # type: ignore[union-attr]

    second = round_at(store, notifier, 1, unpaced())

    assert (second.sent, second.failed, second.error) == (1, 0, None)
    assert alert_ids_posted(slack) == [alert_id]  # found in the channel, not posted again
    assert len(slack.calls_to("chat.postMessage")) == 1
    (message,) = slack.messages()
    row = store.alert(alert_id)
    assert row is not None
    assert (row.slack_channel, row.slack_ts) == ("C0INHAKER1", message["ts"])

    # The message is the bot's to edit and thread under, like any other.
    assert round_at(store, notifier, 2, unpaced()) == DeliveryReport()


def test_a_look_up_refused_with_429_still_remembers_the_unanswered_post(
    store: Store, slack: FakeSlack
) -> None:
    """A 429 to the look-up says nothing about the earlier post: it is looked for again."""
    notifier = notifier_for(slack)
    alert_id = queue(store, "Storm", "#inhaker", NOW)
    slack.stall("chat.postMessage", STALL, accept=True, calls=1)
    assert round_at(store, notifier, 0, unpaced()).failed == 1
    slack.fail_next(1, status=429, retry_after=20)  # the next call: the look-up

    refused = round_at(store, notifier, 1, unpaced())

    assert "ratelimited" in (refused.error or "")
    assert round_at(store, notifier, 2, unpaced()).sent == 1
    assert alert_ids_posted(slack) == [alert_id]
    assert len(slack.calls_to("chat.postMessage")) == 1


def test_a_post_that_timed_out_without_reaching_slack_is_posted_on_the_next_round(
    store: Store, slack: FakeSlack
) -> None:
    notifier = notifier_for(slack)
    alert_id = queue(store, "Storm", "#inhaker", NOW)
    slack.stall("chat.postMessage", STALL, accept=False, calls=1)

    assert round_at(store, notifier, 0, unpaced()).failed == 1
    assert slack.messages() == []

    assert round_at(store, notifier, 1, unpaced()).sent == 1
    assert alert_ids_posted(slack) == [alert_id]
    assert len(slack.calls_to("conversations.history")) == 1  # it looked before posting


def test_a_client_never_repeats_a_post_itself_after_a_5xx_or_a_timeout(
    store: Store, slack: FakeSlack
) -> None:
    """slack_sdk would retry a 500 or a dropped connection at once; for a new post that could
    double it, so the post goes back to the outbox, which looks first."""
    notifier = notifier_for(slack)
    queue(store, "Storm", "#inhaker", NOW)
    slack.fail_next(1, status=500)

    report = round_at(store, notifier, 0, unpaced())

    assert report.failed == 1
    assert "HTTP 500 from Slack" in (report.error or "")
    assert len(slack.calls_to("chat.postMessage")) == 1
    assert round_at(store, notifier, 1, unpaced()).sent == 1
    assert len(alert_ids_posted(slack)) == 1


def test_a_thread_reply_whose_answer_was_lost_is_found_not_posted_again(
    store: Store, slack: FakeSlack
) -> None:
    notifier = notifier_for(slack)
    alert_id = queue(store, "Storm", "#inhaker", NOW)
    assert round_at(store, notifier, 0, unpaced()).sent == 1
    assert store.add_reply(
        f"{alert_id}:peak", alert_id=alert_id, kind="stage", text="Now peaking", due_at=NOW, now=NOW
    )
    slack.stall("chat.postMessage", STALL, accept=True, calls=1)

    assert round_at(store, notifier, 1, unpaced()).failed == 1
    assert round_at(store, notifier, 2, unpaced()).replies_sent == 1

    replies = [m for m in slack.messages() if m["thread_ts"] is not None]
    assert [m["text"] for m in replies] == ["Now peaking"]
    (stored,) = store.replies_for(alert_id)
    assert (stored.status, stored.slack_ts) == ("sent", replies[0]["ts"])


def test_a_channel_the_bot_cannot_search_still_gets_its_alert(
    store: Store, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    """An app installed before channels:history was added cannot look: the alert still goes
    out (never lost), and the log says what to grant to rule out a copy."""

    def no_scope(fake: FakeSlack, params: dict[str, object]) -> dict[str, object]:
        raise SlackError("missing_scope")

    slack.register("conversations.history", no_scope)
    notifier = notifier_for(slack)
    alert_id = queue(store, "Storm", "#inhaker", NOW)
    slack.stall("chat.postMessage", STALL, accept=False, calls=1)
    assert round_at(store, notifier, 0, unpaced()).failed == 1

    with caplog.at_level(logging.WARNING):
        report = round_at(store, notifier, 1, unpaced())

    assert report.sent == 1
    assert alert_ids_posted(slack) == [alert_id]
    assert "missing_scope" in caplog.text
    assert "channels:history" in caplog.text


# -- minutes of faults ------------------------------------------------------------------------


def test_minutes_of_500s_and_timeouts_then_recovery_deliver_every_alert_exactly_once(
    store: Store, slack: FakeSlack
) -> None:
    """Twelve minutes of a broken Slack — HTTP 500s, answers that never come while Slack posts
    anyway, answers that never come while it does nothing, and look-ups that fail too — while
    the detectors keep queueing alerts for two channels. Then Slack recovers."""
    notifier = notifier_for(slack)
    pacer = unpaced()
    expected: dict[str, list[str]] = {"#alpha": [], "#beta": []}
    faults = [
        "500",
        "accepted-timeout",
        "500",  # the look-up for the post accepted a minute ago fails too: it waits
        "accepted-timeout",
        "lost-timeout",
        "history-timeout",
        "accepted-timeout",
        "500",
        "lost-timeout",
        "accepted-timeout",
        "accepted-timeout",
        "500",
    ]
    for minute, fault in enumerate(faults):
        now = NOW + timedelta(minutes=minute)
        for channel in expected:
            expected[channel].append(queue(store, f"{channel[1:]} {minute}", channel, now))
        slack.outage(fault == "500")
        if fault == "accepted-timeout":
            slack.stall("chat.postMessage", STALL, accept=True)
        elif fault == "lost-timeout":
            slack.stall("chat.postMessage", STALL, accept=False)
        elif fault == "history-timeout":
            slack.stall("conversations.history", STALL, accept=True)

        report = round_at(store, notifier, minute, pacer)

        assert report.failed >= 1, (fault, report)
        slack.stall("chat.postMessage", None)
        slack.stall("conversations.history", None)
        # However broken, never a second copy of anything.
        posted = alert_ids_posted(slack)
        assert len(posted) == len(set(posted)), posted

    slack.outage(False)
    report = round_at(store, notifier, len(faults), pacer)

    assert report.error is None
    assert_each_once_in_order(slack, store, expected)
    # Some alerts went out during the faults (accepted, then found); the rest now.
    assert 0 < report.sent < 2 * len(faults)


def test_a_storm_of_429s_over_many_rounds_delivers_each_alert_once_in_order(
    store: Store,
) -> None:
    """Twenty rounds of 429s with Retry-After — whole channels refused for a while, and single
    calls refused at random — while alerts keep coming. Each channel waits out what Slack asked
    (the pacer's clock is stepped, so nobody waits for real) and nothing is lost or doubled."""
    seed = 7
    rng = random.Random(seed)
    clock = SteppedClock()
    pacer = ChannelPacer(1.0, clock=clock.monotonic, sleep=clock.sleep)
    expected: dict[str, list[str]] = {"#alpha": [], "#beta": [], "#inhaker": []}
    with FakeSlack(channels=CHANNELS, channel_rate=None, clock_ts=True) as slack:
        notifier = notifier_for(slack)
        refused = 0
        for minute in range(20):
            now = NOW + timedelta(minutes=minute)
            for channel in expected:
                if rng.random() < 0.7:
                    title = f"{channel[1:]} {minute}"
                    expected[channel].append(queue(store, title, channel, now))
            for channel in expected:
                # Retry-After above the client's 10 s: the client hands it to the outbox at once.
                held = rng.random() < 0.4
                slack.rate_limit_channel(channel, rng.choice((15, 30, 45)) if held else None)
            slack.fail_next(rng.randint(0, 3), status=429, retry_after=20)

            report = round_at(store, notifier, minute, pacer)

            refused += report.failed
            posted = alert_ids_posted(slack)
            assert len(posted) == len(set(posted)), (seed, posted)
            clock.sleep(60)

        assert refused > 10, seed  # it was a storm
        for channel in expected:
            slack.rate_limit_channel(channel, None)
        report = round_at(store, notifier, 20, pacer)

        assert report.error is None, seed
        assert_each_once_in_order(slack, store, expected)
        # A 429 says Slack did not post: nothing to look for before trying again.
        assert slack.calls_to("conversations.history") == []


def test_the_fake_keeps_message_metadata_and_reads_history_like_slack(slack: FakeSlack) -> None:
    """What the look-ups rely on: metadata comes back only when asked for, history lists
    top-level messages newest first from `oldest` (exclusive), a thread comes with its parent."""
    client = WebClient(token=slack.token, base_url=slack.base_url)
    meta = {"event_type": "inhaker_alert", "event_payload": {"alert_id": "a1"}}
    first = client.chat_postMessage(channel="#alpha", text="one", metadata=meta)
    second = client.chat_postMessage(channel="#alpha", text="two")
    client.chat_postMessage(channel="C0ALPHA", text="in thread", thread_ts=first["ts"])

    plain = client.conversations_history(channel="C0ALPHA")
    assert [m["text"] for m in plain["messages"]] == ["two", "one"]
    assert all("metadata" not in m for m in plain["messages"])
    full = client.conversations_history(channel="C0ALPHA", include_all_metadata=True)
    assert full["messages"][1]["metadata"] == meta
    later = client.conversations_history(channel="C0ALPHA", oldest=first["ts"])
    assert [m["ts"] for m in later["messages"]] == [second["ts"]]
    paged = client.conversations_history(channel="C0ALPHA", limit=1)
    assert paged["has_more"] is True
    assert paged["response_metadata"]["next_cursor"]
    thread = client.conversations_replies(channel="C0ALPHA", ts=first["ts"])
    assert [m["text"] for m in thread["messages"]] == ["one", "in thread"]
    with pytest.raises(SlackApiError) as refused:
        client.conversations_history(channel="#alpha")  # ids only, like Slack
    assert refused.value.response["error"] == "channel_not_found"
    with pytest.raises(SlackApiError) as bad:
        client.chat_postMessage(channel="#alpha", text="x", metadata={"event_type": "x"})
    assert bad.value.response["error"] == "invalid_metadata_format"
