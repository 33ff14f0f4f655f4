"""Trend detection benchmark: inhaker against its peers on labelled crisis streams, in one run.

What it does:
1. builds the labelled streams (bench/crisis_streams.py: CrisisLex T26 dev events injected into
   a thin and a busy background, with a spam account and a daily recurring hashtag as traps) in a
   directory outside the repository;
2. runs `inhaker replay STREAM --alerts-out ALERTS` (as a subprocess, `python -m bot.cli`) twice:
   `inhaker` is detection v2 (the default config, `detector: signitrend`) and `inhaker-v1` is
   detection v1 (`--config` with `detector: rising` and v1's thresholds, written into the work
   dir: see V1_CONFIG), and every peer of bench/peers.py (huginn, mastodon, gnip, ewma,
   kleinberg; each a subprocess) on the same streams, two at a time on a 2-core machine, and
   records each one's throughput (posts/s as the detector reports it, excluding interpreter
   start-up) and peak memory (max RSS of the child process, from wait4);
3. matches trend alerts to events and traps and prints Markdown tables: recall, precision, F1,
   median and max latency from onset, duplicate alerts per event, false alerts per day, trap
   alerts, throughput and memory per detector and variant, and each event's latency. The two
   inhaker runs are labelled "inhaker v2" and "inhaker v1" in the tables.

Definitions (also in bench/README.md):
- Scored period: from the first event's onset to the end of the stream. The warm-up before it
  gives every detector history; alerts in it are counted apart and not scored.
- An alert matches an event when at least 50 % of its evidence ids are that event's on-topic
  posts (the event with the largest share wins); otherwise, when it is not a trap alert (below),
  when its lead term (`terms[0]`) is one of the event's keyword terms, at least 20 % of its
  evidence are the event's posts and it fires between the event's onset and its end (latest
  onset wins if several).
- A trap alert has at least 50 % trap posts in its evidence or the trap's hashtag as lead term.
  Every spam alert is false. A daily-term alert within 24 h of the term's first occurrence is
  allowed (neither right nor wrong, left out of precision); later ones are false.
- Any other scored alert is false. Precision = matched / (scored alerts - allowed); recall =
  detected events / events; F1 their harmonic mean. Latency = first
  matched alert's `alerted_at` minus the onset, in minutes. A matching alert detects its event
  only when it fires before the event's end + 1 hour; later ones are still correct alerts.
  Duplicates per event = matched alerts beyond the first, averaged over detected events. False
  alerts per day = false alerts (unmatched, spam and daily after its first day) / days of the
  scored period.

Kleinberg is an offline reference: it decides with the whole stream in hand, so its latency and
precision are not reachable online.

Terms: the streams hold CrisisLex tweet text (research use only, not redistributable). They are
written to a temp dir (or --out, which must be outside the repository) and deleted at the end
unless --keep or --out is given; the tables hold aggregate numbers only.

Run: python bench/trend_bench.py [--quick] [--jobs 2] [--out DIR] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import crisis_streams

REPO = Path(__file__).resolve().parents[1]
DETECTORS = ("inhaker", "inhaker-v1", "huginn", "mastodon", "gnip", "ewma", "kleinberg")
INHAKER = frozenset({"inhaker", "inhaker-v1"})
LABELS = {"inhaker": "inhaker v2", "inhaker-v1": "inhaker v1"}
OFFLINE = frozenset({"kleinberg"})
# Detection v1 with the thresholds it was benchmarked with (its built-in defaults), for
# `inhaker replay --config`; written into the work dir, never into the repository.
V1_CONFIG = """\
detection:
  detector: rising
  bucket: 10m
  window: 1h
  baseline: 24h
  min_history: 1h
  min_posts: 10
  min_authors: 5
  min_ratio: 4.0
  min_score: 6.0
  watch_min_posts: 3
"""
V1_CONFIG_NAME = "inhaker-v1.feeds.yaml"
# Job order within a stream: the slow detectors first (v1 replays at ~700 posts/s on busy).
SLOWEST_FIRST = {"inhaker-v1": 0, "inhaker": 1, "kleinberg": 2}
# runs.json format: 1 (before v2) called v1 "inhaker"; 2 calls it "inhaker-v1".
RUNS_FORMAT = 2
MATCH_SHARE = 0.5
# The keyword rule also needs this share of the evidence from the event: an alert on "fire" made
# of background posts that happens to fire during a fire is not a detection of it.
KEYWORD_SHARE = 0.2
# A matching alert detects its event only up to this long after the event's last post.
DETECTION_GRACE = timedelta(hours=1)
RATE = re.compile(r"\(([\d,]+) posts/s\)")


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# -- running ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class Run:
    detector: str
    variant: str
    alerts_path: Path
    returncode: int = 0
    wall_s: float = 0.0
    rate: float | None = None  # posts/s as the detector reports it
    max_rss_mib: float = 0.0
    stderr: str = ""


def label(detector: str) -> str:
    return LABELS.get(detector, detector)


def command(detector: str, stream: Path, alerts: Path, work: Path) -> list[str]:
    if detector in INHAKER:
        replay = [sys.executable, "-m", "bot.cli", "replay", str(stream)]
        if detector == "inhaker-v1":
            replay += ["--config", str(work / V1_CONFIG_NAME)]
        return [*replay, "--alerts-out", str(alerts)]
    peers = str(Path(__file__).resolve().parent / "peers.py")
    return [sys.executable, peers, detector, str(stream), "--alerts-out", str(alerts)]


def run_one(detector: str, variant: str, stream: Path, work: Path) -> Run:
    alerts = work / f"{variant}.{detector}.alerts.jsonl"
    log = work / f"{variant}.{detector}.stderr"
    run = Run(detector, variant, alerts)
    env = dict(os.environ, PYTHONHASHSEED="0")
    print(f"  running {label(detector)} on {variant} ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    with log.open("w", encoding="utf-8") as err:
        proc = subprocess.Popen(
            command(detector, stream, alerts, work),
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    run.wall_s = time.perf_counter() - started
    run.returncode = proc.returncode
    run.max_rss_mib = usage.ru_maxrss / 1024  # KiB on Linux
    run.stderr = log.read_text(encoding="utf-8", errors="replace")
    found = RATE.search(run.stderr)
    run.rate = float(found.group(1).replace(",", "")) if found else None
    print(
        f"  done {label(detector)} on {variant}: {run.wall_s:.1f}s, exit {run.returncode}",
        file=sys.stderr,
        flush=True,
    )
    return run


# -- scoring ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class Score:
    detector: str
    variant: str
    events: int
    alerts: int = 0
    warmup: int = 0
    allowed: int = 0
    matched: int = 0
    false: int = 0
    spam: int = 0
    daily_late: int = 0
    late: int = 0  # matching alerts after the event's end + grace: correct, but not a detection
    detected: dict[str, float] = field(default_factory=dict)  # event -> latency (min)
    per_event: dict[str, int] = field(default_factory=dict)  # event -> matched alerts
    days: float = 0.0

    @property
    def scored(self) -> int:
        return self.alerts - self.warmup - self.allowed

    @property
    def recall(self) -> float:
        return len(self.detected) / self.events if self.events else 0.0

    @property
    def precision(self) -> float | None:
        return self.matched / self.scored if self.scored else None

    @property
    def f1(self) -> float:
        p, r = self.precision or 0.0, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def duplicates(self) -> float | None:
        if not self.detected:
            return None
        return (sum(self.per_event.values()) - len(self.detected)) / len(self.detected)

    @property
    def false_per_day(self) -> float:
        return (self.false + self.spam + self.daily_late) / self.days if self.days else 0.0


def classify(alert: dict[str, Any], labels: dict[str, Any], ids: dict[str, set[str]]) -> str:
    """'event:<folder>', 'spam', 'daily-first', 'daily' or 'false' (see the module docstring)."""
    evidence = alert.get("evidence") or []
    lead = (alert.get("terms") or [""])[0]
    at = parse_time(alert["alerted_at"])
    if evidence:
        shares = {key: len(ids[key].intersection(evidence)) / len(evidence) for key in ids}
    else:
        shares = dict.fromkeys(ids, 0.0)
    events = labels["events"]
    best = max(events, key=lambda e: shares[e["folder"]], default=None)
    if best is not None and shares[best["folder"]] >= MATCH_SHARE:
        return f"event:{best['folder']}"
    traps = labels["traps"]
    if shares["trap:spam"] >= MATCH_SHARE or lead in traps["spam"]["match_terms"]:
        return "spam"
    daily = traps["daily"]
    if shares["trap:daily"] >= MATCH_SHARE or lead in daily["match_terms"]:
        first = parse_time(daily["windows"][0][0]) if daily["windows"] else at
        return "daily-first" if at < first + timedelta(days=1) else "daily"
    active = [
        e
        for e in events
        if lead in e["terms"]
        and parse_time(e["onset"]) <= at <= parse_time(e["end"])
        and shares[e["folder"]] >= KEYWORD_SHARE
    ]
    if active:
        return f"event:{max(active, key=lambda e: e['onset'])['folder']}"
    return "false"


def score_run(run: Run, labels: dict[str, Any]) -> Score:
    events = labels["events"]
    ids = {e["folder"]: set(e["post_ids"]) for e in events}
    ids["trap:spam"] = set(labels["traps"]["spam"]["post_ids"])
    ids["trap:daily"] = set(labels["traps"]["daily"]["post_ids"])
    scored_from = min(parse_time(e["onset"]) for e in events)
    end = parse_time(labels["end"])
    score = Score(run.detector, run.variant, events=len(events))
    score.days = (end - scored_from).total_seconds() / 86_400
    onsets = {e["folder"]: parse_time(e["onset"]) for e in events}
    ends = {e["folder"]: parse_time(e["end"]) for e in events}
    if not run.alerts_path.exists():
        return score
    alerts = [json.loads(line) for line in run.alerts_path.read_text("utf-8").splitlines() if line]
    for alert in alerts:
        if alert.get("kind") != "trend":
            continue  # opportunity alerts are another detector
        score.alerts += 1
        at = parse_time(alert["alerted_at"])
        if at < scored_from:
            score.warmup += 1
            continue
        verdict = classify(alert, labels, ids)
        if verdict.startswith("event:"):
            folder = verdict.removeprefix("event:")
            score.matched += 1
            score.per_event[folder] = score.per_event.get(folder, 0) + 1
            if at > ends[folder] + DETECTION_GRACE:
                score.late += 1
                continue
            latency = (at - onsets[folder]).total_seconds() / 60
            if folder not in score.detected or latency < score.detected[folder]:
                score.detected[folder] = latency
        elif verdict == "daily-first":
            score.allowed += 1
        elif verdict == "daily":
            score.daily_late += 1
        elif verdict == "spam":
            score.spam += 1
        else:
            score.false += 1
    return score


# -- reporting -------------------------------------------------------------------------------------


def _num(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _minutes(values: Sequence[float], how: str) -> str:
    if not values:
        return "—"
    value = statistics.median(values) if how == "median" else max(values)
    return f"{value:.0f}"


def stream_table(labels: dict[str, dict[str, Any]]) -> list[str]:
    lines = [
        "| variant | posts | background posts/min | days (scored) | events | on-topic posts | "
        "spam posts | daily-term posts (days) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, meta in labels.items():
        events = meta["events"]
        first = min(parse_time(e["onset"]) for e in events)
        scored = (parse_time(meta["end"]) - first).total_seconds() / 86_400
        traps = meta["traps"]
        lines.append(
            f"| {name} | {meta['posts']:,} | {meta['variant_params']['rate_per_min']:.0f} | "
            f"{meta['days']:.2f} ({scored:.2f}) | {len(events)} | "
            f"{sum(e['posts'] for e in events):,} | {len(traps['spam']['post_ids'])} | "
            f"{len(traps['daily']['post_ids'])} ({len(traps['daily']['windows'])}) |"
        )
    return lines


def results_table(scores: Sequence[Score], runs: dict[tuple[str, str], Run]) -> list[str]:
    lines = [
        "| detector | recall | precision | F1 | median latency (min) | max latency (min) | "
        "duplicates / event | false alerts / day | spam alerts | daily-term alerts after day 1 | "
        "alerts (warm-up) | posts/s | peak RSS (MiB) |",
        "| --- " + "| ---: " * 12 + "|",
    ]
    for s in scores:
        run = runs[(s.detector, s.variant)]
        name = label(s.detector) + (" (offline)" if s.detector in OFFLINE else "")
        if run.returncode not in (0,):
            name += f" (exit {run.returncode})"
        latencies = list(s.detected.values())
        lines.append(
            f"| {name} | {s.recall:.2f} | {_num(s.precision)} | {s.f1:.2f} | "
            f"{_minutes(latencies, 'median')} | {_minutes(latencies, 'max')} | "
            f"{_num(s.duplicates, 1)} | {s.false_per_day:.1f} | {s.spam} | {s.daily_late} | "
            f"{s.alerts} ({s.warmup}) | "
            f"{'—' if run.rate is None else f'{run.rate:,.0f}'} | {run.max_rss_mib:,.0f} |"
        )
    return lines


# The evidence floor: inhaker (by default) and the per-term peers need 5 posts before they can
# say anything, so no detector of that kind can alert before an event's 5th post.
FLOOR_POSTS = 5


def evidence_floor(stream: Path, meta: dict[str, Any], k: int = FLOOR_POSTS) -> dict[str, float]:
    """Minutes from each event's onset to its k-th on-topic post in the stream."""
    wanted: dict[str, str] = {}
    for event in meta["events"]:
        ids = event.get("post_ids", [])
        if len(ids) >= k:
            wanted[ids[k - 1]] = event["folder"]
    onsets = {e["folder"]: parse_time(e["onset"]) for e in meta["events"]}
    found: dict[str, float] = {}
    if not stream.exists():
        return found
    with stream.open(encoding="utf-8") as handle:
        for line in handle:
            post = json.loads(line)
            folder = wanted.get(post["id"])
            if folder is not None:
                at = parse_time(post["created_at"])
                found[folder] = (at - onsets[folder]).total_seconds() / 60
                if len(found) == len(wanted):
                    break
    return found


def latency_table(
    scores: Sequence[Score], meta: dict[str, Any], floor: dict[str, float]
) -> list[str]:
    detectors = [label(s.detector) for s in scores]
    lines = [
        f"| event (on-topic posts in stream) | {FLOOR_POSTS}th post | "
        + " | ".join(detectors)
        + " |",
        "| --- | ---: | " + " | ".join("---:" for _ in detectors) + " |",
    ]
    for event in meta["events"]:
        cells = []
        for s in scores:
            latency = s.detected.get(event["folder"])
            cells.append("—" if latency is None else f"{latency:.0f}")
        fifth = floor.get(event["folder"])
        lines.append(
            f"| {event['folder']} ({event['posts']}) | "
            + ("—" if fifth is None else f"{fifth:.0f}")
            + " | "
            + " | ".join(cells)
            + " |"
        )
    if floor:
        lines.append("")
        lines.append(
            f"The {FLOOR_POSTS}th-post column is when the event's {FLOOR_POSTS}th on-topic post "
            f"appears (minutes after onset): no detector that needs {FLOOR_POSTS} posts can "
            f"alert sooner. Median over the events: {statistics.median(floor.values()):.0f} "
            "min; events whose 5th post comes within 5 minutes of onset: "
            f"{sum(1 for v in floor.values() if v <= 5)} of {len(floor)}."
        )
    return lines


# -- main ------------------------------------------------------------------------------------------


def report(
    labels: dict[str, dict[str, Any]],
    runs: dict[tuple[str, str], Run],
    detectors: Sequence[str],
    header: str,
    work: Path,
) -> None:
    print("## Trend detection benchmark: CrisisLex T26 dev events\n")
    print(header + "\n")
    print("\n".join(stream_table(labels)))
    for variant, meta in labels.items():
        scores = [score_run(runs[(d, variant)], meta) for d in detectors if (d, variant) in runs]
        print(f"\n### {variant} stream\n")
        print("\n".join(results_table(scores, runs)))
        print(f"\nLatency per event, {variant} stream (minutes after onset; — = missed):\n")
        floor = evidence_floor(work / f"{variant}.jsonl", meta)
        print("\n".join(latency_table(scores, meta, floor)))
    print(
        "\nRun times (wall, s): "
        + ", ".join(f"{label(r.detector)}/{r.variant} {r.wall_s:.0f}" for r in runs.values())
    )
    for r in runs.values():
        if r.returncode != 0:
            tail = r.stderr.strip().splitlines()[-3:]
            print(f"\n{label(r.detector)} on {r.variant} exited {r.returncode}: {' / '.join(tail)}")


def save_runs(work: Path, runs: dict[tuple[str, str], Run], header: str) -> None:
    data = {
        "format": RUNS_FORMAT,
        "header": header,
        "runs": [
            {
                "detector": r.detector,
                "variant": r.variant,
                "alerts": r.alerts_path.name,
                "returncode": r.returncode,
                "wall_s": r.wall_s,
                "rate": r.rate,
                "max_rss_mib": r.max_rss_mib,
            }
            for r in runs.values()
        ],
    }
    (work / "runs.json").write_text(json.dumps(data, indent=1), encoding="utf-8")


def rescore(work: Path) -> int:
    """Score the alerts of an earlier run again (after a change to the scoring only)."""
    saved = json.loads((work / "runs.json").read_text("utf-8"))
    old = saved.get("format", 1) < RUNS_FORMAT  # before v2, "inhaker" was detection v1
    runs: dict[tuple[str, str], Run] = {}
    for item in saved["runs"]:
        detector = "inhaker-v1" if old and item["detector"] == "inhaker" else item["detector"]
        run = Run(detector, item["variant"], work / item["alerts"])
        run.returncode, run.wall_s = item["returncode"], item["wall_s"]
        run.rate, run.max_rss_mib = item["rate"], item["max_rss_mib"]
        runs[(run.detector, run.variant)] = run
    present = {r.variant for r in runs.values()}
    variants = [v.name for v, _ in crisis_streams.PLANS["full"] if v.name in present]
    labels = {v: json.loads((work / f"{v}.labels.json").read_text("utf-8")) for v in variants}
    detectors = list(dict.fromkeys(d for d in DETECTORS for v in variants if (d, v) in runs))
    report(labels, runs, detectors, saved["header"] + " (rescored)", work)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 events, short streams (~3 min)")
    parser.add_argument("--jobs", type=int, default=2, help="detector runs at once (default 2)")
    parser.add_argument("--out", type=Path, help="keep streams and alerts here (outside the repo)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir with the streams")
    parser.add_argument("--corpus", type=Path, default=crisis_streams.DEFAULT_CORPUS)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument(
        "--detectors", default=",".join(DETECTORS), help="comma-separated subset to run"
    )
    parser.add_argument(
        "--rescore", type=Path, metavar="DIR", help="only score the alerts kept in DIR again"
    )
    args = parser.parse_args(argv)
    if args.rescore:
        return rescore(args.rescore)
    detectors = [d.strip() for d in args.detectors.split(",") if d.strip()]
    unknown = sorted(set(detectors) - set(DETECTORS))
    if unknown:
        parser.error(f"unknown detector(s): {', '.join(unknown)} (choose from {DETECTORS})")

    started = time.perf_counter()
    work = args.out or Path(tempfile.mkdtemp(prefix="inhaker-trend-bench-"))
    crisis_streams.check_outside_repo(work)
    try:
        print(f"building streams in {work} ...", file=sys.stderr, flush=True)
        # In a child process: the harness stays small, so the children it forks later do not
        # inherit a big resident set into their max RSS (ru_maxrss counts it from before exec).
        build = [
            sys.executable,
            str(Path(__file__).resolve().parent / "crisis_streams.py"),
            "--out",
            str(work),
            "--corpus",
            str(args.corpus),
            "--seed",
            str(args.seed),
        ] + (["--quick"] if args.quick else [])
        done = subprocess.run(build, cwd=REPO, capture_output=True, text=True, check=False)
        if done.returncode == crisis_streams.EXIT_NO_CORPUS:
            print(f"trend_bench: skipped: {done.stderr.strip()}", file=sys.stderr)
            return 0
        if done.returncode != 0:
            print(f"trend_bench: building the streams failed:\n{done.stderr}", file=sys.stderr)
            return 1
        build_s = time.perf_counter() - started
        built = {
            v.name: (work / f"{v.name}.jsonl", work / f"{v.name}.labels.json")
            for v, _ in crisis_streams.PLANS["quick" if args.quick else "full"]
        }
        labels = {name: json.loads(paths[1].read_text("utf-8")) for name, paths in built.items()}

        (work / V1_CONFIG_NAME).write_text(V1_CONFIG, encoding="utf-8")
        jobs = [(d, v) for v in built for d in detectors]
        # Longest first, so two cores stay busy: v1 on the busy stream (~11 of the full run's
        # minutes) takes one core while the other runs everything else.
        jobs.sort(key=lambda job: (job[1] != "busy", SLOWEST_FIRST.get(job[0], len(SLOWEST_FIRST))))
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            futures = [pool.submit(run_one, d, v, built[v][0], work) for d, v in jobs]
            results = [f.result() for f in futures]
        runs = {(r.detector, r.variant): r for r in results}
        total_s = time.perf_counter() - started
        header = (
            f"Command: `python bench/trend_bench.py{' --quick' if args.quick else ''}` "
            f"(seed {args.seed}); machine: {platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}; {args.jobs} detector runs at a time; "
            f"inhaker v2 = `inhaker replay` with the default config, inhaker v1 = the same with "
            f"`--config` holding `detection: detector: rising` and v1's thresholds. "
            f"Streams built in {build_s:.0f} s; whole run {total_s / 60:.1f} min."
        )
        save_runs(work, runs, header)
        report(labels, runs, detectors, header, work)
        return 1 if any(r.returncode != 0 for r in results) else 0
    finally:
        if args.out is None and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"streams and alerts kept in {work}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
