"""Detection v2: streaming significance (signitrend.py) feeding topics and lifecycle (topics.py).

What it does: one object with the interface the engine expects of a trend detector:
`observe(post)` for each new post, `findings(now)` once a minute, returning one `Trend` per topic
that got a significant term this minute or moved to a new lifecycle stage; `state()` and
`load_state()` to checkpoint the significance tables.

What it does not do: alert (bot/alerts.py decides), keep topics across a restart (the alert
history does that), or read a clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from numpy.typing import NDArray

from detectors.records import Post, Trend
from detectors.signitrend import RecentPost, SignificanceDetector, SignificanceParams
from detectors.topics import TopicParams, TopicTracker


class StoryDetector:
    """Significant terms and pairs, grouped into topics with a lifecycle."""

    def __init__(
        self,
        params: SignificanceParams | None = None,
        *,
        watch_terms: Iterable[str] = (),
        exclude_terms: Iterable[str] = (),
        topics: TopicParams | None = None,
    ) -> None:
        self.significance = SignificanceDetector(
            params, watch_terms=watch_terms, exclude_terms=exclude_terms
        )
        self.params = self.significance.params
        self.topics = TopicTracker(topics)
        self._new: list[RecentPost] = []

    def set_watch_terms(self, watch_terms: Iterable[str]) -> None:
        """Replace the watch terms, e.g. when the team adds one from Slack (cheap: no table
        is rebuilt)."""
        self.significance.set_watch_terms(watch_terms)

    @property
    def watch_terms(self) -> tuple[str, ...]:
        return self.significance.watch_terms

    def observe(self, post: Post) -> bool:
        """Count one post; False when it was skipped (duplicate, excluded, too old)."""
        recent = self.significance.observe_recent(post)
        if recent is None:
            return False
        self._new.append(recent)
        return True

    def findings(self, now: datetime) -> list[Trend]:
        """Topics that fired or moved on at `now`, strongest first."""
        signals = self.significance.signals(now)
        new, self._new = self._new, []
        return self.topics.update(
            signals,
            new,
            lambda: list(self.significance.recent_posts()),
            self.significance.evidence_posts,
            now,
        )

    def current(self, now: datetime) -> list[Trend]:
        """All topics still active at `now` (what `/trends` shows), strongest first."""
        return self.topics.active(now)

    def state(self) -> tuple[dict[str, NDArray[Any]], dict[str, Any]]:
        return self.significance.state()

    def load_state(self, arrays: dict[str, NDArray[Any]], plain: dict[str, Any]) -> None:
        self.significance.load_state(arrays, plain)
