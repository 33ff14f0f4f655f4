"""Rising-term detection v1: each term's current rate against its own recent baseline.

What it does: keeps, per fixed time bucket (10 minutes by default), how many posts mention each
term, by how many distinct authors and from which sources. `findings(now)` compares each term's
count in the current window (the last hour by default) with what its own history over the
baseline span (24 hours) predicts for a window of that length, and reports terms that rise well
above it: enough posts, enough distinct authors (so one account repeating itself cannot make a
trend), a high ratio to the baseline and a Poisson-style score. Terms that rise together in the
same posts are grouped into one finding (#twelftal and #nedesp during a match), so the team gets
one alert per story, not one per word. Findings keep their evidence post ids, a sparkline of the
recent buckets and the numbers that made them fire.

What it does not do: read a clock (time is passed in), store anything, decide whether to alert
(the alert policy in bot/ does that), or cluster documents into topics with scikit-learn (that is
the next detector). Memory is bounded by the baseline span: buckets older than it are dropped.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from detectors.records import Post, Trend
from detectors.signitrend import author_key, post_terms
from detectors.text import normalize_term

MAX_EVIDENCE = 100
# Evidence ids kept per term per bucket; enough to fill MAX_EVIDENCE from the newest buckets.
_EVIDENCE_PER_BUCKET = MAX_EVIDENCE
SPARKLINE_BUCKETS = 12
# A term in at least this share of a trend's posts belongs to its story (see _context_terms).
CONTEXT_SHARE = 0.3
MAX_CONTEXT_TERMS = 5
# Two findings are one story when at least this share of the smaller one's posts are shared.
_GROUP_OVERLAP = 0.5


@dataclass(frozen=True, slots=True)
class TrendParams:
    """Thresholds from feeds.yaml `detection:`, as plain values."""

    bucket: timedelta = timedelta(minutes=10)
    window: timedelta = timedelta(hours=1)
    baseline: timedelta = timedelta(hours=24)
    min_posts: int = 10
    min_authors: int = 5
    min_ratio: float = 4.0
    min_score: float = 6.0
    watch_min_posts: int = 3
    # A detector with less history than this stays quiet: with no baseline, every word looks new.
    min_history: timedelta = timedelta(hours=1)

    def __post_init__(self) -> None:
        if self.window < self.bucket:
            raise ValueError("window must be at least one bucket long")


@dataclass(slots=True)
class _TermBucket:
    count: int = 0
    hashtag_count: int = 0
    authors: set[str] = field(default_factory=set)
    sources: set[str] = field(default_factory=set)
    post_ids: list[str] = field(default_factory=list)  # newest last


@dataclass(slots=True)
class _Candidate:
    term: str
    count: int
    hashtag_count: int
    authors: set[str]
    sources: set[str]
    evidence: list[str]  # newest first
    baseline_rate: float
    ratio: float
    score: float
    watched: tuple[str, ...]


def poisson_score(count: int, expected: float) -> float:
    """How surprising `count` is for a Poisson rate `expected`: (count - expected) / sqrt(...).

    The +1 keeps a brand-new term (expected 0) finite: 5 posts from nothing scores about 4.5.
    """
    return (count - expected) / math.sqrt(expected + 1.0)


class RisingTermDetector:
    """Streaming bucketed counts per term; `observe` posts in time order, ask `findings(now)`."""

    def __init__(
        self,
        params: TrendParams | None = None,
        *,
        watch_terms: Iterable[str] = (),
        exclude_terms: Iterable[str] = (),
    ) -> None:
        self.params = params or TrendParams()
        self._bucket_s = self.params.bucket.total_seconds()
        self._window_n = max(1, round(self.params.window / self.params.bucket))
        self._baseline_n = max(1, round(self.params.baseline / self.params.bucket))
        self.watch_terms = tuple(t for t in (normalize_term(w) for w in watch_terms) if t)
        self.exclude_terms = frozenset(t for t in (normalize_term(x) for x in exclude_terms) if t)
        self._buckets: dict[int, dict[str, _TermBucket]] = {}
        self._totals: dict[int, int] = {}
        self._first_bucket: int | None = None
        self._seen: set[tuple[str, str]] = set()
        self._seen_order: dict[int, list[tuple[str, str]]] = {}
        # Terms of recent posts by post id, to find what co-occurs with a rising term.
        self._post_terms: dict[int, dict[str, tuple[str, ...]]] = {}

    # -- ingest ---------------------------------------------------------------------------

    def _bucket_of(self, when: datetime) -> int:
        return math.floor(when.timestamp() / self._bucket_s)

    def observe(self, post: Post) -> bool:
        """Count one post. Returns False when it was skipped (duplicate or excluded term)."""
        uid = (post.source, post.id)
        if uid in self._seen:
            return False
        terms = post_terms(post)
        if self.exclude_terms.intersection(terms):
            return False
        index = self._bucket_of(post.created_at)
        self._seen.add(uid)
        self._seen_order.setdefault(index, []).append(uid)
        if self._first_bucket is None or index < self._first_bucket:
            self._first_bucket = index
        self._totals[index] = self._totals.get(index, 0) + 1
        self._post_terms.setdefault(index, {})[post.id] = tuple(terms)
        bucket = self._buckets.setdefault(index, {})
        author = author_key(post)
        for term, is_hashtag in terms.items():
            entry = bucket.get(term)
            if entry is None:
                entry = bucket[term] = _TermBucket()
            entry.count += 1
            entry.hashtag_count += int(is_hashtag)
            entry.authors.add(author)
            entry.sources.add(post.source)
            if len(entry.post_ids) < _EVIDENCE_PER_BUCKET:
                entry.post_ids.append(post.id)
        return True

    def prune(self, now: datetime) -> None:
        """Forget buckets older than the window plus the baseline span."""
        oldest = self._bucket_of(now) - self._window_n - self._baseline_n
        for index in [i for i in self._buckets if i < oldest]:
            del self._buckets[index]
            self._totals.pop(index, None)
            for uid in self._seen_order.pop(index, []):
                self._seen.discard(uid)
        recent = self._bucket_of(now) - self._window_n
        for index in [i for i in self._post_terms if i < recent]:
            del self._post_terms[index]
        if self._first_bucket is not None and self._first_bucket < oldest:
            self._first_bucket = oldest

    # -- detect ---------------------------------------------------------------------------

    def findings(self, now: datetime) -> list[Trend]:
        """Rising terms at `now`, strongest first, co-rising terms grouped into one Trend."""
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware UTC")
        self.prune(now)
        p = self.params
        now_index = self._bucket_of(now)
        current = range(now_index - self._window_n + 1, now_index + 1)
        base_start = now_index - self._window_n - self._baseline_n + 1
        base_end = now_index - self._window_n  # inclusive
        # How much history the baseline really has; a young detector must not divide by 24h.
        first = self._first_bucket if self._first_bucket is not None else now_index
        base_buckets = max(0, base_end - max(base_start, first) + 1)
        windows_of_history = base_buckets / self._window_n

        if base_buckets * self._bucket_s < p.min_history.total_seconds():
            return []

        # Pass 1 counts only; sets and evidence are built for the few terms that can fire.
        counts: dict[str, int] = {}
        for index in current:
            for term, entry in self._buckets.get(index, {}).items():
                counts[term] = counts.get(term, 0) + entry.count
        floor = min(p.min_posts, p.watch_min_posts)
        current_terms: dict[str, _TermBucket] = {}
        for term, count in counts.items():
            if count < floor:
                continue
            agg = current_terms[term] = _TermBucket(count=count)
            for index in reversed(current):  # newest bucket first: evidence is newest first
                part = self._buckets.get(index, {}).get(term)
                if part is None:
                    continue
                agg.hashtag_count += part.hashtag_count
                agg.authors |= part.authors
                agg.sources |= part.sources
                if len(agg.post_ids) < MAX_EVIDENCE:
                    agg.post_ids.extend(reversed(part.post_ids))

        candidates: list[_Candidate] = []
        for term, agg in current_terms.items():
            watched = self._watched(term)
            # A watch term alerts at a lower bar: fewer posts, as many distinct authors (at most
            # min_authors), and no surprise score beyond the ratio (the team asked for it).
            needed = p.watch_min_posts if watched else p.min_posts
            authors_needed = min(p.min_authors, p.watch_min_posts) if watched else p.min_authors
            if agg.count < needed or len(agg.authors) < authors_needed:
                continue
            base_count = 0
            for index in range(max(base_start, first), base_end + 1):
                past = self._buckets.get(index, {}).get(term)
                if past is not None:
                    base_count += past.count
            expected = base_count / windows_of_history if windows_of_history > 0 else 0.0
            ratio = (agg.count + 1.0) / (expected + 1.0)
            score = poisson_score(agg.count, expected)
            if ratio < p.min_ratio or (score < p.min_score and not watched):
                continue
            candidates.append(
                _Candidate(
                    term=term,
                    count=agg.count,
                    hashtag_count=agg.hashtag_count,
                    authors=agg.authors,
                    sources=agg.sources,
                    evidence=agg.post_ids[:MAX_EVIDENCE],
                    baseline_rate=expected,
                    ratio=ratio,
                    score=score,
                    watched=watched,
                )
            )
        return [self._to_trend(group, now) for group in _group(candidates)]

    def set_watch_terms(self, watch_terms: Iterable[str]) -> None:
        """Replace the watch terms, e.g. when the team adds one from Slack."""
        self.watch_terms = tuple(t for t in (normalize_term(w) for w in watch_terms) if t)

    def _watched(self, term: str) -> tuple[str, ...]:
        """Single-word watch terms equal to `term` (they get the lower `watch_min_posts` bar)."""
        return tuple(w for w in self.watch_terms if w == term)

    def sparkline(self, term: str, now: datetime, buckets: int = SPARKLINE_BUCKETS) -> list[int]:
        """Posts per bucket mentioning `term` over the last `buckets` buckets, oldest first."""
        now_index = self._bucket_of(now)
        counts: list[int] = []
        for index in range(now_index - buckets + 1, now_index + 1):
            found = self._buckets.get(index, {}).get(term)
            counts.append(found.count if found is not None else 0)
        return counts

    def _context_terms(self, evidence: Sequence[str]) -> list[str]:
        """Terms most of the evidence posts share: the story a rising word belongs to.

        "goal" rising during a match mostly appears next to "#twelftal"; carrying that term
        lets the alert policy see it is the same story as an earlier #twelftal alert.
        """
        recent: dict[str, tuple[str, ...]] = {}
        for posts in self._post_terms.values():
            recent.update(posts)
        found = [recent[i] for i in evidence if i in recent]
        if len(found) < 2:
            return []
        tally: dict[str, int] = {}
        for terms in found:
            for term in terms:
                tally[term] = tally.get(term, 0) + 1
        needed = CONTEXT_SHARE * len(found)
        shared = sorted((t for t, n in tally.items() if n >= needed), key=lambda t: -tally[t])
        return shared[:MAX_CONTEXT_TERMS]

    def _to_trend(self, group: Sequence[_Candidate], now: datetime) -> Trend:
        lead = group[0]
        evidence: list[str] = []
        seen: set[str] = set()
        for candidate in group:
            for post_id in candidate.evidence:
                if post_id not in seen:
                    seen.add(post_id)
                    evidence.append(post_id)
        authors: set[str] = set()
        sources: set[str] = set()
        for candidate in group:
            authors |= candidate.authors
            sources |= candidate.sources
        terms = {c.term for c in group}
        # A phrase watch term ("social media") matches when all its words rose together.
        watched = [
            w for w in self.watch_terms if w in terms or (" " in w and set(w.split()) <= terms)
        ]
        as_hashtag = lead.hashtag_count * 2 >= lead.count
        topic_terms = [c.term for c in group]
        topic_terms.extend(t for t in self._context_terms(evidence) if t not in terms)
        return Trend(
            key=f"trend:{lead.term}",
            title=f"#{lead.term}" if as_hashtag else lead.term,
            terms=tuple(topic_terms),
            detected_at=now.astimezone(UTC),
            score=round(lead.score, 3),
            count=lead.count,
            baseline_rate=round(lead.baseline_rate, 3),
            ratio=round(lead.ratio, 3),
            authors=len(lead.authors),
            sources=tuple(sorted(sources)),
            evidence=tuple(evidence[:MAX_EVIDENCE]),
            sparkline=tuple(self.sparkline(lead.term, now)),
            watched=tuple(watched),
        )


def _group(candidates: list[_Candidate]) -> list[list[_Candidate]]:
    """Greedy grouping of co-rising terms by shared evidence posts, strongest lead first."""
    # Hashtags lead when tied: "#twelftal" is what people search for and reuse.
    ordered = sorted(candidates, key=lambda c: (-c.score, -c.hashtag_count, c.term))
    groups: list[tuple[set[str], list[_Candidate]]] = []
    for candidate in ordered:
        posts = set(candidate.evidence)
        for group_posts, members in groups:
            smaller = min(len(posts), len(group_posts)) or 1
            if len(posts & group_posts) / smaller >= _GROUP_OVERLAP:
                members.append(candidate)
                group_posts |= posts
                break
        else:
            groups.append((posts, [candidate]))
    return [members for _, members in groups]
