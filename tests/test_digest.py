"""The digest and held alerts: what the morning summary shows, that it is posted exactly once to
its channel, and that nothing held during quiet hours is lost or posted twice.

Real SQLite store, the real AlertPolicy and outbox, the real SlackNotifier against the fake
Slack Web API, a fixed clock; the CLI runs in a subprocess as an operator would run it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.alerts import AlertPolicy
from bot.config import Config, parse_config
from bot.delivery import deliver_outbox
from bot.digest import build_digest, queue_digest, release_held
from bot.notify.base import Alert
from bot.notify.slack import SlackNotifier
from bot.pipeline import Engine
from bot.scheduler import Runner
from bot.serialize import trend_to_dict
from bot.slack.blocks import digest_blocks
from bot.store import Store
from detectors.records import Opportunity, Trend
from tests.conftest import PROXY_VARS
from tests.fake_slack import FakeSlack, validate_blocks

EVENING = datetime(2026, 11, 29, 17, 0, tzinfo=UTC)  # 18:00 in Amsterdam
NIGHT = datetime(2026, 11, 29, 22, 30, tzinfo=UTC)  # 23:30: quiet
MORNING = datetime(2026, 11, 30, 7, 30, tzinfo=UTC)  # 08:30: the digest

SOURCES = """
sources:
  - id: emerce
    name: Emerce
    kind: rss
    url: https://www.emerce.nl/rss
    lang: nl
opportunities:
  enabled: true
  max_age: 3d
"""
QUIET = """
slack:
  channel: "#inhaker"
  timezone: Europe/Amsterdam
  quiet_hours: {start: "22:00", end: "07:00", urgent_score: 20}
"""
WITH_DIGEST = QUIET + '  digest: {times: ["08:30"], channel: "#digest", top: 3}\n'


def config_from(*parts: str) -> Config:
    return parse_config("\n".join(parts), file="feeds.yaml")


def make_trend(lead: str, *, count: int = 30, at: datetime = NIGHT, score: float = 9.0) -> Trend:
    return Trend(
        key=f"trend:{lead}",
        title=f"#{lead}",
        terms=(lead,),
        detected_at=at,
        score=score,
        count=count,
        baseline_rate=1.0,
        ratio=(count + 1) / 2,
        authors=count // 2,
        sources=("emerce",),
        evidence=(),
        stage="rising",
    )


def make_call(
    post_id: str, deadline: str | None, *, title: str = "Sprekers gezocht"
) -> Opportunity:
    return Opportunity(
        key=f"opportunity:emerce:{post_id}",
        post_id=post_id,
        source="emerce",
        detected_at=EVENING,
        score=0.9,
        category="speakers",
        deadline=deadline,
        asker="Emerce",
        text=f"{title} voor het Emerce-congres.",
        title=title,
        url=f"https://www.emerce.nl/{post_id}",
    )


@pytest.fixture
def store(database_url: str) -> Store:
    return Store(database_url)


@pytest.fixture
def notifier(fake_slack: FakeSlack) -> SlackNotifier:
    return SlackNotifier(fake_slack.token, base_url=fake_slack.base_url)


def deliver(store: Store, notifier: SlackNotifier, now: datetime) -> None:
    report = deliver_outbox(store, notifier, store.posts_by_uids, {"emerce": "Emerce"}, now)
    assert report.error is None


def all_text(blocks: list[dict[str, Any]]) -> str:
    return str(blocks)


def test_the_morning_digest_collects_the_night_and_is_posted_once(
    store: Store, notifier: SlackNotifier, fake_slack: FakeSlack
) -> None:
    config = config_from(SOURCES, WITH_DIGEST)
    policy = AlertPolicy(config, store)
    # Evening: an open call goes out at once; one whose deadline will have passed, too.
    policy.consider_opportunity(make_call("open", "2026-12-05"), EVENING, EVENING)
    policy.consider_opportunity(
        make_call("closed", "2026-11-29", title="Gisteren"), EVENING, EVENING
    )
    deliver(store, notifier, EVENING)
    assert len(fake_slack.messages("#inhaker")) == 2
    # Night: an ordinary trend waits.
    policy.consider_trends([make_trend("twelftal")], NIGHT)
    deliver(store, notifier, NIGHT)
    assert len(fake_slack.messages("#inhaker")) == 2
    store.replace_current_trends(
        [
            trend_to_dict(make_trend(t, count=c, at=MORNING))
            for t, c in [("oranje", 80), ("ns", 40)]
        ],
        MORNING,
    )

    assert queue_digest(store, config, MORNING, "08:30")
    deliver(store, notifier, MORNING)

    [digest] = fake_slack.messages("#digest")
    blocks = digest["blocks"]
    assert validate_blocks(blocks) == []
    assert blocks[0]["text"]["text"] == "🗞️ Inhaker digest · Mon 30 Nov, 08:30"
    text = all_text(blocks)
    assert "*#oranje*" in text
    assert "*#ns*" in text
    assert "80 posts" in text
    assert "*Emerce* (speakers): Sprekers gezocht · deadline 2026-12-05 (in 5 days)" in text
    assert "Gisteren" not in text  # its deadline passed
    assert "🌙 Held during quiet hours" in text
    assert "📈 *#twelftal* — rising; 30 posts" in text
    assert not [b for b in blocks if b["type"] == "actions"]  # a summary has no buttons
    assert digest["text"].startswith("🗞️ Inhaker digest 08:30: 2 trends rising, 1 open call")
    assert [row.status for row in store.all_alerts() if row.kind == "trend"] == ["digested"]

    # The job runs again (a restart, a second process): still one digest.
    assert not queue_digest(store, config, MORNING + timedelta(minutes=1), "08:30")
    deliver(store, notifier, MORNING + timedelta(minutes=1))
    assert len(fake_slack.messages("#digest")) == 1
    # The digested trend keeps firing in the morning: it is never posted on its own.
    later = MORNING + timedelta(minutes=30)
    policy.consider_trends([make_trend("twelftal", count=90, at=later)], later)
    assert release_held(store, config, later) == 0
    deliver(store, notifier, later)
    assert len(fake_slack.messages("#inhaker")) == 2
    assert len(fake_slack.messages()) == 3


def test_without_a_digest_held_alerts_go_out_when_the_quiet_hours_end(
    store: Store, notifier: SlackNotifier, fake_slack: FakeSlack
) -> None:
    config = config_from(SOURCES, QUIET)
    policy = AlertPolicy(config, store)
    policy.consider_trends([make_trend("twelftal")], NIGHT)
    policy.consider_opportunity(make_call("open", "2026-12-05"), NIGHT, NIGHT)
    six_am = datetime(2026, 11, 30, 5, 0, tzinfo=UTC)
    assert release_held(store, config, six_am) == 0  # still quiet
    deliver(store, notifier, six_am)
    assert fake_slack.messages() == []

    seven_am = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
    assert release_held(store, config, seven_am) == 2
    deliver(store, notifier, seven_am)
    deliver(store, notifier, seven_am + timedelta(minutes=1))
    headers = [m["blocks"][0]["text"]["text"] for m in fake_slack.messages("#inhaker")]
    assert headers == ["📈 Rising: #twelftal", "🎯 Open call: Emerce"]
    assert release_held(store, config, seven_am + timedelta(minutes=1)) == 0


def test_a_long_digest_stays_within_block_kit_limits(store: Store) -> None:
    config = config_from(SOURCES, WITH_DIGEST)
    policy = AlertPolicy(config, store)
    long_title = "Open call <with> & " + "heel lang " * 60
    for i in range(45):
        policy.consider_opportunity(
            make_call(f"c{i}", "2026-12-24", title=long_title), NIGHT, NIGHT
        )
    store.replace_current_trends(
        [trend_to_dict(make_trend(f"topic{i}", at=MORNING)) for i in range(20)], MORNING
    )
    digest = build_digest(store, config, MORNING, "08:30")
    assert len(digest.held) == 30
    assert digest.more_held == 15
    assert len(digest.held_ids) == 45
    blocks = digest_blocks(digest.to_payload(), MORNING)
    assert validate_blocks(blocks) == []
    text = all_text(blocks)
    assert "…and 15 more" in text
    assert "Open call &lt;with&gt; &amp;" in text
    assert "<with>" not in text


def test_runner_schedules_the_digest_in_the_teams_time_zone_and_posts_it(
    store: Store, notifier: SlackNotifier, fake_slack: FakeSlack
) -> None:
    config = config_from(
        WITH_DIGEST.replace('times: ["08:30"]', 'times: ["08:30", "17:00"]'),
        "opportunities: {enabled: false}",
    )
    runner = Runner(config, store, notifier, clock=lambda: MORNING)
    runner.start()
    try:
        jobs = {job.id: job for job in runner._scheduler.get_jobs()}  # type: ignore[union-attr]
        fires = jobs["digest:08:30"].trigger.get_next_fire_time(None, EVENING)
        assert fires == datetime(2026, 11, 30, 8, 30, tzinfo=ZoneInfo("Europe/Amsterdam"))
        assert "digest:17:00" in jobs
    finally:
        runner.stop()
    # Without a running scheduler, the digest job delivers itself.
    runner = Runner(config, store, notifier, clock=lambda: MORNING)
    assert runner.digest("08:30")
    [message] = fake_slack.messages("#digest")
    assert message["text"].startswith("🗞️ Inhaker digest 08:30")


def run_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env=env,
    )


def test_inhaker_digest_posts_the_digest_now(
    database_url: str, tmp_path: Path, fake_slack: FakeSlack
) -> None:
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(SOURCES + WITH_DIGEST, encoding="utf-8")
    store = Store(database_url)
    now = datetime.now(UTC)
    store.replace_current_trends([trend_to_dict(make_trend("oranje", at=now))], now)
    # A pending alert is the running worker's to send: `inhaker digest` must leave it alone,
    # or the two processes could post it twice.
    store.add_alert(
        alert_id="trend:pending:1",
        kind="trend",
        key="trend:pending",
        title="#pending",
        terms=("pending",),
        payload={"trend": trend_to_dict(make_trend("pending", at=now))},
        channel="#inhaker",
        now=now,
    )
    store.close()
    env = {k: v for k, v in os.environ.items() if k not in PROXY_VARS}
    env.update(
        SLACK_BOT_TOKEN=fake_slack.token,
        SLACK_API_URL=fake_slack.base_url,
        DATABASE_URL=database_url,
    )

    dry = run_cli(["digest", "--config", str(feeds), "--dry-run"], env)
    assert dry.returncode == 0, dry.stderr
    assert "DIGEST" in dry.stdout
    assert "#oranje [rising]: 30 posts" in dry.stdout
    assert fake_slack.messages() == []

    result = run_cli(["digest", "--config", str(feeds)], env)
    assert result.returncode == 0, result.stderr
    [message] = fake_slack.messages("#digest")
    assert message["blocks"][0]["text"]["text"].startswith("🗞️ Inhaker digest · ")
    assert "#oranje" in str(message["blocks"])
    assert "for #digest: posted" in result.stderr
    assert fake_slack.messages("#inhaker") == []


def test_the_console_prints_a_digest_without_slack() -> None:
    """Without a Slack token alerts go to the terminal; a digest must not vanish there."""
    from bot.notify.console import render_alert

    text = render_alert(
        Alert(
            id="digest:2026-11-27T08:30",
            kind="digest",
            channel="#inhaker",
            created_at=datetime(2026, 11, 27, 7, 30, tzinfo=UTC),
            digest={"slot": "08:30", "day": "2026-11-27", "trends": [], "calls": [], "held": []},
        )
    )
    assert "08:30" in text


def test_the_engine_tick_releases_held_alerts_after_the_quiet_hours(
    store: Store, notifier: SlackNotifier, fake_slack: FakeSlack
) -> None:
    """`run --once` and `replay` have no scheduler jobs: the tick itself releases held alerts."""
    config = config_from(SOURCES, QUIET)
    AlertPolicy(config, store).consider_trends([make_trend("twelftal")], NIGHT)
    engine = Engine(config, store, notifier)
    engine.tick(datetime(2026, 11, 30, 5, 0, tzinfo=UTC))  # 06:00 in Amsterdam: still quiet
    assert fake_slack.messages() == []
    engine.tick(datetime(2026, 11, 30, 6, 1, tzinfo=UTC))  # 07:01
    assert [m["blocks"][0]["text"]["text"] for m in fake_slack.messages("#inhaker")] == [
        "📈 Rising: #twelftal"
    ]
