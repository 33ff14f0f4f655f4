"""Replay a stream file through the same engine as `inhaker run`, with the clock from the posts.

What it does: reads JSON Lines posts (design.md section 5), feeds them in order to the engine
(trend detector, opportunity scorer, alert policy, outbox) and ticks the engine once per minute
of stream time, as `run` ticks once per minute of wall time. New alerts come back as contract
dicts (`{"kind": "trend", "id", "title", "terms", "alerted_at", "evidence", "score"}` or
`{"kind": "opportunity", "id", "post_id", "alerted_at", "score", "deadline", "asker"}`);
updates of an already-alerted topic are not new alerts. The alert history lives in an in-memory
SQLite store, so the policy runs unchanged; posts stay in a bounded in-memory map.

What it does not do: poll sources, touch the team's store, or talk to Slack (pass a notifier to
see alerts as they happen, as `inhaker demo` does).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.config import Config
from bot.notify.base import Alert
from bot.pipeline import Engine
from bot.serialize import StreamLineError, iso, post_from_stream_line
from bot.store import Store
from detectors.records import Post

log = logging.getLogger(__name__)

TICK = timedelta(minutes=1)


class NullNotifier:
    """Accepts every alert and shows nothing (replay writes alerts to a file instead)."""

    def send(self, alert: Alert) -> str | None:
        return f"replay:{alert.id}"

    def update(self, alert: Alert, ref: str) -> None:
        return None

    def reply(self, alert: Alert, ref: str, text: str, *, mention: str | None = None) -> str | None:
        return None


@dataclass(slots=True)
class ReplayResult:
    alerts: list[dict[str, Any]] = field(default_factory=list)
    posts: int = 0
    errors: list[str] = field(default_factory=list)
    first: datetime | None = None
    last: datetime | None = None


def read_stream(lines: Iterable[str], name: str, errors: list[str]) -> Iterator[Post]:
    """Posts from stream lines; a bad line is reported in `errors` and skipped, not fatal."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield post_from_stream_line(line, where=f"{name}:{number}")
        except StreamLineError as exc:
            errors.append(str(exc))


def _floor_minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def _contract(decision_kind: str, alert_id: str, now: datetime, engine: Engine) -> dict[str, Any]:
    row = engine.store.alert(alert_id)
    assert row is not None
    payload = row.payload
    if decision_kind == "trend":
        trend = payload["trend"]
        return {
            "kind": "trend",
            "id": alert_id,
            "title": trend["title"],
            "terms": trend["terms"],
            "alerted_at": iso(now),
            "evidence": trend["evidence"][:100],
            "score": trend["score"],
        }
    opp = payload["opportunity"]
    return {
        "kind": "opportunity",
        "id": alert_id,
        "post_id": opp["post_id"],
        "alerted_at": iso(now),
        "score": opp["score"],
        "deadline": opp["deadline"],
        "asker": opp["asker"],
    }


def replay(
    lines: Iterable[str],
    config: Config,
    *,
    name: str = "stream",
    notifier: Any | None = None,
    source_labels: dict[str, str] | None = None,
) -> ReplayResult:
    """Run a stream through the engine; return every new alert in the order it was made."""
    store = Store("sqlite://")
    engine = Engine(config, store, notifier or NullNotifier(), keep_posts_in_memory=True)
    if source_labels:
        engine.source_labels.update(source_labels)
    result = ReplayResult()
    next_tick: datetime | None = None

    def tick(now: datetime) -> None:
        outcome = engine.tick(now, snapshot=False)
        for decision in outcome.decisions:
            if not decision.is_update:
                result.alerts.append(_contract(decision.kind, decision.alert_id, now, engine))

    for post in read_stream(lines, name, result.errors):
        result.posts += 1
        if result.first is None:
            result.first = post.created_at
        result.last = post.created_at
        if next_tick is None:
            next_tick = _floor_minute(post.created_at) + TICK
        # A long quiet gap needs no tick per empty minute: jump to the post's minute.
        if post.created_at - next_tick > config.detection.window + config.detection.baseline:
            next_tick = _floor_minute(post.created_at)
        while post.created_at >= next_tick:
            tick(next_tick)
            next_tick += TICK
        engine.ingest([post])
    if next_tick is not None:
        tick(next_tick)
    store.close()
    return result
