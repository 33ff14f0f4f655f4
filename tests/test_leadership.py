"""Leadership end to end: many `inhaker run` processes on one store, exactly one polls and alerts.

Real `inhaker run` processes (the CLI in subprocesses) share one database — a SQLite file, or a
PostgreSQL database when a server is available (the `database_url` fixture runs each test on both)
— with a local feed server (one RSS feed of open calls, polled every 30 s) and the fake Slack Web
API. What an operator would notice is checked:
- one process says "leading", the other "standby" naming the leader; only the leader polls (every
  "polled" line of a log falls while that process leads, and every request the feed server saw is
  one of them);
- the leader is killed with SIGKILL three times, at three moments (idle with a call published and
  not fetched yet; right after storing calls it has not alerted; while Slack holds the answer to
  a post it accepted), a killed process is restarted as the standby each time, and the standby
  says "leading" within 60 s of each kill; the new leader's first request carries the ETag the
  dead one saved (the source state comes from the store);
- every call published before and after each kill reaches Slack exactly once (by the alert id in
  each message's metadata, and by its text);
- PostgreSQL: a leader whose lock connection is killed (`pg_terminate_backend`) says it lost the
  lead, stops polling and posting, and a process leads again; still nothing doubled or lost;
- `inhaker run --once` next to a running worker does nothing, names the leader and exits 2; once
  the worker stopped (SIGTERM, also as a standby) it runs a cycle.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.notify.slack import ALERT_EVENT
from bot.store import Store
from tests.fake_slack import FakeSlack
from tests.feed_server import FeedServer
from tests.test_crash_safety import call_text, marker
from tests.test_e2e_run import Item, backlog, rss

TAKEOVER_DEADLINE = 60.0  # seconds from a leader's death to "leading" in another process
STEP_DEADLINE = 60.0  # seconds any other awaited step may take (a slow machine; it is quick)
ANSWER_DELAY = 3.0  # seconds the fake holds a chat.postMessage answer in the "delivering" round
HOST = socket.gethostname()


class Worker:
    """One `inhaker run` process slot: started, killed and restarted; one log per life."""

    def __init__(self, name: str, tmp_path: Path, config: Path, env: dict[str, str]) -> None:
        self.name = name
        self.tmp_path = tmp_path
        self.config = config
        self.env = env
        self.lives = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.tmp_path / f"{self.name}-{self.lives}.log"

    def start(self) -> None:
        self.lives += 1
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "run", "--config", str(self.config)],
                env=self.env,
                cwd=self.tmp_path,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def all_logs(self) -> list[str]:
        return [
            (self.tmp_path / f"{self.name}-{n}.log").read_text(encoding="utf-8", errors="replace")
            for n in range(1, self.lives + 1)
        ]

    def wait_for(self, text: str, seconds: float = STEP_DEADLINE, *, count: int = 1) -> None:
        """Until this life's log holds `text` (`count` times); fails if it ends or times out."""
        deadline = time.monotonic() + seconds
        while self.log().count(text) < count:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(
                    f"{self.name} ended ({self.process.returncode}):\n{self.log()}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{self.name}: no {text!r} within {seconds:.0f} s:\n{self.log()}"
                )
            time.sleep(0.05)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def terminate(self) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)


def wait_until(condition: Callable[[], bool], what: str, seconds: float = STEP_DEADLINE) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds:.0f} s: {what}")
        time.sleep(0.05)


def work_while_not_leading(log: str) -> list[str]:
    """The lines of one life's log saying it polled or posted while it did not lead."""
    leading = False
    stray = []
    for line in log.splitlines():
        if "leading: polling" in line:
            leading = True
        elif "lost the lead" in line:
            leading = False
        elif not leading and any(w in line for w in ("polled calls:", "poll failed", "posted")):
            stray.append(line)
    return stray


def alert_ids(slack: FakeSlack) -> list[str]:
    ids = []
    for message in slack.messages():
        meta = message.get("metadata") or {}
        if message["thread_ts"] is None and meta.get("event_type") == ALERT_EVENT:
            ids.append(str(meta["event_payload"]["alert_id"]))
    return ids


class World:
    """The feed of open calls, the fake Slack, the store and the worker slots of one test."""

    def __init__(
        self, tmp_path: Path, feed_server: FeedServer, slack: FakeSlack, database_url: str
    ) -> None:
        self.feed_server = feed_server
        self.slack = slack
        self.database_url = database_url
        self.items: list[Item] = backlog("calls", datetime.now(UTC))
        self.etags: list[str] = []
        self.calls = 0
        self.publish()
        self.config = tmp_path / "feeds.yaml"
        self.config.write_text(
            f"""sources:
  - id: calls
    kind: rss
    url: {feed_server.url("/calls.xml")}
    interval: 30s
slack:
  channel: "#inhaker"
  messages_per_second: 10
allow_private_hosts: [127.0.0.1]
""",
            encoding="utf-8",
        )
        self.env = {
            **os.environ,
            "SLACK_BOT_TOKEN": slack.token,
            "SLACK_API_URL": slack.base_url,
            "DATABASE_URL": database_url,
        }
        self.env.pop("SLACK_APP_TOKEN", None)
        self.tmp_path = tmp_path
        self.store = Store(database_url)

    def publish(self) -> None:
        etag = f'"calls-{len(self.items)}"'
        self.etags.append(etag)
        self.feed_server.serve("/calls.xml", rss("calls", self.items), etag=etag)

    def add_call(self) -> None:
        n = self.calls
        self.items.append((f"call-{n}", "Emerce", call_text(n), datetime.now(UTC)))
        self.calls += 1
        self.publish()

    def worker(self, name: str) -> Worker:
        return Worker(name, self.tmp_path, self.config, self.env)

    def stored_guids(self) -> set[str]:
        return {post.id for post in self.store.latest_posts(10_000, sources=["calls"])}

    def posts(self) -> list[dict[str, object]]:
        return self.slack.calls_to("chat.postMessage")

    # Conditions to wait for, bound to their numbers now (a loop's variables change).
    def stores(self, guids: set[str]) -> Callable[[], bool]:
        return lambda: guids <= self.stored_guids()

    def posts_after(self, count: int) -> Callable[[], bool]:
        return lambda: len(self.posts()) > count

    def polls_after(self, count: int) -> Callable[[], bool]:
        return lambda: len(self.feed_server.requests) > count

    def expected(self) -> set[str]:
        return {f"opportunity:calls:call-{n}" for n in range(self.calls)}

    def all_delivered(self) -> bool:
        return set(alert_ids(self.slack)) >= self.expected()

    def check_exactly_once(self) -> None:
        posted = Counter(alert_ids(self.slack))
        assert {k: n for k, n in posted.items() if n > 1} == {}, "an alert was posted twice"
        assert set(posted) == self.expected()
        shown = [
            str(m["blocks"]) + str(m["text"]) for m in self.slack.messages() if not m["thread_ts"]
        ]
        assert len(shown) == self.calls
        for n in range(self.calls):
            assert sum(marker(n) in text for text in shown) == 1, n

    def start_pair(self) -> tuple[Worker, Worker]:
        """Worker a leads (and stores the feed's backlog); worker b stands by."""
        a, b = self.worker("a"), self.worker("b")
        a.start()
        a.wait_for("leading: polling 1 sources")
        wait_until(lambda: len(self.stored_guids()) == len(self.items), "the backlog is stored")
        b.start()
        b.wait_for(f"standby: another worker leads ({HOST}:{a.pid})")
        return a, b


@pytest.fixture
def world(
    tmp_path: Path, feed_server: FeedServer, database_url: str
) -> Iterator[tuple[World, list[Worker]]]:
    workers: list[Worker] = []
    with FakeSlack(channel_rate=None, clock_ts=True) as slack:
        world = World(tmp_path, feed_server, slack, database_url)
        try:
            yield world, workers
        finally:
            for worker in workers:
                if worker.process is not None and worker.process.poll() is None:
                    worker.process.kill()
                    worker.process.wait(timeout=30)
            world.store.close()


PHASES = ("idle", "stored", "delivering")


@pytest.mark.timeout(300)
def test_the_standby_takes_over_after_each_sigkill_and_every_call_is_alerted_once(
    world: tuple[World, list[Worker]],
) -> None:
    w, workers = world
    leader, standby = w.start_pair()
    workers += [leader, standby]
    assert "polled calls:" not in standby.log()  # the standby leaves the feed alone

    for round_no, phase in enumerate(PHASES, start=1):
        if phase == "idle":
            # Everything so far is in Slack; a call is published that the leader has not
            # fetched yet (its next poll is up to 30 s away): the next leader must fetch it.
            wait_until(w.all_delivered, f"round {round_no}: the calls so far reach Slack")
            w.add_call()
        elif phase == "stored":
            # The new leader fetched the calls at once when it took over; its first tick comes
            # seconds later: killed in between, it stored calls it never alerted.
            wanted = {f"call-{n}" for n in range(w.calls)}
            wait_until(w.stores(wanted), f"round {round_no}: calls stored")
        else:
            # Slack accepted a post and holds the answer: the leader dies not knowing.
            wait_until(w.posts_after(len(w.posts())), f"round {round_no}: the leader posts")
        etags_seen = list(w.etags)
        requests_before = len(w.feed_server.requests)
        print(f"round {round_no} ({phase}): killing {leader.name} (pid {leader.pid})")
        leader.kill()
        w.add_call()  # published while nobody leads
        # The takeover: enforced as a deadline on the log line, measured from the kill.
        standby.wait_for("leading: polling 1 sources", TAKEOVER_DEADLINE)
        if phase == "delivering":
            w.slack.stall("chat.postMessage", None)
        if round_no < len(PHASES) and PHASES[round_no] == "delivering":
            w.slack.stall("chat.postMessage", ANSWER_DELAY, accept=True)
        wait_until(w.polls_after(requests_before), f"round {round_no}: the new leader polls")
        first = w.feed_server.requests[requests_before]
        # The dead leader's conditional-GET state, read from the store by the new one.
        assert first.headers.get("if-none-match") in etags_seen, first.headers
        leader.start()
        leader.wait_for(f"standby: another worker leads ({HOST}:{standby.pid})")
        leader, standby = standby, leader

    wait_until(w.all_delivered, "every call reaches Slack")
    w.check_exactly_once()
    logs = [log for worker in workers for log in worker.all_logs()]
    # The post the third leader died waiting for was found in Slack, not posted again.
    assert any("was already in Slack" in log for log in logs)
    # Only leaders polled or posted (no such line in any life while not leading), and every
    # request the feed server saw is a logged poll (a killed leader may have died between its
    # request and its log line).
    assert [line for log in logs for line in work_while_not_leading(log)] == []
    logged = sum(log.count("polled calls:") + log.count("poll failed") for log in logs)
    assert logged <= len(w.feed_server.requests) <= logged + len(PHASES)
    assert all(guid in w.stored_guids() for guid, *_ in w.items)

    # SIGTERM stops both cleanly, the standby too.
    for worker in (standby, leader):
        assert worker.terminate() == 0, worker.log()
        assert "stopped cleanly" in worker.log()
    assert not any("Traceback" in log for log in logs), "\n".join(logs)


@pytest.mark.timeout(180)
def test_run_once_next_to_a_running_worker_does_nothing_and_names_it(
    world: tuple[World, list[Worker]],
) -> None:
    w, workers = world
    leader = w.worker("a")
    workers.append(leader)
    leader.start()
    leader.wait_for("leading: polling 1 sources")
    wait_until(lambda: len(w.stored_guids()) == len(w.items), "the backlog is stored")
    w.add_call()
    requests_before = len(w.feed_server.requests)

    def once() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot.cli", "run", "--once", "--config", str(w.config)],
            env=w.env,
            cwd=w.tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )

    refused = once()
    assert refused.returncode == 2, refused.stderr
    assert f"another worker leads ({HOST}:{leader.pid})" in refused.stderr
    assert "nothing done" in refused.stderr
    assert len(w.feed_server.requests) == requests_before  # it did not poll
    assert w.slack.calls_to("chat.postMessage") == []  # nor post

    # Stopped, the worker gives the lead back: a cycle by hand runs and alerts the call.
    assert leader.terminate() == 0, leader.log()
    done = once()
    assert done.returncode == 0, done.stderr
    assert "1 sources polled (0 failed)" in done.stderr
    w.check_exactly_once()


@pytest.mark.timeout(240)
@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)  # its lock connection
def test_a_leader_that_loses_its_database_lock_steps_down_and_nothing_doubles(
    world: tuple[World, list[Worker]],
) -> None:
    import psycopg

    from bot.leader import _conninfo

    w, workers = world
    a, b = w.start_pair()
    workers += [a, b]
    w.add_call()  # the leader fetches it at its next poll, up to 30 s away
    with psycopg.connect(**_conninfo(w.database_url), autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s",
            (f"inhaker run {HOST}:{a.pid}",),
        ).fetchall()
        assert len(rows) == 1, rows  # one dedicated lock connection, named for the standby
        admin.execute("SELECT pg_terminate_backend(%s)", (rows[0][0],))
    a.wait_for("lost the lead")
    w.add_call()  # published after the step-down
    # Someone leads again: the standby, or the same process after taking the lock anew.
    wait_until(
        lambda: "leading: polling" in b.log() or a.log().count("leading: polling") >= 2,
        "a process leads again",
    )
    wait_until(w.all_delivered, "both calls reach Slack")
    w.check_exactly_once()
    logs = [a.log(), b.log()]
    assert [line for log in logs for line in work_while_not_leading(log)] == []
    for worker in (a, b):
        assert worker.terminate() == 0, worker.log()
        assert "stopped cleanly" in worker.log()
