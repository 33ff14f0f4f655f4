"""Alert policy and the outbox: which findings become messages, and getting them delivered.

What it does:
- `AlertPolicy` turns findings into outbox rows. A trend alerts once per topic: while any of its
  terms belongs to a topic that fired within the cooldown, it is the same story, and a much
  bigger version (twice the posts) only queues an edit of the first message. An opportunity
  alerts once per post, only when the post is fresh (`opportunities.max_age`) and scores above
  `opportunities.min_score`. At most `alerts.max_per_tick` new trend alerts per tick, strongest
  first, so a noisy hour cannot flood the channel (the rest are considered again next tick).
- `deliver_outbox` sends what is pending, oldest first per channel, through a Notifier, marks
  each row sent with its Slack ts, then posts the due thread replies (a topic reaching a new
  stage) under their alerts' messages. A `ChannelPacer` keeps each channel under Slack's rate
  (`slack.messages_per_second`) and holds a channel for Slack's Retry-After while the others go
  on. A failure leaves the row queued, so an outage delays alerts but never loses one, and a
  sent row is never sent again (see deliver_outbox for the one duplicate window left).

What it does not do: detect anything, render messages (bot/slack/blocks.py and the notifiers do),
or decide channels, who is mentioned and what waits in quiet hours (bot/routing.py does; the
policy asks it for each new alert).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.config import Config
from bot.notify.base import (
    Alert,
    AlertState,
    EvidencePost,
    Handoff,
    Notifier,
    NotifierError,
    make_ref,
    split_ref,
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
from bot.store import ActiveTopic, AlertRow, ReplyRow, Store
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
        return Decision(alert_id, "listed", False, listed=signal) if added else None


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


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """What one delivery round (one `deliver_outbox` call) did."""

    sent: int = 0  # new messages posted
    updated: int = 0  # messages edited in place
    failed: int = 0  # attempts that failed and stay queued for a later round
    error: str | None = None  # the last failure (an outage stops the round; others do not)
    replies_sent: int = 0  # thread replies posted
    undeliverable: int = 0  # alerts or replies Slack rejected for good (kept with their error)
    held_channels: tuple[str, ...] = ()  # channels left waiting (a rate limit, a channel problem)


def deliver_outbox(
    store: Store,
    notifier: Notifier,
    lookup: PostLookup,
    source_labels: dict[str, str],
    now: datetime,
    *,
    pacer: ChannelPacer | None = None,
) -> DeliveryReport:
    """Send pending alerts and queued edits, then due thread replies, each channel at its pace.

    Order: oldest first within each channel; channels take turns, so a burst for one channel
    does not hold up another. Each call is paced by `pacer` (pass the one kept for the process,
    so pacing and Retry-After holds carry over between rounds; without one, a pacer for this
    call only). Failures:
    - Slack rejects one message for good (`permanent`): it is marked failed with its error and
      the round goes on.
    - A rate limit: that channel is held until Slack's Retry-After has passed (remembered in the
      pacer across rounds); its later messages wait, in order. Other channels go on.
    - A channel problem (the app is not in it, it does not exist): that channel waits for the
      next round; other channels go on.
    - An outage (a 5xx answer, no connection): the round stops; everything stays queued.

    Exactly once: a row is marked sent right after Slack accepted it, before the next call, and
    a sent row never enters the outbox again; a failure never drops a row. The one gap: if the
    process dies (or the store cannot be written) after Slack accepted a message and before
    `mark_sent` commits, the next round posts it again — a duplicate, never a loss. Closing that
    window is the hardening issue's work (issue 7), not this function's.
    """
    pacer = pacer or ChannelPacer.for_notifier(notifier)
    with pacer.delivering:
        tally = _Tally()
        blocked: set[str] = set()
        rows = store.outbox()
        for row in rows:
            if row.slack_channel:
                pacer.same_channel(row.channel, row.slack_channel)
        jobs = [
            _alert_job(row, order, store, notifier, lookup, source_labels, now, pacer, tally)
            for order, row in enumerate(rows)
        ]
        # Replies come after the alerts: a reply needs its alert's message to thread under.
        if _run_jobs(jobs, pacer, tally, blocked):
            _run_jobs(_reply_jobs(store, notifier, now, tally), pacer, tally, blocked)
        return tally.report()


# -- delivery internals: per-channel pacing, thread replies --------------------------------------

# When a 429 does not say how long to wait, hold the channel this long (seconds).
DEFAULT_RETRY_AFTER = 30.0
# A channel is held at least this long after a 429, even when Slack says "Retry-After: 0".
MIN_HOLD = 1.0
# Alert states whose queued replies can never be threaded under a message, so are dropped.
_NO_THREAD_STATUSES = frozenset({"failed", "held", "digested"})


class ChannelPacer:
    """Keeps each Slack channel under its message rate, and remembers Retry-After per channel.

    What it does: a token bucket per channel — `burst` calls at once, then `per_second` calls a
    second — that `take` waits on (with `sleep`) before each call to Slack, and a "not before"
    time per channel that `hold` sets when Slack answers 429 with Retry-After. The Engine keeps
    one for the life of the process, so a hold outlasts the round that was told to wait. A
    channel known by name ("#inhaker") and by id ("C0123") is one channel once `same_channel`
    has linked them. `delivering` is held for a whole delivery round, so two threads (a tick and
    a digest job) never send the same pending row twice.

    What it does not do: call Slack, or remember anything across restarts (a restarted bot may
    be told 429 once more and then holds the channel again). `per_second=None` means no pacing
    (the console notifier); holds still apply.

    The default burst of 2 stays one message under the burst Slack tolerates (undocumented, a
    few messages), so jitter between our clock and Slack's never trips its limit.
    """

    def __init__(
        self,
        per_second: float | None = 1.0,
        *,
        burst: int = 2,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_second is not None and not per_second > 0:
            raise ValueError(
                f"ChannelPacer: per_second must be above 0 (got {per_second!r}) — "
                "use None for no pacing"
            )
        if burst < 1:
            raise ValueError(f"ChannelPacer: burst must be at least 1 (got {burst!r})")
        self.per_second = per_second
        self.burst = burst
        self.clock = clock
        self.sleep = sleep
        self.delivering = threading.RLock()
        self._buckets: dict[str, tuple[float, float]] = {}  # channel -> (tokens, measured at)
        self._not_before: dict[str, float] = {}  # channel -> clock time a hold ends
        self._aliases: dict[str, str] = {}  # channel name -> channel id

    @classmethod
    def for_notifier(
        cls,
        notifier: object,
        per_second: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> ChannelPacer:
        """Paced when the notifier posts where rates are limited per channel (it says so with
        `paced_per_channel = True`, as SlackNotifier does); not paced for the console or replay."""
        paced = bool(getattr(notifier, "paced_per_channel", False))
        return cls(per_second if paced else None, clock=clock, sleep=sleep)

    def key(self, channel: str) -> str:
        """The name the pacer knows a channel by (its id once linked)."""
        return self._aliases.get(channel, channel)

    def same_channel(self, name: str, channel_id: str) -> None:
        """`name` and `channel_id` are one channel: they share one bucket and one hold."""
        if not name or not channel_id or name == channel_id or self.key(name) == channel_id:
            return
        now = self.clock()
        if name in self._buckets:
            # Keep whichever bucket has fewer calls left: never more than the channel allows.
            moved = self._tokens(name, now)
            self._buckets.pop(name)
            if channel_id not in self._buckets or moved < self._tokens(channel_id, now):
                self._buckets[channel_id] = (moved, now)
        if name in self._not_before:
            until = self._not_before.pop(name)
            self._not_before[channel_id] = max(until, self._not_before.get(channel_id, until))
        self._aliases[name] = channel_id

    def hold(self, channel: str, seconds: float) -> None:
        """No call to `channel` for `seconds` (Slack's Retry-After)."""
        key = self.key(channel)
        until = self.clock() + seconds
        self._not_before[key] = max(until, self._not_before.get(key, until))

    def held_for(self, channel: str) -> float:
        """Seconds left of a hold on `channel` (0 when it may be called)."""
        until = self._not_before.get(self.key(channel))
        return 0.0 if until is None else max(0.0, until - self.clock())

    def wait_for(self, channel: str) -> float:
        """Seconds until `channel` may take another call at its pace (0: now)."""
        if self.per_second is None:
            return 0.0
        tokens = self._tokens(self.key(channel), self.clock())
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.per_second

    def take(self, channel: str) -> None:
        """Wait for the channel's turn, then count one call to it."""
        if self.per_second is None:
            return
        key = self.key(channel)
        wait = self.wait_for(key)
        if wait > 0:
            self.sleep(wait)
        now = self.clock()
        self._buckets[key] = (self._tokens(key, now) - 1.0, now)

    def _tokens(self, key: str, now: float) -> float:
        if key not in self._buckets or self.per_second is None:
            return float(self.burst)
        tokens, at = self._buckets[key]
        return min(float(self.burst), tokens + max(0.0, now - at) * self.per_second)


def deliver_replies(
    store: Store, notifier: Notifier, now: datetime, pacer: ChannelPacer | None = None
) -> DeliveryReport:
    """Send the thread replies due at `now` (deliver_outbox does this after the alerts).

    A reply waits while its alert is still pending, goes out under the alert's message once it
    is sent, and is cancelled when its alert can have no message (failed, held for the digest,
    digested, or gone). Failures follow deliver_outbox's rules.
    """
    pacer = pacer or ChannelPacer.for_notifier(notifier)
    with pacer.delivering:
        tally = _Tally()
        _run_jobs(_reply_jobs(store, notifier, now, tally), pacer, tally, set())
        return tally.report()


@dataclass(slots=True)
class _Tally:
    sent: int = 0
    updated: int = 0
    failed: int = 0
    replies_sent: int = 0
    undeliverable: int = 0
    error: str | None = None
    waiting: dict[str, None] = field(default_factory=dict)  # channels left with work, in order

    def report(self) -> DeliveryReport:
        return DeliveryReport(
            sent=self.sent,
            updated=self.updated,
            failed=self.failed,
            error=self.error,
            replies_sent=self.replies_sent,
            undeliverable=self.undeliverable,
            held_channels=tuple(self.waiting),
        )


@dataclass(frozen=True, slots=True)
class _Job:
    """One call to Slack for the outbox: what to do, and what to record when it fails."""

    channel: str
    order: int  # place in the outbox (oldest first)
    attempt: Callable[[], None]  # raises NotifierError
    give_up: Callable[[NotifierError], None]  # Slack rejected it for good
    retry_later: Callable[[NotifierError], None]  # a failure that may clear


def _run_jobs(jobs: Sequence[_Job], pacer: ChannelPacer, tally: _Tally, blocked: set[str]) -> bool:
    """Run jobs oldest first within each channel, channels taking turns at their pace.

    The next job is the one whose channel's turn comes first (the oldest among channels ready
    now), so a long queue for one channel never makes another wait. Returns False when an
    outage stopped the round (every job not run stays queued for the next round).
    """
    queues: dict[str, deque[_Job]] = {}
    for job in jobs:
        queues.setdefault(job.channel, deque()).append(job)
    stopped = False
    while not stopped:
        ready = [
            channel
            for channel, queue in queues.items()
            if queue and pacer.key(channel) not in blocked and pacer.held_for(channel) <= 0
        ]
        if not ready:
            break
        channel = min(ready, key=lambda c: (pacer.wait_for(c), queues[c][0].order))
        job = queues[channel].popleft()
        pacer.take(channel)
        try:
            job.attempt()
        except NotifierError as exc:
            if exc.permanent:
                tally.undeliverable += 1
                job.give_up(exc)
                continue
            tally.failed += 1
            tally.error = str(exc)
            job.retry_later(exc)
            if exc.rate_limited:
                wait = DEFAULT_RETRY_AFTER if exc.retry_after is None else exc.retry_after
                pacer.hold(channel, max(MIN_HOLD, wait))
            elif exc.channel_only:
                blocked.add(pacer.key(channel))
            else:
                stopped = True
    for channel, queue in queues.items():
        if queue and not stopped:
            tally.waiting.setdefault(pacer.key(channel), None)
    return not stopped


def _ref_of(row: AlertRow) -> str | None:
    """Where the alert's message is (make_ref format), or None when it has none."""
    if not row.slack_ts:
        return None
    return make_ref(row.slack_channel, row.slack_ts) if row.slack_channel else row.slack_ts


def _alert_job(
    row: AlertRow,
    order: int,
    store: Store,
    notifier: Notifier,
    lookup: PostLookup,
    source_labels: dict[str, str],
    now: datetime,
    pacer: ChannelPacer,
    tally: _Tally,
) -> _Job:
    is_new = row.status == "pending"

    def send() -> None:
        ref = notifier.send(alert_from_row(row, lookup, source_labels))
        store.mark_sent(row.id, ref=ref, now=now)  # at once: the duplicate window stays tiny
        tally.sent += 1
        channel_id = split_ref(ref)[0] if ref else None
        if channel_id:
            pacer.same_channel(row.channel, channel_id)
        log.info("alert sent", extra={"alert_id": row.id, "ref": ref})

    def edit() -> None:
        # What the team did with it (claimed, votes, snoozed) stays on the edited message.
        state = alert_state(store.feedback_for(row.id), now)
        alert = alert_from_row(row, lookup, source_labels, is_update=True, state=state)
        ref = _ref_of(row)
        if ref is not None:
            notifier.update(alert, ref)
        store.mark_updated(row.id)
        tally.updated += 1

    def give_up(exc: NotifierError) -> None:
        # This message can never be delivered as it is; the rest still can.
        store.mark_undeliverable(row.id, str(exc), was_update=not is_new)
        log.error("alert %s is undeliverable: %s", row.id, exc)

    def retry_later(exc: NotifierError) -> None:
        # The row stays queued: a later round tries again, in the same order.
        store.mark_failed_attempt(row.id, str(exc))
        log.warning("alert %s not delivered, will retry: %s", row.id, exc)

    channel = row.channel if is_new else (row.slack_channel or row.channel)
    return _Job(channel, order, send if is_new else edit, give_up, retry_later)


def _no_posts(ids: Sequence[str]) -> list[Post]:
    return []  # a thread reply shows no evidence posts


def _reply_jobs(store: Store, notifier: Notifier, now: datetime, tally: _Tally) -> list[_Job]:
    """Jobs for the replies due now whose alert is sent; cancels those that can never go out."""
    jobs: list[_Job] = []
    for order, reply in enumerate(store.due_replies(now)):
        row = store.alert(reply.alert_id)
        if row is None or row.status in _NO_THREAD_STATUSES:
            store.mark_reply(reply.id, "cancelled")
            log.info("reply %s cancelled: its alert has no message to thread under", reply.id)
            continue
        if row.status != "sent":
            continue  # its alert is still on its way: the reply follows it
        ref = _ref_of(row)
        if ref is None:
            store.mark_reply(reply.id, "failed", error="its alert's message has no Slack ts")
            continue
        jobs.append(_reply_job(reply, row, ref, order, store, notifier, now, tally))
    return jobs


def _reply_job(
    reply: ReplyRow,
    row: AlertRow,
    ref: str,
    order: int,
    store: Store,
    notifier: Notifier,
    now: datetime,
    tally: _Tally,
) -> _Job:
    def attempt() -> None:
        alert = alert_from_row(row, _no_posts, {})
        reply_ref = notifier.reply(alert, ref, reply.text, mention=reply.user_id)
        ts = split_ref(reply_ref)[1] if reply_ref else None
        store.mark_reply(reply.id, "sent", now=now, ts=ts)
        tally.replies_sent += 1
        log.info("reply sent", extra={"alert_id": row.id, "reply_id": reply.id})

    def give_up(exc: NotifierError) -> None:
        store.mark_reply(reply.id, "failed", error=str(exc))
        log.error("reply %s is undeliverable: %s", reply.id, exc)

    def retry_later(exc: NotifierError) -> None:
        store.reply_attempt_failed(reply.id, str(exc))
        log.warning("reply %s not delivered, will retry: %s", reply.id, exc)

    return _Job(row.slack_channel or row.channel, order, attempt, give_up, retry_later)


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
