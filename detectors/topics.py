"""Topics: significant terms grouped into stories, posts assigned to them, and their lifecycle.

What it does: takes the signals of detectors/signitrend.py at each tick and
- groups co-trending terms into one story when their evidence posts overlap (they co-occur in
  recent posts: "costa" and "rica" and "#earthquake");
- represents each story by the TF-IDF centroid of its posts (scikit-learn: a HashingVectorizer
  over the posts' terms, so memory does not grow with the vocabulary, and a TfidfTransformer whose
  document frequencies are refitted every hour on a sample of recent posts);
- merges a new group into an existing topic when their centroids are similar (cosine), so the
  same story told by an RSS headline, Mastodon posts and Bluesky posts in different words is one
  topic, not three alerts;
- assigns new posts to topics by single-pass cosine similarity to the centroids (a post that
  mentions a topic's terms and reads like it joins it), which gives each topic its evidence, its
  representative post (the most typical one) and its rate over time;
- tracks the lifecycle of each topic from that rate: emerging (just detected), rising (its rate
  grows), peaking (near its highest rate, no longer growing), fading (below half its peak): the
  team needs to know whether the window to hook in is still open.

What it does not do: decide significance (signitrend.py), decide what to alert (bot/alerts.py), or
read a clock. Topics idle for `idle` are forgotten, and at most `max_topics` are kept, so memory
stays bounded; topics are not checkpointed (the alert history in the store keeps one message
per story across restarts).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix, vstack
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
from sklearn.preprocessing import normalize

from detectors.records import Trend
from detectors.signitrend import MAX_EVIDENCE, RecentPost, Signal

STAGES = ("emerging", "rising", "peaking", "fading")
_STAGE_BUCKET = timedelta(minutes=5)
_RATE_BUCKETS = 2  # a topic's rate: its posts in the last 10 minutes
_HISTORY_BUCKETS = 24
SPARKLINE_BUCKETS = 12


@dataclass(frozen=True, slots=True)
class TopicParams:
    """How alike posts and groups must be to share a topic, and how long topics live."""

    merge_similarity: float = 0.3  # a new group joins a topic whose centroid is this close
    assign_similarity: float = 0.25  # a post joins a topic whose centroid is this close
    group_overlap: float = 0.5  # signals whose evidence overlaps this much are one group
    co_occurrence: float = 0.3  # a group whose posts carry a topic's lead terms this often
    emerging_for: timedelta = timedelta(minutes=10)
    idle: timedelta = timedelta(hours=2)
    max_topics: int = 200
    max_terms: int = 8
    features: int = 1 << 18
    refit_every: timedelta = timedelta(hours=1)
    idf_sample: int = 5000


def _identity(terms: Any) -> Any:
    return terms


@dataclass(slots=True)
class Topic:
    """One story: its terms, centroid, posts and rate history."""

    key: str
    lead: str
    hashtag: bool
    terms: list[str]
    created_at: datetime
    centroid: csr_matrix
    posts: dict[str, RecentPost] = field(default_factory=dict)
    per_bucket: dict[int, int] = field(default_factory=dict)
    peak_rate: int = 0
    stage: str = "emerging"
    representative: str | None = None
    representative_similarity: float = -1.0
    last_post_at: float = 0.0
    best: Signal | None = None
    watched: tuple[str, ...] = ()


class TopicTracker:
    """Groups signals into topics; `update(signals, new_posts, window_posts, now)` per tick."""

    def __init__(self, params: TopicParams | None = None) -> None:
        self.params = params or TopicParams()
        self._vectorizer = HashingVectorizer(
            analyzer=_identity,
            n_features=self.params.features,
            alternate_sign=False,
            norm=None,
        )
        self._tfidf: TfidfTransformer | None = None
        self._fitted_at: datetime | None = None
        self.topics: dict[str, Topic] = {}

    # -- vectors ------------------------------------------------------------------------------

    def _vectors(self, posts: Sequence[RecentPost]) -> csr_matrix:
        counts = self._vectorizer.transform([sorted(p.terms) for p in posts])
        if self._tfidf is not None:
            counts = self._tfidf.transform(counts)
        return csr_matrix(normalize(counts))

    def _refit(self, sample: Sequence[RecentPost], now: datetime) -> None:
        """Document frequencies from recent posts: a word in every post says little."""
        if self._fitted_at is not None and now - self._fitted_at < self.params.refit_every:
            return
        if len(sample) < 50:
            return
        step = max(1, len(sample) // self.params.idf_sample)
        chosen = sample[::step]
        counts = self._vectorizer.transform([sorted(p.terms) for p in chosen])
        self._tfidf = TfidfTransformer(sublinear_tf=True).fit(counts)
        self._fitted_at = now

    @staticmethod
    def _centroid(vectors: csr_matrix) -> csr_matrix:
        # The mean as a sparse row (a ones row times the posts): vectors.mean() would build a
        # dense row as wide as the hashing space.
        ones = csr_matrix(np.full((1, vectors.shape[0]), 1.0 / vectors.shape[0]))
        return csr_matrix(normalize(ones @ vectors))

    # -- per tick -----------------------------------------------------------------------------

    def update(
        self,
        signals: Sequence[Signal],
        new_posts: Sequence[RecentPost],
        window_posts: Callable[[], Sequence[RecentPost]],
        evidence: Mapping[str, RecentPost],
        now: datetime,
    ) -> list[Trend]:
        """Fold this tick's signals and new posts in; return the topics worth reporting now:
        those that got a signal this tick or changed stage. `window_posts` gives the posts of
        the long window (called only for the hourly IDF refit: it is the expensive part of a
        tick); `evidence` the posts behind the signals' evidence ids, by id."""
        touched: set[str] = set()
        if self._fitted_at is None or now - self._fitted_at >= self.params.refit_every:
            self._refit(window_posts(), now)
        for group in self._group(signals):
            topic = self._place(group, evidence, now)
            if topic is not None:
                touched.add(topic.key)
        self._assign(new_posts)
        changed = self._restage(now)
        self._forget(now)
        report = [self.topics[k] for k in sorted(touched | changed) if k in self.topics]
        report.sort(key=lambda t: -(t.best.z if t.best else 0.0))
        return [self._trend(topic, now) for topic in report]

    def _group(self, signals: Sequence[Signal]) -> list[list[Signal]]:
        """Greedy grouping by shared evidence, strongest signal first (it leads its group)."""
        ordered = sorted(signals, key=lambda s: (-s.z, -s.surprise, not s.hashtag, s.terms))
        groups: list[tuple[set[str], list[Signal]]] = []
        for signal in ordered:
            posts = set(signal.evidence)
            for group_posts, members in groups:
                smaller = min(len(posts), len(group_posts)) or 1
                if len(posts & group_posts) / smaller >= self.params.group_overlap:
                    members.append(signal)
                    group_posts |= posts
                    break
            else:
                groups.append((posts, [signal]))
        return [members for _, members in groups]

    def _place(
        self, group: list[Signal], by_id: Mapping[str, RecentPost], now: datetime
    ) -> Topic | None:
        """Merge a group into the most similar topic, or open a new one."""
        evidence: list[RecentPost] = []
        seen: set[str] = set()
        for signal in group:
            for post_id in signal.evidence:
                post = by_id.get(post_id)
                if post is not None and post_id not in seen:
                    seen.add(post_id)
                    evidence.append(post)
        if not evidence:
            return None
        vectors = self._vectors(evidence)
        centroid = self._centroid(vectors)
        terms = list(dict.fromkeys(t for s in group for t in s.terms))
        topic = self._most_similar(centroid, terms, evidence)
        lead = group[0]
        if topic is None:
            key = f"trend:{lead.terms[0]}"
            if key in self.topics:  # an old topic with this lead was not similar: a new story
                key = f"trend:{lead.terms[0]}:{now.strftime('%Y%m%dT%H%M')}"
            topic = Topic(
                key=key,
                lead=lead.terms[0],
                hashtag=lead.hashtag,
                terms=terms[: self.params.max_terms],
                created_at=now,
                centroid=centroid,
            )
            self.topics[key] = topic
        else:
            # Move the centroid towards the new evidence, and keep the strongest terms first.
            topic.centroid = csr_matrix(normalize(topic.centroid * 0.7 + centroid * 0.3))
            merged = list(dict.fromkeys([*topic.terms, *terms]))
            topic.terms = merged[: self.params.max_terms]
        for signal in group:
            if topic.best is None or signal.z > topic.best.z:
                topic.best = signal
            topic.watched = tuple(dict.fromkeys([*topic.watched, *signal.watched]))
        self._add_posts(topic, evidence, (vectors @ topic.centroid.T).toarray().ravel())
        return topic

    def _most_similar(
        self, centroid: csr_matrix, terms: list[str], evidence: Sequence[RecentPost]
    ) -> Topic | None:
        """The topic a new group belongs to: the closest centroid (same wording), or the topic
        whose lead terms most of the group's posts also carry (same conversation: "penalty"
        and "alonso" next to #nedesp), or the topic whose lead term the group rises on."""
        if not self.topics:
            return None
        topics = list(self.topics.values())
        matrix = vstack([t.centroid for t in topics])
        similarity = (matrix @ centroid.T).toarray().ravel()
        best = int(np.argmax(similarity))
        if similarity[best] >= self.params.merge_similarity:
            return topics[best]
        shares = [
            sum(1 for p in evidence if not lead.isdisjoint(p.terms)) / len(evidence)
            for lead in (set(t.terms[:3]) for t in topics)
        ]
        best = int(np.argmax(shares))
        if shares[best] >= self.params.co_occurrence:
            return topics[best]
        lead_terms = {t.lead: t for t in topics}
        for term in terms[:2]:
            if term in lead_terms:
                return lead_terms[term]
        return None

    def _add_posts(self, topic: Topic, posts: Sequence[RecentPost], similarity: Any) -> None:
        for post, sim in zip(posts, similarity, strict=True):
            if post.id not in topic.posts:
                topic.posts[post.id] = post
                bucket = math.floor(post.at / _STAGE_BUCKET.total_seconds())
                topic.per_bucket[bucket] = topic.per_bucket.get(bucket, 0) + 1
                topic.last_post_at = max(topic.last_post_at, post.at)
            if float(sim) > topic.representative_similarity:
                topic.representative_similarity = float(sim)
                topic.representative = post.id

    def _assign(self, new_posts: Sequence[RecentPost]) -> None:
        """Single-pass assignment: each new post joins the closest topic, if close enough."""
        if not self.topics or not new_posts:
            return
        topics = list(self.topics.values())
        wanted = set().union(*(t.terms for t in topics))
        candidates = [p for p in new_posts if not wanted.isdisjoint(p.terms)]
        if not candidates:
            return
        matrix = vstack([t.centroid for t in topics])
        similarity = (self._vectors(candidates) @ matrix.T).toarray()
        # A post joins only a topic it shares a term with: similar wording alone is not enough.
        for column, topic in enumerate(topics):
            terms = set(topic.terms)
            for row, post in enumerate(candidates):
                if terms.isdisjoint(post.terms):
                    similarity[row, column] = -1.0
        best = similarity.argmax(axis=1)
        for row, post in enumerate(candidates):
            index = int(best[row])
            sim = similarity[row, index]
            if sim >= self.params.assign_similarity:
                self._add_posts(topics[index], [post], [sim])

    def _rate(self, topic: Topic, bucket: int) -> int:
        start = bucket - _RATE_BUCKETS + 1
        return sum(topic.per_bucket.get(b, 0) for b in range(start, bucket + 1))

    def _restage(self, now: datetime) -> set[str]:
        """Recompute each topic's stage; return the keys whose stage moved on."""
        bucket = math.floor(now.timestamp() / _STAGE_BUCKET.total_seconds())
        changed: set[str] = set()
        for topic in self.topics.values():
            rate = self._rate(topic, bucket)
            before = self._rate(topic, bucket - _RATE_BUCKETS)
            topic.peak_rate = max(topic.peak_rate, rate)
            if now - topic.created_at < self.params.emerging_for:
                stage = "emerging"
            elif rate * 2 < topic.peak_rate:
                stage = "fading"
            elif rate > before * 1.2:
                stage = "rising"
            else:
                stage = "peaking"
            # The lifecycle only moves forward (a topic that fades and returns is "rising"
            # again only through a new signal, which reopens it).
            if STAGES.index(stage) > STAGES.index(topic.stage):
                topic.stage = stage
                changed.add(topic.key)
            for old in [b for b in topic.per_bucket if b <= bucket - _HISTORY_BUCKETS]:
                del topic.per_bucket[old]
        return changed

    def _forget(self, now: datetime) -> None:
        horizon = (now - self.params.idle).timestamp()
        for key in [k for k, t in self.topics.items() if t.last_post_at < horizon]:
            del self.topics[key]
        if len(self.topics) > self.params.max_topics:
            by_age = sorted(self.topics.values(), key=lambda t: t.last_post_at)
            for topic in by_age[: len(self.topics) - self.params.max_topics]:
                del self.topics[topic.key]
        window = (now - timedelta(hours=1)).timestamp()
        for topic in self.topics.values():
            if len(topic.posts) > 4 * MAX_EVIDENCE:
                topic.posts = {k: p for k, p in topic.posts.items() if p.at >= window}

    # -- output -------------------------------------------------------------------------------

    def active(self, now: datetime) -> list[Trend]:
        """Every topic with posts in the last hour, strongest first: what is trending now."""
        horizon = (now - timedelta(hours=1)).timestamp()
        live = [t for t in self.topics.values() if t.best is not None and t.last_post_at >= horizon]
        live.sort(key=lambda t: -(t.best.z if t.best else 0.0))
        return [self._trend(topic, now) for topic in live]

    def _trend(self, topic: Topic, now: datetime) -> Trend:
        assert topic.best is not None
        best = topic.best
        horizon = (now - timedelta(hours=1)).timestamp()
        terms = set(topic.terms)
        # Evidence is what the team reads as "the posts behind it": each names one of its terms.
        named = [p for p in topic.posts.values() if not terms.isdisjoint(p.terms)]
        recent = sorted((p for p in named if p.at >= horizon), key=lambda p: -p.at)
        if not recent:
            recent = sorted(named, key=lambda p: -p.at)
        bucket = math.floor(now.timestamp() / _STAGE_BUCKET.total_seconds())
        sparkline = tuple(
            topic.per_bucket.get(b, 0) for b in range(bucket - SPARKLINE_BUCKETS + 1, bucket + 1)
        )
        label = " · ".join(topic.terms[:3])
        return Trend(
            key=topic.key,
            title=f"#{topic.lead}" if topic.hashtag else topic.lead,
            terms=tuple(topic.terms),
            detected_at=now.astimezone(UTC),
            score=round(best.z, 3),
            count=len(recent),
            baseline_rate=round(best.expected, 3),
            ratio=round(best.ratio, 3),
            authors=len({p.author for p in recent}),
            sources=tuple(sorted({p.source for p in recent})),
            evidence=tuple(p.id for p in recent[:MAX_EVIDENCE]),
            sparkline=sparkline,
            watched=topic.watched,
            stage=topic.stage,
            label=label,
            representative=topic.representative,
            surprise=round(best.surprise, 3),
        )
