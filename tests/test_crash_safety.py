"""Crash safety: the bot killed with SIGKILL at random moments, 50 times — nothing lost or doubled.

A local feed keeps gaining open calls (each one alert) while the real `inhaker` CLI runs in a
subprocess against it and the fake Slack Web API, with a real SQLite file. Each life of the bot
is killed with SIGKILL at a moment drawn from a seeded RNG, within the phase it is in:
- while polling (after its first feed request),
- while delivering (after its first call to post or look up a message; the fake holds each
  post's answer a little after accepting it, so many kills land between Slack accepting a
  message and the store recording it — the window that used to double an alert),
- at any moment of a `run --once` cycle after start-up.
Most lives are `inhaker run --once` cycles (a life costs the interpreter's start-up, about 2 s);
some are the long-running `inhaker run`, killed during its first delivery round. Then one clean
`run --once`, and the checks: every call alerted exactly once (by the alert id in each message's
metadata, and by its text), nothing else posted, every item the feed offers stored, and
`PRAGMA integrity_check` ok.

Set INHAKER_CRASH_SEED to try other moments (the seed is printed, and named in every failure);
INHAKER_CRASH_KILLS changes the number of kills (50).
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.notify.slack import ALERT_EVENT
from bot.store import Store
from tests.fake_slack import FakeSlack
from tests.feed_server import FeedServer
from tests.test_e2e_run import Item, backlog, rss

SEED = int(os.environ.get("INHAKER_CRASH_SEED", "20261129"))
KILLS = int(os.environ.get("INHAKER_CRASH_KILLS", "50"))
LONG_RUN_DELIVERY_KILLS = 3  # lives of the long-running `inhaker run`, killed while delivering
LONG_RUN_POLL_KILLS = 1  # ... and killed while polling
ANSWER_DELAY = 0.15  # seconds the fake holds each chat.postMessage answer after posting
PHASE_TIMEOUT = 40.0  # seconds a life may take to reach the phase it is to be killed in

ORGS = ["Emerce", "Frankwatching", "Marketingfacts", "Adformatie", "Sprout", "Twinkle"]
WHO = ["webwinkels", "merken", "start-ups", "marketeers", "bureaus", "retailers"]
TOPICS = [
    "duurzame verpakkingen",
    "AI in klantenservice",
    "TikTok-campagnes",
    "loyaliteitsprogramma's",
    "personalisatie",
    "social commerce",
]


def call_text(n: int) -> str:
    """Open call number n: a plain call the classifier is sure of, with a unique marker."""
    org, who, topic = ORGS[n % 6], WHO[(n // 6) % 6], TOPICS[(n * 5) % 6]
    return (
        f"Oproep: {org} zoekt {who} met een verhaal over {topic} voor een special. "
        f"Mail je case vóór vrijdag naar redactie@{org.lower()}.nl (oproep {n})"
    )


def marker(n: int) -> str:
    return f"(oproep {n})"


class Bot:
    """Starts the real CLI against the test's feeds, fake Slack and SQLite file."""

    def __init__(self, tmp_path: Path, config: Path, slack: FakeSlack, database_url: str) -> None:
        self.tmp_path = tmp_path
        self.config = config
        self.env = {
            **os.environ,
            "SLACK_BOT_TOKEN": slack.token,
            "SLACK_API_URL": slack.base_url,
            "DATABASE_URL": database_url,
        }
        self.env.pop("SLACK_APP_TOKEN", None)
        self.lives = 0

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        self.lives += 1
        log = (self.tmp_path / f"life-{self.lives:03d}.log").open("wb")
        with log:
            return subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "run", *args, "--config", str(self.config)],
                env=self.env,
                cwd=self.tmp_path,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def logs(self) -> str:
        return "".join(
            path.read_text(encoding="utf-8", errors="replace")
            for path in sorted(self.tmp_path.glob("life-*.log"))
        )


def wait_for(condition: Callable[[], bool], process: subprocess.Popen[bytes]) -> bool:
    """True once `condition` holds; False if the process ended first (or after PHASE_TIMEOUT)."""
    deadline = time.monotonic() + PHASE_TIMEOUT
    while time.monotonic() < deadline:
        if condition():
            return True
        if process.poll() is not None:
            return condition()
        time.sleep(0.01)
    return False


def alert_ids(slack: FakeSlack) -> list[str]:
    ids = []
    for message in slack.messages():
        meta = message.get("metadata") or {}
        if message["thread_ts"] is None and meta.get("event_type") == ALERT_EVENT:
            ids.append(str(meta["event_payload"]["alert_id"]))
    return ids


@pytest.mark.timeout(600)  # about 3 minutes on an idle machine; far more under load
def test_fifty_sigkills_while_polling_and_alerting_lose_nothing_and_double_nothing(
    tmp_path: Path, feed_server: FeedServer, database_url: str
) -> None:
    rng = random.Random(SEED)
    print(f"crash test seed: {SEED} (set INHAKER_CRASH_SEED to change it)")
    now = datetime.now(UTC)
    items: list[Item] = backlog("emerce", now)

    def publish() -> None:
        feed_server.serve("/emerce.xml", rss("emerce", items), etag=f'"emerce-{len(items)}"')

    publish()
    config = tmp_path / "feeds.yaml"
    config.write_text(
        f"""sources:
  - id: emerce
    kind: rss
    url: {feed_server.url("/emerce.xml")}
    interval: 30s
slack:
  channel: "#inhaker"
  messages_per_second: 10
allow_private_hosts: [127.0.0.1]
""",
        encoding="utf-8",
    )
    with FakeSlack(channel_rate=None, clock_ts=True) as slack:
        bot = Bot(tmp_path, config, slack, database_url)
        first = bot.start("--once")
        assert first.wait(timeout=120) == 0, bot.logs()  # the backlog: stored, never alerted
        assert slack.messages() == []
        slack.stall("chat.postMessage", ANSWER_DELAY, accept=True)

        plan = ["run:deliver"] * LONG_RUN_DELIVERY_KILLS + ["run:poll"] * LONG_RUN_POLL_KILLS
        rest = KILLS - len(plan)
        plan += [("once:poll", "once:deliver", "once:any")[i % 3] for i in range(rest)]
        rng.shuffle(plan)

        calls = 0
        kills: Counter[str] = Counter()
        survived: Counter[str] = Counter()
        while plan and bot.lives < 2 * KILLS:
            mode = plan[0]
            for _ in range(rng.randint(1, 3)):  # the feed gains open calls
                items.append(
                    (f"call-{calls}", ORGS[calls % 6], call_text(calls), datetime.now(UTC))
                )
                calls += 1
            publish()
            polls_before = len(feed_server.requests)
            slack_before = len(delivery_calls(slack))
            auth_before = len(slack.calls_to("auth.test"))
            kind, phase = mode.split(":")
            process = bot.start() if kind == "run" else bot.start("--once")
            started = time.monotonic()
            if phase == "poll":
                reached = wait_for(lambda n=polls_before: len(feed_server.requests) > n, process)
                pause = rng.uniform(0.0, 0.3)
            elif phase == "deliver":
                reached = wait_for(lambda n=slack_before: len(delivery_calls(slack)) > n, process)
                pause = rng.uniform(0.0, 0.45)
            else:
                # Any moment of the cycle after start-up (the interpreter's imports, about 2 s,
                # end with auth.test): building the engine, polling, detecting, delivering,
                # saving the detector's checkpoint.
                reached = wait_for(
                    lambda n=auth_before: len(slack.calls_to("auth.test")) > n, process
                )
                pause = rng.uniform(0.0, 1.8)
            if kind == "run":
                assert reached, f"seed {SEED}: the long-running bot never reached {phase}"
            time.sleep(pause)
            killed = process.poll() is None
            if killed:
                process.send_signal(signal.SIGKILL)
                kills[mode] += 1
                plan.pop(0)
            else:
                survived[mode] += 1  # it finished first: a clean life; try this phase again
            process.wait(timeout=30)
            outcome = "killed" if killed else f"ended ({process.returncode})"
            print(
                f"life {bot.lives:3d} {mode:<12} {outcome} after {time.monotonic() - started:.2f} s"
            )
            doubled = {k: n for k, n in Counter(alert_ids(slack)).items() if n > 1}
            assert not doubled, f"seed {SEED}, life {bot.lives} ({mode}): posted twice {doubled}"

        print(f"kills: {dict(kills)}; lives that finished first: {dict(survived)}")
        assert sum(kills.values()) == KILLS, (SEED, kills, survived)
        assert kills["run:deliver"] == LONG_RUN_DELIVERY_KILLS

        # Slack answers at once again, and one clean cycle delivers what is left.
        slack.stall("chat.postMessage", None)
        final = bot.start("--once")
        assert final.wait(timeout=120) == 0, bot.logs()[-5000:]

        logs = bot.logs()
        recovered = logs.count("was already in Slack")
        print(f"{calls} calls published; {recovered} posts found in Slack after a kill")

        # No duplicate, no loss: every call exactly once, by metadata and by text; nothing else.
        posted = Counter(alert_ids(slack))
        expected = {f"opportunity:emerce:call-{n}" for n in range(calls)}
        assert {k: n for k, n in posted.items() if n > 1} == {}, SEED
        assert set(posted) == expected, (SEED, expected ^ set(posted))
        top_level = [m for m in slack.messages() if m["thread_ts"] is None]
        assert len(top_level) == calls, SEED
        shown = [json.dumps(m["blocks"], ensure_ascii=False) + str(m["text"]) for m in top_level]
        for n in range(calls):
            assert sum(marker(n) in text for text in shown) == 1, (SEED, n)

        # Every item the feed still offers is stored; every alert is recorded as sent there.
        store = Store(database_url)
        stored = {post.id for post in store.latest_posts(10_000, sources=["emerce"])}
        assert stored == {guid for guid, *_ in items}, SEED
        rows = store.all_alerts()
        assert {row.id for row in rows} == expected
        assert all(row.status == "sent" for row in rows), SEED
        messages = {(m["channel"], m["ts"]) for m in top_level}
        assert all((row.slack_channel, row.slack_ts) in messages for row in rows), SEED
        store.close()

    if database_url.startswith("sqlite:"):  # PostgreSQL has no file for a kill to break
        with sqlite3.connect(tmp_path / "inhaker.db") as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok", SEED
    assert "Traceback" not in logs, logs[logs.index("Traceback") - 2000 :][:6000]


def delivery_calls(slack: FakeSlack) -> list[tuple[str, object]]:
    """Calls that post or look for an alert (the bot's delivery round has begun)."""
    wanted = ("chat.postMessage", "conversations.history")
    return [call for call in slack.calls if call[0] in wanted]
