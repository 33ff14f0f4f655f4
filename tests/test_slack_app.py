"""The Bolt app in HTTP mode: signed slash commands and button clicks over real HTTP.

The app runs under waitress on 127.0.0.1 (port 0) exactly as `inhaker serve` runs it; its Web API
client talks to the fake Slack through SLACK_API_URL; the store is a real SQLite file.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from waitress import create_server

from bot.notify.base import Alert
from bot.serialize import trend_to_dict
from bot.slack.app import build_app, wsgi_app
from bot.slack.blocks import CLAIM_ACTION_ID, DISMISS_ACTION_ID, alert_blocks
from bot.sources.base import SourceState
from bot.store import Store
from detectors.records import Trend
from tests.fake_slack import FakeSlack
from tests.samples import SLACK_TEST_CONFIG, rising_twelftal, store_trend_alert
from tests.slack_requests import (
    SIGNING_SECRET,
    button_click,
    post_signed,
    serve_process,
    slash_command,
)

NOW = datetime.now(UTC)
CONFIG = SLACK_TEST_CONFIG


def a_trend() -> Trend:
    return rising_twelftal(NOW)


@pytest.fixture
def store(database_url: str) -> Store:
    return Store(database_url)


@pytest.fixture
def app_url(fake_slack: FakeSlack, store: Store, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("SLACK_API_URL", fake_slack.base_url)
    app = build_app(store, CONFIG, token=fake_slack.token, signing_secret=SIGNING_SECRET)
    server = create_server(wsgi_app(app), host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()
    thread.join(timeout=5)


def test_trends_command_answers_with_current_trends(app_url: str, store: Store) -> None:
    store.replace_current_trends([trend_to_dict(a_trend())], NOW)
    response = post_signed(f"{app_url}/slack/events", slash_command("/trends"))
    assert response.status_code == 200
    answer = response.json()
    assert answer["response_type"] == "ephemeral"
    shown = json.dumps(answer["blocks"], ensure_ascii=False)
    assert "#twelftal" in shown
    assert "42 posts" in shown
    assert "8.4×" in shown


def test_trends_command_before_any_detection_says_so(app_url: str) -> None:
    response = post_signed(f"{app_url}/slack/events", slash_command("/trends"))
    assert response.status_code == 200
    shown = json.dumps(response.json()["blocks"])
    assert "Nothing is rising" in shown
    assert "inhaker run" in shown


def test_trends_sources_shows_health(app_url: str, store: Store) -> None:
    store.save_source_state(
        SourceState(
            source_id="nos",
            last_polled_at=NOW,
            last_error="rss source 'nos': timed out after 15s",
            failures_in_a_row=3,
        )
    )
    response = post_signed(f"{app_url}/slack/events", slash_command("/trends", "sources"))
    shown = json.dumps(response.json()["blocks"])
    assert "3 failures in a row" in shown
    assert "timed out" in shown


def test_unknown_subcommand_gets_help_not_an_error(app_url: str) -> None:
    response = post_signed(f"{app_url}/slack/events", slash_command("/inhaker", "frobnicate"))
    assert response.status_code == 200
    body = json.dumps(response.json())
    assert "frobnicate" in body
    assert "/inhaker sources" in body


def test_bad_signature_and_stale_timestamp_are_rejected(app_url: str) -> None:
    body = slash_command("/trends")
    forged = post_signed(f"{app_url}/slack/events", body, signature="v0=" + "0" * 64)
    assert forged.status_code == 401
    wrong_secret = post_signed(f"{app_url}/slack/events", body, secret="not-the-secret")
    assert wrong_secret.status_code == 401
    stale = post_signed(f"{app_url}/slack/events", body, timestamp=int(time.time()) - 10 * 60)
    assert stale.status_code == 401


def test_health_endpoint(app_url: str) -> None:
    assert httpx.get(f"{app_url}/healthz", trust_env=False).text == "ok\n"


def _posted_alert(fake_slack: FakeSlack) -> tuple[str, str, list[dict[str, Any]]]:
    alert = Alert(
        id="trend:twelftal:20140613T1940Z",
        kind="trend",
        channel="#inhaker",
        created_at=NOW,
        trend=a_trend(),
    )
    blocks = alert_blocks(alert)
    response = httpx.post(
        f"{fake_slack.base_url}chat.postMessage",
        json={"channel": "#inhaker", "text": "alert", "blocks": blocks},
        headers={"Authorization": f"Bearer {fake_slack.token}"},
        trust_env=False,
    ).json()
    return response["channel"], response["ts"], blocks


@pytest.mark.parametrize(
    ("action_id", "action", "shown"),
    [
        (CLAIM_ACTION_ID, "claim", "took this"),
        # Messages sent before the v0.6 buttons still have "Dismiss": it means not relevant.
        (DISMISS_ACTION_ID, "not_relevant", "Not relevant for"),
    ],
)
def test_buttons_store_feedback_and_show_who_for_everyone(
    app_url: str, store: Store, fake_slack: FakeSlack, action_id: str, action: str, shown: str
) -> None:
    store_trend_alert(store, a_trend(), "trend:twelftal:20140613T1940Z", NOW)
    channel, ts, blocks = _posted_alert(fake_slack)
    body = button_click(
        action_id, "trend:twelftal:20140613T1940Z", channel=channel, ts=ts, blocks=blocks
    )
    response = post_signed(f"{app_url}/slack/events", body)
    assert response.status_code == 200
    # The edit happens right after the acknowledgement.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not fake_slack.calls_to("chat.update"):
        time.sleep(0.05)
    message = fake_slack.message(channel, ts)
    assert message is not None
    text = json.dumps(message["blocks"], ensure_ascii=False)
    assert shown in text
    assert "<@U0USER1>" in text
    assert (CLAIM_ACTION_ID in text) == (action != "claim")  # claimed: nobody else can take it
    feedback = store.feedback_for("trend:twelftal:20140613T1940Z")
    assert [(user, act) for user, act, _ in feedback] == [("U0USER1", action)]


@contextlib.contextmanager
def inhaker_serve(
    tmp_path: Path, fake_slack: FakeSlack, config: Path, database_url: str
) -> Iterator[str]:
    """`inhaker serve` in a subprocess on this test's store; yields its base URL. Its stderr
    (the log) is in tmp_path / "serve.log"."""
    with serve_process(
        tmp_path,
        config=config,
        database_url=database_url,
        slack_api_url=fake_slack.base_url,
        token=fake_slack.token,
    ) as events_url:
        yield events_url.removesuffix("/slack/events")


def test_inhaker_serve_answers_signed_commands(
    database_url: str, tmp_path: Path, fake_slack: FakeSlack
) -> None:
    config = tmp_path / "feeds.yaml"
    config.write_text("sources: []\n", encoding="utf-8")
    with inhaker_serve(tmp_path, fake_slack, config, database_url) as url:
        response = post_signed(f"{url}/slack/events", slash_command("/trends"))
        assert response.status_code == 200
        assert "Nothing is rising" in response.text
        assert post_signed(f"{url}/slack/events", "x=1", signature="v0=bad").status_code == 401


def _sources_answer(url: str) -> str:
    response = post_signed(f"{url}/slack/events", slash_command("/inhaker", "sources"))
    assert response.status_code == 200
    return response.text


def _source_yaml(source_id: str) -> str:
    return (
        f"  - id: {source_id}\n    kind: rss\n    url: https://{source_id}.example.nl/rss\n"
        "    interval: 10m\n"
    )


def test_inhaker_serve_follows_feeds_yaml_edits_and_keeps_the_last_good_one(
    database_url: str, tmp_path: Path, fake_slack: FakeSlack
) -> None:
    """A web process answers from the feeds.yaml in force: a source added while it serves is in
    `/inhaker sources` within seconds; a broken edit is logged with its line and the last good
    configuration keeps answering."""
    config = tmp_path / "feeds.yaml"
    config.write_text("sources:\n" + _source_yaml("emerce"), encoding="utf-8")
    with inhaker_serve(tmp_path, fake_slack, config, database_url) as url:
        first = _sources_answer(url)
        assert "emerce" in first
        assert "frankwatching" not in first

        config.write_text(
            "sources:\n" + _source_yaml("emerce") + _source_yaml("frankwatching"),
            encoding="utf-8",
        )
        deadline = time.monotonic() + 30
        while "frankwatching" not in _sources_answer(url) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert "frankwatching" in _sources_answer(url)

        config.write_text(
            "sources:\n" + _source_yaml("emerce") + "  - id: adformatie\n    kind: rss\n"
            "    url: https://adformatie.example.nl/rss\n    intervall: 10m\n",
            encoding="utf-8",
        )
        log_path = tmp_path / "serve.log"
        deadline = time.monotonic() + 30
        while "not applied" not in log_path.read_text() and time.monotonic() < deadline:
            time.sleep(0.5)
        log = log_path.read_text()
        assert "feeds.yaml edit not applied" in log
        assert f"{config}:" in log
        assert "intervall" in log
        answer = _sources_answer(url)
        assert "frankwatching" in answer
        assert "adformatie" not in answer


def test_serve_without_signing_secret_explains_the_fix(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SLACK_SIGNING_SECRET"}
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "serve"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "SLACK_SIGNING_SECRET is not set" in result.stderr
