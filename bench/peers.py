"""Peer trend detectors, re-implemented from their published code, for side-by-side benchmarks.

What it does: reads a stream file in the `inhaker replay` format (design.md section 5), counts
terms per time bucket exactly as inhaker does (`detectors.text.terms_of`: hashtags and words, once
per post), runs one peer detector over it and writes alerts in the same JSON shape as
`inhaker replay` (`{"kind": "trend", "id", "title", "terms", "alerted_at", "evidence", "score"}`,
at most 100 evidence ids, newest first). Each peer follows a public source, named below; where the
original watches a handful of user-chosen keywords and this benchmark applies it to every term,
the adaptation is stated.

Peers:
- `huginn`: Huginn's PeakDetectorAgent (huginn/huginn, app/models/agents/peak_detector_agent.rb).
  One series per term: the term's post count per bucket (10 min; Huginn's TwitterStreamAgent in
  `counts` mode emits a count per filter every time it is scheduled), zeros included from the
  term's first appearance (adaptation: the agent only hears about filters with tweets; here every
  term is a filter). A peak is found after it has passed, as in the agent: the newest value is
  below the second newest, and the second newest is above mean + 3 * stddev of the series without
  its last two values (population stddev, `std_multiple` 3); at least 5 values; `peak_spacing`
  2 days between peaks of one term; `window_duration` 2 weeks (longer than any bench stream).
- `mastodon`: Mastodon's trending tags (mastodon/mastodon, app/models/trends/tags.rb,
  trends/base.rb, trends/history.rb). Hashtags only, reblogs ("RT @...") not counted, distinct
  accounts per UTC day; every 5 minutes (config/sidekiq.yml, trends_refresh_scheduler) each tag
  used today is scored
  `(observed - expected)^2 / expected` with observed = today's accounts, expected = yesterday's
  (1 when 0), 0 below `threshold` 5 accounts or when expected > observed; the score keeps its
  maximum for `max_score_cooldown` 2 days and decays with `max_score_halflife` 4 hours; tags with
  a decayed score >= `decay_threshold` 1 are trending, ranked by score. An alert is a tag entering
  the top 10 (`DEFAULT_TAGS_LIMIT` of app/controllers/api/v1/trends/tags_controller.rb). On a
  stream's first UTC day there is no "yesterday" (expected 1), so everyday tags score (n - 1)^2,
  and those peak scores, kept 2 days and halved every 4 hours, hold the top 10 for a day or more.
- `gnip`: the point-by-point Poisson model of Twitter's "Trend Detection in Social Data"
  whitepaper (xdevplatform/Gnip-Trend-Detection, gnip_trend_detection/models.py `Poisson`,
  mode `lc`): the Poisson mean for bucket i is the count of bucket i-1; eta =
  |c_i - c_{i-1}| / width of the Poisson confidence interval (alpha 0.99) around c_{i-1}; a term
  trends when eta >= 1 on a rise (eta_c is left to the user in the paper; 1 means "beyond the 99 %
  interval by a full interval width"). As in the code, a previous count of 0 gives no result, so a
  term that appears out of nothing cannot trend in its first bucket. Bucket 10 minutes (the
  paper's example uses 2 hours; smaller is faster).
- `ewma`: the exponentially weighted ("floating") z-score of the widely copied answer
  https://stackoverflow.com/a/826509 (the `fazscore` class: avg and average of squares decayed by
  `decay`, std = sqrt(sqr_avg - avg^2), score = (obs - avg) / std, infinite when std is 0). Per term
  per 10-minute bucket, decay per bucket chosen for a 6-hour half-life, empty buckets decay the
  averages (they are zeros), alert at z >= 3.
- `kleinberg`: Kleinberg's burst detection ("Bursty and Hierarchical Structure in Streams", KDD
  2002, section 4: the two-state automaton for batched arrivals, as in PyPI `burst_detection`):
  per term, r_t = posts with the term and d_t = all posts in bucket t; state 0 emits at
  p0 = sum(r) / sum(d), state 1 at s * p0 (s = 2); cost -ln Binomial(r_t; d_t, p); entering
  state 1 costs gamma * ln(n) (gamma = 1). Solved exactly with the Viterbi algorithm over the
  whole stream (numpy), so it is an OFFLINE reference: it sees the future. A burst is reported at
  the end of its first bucket, which flatters its latency. Implemented here because both PyPI
  packages fail on numpy 2: `burst_detection` 0.1.3 calls the removed `np.float`, `pybursts`
  0.1.1 indexes an array with a float.

Shared by all peers, so that they are comparable with `inhaker replay` (not part of the
originals): no alert in the first hour of a stream (inhaker's `min_history`; before that every
term is new); at least 5 posts with the term in the alerting bucket (huginn, gnip, ewma) or
burst (kleinberg) — without a floor the per-bucket rules fire on every rare word, which the
originals avoid by watching a few chosen keywords; and one alert per term per 12 hours
(inhaker's `alerts.cooldown`). Mastodon keeps its own floor (5 accounts).

What it does not do: group terms into topics (each alert is one term; duplicate alerts per event
are part of what the benchmark measures) or read a clock (time comes from the posts).

Run: python bench/peers.py NAME STREAM.jsonl --alerts-out ALERTS.jsonl
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.serialize import StreamLineError, post_from_stream_line
from detectors.text import normalize_term, terms_of

BUCKET_S = 600
WARMUP_S = 3600
COOLDOWN_S = 12 * 3600
MIN_COUNT = 5
MAX_EVIDENCE = 100


@dataclass(slots=True)
class Item:
    """One post as the peers see it."""

    ts: float
    id: str
    author: str
    text: str
    terms: dict[str, bool]  # term -> written as a hashtag


def read_items(path: Path, errors: list[str]) -> Iterator[Item]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                post = post_from_stream_line(line, where=f"{path.name}:{number}")
            except StreamLineError as exc:
                errors.append(str(exc))
                continue
            terms = terms_of(post.full_text)
            for tag in post.tags:
                term = normalize_term(tag) if ":" not in tag else ""
                if term:
                    terms[term] = True
            author = f"{post.source}/{post.author}" if post.author else post.source
            yield Item(post.created_at.timestamp(), post.id, author, post.text, terms)


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(slots=True)
class AlertSink:
    """Collects alerts in the `inhaker replay` shape; applies warm-up and per-term cooldown."""

    peer: str
    start_ts: float | None = None
    alerts: list[dict[str, Any]] = field(default_factory=list)
    last: dict[str, float] = field(default_factory=dict)
    hashtag_share: dict[str, list[int]] = field(default_factory=dict)

    def note_terms(self, terms: dict[str, bool]) -> None:
        for term, is_tag in terms.items():
            share = self.hashtag_share.get(term)
            if share is None:
                share = self.hashtag_share[term] = [0, 0]
            share[0] += int(is_tag)
            share[1] += 1

    def emit(self, term: str, at: float, evidence: list[str], score: float) -> bool:
        if self.start_ts is None or at < self.start_ts + WARMUP_S:
            return False
        previous = self.last.get(term)
        if previous is not None and at - previous < COOLDOWN_S:
            return False
        self.last[term] = at
        tags, total = self.hashtag_share.get(term, (0, 0))
        stamp = datetime.fromtimestamp(at, UTC).strftime("%Y%m%dT%H%MZ")
        self.alerts.append(
            {
                "kind": "trend",
                "id": f"{self.peer}:{term}:{stamp}",
                "title": f"#{term}" if total and tags * 2 >= total else term,
                "terms": [term],
                "alerted_at": iso(at),
                "evidence": evidence[:MAX_EVIDENCE],
                "score": round(score, 3) if math.isfinite(score) else 1e9,
            }
        )
        return True


# -- bucketed streaming peers ---------------------------------------------------------------------


@dataclass(slots=True)
class Bucket:
    index: int
    counts: dict[str, int] = field(default_factory=dict)
    ids: dict[str, list[str]] = field(default_factory=dict)  # oldest first, capped


class BucketedPeer:
    """Feeds per-bucket term counts to `close(bucket, now)`; empty buckets are closed too."""

    def __init__(self, sink: AlertSink) -> None:
        self.sink = sink
        self.current: Bucket | None = None

    def observe(self, item: Item) -> None:
        index = int(item.ts // BUCKET_S)
        if self.current is None:
            self.current = Bucket(index)
        while index > self.current.index:
            done = self.current
            self.close(done, (done.index + 1) * BUCKET_S)
            self.current = Bucket(done.index + 1)
        bucket = self.current
        for term in item.terms:
            bucket.counts[term] = bucket.counts.get(term, 0) + 1
            ids = bucket.ids.get(term)
            if ids is None:
                bucket.ids[term] = [item.id]
            elif len(ids) < MAX_EVIDENCE:
                ids.append(item.id)

    def finish(self) -> None:
        if self.current is not None:
            self.close(self.current, (self.current.index + 1) * BUCKET_S)

    def close(self, bucket: Bucket, now: float) -> None:
        raise NotImplementedError


def _newest_first(*id_lists: list[str] | None) -> list[str]:
    out: list[str] = []
    for ids in id_lists:
        if ids:
            out.extend(reversed(ids))
    return out


class Huginn(BucketedPeer):
    STD_MULTIPLE = 3.0
    PEAK_SPACING_S = 2 * 86_400

    @dataclass(slots=True)
    class State:
        first: int
        old_sum: float = 0.0
        old_sumsq: float = 0.0
        last_peak: float | None = None

    def __init__(self, sink: AlertSink) -> None:
        super().__init__(sink)
        self.states: dict[str, Huginn.State] = {}
        self.previous = Bucket(-1)

    def close(self, bucket: Bucket, now: float) -> None:
        b = bucket.index
        prev = self.previous
        for term, second in prev.counts.items():
            state = self.states[term]
            newest = bucket.counts.get(term, 0)
            values = b - state.first + 1  # the series since the term's first bucket, zeros in
            spaced = state.last_peak is None or state.last_peak < now - self.PEAK_SPACING_S
            if values > 4 and spaced and newest < second and second >= MIN_COUNT:
                n = values - 2
                mean = state.old_sum / n
                std = math.sqrt(max(0.0, state.old_sumsq / n - mean * mean))
                if second > mean + self.STD_MULTIPLE * std:
                    state.last_peak = prev.index * BUCKET_S
                    z = (second - mean) / std if std > 0 else math.inf
                    evidence = _newest_first(prev.ids.get(term), bucket.ids.get(term))
                    self.sink.emit(term, now, evidence, z)
            # The second newest value now joins the history the next check averages over.
            state.old_sum += second
            state.old_sumsq += second * second
        for term in bucket.counts:
            if term not in self.states:
                self.states[term] = Huginn.State(first=b)
        self.previous = bucket


class Gnip(BucketedPeer):
    ALPHA = 0.99
    ETA_C = 1.0

    def __init__(self, sink: AlertSink) -> None:
        super().__init__(sink)
        from scipy.stats import poisson

        self._poisson = poisson
        self._width: dict[int, float] = {}
        self.previous: dict[str, int] = {}

    def width(self, mean: int) -> float:
        found = self._width.get(mean)
        if found is None:
            low, high = self._poisson.interval(self.ALPHA, mean)
            found = self._width[mean] = float(high - low)
        return found

    def close(self, bucket: Bucket, now: float) -> None:
        for term, count in bucket.counts.items():
            if count < MIN_COUNT:
                continue
            mean = self.previous.get(term, 0)
            if mean == 0 or count <= mean:
                continue  # the model gives no result for a zero mean; only rises trend
            width = self.width(mean)
            eta = (count - mean) / width if width > 0 else math.inf
            if eta >= self.ETA_C:
                self.sink.emit(term, now, _newest_first(bucket.ids.get(term)), eta)
        self.previous = bucket.counts


class Ewma(BucketedPeer):
    HALF_LIFE_BUCKETS = 36  # 6 hours of 10-minute buckets
    Z = 3.0

    def __init__(self, sink: AlertSink) -> None:
        super().__init__(sink)
        self.decay = 0.5 ** (1 / self.HALF_LIFE_BUCKETS)
        self.states: dict[str, list[float]] = {}  # term -> [avg, sqr_avg, last bucket]

    def close(self, bucket: Bucket, now: float) -> None:
        b = bucket.index
        decay = self.decay
        for term, count in bucket.counts.items():
            state = self.states.get(term)
            if state is None:
                avg = sqr = 0.0
            else:
                # The buckets since the last update held zeros: each one only decays the averages.
                fade = decay ** (b - int(state[2]) - 1)
                avg, sqr = state[0] * fade, state[1] * fade
            std = math.sqrt(max(0.0, sqr - avg * avg))
            # fazscore.score: (obs - avg) * infinity when std is 0.
            score = (math.inf if count > avg else 0.0) if std == 0 else (count - avg) / std
            if count >= MIN_COUNT and score >= self.Z:
                self.sink.emit(term, now, _newest_first(bucket.ids.get(term)), score)
            if avg == 0 and sqr == 0:
                avg, sqr = float(count), float(count * count)
            else:
                avg = avg * decay + count * (1 - decay)
                sqr = sqr * decay + count * count * (1 - decay)
            if state is None:
                self.states[term] = [avg, sqr, float(b)]
            else:
                state[0], state[1], state[2] = avg, sqr, float(b)


class Mastodon:
    THRESHOLD = 5
    MAX_SCORE_COOLDOWN_S = 2 * 86_400
    MAX_SCORE_HALFLIFE_S = 4 * 3600
    DECAY_THRESHOLD = 1.0
    REFRESH_S = 300
    LIST_LENGTH = 10

    def __init__(self, sink: AlertSink) -> None:
        self.sink = sink
        self.accounts: dict[int, dict[str, set[str]]] = {}  # UTC day -> tag -> accounts
        self.recent: dict[str, deque[str]] = {}  # tag -> today's post ids, newest last
        self.recent_day: dict[str, int] = {}
        self.max_score: dict[str, tuple[float, float]] = {}  # tag -> (score, at)
        self.trending: list[str] = []
        self.next_refresh: float | None = None

    def observe(self, item: Item) -> None:
        if self.next_refresh is None:
            self.next_refresh = (item.ts // self.REFRESH_S + 1) * self.REFRESH_S
        while item.ts >= self.next_refresh:
            self.refresh(self.next_refresh)
            self.next_refresh += self.REFRESH_S
        if item.text.startswith("RT @"):
            return  # a reblog: Trends::Tags#register skips them
        day = int(item.ts // 86_400)
        today = self.accounts.setdefault(day, {})
        for term, is_tag in item.terms.items():
            if not is_tag:
                continue
            today.setdefault(term, set()).add(item.author)
            if self.recent_day.get(term) != day:
                self.recent[term] = deque(maxlen=MAX_EVIDENCE)
                self.recent_day[term] = day
            self.recent[term].append(item.id)
        for old in [d for d in self.accounts if d < day - 1]:
            del self.accounts[old]

    def finish(self) -> None:
        if self.next_refresh is not None:
            self.refresh(self.next_refresh)

    def refresh(self, at: float) -> None:
        day = int(at // 86_400)
        today = self.accounts.get(day, {})
        yesterday = self.accounts.get(day - 1, {})
        items: list[tuple[float, str]] = []
        for tag in set(today) | set(self.trending):
            expected = float(len(yesterday.get(tag, ()))) or 1.0
            observed = float(len(today.get(tag, ())))
            if expected > observed or observed < self.THRESHOLD:
                score = 0.0
            else:
                score = (observed - expected) ** 2 / expected
            max_score, max_at = self.max_score.get(tag, (0.0, -math.inf))
            if max_at < at - self.MAX_SCORE_COOLDOWN_S:
                max_score = 0.0
            if score > max_score:
                max_score, max_at = score, at
                self.max_score[tag] = (max_score, max_at)
            decaying = max_score * 0.5 ** ((at - max_at) / self.MAX_SCORE_HALFLIFE_S)
            if decaying >= self.DECAY_THRESHOLD:
                items.append((decaying, tag))
        items.sort(key=lambda x: (-x[0], x[1]))
        top = [tag for _, tag in items[: self.LIST_LENGTH]]
        shown = set(self.trending)
        for score, tag in items[: self.LIST_LENGTH]:
            if tag not in shown:
                ids = list(self.recent.get(tag, ())) if self.recent_day.get(tag) == day else []
                self.sink.emit(tag, at, ids[::-1], score)
        self.trending = top


def run_streaming(peer: Any, path: Path, sink: AlertSink, errors: list[str]) -> int:
    posts = 0
    for item in read_items(path, errors):
        posts += 1
        if sink.start_ts is None:
            sink.start_ts = item.ts
        sink.note_terms(item.terms)
        peer.observe(item)
    peer.finish()
    return posts


# -- Kleinberg, offline ----------------------------------------------------------------------------

KLEINBERG_S = 2.0
KLEINBERG_GAMMA = 1.0
KLEINBERG_MIN_TOTAL = 10  # terms with fewer posts in the whole stream cannot burst usefully


def kleinberg_states(r: Any, d: Any, s: float, gamma: float) -> Any:
    """Optimal 0/1 state sequence per row of r (terms x buckets) for totals d (buckets)."""
    import numpy as np

    n_terms, n = r.shape
    p0 = r.sum(axis=1) / d.sum()
    p1 = np.minimum(p0 * s, 0.9999)
    # Cost of emitting r_t of d_t in each state, without the binomial coefficient (same in both).
    rest = d[None, :] - r

    def cost(p: Any) -> Any:
        return -(r * np.log(p)[:, None] + rest * np.log1p(-p)[:, None])

    c0, c1 = cost(p0), cost(p1)
    up = gamma * math.log(n)
    back = np.zeros((n_terms, n), dtype=bool)  # True: state 1 came from state 1
    back0 = np.zeros((n_terms, n), dtype=bool)  # True: state 0 came from state 1
    total0 = c0[:, 0].copy()
    total1 = up + c1[:, 0]
    for t in range(1, n):
        from0, from1 = total0, total1
        back0[:, t] = from1 < from0
        stay = np.minimum(from0, from1) + c0[:, t]
        rise = from0 + up
        back[:, t] = from1 <= rise
        total1 = np.minimum(rise, from1) + c1[:, t]
        total0 = stay
    states = np.zeros((n_terms, n), dtype=bool)
    current = total1 < total0
    states[:, n - 1] = current
    rows = np.arange(n_terms)
    for t in range(n - 1, 0, -1):
        current = np.where(current, back[rows, t], back0[rows, t])
        states[:, t - 1] = current
    weights = c0 - c1  # per-bucket gain of state 1 over state 0 (Kleinberg's burst weight)
    return states, weights


def run_kleinberg(path: Path, sink: AlertSink, errors: list[str]) -> int:
    import numpy as np

    term_index: dict[str, int] = {}
    # Per bucket: (bucket, term indices, counts) as compact arrays; a dict per (term, bucket)
    # pair would take hundreds of MB on the busy stream.
    blocks: list[tuple[int, Any, Any]] = []
    totals: dict[int, int] = {}
    counts: dict[int, int] = {}
    current: int | None = None
    posts = 0

    def flush() -> None:
        if current is not None and counts:
            keys = np.fromiter(counts.keys(), dtype=np.int32, count=len(counts))
            values = np.fromiter(counts.values(), dtype=np.int32, count=len(counts))
            blocks.append((current, keys, values))

    for item in read_items(path, errors):
        posts += 1
        if sink.start_ts is None:
            sink.start_ts = item.ts
        sink.note_terms(item.terms)
        b = int(item.ts // BUCKET_S)
        if b != current:
            flush()
            current, counts = b, {}
        totals[b] = totals.get(b, 0) + 1
        for term in item.terms:
            i = term_index.setdefault(term, len(term_index))
            counts[i] = counts.get(i, 0) + 1
    flush()
    if not blocks:
        return 0
    first_bucket = min(totals)
    n = max(totals) - first_bucket + 1
    d = np.zeros(n)
    for b, count in totals.items():
        d[b - first_bucket] = count
    d = np.maximum(d, 1.0)
    per_term = np.zeros(len(term_index))
    for _, keys, values in blocks:
        np.add.at(per_term, keys, values)
    keep = np.flatnonzero(per_term >= KLEINBERG_MIN_TOTAL)
    row_of = np.full(len(term_index), -1, dtype=np.int64)
    row_of[keep] = np.arange(len(keep))
    r = np.zeros((len(keep), n))
    for b, keys, values in blocks:
        rows = row_of[keys]
        mask = rows >= 0
        r[rows[mask], b - first_bucket] += values[mask]
    blocks.clear()
    names = {i: term for term, i in term_index.items()}
    wanted: list[tuple[float, str, int, float]] = []  # (alert time, term, start bucket, weight)
    chunk = 4000
    for lo in range(0, len(keep), chunk):
        states, weights = kleinberg_states(r[lo : lo + chunk], d, KLEINBERG_S, KLEINBERG_GAMMA)
        for k in range(states.shape[0]):
            row = states[k]
            if not row.any():
                continue
            edges = np.flatnonzero(np.diff(np.concatenate(([0], row.astype(np.int8), [0]))))
            term = names[int(keep[lo + k])]
            for start, stop in zip(edges[::2], edges[1::2], strict=True):
                if r[lo + k, start:stop].sum() < MIN_COUNT:
                    continue
                at = (first_bucket + start + 1) * BUCKET_S
                wanted.append((at, term, first_bucket + start, float(weights[k, start:stop].sum())))
    wanted.sort()
    # Second pass: the evidence, posts with the term in the first three buckets of its burst.
    need: dict[str, list[int]] = {}
    for _, term, start, _ in wanted:
        need.setdefault(term, []).append(start)
    evidence: dict[tuple[str, int], list[str]] = {}
    for item in read_items(path, []):
        b = int(item.ts // BUCKET_S)
        for term in item.terms:
            starts = need.get(term)
            if not starts:
                continue
            for start in starts:
                if start <= b < start + 3:
                    ids = evidence.setdefault((term, start), [])
                    if len(ids) < MAX_EVIDENCE:
                        ids.append(item.id)
    for at, term, start, weight in wanted:
        sink.emit(term, at, evidence.get((term, start), [])[::-1], weight)
    return posts


PEERS: dict[str, Callable[[AlertSink], Any] | None] = {
    "huginn": Huginn,
    "mastodon": Mastodon,
    "gnip": Gnip,
    "ewma": Ewma,
    "kleinberg": None,  # offline, two passes
}


def run_peer(name: str, stream: Path) -> tuple[list[dict[str, Any]], int, list[str]]:
    sink = AlertSink(peer=name)
    errors: list[str] = []
    factory = PEERS[name]
    if factory is None:
        posts = run_kleinberg(stream, sink, errors)
    else:
        posts = run_streaming(factory(sink), stream, sink, errors)
    return sink.alerts, posts, errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("peer", choices=sorted(PEERS))
    parser.add_argument("stream", type=Path, metavar="STREAM.jsonl")
    parser.add_argument("--alerts-out", type=Path, required=True, metavar="ALERTS.jsonl")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    alerts, posts, errors = run_peer(args.peer, args.stream)
    with args.alerts_out.open("w", encoding="utf-8") as handle:
        for alert in alerts:
            handle.write(json.dumps(alert, ensure_ascii=False) + "\n")
    elapsed = time.perf_counter() - started
    rate = posts / elapsed if elapsed > 0 else 0.0
    print(
        f"{args.peer}: replayed {posts} posts in {elapsed:.2f}s ({rate:,.0f} posts/s): "
        f"{len(alerts)} alerts written to {args.alerts_out}",
        file=sys.stderr,
    )
    for error in errors[:20]:
        print(f"skipped: {error}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
