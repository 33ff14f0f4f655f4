"""SlackNotifier against a fake Slack Web API over real HTTP, with the real slack_sdk WebClient.

No mocks: the notifier's own WebClient reaches tests/fake_slack.py through `base_url` /
SLACK_API_URL, so URL building, JSON bodies, the Authorization header, 429 Retry-After handling and
Block Kit validation all run for real.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.notify.base import NotifierError, split_ref
from bot.notify.slack import SlackNotifier
from tests.fake_slack import DEFAULT_TOKEN, FakeSlack
from tests.test_blocks import (
    NOW,
    make_post,
    make_trend,
    opportunity_alert,
    trend_alert,
)


def sent_ts(ref: str | None) -> str:
    """The Slack ts inside a notifier reference ("C0123:1700000000.000100")."""
    assert ref is not None
    return split_ref(ref)[1]


@pytest.fixture
def notifier(fake_slack: FakeSlack) -> SlackNotifier:
    return SlackNotifier(DEFAULT_TOKEN, base_url=fake_slack.base_url)


def test_from_env_posts_a_trend_alert_with_header_why_line_and_buttons(
    fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", DEFAULT_TOKEN)
    monkeypatch.setenv("SLACK_API_URL", fake_slack.base_url.rstrip("/"))  # "/" gets added
    notifier = SlackNotifier.from_env()

    ts = sent_ts(notifier.send(trend_alert()))

    [message] = fake_slack.messages("#inhaker")
    assert message["ts"] == ts
    assert message["channel"] == "C0INHAKER1"
    assert message["text"].startswith("📈 Rising: #twelftal — 42 posts")
    blocks = message["blocks"]
    assert blocks[0]["text"]["text"] == "📈 Rising: #twelftal"
    assert "8.4× its usual rate, from 17 authors across 3 sources" in blocks[1]["text"]["text"]
    assert [e["action_id"] for e in blocks[-1]["elements"]] == [
        "inhaker_claim",
        "inhaker_useful",
        "inhaker_not_relevant",
        "inhaker_snooze",
        "inhaker_mute",
    ]
    [(method, params)] = fake_slack.calls
    assert method == "chat.postMessage"
    assert params["unfurl_links"] is False  # sent as JSON, so types survive


def test_from_env_without_token_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    with pytest.raises(ValueError, match="SLACK_BOT_TOKEN is not set"):
        SlackNotifier.from_env()


def test_bad_slack_api_url_is_rejected() -> None:
    with pytest.raises(ValueError, match="must be an http"):
        SlackNotifier("xoxb-1", base_url="ftp://example/api/")


def test_opportunity_alert_lands(fake_slack: FakeSlack, notifier: SlackNotifier) -> None:
    ts = sent_ts(notifier.send(opportunity_alert()))
    [message] = fake_slack.messages("C0INHAKER1")
    assert message["ts"] == ts
    assert message["blocks"][0]["text"]["text"] == "🎯 Open call: Emerce"
    fields = [f["text"] for f in message["blocks"][2]["fields"]]
    assert "*Deadline*\n2014-06-20 (in 7 days)" in fields


def test_update_edits_the_same_message(fake_slack: FakeSlack, notifier: SlackNotifier) -> None:
    ts = sent_ts(notifier.send(trend_alert()))
    assert ts is not None
    bigger = trend_alert(
        trend=make_trend(count=97, ratio=19.2),
        is_update=True,
        created_at=NOW + timedelta(minutes=15),
    )
    notifier.update(bigger, ts)

    [message] = fake_slack.messages()
    assert message["ts"] == ts
    assert "97 posts" in message["blocks"][1]["text"]["text"]
    assert len(message["history"]) == 1
    assert "42 posts" in message["history"][0]["blocks"][1]["text"]["text"]
    assert [m for m, _ in fake_slack.calls] == ["chat.postMessage", "chat.update"]


def test_update_after_restart_needs_no_lookup_with_the_ref_from_send(
    fake_slack: FakeSlack, notifier: SlackNotifier
) -> None:
    ref = notifier.send(trend_alert())
    assert ref == f"C0INHAKER1:{fake_slack.messages()[0]['ts']}"
    fresh = SlackNotifier(DEFAULT_TOKEN, base_url=fake_slack.base_url)  # knows no channel ids

    fresh.update(trend_alert(is_update=True), ref)

    assert [m for m, _ in fake_slack.calls][-1:] == ["chat.update"]
    assert not fake_slack.calls_to("conversations.list")
    assert len(fake_slack.messages()) == 1
    assert len(fake_slack.messages()[0]["history"]) == 1


def test_update_with_a_bare_ts_looks_up_the_channel_id(
    fake_slack: FakeSlack, notifier: SlackNotifier
) -> None:
    ts = sent_ts(notifier.send(trend_alert()))
    fresh = SlackNotifier(DEFAULT_TOKEN, base_url=fake_slack.base_url)  # knows no channel ids

    fresh.update(trend_alert(is_update=True), ts)

    assert [m for m, _ in fake_slack.calls][-2:] == ["conversations.list", "chat.update"]
    assert len(fake_slack.messages()) == 1
    assert len(fake_slack.messages()[0]["history"]) == 1


def test_update_of_unknown_message_raises(fake_slack: FakeSlack, notifier: SlackNotifier) -> None:
    notifier.send(trend_alert())
    with pytest.raises(NotifierError, match=r"chat\.update to #inhaker failed: message_not_found"):
        notifier.update(trend_alert(), "1600000000.000100")


def test_rate_limited_once_then_delivered_exactly_once(
    fake_slack: FakeSlack, notifier: SlackNotifier
) -> None:
    fake_slack.fail_next(1, status=429, retry_after=1)

    ts = sent_ts(notifier.send(trend_alert()))

    assert [m["ts"] for m in fake_slack.messages()] == [ts]
    assert len(fake_slack.calls_to("chat.postMessage")) == 2


def test_rate_limit_exhausted_is_one_human_line(
    fake_slack: FakeSlack, notifier: SlackNotifier
) -> None:
    fake_slack.fail_next(4, status=429, retry_after=0)  # 1 try + 3 retries, all refused

    with pytest.raises(NotifierError) as info:
        notifier.send(trend_alert())

    assert str(info.value) == (
        "slack: chat.postMessage to #inhaker failed: ratelimited — will retry on the next tick"
    )
    assert len(fake_slack.calls_to("chat.postMessage")) == 4
    assert fake_slack.messages() == []


def test_long_retry_after_is_left_to_the_next_tick(
    fake_slack: FakeSlack, notifier: SlackNotifier
) -> None:
    fake_slack.fail_next(1, status=429, retry_after=60)  # more than the notifier will sleep

    with pytest.raises(NotifierError, match="ratelimited"):
        notifier.send(trend_alert())

    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    assert notifier.send(trend_alert()) is not None  # the next tick goes through


def test_a_client_passed_in_is_used_as_is(fake_slack: FakeSlack) -> None:
    client = WebClient(token=DEFAULT_TOKEN, base_url=fake_slack.base_url, retry_handlers=[])
    notifier = SlackNotifier("ignored", client=client)
    fake_slack.fail_next(1, status=429, retry_after=1)

    with pytest.raises(NotifierError, match="ratelimited"):
        notifier.send(trend_alert())  # no retry handlers: gives up at the first 429

    assert notifier.client is client


def test_outage_raises_notifier_error_and_posts_nothing(
    fake_slack: FakeSlack, notifier: SlackNotifier
) -> None:
    fake_slack.outage(True)

    with pytest.raises(NotifierError) as info:
        notifier.send(trend_alert())

    assert str(info.value) == (
        "slack: chat.postMessage to #inhaker failed: HTTP 500 from Slack"
        " — will retry on the next tick"
    )
    assert fake_slack.messages() == []
    # A post is never repeated inside the client: Slack may have posted it; the outbox searches
    # the channel first, then retries on the next tick.
    assert len(fake_slack.calls_to("chat.postMessage")) == 1

    fake_slack.outage(False)
    assert notifier.send(trend_alert()) is not None
    assert len(fake_slack.messages()) == 1


def test_invalid_token_raises_without_leaking_it(fake_slack: FakeSlack) -> None:
    secret = "xoxb-not-the-right-one-123456"
    notifier = SlackNotifier(secret, base_url=fake_slack.base_url)

    with pytest.raises(NotifierError, match="invalid_auth") as info:
        notifier.send(trend_alert())

    assert secret not in str(info.value)
    assert secret not in str(info.value.__cause__)
    assert fake_slack.messages() == []


def test_unreachable_slack_raises_notifier_error() -> None:
    with FakeSlack() as gone:
        url = gone.base_url  # a port nobody listens on once the server stops
    notifier = SlackNotifier(DEFAULT_TOKEN, base_url=url)

    with pytest.raises(NotifierError, match=r"failed: cannot reach Slack \(.+\) — will retry"):
        notifier.send(trend_alert())


def test_trend_with_500_huge_evidence_posts_is_accepted(
    fake_slack: FakeSlack, notifier: SlackNotifier
) -> None:
    posts = tuple(
        make_post(i, text=f"{i} <b>&</b> " + "lang verhaal " * 2000, url=f"https://e.x/{i}?a=1&b=2")
        for i in range(500)
    )
    trend = make_trend(
        evidence=tuple(f"t-{i}" for i in range(100)),
        sparkline=tuple(range(500)),
        terms=tuple(f"term{i}" for i in range(300)),
    )

    ts = sent_ts(notifier.send(trend_alert(trend=trend, top_posts=posts)))

    [message] = fake_slack.messages()
    assert message["ts"] == ts
    assert len(message["blocks"]) <= 50


# --- the fake itself ------------------------------------------------------------------------


def test_fake_rejects_blocks_over_the_limits_like_slack(fake_slack: FakeSlack) -> None:
    client = WebClient(token=DEFAULT_TOKEN, base_url=fake_slack.base_url)
    too_many = [{"type": "divider"}] * 51
    too_long = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]
    bad_button = [
        {
            "type": "actions",
            "elements": [{"type": "button", "text": {"type": "plain_text", "text": "b" * 76}}],
        }
    ]
    for blocks in (too_many, too_long, bad_button, [{"type": "nonsense"}]):
        with pytest.raises(SlackApiError) as info:
            client.chat_postMessage(channel="#inhaker", text="t", blocks=blocks)
        assert info.value.response["error"] == "invalid_blocks"
        assert info.value.response["errors"]
    assert fake_slack.messages() == []


def test_fake_accepts_form_bodies_with_json_encoded_blocks(fake_slack: FakeSlack) -> None:
    client = WebClient(token=DEFAULT_TOKEN, base_url=fake_slack.base_url)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "hoi"}}]
    client.api_call(
        "chat.postMessage",
        data={"channel": "#inhaker", "text": "hoi", "blocks": json.dumps(blocks)},
    )
    [message] = fake_slack.messages()
    assert message["blocks"] == blocks
    with pytest.raises(SlackApiError) as info:
        client.api_call("chat.postMessage", data={"channel": "#inhaker", "blocks": "[not json"})
    assert info.value.response["error"] == "invalid_blocks_format"


def test_fake_chat_update_wants_a_channel_id_and_ts_increase(fake_slack: FakeSlack) -> None:
    client = WebClient(token=DEFAULT_TOKEN, base_url=fake_slack.base_url)
    first = client.chat_postMessage(channel="#inhaker", text="1")
    second = client.chat_postMessage(channel="#inhaker", text="2")
    assert first["ts"] == "1700000000.000100"
    assert second["ts"] > first["ts"]
    with pytest.raises(SlackApiError) as info:
        client.chat_update(channel="#inhaker", ts=first["ts"], text="x")
    assert info.value.response["error"] == "channel_not_found"
    client.chat_update(channel=first["channel"], ts=first["ts"], text="x")
    assert fake_slack.message("#inhaker", first["ts"])["text"] == "x"  # type: ignore[index]


def test_fake_auth_ephemeral_and_home(fake_slack: FakeSlack) -> None:
    client = WebClient(token=DEFAULT_TOKEN, base_url=fake_slack.base_url)
    assert client.auth_test()["user_id"] == "U0INHAKER"
    client.chat_postEphemeral(channel="#inhaker", user="U123", text="Only you can see this")
    [ephemeral] = fake_slack.ephemerals("#inhaker")
    assert ephemeral["user"] == "U123"
    assert fake_slack.messages() == []
    home = {
        "type": "home",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}],
    }
    client.views_publish(user_id="U123", view=home)
    assert fake_slack.views["U123"]["blocks"] == home["blocks"]
    assert client.conversations_info(channel="C0INHAKER1")["channel"]["name"] == "inhaker"
    with pytest.raises(SlackApiError) as info:
        WebClient(token="xoxb-wrong", base_url=fake_slack.base_url).auth_test()
    assert info.value.response["error"] == "invalid_auth"


def test_update_in_a_channel_nobody_knows_says_so(fake_slack: FakeSlack) -> None:
    fresh = SlackNotifier(DEFAULT_TOKEN, base_url=fake_slack.base_url)
    with pytest.raises(NotifierError, match="channel_not_found \\(no channel named #nowhere"):
        fresh.update(trend_alert(channel="#nowhere"), "1700000000.000100")
