"""NAB realTweets: Inhaker detection v1 and v2, scored by NAB's rules, next to published detectors.

What it does: reads ../shared/corpus/nab at run time (skips with a message when it is absent),
turns each realTweets series (tweets per 5 minutes mentioning one ticker) into a post stream,
runs detection v1 (`detectors.trends.RisingTermDetector`) and detection v2
(`detectors.stories.StoryDetector`) on it with the clock taken from the series, turns what each
says into one NAB anomaly score per row and scores those with bench/nab_scoring.py under the
three NAB profiles. It prints Markdown: both versions next to every published detector's
realTweets score in one table, sorted by the standard profile, a per-series breakdown per
version and the validation numbers.

Series -> stream (the same for every series and both versions):
- row i (timestamp t, count n) becomes n posts with the text "#<TICKER>" (a hashtag, so that
  two-letter tickers such as KO and FB are terms too), from n distinct authors u0..u(n-1) (the
  same pool of accounts every row, as a community tweeting about a stock would be), spread evenly
  over [t, t + 5 min), source "nab";
- plus a constant background of 3 posts per row ("market news", authors bg0..bg2), so the
  stream is never empty; a constant rate never alerts and never shares a post with the ticker;
- `--stream varied` instead gives each ticker post two filler words (from 270 made-up ones) and
  an author drawn at random from 1,000,000 accounts, deterministically. The default stream is
  one identical text from the same pool of authors every row, which v2's guards against copies
  and repeating accounts (distinct texts in the evidence, an author counted once per term per
  window) may discount; the varied stream looks more like real tweets about a stock. A limit
  stays in both: v2 scores a term's share of the stream, and the ticker is most of these
  streams (3 background posts per row), so a volume spike moves its share little;
- timestamps have no zone in NAB and are read as UTC. No tick sees a post after it: no
  look-ahead. v1 is asked for findings once per row, at t + 5 min (as its NAB numbers have
  always been made). v2 is asked once per minute of stream time (its contract, and what
  `inhaker replay` does), at t + 1 .. t + 5 min, each tick after the row's posts before it;
  row i's anomaly score is then the highest of its five ticks (`--v2-tick 5` asks v2 once per
  row instead, like v1).

Detector -> anomaly scores, three ways per version:
- `alerts` (what the team would see): the findings go through the real alert policy
  (`bot.alerts.AlertPolicy`, in-memory store, `AlertsConfig()` defaults: 12-hour cooldown, a
  topic that keeps firing stays one alert); 1.0 at rows where a new trend alert on the ticker is
  made, else 0.0. Scored at threshold 0.5 (a binary detector has nothing to tune).
- `findings` (the detector alone): 1.0 at every row where the findings include the ticker.
- `score` (the detector's own number), mapped to s / (s + threshold) for s > 0, else 0, so that
  0.5 is the detector's own significance bar and NAB's threshold sweep amounts to tuning it.
  That threshold is chosen on realTweets itself, which flatters it (the published thresholds
  were chosen on all 58 NAB series).
  - v1 (`TrendParams()`, the built-in defaults: 10-minute buckets, 1-hour window, 24-hour
    baseline, at least 10 posts from 5 authors, ratio >= 4, Poisson-style score >= 6): a second
    detector with the same gates except min_score reports the ticker's score s each tick it
    passes them; threshold min_score = 6.
  - v2 (`SignificanceParams()`, the built-in defaults: 5-minute buckets, 10-minute and 1-hour
    windows, at least 5 posts from 5 authors, ratio >= 4, z >= 6 or Poisson surprise >= 8):
    the SigniTrend z of the ticker's term from a second significance detector
    (`detectors.signitrend.SignificanceDetector`, the layer under StoryDetector) with the same
    gates except the significance bar (min_z and min_surprise open; posts, authors and ratio
    still apply); threshold `SignificanceParams().min_z` = 6. Not the `score` of v2's `Trend`:
    that is the best z its topic ever had (detectors/topics.py keeps the topic's strongest
    signal), and a ticker's topic never goes idle, so it would be the series' running maximum
    rather than this tick's number.

Published detectors (like for like): NAB's per-file standard-profile scores for the ten
realTweets series, summed and normalised over realTweets (null = -33, perfect = 33 windows), the
same normalisation our scorer applies to Inhaker. The corpus holds only those per-file
standard-profile summaries, not NAB's per-row results files, so the two other profiles can only be
computed for detectors we can re-run: windowedGaussian and relativeEntropy (bench/nab_reference.py)
are re-run, their per-file standard scores are checked against the published ones, and they are
scored under all three profiles at their published threshold (NAB's config/thresholds.json gives
each of them one threshold for all three profiles). `random` has no realTweets rows and is left out.

What it does not do: tune the alerts variant on NAB, or go through `inhaker replay` (the detectors
and alert policy are called directly; replay would add only the opportunity scorer and the JSON
round trip).

Run: python bench/nab_bench.py [--corpus ../shared/corpus/nab] [--jobs N] [--v2-tick 1|5]
                              [--stream same|varied]
(about 30 minutes with 2 processes: 3.7 million posts through two v1 and two v2 detectors; v2,
asked every minute, is 97 % of the detector time. `--stream varied`, with three terms a post,
took 48 minutes on a busy machine.)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from nab_reference import REFERENCE
from nab_scoring import (
    CORPUS,
    PROFILE,
    PROFILES,
    CorpusScore,
    NabFile,
    best_point,
    check_corpus,
    check_sweep_against_direct,
    check_unit_cases,
    load_category,
    normalise,
    null_score,
    published_scores,
    score_corpus,
    score_file,
    sweep,
)

from bot.alerts import AlertPolicy
from bot.config import Config
from bot.store import Store
from detectors.records import Post
from detectors.signitrend import SignificanceDetector, SignificanceParams
from detectors.stories import StoryDetector
from detectors.trends import RisingTermDetector, TrendParams

ROW = timedelta(minutes=5)
BACKGROUND_TEXT = "market news"
BACKGROUND_PER_ROW = 3
NO_SCORE_GATE = {"min_score": -1e9}  # every other gate (posts, authors, ratio) as configured
# v2's significance bar is "z >= min_z or surprise >= min_surprise": open both.
NO_Z_GATE = {"min_z": -1e9, "min_surprise": -1e9}
VERSIONS = ("v1", "v2")
# --stream varied: each ticker post also has two filler words (so posts differ, as tweets do) and
# an author drawn at random from a large pool (as many accounts tweet about a stock).
FILLER = tuple(
    c + v + c2 + v2 + "x" for c in "bdklmprst" for v in "aeiou" for c2 in "gnv" for v2 in "ao"
)
FILLER_PER_POST = 2
VARIED_AUTHORS = 1_000_000


def ticker_of(key: str) -> str:
    return key.rsplit("_", 1)[-1].removesuffix(".csv")


def row_posts(
    ticker: str, row: int, start: datetime, count: int, stream: str = "same"
) -> list[Post]:
    """The posts of one row; `stream` "same" (the default construction) or "varied"."""
    if stream == "varied":
        rng = random.Random(f"{ticker}-{row}")  # str seeds are hashed with SHA-512: stable
        texts = [
            f"#{ticker} " + " ".join(rng.sample(FILLER, FILLER_PER_POST)) for _ in range(count)
        ]
        authors = [f"a{rng.randrange(VARIED_AUTHORS)}" for _ in range(count)]
    else:
        texts, authors = [f"#{ticker}"] * count, [f"u{k}" for k in range(count)]
    posts = [
        Post(
            source="nab",
            id=f"{ticker}-{row}-{k}",
            text=texts[k],
            created_at=start + ROW * (k / count),
            author=authors[k],
        )
        for k in range(count)
    ]
    posts.extend(
        Post(
            source="nab",
            id=f"bg-{row}-{k}",
            text=BACKGROUND_TEXT,
            created_at=start + ROW * (k / BACKGROUND_PER_ROW),
            author=f"bg{k}",
        )
        for k in range(BACKGROUND_PER_ROW)
    )
    posts.sort(key=lambda p: p.created_at)
    return posts


@dataclass(slots=True)
class InhakerRun:
    version: str  # "v1" or "v2"
    key: str
    alerts: list[float]
    findings: list[float]
    score: list[float]
    posts: int
    seconds: float


def run_v1(nab: NabFile, stream: str) -> InhakerRun:
    """Stream one series through detection v1 (and the alert policy), one tick per row."""
    started = time.perf_counter()
    params = TrendParams()
    detector = RisingTermDetector(params)
    open_detector = RisingTermDetector(replace(params, **NO_SCORE_GATE))
    store = Store("sqlite://")
    policy = AlertPolicy(Config(), store)
    ticker = ticker_of(nab.key)
    term = ticker.lower()
    rows = nab.series.rows
    alerts, findings, score = [0.0] * rows, [0.0] * rows, [0.0] * rows
    posts = 0
    for i, (stamp, value) in enumerate(zip(nab.series.timestamps, nab.values, strict=True)):
        start = datetime.fromisoformat(stamp).replace(tzinfo=UTC)
        for post in row_posts(ticker, i, start, int(value), stream):
            detector.observe(post)
            open_detector.observe(post)
            posts += 1
        now = start + ROW
        trends = detector.findings(now)
        if any(term in t.terms for t in trends):
            findings[i] = 1.0
        # With no findings the policy only reads the store: skipping it changes nothing.
        for decision in policy.consider_trends(trends, now) if trends else ():
            if not decision.is_update and decision.trend and term in decision.trend.terms:
                alerts[i] = 1.0
        s = next((t.score for t in open_detector.findings(now) if t.terms[0] == term), 0.0)
        score[i] = s / (s + params.min_score) if s > 0 else 0.0
    store.close()
    return InhakerRun("v1", nab.key, alerts, findings, score, posts, time.perf_counter() - started)


def run_v2(nab: NabFile, tick_minutes: int, stream: str) -> InhakerRun:
    """Stream one series through detection v2 (and the alert policy), a tick every
    `tick_minutes` of stream time; a row takes the highest value of the ticks that end in it."""
    started = time.perf_counter()
    params = SignificanceParams()
    detector = StoryDetector(params)
    open_detector = SignificanceDetector(replace(params, **NO_Z_GATE))
    store = Store("sqlite://")
    policy = AlertPolicy(Config(), store)
    ticker = ticker_of(nab.key)
    term = ticker.lower()
    rows = nab.series.rows
    alerts, findings, score = [0.0] * rows, [0.0] * rows, [0.0] * rows
    tick = timedelta(minutes=tick_minutes)
    ticks_per_row = max(1, round(ROW / tick))
    posts = 0
    for i, (stamp, value) in enumerate(zip(nab.series.timestamps, nab.values, strict=True)):
        start = datetime.fromisoformat(stamp).replace(tzinfo=UTC)
        pending = row_posts(ticker, i, start, int(value), stream)
        k = 0
        for m in range(1, ticks_per_row + 1):
            now = start + tick * m
            while k < len(pending) and pending[k].created_at < now:
                detector.observe(pending[k])
                open_detector.observe(pending[k])
                k += 1
                posts += 1
            trends = detector.findings(now)
            if any(term in t.terms for t in trends):
                findings[i] = 1.0
            for decision in policy.consider_trends(trends, now) if trends else ():
                if not decision.is_update and decision.trend and term in decision.trend.terms:
                    alerts[i] = 1.0
            z = max(
                (sig.z for sig in open_detector.signals(now) if sig.terms == (term,)), default=0
            )
            if z > 0:
                score[i] = max(score[i], z / (z + params.min_z))
    store.close()
    return InhakerRun("v2", nab.key, alerts, findings, score, posts, time.perf_counter() - started)


def run_reference(job: tuple[str, NabFile]) -> tuple[str, str, list[float]]:
    name, nab = job
    detect, stored = REFERENCE[name]
    return name, nab.key, [stored(s) for s in detect(nab.values)]


def _job(job: tuple[str, NabFile, int, str]) -> InhakerRun | tuple[str, str, list[float]]:
    name, nab, tick_minutes, stream = job
    if name == "v1":
        return run_v1(nab, stream)
    if name == "v2":
        return run_v2(nab, tick_minutes, stream)
    return run_reference((name, nab))


@dataclass(slots=True)
class Row:
    name: str
    scores: dict[str, float | None]
    how: str
    whole_nab: float | None = None


def fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--v2-tick",
        type=int,
        choices=(1, 5),
        default=1,
        help="minutes between v2's findings calls (1: its contract, as replay; 5: once per row)",
    )
    parser.add_argument(
        "--stream",
        choices=("same", "varied"),
        default="same",
        help="same: every ticker post is '#TICKER' from a fixed pool of authors (the published "
        "construction); varied: two filler words and a random author per post",
    )
    args = parser.parse_args()
    if not (args.corpus / "data" / "realTweets").is_dir():
        print(f"skipped: {args.corpus} (NAB realTweets) is not present; see bench/nab_bench.py")
        return

    started = time.perf_counter()
    files = load_category(args.corpus)
    jobs = [(version, f, args.v2_tick, args.stream) for version in VERSIONS for f in files]
    jobs += [(name, f, args.v2_tick, args.stream) for name in REFERENCE for f in files]
    # Biggest series first (v1, the slower, before v2) so the pool finishes together; results do
    # not depend on the order.
    jobs.sort(key=lambda j: (j[0] not in VERSIONS, j[0], -sum(j[1].values)))
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = list(pool.map(_job, jobs))
    runs = {(r.version, r.key): r for r in results if isinstance(r, InhakerRun)}
    reference: dict[str, dict[str, list[float]]] = {}
    for r in results:
        if not isinstance(r, InhakerRun):
            reference.setdefault(r[0], {})[r[1]] = r[2]

    std = PROFILE["standard"]
    corpus_of = {
        (version, variant): [(f.series, getattr(runs[(version, f.key)], variant)) for f in files]
        for version in VERSIONS
        for variant in ("alerts", "findings", "score")
    }
    null = null_score(corpus_of[("v1", "alerts")], std)
    perfect = std.tp * sum(len(f.series.windows) for f in files)
    final = json.loads((args.corpus / "results" / "final_results.json").read_text("utf-8"))

    rows: list[Row] = []
    swept_note: list[str] = []
    swept: dict[str, dict[str, CorpusScore]] = {}
    tuned: list[str] = []
    bars = {
        "v1": ("min_score", TrendParams().min_score),
        "v2": ("min_z", SignificanceParams().min_z),
    }
    for version in VERSIONS:
        for variant, label in (
            ("alerts", f"**Inhaker {version}: alerts** (detector + alert policy)"),
            ("findings", f"**Inhaker {version}: findings** (detector alone, every firing tick)"),
        ):
            corpus = corpus_of[(version, variant)]
            scores = {p.name: score_corpus(corpus, p, threshold=0.5).normalised for p in PROFILES}
            rows.append(Row(label, dict(scores), "[a]"))
            for p in PROFILES:
                best = score_corpus(corpus, p)
                if best.threshold != 0.5 and best.normalised > scores[p.name] + 1e-9:
                    swept_note.append(
                        f"{version} {variant}/{p.name}: NAB's sweep would pick threshold "
                        f"{best.threshold} (no detections), {best.normalised:.1f}"
                    )
        bar, bar_value = bars[version]
        swept[version] = {p.name: score_corpus(corpus_of[(version, "score")], p) for p in PROFILES}
        rows.append(
            Row(
                f"**Inhaker {version}: score**, {bar} tuned by the sweep",
                {name: c.normalised for name, c in swept[version].items()},
                "[b]",
            )
        )
        tuned.append(
            f"{version} "
            + ", ".join(
                f"{name}: {bar} {bar_value * c.threshold / (1 - c.threshold):.1f}"
                if c.threshold < 1
                else f"{name}: no detections"
                for name, c in swept[version].items()
            )
        )

    published = published_scores(args.corpus)
    keys = {f.key for f in files}
    reference_check: list[str] = []
    for detector, pub_rows in sorted(published.items()):
        mine = [r for r in pub_rows if r.file in keys]
        if len(mine) != len(files):
            continue
        whole = final.get(detector, {}).get("standard")
        raw = sum(r.score for r in mine)
        if detector in reference:
            threshold = mine[0].threshold
            corpus = [(f.series, reference[detector][f.key]) for f in files]
            scores = {
                p.name: score_corpus(corpus, p, threshold=threshold).normalised for p in PROFILES
            }
            by_file = {r.file: r for r in mine}
            diffs, same_counts = [], 0
            for f in files:
                ours = score_file(f.series, reference[detector][f.key], std, threshold)
                theirs = by_file[f.key]
                diffs.append(abs(ours.score - theirs.score))
                same_counts += (ours.tp, ours.tn, ours.fp, ours.fn) == (
                    theirs.tp,
                    theirs.tn,
                    theirs.fp,
                    theirs.fn,
                )
            reference_check.append(
                f"- {detector} re-run (bench/nab_reference.py) and scored by our scorer at its "
                f"published threshold {threshold:g}: per-file raw scores differ from NAB's "
                f"published ones by at most {max(diffs):.1e} (NAB prints 12 digits), "
                f"TP/TN/FP/FN equal in {same_counts}/{len(files)} files; realTweets standard "
                f"{scores['standard']:.2f} from our rows vs {normalise(raw, null, perfect):.2f} "
                f"from NAB's per-file scores"
            )
            rows.append(Row(detector, dict(scores), "[c]", whole))
        else:
            published_only: dict[str, float | None] = {p.name: None for p in PROFILES}
            published_only["standard"] = normalise(raw, null, perfect)
            how = "[d]"
            if detector == "null":
                published_only = {p.name: 0.0 for p in PROFILES}
                how = "[e]"
            rows.append(Row(detector, published_only, how, whole))
    rows.sort(key=lambda r: -(r.scores["standard"] or 0.0))

    elapsed = time.perf_counter() - started
    total_posts = sum(r.posts for r in runs.values() if r.version == "v1")
    detector_seconds = sum(r.seconds for r in runs.values())

    print(
        f"machine: {platform.processor() or platform.machine()}, Python "
        f"{platform.python_version()}, {max(1, args.jobs)} worker process(es); corpus "
        f"{args.corpus}; {len(files)} realTweets series, {sum(f.series.rows for f in files):,} "
        f"rows, {perfect:g} windows\n"
    )
    print("NAB score on the 10 realTweets series (0 = never detects, 100 = perfect):\n")
    print(
        "| detector | standard | reward_low_FP_rate | reward_low_FN_rate | scored "
        "| whole NAB standard [f] |"
    )
    print("| --- | ---: | ---: | ---: | --- | ---: |")
    for row in rows:
        print(
            f"| {row.name} | {fmt(row.scores['standard'])} "
            f"| {fmt(row.scores['reward_low_FP_rate'])} "
            f"| {fmt(row.scores['reward_low_FN_rate'])} | {row.how} | {fmt(row.whole_nab)} |"
        )
    print(
        "\n[a] our scorer (bench/nab_scoring.py), threshold 0.5: a binary detector has nothing "
        "to tune.\n"
        "[b] our scorer, threshold chosen by NAB's sweep on these 10 series (flatters it); "
        f"{'; '.join(tuned)}.\n"
        "[c] re-run here (bench/nab_reference.py), our scorer, NAB's published threshold.\n"
        "[d] NAB's own per-file scores (standard profile only in the corpus; threshold chosen "
        "on all 58 series), summed over realTweets and normalised like the rest.\n"
        "[e] the null detector, 0 by definition.\n"
        "[f] final_results.json, all 58 NAB series: context only, not comparable."
    )
    if swept_note:
        print("\n".join(f"- {n}" for n in swept_note))
    print(f"\nStream: `--stream {args.stream}`. Rows where each version fired (whole series):")
    for version in VERSIONS:
        own = [run for run in runs.values() if run.version == version]
        fired = sum(sum(1 for x in run.findings if x >= 0.5) for run in own)
        alerted = sum(sum(1 for x in run.alerts if x >= 0.5) for run in own)
        positive = sum(sum(1 for x in run.score if x > 0) for run in own)
        print(
            f"- {version}: {fired:,} rows with findings on the ticker, {alerted:,} with a new "
            f"alert, {positive:,} with a score > 0"
        )
        if fired == 0 and args.stream == "same":
            print("  (never fired on the ticker: compare `--stream varied`, see the docstring)")

    for version in VERSIONS:
        print(f"\nInhaker {version} per series (standard profile, threshold 0.5):\n")
        print(
            "| series | posts | windows | alerts | alerts in windows | windows alerted | "
            "alert rows outside windows | firing rows | raw score (alerts) | detector s |"
        )
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for f in files:
            run = runs[(version, f.key)]
            owner = f.series.window_of_rows()
            first = f.series.probation
            alert_rows = [i for i, a in enumerate(run.alerts) if a >= 0.5 and i >= first]
            hit = {owner[i] for i in alert_rows if owner[i] is not None}
            inside = sum(1 for i in alert_rows if owner[i] is not None)
            scored = score_file(f.series, run.alerts, std, 0.5)
            firing = sum(1 for i, a in enumerate(run.findings) if a >= 0.5 and i >= first)
            print(
                f"| {ticker_of(f.key)} | {run.posts:,} | {len(f.series.windows)} "
                f"| {len(alert_rows)} | {inside} | {len(hit)} | {len(alert_rows) - inside} "
                f"| {firing} | {scored.score:.2f} | {run.seconds:.0f} |"
            )
    print(
        "\n(probation: the first 750 rows, 2.6 days, of each series are not scored; alerts "
        "there are not counted above)"
    )

    print("\nScorer validation:\n")
    failures = check_unit_cases()
    print(f"- NAB unit-test situations (bench/nab_scoring.py): {failures or 'all pass'}")
    sweep_failures = check_sweep_against_direct()
    print(
        "- sweep vs direct per-threshold scorer, 40 random corpora x 3 profiles x every threshold: "
        + ("identical" if not sweep_failures else f"{len(sweep_failures)} differences")
    )
    report, corpus_failures = check_corpus(args.corpus)
    print("\n".join(report))
    print("\n".join(reference_check))
    consistency = max(
        abs(best_point(sweep(corpus_of[(version, "score")], p)).score - swept[version][p.name].raw)
        for version in VERSIONS
        for p in PROFILES
    )
    print(f"- per-file scores at the swept threshold add up to the sweep's best: {consistency:.1e}")
    print(
        f"\nrun time {elapsed:.0f} s wall ({total_posts:,} posts through each of two v1 and "
        f"two v2 detectors; v2 asked every {args.v2_tick} min of stream time; "
        f"{detector_seconds:.0f} s of detector time over {max(1, args.jobs)} processes: "
        + ", ".join(
            f"{v} {sum(r.seconds for r in runs.values() if r.version == v):.0f} s" for v in VERSIONS
        )
        + ")"
    )
    if failures or sweep_failures or corpus_failures:
        print("VALIDATION FAILED", failures + sweep_failures + corpus_failures)
        sys.exit(1)


if __name__ == "__main__":
    main()
