"""Benchmark on the bundled demo day: speed, memory and what the detectors find.

What it does: replays `bot/demo/demo_stream.jsonl` through the real engine (as `inhaker replay`
does) and reports
- replay throughput (posts/s, best of N runs) and peak Python memory (tracemalloc);
- detector-only throughput on a longer stream (the day repeated on later dates);
- opportunity scoring throughput;
- detection results on the day's known events: when #Twelftal alerts after its onset, whether the
  Emerce call alerts with its asker and deadline, whether the spam account alerts, and how many
  other trend alerts fire.
It prints a Markdown report for docs/benchmarks.md.

What it does not do: compare with other detectors or use labelled corpora (issue 4's bench/),
or run as part of the test suite.

Run: python bench/demo_day.py [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import tracemalloc
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

from bot.config import Config
from bot.pipeline import trend_params
from bot.replay import replay
from bot.serialize import post_from_stream_line
from detectors.opportunities import score_opportunity
from detectors.records import Post
from detectors.trends import RisingTermDetector

TWELFTAL_ONSET = datetime(2014, 6, 13, 18, 45, tzinfo=UTC)
EMERCE_POST = "d-000448"


def demo_lines() -> list[str]:
    text = resources.files("bot.demo").joinpath("demo_stream.jsonl").read_text(encoding="utf-8")
    return text.splitlines()


def bench_replay(lines: list[str], runs: int) -> tuple[float, list[dict[str, Any]], float]:
    rates = []
    alerts: list[dict[str, Any]] = []
    for _ in range(runs):
        started = time.perf_counter()
        result = replay(lines, Config())
        rates.append(result.posts / (time.perf_counter() - started))
        alerts = result.alerts
    tracemalloc.start()
    replay(lines, Config())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return max(rates), alerts, peak / 2**20


def bench_detector(posts: list[Post], days: int) -> tuple[int, float]:
    detector = RisingTermDetector(trend_params(Config()))
    stream = [
        replace(p, id=f"{p.id}-{day}", created_at=p.created_at + timedelta(days=day))
        for day in range(days)
        for p in posts
    ]
    started = time.perf_counter()
    next_tick = stream[0].created_at
    for post in stream:
        while post.created_at >= next_tick:
            detector.findings(next_tick)
            next_tick += timedelta(minutes=1)
        detector.observe(post)
    elapsed = time.perf_counter() - started
    return len(stream), len(stream) / elapsed


def bench_opportunities(posts: list[Post], rounds: int) -> float:
    started = time.perf_counter()
    for _ in range(rounds):
        for post in posts:
            score_opportunity(
                post.text, title=post.title, author=post.author, posted_at=post.created_at
            )
    return rounds * len(posts) / (time.perf_counter() - started)


def detection_report(alerts: list[dict[str, Any]]) -> dict[str, Any]:
    trends = [a for a in alerts if a["kind"] == "trend"]
    opportunities = [a for a in alerts if a["kind"] == "opportunity"]
    twelftal = next((a for a in trends if "twelftal" in a["terms"]), None)
    emerce = next((a for a in opportunities if a["post_id"] == EMERCE_POST), None)
    latency = None
    if twelftal is not None:
        alerted = datetime.fromisoformat(twelftal["alerted_at"].replace("Z", "+00:00"))
        latency = (alerted - TWELFTAL_ONSET).total_seconds() / 60
    return {
        "twelftal_alerted_at": twelftal["alerted_at"] if twelftal else None,
        "twelftal_latency_min": latency,
        "emerce": emerce,
        "spam_alerted": any("zomerdeal" in a["terms"][:1] for a in trends),
        "trend_alerts": len(trends),
        "other_trend_alerts": [a["title"] for a in trends if a is not twelftal],
        "opportunity_alerts": [(a["post_id"], a["asker"], a["deadline"]) for a in opportunities],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--days", type=int, default=5, help="days for the detector-only run")
    args = parser.parse_args()

    lines = demo_lines()
    posts = [post_from_stream_line(line, where="demo") for line in lines]
    rate, alerts, peak_mb = bench_replay(lines, args.runs)
    detector_posts, detector_rate = bench_detector(posts, args.days)
    opp_rate = bench_opportunities(posts, 3)
    found = detection_report(alerts)

    print(
        f"machine: {platform.processor() or platform.machine()}, Python "
        f"{platform.python_version()}, one process\n"
    )
    print("| measure | result |")
    print("| --- | --- |")
    print(
        f"| replay of the demo day ({len(posts)} posts), best of {args.runs} | "
        f"{rate:,.0f} posts/s |"
    )
    print(f"| peak Python memory during that replay (tracemalloc) | {peak_mb:.1f} MiB |")
    print(
        f"| trend detector alone, {detector_posts:,} posts ({args.days} days), tick per minute "
        f"| {detector_rate:,.0f} posts/s |"
    )
    print(f"| opportunity scorer alone | {opp_rate:,.0f} posts/s |")
    print()
    print("| event on the demo day | result |")
    print("| --- | --- |")
    print(
        f"| #Twelftal (onset 18:45 UTC) | alerted at {found['twelftal_alerted_at']}, "
        f"{found['twelftal_latency_min']:.0f} min after onset |"
    )
    emerce = found["emerce"]
    print(
        f"| Emerce call ({EMERCE_POST}, 10:12 UTC) | "
        + (
            f"alerted at {emerce['alerted_at']}, asker {emerce['asker']}, "
            f"deadline {emerce['deadline']} |"
            if emerce
            else "not alerted |"
        )
    )
    print(
        f"| #zomerdeal spam (one account, 30 posts) | "
        f"{'ALERTED' if found['spam_alerted'] else 'not alerted'} |"
    )
    print(
        f"| other trend alerts | {len(found['other_trend_alerts'])}: "
        f"{', '.join(found['other_trend_alerts'])} |"
    )
    print(f"| opportunity alerts | {json.dumps(found['opportunity_alerts'], ensure_ascii=False)} |")


if __name__ == "__main__":
    main()
