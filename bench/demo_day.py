"""Benchmark on the bundled demo day: speed, memory and what detection v2 (and v1) finds.

What it does: replays `bot/demo/demo_stream.jsonl` through the real engine (as `inhaker replay`
does) twice, with detection v2 (the default config, `detector: signitrend`) and with detection
v1 (the config trend_bench.py gives `inhaker replay --config`: `detector: rising` with v1's
thresholds), and reports for each
- replay throughput (posts/s, best of N runs) and peak Python memory (tracemalloc);
- detector-only throughput on a longer stream (the day repeated on later dates), with the
  detector the engine builds from that config (`bot.pipeline.build_detector`);
- detection results on the day's known events: when #Twelftal alerts after its onset, whether the
  Emerce call alerts with its asker and deadline, whether the spam account alerts, and how many
  other trend alerts fire;
and the opportunity scoring throughput (the same scorer for both). It prints a Markdown report
for docs/benchmarks.md.

What it does not do: compare with other detectors or use labelled corpora (trend_bench.py and
nab_bench.py do), measure at scale (detector_scale.py does), or run as part of the test suite.

Run: python bench/demo_day.py [--runs 3] [--days 5]
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
import tracemalloc
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from trend_bench import V1_CONFIG

from bot.config import Config, load_config
from bot.pipeline import build_detector
from bot.replay import replay
from bot.serialize import post_from_stream_line
from detectors.opportunities import score_opportunity
from detectors.records import Post

TWELFTAL_ONSET = datetime(2014, 6, 13, 18, 45, tzinfo=UTC)
EMERCE_POST = "d-000448"


def demo_lines() -> list[str]:
    text = resources.files("bot.demo").joinpath("demo_stream.jsonl").read_text(encoding="utf-8")
    return text.splitlines()


def v1_config() -> Config:
    """Detection v1 as trend_bench.py runs it: its YAML, read the way `--config` reads it."""
    with tempfile.TemporaryDirectory(prefix="inhaker-demo-day-") as work:
        path = Path(work) / "feeds.yaml"
        path.write_text(V1_CONFIG, encoding="utf-8")
        return load_config(path)


def bench_replay(
    lines: list[str], config: Config, runs: int
) -> tuple[float, list[dict[str, Any]], float]:
    rates = []
    alerts: list[dict[str, Any]] = []
    for _ in range(runs):
        started = time.perf_counter()
        result = replay(lines, config)
        rates.append(result.posts / (time.perf_counter() - started))
        alerts = result.alerts
    tracemalloc.start()
    replay(lines, config)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return max(rates), alerts, peak / 2**20


def bench_detector(posts: list[Post], config: Config, days: int) -> tuple[int, float]:
    detector = build_detector(config)
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


def _twelftal(found: dict[str, Any]) -> str:
    if found["twelftal_alerted_at"] is None:
        return "not alerted"
    return (
        f"alerted at {found['twelftal_alerted_at']}, "
        f"{found['twelftal_latency_min']:.0f} min after onset"
    )


def _emerce(found: dict[str, Any]) -> str:
    emerce = found["emerce"]
    if not emerce:
        return "not alerted"
    return (
        f"alerted at {emerce['alerted_at']}, asker {emerce['asker']}, deadline {emerce['deadline']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--days", type=int, default=5, help="days for the detector-only run")
    args = parser.parse_args()

    lines = demo_lines()
    posts = [post_from_stream_line(line, where="demo") for line in lines]
    configs = {"v2": Config(), "v1": v1_config()}
    assert configs["v2"].detection.detector == "signitrend"
    assert configs["v1"].detection.detector == "rising"
    measured: dict[str, dict[str, Any]] = {}
    for version, config in configs.items():
        rate, alerts, peak_mb = bench_replay(lines, config, args.runs)
        detector_posts, detector_rate = bench_detector(posts, config, args.days)
        measured[version] = {
            "rate": rate,
            "peak_mb": peak_mb,
            "detector_posts": detector_posts,
            "detector_rate": detector_rate,
            "found": detection_report(alerts),
        }
    opp_rate = bench_opportunities(posts, 3)
    v2, v1 = measured["v2"], measured["v1"]
    found2, found1 = v2["found"], v1["found"]

    print(
        f"machine: {platform.processor() or platform.machine()}, Python "
        f"{platform.python_version()}, one process\n"
    )
    print("| measure | detection v2 (default) | detection v1 |")
    print("| --- | --- | --- |")
    print(
        f"| replay of the demo day ({len(posts)} posts), best of {args.runs} | "
        f"{v2['rate']:,.0f} posts/s | {v1['rate']:,.0f} posts/s |"
    )
    print(
        f"| peak Python memory during that replay (tracemalloc) | {v2['peak_mb']:.1f} MiB | "
        f"{v1['peak_mb']:.1f} MiB |"
    )
    print(
        f"| trend detector alone, {v2['detector_posts']:,} posts ({args.days} days), tick per "
        f"minute | {v2['detector_rate']:,.0f} posts/s | {v1['detector_rate']:,.0f} posts/s |"
    )
    print(f"| opportunity scorer alone (the same for both) | {opp_rate:,.0f} posts/s | |")
    print()
    print("| event on the demo day | detection v2 (default) | detection v1 |")
    print("| --- | --- | --- |")
    print(f"| #Twelftal (onset 18:45 UTC) | {_twelftal(found2)} | {_twelftal(found1)} |")
    print(f"| Emerce call ({EMERCE_POST}, 10:12 UTC) | {_emerce(found2)} | {_emerce(found1)} |")
    print(
        "| #zomerdeal spam (one account, 30 posts) | "
        + " | ".join("ALERTED" if f["spam_alerted"] else "not alerted" for f in (found2, found1))
        + " |"
    )
    print(
        "| other trend alerts | "
        + " | ".join(
            f"{len(f['other_trend_alerts'])}: {', '.join(f['other_trend_alerts'])}"
            for f in (found2, found1)
        )
        + " |"
    )
    print(
        "| opportunity alerts | "
        + " | ".join(
            json.dumps(f["opportunity_alerts"], ensure_ascii=False) for f in (found2, found1)
        )
        + " |"
    )


if __name__ == "__main__":
    main()
