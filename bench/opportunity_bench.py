"""The opportunity benchmark: classifier quality, extraction accuracy, false alarms and speed.

What it does, on the labelled posts in data/opportunities (bot/opportunity_data.py reads them):
- held-out split (the `test` rows; the model is trained on the `train` rows, as `inhaker run`
  uses it): precision, recall and F1 per language and overall, recall per category, the share of
  hard negatives of each kind wrongly flagged, category accuracy, and calibration (Brier score and
  a reliability table), for v2 as `run` decides (the model with the rules' second opinion), the
  model alone, and the rules of v1; then precision and recall at other thresholds;
- 5-fold cross-validation on all rows (stratified by label and language, 3 seeds): mean and
  spread of precision, recall and F1 per language;
- extraction on every positive (the extractors are rules, not learned, so all rows are fair):
  deadline exact match where a deadline is stated (and no false deadline where none is), asker
  match (case-insensitive, ignoring a leading "@"), how-to-respond kind, and how often a topic
  is found;
- a false-positive audit on ordinary posts: the tweet texts of the CrisisLex dev-split events
  (../shared/corpus/crisis; skipped when absent), with how many are flagged and a sample of them
  to read;
- speed on one core: training time, and the time to classify 10,000 posts (`classify_posts`:
  vectorize, score, second opinion, extract) with the default threshold, on the labelled posts
  repeated (many calls, so extraction runs often) and on CrisisLex tweets (an ordinary stream).

Prints Markdown to stdout; docs/benchmarks.md keeps the last run.

What it does not do: tune anything (the model's settings are fixed in
detectors/opportunity_model.py), or go through Slack.

Run: python bench/opportunity_bench.py [--corpus ../shared/corpus/crisis] [--audit 20000]
"""

from __future__ import annotations

import argparse
import csv
import html
import json
import platform
import random
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedKFold

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.config import OpportunitiesConfig  # noqa: E402
from bot.opportunity_data import DatasetRow, load_dataset  # noqa: E402
from detectors.opportunities import THRESHOLD as RULES_THRESHOLD  # noqa: E402
from detectors.opportunities import (  # noqa: E402
    extract_asker,
    extract_deadline,
    score_opportunity,
)
from detectors.opportunity_classifier import Candidate, classify_posts  # noqa: E402
from detectors.opportunity_extract import extract_response, extract_topic  # noqa: E402
from detectors.opportunity_model import CATEGORIES, OpportunityModel  # noqa: E402

DEFAULT_CORPUS = REPO.parent / "shared" / "corpus" / "crisis"
THRESHOLD = OpportunitiesConfig().min_score
SPEED_POSTS = 10_000
AUDIT_SAMPLE = 12
# The CrisisLex files of the dev split (the corpus README): tweet texts only, no labels used.
T26_DEV_GLOB = "CrisisLexT26/*/*-tweets_labeled.csv"


def prf(predicted: Sequence[bool], truth: Sequence[bool]) -> tuple[float, float, float, int]:
    tp = sum(1 for p, t in zip(predicted, truth, strict=True) if p and t)
    flagged = sum(predicted)
    positives = sum(truth)
    precision = tp / flagged if flagged else 1.0
    recall = tp / positives if positives else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1, positives


def rules_scores(rows: Sequence[DatasetRow]) -> list[float]:
    return [score_opportunity(r.post.text, posted_at=r.post.posted_at).score for r in rows]


def table(header: Sequence[str], lines: Sequence[Sequence[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    out.extend("| " + " | ".join(line) + " |" for line in lines)
    return "\n".join(out)


def held_out(train: list[DatasetRow], test: list[DatasetRow]) -> tuple[str, OpportunityModel]:
    started = time.perf_counter()
    model = OpportunityModel.train([r.post for r in train])
    trained_in = time.perf_counter() - started
    judged = model.judge(
        [r.post.text for r in test], [r.post.posted_at for r in test], explain_above=THRESHOLD
    )
    v2 = [j.score for j in judged]  # the model's own calibrated score
    # What `run` decides: the model with the rules' second opinion, at the configured bar.
    decided = classify_posts(
        model, [Candidate(r.post.text, r.post.posted_at) for r in test], threshold=THRESHOLD
    )
    v1 = rules_scores(test)
    truth = [r.post.label for r in test]
    parts: list[str] = []
    lines = []
    v2_flags = [v.opportunity for v in decided]
    v1_flags = [s >= RULES_THRESHOLD for s in v1]
    model_flags = [s >= THRESHOLD for s in v2]
    for name, flags in (
        ("v2 (model + rules' second opinion, as run)", v2_flags),
        ("v2 model alone", model_flags),
        ("v1 rules", v1_flags),
    ):
        for lang in ("nl", "en", "all"):
            idx = [i for i, r in enumerate(test) if lang in ("all", r.lang)]
            p, r, f, n = prf([flags[i] for i in idx], [truth[i] for i in idx])
            lines.append(
                [name, lang, f"{len(idx)} ({n} calls)", f"{p:.3f}", f"{r:.3f}", f"{f:.3f}"]
            )
    parts.append(
        f"Held-out split: trained on {len(train)} posts in {trained_in:.2f} s, tested on "
        f"{len(test)}; threshold {THRESHOLD} (v2, `opportunities.min_score`) and "
        f"{RULES_THRESHOLD} (v1).\n"
    )
    parts.append(table(["scorer", "language", "posts", "precision", "recall", "F1"], lines) + "\n")
    # Per category (recall) and per negative kind (false alarms).
    cat_lines = []
    for category in CATEGORIES:
        idx = [i for i, r in enumerate(test) if r.post.category == category]
        hit2 = sum(1 for i in idx if v2_flags[i])
        hit1 = sum(1 for i in idx if v1_flags[i])
        named = sum(1 for i in idx if v2_flags[i] and decided[i].category == category)
        cat_lines.append(
            [category, str(len(idx)), f"{hit2}/{len(idx)}", f"{named}/{hit2}", f"{hit1}/{len(idx)}"]
        )
    parts.append(
        table(["category", "calls", "v2 found", "v2 category right", "v1 found"], cat_lines) + "\n"
    )
    kinds: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(test):
        if not r.post.label:
            kinds[r.negative_kind or "?"].append(i)
    kind_lines = [
        [
            kind,
            str(len(idx)),
            str(sum(1 for i in idx if v2_flags[i])),
            str(sum(1 for i in idx if v1_flags[i])),
        ]
        for kind, idx in sorted(kinds.items())
    ]
    parts.append(
        table(["hard negative kind", "posts", "v2 flagged", "v1 flagged"], kind_lines) + "\n"
    )
    # Calibration of v2's score.
    brier = statistics.fmean((s - t) ** 2 for s, t in zip(v2, truth, strict=True))
    bins = [(0.0, 0.1), (0.1, 0.3), (0.3, 0.5), (0.5, 0.7), (0.7, 0.9), (0.9, 1.01)]
    cal_lines = []
    for low, high in bins:
        idx = [i for i, s in enumerate(v2) if low <= s < high]
        if idx:
            mean = statistics.fmean(v2[i] for i in idx)
            rate = sum(truth[i] for i in idx) / len(idx)
            cal_lines.append(
                [f"{low:.1f}-{min(high, 1.0):.1f}", str(len(idx)), f"{mean:.2f}", f"{rate:.2f}"]
            )
    parts.append(
        f"Calibration of the v2 score on the held-out posts: Brier score {brier:.3f}.\n\n"
        + table(["score", "posts", "mean score", "share that are calls"], cal_lines)
        + "\n"
    )
    return "\n".join(parts), model


def cross_validated(rows: list[DatasetRow], seeds: Sequence[int] = (0, 1, 2)) -> str:
    truth = np.array([r.post.label for r in rows])
    strata = [f"{r.lang}:{r.post.label}" for r in rows]
    results: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    for seed in seeds:
        folds = StratifiedKFold(5, shuffle=True, random_state=seed)
        for train_idx, test_idx in folds.split(np.zeros(len(rows)), strata):
            model = OpportunityModel.train([rows[i].post for i in train_idx], seed=seed)
            found = classify_posts(
                model,
                [Candidate(rows[i].post.text, rows[i].post.posted_at) for i in test_idx],
                threshold=THRESHOLD,
            )
            for lang in ("nl", "en", "all"):
                pick = [k for k, i in enumerate(test_idx) if lang in ("all", rows[i].lang)]
                p, r, f, _ = prf(
                    [found[k].opportunity for k in pick],
                    [bool(truth[test_idx[k]]) for k in pick],
                )
                results[lang].append((p, r, f))
    lines = []
    for lang in ("nl", "en", "all"):
        values = results[lang]
        cells = [lang]
        for j in range(3):
            column = [v[j] for v in values]
            cells.append(f"{statistics.fmean(column):.3f} ± {statistics.stdev(column):.3f}")
        lines.append(cells)
    return (
        f"5-fold cross-validation on all {len(rows)} posts, {len(seeds)} seeds "
        f"({5 * len(seeds)} folds; mean ± standard deviation over folds), v2 as `run` decides "
        f"(model + rules' second opinion) at {THRESHOLD}:\n\n"
        + table(["language", "precision", "recall", "F1"], lines)
        + "\n"
    )


def _same_name(got: str | None, want: str | None) -> bool:
    def norm(name: str | None) -> str:
        return (name or "").strip().lstrip("@").casefold()

    return norm(got) == norm(want)


def _same_asker(got: str | None, want: str | None) -> bool:
    """Lenient: the same letters, or one inside the other ("@bruzz.bsky.social" and "Bruzz",
    "Zoom" and "Naad & Zoom" do not both pass: the shorter must be 4+ letters and a whole
    prefix or handle part)."""

    def letters(name: str | None) -> str:
        return "".join(ch for ch in (name or "").casefold() if ch.isalnum())

    a, b = letters(got), letters(want)
    if not a or not b:
        return a == b
    short, long = sorted((a, b), key=len)
    return len(short) >= 4 and long.startswith(short)


def extraction(rows: list[DatasetRow]) -> str:
    positives = [r for r in rows if r.post.label]
    stated = [r for r in positives if r.deadline]
    unstated = [r for r in positives if not r.deadline]
    deadline_ok = sum(
        1 for r in stated if extract_deadline(r.post.text, r.post.posted_at) == r.deadline
    )
    false_deadline = sum(1 for r in unstated if extract_deadline(r.post.text, r.post.posted_at))
    askers = [extract_asker(r.post.text, author=r.author) for r in positives]
    asker_ok = sum(1 for got, r in zip(askers, positives, strict=True) if _same_name(got, r.asker))
    asker_near = sum(
        1 for got, r in zip(askers, positives, strict=True) if _same_asker(got, r.asker)
    )
    response_ok = 0
    for r in positives:
        found = extract_response(r.post.text)
        response_ok += (found.kind if found else None) == r.response
    topics = sum(1 for r in positives if extract_topic(r.post.text))
    by_lang = []
    for lang in ("nl", "en"):
        s = [r for r in stated if r.lang == lang]
        ok = sum(1 for r in s if extract_deadline(r.post.text, r.post.posted_at) == r.deadline)
        by_lang.append(f"{lang} {ok}/{len(s)} ({ok / len(s):.3f})")
    lines = [
        [
            "deadline exact (where stated)",
            f"{deadline_ok}/{len(stated)}",
            f"{deadline_ok / len(stated):.3f}",
            "; ".join(by_lang),
        ],
        [
            "no deadline invented (where none stated)",
            f"{len(unstated) - false_deadline}/{len(unstated)}",
            f"{1 - false_deadline / len(unstated):.3f}",
            "",
        ],
        [
            "asker, exact",
            f"{asker_ok}/{len(positives)}",
            f"{asker_ok / len(positives):.3f}",
            "case-insensitive, leading @ ignored",
        ],
        [
            "asker, same account",
            f"{asker_near}/{len(positives)}",
            f"{asker_near / len(positives):.3f}",
            "letters only; a handle starting with the name counts (@bruzz.bsky.social: Bruzz)",
        ],
        [
            "how to respond (kind)",
            f"{response_ok}/{len(positives)}",
            f"{response_ok / len(positives):.3f}",
            "email, link, form, dm, phone, hashtag, reply or none",
        ],
        [
            "topic phrase found",
            f"{topics}/{len(positives)}",
            f"{topics / len(positives):.3f}",
            "else the post's distinctive words stand in",
        ],
    ]
    return (
        f"Extraction on all {len(positives)} labelled calls (rules, not learned):\n\n"
        + table(["field", "right", "share", "note"], lines)
        + "\n"
    )


def crisis_texts(corpus: Path, limit: int, seed: int = 7) -> list[str]:
    texts: list[str] = []
    for path in sorted(corpus.glob(T26_DEV_GLOB)):
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            next(reader)
            texts.extend(html.unescape(row[1]) for row in reader if len(row) > 1)
    random.Random(seed).shuffle(texts)
    return texts[:limit]


def audit(model: OpportunityModel, corpus: Path, limit: int) -> str:
    texts = crisis_texts(corpus, limit)
    if not texts:
        return f"False-positive audit: skipped, no CrisisLex tweets under {corpus}.\n"
    at = datetime(2013, 6, 1, tzinfo=UTC)
    verdicts = classify_posts(model, [Candidate(t, at) for t in texts], threshold=THRESHOLD)
    flagged = [(v.score, t) for v, t in zip(verdicts, texts, strict=True) if v.opportunity]
    v1 = sum(1 for t in texts if score_opportunity(t, posted_at=at).opportunity)
    flagged.sort(reverse=True)
    sample = "\n".join(
        f"- {score:.2f}: {' '.join(text.split())[:160]}" for score, text in flagged[:AUDIT_SAMPLE]
    )
    return (
        f"False-positive audit on {len(texts):,} CrisisLex tweets (dev-split events; ordinary "
        f"posts about disasters, none written as a call to a company): v2 flags {len(flagged)} "
        f"({len(flagged) / len(texts) * 10_000:.1f} per 10,000), v1 flags {v1} "
        f"({v1 / len(texts) * 10_000:.1f} per 10,000). The highest-scoring flagged tweets:\n\n"
        f"{sample}\n"
    )


DEMO_STREAM = REPO / "bot" / "demo" / "demo_stream.jsonl"
# The open calls written into the bundled demo day (bot/demo): Emerce's workplace call, a
# #journorequest and a podcast looking for guests. Every other post there is timeline chatter.
DEMO_CALLS = frozenset({"d-000448", "d-000855", "d-001231"})


def demo_audit(model: OpportunityModel) -> str:
    """The bundled demo day: a Dutch marketing team's timeline, the chatter the product's users
    see all day, with three calls in it. What `inhaker demo` would alert."""
    posts = [json.loads(line) for line in DEMO_STREAM.read_text(encoding="utf-8").splitlines()]
    candidates = [
        Candidate(p["text"], datetime.fromisoformat(p["created_at"].replace("Z", "+00:00")))
        for p in posts
    ]
    verdicts = classify_posts(model, candidates, threshold=THRESHOLD)
    flagged = [(v.score, p) for v, p in zip(verdicts, posts, strict=True) if v.opportunity]
    found = sum(1 for _, p in flagged if p["id"] in DEMO_CALLS)
    false = sorted((s, p["text"]) for s, p in flagged if p["id"] not in DEMO_CALLS)[::-1]
    sample = "\n".join(f"- {s:.2f}: {' '.join(t.split())[:140]}" for s, t in false[:AUDIT_SAMPLE])
    return (
        f"Demo-day audit ({len(posts):,} posts of the bundled demo stream, {len(DEMO_CALLS)} of "
        f"them calls): v2 finds {found} of {len(DEMO_CALLS)} calls and flags {len(false)} other "
        f"posts ({len(false) / len(posts) * 10_000:.1f} per 10,000)"
        + (f"; the highest-scoring:\n\n{sample}\n" if false else ".\n")
    )


def _timed(model: OpportunityModel, candidates: list[Candidate]) -> tuple[list[float], int]:
    classify_posts(model, candidates[:200], threshold=THRESHOLD)  # warm caches
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        verdicts = classify_posts(model, candidates, threshold=THRESHOLD)
        runs.append(time.perf_counter() - started)
    return runs, sum(1 for v in verdicts if v.opportunity)


def speed(model: OpportunityModel, rows: list[DatasetRow], corpus: Path) -> str:
    base = [Candidate(r.post.text, r.post.posted_at, author=r.author) for r in rows]
    lines = []
    streams = [("the labelled posts, repeated (43 % calls: extraction runs often)", base)]
    tweets = crisis_texts(corpus, SPEED_POSTS, seed=11)
    if tweets:
        at = datetime(2013, 6, 1, tzinfo=UTC)
        streams.append(
            ("CrisisLex tweets (an ordinary stream)", [Candidate(t, at) for t in tweets])
        )
    for name, pool in streams:
        candidates = (pool * (SPEED_POSTS // len(pool) + 1))[:SPEED_POSTS]
        runs, calls = _timed(model, candidates)
        lines.append(
            [
                name,
                f"{calls:,}",
                f"{min(runs):.2f} s",
                f"{statistics.median(runs):.2f} s",
                f"{SPEED_POSTS / min(runs):,.0f}",
            ]
        )
    # Classification alone (the model's verdict, category and reasons; no extraction), on the
    # call-heavy mix: what the "classify 10,000 posts" asks of the classifier.
    candidates = (base * (SPEED_POSTS // len(base) + 1))[:SPEED_POSTS]
    texts = [c.text for c in candidates]
    times = [c.posted_at for c in candidates]
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        model.judge(texts, times, explain_above=THRESHOLD)
        runs.append(time.perf_counter() - started)
    lines.append(
        [
            "the labelled posts repeated, classification only (`OpportunityModel.judge`)",
            "",
            f"{min(runs):.2f} s",
            f"{statistics.median(runs):.2f} s",
            f"{SPEED_POSTS / min(runs):,.0f}",
        ]
    )
    return (
        f"Speed: {SPEED_POSTS:,} posts through `classify_posts` (vectorize, score, rules' second "
        "opinion, extraction of deadline, asker, response and topic for every call) on one "
        "core, 3 runs; the last row classifies without extraction:\n\n"
        + table(["posts", "calls among them", "best", "median", "posts/s"], lines)
        + "\n"
    )


def thresholds(model: OpportunityModel, test: list[DatasetRow]) -> str:
    """Precision and recall at other bars, for teams that want fewer false alarms."""
    lines = []
    for bar in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
        found = classify_posts(
            model, [Candidate(r.post.text, r.post.posted_at) for r in test], threshold=bar
        )
        cells = [f"{bar:.1f}"]
        for lang in ("nl", "en"):
            idx = [i for i, r in enumerate(test) if r.lang == lang]
            p, r, f, _ = prf([found[i].opportunity for i in idx], [test[i].post.label for i in idx])
            cells.extend([f"{p:.3f}", f"{r:.3f}", f"{f:.3f}"])
        lines.append(cells)
    return (
        "Held-out split at other thresholds (`opportunities.min_score`), with the rules' second "
        "opinion, as `run` decides:\n\n"
        + table(["min_score", "nl P", "nl R", "nl F1", "en P", "en R", "en F1"], lines)
        + "\n"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--audit", type=int, default=20_000, help="tweets in the audit (20,000)")
    args = parser.parse_args(argv)
    rows = load_dataset()
    train = [r for r in rows if r.split == "train"]
    test = [r for r in rows if r.split == "test"]
    langs = Counter(r.lang for r in rows)
    print("## Opportunity classifier benchmark\n")
    print(
        f"Command: `python bench/opportunity_bench.py`; machine: {platform.machine()}, Python "
        f"{platform.python_version()}; data: {len(rows)} labelled posts "
        f"({langs['nl']} Dutch, {langs['en']} English; "
        f"{sum(r.post.label for r in rows)} calls), {len(train)} train / {len(test)} test.\n"
    )
    report, model = held_out(train, test)
    print(report)
    print(cross_validated(rows))
    print(extraction(rows))
    print(audit(model, args.corpus, args.audit))
    print(demo_audit(model))
    print(thresholds(model, test))
    print(speed(model, rows, args.corpus))
    return 0


if __name__ == "__main__":
    sys.exit(main())
