"""Delivery guarantees: per-channel pacing, Retry-After per channel, outages, thread replies.

Everything runs through the real SlackNotifier and slack_sdk WebClient against tests/fake_slack.py
(which enforces a per-channel token bucket like Slack's) and a real SQLite store. Pacing tests run
Slack's limits ten times faster (a burst of 3, then 10 messages a second, and a pacer set to 10 a
second) so they take a fraction of a second; the Retry-After test gives the pacer a clock that
moves only when told, so it never sleeps the 30 s Slack asks for.
"""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.alerts import AlertPolicy
from bot.config import Config, SlackConfig
from bot.delivery import ChannelPacer, deliver_outbox
from bot.notify.console import ConsoleNotifier
from bot.notify.slack import SlackNotifier
from bot.serialize import trend_to_dict
from bot.store import Store
from detectors.records import Post, Trend
from tests.fake_slack import FakeSlack

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RATE = 10.0  # messages a second per channel, for the fake and the pacer alike (Slack's x10)
CHANNELS = {"inhaker": "C0INHAKER1", "alpha": "C0ALPHA", "beta": "C0BETA"}
CONFIG = Config(slack_channel="#inhaker", slack=SlackConfig(messages_per_second=RATE))


class SteppedClock:
    """A monotonic clock that moves only when the pacer sleeps or the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def make_trend(title: str, *, count: int = 20, stage: str = "rising", at: datetime = NOW) -> Trend:
    term = title.lower().replace(" ", "-")
    return Trend(
        key=f"trend:{term}",
        title=title,
        terms=(term,),
        detected_at=at,
        score=9.0,
        count=count,
        baseline_rate=1.0,
        ratio=10.0,
        authors=12,
        sources=("mastodon", "bluesky"),
        evidence=(),
        sparkline=(0, 1, 3, count),
        stage=stage,
    )


def queue(store: Store, title: str, channel: str, at: datetime) -> str:
    """Put one trend alert for `channel` in the outbox; returns its id."""
    trend = make_trend(title, at=at)
    alert_id = f"{trend.key}:{at:%H%M%S%f}"
    assert store.add_alert(
        alert_id=alert_id,
        kind="trend",
        key=trend.key,
        title=title,
        terms=trend.terms,
        payload={"trend": trend_to_dict(trend)},
        channel=channel,
        now=at,
        count=trend.count,
        score=trend.score,
    )
    return alert_id


def no_posts(ids: object) -> list[Post]:
    return []


def deliver(
    store: Store, notifier: SlackNotifier, pacer: ChannelPacer, now: datetime
) -> tuple[int, int, int, str | None]:
    report = deliver_outbox(store, notifier, no_posts, {}, now, pacer=pacer)
    return report.sent, report.updated, report.replies_sent, report.error


def top_level(fake: FakeSlack, channel: str | None = None) -> list[dict[str, object]]:
    return [m for m in fake.messages(channel) if m["thread_ts"] is None]


def copies_of(fake: FakeSlack, title: str) -> int:
    """How many top-level messages show this alert (titles are unique in these tests)."""
    return sum(1 for m in top_level(fake) if f"Rising: {title} —" in str(m["text"]))


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    opened = Store(database_url)
    yield opened
    opened.close()


@pytest.fixture
def fast_slack() -> Iterator[FakeSlack]:
    with FakeSlack(channels=CHANNELS, channel_rate=(3, RATE)) as fake:
        yield fake


def notifier_for(fake: FakeSlack) -> SlackNotifier:
    return SlackNotifier(fake.token, base_url=fake.base_url)


# -- pacing ---------------------------------------------------------------------------------------


def test_the_fake_refuses_a_burst_over_the_channel_rate(fast_slack: FakeSlack) -> None:
    """The check the pacing test relies on: posting as fast as possible trips the limit."""
    client = WebClient(token=fast_slack.token, base_url=fast_slack.base_url, retry_handlers=[])
    refused = []
    for i in range(10):
        try:
            client.chat_postMessage(channel="#alpha", text=f"burst {i}")
        except SlackApiError as exc:
            refused.append((exc.response.status_code, exc.response.headers.get("Retry-After")))
    assert refused
    assert refused[0] == (429, "1")
    assert fast_slack.rate_limited_calls[0] == ("chat.postMessage", "C0ALPHA")
    assert len(top_level(fast_slack)) == 10 - len(refused)


def test_eleven_alerts_to_two_channels_arrive_once_in_order_without_tripping_the_limit(
    store: Store, fast_slack: FakeSlack
) -> None:
    alpha = [f"Alpha {i:02d}" for i in range(8)]
    beta = [f"Beta {i:02d}" for i in range(3)]
    for i, title in enumerate(alpha):
        queue(store, title, "#alpha", NOW + timedelta(seconds=i))
    for i, title in enumerate(beta):
        queue(store, title, "#beta", NOW + timedelta(seconds=i, milliseconds=500))

    sent, *_ = deliver(store, notifier_for(fast_slack), ChannelPacer(RATE), NOW)

    assert sent == 11
    assert fast_slack.rate_limited_calls == []
    assert len(fast_slack.calls_to("chat.postMessage")) == 11  # no retries were needed
    for channel, titles in (("#alpha", alpha), ("#beta", beta)):
        shown = [str(m["text"]).split(" —")[0] for m in top_level(fast_slack, channel)]
        assert shown == [f"📈 Rising: {t}" for t in titles]
    assert all(copies_of(fast_slack, t) == 1 for t in alpha + beta)
    # Beta did not queue behind alpha's eight: channels take turns.
    order = [m["channel"] for m in top_level(fast_slack)]
    assert order.index("C0BETA") < order.index("C0ALPHA") + 3


def test_a_worker_that_stops_leading_mid_round_leaves_the_rest_queued(
    store: Store, fast_slack: FakeSlack
) -> None:
    """`may_send` is the worker's "do I still lead?": once it says no, nothing more is sent by
    this worker; the next round (the new leader's) sends the rest, each once, in order."""
    titles = [f"Alpha {i:02d}" for i in range(5)]
    for i, title in enumerate(titles):
        queue(store, title, "#alpha", NOW + timedelta(seconds=i))
    answers = iter([True, True])  # leads for two posts, then the lock is gone

    report = deliver_outbox(
        store,
        notifier_for(fast_slack),
        no_posts,
        {},
        NOW,
        pacer=ChannelPacer(RATE),
        may_send=lambda: next(answers, False),
    )

    assert report.sent == 2
    assert report.error is not None
    assert "no longer leads" in report.error
    assert len(store.outbox()) == 3
    sent, *_ = deliver(store, notifier_for(fast_slack), ChannelPacer(RATE), NOW)
    assert sent == 3
    shown = [str(m["text"]).split(" —")[0] for m in top_level(fast_slack, "#alpha")]
    assert shown == [f"📈 Rising: {t}" for t in titles]


def test_a_rate_limited_channel_waits_out_retry_after_while_the_others_go_on(
    store: Store,
) -> None:
    clock = SteppedClock()
    pacer = ChannelPacer(1.0, clock=clock.monotonic, sleep=clock.sleep)
    with FakeSlack(channels=CHANNELS) as fake:  # Slack's own pace: a burst of 3, then 1/s
        notifier = notifier_for(fake)
        for i in range(3):
            queue(store, f"Alpha {i}", "#alpha", NOW + timedelta(seconds=2 * i))
            queue(store, f"Beta {i}", "#beta", NOW + timedelta(seconds=2 * i + 1))
        fake.rate_limit_channel("#alpha", retry_after=30)  # Slack: "wait 30 s" for alpha

        report = deliver_outbox(store, notifier, no_posts, {}, NOW, pacer=pacer)

        assert report.sent == 3
        assert [m["channel"] for m in top_level(fake)] == ["C0BETA"] * 3
        assert report.held_channels == ("#alpha",)
        assert "ratelimited (Slack asked to wait 30 s)" in (report.error or "")
        assert len(fake.calls_to("chat.postMessage")) == 4  # alpha was asked once, not 3 times
        first_alpha = next(r for r in store.all_alerts() if r.title == "Alpha 0")
        assert "ratelimited" in (first_alpha.last_error or "")

        # Ten seconds later Slack's 30 s are not over: alpha is not even asked.
        clock.sleep(10)
        assert deliver_outbox(store, notifier, no_posts, {}, NOW, pacer=pacer).sent == 0
        assert len(fake.calls_to("chat.postMessage")) == 4

        # After the 30 s, alpha's alerts go out, once each, in order.
        fake.rate_limit_channel("#alpha", retry_after=None)
        clock.sleep(21)
        report = deliver_outbox(store, notifier, no_posts, {}, NOW, pacer=pacer)

        assert (report.sent, report.held_channels, report.error) == (3, (), None)
        alpha_texts = [str(m["text"]) for m in top_level(fake, "#alpha")]
        assert [t.split(" —")[0] for t in alpha_texts] == [
            f"📈 Rising: Alpha {i}" for i in range(3)
        ]
        assert all(
            copies_of(fake, f"{name} {i}") == 1 for name in ("Alpha", "Beta") for i in range(3)
        )
        assert fake.rate_limited_calls == []
        assert store.outbox() == []


def test_a_channel_the_app_cannot_post_in_does_not_hold_up_the_others(store: Store) -> None:
    with FakeSlack(channels=CHANNELS, auto_create_channels=False) as fake:
        queue(store, "Lost", "#nowhere", NOW)
        queue(store, "Found", "#inhaker", NOW + timedelta(seconds=1))

        report = deliver_outbox(store, notifier_for(fake), no_posts, {}, NOW)

        assert report.sent == 1
        assert copies_of(fake, "Found") == 1
        assert "channel_not_found" in (report.error or "")
        (waiting,) = store.outbox()
        assert waiting.title == "Lost"
        assert "invite the app to the channel" in (waiting.last_error or "")


# -- outages and restarts -----------------------------------------------------------------------


def test_a_slack_outage_of_several_minutes_delivers_every_alert_exactly_once_afterwards(
    database_url: str, fast_slack: FakeSlack
) -> None:
    url = database_url
    store = Store(url)
    notifier = notifier_for(fast_slack)
    pacer = ChannelPacer(RATE)
    titles: list[str] = []
    fast_slack.outage(True)
    for minute in range(5):
        now = NOW + timedelta(minutes=minute)
        for channel in ("#alpha", "#beta"):  # the detectors keep finding things meanwhile
            titles.append(f"{channel[1:].title()} at {minute}")
            queue(store, titles[-1], channel, now)
        sent, _, _, error = deliver(store, notifier, pacer, now)
        assert sent == 0
        assert "HTTP 500 from Slack" in (error or "")
    assert fast_slack.messages() == []
    assert len(store.outbox()) == 10

    fast_slack.outage(False)
    sent, _, _, error = deliver(store, notifier, pacer, NOW + timedelta(minutes=5))

    assert (sent, error) == (10, None)
    assert {t: copies_of(fast_slack, t) for t in titles} == dict.fromkeys(titles, 1)
    assert fast_slack.rate_limited_calls == []
    store.close()

    # A restart: new store handle on the same file, new notifier and pacer. Nothing again.
    calls_before = len(fast_slack.calls_to("chat.postMessage"))
    restarted = Store(url)
    report = deliver_outbox(
        restarted, notifier_for(fast_slack), no_posts, {}, NOW + timedelta(minutes=6)
    )
    assert (report.sent, report.updated, report.failed) == (0, 0, 0)
    assert len(fast_slack.calls_to("chat.postMessage")) == calls_before
    assert len(top_level(fast_slack)) == 10
    restarted.close()


# -- thread replies -------------------------------------------------------------------------------


def test_a_new_stage_is_one_thread_reply_plus_an_edit_never_a_second_message(
    store: Store, fast_slack: FakeSlack
) -> None:
    notifier = notifier_for(fast_slack)
    pacer = ChannelPacer(RATE)
    policy = AlertPolicy(CONFIG, store)
    policy.consider_trends([make_trend("Koningsdag", count=35, stage="emerging")], NOW)
    assert deliver(store, notifier, pacer, NOW)[:3] == (1, 0, 0)
    (message,) = top_level(fast_slack)

    later = NOW + timedelta(minutes=20)
    policy.consider_trends([make_trend("Koningsdag", count=60, stage="peaking", at=later)], later)
    assert deliver(store, notifier, pacer, later)[:3] == (0, 1, 1)

    assert len(top_level(fast_slack)) == 1
    edited = fast_slack.message("#inhaker", str(message["ts"]))
    assert edited is not None
    assert len(edited["history"]) == 1  # edited in place
    (reply,) = [m for m in fast_slack.messages() if m["thread_ts"] == message["ts"]]
    assert reply["text"] == (
        "🔝 Now *peaking*: 60 posts in the last hour (was 35 when first alerted), 2 sources"
        " — at its height; hook in now or let it go."
    )

    # The same stage again, even twice as big: an edit, no second reply.
    again = later + timedelta(minutes=10)
    policy.consider_trends([make_trend("Koningsdag", count=130, stage="peaking", at=again)], again)
    assert deliver(store, notifier, pacer, again)[:3] == (0, 1, 0)
    # A later stage still says how far it came since the first alert.
    fading = again + timedelta(minutes=30)
    policy.consider_trends([make_trend("Koningsdag", count=140, stage="fading", at=fading)], fading)
    assert deliver(store, notifier, pacer, fading)[:3] == (0, 1, 1)

    replies = [m for m in fast_slack.messages() if m["thread_ts"] == message["ts"]]
    assert [str(r["text"]).split(":")[0] for r in replies] == [
        "🔝 Now *peaking*",
        "📉 Now *fading*",
    ]
    assert "(was 35 when first alerted)" in str(replies[1]["text"])
    assert len(top_level(fast_slack)) == 1
    assert fast_slack.rate_limited_calls == []


def test_a_reply_waits_for_its_pending_alert_and_follows_it(
    store: Store, fast_slack: FakeSlack
) -> None:
    notifier = notifier_for(fast_slack)
    pacer = ChannelPacer(RATE)
    alert_id = queue(store, "Elfstedentocht", "#inhaker", NOW)
    store.add_reply(
        f"{alert_id}:note",
        alert_id=alert_id,
        kind="note",
        text="Reminder: the ice report comes out at noon",
        user_id="U0MARLOES",
        due_at=NOW,
        now=NOW,
    )
    fast_slack.outage(True)  # the alert cannot go out yet, so neither can its reply
    report = deliver_outbox(store, notifier, no_posts, {}, NOW, pacer=pacer)
    assert (report.sent, report.replies_sent) == (0, 0)
    assert [r.status for r in store.replies_for(alert_id)] == ["pending"]

    fast_slack.outage(False)
    later = NOW + timedelta(minutes=3)
    report = deliver_outbox(store, notifier, no_posts, {}, later, pacer=pacer)

    assert (report.sent, report.replies_sent) == (1, 1)
    alert_message, reply = fast_slack.messages()  # in this order
    assert alert_message["thread_ts"] is None
    assert reply["thread_ts"] == alert_message["ts"]
    assert reply["text"] == "<@U0MARLOES> Reminder: the ice report comes out at noon"
    (row,) = store.replies_for(alert_id)
    assert (row.status, row.slack_ts, row.sent_at) == ("sent", reply["ts"], later)
    # Sent once: the next round has nothing to say.
    assert deliver_outbox(store, notifier, no_posts, {}, later, pacer=pacer).replies_sent == 0
    assert len(fast_slack.messages()) == 2


def test_replies_of_an_alert_held_for_the_digest_are_cancelled(
    store: Store, fast_slack: FakeSlack
) -> None:
    held = datetime(2026, 3, 2, 23, 0, tzinfo=UTC)
    trend = make_trend("Nachtnieuws", at=held)
    store.add_alert(
        alert_id="trend:nachtnieuws:2300",
        kind="trend",
        key=trend.key,
        title=trend.title,
        terms=trend.terms,
        payload={"trend": trend_to_dict(trend)},
        channel="#inhaker",
        now=held,
        status="held",
    )
    store.add_reply(
        "trend:nachtnieuws:2300:note",
        alert_id="trend:nachtnieuws:2300",
        kind="note",
        text="never threaded",
        due_at=held,
        now=held,
    )
    report = deliver_outbox(store, notifier_for(fast_slack), no_posts, {}, held)

    assert report.replies_sent == 0
    assert fast_slack.messages() == []
    assert [r.status for r in store.replies_for("trend:nachtnieuws:2300")] == ["cancelled"]


def test_the_console_prints_a_thread_reply_indented_under_its_alert(store: Store) -> None:
    out = io.StringIO()
    alert_id = queue(store, "Koningsdag", "#inhaker", NOW)
    store.add_reply(
        f"{alert_id}:note",
        alert_id=alert_id,
        kind="note",
        text="Oranje &amp; tompouce: *now*",
        due_at=NOW,
        now=NOW,
    )
    report = deliver_outbox(store, ConsoleNotifier(out), no_posts, {}, NOW)

    assert (report.sent, report.replies_sent) == (1, 1)
    printed = out.getvalue()
    assert printed.index("📈 TREND  Koningsdag") < printed.index("↳ in the thread of Koningsdag:")
    assert "\n      Oranje & tompouce: *now*\n" in printed


# -- the fake's response_url --------------------------------------------------------------------


def test_the_fake_records_what_is_posted_to_a_response_url(fast_slack: FakeSlack) -> None:
    def post(body: bytes) -> tuple[int, str]:
        request = urllib.request.Request(
            fast_slack.response_url("cmd-1"),
            data=body,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    good = {"response_type": "in_channel", "text": "shared", "replace_original": False}
    assert post(json.dumps(good).encode()) == (200, "ok")
    bad_blocks = {"blocks": [{"type": "section"}]}
    assert post(json.dumps(bad_blocks).encode()) == (400, "invalid_blocks")
    assert post(b"not json") == (400, "invalid_payload")
    assert fast_slack.responses == [{"path": "/hooks/cmd-1", "body": good}]


def test_a_pacer_without_a_rate_only_keeps_holds() -> None:
    clock = SteppedClock()
    pacer = ChannelPacer(None, clock=clock.monotonic, sleep=clock.sleep)
    for _ in range(50):
        pacer.take("#inhaker")
    assert clock.now == 1000.0  # never waited
    pacer.hold("#inhaker", 5)
    pacer.same_channel("#inhaker", "C0INHAKER1")
    assert pacer.held_for("C0INHAKER1") == 5.0
    with pytest.raises(ValueError, match="per_second must be above 0"):
        ChannelPacer(0)


def test_a_paced_channel_known_by_name_and_id_shares_one_bucket() -> None:
    clock = SteppedClock()
    pacer = ChannelPacer(1.0, burst=2, clock=clock.monotonic, sleep=clock.sleep)
    pacer.take("#inhaker")
    pacer.take("#inhaker")
    pacer.same_channel("#inhaker", "C0INHAKER1")
    pacer.take("C0INHAKER1")  # the third call in a row waits a second, under either name
    assert clock.now == pytest.approx(1001.0)
