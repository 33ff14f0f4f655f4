"""The Bolt app in Socket Mode: slash commands and button clicks arrive as websocket envelopes.

slack_sdk's builtin Socket Mode client (the one `inhaker run` starts) calls apps.connections.open
on the fake Slack Web API (SLACK_API_URL), opens the ws:// URL it gets from the fake Socket Mode
server in tests/fake_socket_mode.py, and acknowledges envelopes over that socket. The store is a
real SQLite file in tmp_path.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from bot.notify.base import Alert
from bot.serialize import trend_to_dict
from bot.slack.app import build_app, socket_mode_handler
from bot.slack.blocks import CLAIM_ACTION_ID, alert_blocks
from bot.store import Store
from detectors.records import Trend
from tests.fake_slack import FakeSlack
from tests.fake_socket_mode import DEFAULT_APP_TOKEN, FakeSocketMode, payload_from_form
from tests.samples import SLACK_TEST_CONFIG, rising_twelftal, store_trend_alert
from tests.slack_requests import app_home_opened, button_click, slash_command

NOW = datetime.now(UTC)
CONFIG = SLACK_TEST_CONFIG
ALERT_ID = "trend:twelftal:20140613T1940Z"


def a_trend() -> Trend:
    return rising_twelftal(NOW)


def trends_command(text: str = "") -> dict[str, Any]:
    return payload_from_form(slash_command("/trends", text))


@pytest.fixture
def socket_mode(fake_slack: FakeSlack) -> Iterator[FakeSocketMode]:
    with FakeSocketMode(fake_slack) as server:
        yield server


@pytest.fixture
def store(database_url: str) -> Store:
    return Store(database_url)


@pytest.fixture
def handler(
    fake_slack: FakeSlack,
    socket_mode: FakeSocketMode,
    store: Store,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[SocketModeHandler]:
    """The app as `inhaker run` wires it, without a signing secret, connected over Socket Mode."""
    monkeypatch.setenv("SLACK_API_URL", fake_slack.base_url)
    monkeypatch.delenv("SLACK_SIGNING_SECRET", raising=False)
    app = build_app(store, CONFIG, token=fake_slack.token)
    socket_handler = socket_mode_handler(app, DEFAULT_APP_TOKEN)
    socket_handler.connect()
    try:
        yield socket_handler
    finally:
        socket_handler.close()


def test_trends_command_is_answered_in_the_ack_and_survives_a_reconnect(
    handler: SocketModeHandler, socket_mode: FakeSocketMode, fake_slack: FakeSlack, store: Store
) -> None:
    store.replace_current_trends([trend_to_dict(a_trend())], NOW)
    first = socket_mode.wait_for_connections(1)
    assert len(fake_slack.calls_to("apps.connections.open")) == 1

    answer = socket_mode.request("slash_commands", trends_command())
    assert answer["response_type"] == "ephemeral"
    shown = json.dumps(answer["blocks"], ensure_ascii=False)
    assert "Rising now" in shown
    assert "#twelftal" in shown
    assert "42 posts" in shown

    # Slack refreshes connections now and then: a disconnect message, then the socket closes.
    socket_mode.drop()
    second = socket_mode.wait_for_connections(2)
    assert not first.open
    assert socket_mode.open_calls == 2  # a fresh URL from apps.connections.open
    assert second.ticket != first.ticket
    help_answer = socket_mode.request("slash_commands", trends_command("help"))
    assert "/inhaker sources" in json.dumps(help_answer)
    # The answer came over the new connection, not a leftover of the old one.
    assert any(m.get("envelope_id") for m in second.received)

    handler.close()
    socket_mode.wait_until_closed(second)
    assert len(socket_mode.connections) == 2
    assert socket_mode.open_calls == 2


def test_connection_lost_without_warning_is_reopened(
    handler: SocketModeHandler, socket_mode: FakeSocketMode
) -> None:
    """No disconnect message (a Slack edge dies): slack_sdk notices at its next state check,
    every `ping_interval` (10 s in Bolt's SocketModeHandler), hence the longer bound."""
    first = socket_mode.wait_for_connections(1)
    socket_mode.drop(warn=False)
    socket_mode.wait_for_connections(2, timeout=handler.client.ping_interval + 5)
    assert not first.open
    answer = socket_mode.request("slash_commands", trends_command())
    assert "Nothing is rising" in answer["text"]


def test_button_click_stores_feedback_and_edits_the_alert(
    handler: SocketModeHandler, socket_mode: FakeSocketMode, fake_slack: FakeSlack, store: Store
) -> None:
    alert = Alert(id=ALERT_ID, kind="trend", channel="#inhaker", created_at=NOW, trend=a_trend())
    blocks = alert_blocks(alert)
    store_trend_alert(store, a_trend(), ALERT_ID, NOW)
    web = WebClient(token=fake_slack.token, base_url=fake_slack.base_url)
    posted = web.chat_postMessage(channel="#inhaker", text="alert", blocks=blocks)
    channel, ts = posted["channel"], posted["ts"]

    click = payload_from_form(
        button_click(CLAIM_ACTION_ID, ALERT_ID, channel=channel, ts=ts, blocks=blocks)
    )
    assert socket_mode.request("interactive", click) == {}  # a bare ack, within Slack's 3 s

    def edited() -> dict[str, Any] | None:
        message = fake_slack.message(channel, ts)
        return message if message and message["history"] else None

    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not edited():
        time.sleep(0.02)
    message = edited()
    assert message is not None, fake_slack.calls
    assert len(fake_slack.calls_to("chat.update")) == 1
    shown = json.dumps(message["blocks"], ensure_ascii=False)
    assert "<@U0USER1>" in shown
    assert "took this" in shown
    assert CLAIM_ACTION_ID not in shown  # nobody else can take it now
    assert "inhaker_done" in shown  # the claimer can say the team hooked in
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not store.feedback_for(ALERT_ID):
        time.sleep(0.02)
    assert [(user, action) for user, action, _ in store.feedback_for(ALERT_ID)] == [
        ("U0USER1", "claim")
    ]


def test_only_the_app_token_opens_a_connection(
    fake_slack: FakeSlack, socket_mode: FakeSocketMode
) -> None:
    """What the fake enforces, as Slack does: xapp- for apps.connections.open, and only there."""
    web = WebClient(base_url=fake_slack.base_url)
    with pytest.raises(SlackApiError) as bot_token:
        web.apps_connections_open(app_token=fake_slack.token)
    assert bot_token.value.response["error"] == "not_allowed_token_type"
    with pytest.raises(SlackApiError) as unknown:
        web.apps_connections_open(app_token="xapp-1-A0OTHER-1-nope")
    assert unknown.value.response["error"] == "invalid_auth"
    with pytest.raises(SlackApiError) as wrong_method:
        WebClient(token=DEFAULT_APP_TOKEN, base_url=fake_slack.base_url).chat_postMessage(
            channel="#inhaker", text="hi"
        )
    assert wrong_method.value.response["error"] == "not_allowed_token_type"
    assert socket_mode.open_calls == 0
    url = web.apps_connections_open(app_token=DEFAULT_APP_TOKEN)["url"]
    assert url.startswith(f"ws://127.0.0.1:{socket_mode.port}/link/?ticket=")
    with connect(url, open_timeout=5) as ws:  # each ticket opens one connection
        assert json.loads(ws.recv(timeout=5))["type"] == "hello"
    with pytest.raises(InvalidStatus) as reused:
        connect(url, open_timeout=5)
    assert reused.value.response.status_code == 401


def test_inhaker_run_answers_over_socket_mode_and_stops_cleanly(
    database_url: str, tmp_path: Path, fake_slack: FakeSlack, socket_mode: FakeSocketMode
) -> None:
    """`inhaker run` as a user starts it, with both Slack tokens: no public URL involved."""
    config = tmp_path / "feeds.yaml"
    config.write_text("sources: []\n", encoding="utf-8")
    database = database_url
    Store(database).replace_current_trends([trend_to_dict(a_trend())], NOW)
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": fake_slack.token,
        "SLACK_APP_TOKEN": DEFAULT_APP_TOKEN,
        "SLACK_API_URL": fake_slack.base_url,
        "DATABASE_URL": database,
    }
    env.pop("SLACK_SIGNING_SECRET", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run", "--config", str(config)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # Starting Python and importing the app takes a few seconds on a slow machine.
        conn = socket_mode.wait_for_connections(1, timeout=30)
        answer = socket_mode.request("slash_commands", trends_command())
        assert answer["response_type"] == "ephemeral"
        assert "#twelftal" in json.dumps(answer["blocks"], ensure_ascii=False)

        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=5)
    assert process.returncode == 0, err
    assert "Slack Socket Mode connected" in err
    assert "stopped cleanly" in err
    socket_mode.wait_until_closed(conn)
    assert len(socket_mode.connections) == 1


@pytest.mark.parametrize(
    ("bot_token", "app_token", "expected"),
    [
        ("xoxb-not-a-real-token", DEFAULT_APP_TOKEN, "check SLACK_BOT_TOKEN"),
        (None, "xapp-not-a-real-token", "check SLACK_APP_TOKEN"),
    ],
)
def test_wrong_slack_tokens_get_one_clear_line_not_a_traceback(
    database_url: str,
    tmp_path: Path,
    fake_slack: FakeSlack,
    socket_mode: FakeSocketMode,
    bot_token: str | None,
    app_token: str,
    expected: str,
) -> None:
    config = tmp_path / "feeds.yaml"
    config.write_text("sources: []\n", encoding="utf-8")
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": bot_token or fake_slack.token,
        "SLACK_APP_TOKEN": app_token,
        "SLACK_API_URL": fake_slack.base_url,
        "DATABASE_URL": database_url,
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run", "--config", str(config)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert "not-a-real-token" not in result.stderr  # secrets never reach the output


def test_inhaker_subcommands_and_the_home_tab_over_socket_mode(
    handler: SocketModeHandler, socket_mode: FakeSocketMode, fake_slack: FakeSlack, store: Store
) -> None:
    store.replace_current_trends([trend_to_dict(a_trend())], NOW)
    socket_mode.wait_for_connections(1)
    why = socket_mode.request(
        "slash_commands", payload_from_form(slash_command("/inhaker", "why #twelftal"))
    )
    assert "Why #twelftal fired" in json.dumps(why, ensure_ascii=False)
    added = socket_mode.request(
        "slash_commands", payload_from_form(slash_command("/inhaker", "watch add werkplek"))
    )
    assert "Watching `werkplek`" in added["text"]
    assert [w.term for w in store.watch_terms()] == ["werkplek"]

    envelope = socket_mode.send_envelope("events_api", app_home_opened(user="U0USER1"))
    assert socket_mode.wait_for_ack(envelope) == {}
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and "U0USER1" not in fake_slack.views:
        time.sleep(0.02)
    home = json.dumps(fake_slack.views["U0USER1"]["blocks"], ensure_ascii=False)
    assert "#twelftal" in home
    assert "*Yours:* `werkplek`" in home


def test_a_redelivered_click_envelope_is_acknowledged_but_not_repeated(
    handler: SocketModeHandler, socket_mode: FakeSocketMode, fake_slack: FakeSlack, store: Store
) -> None:
    """Slack redelivers an envelope whose ack it did not get (retry_attempt > 0): same click."""
    store_trend_alert(store, a_trend(), ALERT_ID, NOW)
    socket_mode.wait_for_connections(1)
    click = payload_from_form(
        button_click(
            "inhaker_useful",
            ALERT_ID,
            channel="C0INHAKER1",
            ts="1700000000.000100",
            blocks=[],
            action_ts="1764252000.000001",
        )
    )
    assert socket_mode.request("interactive", click) == {}
    assert socket_mode.request("interactive", click) == {}
    deadline = time.monotonic() + 1.5  # time for a repeat to show up, were it run
    while time.monotonic() < deadline and len(store.feedback_for(ALERT_ID)) < 2:
        time.sleep(0.02)
    assert [a for _, a, _ in store.feedback_for(ALERT_ID)] == ["useful"]


SUBCOMMANDS = [
    ("trends", "Rising now"),
    ("calls", "Open calls"),
    ("why #twelftal", "Why #twelftal fired"),
    ("watch add werkplek", "Watching `werkplek`"),
    ("watch list", "Watch terms"),
    ("mute voetbal for 1h", "Muted `voetbal`"),
    ("mutes", "`voetbal` until"),
    ("unmute voetbal", "no longer muted"),
    ("sources", "Sources"),
    ("leaderboard", "Leaderboard"),
    ("digest", "A preview."),
    ("help", "/inhaker trends"),
    ("nonsense", "I don't know `nonsense`"),
]


def test_every_subcommand_is_answered_over_socket_mode(
    handler: SocketModeHandler, socket_mode: FakeSocketMode, store: Store
) -> None:
    store.replace_current_trends([trend_to_dict(a_trend())], NOW)
    socket_mode.wait_for_connections(1)
    for text, expected in SUBCOMMANDS:
        answer = socket_mode.request(
            "slash_commands", payload_from_form(slash_command("/inhaker", text))
        )
        assert answer.get("response_type") == "ephemeral", text
        assert expected in json.dumps(answer, ensure_ascii=False), (text, answer)


@pytest.mark.parametrize(
    ("action_id", "stored"),
    [
        ("inhaker_claim", ["claim"]),
        ("inhaker_useful", ["useful"]),
        ("inhaker_not_relevant", ["not_relevant"]),
        ("inhaker_snooze", ["snooze"]),
        ("inhaker_mute", ["mute"]),
    ],
)
def test_every_alert_button_works_over_socket_mode(
    handler: SocketModeHandler,
    socket_mode: FakeSocketMode,
    fake_slack: FakeSlack,
    store: Store,
    action_id: str,
    stored: list[str],
) -> None:
    store_trend_alert(store, a_trend(), ALERT_ID, NOW)
    web = WebClient(token=fake_slack.token, base_url=fake_slack.base_url)
    posted = web.chat_postMessage(channel="#inhaker", text="alert", blocks=[])
    socket_mode.wait_for_connections(1)
    click = payload_from_form(
        button_click(action_id, ALERT_ID, channel=posted["channel"], ts=posted["ts"], blocks=[])
    )
    assert socket_mode.request("interactive", click) == {}  # a bare ack at once
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not fake_slack.calls_to("chat.update"):
        time.sleep(0.02)
    assert [a for _, a, _ in store.feedback_for(ALERT_ID)] == stored
    message = fake_slack.message(posted["channel"], posted["ts"])
    assert message is not None
    assert message["history"], "the message was not re-rendered"
