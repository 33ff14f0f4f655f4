"""The team's taste as the engine and `/inhaker why` see it: clicks from the store, learned.

What it does: `TasteBook.current(now)` turns the store's feedback rows (the Slack buttons write
them, possibly from another process) into feedback events — each click with the features of the
alert it was about — and learns a `detectors.taste.Taste` from them. It rebuilds only when the
clicks changed since the last build (or the clock moved on an hour, for the decay), so a click in
Slack counts from the very next tick while an idle minute costs one small query. `explain`
gives the effect and reasons for a trend, an open call or an alert row.

What it does not do: decide anything (the engine multiplies scores and ranks), write to the store,
or know about Slack. With feeds.yaml `feedback.enabled: false` it has no effect at all.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.config import Config
from bot.serialize import external_trend_from_dict, opportunity_from_dict, trend_from_dict
from bot.store import AlertRow, FeedbackRow, Store
from detectors.records import Opportunity, Trend
from detectors.taste import (
    ACTION_STRENGTH,
    NO_EFFECT,
    FeedbackEvent,
    Taste,
    TasteEffect,
    opportunity_features,
    trend_features,
)
from detectors.text import normalize_term

__all__ = [
    "TasteBook",
    "features_of_alert",
    "features_of_opportunity",
    "features_of_trend",
]

# Clicks older than this many half-lives weigh under 0.1 % of a new one: not worth reading.
HORIZON_HALF_LIVES = 10
# Even without new clicks the old ones fade; with half-lives of weeks an hour changes nothing
# a person could notice, so the model is rebuilt at most this often for the decay alone.
REBUILD_FOR_DECAY = timedelta(hours=1)
# A "useful" or "not relevant" is a verdict: a person who changes their mind counts once, with
# their latest verdict. Claims, follow-throughs and mutes count once per person and alert.
_VERDICTS = frozenset({"useful", "not_relevant", "dismiss"})

features_of_trend = trend_features
features_of_opportunity = opportunity_features


def features_of_alert(row: AlertRow) -> tuple[str, ...]:
    """The features of the finding an alert row shows (its payload), () when it has none."""
    payload = row.payload
    if "trend" in payload:
        return trend_features(trend_from_dict(payload["trend"]))
    if "opportunity" in payload:
        return opportunity_features(opportunity_from_dict(payload["opportunity"]))
    if "listed" in payload:
        listed = external_trend_from_dict(payload["listed"])
        term = normalize_term(listed.term)
        return tuple(
            sorted({f"term:{term}", f"source:{listed.source}", "kind:listed"} if term else ())
        )
    return ()


def _latest_clicks(rows: Sequence[FeedbackRow]) -> list[FeedbackRow]:
    """One click per person, alert and kind of click (a double click is one click)."""
    latest: dict[tuple[str, str, str], FeedbackRow] = {}
    for row in rows:  # oldest first: a later click replaces an earlier one
        if ACTION_STRENGTH.get(row.action, 0.0) == 0.0:
            continue
        kind = "verdict" if row.action in _VERDICTS else row.action
        latest[(row.alert_id, row.user_id, kind)] = row
    return sorted(latest.values(), key=lambda r: (r.at, r.alert_id, r.user_id, r.action))


class TasteBook:
    """The current `Taste` over one store, rebuilt when the team clicked since."""

    def __init__(self, store: Store, config: Config) -> None:
        self.store = store
        self.settings = config.feedback
        self._lock = threading.Lock()
        self._taste = Taste(max_effect=self.settings.max_effect)
        self._signature: tuple[object, ...] | None = None
        self._built_at: datetime | None = None
        # Features per alert id, read once: a click is about the alert as the person saw it
        # (a growing trend's later edits add little), and rereading every row each tick would
        # cost a query per click.
        self._features: dict[str, tuple[str, ...]] = {}

    @property
    def enabled(self) -> bool:
        return self.settings.enabled

    def current(self, now: datetime) -> Taste:
        """The taste as of `now`: the same object until a click arrives or an hour passes."""
        if not self.settings.enabled:
            return self._taste  # never built: no weights, no effect
        with self._lock:
            rows = self.store.feedback_since(now - self.settings.half_life * HORIZON_HALF_LIVES)
            signature = (len(rows), rows[-1] if rows else None)
            fresh = self._built_at is not None and now - self._built_at < REBUILD_FOR_DECAY
            if signature == self._signature and fresh:
                return self._taste
            events = [
                FeedbackEvent(self._features_of(row.alert_id), row.action, row.at)
                for row in _latest_clicks(rows)
            ]
            self._taste = Taste.learn(
                events, now, self.settings.half_life, self.settings.max_effect
            )
            self._signature = signature
            self._built_at = now
            return self._taste

    def _features_of(self, alert_id: str) -> tuple[str, ...]:
        if alert_id not in self._features:
            row = self.store.alert(alert_id)
            self._features[alert_id] = () if row is None else features_of_alert(row)
        return self._features[alert_id]

    def for_trend(self, trend: Trend, now: datetime) -> TasteEffect:
        return self.current(now).effect(trend_features(trend))

    def for_opportunity(self, opportunity: Opportunity, now: datetime) -> TasteEffect:
        return self.current(now).effect(opportunity_features(opportunity))

    def explain(self, item: Trend | Opportunity | AlertRow, now: datetime) -> TasteEffect:
        """What the team's clicks do to `item` now (for `/inhaker why`): the multiplier and
        reasons such as "'werkplek' marked useful 3× (+40 %)"; no reasons without feedback."""
        if not self.settings.enabled:
            return NO_EFFECT
        if isinstance(item, Trend):
            return self.for_trend(item, now)
        if isinstance(item, Opportunity):
            return self.for_opportunity(item, now)
        return self.current(now).effect(features_of_alert(item))
