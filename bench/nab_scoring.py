"""NAB scoring, re-implemented: one detector's per-row anomaly scores against labelled windows.

What it does: scores anomaly scores (floats in [0, 1]; binary detections are 0.0 / 1.0) on NAB
series with the Numenta Anomaly Benchmark's rules, written from reading NAB's code at
numenta/NAB (the MIT-licensed tree, commit ea702d75 in ../shared/corpus/nab/README.md):
`nab/sweeper.py` (scaled sigmoid, per-row credits, probation, the threshold sweep),
`nab/optimizer.py` (one threshold per detector and profile, chosen on the whole corpus),
`nab/scorer.py` (per-file scores at that threshold, the Totals row), `nab/runner.py`
(`normalize`: 0 = null detector, 100 = perfect) and `config/profiles.json` (the three cost
matrices). No NAB code is copied; the rules as implemented here:

- Probation: the first min(floor(0.15 * rows), 0.15 * 5000 = 750) rows of each file are not
  scored at all (not detections, not misses, not counted).
- Scaled sigmoid: S(x) = 2 / (1 + exp(5x)) - 1, and S(x) = -1 for x > 3.
- Row credit, the value a detection at that row is worth:
  - inside a window of W rows ending at row e: tp * S(-(e - i + 1) / W) / S(-1), so the window's
    first row is worth exactly tp and the credit falls towards 0 at its end;
  - outside any window: fp * S((i - e') / (W' - 1)) with e', W' the end and width of the closest
    window that ended before row i (a detection just after a window costs little, one far after
    it costs up to fp), or -fp when no window has ended yet.
- A file's raw score at threshold t (a row detects when its score >= t): each window contributes
  the credit of its earliest detecting row, or -fn when no row in it detects; every detecting row
  outside windows adds its (negative) credit. Windows whose rows all fall in probation count for
  nothing; rows are tp / fp / fn / tn counted after probation.
- Threshold sweep: all scored rows of all files together, sorted by anomaly score (highest
  first); the corpus score is evaluated at 1.1 (no detections) and at every distinct anomaly
  score; the threshold with the highest total wins (ties: the higher threshold, as NAB's stable
  sort keeps it first). Each file is then scored at that one threshold; the sum is the raw score.
- Normalised score = 100 * (raw - null) / (perfect - null), where null is the raw score of a
  detector that never detects (-fn per scored window) and perfect = tp * number of windows.

Profiles (config/profiles.json): standard (tp 1, fp 0.11, fn 1), reward_low_FP_rate
(tp 1, fp 0.22, fn 1), reward_low_FN_rate (tp 1, fp 0.11, fn 2).

What it does not do: run detectors (bench/nab_bench.py and bench/nab_reference.py do), or handle
windows whose edges are not timestamps of the file (NAB would silently skip such a window; here
it is an error). NAB's per-row results files are not in the corpus, only per-file summaries, which
are read here for validation.

Run: python bench/nab_scoring.py validates the implementation (NAB's unit-test cases, the sweep
against a direct per-threshold scorer, and, when ../shared/corpus/nab is present, the published
per-file counts, null scores and final_results.json normalisation). bench/nab_bench.py prints
the detector table and re-runs two published detectors to check per-file scores end to end.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import math
import random
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

PROBATION_PERCENT = 0.15
PROBATION_CAP = PROBATION_PERCENT * 5000  # 750 rows
NO_DETECTION = 1.1  # NAB's first sweep threshold: above every anomaly score
CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "nab"
CATEGORY = "realTweets"


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    tp: float
    fp: float
    fn: float


PROFILES: tuple[Profile, ...] = (
    Profile("standard", tp=1.0, fp=0.11, fn=1.0),
    Profile("reward_low_FP_rate", tp=1.0, fp=0.22, fn=1.0),
    Profile("reward_low_FN_rate", tp=1.0, fp=0.11, fn=2.0),
)
PROFILE = {p.name: p for p in PROFILES}


def scaled_sigmoid(position: float) -> float:
    """NAB's S(x): about 0.9866 at the window start (-1), 0 at its end (0), -1 well after it."""
    if position > 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * position)) - 1.0


MAX_TP = scaled_sigmoid(-1.0)


def probation_length(rows: int) -> int:
    return int(min(math.floor(PROBATION_PERCENT * rows), PROBATION_CAP))


def _plain(timestamp: str) -> str:
    """'2015-03-03 04:37:53.000000' and '2015-03-03 04:37:53' name the same row."""
    text = timestamp.strip()
    return text[:-7] if text.endswith(".000000") else text


@dataclass(frozen=True, slots=True)
class LabelledSeries:
    """One NAB file: its timestamps and its windows as inclusive row-index pairs."""

    name: str
    timestamps: tuple[str, ...]
    windows: tuple[tuple[int, int], ...]

    @classmethod
    def from_limits(
        cls, name: str, timestamps: Sequence[str], limits: Iterable[Sequence[str]]
    ) -> LabelledSeries:
        stamps = tuple(_plain(t) for t in timestamps)
        index = {t: i for i, t in enumerate(stamps)}
        windows = []
        for start, end in limits:
            if _plain(start) not in index or _plain(end) not in index:
                raise ValueError(f"{name}: window {start}..{end} does not start and end on rows")
            windows.append((index[_plain(start)], index[_plain(end)]))
        windows.sort()
        for (_, end), (start, _) in itertools.pairwise(windows):
            if start <= end:
                raise ValueError(f"{name}: overlapping windows")
        return cls(name, stamps, tuple(windows))

    @property
    def rows(self) -> int:
        return len(self.timestamps)

    @property
    def probation(self) -> int:
        return probation_length(self.rows)

    def scored_windows(self) -> list[int]:
        """Ids of windows with at least one row after probation (the only ones that count)."""
        return [w for w, (_, end) in enumerate(self.windows) if end >= self.probation]

    def window_of_rows(self) -> list[int | None]:
        """Window id per row, None outside windows."""
        owner: list[int | None] = [None] * self.rows
        for w, (start, end) in enumerate(self.windows):
            for i in range(start, end + 1):
                owner[i] = w
        return owner

    def credits(self, profile: Profile) -> list[float]:
        """What a detection at each row is worth under `profile` (see the module docstring)."""
        out = [0.0] * self.rows
        previous: tuple[int, int] | None = None  # (end, width) of the last window passed
        windows = iter(self.windows)
        current = next(windows, None)
        for i in range(self.rows):
            while current is not None and current[1] < i:
                previous = (current[1], current[1] - current[0] + 1)
                current = next(windows, None)
            if current is not None and current[0] <= i <= current[1]:
                start, end = current
                width = end - start + 1
                out[i] = profile.tp * scaled_sigmoid(-(end - i + 1) / width) / MAX_TP
            elif previous is None or previous[1] <= 1:
                # No window before (or a one-row window, where NAB would divide by zero).
                out[i] = -profile.fp
            else:
                end, width = previous
                out[i] = profile.fp * scaled_sigmoid((i - end) / (width - 1))
        return out


@dataclass(frozen=True, slots=True)
class FileScore:
    name: str
    threshold: float
    score: float
    tp: int
    tn: int
    fp: int
    fn: int
    rows: int


def _check_scores(series: LabelledSeries, scores: Sequence[float]) -> None:
    if len(scores) != series.rows:
        raise ValueError(f"{series.name}: {len(scores)} scores for {series.rows} rows")
    bad = next((s for s in scores if not 0.0 <= s <= 1.0 or math.isnan(s)), None)
    if bad is not None:
        raise ValueError(f"{series.name}: anomaly score {bad} outside [0, 1]")


def score_file(
    series: LabelledSeries, scores: Sequence[float], profile: Profile, threshold: float
) -> FileScore:
    """One file's raw NAB score at `threshold`, computed directly (not through the sweep)."""
    _check_scores(series, scores)
    first = series.probation
    detected = [i >= first and scores[i] >= threshold for i in range(series.rows)]
    owner = series.window_of_rows()
    total = 0.0
    for w in series.scored_windows():
        start, end = series.windows[w]
        width = end - start + 1
        hit = next((i for i in range(max(start, first), end + 1) if detected[i]), None)
        if hit is None:
            total -= profile.fn
        else:
            total += profile.tp * scaled_sigmoid(-(end - hit + 1) / width) / MAX_TP
    for i in range(first, series.rows):
        if not detected[i] or owner[i] is not None:
            continue
        before = [(end, end - start + 1) for start, end in series.windows if end < i]
        if not before or before[-1][1] <= 1:
            total -= profile.fp
        else:
            end, width = before[-1]
            total += profile.fp * scaled_sigmoid((i - end) / (width - 1))
    inside = [owner[i] is not None for i in range(series.rows)]
    tp = sum(1 for i in range(first, series.rows) if detected[i] and inside[i])
    fp = sum(1 for i in range(first, series.rows) if detected[i] and not inside[i])
    fn = sum(1 for i in range(first, series.rows) if not detected[i] and inside[i])
    tn = series.rows - first - tp - fp - fn
    return FileScore(series.name, threshold, total, tp, tn, fp, fn, series.rows)


@dataclass(frozen=True, slots=True)
class SweepPoint:
    threshold: float
    score: float
    tp: int
    tn: int
    fp: int
    fn: int


def sweep(
    corpus: Sequence[tuple[LabelledSeries, Sequence[float]]], profile: Profile
) -> list[SweepPoint]:
    """The corpus score at 1.1 and at every distinct anomaly score, highest threshold first."""
    rows: list[tuple[float, float, tuple[int, int] | None]] = []  # (anomaly, credit, window)
    best: dict[tuple[int, int], float] = {}
    for f, (series, scores) in enumerate(corpus):
        _check_scores(series, scores)
        credits = series.credits(profile)
        owner = series.window_of_rows()
        for w in series.scored_windows():
            best[(f, w)] = -profile.fn
        for i in range(series.probation, series.rows):
            w = owner[i]
            rows.append((scores[i], credits[i], None if w is None else (f, w)))
    rows.sort(key=lambda r: -r[0])  # stable: ties keep file and row order
    inside = sum(1 for r in rows if r[2] is not None)
    tp = fp = 0
    fn, tn = inside, len(rows) - inside
    fp_total = 0.0
    window_total = sum(best.values())
    points: list[SweepPoint] = []
    threshold = NO_DETECTION
    for anomaly, credit, window in rows:
        if anomaly != threshold:
            points.append(SweepPoint(threshold, window_total + fp_total, tp, tn, fp, fn))
            threshold = anomaly
        if window is None:
            fp += 1
            tn -= 1
            fp_total += credit
        else:
            tp += 1
            fn -= 1
            if credit > best[window]:
                window_total += credit - best[window]
                best[window] = credit
    points.append(SweepPoint(threshold, window_total + fp_total, tp, tn, fp, fn))
    return points


def best_point(points: Sequence[SweepPoint]) -> SweepPoint:
    """Highest score; on a tie the higher threshold (the earlier point), as in NAB."""
    top = points[0]
    for point in points[1:]:
        if point.score > top.score:
            top = point
    return top


def null_score(corpus: Sequence[tuple[LabelledSeries, Sequence[float]]], profile: Profile) -> float:
    return -profile.fn * sum(len(series.scored_windows()) for series, _ in corpus)


def normalise(raw: float, null: float, perfect: float) -> float:
    return 100.0 * (raw - null) / (perfect - null)


@dataclass(slots=True)
class CorpusScore:
    profile: str
    threshold: float
    raw: float
    null: float
    perfect: float
    normalised: float
    files: list[FileScore] = field(default_factory=list)


def score_corpus(
    corpus: Sequence[tuple[LabelledSeries, Sequence[float]]],
    profile: Profile,
    threshold: float | None = None,
) -> CorpusScore:
    """NAB's optimise + score + normalise for one detector and profile.

    With `threshold=None` the threshold is NAB's: the best of the sweep over this corpus. A given
    threshold is used as is (to score a binary detector at 0.5, or at a published threshold).
    """
    if threshold is None:
        threshold = best_point(sweep(corpus, profile)).threshold
    files = [score_file(series, scores, profile, threshold) for series, scores in corpus]
    raw = sum(f.score for f in files)
    null = null_score(corpus, profile)
    perfect = profile.tp * sum(len(series.windows) for series, _ in corpus)
    return CorpusScore(profile.name, threshold, raw, null, perfect, normalise(raw, null, perfect))


# -- corpus files -----------------------------------------------------------------------------


def read_series_csv(path: Path) -> tuple[list[str], list[float]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        timestamps, values = [], []
        for row in reader:
            timestamps.append(row["timestamp"])
            values.append(float(row["value"]))
    return timestamps, values


@dataclass(frozen=True, slots=True)
class NabFile:
    key: str  # "realTweets/Twitter_volume_AAPL.csv"
    series: LabelledSeries
    values: tuple[float, ...]
    labels: tuple[str, ...]


def load_category(corpus: Path = CORPUS, category: str = CATEGORY) -> list[NabFile]:
    """Every data file of `category` with its windows, sorted by name."""
    windows = json.loads((corpus / "labels" / "combined_windows.json").read_text("utf-8"))
    labels = json.loads((corpus / "labels" / "combined_labels.json").read_text("utf-8"))
    files = []
    for path in sorted((corpus / "data" / category).glob("*.csv")):
        key = f"{category}/{path.name}"
        timestamps, values = read_series_csv(path)
        series = LabelledSeries.from_limits(key, timestamps, windows[key])
        files.append(NabFile(key, series, tuple(values), tuple(labels.get(key, ()))))
    return files


@dataclass(frozen=True, slots=True)
class PublishedRow:
    detector: str
    file: str
    threshold: float
    score: float
    tp: int
    tn: int
    fp: int
    fn: int
    total: int


def published_scores(corpus: Path = CORPUS) -> dict[str, list[PublishedRow]]:
    """Per-file standard-profile rows of every `<detector>_standard_scores.csv` (no Totals)."""
    out: dict[str, list[PublishedRow]] = {}
    for path in sorted((corpus / "results").glob("*/*_standard_scores.csv")):
        rows = []
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                if row["Detector"] == "Totals":
                    continue
                rows.append(
                    PublishedRow(
                        row["Detector"],
                        row["File"],
                        float(row["Threshold"]),
                        float(row["Score"]),
                        int(row["TP"]),
                        int(row["TN"]),
                        int(row["FP"]),
                        int(row["FN"]),
                        int(row["Total_Count"]),
                    )
                )
        out[path.parent.name] = rows
    return out


def published_totals(corpus: Path = CORPUS) -> dict[str, float]:
    """The Totals row's raw score of every `<detector>_standard_scores.csv`."""
    out = {}
    for path in sorted((corpus / "results").glob("*/*_standard_scores.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                if row["Detector"] == "Totals":
                    out[path.parent.name] = float(row["Score"])
    return out


# -- validation -------------------------------------------------------------------------------


def _synthetic(rows: int, windows: Sequence[tuple[int, int]], name: str = "t") -> LabelledSeries:
    stamps = tuple(f"r{i:06d}" for i in range(rows))
    return LabelledSeries(name, stamps, tuple(windows))


def check_unit_cases() -> list[str]:
    """The situations NAB's tests/unit (scorer, sweeper, true/false positive and negative tests)
    pin down, re-stated with this module's functions. Returns failures (empty when all pass)."""
    failures: list[str] = []
    std = Profile("unit", tp=1.0, fp=1.0, fn=1.0)

    def expect(name: str, ok: bool) -> None:
        if not ok:
            failures.append(name)

    # Scaled sigmoid anchor values from NAB's docstrings.
    expect("S(-1) = 0.98661", abs(scaled_sigmoid(-1.0) - 0.98661) < 1e-5)
    expect("S(-0.5) = 0.84828", abs(scaled_sigmoid(-0.5) - 0.84828) < 1e-5)
    expect("S(0) = 0", abs(scaled_sigmoid(0.0)) < 1e-12)
    expect("S(1) = -0.98661", abs(scaled_sigmoid(1.0) + 0.98661) < 1e-5)
    expect("S(3.5) = -1", scaled_sigmoid(3.5) == -1.0)

    # Files long enough to leave room after probation: rows start at the probation length.
    def series(rows: int, windows: Sequence[tuple[int, int]]) -> LabelledSeries:
        return _synthetic(rows, windows)

    n = 2000
    p = probation_length(n)  # 300
    one = series(n, [(p + 500, p + 509)])
    zeros = [0.0] * n
    expect("no windows, no detections: 0", score_file(series(n, []), zeros, std, 0.5).score == 0)
    fn_one = score_file(one, zeros, std, 0.5)
    expect("one missed window: -fn", fn_one.score == -1.0 and fn_one.fn == 10 and fn_one.tp == 0)
    four = series(n, [(p + 100 * k, p + 100 * k + 9) for k in range(1, 5)])
    expect("four missed windows: -4 fn", score_file(four, zeros, std, 0.5).score == -4.0)
    first = list(zeros)
    first[p + 500] = 1.0
    at_start = score_file(one, first, std, 0.5)
    expect("first row of a window: exactly tp", abs(at_start.score - 1.0) < 1e-12)
    expect("first row counts", (at_start.tp, at_start.fn, at_start.fp) == (1, 9, 0))
    later = list(zeros)
    later[p + 505] = 1.0
    expect("earlier detection is better", score_file(one, later, std, 0.5).score < at_start.score)
    both = list(first)
    both[p + 505] = 1.0
    expect(
        "only the earliest detection in a window counts",
        abs(score_file(one, both, std, 0.5).score - at_start.score) < 1e-12,
    )
    last = list(zeros)
    last[p + 509] = 1.0
    expect("last row of a window still positive", score_file(one, last, std, 0.5).score > 0)
    early_fp = list(zeros)
    early_fp[p] = 1.0
    expect(
        "detection before any window: -fp (plus the miss)",
        abs(score_file(one, early_fp, std, 0.5).score - (-1.0 - 1.0)) < 1e-12,
    )
    near, far = list(zeros), list(zeros)
    near[p + 510] = 1.0
    far[p + 600] = 1.0
    s_near = score_file(one, near, std, 0.5).score
    s_far = score_file(one, far, std, 0.5).score
    expect("FP right after a window costs less than one far away", s_far < s_near < -1.0)
    expect("FP far after a window: -fp", abs(s_far - (-2.0)) < 1e-12)
    two = list(far)
    two[p + 700] = 1.0
    expect("two FPs are worse than one", score_file(one, two, std, 0.5).score < s_far)
    in_probation = list(zeros)
    in_probation[p - 1] = 1.0
    expect("probation rows are not scored", score_file(one, in_probation, std, 0.5).score == -1.0)
    # Threshold semantics: a row detects when its score >= threshold.
    edge = list(zeros)
    edge[p + 500] = 0.5
    expect("score equal to threshold detects", score_file(one, edge, std, 0.5).tp == 1)
    return failures


def check_sweep_against_direct(seed: int = 7, trials: int = 40) -> list[str]:
    """On random corpora the sweep's score and counts at every threshold equal the direct ones."""
    rng = random.Random(seed)
    failures = []
    for trial in range(trials):
        corpus = []
        for f in range(rng.randint(1, 3)):
            rows = rng.randint(60, 400)
            start = probation_length(rows) - rng.randint(0, 5)
            windows, at = [], max(0, start)
            while rng.random() < 0.7:
                at += rng.randint(1, 40)
                width = rng.randint(1 if rng.random() < 0.1 else 2, 25)
                if at + width >= rows:
                    break
                windows.append((at, at + width - 1))
                at += width
            levels = [0.0, 0.25, 0.5, 0.75, 1.0, rng.random(), rng.random()]
            scores = [rng.choice(levels) if rng.random() < 0.3 else 0.0 for _ in range(rows)]
            corpus.append((_synthetic(rows, windows, f"f{f}"), scores))
        for profile in PROFILES:
            for point in sweep(corpus, profile):
                direct = [score_file(s, a, profile, point.threshold) for s, a in corpus]
                total = sum(d.score for d in direct)
                counts = tuple(sum(getattr(d, k) for d in direct) for k in ("tp", "tn", "fp", "fn"))
                if abs(total - point.score) > 1e-9 or counts != (
                    point.tp,
                    point.tn,
                    point.fp,
                    point.fn,
                ):
                    failures.append(
                        f"trial {trial} {profile.name} t={point.threshold}: sweep "
                        f"{point.score:.6f} {point.tp, point.tn, point.fp, point.fn} vs direct "
                        f"{total:.6f} {counts}"
                    )
    return failures


def check_corpus(corpus: Path = CORPUS) -> tuple[list[str], list[str]]:
    """Checks against the published NAB files. Returns (report lines, failures)."""
    report: list[str] = []
    failures: list[str] = []
    files = load_category(corpus)
    by_key = {f.key: f for f in files}
    published = published_scores(corpus)
    std = PROFILE["standard"]

    # 1. Row accounting: every published realTweets row agrees with our windows and probation.
    checked = 0
    for detector, rows in published.items():
        for row in rows:
            nab = by_key.get(row.file)
            if nab is None:
                continue
            series = nab.series
            owner = series.window_of_rows()
            first = series.probation
            inside = sum(1 for i in range(first, series.rows) if owner[i] is not None)
            outside = series.rows - first - inside
            scored = series.rows - first
            ok = (
                row.tp + row.fn == inside
                and row.tn + row.fp == outside
                and row.total in (series.rows, scored)
            )
            checked += 1
            if not ok:
                failures.append(f"counts {detector} {row.file}: {row} vs in={inside} out={outside}")
    report.append(
        f"- row accounting: {checked} published realTweets rows (16 detectors x 10 files, minus "
        f"`random` which has none): TP+FN = rows in windows after probation, TN+FP = rows "
        f"outside, Total_Count = rows (or scored rows in the newer ARTime/knncad files): "
        f"{checked - sum(1 for f in failures if f.startswith('counts'))}/{checked} agree"
    )

    # 2. The null detector's per-file raw score.
    null_rows = [r for r in published.get("null", []) if r.file in by_key]
    agree = 0
    for row in null_rows:
        nab = by_key[row.file]
        mine = score_file(nab.series, [0.0] * nab.series.rows, std, 0.5)
        if abs(mine.score - row.score) < 1e-12 and (mine.tp, mine.tn, mine.fp, mine.fn) == (
            row.tp,
            row.tn,
            row.fp,
            row.fn,
        ):
            agree += 1
        else:
            failures.append(f"null {row.file}: {mine} vs {row}")
    report.append(
        f"- null detector per file (standard): {agree}/{len(null_rows)} files equal in raw score "
        f"and all four counts"
    )

    # 3. Normalisation: final_results.json (standard) from each detector's Totals raw score,
    #    the null Totals and perfect = number of windows in combined_windows.json (all series).
    final = json.loads((corpus / "results" / "final_results.json").read_text("utf-8"))
    windows_all = json.loads((corpus / "labels" / "combined_windows.json").read_text("utf-8"))
    perfect = std.tp * sum(len(v) for v in windows_all.values())
    totals = published_totals(corpus)
    null_total = totals["null"]
    worst = 0.0
    compared = 0
    skipped = []
    for detector, scores in sorted(final.items()):
        if detector not in totals:
            continue
        if len(published.get(detector, [])) != len(windows_all):
            skipped.append(f"`{detector}` ({len(published.get(detector, []))} series)")
            continue  # a scores file that covers only part of the corpus has a partial Totals
        mine = normalise(totals[detector], null_total, perfect)
        worst = max(worst, abs(mine - scores["standard"]))
        compared += 1
    if worst > 1e-9:
        failures.append(f"normalisation differs by up to {worst}")
    report.append(
        f"- normalisation: final_results.json standard scores of {compared} detectors recomputed "
        f"from their Totals rows with null = {null_total:g} and perfect = {perfect:g} windows: "
        f"largest difference {worst:.1e}"
        + (f"; left out: {', '.join(skipped)} of {len(windows_all)}" if skipped else "")
    )
    return report, failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    args = parser.parse_args()

    failures = check_unit_cases()
    print(f"- NAB unit-test situations: {failures or 'all pass'}")
    sweep_failures = check_sweep_against_direct()
    print(
        "- sweep vs direct scorer on 40 random corpora, 3 profiles, every threshold: "
        + ("identical" if not sweep_failures else f"{len(sweep_failures)} differences")
    )
    failures += sweep_failures
    if (args.corpus / "labels" / "combined_windows.json").is_file():
        report, corpus_failures = check_corpus(args.corpus)
        print("\n".join(report))
        failures += corpus_failures
    else:
        print(f"- corpus checks skipped: {args.corpus} is not present")
    if failures:
        print("\n".join(f"FAIL {f}" for f in failures[:20]))
        sys.exit(1)


if __name__ == "__main__":
    main()
