"""One worker's throughput on PostgreSQL and on SQLite: sources and posts per second it sustains.

What it does: for each backend (a SQLite file in a temp dir; a fresh database on a throwaway
PostgreSQL cluster this script starts itself with tests/pg_server.py) and each source count in
`--sources`, it runs the real worker cycle and prints a Markdown report (the exact command, the
machine, a table per backend, the figure "one worker sustains N sources polled every 5 minutes
with K new items each"):

- **Feeds**: N RSS feeds served by `--servers` local HTTP servers (tests/feed_server.py: real
  sockets on 127.0.0.1, ETags) in this process. Each feed starts with its latest `--keep` (50)
  items, one every 5 minutes back from the start, and gains `--items` (K, 20) new items per
  cycle, keeping its latest 50 like a real feed. From the second cycle on, each cycle one new
  hashtag appears in a third of the feeds at once (a story the trend detector must find) and a
  few items are calls for contributions (tests/opportunity_examples.py), so the detector, the
  opportunity scorer, the alert policy and the outbox all do real work.
- **Worker**: a child process (so its peak RSS is its own and the feed servers do not share its
  interpreter lock) builds the real `Runner(config, Store(url), SlackNotifier(...))` of
  bot/scheduler.py from a generated feeds.yaml (`allow_private_hosts: [127.0.0.1]`, every source
  `interval: 5m`), with alerts to the fake Slack Web API (tests/fake_slack.py, with Slack's
  per-channel rate limit). Per cycle it runs `Runner.run_once()` (every source polled in the
  thread pool, stored and counted; one tick: detection, the alert policy, the outbox delivery;
  prune; checkpoint) and then, since one tick scores at most 5,000 new posts for opportunities
  (`Store.posts_to_check`), more ticks until none is left: `inhaker run` ticks every minute, so
  those are work the interval has to hold too. The worker's clock (Runner's `clock`) moves 5
  minutes per cycle, so the detector sees the stream a 5-minute poll interval makes; the cycles
  themselves run back to back and are timed by the wall clock. Cycle 0 is each feed's first read
  (stored as history, never alerted) and is reported apart.
- **Store alone**: `Store.add_posts` of `--store-posts` (10,000) new posts in batches of 500 into
  a fresh store on each backend (posts/s), to show whether the database or the pipeline limits.

Per cycle: wall time, new posts stored, posts/s through the whole cycle, the split (polls, the
tick, catch-up ticks, prune and checkpoint), alerts queued and sent; per run the worker's peak
RSS (VmHWM). `--profile` profiles the last cycle of the largest run on each backend with
cProfile and prints the top functions by cumulative and by own time.

What it does not do: touch the internet (everything is on 127.0.0.1), measure a PostgreSQL on
another host (the cluster runs on this machine, with fsync off as tests/pg_server.py sets it),
run APScheduler's jittered per-source jobs (`run_once` polls all sources at once, the harder
case), or write docs/benchmarks.md (paste the report there by hand).

Run: python bench/worker_db.py                 # 100, 300, 1000 feeds x 2 backends (~15 min)
     python bench/worker_db.py --quick         # 30, 100 feeds, 2 cycles (~2 min)
     python bench/worker_db.py --backends sqlite --sources 300 --profile
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# The feeds and Slack are the test suite's real local servers (tests/ is not an installed
# package, so the repository root goes on the path, as when pytest runs).
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from soak import Feed, clean_env, memory_of, rss  # noqa: E402  (bench/ is the script's folder)

INTERVAL = timedelta(minutes=5)
CHANNEL = "#inhaker-bench"
CALLS_PER_CYCLE = 3


# -- the publishers (parent process) ---------------------------------------------------------------


class Publisher:
    """N feeds on local servers; each cycle K new items per feed, a story, a few calls."""

    def __init__(self, servers: Sequence[Any], feeds: int, keep: int, seed: int) -> None:
        from tests.opportunity_examples import POSITIVES

        self.rng = random.Random(seed)
        self.servers = servers
        self.keep = keep
        self.feeds = [Feed(id=f"feed{i:04d}", path=f"/feeds/{i:04d}.xml") for i in range(feeds)]
        # Made-up everyday words, so ordinary items never form a story on their own.
        self.words = [
            f"{a}{b}{c}{d}"
            for a in "bdfgklmnprstvz"
            for b in "aeiou"
            for c in "lmnrst"
            for d in ("a", "el", "o", "ik")
        ]
        self.calls = [text for text, _category in POSITIVES if text.isascii()]
        self.items_made = 0
        self.stories: list[str] = []

    def url(self, index: int) -> str:
        return str(self.servers[index % len(self.servers)].url(self.feeds[index].path))

    def _item(self, feed: Feed, at: datetime, text: str | None = None) -> None:
        self.items_made += 1
        author = f"writer{self.rng.randrange(1000)}"
        text = text or " ".join(self.rng.choices(self.words, k=self.rng.randint(8, 14)))
        feed.items.insert(0, (f"{feed.id}-{self.items_made}", author, text, at))
        del feed.items[self.keep :]

    def _publish(self, index: int) -> None:
        feed = self.feeds[index]
        etag = f'"{feed.id}-{feed.items[0][0]}"'
        self.servers[index % len(self.servers)].serve(feed.path, rss(feed), etag=etag)

    def history(self, now: datetime, items: int, minutes: int, detector: Any) -> int:
        """The `minutes` before `now` at the same rate as the cycles (K items per feed every 5
        minutes), counted by `detector` as a worker running all along would have; each feed
        then shows its latest `keep` of them. Returns the posts counted."""
        from detectors.records import Post

        steps = max(1, minutes // 5)
        counted = 0
        for step in range(steps):
            at = now - INTERVAL * (steps - 1 - step)
            made: list[Post] = []
            for feed in self.feeds:
                self._items(feed, at, items, None)
                for guid, author, text, created in feed.items[:items]:
                    made.append(
                        Post(
                            source=feed.id,
                            id=f"{feed.id}:{guid}",  # as the engine names evidence in run mode
                            text=text,
                            title=text[:60],
                            created_at=created,
                            author=author,
                        )
                    )
            for post in sorted(made, key=lambda p: p.created_at):
                counted += bool(detector.observe(post))
        for index in range(len(self.feeds)):
            self._publish(index)
        return counted

    def _items(self, feed: Feed, now: datetime, items: int, special: dict[int, str] | None) -> None:
        """K items over the 5 minutes before `now`, oldest first (so the newest ends on top)."""
        step = INTERVAL / (items + 1)
        for k in range(items):
            text = (special or {}).get(k)
            self._item(feed, now - INTERVAL + step * (k + 1), text)

    def cycle(self, now: datetime, items: int, story: bool) -> int:
        """K new items per feed, timed over the 5 minutes before `now`; with `story`, one new
        hashtag in an item of a third of the feeds and a few calls for contributions."""
        tagged: set[int] = set()
        calls: dict[int, str] = {}
        tag = ""
        if story:
            tag = "benchstory" + "".join(self.rng.choices("bdfgklmnprstvz", k=6))
            self.stories.append(tag)
            count = max(8, len(self.feeds) // 3)
            tagged = set(self.rng.sample(range(len(self.feeds)), min(len(self.feeds), count)))
            for index in self.rng.sample(range(len(self.feeds)), CALLS_PER_CYCLE):
                calls[index] = self.rng.choice(self.calls)
        for index, feed in enumerate(self.feeds):
            special: dict[int, str] = {}
            if index in tagged:
                special[0] = f"#{tag} " + " ".join(self.rng.choices(self.words, k=6)) + " breaking"
            if index in calls:
                special[1] = calls[index]
            self._items(feed, now, items, special)
            self._publish(index)
        return items * len(self.feeds)


def write_config(path: Path, publisher: Publisher) -> None:
    sources = "".join(
        f"""
  - id: {feed.id}
    kind: rss
    url: {publisher.url(i)}
    interval: 5m"""
        for i, feed in enumerate(publisher.feeds)
    )
    path.write_text(
        f"""# Written by bench/worker_db.py for one run.
allow_private_hosts: [127.0.0.1]
sources:{sources}
slack:
  channel: "{CHANNEL}"
""",
        encoding="utf-8",
    )


# -- the worker (child process) --------------------------------------------------------------------


class SimClock:
    """The worker's clock: set by the parent to each cycle's moment (5 minutes apart)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def worker_child(args: argparse.Namespace) -> int:
    """Run cycles as the parent asks (one JSON line in, one out), then report peak RSS."""
    from sqlalchemy import func, select

    from bot.config import load_config
    from bot.notify.slack import SlackNotifier
    from bot.scheduler import Runner
    from bot.store import Store, posts

    class TimedRunner(Runner):
        """The real Runner; only records how long its tick, prune and checkpoint take."""

        times: dict[str, float]

        def tick(self) -> Any:
            started = time.perf_counter()
            try:
                return super().tick()
            finally:
                self.times["tick"] = self.times.get("tick", 0.0) + time.perf_counter() - started
                self.times.setdefault("tick_started", started)

        def prune(self) -> None:
            started = time.perf_counter()
            super().prune()
            self.times["prune"] = time.perf_counter() - started

        def checkpoint(self) -> None:
            started = time.perf_counter()
            super().checkpoint()
            self.times["checkpoint"] = time.perf_counter() - started

    clock = SimClock()
    store = Store(args.url)
    notifier = SlackNotifier(os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"])
    runner = TimedRunner(load_config(args.config), store, notifier, clock=clock)

    def unchecked() -> int:
        query = (
            select(func.count()).select_from(posts).where(posts.c.opportunity_checked.is_(False))
        )
        with store.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    for line in sys.stdin:
        ask = json.loads(line)
        if ask.get("stop"):
            break
        clock.now = datetime.fromisoformat(ask["now"])
        profiler = cProfile.Profile() if ask.get("profile") else None
        runner.times = {}
        if profiler:
            profiler.enable()
        started = time.perf_counter()
        report = runner.run_once()
        after_once = time.perf_counter()
        queued = len(report.tick.decisions) if report.tick else 0
        sent = report.tick.delivery.sent if report.tick else 0
        tick_once = runner.times.get("tick", 0.0)
        polls = runner.times.get("tick_started", after_once) - started
        # `inhaker run` ticks every minute: the posts one tick could not score wait for the next.
        catch_up = 0
        while unchecked():
            catch_up += 1
            result = runner.tick()
            queued += len(result.decisions)
            sent += result.delivery.sent
        ended = time.perf_counter()
        if profiler:
            profiler.disable()
        out: dict[str, Any] = {
            "wall": ended - started,
            "polls": polls,
            "tick": tick_once,
            "catch_up": runner.times.get("tick", 0.0) - tick_once,
            "catch_up_ticks": catch_up,
            "prune_checkpoint": runner.times.get("prune", 0.0)
            + runner.times.get("checkpoint", 0.0),
            "new_posts": report.new_posts,
            "history_posts": report.history_posts,
            "failed": sum(1 for p in report.polls if p.error),
            "first_error": next((p.error for p in report.polls if p.error), None),
            "queued": queued,
            "sent": sent,
            "trends": report.tick.trends if report.tick else 0,
            "rss": memory_of()[0],
        }
        if profiler:
            out["profile"] = profile_text(profiler)
        print(json.dumps(out), flush=True)
    rss_now, hwm = memory_of()
    print(json.dumps({"rss": rss_now, "hwm": hwm, "posts": store.count_posts()}), flush=True)
    runner.stop()
    store.close()
    return 0


def profile_text(profiler: cProfile.Profile, top: int = 18) -> str:
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return text.getvalue()


# -- one run: N feeds on one backend ---------------------------------------------------------------


@dataclass(slots=True)
class Run:
    backend: str
    feeds: int
    cycles: list[dict[str, Any]] = field(default_factory=list)
    final: dict[str, Any] = field(default_factory=dict)
    alerts_in_slack: int = 0
    stories_alerted: int = 0
    stories: int = 0
    rate_limited: int = 0
    stderr: str = ""
    died: str = ""


def run_one(args: argparse.Namespace, backend: str, url: str, feeds: int, profile: bool) -> Run:
    from tests.fake_slack import FakeSlack
    from tests.feed_server import FeedServer

    run = Run(backend, feeds)
    workdir = Path(tempfile.mkdtemp(prefix="inhaker-worker-db-"))
    servers = [FeedServer().start() for _ in range(args.servers)]
    slack = FakeSlack().start()
    start = datetime.now(UTC).replace(second=0, microsecond=0)
    publisher = Publisher(servers, feeds, args.keep, args.seed)
    config = workdir / "feeds.yaml"
    write_config(config, publisher)
    # The worker starts as one restarted after running all along: its detector's checkpoint in
    # the store holds `--history` minutes of the same stream (and a detector without a usable
    # history would find every word new). bot.checkpoint is what `inhaker run` saves.
    from bot import checkpoint
    from bot.config import load_config
    from bot.pipeline import build_detector
    from bot.store import Store
    from detectors.stories import StoryDetector

    detector = build_detector(load_config(config))
    assert isinstance(detector, StoryDetector)  # the default detection, v2
    made = time.perf_counter()
    counted = publisher.history(start, args.items, args.history, detector)
    store = Store(url)
    checkpoint.save(detector, store, start)
    store.close()
    del detector
    print(
        f"{backend} {feeds} feeds: {counted:,} posts of history counted "
        f"({time.perf_counter() - made:.0f} s)",
        file=sys.stderr,
        flush=True,
    )
    env = clean_env(SLACK_BOT_TOKEN=slack.token, SLACK_API_URL=slack.base_url)
    command = [sys.executable, __file__, "--worker-child", "--url", url, "--config", str(config)]
    errors = (workdir / "worker.log").open("w+", encoding="utf-8")
    child = subprocess.Popen(
        command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors, text=True
    )
    assert child.stdin is not None
    assert child.stdout is not None
    try:
        for cycle in range(args.cycles + 1):
            now = start + INTERVAL * cycle
            if cycle:
                publisher.cycle(now, args.items, story=cycle >= 2 or args.cycles < 2)
            ask = {"now": now.isoformat(), "profile": profile and cycle == args.cycles}
            try:
                child.stdin.write(json.dumps(ask) + "\n")
                child.stdin.flush()
            except BrokenPipeError:
                break
            line = child.stdout.readline()
            if not line:
                break
            result = json.loads(line)
            run.cycles.append(result)
            print(
                f"{backend} {feeds} feeds, cycle {cycle}: {result['wall']:.1f} s, "
                f"{result['new_posts'] + result['history_posts']:,} posts, "
                f"{result['queued']} alerts queued",
                file=sys.stderr,
                flush=True,
            )
        else:
            child.stdin.write(json.dumps({"stop": True}) + "\n")
            child.stdin.flush()
            line = child.stdout.readline()
            run.final = json.loads(line) if line else {}
        child.wait(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        errors.seek(0)
        run.stderr = errors.read()
        errors.close()
        messages = slack.messages()
        run.alerts_in_slack = len(messages)
        run.rate_limited = len(slack.rate_limited_calls)
        run.stories = len(publisher.stories)
        run.stories_alerted = sum(
            any(tag in m["text"] + json.dumps(m.get("blocks") or []) for m in messages)
            for tag in publisher.stories
        )
        slack.stop()
        for server in servers:
            server.stop()
    if child.returncode:
        # The worker died: the report says where (the cycle) and why (the exception's last line).
        said = [x for x in run.stderr.splitlines() if re.match(r"[\w.]+(Error|Exception)\b", x)]
        run.died = f"cycle {len(run.cycles)}: {said[-1][:200] if said else 'no output'}"
        print(f"worker died ({child.returncode}), log kept: {workdir}/worker.log", file=sys.stderr)
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return run


# -- the store alone -------------------------------------------------------------------------------


def store_alone(url: str, count: int, batch: int = 500) -> float:
    """posts/s of `Store.add_posts` inserting `count` new posts in batches of `batch`."""
    from bot.store import Store
    from detectors.records import Post

    rng = random.Random(3)
    words = [f"w{i}" for i in range(2000)]
    now = datetime.now(UTC)
    made = [
        Post(
            source=f"feed{i % 100:04d}",
            id=f"post-{i}",
            text=" ".join(rng.choices(words, k=12)),
            created_at=now - timedelta(seconds=i),
            author=f"writer{rng.randrange(1000)}",
            url=f"https://example.org/{i}",
            title=f"title {i}",
        )
        for i in range(count)
    ]
    store = Store(url)
    try:
        started = time.perf_counter()
        for offset in range(0, count, batch):
            store.add_posts(made[offset : offset + batch], seen_at=now, backlog=False)
        seconds = time.perf_counter() - started
        assert store.count_posts() == count
    finally:
        store.close()
    return count / seconds


# -- report ----------------------------------------------------------------------------------------


def command_line(args: argparse.Namespace) -> str:
    parts = ["python bench/worker_db.py"]
    if args.quick:
        parts.append("--quick")
    defaults = {
        "sources": "30,100" if args.quick else "100,300,1000",
        "cycles": 2 if args.quick else 3,
        "items": 20,
        "keep": 50,
        "servers": 6,
        "backends": "sqlite,postgres",
        "store_posts": 2000 if args.quick else 10_000,
        "history": 90,
        "seed": 7,
    }
    for name, default in defaults.items():
        value = getattr(args, name)
        if value != default:
            parts.append(f"--{name.replace('_', '-')} {value}")
    if args.profile:
        parts.append("--profile")
    return " ".join(parts)


def measured(run: Run) -> list[dict[str, Any]]:
    """The cycles after the first read (which stores history only)."""
    return run.cycles[1:]


def summary(run: Run) -> dict[str, float]:
    cycles = measured(run)
    if not cycles:
        return {}
    walls = sorted(c["wall"] for c in cycles)
    posts = sum(c["new_posts"] for c in cycles)
    return {
        "median": walls[len(walls) // 2],
        "worst": walls[-1],
        "rate": posts / sum(walls),
        "posts": posts / len(cycles),
    }


def report(args: argparse.Namespace, runs: list[Run], alone: dict[str, float]) -> int:
    cpu = platform.processor() or platform.machine()
    print("## One worker on PostgreSQL and SQLite\n")
    print(
        f"Command: `{command_line(args)}`; machine: {cpu}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {datetime.now(UTC):%Y-%m-%d}. The feed servers, the fake "
        "Slack and PostgreSQL run on the same machine as the worker (PostgreSQL "
        f"{args.pg_version or 'not run'}, a throwaway cluster with fsync off). Each cycle every "
        f"feed has {args.items} new items (feeds keep their latest {args.keep}); from the second "
        "cycle on one new hashtag spreads over a third of the feeds and "
        f"{CALLS_PER_CYCLE} items are calls for contributions. Cycle 0, each feed's first read "
        "(history, never alerted), is not in the figures. Load average (5 min) of the machine "
        f"at the start and the end: {args.load_before:.1f}, {args.load_after:.1f}: other "
        "work on the machine slows every figure down.\n"
    )
    problems = 0
    for backend in args.backend_list:
        mine = [r for r in runs if r.backend == backend]
        if not mine:
            continue
        print(f"### {'PostgreSQL' if backend == 'postgres' else 'SQLite'}\n")
        print(
            "| feeds | cycle | wall (s) | new posts | posts/s | polls (s) | tick (s) | "
            "catch-up ticks (s) | prune + checkpoint (s) | alerts queued / sent | "
            "worker RSS (MiB) |"
        )
        print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for run in mine:
            for index, c in enumerate(run.cycles):
                posts = c["new_posts"] if index else c["history_posts"]
                label = f"{index}" if index else "0 (first read)"
                print(
                    f"| {run.feeds:,} | {label} | {c['wall']:.1f} | {posts:,} | "
                    f"{posts / c['wall']:,.0f} | {c['polls']:.1f} | {c['tick']:.1f} | "
                    f"{c['catch_up']:.1f} ({c['catch_up_ticks']}) | "
                    f"{c['prune_checkpoint']:.1f} | {c['queued']} / {c['sent']} | "
                    f"{c['rss']:,.0f} |"
                )
                if c["failed"]:
                    problems += c["failed"]
        print(
            "\n| feeds | new posts per cycle | median cycle (s) | worst cycle (s) | posts/s "
            "(whole cycles) | margin in a 5-min interval (worst cycle) | peak RSS (MiB) | "
            "Slack messages | stories alerted |"
        )
        print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for run in mine:
            s = summary(run)
            if run.died:
                problems += 1
                print(f"| {run.feeds:,} | worker died in {run.died} | | | | | | | |")
                continue
            if not s:
                print(f"| {run.feeds:,} | (no cycle finished) | | | | | | | |")
                problems += 1
                continue
            margin = INTERVAL.total_seconds() / s["worst"]
            print(
                f"| {run.feeds:,} | {s['posts']:,.0f} | {s['median']:.1f} | {s['worst']:.1f} | "
                f"{s['rate']:,.0f} | {margin:.1f}x ({s['worst'] / 3:.0f} % used) | "
                f"{run.final.get('hwm', 0):,.0f} | {run.alerts_in_slack} "
                f"({run.rate_limited} answered 429) | {run.stories_alerted} / {run.stories} |"
            )
        best = max(
            (r for r in mine if summary(r) and not r.died), key=lambda r: r.feeds, default=None
        )
        if best is not None:
            s = summary(best)
            print(
                f"\nFigure: one worker on {'PostgreSQL' if backend == 'postgres' else 'SQLite'} "
                f"sustains {best.feeds:,} sources polled every 5 minutes with {args.items} new "
                f"items each ({s['rate']:,.0f} posts/s through poll + store + detect + alert): "
                f"its slowest cycle took {s['worst']:.0f} s of the 300 s interval "
                f"({300 / s['worst']:.1f}x margin).\n"
            )
    if alone:
        print("### The store alone: `Store.add_posts`, batches of 500\n")
        print("| backend | posts | posts/s |")
        print("| --- | ---: | ---: |")
        for backend, rate in alone.items():
            print(f"| {backend} | {args.store_posts:,} | {rate:,.0f} |")
        print()
    for run in runs:
        if run.stderr.strip() and ("Traceback" in run.stderr or " ERROR " in run.stderr):
            problems += 0 if run.died else 1
            print(
                f"\nworker errors ({run.backend}, {run.feeds} feeds):\n"
                f"```\n{run.stderr[-2000:]}\n```"
            )
        for c in run.cycles:
            if c.get("first_error"):
                print(f"- poll failure ({run.backend}, {run.feeds}): `{c['first_error']}`")
                break
        profile = next((c["profile"] for c in run.cycles if c.get("profile")), None)
        if profile:
            print(
                f"\n<details><summary>cProfile of the last cycle, {run.backend}, {run.feeds} "
                f"feeds</summary>\n\n```\n{profile}\n```\n</details>\n"
            )
    print(f"\nproblems: {problems}")
    return 1 if problems else 0


# -- main ------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="30 and 100 feeds, 2 cycles (~2 min)")
    parser.add_argument("--sources", default=None, help="feed counts, comma-separated")
    parser.add_argument("--cycles", type=int, default=None, help="measured cycles per run (3)")
    parser.add_argument("--items", type=int, default=20, help="new items per feed per cycle")
    parser.add_argument("--keep", type=int, default=50, help="items a feed keeps (50)")
    parser.add_argument("--servers", type=int, default=6, help="local feed servers (6)")
    parser.add_argument("--backends", default="sqlite,postgres", help="sqlite,postgres")
    parser.add_argument("--store-posts", type=int, default=None, help="store alone (10,000)")
    parser.add_argument("--history", type=int, default=90, help="minutes of history (90)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="cProfile the largest run's last")
    parser.add_argument("--worker-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker_child:
        return worker_child(args)
    args.sources = args.sources or ("30,100" if args.quick else "100,300,1000")
    args.cycles = args.cycles if args.cycles is not None else (2 if args.quick else 3)
    if args.store_posts is None:
        args.store_posts = 2000 if args.quick else 10_000
    counts = [int(n) for n in args.sources.split(",")]
    args.backend_list = [b.strip() for b in args.backends.split(",") if b.strip()]
    if unknown := set(args.backend_list) - {"sqlite", "postgres"}:
        parser.error(f"--backends: unknown {sorted(unknown)}; use sqlite, postgres")
    if min(counts) < CALLS_PER_CYCLE or args.cycles < 1 or args.items < 2:
        parser.error(f"--sources at least {CALLS_PER_CYCLE}; --cycles >= 1; --items >= 2")
    args.pg_version = None
    args.load_before = os.getloadavg()[1]

    runs: list[Run] = []
    alone: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="inhaker-worker-db-") as tmp:
        for backend in args.backend_list:
            if backend == "sqlite":
                for n in counts:
                    url = f"sqlite:///{tmp}/worker-{n}.db"
                    runs.append(run_one(args, backend, url, n, args.profile and n == max(counts)))
                alone["SQLite (file, WAL)"] = store_alone(
                    f"sqlite:///{tmp}/alone.db", args.store_posts
                )
                continue
            from tests.pg_server import PostgresServer

            with PostgresServer() as server:
                args.pg_version = postgres_version(server.admin_url)
                for n in counts:
                    url = new_database(server.admin_url, f"worker_{n}")
                    runs.append(run_one(args, backend, url, n, args.profile and n == max(counts)))
                alone["PostgreSQL (127.0.0.1, psycopg 3)"] = store_alone(
                    new_database(server.admin_url, "alone"), args.store_posts
                )
    args.load_after = os.getloadavg()[1]
    return report(args, runs, alone)


def _admin_engine(admin_url: str) -> Any:
    from sqlalchemy import create_engine

    from bot.store import normalize_url

    return create_engine(normalize_url(admin_url), isolation_level="AUTOCOMMIT")


def new_database(admin_url: str, name: str) -> str:
    """A fresh, empty database on the cluster; its URL (the plain postgresql:// form)."""
    from sqlalchemy import text

    engine = _admin_engine(admin_url)
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def postgres_version(admin_url: str) -> str:
    from sqlalchemy import text

    engine = _admin_engine(admin_url)
    with engine.connect() as conn:
        version = str(conn.execute(text("SHOW server_version")).scalar_one())
    engine.dispose()
    return version.split()[0]


if __name__ == "__main__":
    sys.exit(main())
