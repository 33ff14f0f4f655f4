"""Small literal records shared by the Slack tests (HTTP mode and Socket Mode), and helpers
that put alerts in a real store the way the alert policy does."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.config import Config, SourceConfig
from bot.serialize import opportunity_to_dict, trend_to_dict
from bot.store import Store
from detectors.records import Opportunity, Trend

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


def store_trend_alert(
    store: Store, trend: Trend, alert_id: str, now: datetime, *, channel: str = "#inhaker"
) -> None:
    """Put a trend alert in the outbox as the policy would (pending, its payload)."""
    store.add_alert(
        alert_id=alert_id,
        kind="trend",
        key=trend.key,
        title=trend.title,
        terms=trend.terms,
        payload={"trend": trend_to_dict(trend)},
        channel=channel,
        now=now,
        count=trend.count,
        score=trend.score,
    )


def store_call_alert(
    store: Store, opportunity: Opportunity, now: datetime, *, channel: str = "#inhaker"
) -> None:
    """Put an open call's alert in the outbox as the policy would (its key is the alert id)."""
    store.add_alert(
        alert_id=opportunity.key,
        kind="opportunity",
        key=opportunity.key,
        title=opportunity.title or opportunity.text[:80],
        terms=(),
        payload={"opportunity": opportunity_to_dict(opportunity)},
        channel=channel,
        now=now,
        score=opportunity.score,
    )
