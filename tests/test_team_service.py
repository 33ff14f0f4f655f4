"""Inhaker as a team service: several `inhaker serve` web processes on one shared database.

A load balancer spreads Slack's requests over the web processes, so two people's clicks on the
same alert, a claim race, and Slack's retries of one request land on different processes at the
same moment. The tests start two real `inhaker serve` subprocesses on one database (a SQLite file,
and a PostgreSQL database when a server is available: the `database_url` fixture), deliver
alerts to the fake Slack Web API the way the worker does, then fire a burst of signed commands
and clicks at both processes from many threads, and check what the team would notice: every
vote, watch term and mute is stored once (a retry on the other process is not counted again),
of two people claiming at once exactly one holds the claim, and each Slack message ends up
showing every vote. A second test checks that the worker (`inhaker run --once`) acts on what the
web processes wrote.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.alerts import alert_state
from bot.delivery import deliver_outbox
from bot.notify.slack import SlackNotifier
from bot.slack.blocks import (
    CLAIM_ACTION_ID,
    NOT_RELEVANT_ACTION_ID,
    USEFUL_ACTION_ID,
    state_lines,
)
from bot.store import Store
from detectors.records import Opportunity
from tests.fake_slack import FakeSlack
from tests.feed_server import FeedServer
from tests.samples import store_call_alert
from tests.slack_requests import button_click, post_signed, serve_process, slash_command, wait_for
from tests.test_e2e_run import Item, backlog, rss

ALERTS = 6
USERS = [f"U0USER{i:02d}" for i in range(10)]

CONFIG = """\
sources: []
slack:
  channel: "#inhaker"
opportunities:
  enabled: false
"""


def call(i: int, now: datetime) -> Opportunity:
    return Opportunity(
        key=f"opportunity:emerce:call-{i}",
        post_id=f"call-{i}",
        source="emerce",
        detected_at=now,
        score=0.9,
        category="submission",
        deadline="2026-12-24",
        asker="Emerce",
        text=f"Oproep {i}: Emerce zoekt bijzondere werkplekken. Mail redactie@emerce.example",
    )


def votes_shown(message: dict[str, Any]) -> str:
    return json.dumps(message["blocks"], ensure_ascii=False)


def test_two_web_processes_take_a_burst_of_clicks_and_commands_and_lose_nothing(
    tmp_path: Path, fake_slack: FakeSlack, database_url: str
) -> None:
    now = datetime.now(UTC)
    store = Store(database_url)
    notifier = SlackNotifier(fake_slack.token, base_url=fake_slack.base_url)
    for i in range(ALERTS):
        store_call_alert(store, call(i, now), now)
    deliver_outbox(store, notifier, store.posts_by_uids, {}, now)
    messages = {m["ts"]: m for m in fake_slack.messages("#inhaker") if not m.get("thread_ts")}
    assert len(messages) == ALERTS
    by_alert = {row.id: row for row in store.alerts_with_status("sent")}
    assert len(by_alert) == ALERTS

    config = tmp_path / "feeds.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    common = {
        "config": config,
        "database_url": database_url,
        "slack_api_url": fake_slack.base_url,
        "token": fake_slack.token,
    }
    with (
        serve_process(tmp_path, log_name="web1.log", **common) as web1,
        serve_process(tmp_path, log_name="web2.log", **common) as web2,
    ):
        webs = [web1, web2]
        requests: list[tuple[str, str]] = []  # (events URL, form body)
        expected_votes: dict[str, dict[str, str]] = {alert: {} for alert in by_alert}
        for n, (alert_id, row) in enumerate(sorted(by_alert.items())):
            channel, ts = row.slack_channel, row.slack_ts
            assert channel is not None
            assert ts is not None
            blocks = fake_slack.message(channel, ts)["blocks"]
            for u, user in enumerate(USERS):
                useful = (u + n) % 3 != 0
                action = USEFUL_ACTION_ID if useful else NOT_RELEVANT_ACTION_ID
                expected_votes[alert_id][user] = "useful" if useful else "not_relevant"
                body = button_click(
                    action,
                    alert_id,
                    channel=channel,
                    ts=ts,
                    blocks=blocks,
                    user=user,
                    action_ts=f"17000{n:02d}{u:02d}.000100",
                )
                requests.append((webs[(n + u) % 2], body))
                if u % 4 == 0:
                    # Slack retries a click it thinks was lost; the balancer sends it elsewhere.
                    requests.append((webs[(n + u + 1) % 2], body))
            # Two people claim the same alert at the same moment, one on each web process.
            for k, user in enumerate((USERS[n % 10], USERS[(n + 5) % 10])):
                claim = button_click(
                    CLAIM_ACTION_ID,
                    alert_id,
                    channel=channel,
                    ts=ts,
                    blocks=blocks,
                    user=user,
                    action_ts=f"17001{n:02d}{k:02d}.000100",
                )
                requests.append((webs[k], claim))
        for u, user in enumerate(USERS):
            requests.append(
                (webs[u % 2], slash_command("/inhaker", f"watch add thema{u}", user=user))
            )
            requests.append(
                (webs[(u + 1) % 2], slash_command("/inhaker", f"mute ruis{u} for 2d", user=user))
            )
        # Interleave everything, so votes, claims, retries and commands hit both processes at
        # once, from 16 threads (the two web processes each answer with 8).
        requests = requests[::2] + requests[1::2]

        def send(request: tuple[str, str]) -> int:
            return post_signed(request[0], request[1]).status_code

        with ThreadPoolExecutor(max_workers=16) as pool:
            statuses = list(pool.map(send, requests))
        failed = [(st, requests[i][1][:300]) for i, st in enumerate(statuses) if st != 200]
        assert failed == []

        # Every vote once, per person and alert; a retry on the other process is not counted.
        for alert_id in by_alert:
            clicks = store.feedback_for(alert_id)
            votes = [(user, action) for user, action, _ in clicks if action != "claim"]
            assert sorted(votes) == sorted(expected_votes[alert_id].items()), alert_id
            claims = [user for user, action, _ in clicks if action == "claim"]
            assert len(claims) == len(set(claims)) <= 2
            state = alert_state(clicks, now)
            assert state.claimed_by in claims
            assert len(state.useful) == sum(
                v == "useful" for v in expected_votes[alert_id].values()
            )

        # Whoever lost a claim race is told who holds it (privately), once.
        losers: Counter[str] = Counter()
        for n, alert_id in enumerate(sorted(by_alert)):
            holder = alert_state(store.feedback_for(alert_id), now).claimed_by
            rivals = {USERS[n % 10], USERS[(n + 5) % 10]}
            assert holder in rivals
            losers.update(rivals - {holder})

        def told() -> Counter[str]:
            return Counter(e["user"] for e in fake_slack.ephemerals() if "took this" in e["text"])

        assert wait_for(lambda: told() == losers, timeout=30), (told(), losers)

        assert sorted(r.term for r in store.watch_terms()) == sorted(
            f"thema{u}" for u in range(len(USERS))
        )
        assert sorted(r.term for r in store.active_mutes(now + timedelta(hours=1))) == sorted(
            f"ruis{u}" for u in range(len(USERS))
        )

        # Each message converges on what the store holds: who took it and every vote, in the
        # words everyone sees (a later edit that hid a vote would fail this).
        for alert_id, row in by_alert.items():
            channel, ts = row.slack_channel, row.slack_ts
            lines = state_lines(alert_state(store.feedback_for(alert_id), now))
            assert len(lines) == 3  # took it, useful for, not relevant for

            def shows_all(channel: str = channel, ts: str = ts, lines: Any = lines) -> bool:
                shown = votes_shown(fake_slack.message(channel, ts))
                return all(line in shown for line in lines)

            assert wait_for(shows_all, timeout=60), (lines, fake_slack.message(channel, ts))
    store.close()


def test_the_worker_acts_on_what_a_web_process_stored(
    tmp_path: Path, feed_server: FeedServer, fake_slack: FakeSlack, database_url: str
) -> None:
    """`/inhaker watch add` answered by a web process counts at the worker's next cycle, in
    another process, through the shared database."""
    now = datetime.now(UTC)
    items: list[Item] = backlog("emerce", now)

    def publish() -> None:
        feed_server.serve("/emerce.xml", rss("emerce", items), etag=f'"e-{len(items)}"')

    publish()
    config = tmp_path / "feeds.yaml"
    config.write_text(
        f"""allow_private_hosts: [127.0.0.1]  # the feed server of the test
sources:
  - id: emerce
    name: Emerce
    kind: rss
    url: {feed_server.url("/emerce.xml")}
    lang: nl
slack:
  channel: "#inhaker"
""",
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": fake_slack.token,
        "SLACK_API_URL": fake_slack.base_url,
        "DATABASE_URL": database_url,
    }
    env.pop("SLACK_APP_TOKEN", None)

    def worker_cycle() -> None:
        result = subprocess.run(
            [sys.executable, "-m", "bot.cli", "run", "--once", "--config", str(config)],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr

    worker_cycle()  # the backlog: stored, never alerted
    with serve_process(
        tmp_path,
        config=config,
        database_url=database_url,
        slack_api_url=fake_slack.base_url,
        token=fake_slack.token,
    ) as web:
        answer = post_signed(web, slash_command("/inhaker", "watch add verpakkingen"))
        assert answer.status_code == 200
        assert "verpakkingen" in answer.text
    items.append(
        (
            "emerce-verpakking",
            "Emerce",
            "Oproep: Emerce zoekt webwinkels met slimme, duurzame verpakkingen voor een special. "
            "Mail je case vóór vrijdag naar redactie@emerce.nl",
            datetime.now(UTC),
        )
    )
    publish()
    worker_cycle()
    [message] = [m for m in fake_slack.messages("#inhaker") if not m.get("thread_ts")]
    assert "On your watch list: verpakkingen" in votes_shown(message)
