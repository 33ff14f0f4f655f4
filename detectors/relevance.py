"""How well an opportunity or a trend fits the team, and in what order to show them.

What it does: `Profile` holds what the team is about: its watch terms from feeds.yaml and a text
(`profile.about` plus the posts of its own profile sources: the team's blog, site feed or
account). `Profile.fit` scores a post or a trend's text 0..1 against it and says why: a watch
term it names counts fully; otherwise the cosine similarity of TF-IDF vectors (sublinear term
frequency; each term also as its first five letters, so "verpakking" meets "verpakkingen";
stopwords are already gone in `terms_of`; document frequencies from a sample of the stream
itself, so words everybody uses weigh little) reaches 1 at a similarity of `FULL_FIT_COSINE`, and
the reason names the shared words. `opportunity_rank` orders opportunities by the classifier's
confidence times a mix of fit, freshness, time left before the deadline and reach.

What it does not do: read feeds.yaml or the store (bot/pipeline.py builds the profile), fetch
the team's site, or learn from feedback (the Slack issue's relevance model will).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from detectors.text import terms_of

__all__ = ["FULL_FIT_COSINE", "Fit", "Profile", "opportunity_rank"]

# Two short texts on the same subject share a handful of terms out of dozens: a cosine of 0.25
# already reads as "about the same thing" to a person, so it counts as a full fit.
FULL_FIT_COSINE = 0.25
_PREFIX = 5
_SHOWN_WORDS = 3

# Weights of the rank; they sum to 1 so that a rank reads like a score.
FIT_WEIGHT = 0.4
FRESH_WEIGHT = 0.2
TIME_LEFT_WEIGHT = 0.25
REACH_WEIGHT = 0.15
FRESH_HALF_LIFE_HOURS = 24.0
# Followers or engagement of 10^5 count as full reach.
FULL_REACH_LOG10 = 5.0
UNKNOWN_REACH = 0.3


@dataclass(frozen=True, slots=True)
class Fit:
    score: float  # 0..1
    reasons: tuple[str, ...] = ()


def _features(text: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for term in terms_of(text):
        counts[term] += 1
        if len(term) > _PREFIX:
            counts["<" + term[:_PREFIX]] += 1
    return counts


def _weights(counts: Counter[str], idf: dict[str, float], unseen: float) -> dict[str, float]:
    return {term: (1.0 + math.log(n)) * idf.get(term, unseen) for term, n in counts.items()}


@dataclass(frozen=True)
class Profile:
    """The team's profile; build it with `Profile.build`."""

    watch: tuple[str, ...] = ()
    weights: dict[str, float] = field(default_factory=dict)
    norm: float = 0.0
    idf: dict[str, float] = field(default_factory=dict)
    unseen_idf: float = 1.0

    @classmethod
    def build(
        cls, watch_terms: Sequence[str], texts: Iterable[str], background: Iterable[str] = ()
    ) -> Profile:
        """`texts` say what the team is about; `background` is a sample of what streams by
        (for document frequencies: smooth IDF, ln((1 + n) / (1 + df)) + 1)."""
        df: Counter[str] = Counter()
        documents = 0
        for text in background:
            documents += 1
            df.update(set(_features(text)))
        idf = {t: math.log((1 + documents) / (1 + n)) + 1.0 for t, n in df.items()}
        unseen = math.log(1 + documents) + 1.0
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(_features(text))
        weights = _weights(counts, idf, unseen)
        norm = math.sqrt(sum(w * w for w in weights.values()))
        return cls(tuple(watch_terms), weights, norm, idf, unseen)

    @property
    def empty(self) -> bool:
        return not self.watch and not self.weights

    def fit(self, text: str, watched: Sequence[str] = ()) -> Fit:
        """How well `text` fits; `watched` are the watch terms the caller already found in it."""
        reasons: list[str] = []
        score = 0.0
        if watched:
            score = 1.0
            reasons.append("matches your watch term " + ", ".join(f"'{w}'" for w in watched))
        if self.norm > 0:
            post = _weights(_features(text), self.idf, self.unseen_idf)
            post_norm = math.sqrt(sum(w * w for w in post.values()))
            if post_norm > 0:
                shared = {t: w * self.weights[t] for t, w in post.items() if t in self.weights}
                cosine = sum(shared.values()) / (post_norm * self.norm)
                words = sorted(
                    (t for t in shared if not t.startswith("<")), key=lambda t: (-shared[t], t)
                )[:_SHOWN_WORDS]
                if words:
                    score = max(score, min(1.0, cosine / FULL_FIT_COSINE))
                    listed = ", ".join(f"'{w}'" for w in words)
                    reasons.append(f"shares {listed} with your profile ({cosine:.2f} similar)")
        return Fit(round(score, 3), tuple(reasons))


def opportunity_rank(
    *,
    score: float,
    fit: float,
    posted_at: datetime,
    deadline: str | None,
    reach: float | None,
    now: datetime,
) -> float:
    """Higher first: confidence times fit, freshness, time left and reach, weighted.

    Time left: a deadline within three days is the most pressing (answer now or never), within
    a week next, further away less so; a call without a stated deadline sits in between; a
    passed one counts nothing.
    """
    age_hours = max(0.0, (now - posted_at).total_seconds() / 3600)
    fresh = 0.5 ** (age_hours / FRESH_HALF_LIFE_HOURS)
    time_left = 0.5
    if deadline:
        try:
            days = (date.fromisoformat(deadline) - now.date()).days
        except ValueError:
            days = None
        if days is not None:
            time_left = (
                0.0
                if days < 0
                else 1.0
                if days <= 3
                else 0.8
                if days <= 7
                else 0.6
                if days <= 30
                else 0.4
            )
    reach_part = (
        UNKNOWN_REACH
        if reach is None
        else min(1.0, math.log10(1.0 + max(0.0, reach)) / FULL_REACH_LOG10)
    )
    mix = (
        FIT_WEIGHT * fit
        + FRESH_WEIGHT * fresh
        + TIME_LEFT_WEIGHT * time_left
        + REACH_WEIGHT * reach_part
    )
    return float(round(score * mix, 4))
