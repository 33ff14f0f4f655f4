"""Small literal records shared by the Slack tests (HTTP mode and Socket Mode)."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.config import Config, SourceConfig
from detectors.records import Trend

SLACK_TEST_CONFIG = Config(
    sources=(
        SourceConfig(
            id="nos", kind="rss", url="https://feeds.nos.nl/x", interval=timedelta(minutes=10)
        ),
    )
)


def rising_twelftal(now: datetime) -> Trend:
    """#twelftal at 42 posts, 8.4x its usual rate: what /trends should show."""
    return Trend(
        key="trend:twelftal",
        title="#twelftal",
        terms=("twelftal",),
        detected_at=now,
        score=11.5,
        count=42,
        baseline_rate=4.0,
        ratio=8.4,
        authors=17,
        sources=("x", "nos", "nu"),
        evidence=("t-1",),
        sparkline=(0, 1, 2, 5, 12, 22),
    )
