"""Alert policy and the outbox: which findings become messages, and getting them delivered.

What it does:
- `AlertPolicy` turns findings into outbox rows. A trend alerts once per topic: while any of its
  terms belongs to a topic that fired within the cooldown, it is the same story, and a much
  bigger version (twice the posts) only queues an edit of the first message. An opportunity
  alerts once per post, only when the post is fresh (`opportunities.max_age`) and scores above
  `opportunities.min_score`. At most `alerts.max_per_tick` new trend alerts per tick, strongest
  first, so a noisy hour cannot flood the channel (the rest are considered again next tick).
- `deliver_outbox` sends what is pending, oldest first, through a Notifier, and marks each row
  sent with its Slack ts. A failure leaves the row pending for the next tick, so an outage delays
  alerts but never loses or doubles one (the row id is unique; a sent row is never sent again).

What it does not do: detect anything, render messages (bot/slack/blocks.py and the notifiers do),
or route to several channels (one channel from feeds.yaml for now).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.config import Config
from bot.notify.base import Alert, EvidencePost, Notifier, NotifierError, make_ref
from bot.serialize import (
    external_trend_from_dict,
    external_trend_to_dict,
    opportunity_from_dict,
    opportunity_to_dict,
    trend_from_dict,
    trend_to_dict,
)
from bot.store import ActiveTopic, AlertRow, Store
from detectors.records import ExternalTrend, Opportunity, Post, Trend

log = logging.getLogger(__name__)

# A trend that has at least doubled since its message was written gets the message edited.
GROWTH_FOR_UPDATE = 2.0
# How often a still-firing topic's "last fired" time is written (it only feeds the cooldown).
REFRESH_EVERY = timedelta(minutes=5)
TOP_POSTS = 5
STAGE_ORDER = {"emerging": 0, "rising": 1, "peaking": 2, "fading": 3}


@dataclass(frozen=True, slots=True)
class Decision:
    """One change the policy made to the outbox."""

    alert_id: str
    kind: str  # "trend" | "opportunity"
    is_update: bool
    trend: Trend | None = None
    opportunity: Opportunity | None = None
    listed: ExternalTrend | None = None


def _minute_stamp(now: datetime) -> str:
    return now.strftime("%Y%m%dT%H%MZ")


class AlertPolicy:
    """Decides, against the store's alert history, what to tell the team."""

    def __init__(self, config: Config, store: Store) -> None:
        self.config = config
        self.store = store

    def consider_trends(self, trends: Sequence[Trend], now: datetime) -> list[Decision]:
        active = self.store.active_topics(now - self.config.alerts.cooldown, "trend")
        decisions: list[Decision] = []
        new_alerts = 0
        for trend in sorted(trends, key=lambda t: -t.score):
            same = next((topic for topic in active if topic.key == trend.key), None) or next(
                (topic for topic in active if set(topic.terms) & set(trend.terms)), None
            )
            if same is not None:
                decision = self._same_story(same, trend, now)
                if decision is not None:
                    decisions.append(decision)
                continue
            if new_alerts >= self.config.alerts.max_per_tick:
                continue
            alert_id = f"{trend.key}:{_minute_stamp(now)}"
            if self.store.add_alert(
                alert_id=alert_id,
                kind="trend",
                key=trend.key,
                title=trend.title,
                terms=trend.terms,
                payload={"trend": trend_to_dict(trend)},
                channel=self.config.slack_channel,
                now=now,
                count=trend.count,
                score=trend.score,
            ):
                new_alerts += 1
                decisions.append(Decision(alert_id, "trend", False, trend=trend))
                # Later trends in this tick that share a term are the same story.
                active.append(ActiveTopic(alert_id, trend.terms, trend.count, now, trend.key))
        return decisions

    def _same_story(self, topic: ActiveTopic, trend: Trend, now: datetime) -> Decision | None:
        """An alerted topic fires again: keep it alive, and queue an edit of its message when
        it has grown or reached a later stage of its lifecycle (the team needs to know whether
        the window to hook in is still open)."""
        grew = trend.count >= GROWTH_FOR_UPDATE * max(1, topic.last_count)
        moved = self._moved_on(topic, trend)
        if not grew and not moved and now - topic.last_fired_at < REFRESH_EVERY:
            return None  # nothing new worth a write
        changed = grew or moved
        # Only the lead term joins the topic: context terms would snowball into unrelated stories.
        topic.terms = tuple(dict.fromkeys([*topic.terms, trend.terms[0]]))
        topic.last_fired_at = now
        self.store.refresh_alert(
            topic.id,
            now=now,
            payload={"trend": trend_to_dict(trend)} if changed else None,
            count=trend.count if changed else None,
            score=trend.score if changed else None,
            terms=topic.terms,
        )
        if not changed:
            return None
        topic.last_count = trend.count
        return Decision(topic.id, "trend", True, trend=trend)

    def _moved_on(self, topic: ActiveTopic, trend: Trend) -> bool:
        """Whether the trend's lifecycle stage is later than the one its message shows."""
        if trend.stage not in STAGE_ORDER:
            return False
        row = self.store.alert(topic.id)
        shown = (row.payload.get("trend") or {}).get("stage", "") if row is not None else ""
        return STAGE_ORDER[trend.stage] > STAGE_ORDER.get(shown, len(STAGE_ORDER))

    def consider_opportunity(
        self, opportunity: Opportunity, posted_at: datetime, now: datetime, *, place: int = 0
    ) -> Decision | None:
        """Queue an alert for an open call that is sure, fresh and new.

        `place` is the call's place in this tick's ranking (0 = best). The outbox sends oldest
        first, so each place adds a microsecond to the alert's time: the best-ranked call of a
        tick reaches Slack first, and calls still come after the tick's trends.
        """
        settings = self.config.opportunities
        if not settings.enabled or opportunity.score < settings.min_score:
            return None
        if now - posted_at > settings.max_age:
            return None
        added = self.store.add_alert(
            alert_id=opportunity.key,
            kind="opportunity",
            key=opportunity.key,
            title=opportunity.title or opportunity.text[:120],
            terms=(),
            payload={"opportunity": opportunity_to_dict(opportunity)},
            channel=self.config.slack_channel,
            now=now + timedelta(microseconds=1 + place),
            score=opportunity.score,
        )
        if not added:
            return None
        return Decision(opportunity.key, "opportunity", False, opportunity=opportunity)

    def consider_listed(
        self, signal: ExternalTrend, watched: str, now: datetime
    ) -> Decision | None:
        """A platform lists a trend that matches a watch term: tell the team, once per topic.

        Skipped while the same term is already an alerted topic of our own (that alert says it
        is corroborated) and for the cooldown after an earlier listed alert of the term.
        """
        since = now - self.config.alerts.cooldown
        for topic in self.store.active_topics(since, "trend"):
            if signal.term in topic.terms or watched in topic.terms:
                return None
        key = f"listed:{signal.term}"
        if any(
            t.terms and t.terms[0] == signal.term for t in self.store.active_topics(since, "listed")
        ):
            return None
        alert_id = f"{key}:{_minute_stamp(now)}"
        added = self.store.add_alert(
            alert_id=alert_id,
            kind="listed",
            key=key,
            title=signal.title,
            terms=(signal.term,),
            payload={"listed": external_trend_to_dict(signal), "watched": watched},
            channel=self.config.slack_channel,
            now=now,
            score=signal.traffic or 0.0,
        )
        return Decision(alert_id, "listed", False, listed=signal) if added else None


PostLookup = Callable[[Sequence[str]], list[Post]]


def alert_from_row(
    row: AlertRow,
    lookup: PostLookup,
    source_labels: dict[str, str],
    *,
    is_update: bool = False,
    handled_by: tuple[str, str] | None = None,
) -> Alert:
    """Rebuild the message to send from an outbox row (after a restart too)."""
    payload: dict[str, Any] = row.payload
    trend = trend_from_dict(payload["trend"]) if "trend" in payload else None
    opportunity = (
        opportunity_from_dict(payload["opportunity"]) if "opportunity" in payload else None
    )
    listed = external_trend_from_dict(payload["listed"]) if "listed" in payload else None
    # An open call carries its own post (text, link, author); only trends show evidence posts.
    ids: list[str] = []
    if trend is not None:
        # The topic's most typical post leads, then the newest evidence.
        ids = list(trend.evidence[: TOP_POSTS * 4])
        if trend.representative:
            ids = [trend.representative, *(i for i in ids if i != trend.representative)]
    found = lookup(ids) if ids else []
    top = tuple(
        EvidencePost(
            id=p.id,
            source=p.source,
            source_label=source_labels.get(p.source, p.source),
            text=p.text,
            created_at=p.created_at,
            author=p.author,
            url=p.url,
            title=p.title,
        )
        for p in _diverse(found)[:TOP_POSTS]
    )
    return Alert(
        id=row.id,
        kind=row.kind,
        channel=row.channel,
        created_at=row.created_at,
        trend=trend,
        opportunity=opportunity,
        listed=listed,
        watched=(payload["watched"],) if payload.get("watched") else (),
        top_posts=top,
        source_labels=source_labels,
        is_update=is_update,
        handled_by=handled_by,
    )


def _diverse(items: list[Post]) -> list[Post]:
    """Evidence to show: one post per author first, so the team sees breadth, then the rest."""
    seen: set[str] = set()
    first: list[Post] = []
    rest: list[Post] = []
    for post in items:
        who = f"{post.source}/{post.author}"
        (rest if who in seen else first).append(post)
        seen.add(who)
    return first + rest


def _handled_by(store: Store, row: AlertRow) -> tuple[str, str] | None:
    """The latest claim or dismissal of an alert, so an edit does not bring the buttons back."""
    handled = [(user, action) for user, action, _ in store.feedback_for(row.id)]
    handled = [(user, action) for user, action in handled if action in ("claim", "dismiss")]
    return handled[-1] if handled else None


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    sent: int = 0
    updated: int = 0
    failed: int = 0
    error: str | None = None


def deliver_outbox(
    store: Store,
    notifier: Notifier,
    lookup: PostLookup,
    source_labels: dict[str, str],
    now: datetime,
) -> DeliveryReport:
    """Send pending alerts and queued edits, oldest first; stop at the first failure."""
    sent = updated = 0
    for row in store.outbox():
        try:
            if row.status == "pending":
                ref = notifier.send(alert_from_row(row, lookup, source_labels))
                store.mark_sent(row.id, ref=ref, now=now)
                sent += 1
                log.info("alert sent", extra={"alert_id": row.id, "ref": ref})
            elif row.needs_update:
                alert = alert_from_row(
                    row, lookup, source_labels, is_update=True, handled_by=_handled_by(store, row)
                )
                if row.slack_ts:
                    ref = (
                        make_ref(row.slack_channel, row.slack_ts)
                        if row.slack_channel
                        else (row.slack_ts)
                    )
                    notifier.update(alert, ref)
                store.mark_updated(row.id)
                updated += 1
        except NotifierError as exc:
            if exc.permanent:
                # This message can never be delivered as it is; the rest still can.
                store.mark_undeliverable(row.id, str(exc), was_update=row.status != "pending")
                log.error("alert %s is undeliverable: %s", row.id, exc)
                continue
            # Keep the row pending: the next tick tries again, in the same order.
            store.mark_failed_attempt(row.id, str(exc))
            log.warning("alert delivery failed, will retry: %s", exc)
            return DeliveryReport(sent, updated, failed=1, error=str(exc))
    return DeliveryReport(sent, updated)
