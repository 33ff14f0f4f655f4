"""Soak: a million posts through the replay engine and 200 live feeds polled by `inhaker run`.

What it does: runs two real workloads side by side, each in its own process so each one's
memory is its own, and prints a Markdown report (the exact command, memory tables, verdicts):

1. **Replay** (a child process: this script with `--replay-child`): `--posts` posts (default
   1,000,000) from `detector_scale.SyntheticStream` (same seed, same stream; 1,000 posts/min of
   stream time, so a million posts is about 17 hours with a day/night swing and an injected burst
   every 10 hours) as JSON lines through `bot.replay.replay`, the engine `inhaker replay` runs
   (JSON parsing, trend detector, opportunity scorer, alert policy, outbox) with the clock from
   the posts. The child samples its own VmRSS/VmHWM from /proc/self/status every 5 % of the
   posts (the last sample while the engine still holds everything) and counts log records at
   ERROR or above, exceptions and bad lines. The replay keeps the last 200,000 posts in memory
   for alert evidence, so its RSS rises until then; judge "flat" on runs well past that.
2. **Live** (a child process: `python -m bot.cli run`, the real `Runner` of bot/scheduler.py with
   APScheduler, the SQLite store and the Slack notifier): `--feeds` RSS feeds (default 200)
   served by `--servers` local HTTP servers (tests/feed_server.py: real sockets on 127.0.0.1,
   ETag and 304s), polled every `--interval` (30 s, the shortest feeds.yaml allows), alerts
   delivered to the fake Slack Web API (tests/fake_slack.py, reached through SLACK_API_URL, with
   Slack's per-channel rate limit). A publisher thread adds items over time (about one new item
   per feed every two minutes, feeds keep their latest 30 items like real ones) and, every
   `--burst-every` seconds, a story: one new hashtag across many feeds, so trends are alerted and
   delivered. A few feeds are deliberately broken (404, HTTP 500, an HTML page): their poll
   failures are the expected per-source errors and are counted apart. This process samples the
   bot's VmRSS/VmHWM from /proc/<pid>/status every `--sample-every` seconds for `--minutes`
   minutes, then stops it with SIGTERM (as a service manager does) and reads its log.
   Time is compressed here too: the live bot's trend detector runs with a 3-minute window
   (`--live-window`; 30 s buckets), so ten minutes are more than three windows and everything
   the detector keeps per window has filled and turned over by the second half. What is left to
   grow is what a window does not bound (the scheduler, HTTP, the store, Slack delivery), which
   is what the live part is for; the detector's own memory at the default one-hour window is the
   replay's part. `--live-window default` runs the shipped detection settings (then the detector
   fills for two hours: use `--minutes 240` or more to judge).

Unexpected errors: log records at ERROR or CRITICAL, tracebacks, poll failures of feeds that are
not deliberately broken, a replay line rejected, and a process that exits non-zero or does not
stop cleanly. Memory is "flat" when RSS grows less than `--flat` percent (default 5) over the
second half of each run (from the sample nearest the half-way point to the last one).

What it does not do: measure detection quality or speed targets (bench/trend_bench.py,
bench/detector_scale.py do), touch the internet (everything is on 127.0.0.1), or write
docs/benchmarks.md (paste the report there by hand).

Run: python bench/soak.py [--minutes 10] [--posts 1000000] [--feeds 200]
     python bench/soak.py --minutes 2 --posts 100000 --feeds 50     # a short check (~3 min)
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
# The live part serves feeds and Slack with the test suite's real local servers (tests/ is not an
# installed package, so the repository root goes on the path, as when pytest runs).
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from detector_scale import SyntheticStream  # noqa: E402  (bench/ is the script's own folder)

from bot.config_sources import parse_duration  # noqa: E402

PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
CHANNEL = "#inhaker-soak"
FEED_ITEMS = 30  # items a feed keeps, newest first (publishers show their latest 20-50)
BROKEN_KINDS = ("missing", "server-error", "html")
# A log line as bot/cli.py formats it: "2026-01-01 12:00:00,123 LEVEL logger: message".
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (DEBUG|INFO|WARNING|ERROR|CRITICAL) ")


def memory_of(pid: int | str = "self") -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MiB from /proc/<pid>/status; (0, 0) when it is gone."""
    rss = hwm = 0.0
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1]) / 1024
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1]) / 1024
    except OSError:
        pass
    return rss, hwm


def growth_over_second_half(points: Sequence[tuple[float, float]]) -> tuple[float, int]:
    """(RSS growth in % from the sample nearest half-way to the last, index of that sample);
    `points` are (progress, rss) with progress in time or posts."""
    if len(points) < 2:
        return 0.0, 0
    end = points[-1][0]
    half = min(range(len(points)), key=lambda i: abs(points[i][0] - end / 2))
    base = points[half][1]
    return ((points[-1][1] - base) / base * 100 if base else 0.0), half


# -- 1. replay (child process) ---------------------------------------------------------------------


class _CountErrors(logging.Handler):
    """Counts records at ERROR or above, and keeps the first few for the report."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.count = 0
        self.first: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        if len(self.first) < 5:
            self.first.append(f"{record.levelname} {record.name}: {record.getMessage()[:300]}")


def replay_child(args: argparse.Namespace) -> int:
    """Replay the synthetic stream through `bot.replay.replay`; print one JSON result line."""
    from bot.config import Config
    from bot.replay import replay

    errors = _CountErrors()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    logging.getLogger().addHandler(errors)
    stream = SyntheticStream(seed=args.seed, rate_per_min=args.rate, posts=args.posts)
    started = time.monotonic()
    samples: list[dict[str, Any]] = []
    made = 0
    last_at = ""

    def sample() -> None:
        rss, hwm = memory_of()
        samples.append(
            {"seconds": time.monotonic() - started, "posts": made, "at": last_at, "rss": rss}
            | {"hwm": hwm}
        )

    every = max(1, args.posts // 20)

    def lines() -> Iterator[str]:
        nonlocal made, last_at
        for chunk in stream.chunks():
            for post in chunk.posts:
                # Sampled here, between posts, so the table shows the engine's memory as it runs.
                if made % every == 0:
                    sample()
                    print(f"replay: {made:,} posts", file=sys.stderr, flush=True)
                made += 1
                last_at = post.created_at.isoformat()
                yield json.dumps(
                    {
                        "id": post.id,
                        "text": post.text,
                        "created_at": last_at,
                        "source": "x",
                        "author": post.author,
                        "lang": None,
                    }
                )
        # The last sample while the engine still holds everything (not after replay returns).
        sample()

    exception = None
    result = None
    try:
        result = replay(lines(), Config(), name="soak")
    except Exception as exc:  # reported, not hidden: an exception is an unexpected error
        logging.getLogger("soak").exception("replay raised")
        exception = f"{type(exc).__name__}: {exc}"
        sample()
    print(
        json.dumps(
            {
                "samples": samples,
                "posts": result.posts if result else made,
                "alerts": len(result.alerts) if result else 0,
                "trend_alerts": sum(a["kind"] == "trend" for a in result.alerts) if result else 0,
                "bad_lines": len(result.errors) if result else 0,
                "first_bad_lines": result.errors[:3] if result else [],
                "error_records": errors.count,
                "first_errors": errors.first,
                "exception": exception,
                "seconds": time.monotonic() - started,
                "rate": args.rate,
            }
        ),
        flush=True,
    )
    return 0


# -- 2. live (feeds, fake Slack, `inhaker run`) ----------------------------------------------------


@dataclass(slots=True)
class Feed:
    id: str
    path: str
    broken: str | None = None  # one of BROKEN_KINDS for a deliberately broken feed
    items: list[tuple[str, str, str, datetime]] = field(default_factory=list)  # guid, author,..


def rss(feed: Feed) -> bytes:
    entries = "".join(
        f"""
    <item>
      <guid isPermaLink="false">{escape(guid)}</guid>
      <title>{escape(text[:60])}</title>
      <link>https://example.org/{escape(feed.id)}/{escape(guid)}</link>
      <dc:creator>{escape(author)}</dc:creator>
      <description>{escape(text)}</description>
      <pubDate>{format_datetime(published)}</pubDate>
    </item>"""
        for guid, author, text, published in feed.items
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel>
    <title>{escape(feed.id)}</title>
    <link>https://example.org/{escape(feed.id)}/</link>
    <description>soak feed</description>{entries}
  </channel>
</rss>""".encode()


class Publisher:
    """The publishers: feeds that gain items over time, stories that spread, a few broken."""

    def __init__(self, servers: Sequence[Any], feeds: int, broken: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.servers = servers
        self.feeds: list[Feed] = []
        for i in range(feeds):
            kind = BROKEN_KINDS[i % len(BROKEN_KINDS)] if i < broken else None
            self.feeds.append(Feed(id=f"feed{i:03d}", path=f"/feeds/{i:03d}.xml", broken=kind))
        # Everyday words, so ordinary items never form a story on their own.
        self.words = [
            f"{a}{b}{c}" for a in "bdfgklmnprst" for b in "aeiou" for c in ("ran", "vel", "mok")
        ]
        self.items_made = 0
        self.stories: list[str] = []
        self.lock = threading.Lock()

    def server_of(self, index: int) -> Any:
        return self.servers[index % len(self.servers)]

    def url(self, index: int) -> str:
        return str(self.server_of(index).url(self.feeds[index].path))

    def _item(self, feed: Feed, now: datetime, text: str | None = None) -> None:
        self.items_made += 1
        author = f"writer{self.rng.randrange(400)}"
        text = text or " ".join(self.rng.choices(self.words, k=self.rng.randint(8, 14)))
        feed.items.insert(0, (f"{feed.id}-{self.items_made}", author, text, now))
        del feed.items[FEED_ITEMS:]

    def publish(self, index: int) -> None:
        feed, server = self.feeds[index], self.server_of(index)
        if feed.broken == "missing":
            server.remove(feed.path)
        elif feed.broken == "server-error":
            server.serve(feed.path, b"<html><body>Internal error</body></html>", status=500)
        elif feed.broken == "html":
            page = b"<!doctype html><html><head><title>Blog</title></head><body>Hi</body></html>"
            server.serve(feed.path, page, content_type="text/html; charset=utf-8")
        else:
            etag = f'"{feed.id}-{feed.items[0][0] if feed.items else 0}"'
            server.serve(feed.path, rss(feed), etag=etag)

    def start_feeds(self) -> None:
        now = datetime.now(UTC)
        for index, feed in enumerate(self.feeds):
            if not feed.broken:
                for k in range(10):
                    self._item(feed, now - timedelta(minutes=30 + 7 * k))
            self.publish(index)

    def update(self, share: float) -> int:
        """Give about `share` of the healthy feeds one new item each; the number of items added."""
        now = datetime.now(UTC)
        added = 0
        with self.lock:
            for index, feed in enumerate(self.feeds):
                if not feed.broken and self.rng.random() < share:
                    self._item(feed, now)
                    self.publish(index)
                    added += 1
        return added

    def story(self) -> str:
        """A new hashtag, carried by an item in about a third of the healthy feeds at once."""
        now = datetime.now(UTC)
        tag = "soakstory" + "".join(self.rng.choices("bdfgklmnprstvz", k=6))
        with self.lock:
            healthy = [i for i, f in enumerate(self.feeds) if not f.broken]
            for index in self.rng.sample(healthy, min(len(healthy), max(8, len(healthy) // 3))):
                words = " ".join(self.rng.choices(self.words, k=6))
                self._item(self.feeds[index], now, f"#{tag} {words} breaking")
                self.publish(index)
            self.stories.append(tag)
        return tag


# feeds.yaml `detection:` for `--live-window W`: buckets a tenth of the window, the short window a
# third, no more history needed than one window.
def detection_yaml(window: str) -> str:
    if window == "default":
        return ""
    seconds = int(parse_duration(window).total_seconds())
    bucket, short = max(1, seconds // 6), max(1, seconds // 3)
    return (
        f"detection:\n  bucket: {bucket}s\n  short_window: {short}s\n  window: {seconds}s\n"
        f"  min_history: {seconds}s\n"
    )


def write_config(path: Path, publisher: Publisher, interval: int, window: str = "3m") -> None:
    sources = "".join(
        f"""
  - id: {feed.id}
    kind: rss
    url: {publisher.url(i)}
    interval: {interval}s"""
        for i, feed in enumerate(publisher.feeds)
    )
    path.write_text(
        f"""# Written by bench/soak.py for one soak run.
allow_private_hosts: [127.0.0.1]
sources:{sources}
slack:
  channel: "{CHANNEL}"
{detection_yaml(window)}""",
        encoding="utf-8",
    )


@dataclass(slots=True)
class LiveSample:
    seconds: float
    rss: float
    hwm: float
    requests: int
    items: int
    messages: int


@dataclass(slots=True)
class LogTally:
    levels: dict[str, int] = field(default_factory=dict)
    tracebacks: int = 0
    unexpected: list[str] = field(default_factory=list)  # ERROR/CRITICAL lines, first few
    expected_failures: dict[str, int] = field(default_factory=dict)  # broken feed -> failures
    other_failures: list[str] = field(default_factory=list)  # poll failures of healthy feeds
    clean_stop: bool = False

    @property
    def unexpected_count(self) -> int:
        return (
            self.levels.get("ERROR", 0)
            + self.levels.get("CRITICAL", 0)
            + self.tracebacks
            + len(self.other_failures)
        )


def read_log(text: str, broken: dict[str, str]) -> LogTally:
    tally = LogTally()
    for line in text.splitlines():
        if line.startswith("Traceback (most recent call last)"):
            tally.tracebacks += 1
        if line.startswith("inhaker stopped cleanly"):
            tally.clean_stop = True
        match = LOG_LINE.match(line)
        if match is None:
            continue
        level = match.group(1)
        tally.levels[level] = tally.levels.get(level, 0) + 1
        if level in ("ERROR", "CRITICAL") and len(tally.unexpected) < 5:
            tally.unexpected.append(line[:300])
        if "poll failed:" in line:
            found = next((fid for fid in broken if f"'{fid}'" in line), None)
            if found is not None:
                tally.expected_failures[found] = tally.expected_failures.get(found, 0) + 1
            else:
                tally.other_failures.append(line[:300])
    return tally


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in PROXY_VARS}
    # slack_sdk ignores NO_PROXY, so the proxy variables are removed rather than bypassed.
    env.update(NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost", **extra)
    env.pop("SLACK_APP_TOKEN", None)  # no Socket Mode: the soak is about polling and alerting
    env.pop("INHAKER_CONFIG", None)
    return env


def live(args: argparse.Namespace, workdir: Path, replay: subprocess.Popen[str]) -> dict[str, Any]:
    from tests.fake_slack import FakeSlack
    from tests.feed_server import FeedServer

    servers = [FeedServer().start() for _ in range(args.servers)]
    slack = FakeSlack().start()
    publisher = Publisher(servers, args.feeds, args.broken, args.seed)
    publisher.start_feeds()
    config = workdir / "feeds.yaml"
    write_config(config, publisher, args.interval, args.live_window)
    log_path = workdir / "inhaker-run.log"
    env = clean_env(
        SLACK_BOT_TOKEN=slack.token,
        SLACK_API_URL=slack.base_url,
        DATABASE_URL=f"sqlite:///{workdir / 'inhaker.db'}",
    )
    samples: list[LiveSample] = []
    stories: list[tuple[float, str]] = []
    with log_path.open("w", encoding="utf-8") as log_file:
        bot = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run", "--config", str(config)],
            env=env,
            cwd=workdir,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            text=True,
        )
        started = time.monotonic()
        end = started + args.minutes * 60
        next_sample = started + args.sample_every
        next_update = started + args.update_every
        next_story = started + args.burst_every / 2  # the first one early, for short runs
        # About one new item per healthy feed every two minutes.
        share = min(1.0, args.update_every / 120)
        try:
            while True:
                now = time.monotonic()
                if now >= next_sample:
                    rss, hwm = memory_of(bot.pid)
                    samples.append(
                        LiveSample(
                            now - started,
                            rss,
                            hwm,
                            sum(len(s.requests) for s in servers),
                            publisher.items_made,
                            len(slack.messages()),
                        )
                    )
                    replay_state = "running" if replay.poll() is None else "done"
                    print(
                        f"live: {now - started:5.0f}s  RSS {rss:6.1f} MiB  "
                        f"{samples[-1].requests:,} feed requests  "
                        f"{samples[-1].messages} Slack messages  (replay {replay_state})",
                        file=sys.stderr,
                        flush=True,
                    )
                    next_sample += args.sample_every
                if now >= end or bot.poll() is not None:
                    break
                if now >= next_update:
                    publisher.update(share)
                    next_update += args.update_every
                if now >= next_story:
                    stories.append((now - started, publisher.story()))
                    next_story += args.burst_every
                time.sleep(max(0.05, min(next_sample, next_update, next_story, end) - now))
        finally:
            exited_early = bot.poll() is not None
            if not exited_early:
                bot.send_signal(signal.SIGTERM)
            try:
                code = bot.wait(timeout=120)
            except subprocess.TimeoutExpired:
                bot.kill()
                code = bot.wait()
            messages = slack.messages()
            rate_limited = len(slack.rate_limited_calls)
            requests = sum(len(s.requests) for s in servers)
            slack.stop()
            for server in servers:
                server.stop()
    broken = {f.id: f.broken for f in publisher.feeds if f.broken}
    tally = read_log(log_path.read_text(encoding="utf-8", errors="replace"), broken)
    story_messages = {
        tag: sum(tag in json.dumps(m["blocks"]) + m["text"] for m in messages) for _, tag in stories
    }
    return {
        "samples": samples,
        "exit_code": code,
        "exited_early": exited_early,
        "tally": tally,
        "broken": broken,
        "messages": len(messages),
        "rate_limited": rate_limited,
        "requests": requests,
        "items": publisher.items_made,
        "stories": stories,
        "story_messages": story_messages,
        "log": str(log_path),
    }


# -- report ----------------------------------------------------------------------------------------


def command_line(args: argparse.Namespace) -> str:
    parts = ["python bench/soak.py", f"--minutes {args.minutes:g}", f"--posts {args.posts}"]
    parts.append(f"--feeds {args.feeds}")
    defaults = {"servers": 4, "broken": 3, "interval": 30, "seed": 7, "live_window": "3m"}
    for name, default in defaults.items():
        if getattr(args, name) != default:
            parts.append(f"--{name.replace('_', '-')} {getattr(args, name)}")
    return " ".join(parts)


def report(args: argparse.Namespace, replayed: dict[str, Any], run: dict[str, Any]) -> int:
    tally: LogTally = run["tally"]
    print("## Soak: a million posts replayed and live feeds polled\n")
    print(
        f"Command: `{command_line(args)}`; machine: {platform.machine()}, {os.cpu_count()} "
        f"cores, Python {platform.python_version()}, {datetime.now(UTC):%Y-%m-%d}. The replay "
        "and `inhaker run` ran at the same time, each in its own process.\n"
    )

    # Replay.
    samples = replayed.get("samples", [])
    print(
        f"### Replay: {replayed.get('posts', 0):,} posts through the `inhaker replay` engine\n\n"
        f"Synthetic stream (bench/detector_scale.py, seed {args.seed}, "
        f"{replayed.get('rate', 0):,.0f} posts/min of stream time), default config (detection "
        f"v2, opportunity scorer on); {replayed.get('seconds', 0):,.0f} s, "
        f"{replayed.get('alerts', 0):,} alerts ({replayed.get('trend_alerts', 0):,} trends).\n"
    )
    print("| elapsed (s) | posts | stream time | RSS (MiB) | peak RSS, VmHWM (MiB) |")
    print("| ---: | ---: | --- | ---: | ---: |")
    for s in samples:
        at = s["at"][:16].replace("T", " ") if s["at"] else ""
        print(
            f"| {s['seconds']:,.0f} | {s['posts']:,} | {at} | {s['rss']:,.1f} | {s['hwm']:,.1f} |"
        )
    replay_growth, half = growth_over_second_half([(s["posts"], s["rss"]) for s in samples])
    replay_unexpected = (
        replayed.get("error_records", 0)
        + replayed.get("bad_lines", 0)
        + (1 if replayed.get("exception") else 0)
        + (1 if replayed.get("exit_code", 0) else 0)
    )

    # Live.
    live_samples: list[LiveSample] = run["samples"]
    healthy = args.feeds - len(run["broken"])
    print(
        f"\n### Live: `inhaker run` polling {args.feeds} feeds for {args.minutes:g} minutes\n\n"
        f"{args.feeds} RSS feeds on {args.servers} local HTTP servers, polled every "
        f"{args.interval} s ({healthy} healthy, {len(run['broken'])} deliberately broken: "
        f"{', '.join(sorted(set(run['broken'].values())))}); {run['items']:,} items published "
        f"over the run, {len(run['stories'])} stories spread across feeds; alerts to the fake "
        f"Slack Web API. {run['requests']:,} feed requests, {run['messages']} Slack messages "
        f"({run['rate_limited']} answered 429 by Slack's per-channel limit).\n"
    )
    print(
        "| elapsed (s) | RSS (MiB) | peak RSS, VmHWM (MiB) | feed requests | items | Slack msgs |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for ls in live_samples:
        print(
            f"| {ls.seconds:,.0f} | {ls.rss:,.1f} | {ls.hwm:,.1f} | {ls.requests:,} | "
            f"{ls.items:,} | {ls.messages} |"
        )
    live_growth, _ = growth_over_second_half([(s.seconds, s.rss) for s in live_samples])
    stop_problem = run["exited_early"] or run["exit_code"] != 0 or not tally.clean_stop
    live_unexpected = tally.unexpected_count + (1 if stop_problem else 0)

    # Verdicts.
    flat = args.flat
    print("\n| measure | result |")
    print("| --- | --- |")
    verdict = "flat" if replay_growth < flat else "GROWING"
    note = ""
    if replayed.get("posts", 0) < 400_000:
        note = (
            " (under 400,000 posts the replay's bounded evidence map, 200,000 posts, is still "
            "filling in the second half; a full run is past it)"
        )
    half_posts = samples[half]["posts"] if samples else 0
    print(
        f"| replay RSS growth over the second half ({half_posts:,} -> "
        f"{replayed.get('posts', 0):,} posts) | {replay_growth:+.1f} %: {verdict}{note} |"
    )
    print(
        f"| live RSS growth over the second half of the run | {live_growth:+.1f} %: "
        f"{'flat' if live_growth < flat else 'GROWING'} |"
    )
    print(f"| replay: unexpected errors | {replay_unexpected} |")
    print(f"| live: unexpected errors | {live_unexpected} |")
    expected = sum(tally.expected_failures.values())
    per_feed = ", ".join(
        f"{fid} ({kind}) {tally.expected_failures.get(fid, 0)}"
        for fid, kind in sorted(run["broken"].items())
    )
    print(
        f"| live: expected per-source errors (poll failures of the broken feeds) | {expected}"
        f"{': ' + per_feed if per_feed else ''} |"
    )
    levels = ", ".join(f"{k} {v}" for k, v in sorted(tally.levels.items()))
    print(f"| live: log lines by level | {levels} |")
    print(
        f"| live: stories alerted (a Slack message naming the hashtag) | "
        f"{sum(1 for n in run['story_messages'].values() if n)} / {len(run['stories'])} |"
    )
    print(
        f"| live: stopped by SIGTERM | exit code {run['exit_code']}"
        + (", exited before the end" if run["exited_early"] else "")
        + (", said 'inhaker stopped cleanly'" if tally.clean_stop else ", no clean-stop line")
        + " |"
    )
    unexpected = replay_unexpected + live_unexpected
    print(f"\nunexpected errors: {unexpected}")
    details = [*replayed.get("first_errors", []), *replayed.get("first_bad_lines", [])]
    if replayed.get("exception"):
        details.append(f"replay raised {replayed['exception']}")
    details += tally.unexpected + tally.other_failures[:5]
    for line in details:
        print(f"- `{line}`")
    if unexpected:
        print(f"\n(the live log is kept in {run['log']})")
    return 1 if unexpected else 0


# -- main ------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="live part (10)")
    parser.add_argument("--posts", type=int, default=1_000_000, help="posts replayed (1,000,000)")
    parser.add_argument("--feeds", type=int, default=200, help="feeds polled live (200)")
    parser.add_argument("--servers", type=int, default=4, help="local feed servers (4)")
    parser.add_argument("--broken", type=int, default=3, help="deliberately broken feeds (3)")
    parser.add_argument("--interval", type=int, default=30, help="poll interval, s (30)")
    parser.add_argument("--rate", type=float, default=1000.0, help="replay posts/min (1,000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--sample-every",
        type=float,
        default=None,
        help="seconds between memory samples (default: the live run's length / 20, at least 5)",
    )
    parser.add_argument(
        "--update-every", type=float, default=15.0, help="seconds between new items (15)"
    )
    parser.add_argument(
        "--burst-every", type=float, default=150.0, help="seconds between stories (150)"
    )
    parser.add_argument("--flat", type=float, default=5.0, help="flat: growth under this %% (5)")
    parser.add_argument(
        "--live-window",
        default="3m",
        help="the live bot's detection window (3m), or 'default' for the shipped settings",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work folder (log, store)")
    parser.add_argument("--replay-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.sample_every is None:
        args.sample_every = max(5.0, args.minutes * 60 / 20)
    if args.replay_child:
        return replay_child(args)
    if args.posts <= 0 or args.feeds <= args.broken or args.minutes <= 0 or args.servers <= 0:
        parser.error("--posts, --minutes, --servers must be positive; --feeds above --broken")
    if args.interval < 30:
        parser.error("--interval: feeds.yaml allows 30 s at least")

    workdir = Path(tempfile.mkdtemp(prefix="inhaker-soak-"))
    replay_out = workdir / "replay.json"
    with replay_out.open("w", encoding="utf-8") as out:
        replay = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--replay-child",
                f"--posts={args.posts}",
                f"--rate={args.rate}",
                f"--seed={args.seed}",
            ],
            stdout=out,
            env=clean_env(),
            text=True,
        )
        try:
            run = live(args, workdir, replay)
            print("live part done; waiting for the replay to finish ...", file=sys.stderr)
            code = replay.wait()
        except BaseException:
            replay.kill()
            raise
    lines = replay_out.read_text(encoding="utf-8").strip().splitlines()
    replayed: dict[str, Any] = json.loads(lines[-1]) if lines else {"exception": "no result"}
    replayed["exit_code"] = code
    status = report(args, replayed, run)
    if args.keep or status:
        print(f"work folder kept: {workdir}", file=sys.stderr)
    else:
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
