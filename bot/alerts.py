"""Alert policy and the outbox: which findings become messages, and getting them delivered.

What it does:
- `AlertPolicy` turns findings into outbox rows. A trend alerts once per topic: while any of its
  terms belongs to a topic that fired within the cooldown, it is the same story, and a much
  bigger version (twice the posts) only queues an edit of the first message. An opportunity
  alerts once per post, only when the post is fresh (`opportunities.max_age`) and scores above
  `opportunities.min_score`. At most `alerts.max_per_tick` new trend alerts per tick, strongest
  first, so a noisy hour cannot flood the channel (the rest are considered again next tick).
- `alert_from_row` rebuilds the message to send from an outbox row (after a restart too), and
  `alert_state` folds an alert's clicks into what everyone sees on it (claimed, votes, snooze).
- A topic reaching a new stage queues one thread reply (`stage_reply_text`).

What it does not do: deliver (bot/delivery.py), detect anything, render messages
(bot/slack/blocks.py and the notifiers do),
or decide channels, who is mentioned and what waits in quiet hours (bot/routing.py does; the
policy asks it for each new alert).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.config import Config
from bot.notify.base import (
    Alert,
    AlertState,
    EvidencePost,
    Handoff,
)
from bot.routing import hold_trend, place_call, place_listed, place_trend
from bot.serialize import (
    external_trend_from_dict,
    external_trend_to_dict,
    opportunity_from_dict,
    opportunity_to_dict,
    trend_from_dict,
    trend_to_dict,
)
from bot.slack.blocks import escape_mrkdwn
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
    held: bool = False  # waits for the digest (quiet hours) instead of going out now


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
        held = (
            {row.id for row in self.store.alerts_with_status("held", kind="trend")}
            if self.config.slack.quiet_hours is not None
            else set()
        )
        for trend in sorted(trends, key=lambda t: -(t.score * t.taste)):
            same = next((topic for topic in active if topic.key == trend.key), None) or next(
                (topic for topic in active if set(topic.terms) & set(trend.terms)), None
            )
            if same is not None:
                if same.id in held and not hold_trend(self.config, trend.score, now):
                    # Held in the night, still firing now that it may go out (quiet hours are
                    # over, or it rises very fast): the story is news now, not for the digest.
                    self.store.set_alert_status([same.id], "pending", only_from="held")
                decision = self._same_story(same, trend, now)
                if decision is not None:
                    decisions.append(decision)
                continue
            if new_alerts >= self.config.alerts.max_per_tick:
                continue
            alert_id = f"{trend.key}:{_minute_stamp(now)}"
            placed = place_trend(self.config, trend, now)
            if self.store.add_alert(
                alert_id=alert_id,
                kind="trend",
                key=trend.key,
                title=trend.title,
                terms=trend.terms,
                payload={
                    "trend": trend_to_dict(trend),
                    "handoff": handoff_to_dict(placed.handoff) if placed.handoff else None,
                },
                channel=placed.channel,
                now=now,
                count=trend.count,
                score=trend.score,
                status=placed.status,
            ):
                new_alerts += 1
                decisions.append(Decision(alert_id, "trend", False, trend=trend, held=placed.held))
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
        row = self.store.alert(topic.id) if changed else None
        payload: dict[str, Any] | None = None
        if changed:
            # Keep the rest of the payload (who it is for, ...); remember the first count, so a
            # stage reply can say how far the topic has come since the team first heard of it.
            before = row.payload if row is not None else {}
            first_count = before.get("first_count") or (before.get("trend") or {}).get("count")
            payload = {
                **before,
                "trend": trend_to_dict(trend),
                "first_count": int(first_count or topic.last_count),
            }
        self.store.refresh_alert(
            topic.id,
            now=now,
            payload=payload,
            count=trend.count if changed else None,
            score=trend.score if changed else None,
            terms=topic.terms,
        )
        if payload is None:
            return None
        if moved and row is not None and row.status == "sent":
            # A thread reply notifies the channel; the edit alone would go unnoticed. An alert
            # not sent yet will show the new stage itself, so it gets no reply.
            self.store.add_reply(
                f"{topic.id}:stage:{trend.stage}",
                alert_id=topic.id,
                kind="stage",
                text=stage_reply_text(trend, payload["first_count"], self.config.detection.window),
                due_at=now,
                now=now,
            )
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
        placed = place_call(self.config, opportunity, now)
        added = self.store.add_alert(
            alert_id=opportunity.key,
            kind="opportunity",
            key=opportunity.key,
            title=opportunity.title or opportunity.text[:120],
            terms=(),
            payload={
                "opportunity": opportunity_to_dict(opportunity),
                "handoff": handoff_to_dict(placed.handoff) if placed.handoff else None,
            },
            channel=placed.channel,
            now=now + timedelta(microseconds=1 + place),
            score=opportunity.score,
            status=placed.status,
        )
        if not added:
            return None
        return Decision(
            opportunity.key, "opportunity", False, opportunity=opportunity, held=placed.held
        )

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
        placed = place_listed(self.config, signal, watched, now)
        added = self.store.add_alert(
            alert_id=alert_id,
            kind="listed",
            key=key,
            title=signal.title,
            terms=(signal.term,),
            payload={
                "listed": external_trend_to_dict(signal),
                "watched": watched,
                "handoff": handoff_to_dict(placed.handoff) if placed.handoff else None,
            },
            channel=placed.channel,
            now=now,
            score=signal.traffic or 0.0,
            status=placed.status,
        )
        if not added:
            return None
        return Decision(alert_id, "listed", False, listed=signal, held=placed.held)


PostLookup = Callable[[Sequence[str]], list[Post]]


def alert_from_row(
    row: AlertRow,
    lookup: PostLookup,
    source_labels: dict[str, str],
    *,
    is_update: bool = False,
    state: AlertState | None = None,
) -> Alert:
    """Rebuild the message to send from an outbox row (after a restart too)."""
    payload: dict[str, Any] = row.payload
    trend = trend_from_dict(payload["trend"]) if "trend" in payload else None
    opportunity = (
        opportunity_from_dict(payload["opportunity"]) if "opportunity" in payload else None
    )
    listed = external_trend_from_dict(payload["listed"]) if "listed" in payload else None
    handoff = handoff_from_dict(payload["handoff"]) if payload.get("handoff") else None
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
        state=state or AlertState(),
        handoff=handoff,
        digest=payload.get("digest"),
    )


def handoff_to_dict(handoff: Handoff) -> dict[str, Any]:
    return {
        "people": [list(p) for p in handoff.people],
        "platforms": list(handoff.platforms),
        "reason": handoff.reason,
    }


def handoff_from_dict(data: dict[str, Any]) -> Handoff:
    return Handoff(
        people=tuple((str(p[0]), str(p[1])) for p in data.get("people") or []),
        platforms=tuple(str(p) for p in data.get("platforms") or []),
        reason=str(data.get("reason") or ""),
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


SNOOZE_FOR = timedelta(hours=3)  # the "Snooze 3h" button (bot/slack/blocks.py SNOOZE_HOURS)
POSITIVE_VOTE = "useful"
NEGATIVE_VOTES = frozenset({"not_relevant", "dismiss"})  # "dismiss": the pre-v0.6 button


def alert_state(clicks: Sequence[tuple[str, str, datetime]], now: datetime) -> AlertState:
    """What the team did with an alert, from its clicks (user, action, at), oldest first.

    One vote per person: their latest "useful" or "not relevant" counts. A claim holds until the
    claimer lets it go; only the claimer can mark it done. A snooze lasts SNOOZE_FOR.
    """
    claimed_by: str | None = None
    done_by: str | None = None
    muted_by: str | None = None
    snoozed_by: str | None = None
    snoozed_until: datetime | None = None
    votes: dict[str, str] = {}
    for user, action, at in clicks:
        if action == "claim" and claimed_by is None:
            claimed_by = user
        elif action == "release" and user == claimed_by and done_by is None:
            claimed_by = None
        elif action == "done" and user == claimed_by:
            done_by = user
        elif action == POSITIVE_VOTE:
            votes[user] = POSITIVE_VOTE
        elif action in NEGATIVE_VOTES:
            votes[user] = "not_relevant"
        elif action == "snooze":
            snoozed_by, snoozed_until = user, at + SNOOZE_FOR
        elif action == "mute":
            muted_by = user
    if snoozed_until is not None and snoozed_until <= now:
        snoozed_by = snoozed_until = None
    return AlertState(
        claimed_by=claimed_by,
        done_by=done_by,
        useful=tuple(u for u, v in votes.items() if v == POSITIVE_VOTE),
        not_relevant=tuple(u for u, v in votes.items() if v == "not_relevant"),
        snoozed_until=snoozed_until,
        snoozed_by=snoozed_by,
        muted_by=muted_by,
    )


# What a thread reply says when a topic reaches a later stage: (emoji, what it means for the team).
_STAGE_NEWS = {
    "emerging": ("🌱", "first movers have the floor"),
    "rising": ("📈", "still growing; the window to hook in is open"),
    "peaking": ("🔝", "at its height; hook in now or let it go"),
    "fading": ("📉", "past its peak; the window is closing"),
}


def stage_reply_text(trend: Trend, first_count: int, window: timedelta) -> str:
    """The thread reply for a topic that reached `trend.stage`, e.g. "📈 Now *rising*: 240 posts
    in the last hour (was 35 when first alerted), 4 sources — …". Holds no user text."""
    emoji, meaning = _STAGE_NEWS.get(trend.stage, ("📈", ""))
    minutes = max(1, round(window.total_seconds() / 60))
    span = "hour" if minutes == 60 else f"{minutes} min"
    sources = len(trend.sources)
    text = (
        f"{emoji} Now *{escape_mrkdwn(trend.stage)}*: {trend.count} posts in the last {span} "
        f"(was {first_count} when first alerted), {sources} source{'' if sources == 1 else 's'}"
    )
    return f"{text} — {meaning}." if meaning else text
