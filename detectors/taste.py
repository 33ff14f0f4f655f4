"""The team's taste, learned from its clicks on alerts: a multiplier per finding, with reasons.

What it does: `Taste.learn` reads feedback events (a click on an alert, the alert's features and
when) and keeps, per feature ("term:werkplek", "category:speakers", "source:nos", "kind:trend"),
a log-odds weight: ln((positive + prior) / (negative + prior)), where each click counts
`ACTION_STRENGTH` (a follow-through twice a "useful"), halves in weight every `half_life`, and is
shared among the features of its alert (a click on an alert with five terms gives each a fifth).
`Taste.effect` multiplies a finding's score by exp(sum of its features' weights), kept within
[1/max_effect, max_effect], and says why in words a person can check: "'werkplek' marked useful
3× (+40 %)". Sharing a click among its features means an alert just like a clicked one gets the
whole click back, however many features it has, and one sharing a single term gets a part.

What it does not do: read the store or the clock (bot/taste.py gathers the clicks and passes
`now`), change a detector's scores (the engine multiplies them), or mute anything (mutes are
their own table; the "mute" click only counts as a negative vote here).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from detectors.records import Opportunity, Trend
from detectors.text import normalize_term, terms_of

__all__ = [
    "ACTION_STRENGTH",
    "PRIOR",
    "FeatureWeight",
    "FeedbackEvent",
    "Taste",
    "TasteEffect",
    "opportunity_features",
    "trend_features",
]

# How much one click says, and which way. A follow-through ("done": the team hooked in) is the
# strongest sign the alert was worth it; a snooze says "later", not "better" or "worse".
ACTION_STRENGTH: Mapping[str, float] = {
    "useful": 1.0,
    "claim": 1.0,
    "done": 2.0,
    "not_relevant": -1.0,
    "dismiss": -1.0,  # the old name of "not_relevant"
    "mute": -1.0,
    "snooze": 0.0,
}
# What a reason calls each action; "dismiss" reads like its new name.
_ACTION_WORDS: Mapping[str, str] = {
    "useful": "marked useful",
    "claim": "claimed",
    "done": "followed through",
    "not_relevant": "marked not relevant",
    "dismiss": "marked not relevant",
    "mute": "muted",
}
# Pseudo-clicks on each side of every feature (additive smoothing): with a few dozen clicks a
# month, one click must nudge, not decide. One click on an alert just like this one is worth
# about ×1.5; the effect of any number of features together stays below e^(1/PRIOR) per click.
PRIOR = 2.0
MAX_REASONS = 3
_KIND_WORDS: Mapping[str, str] = {
    "trend": "trends",
    "opportunity": "open calls",
    "listed": "listed trends",
}


@dataclass(frozen=True, slots=True)
class FeedbackEvent:
    """One click: on an alert with these `features`, `action` (see ACTION_STRENGTH), at `at`."""

    features: tuple[str, ...]
    action: str
    at: datetime

    @property
    def strength(self) -> float:
        """Positive for useful/claim/done, negative for not relevant/mute, 0 otherwise."""
        return ACTION_STRENGTH.get(self.action, 0.0)


@dataclass(frozen=True, slots=True)
class FeatureWeight:
    """What the team's clicks say about one feature."""

    weight: float  # natural log of the feature's own multiplier
    clicks: tuple[tuple[str, int], ...]  # (action words, clicks), e.g. ("marked useful", 3)

    @property
    def percent(self) -> int:
        return round((math.exp(self.weight) - 1.0) * 100)


@dataclass(frozen=True, slots=True)
class TasteEffect:
    """How the team's feedback changes one finding: multiply its score or rank by `multiplier`."""

    multiplier: float = 1.0
    reasons: tuple[str, ...] = ()


NO_EFFECT = TasteEffect()


@dataclass(frozen=True)
class Taste:
    """Learned per-feature weights; build with `Taste.learn`, apply with `effect`."""

    weights: Mapping[str, FeatureWeight] = field(default_factory=dict)
    max_effect: float = 3.0

    @classmethod
    def learn(
        cls,
        events: Sequence[FeedbackEvent],
        now: datetime,
        half_life: timedelta,
        max_effect: float,
    ) -> Taste:
        """Weights from `events` as of `now`; clicks after `now` are not counted yet."""
        if half_life <= timedelta(0):
            raise ValueError(
                f"feedback half_life must be positive (got {half_life}) — use e.g. 60d"
            )
        if not max_effect > 1.0:
            raise ValueError(
                f"feedback max_effect must be above 1 (got {max_effect}) — use e.g. 3.0"
            )
        positive: Counter[str] = Counter()
        negative: Counter[str] = Counter()
        clicks: dict[str, Counter[str]] = {}
        # Sorted so that the float sums, and so the weights, do not depend on the input order.
        for event in sorted(events, key=lambda e: (e.at, e.action, e.features)):
            features = sorted(set(event.features))
            if event.at > now or not features or event.strength == 0.0:
                continue
            age = (now - event.at) / half_life
            share = abs(event.strength) * 0.5**age / len(features)
            side = positive if event.strength > 0 else negative
            words = _ACTION_WORDS[event.action]
            for feature in features:
                side[feature] += share
                clicks.setdefault(feature, Counter())[words] += 1
        weights: dict[str, FeatureWeight] = {}
        for feature in sorted(clicks):
            weight = math.log((positive[feature] + PRIOR) / (negative[feature] + PRIOR))
            counted = tuple(sorted(clicks[feature].items(), key=lambda item: (-item[1], item[0])))
            weights[feature] = FeatureWeight(weight, counted)
        return cls(weights, max_effect)

    @property
    def empty(self) -> bool:
        return not self.weights

    def effect(self, features: Iterable[str]) -> TasteEffect:
        """The multiplier for a finding with `features` and the features that moved it most."""
        matched = [(f, self.weights[f]) for f in sorted(set(features)) if f in self.weights]
        if not matched:
            return NO_EFFECT
        total = sum(w.weight for _, w in matched)
        bound = math.log(self.max_effect)
        multiplier = round(math.exp(min(bound, max(-bound, total))), 4)
        # Strongest first; on a tie the most specific feature (a term before a category, a
        # source or "trends"), since that is what a person recognises in the alert.
        shown = sorted(
            ((f, w) for f, w in matched if w.percent != 0),
            key=lambda item: (-round(abs(item[1].weight), 9), _specificity(item[0]), item[0]),
        )[:MAX_REASONS]
        return TasteEffect(multiplier, tuple(_reason(f, w) for f, w in shown))


_SPECIFICITY = {"term": 0, "category": 1, "source": 2, "kind": 3}


def _specificity(feature: str) -> int:
    return _SPECIFICITY.get(feature.partition(":")[0], len(_SPECIFICITY))


def _reason(feature: str, weight: FeatureWeight) -> str:
    """A reason such as "'werkplek' marked useful 3× (+40 %)"."""
    done = ", ".join(f"{words} {count}×" for words, count in weight.clicks)
    sign = "+" if weight.percent > 0 else "−"
    return f"{feature_label(feature)} {done} ({sign}{abs(weight.percent)} %)"


def feature_label(feature: str) -> str:
    """How a reason names a feature: "'werkplek'", "category 'speakers'", "trends"."""
    prefix, _, value = feature.partition(":")
    if prefix == "term":
        return f"'{value}'"
    if prefix == "kind":
        return _KIND_WORDS.get(value, f"{value} alerts")
    if prefix == "category":
        return f"category '{value.replace('_', ' ')}'"
    if prefix == "source":
        return f"source '{value}'"
    return f"'{feature}'"


def _terms(values: Iterable[str]) -> list[str]:
    return [f"term:{t}" for t in (normalize_term(v) for v in values) if t]


def trend_features(trend: Trend) -> tuple[str, ...]:
    """A trend's features: its terms and watch terms, its sources, and that it is a trend."""
    features = [
        *_terms(trend.terms),
        *_terms(trend.watched),
        *(f"source:{s}" for s in trend.sources),
        "kind:trend",
    ]
    return tuple(sorted(set(features)))


def opportunity_features(opportunity: Opportunity) -> tuple[str, ...]:
    """An open call's features: its topic's words, watch terms, category, source and kind."""
    topic = list(terms_of(opportunity.topic)) if opportunity.topic else []
    features = [
        *_terms(topic),
        *_terms(opportunity.watched),
        f"source:{opportunity.source}",
        "kind:opportunity",
    ]
    if opportunity.category:
        features.append(f"category:{opportunity.category}")
    return tuple(sorted(set(features)))
