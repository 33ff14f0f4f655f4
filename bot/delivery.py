"""Getting alerts to Slack: one delivery round of the outbox, paced per channel, then replies.

What it does: `deliver_outbox` sends what the outbox holds (new alerts, edits of sent ones),
oldest first per channel, through a Notifier, marks each row sent with its Slack ts at once, then
posts the due thread replies (a topic reaching a new stage, a snooze reminder) under their
alerts' messages. A `ChannelPacer`, kept for the life of the process, holds each channel under
Slack's rate (`slack.messages_per_second`) and for Slack's Retry-After while the other channels
go on. A failure leaves the row queued, so an outage delays alerts but never loses one, and a
sent row is never sent again. A post is recorded as started before it is made; when its outcome
never arrives (the process died, the answer timed out or was a 5xx), the next attempt first asks
the notifier whether the first one reached Slack after all (`FindsPosted`: Slack message
metadata), so a crash or a lost answer never doubles a message.

What it does not do: decide what to send (bot/alerts.py `AlertPolicy`), render messages
(bot/slack/blocks.py through the notifier), or schedule rounds (the Engine's tick does).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.alerts import PostLookup, alert_from_row, alert_state
from bot.notify.base import FindsPosted, Notifier, NotifierError, make_ref, split_ref
from bot.store import AlertRow, ReplyRow, Store
from detectors.records import Post

log = logging.getLogger(__name__)


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
    only: frozenset[str] | None = None,
    may_send: Callable[[], bool] | None = None,
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
    a sent row never enters the outbox again; a failure never drops a row. Before each post (an
    alert or a thread reply) the store records that it started (`Store.begin_send`), and the
    record goes with the "sent" mark in one transaction. A record still there on a later round
    means an earlier attempt's outcome is unknown — the process died between Slack accepting the
    message and the store saving it, or the answer was lost (a timeout, a 5xx) — so, with a
    notifier that can look (`FindsPosted`), the channel is searched from that attempt's time
    (minus `LOOKUP_MARGIN`) first: found, the row is marked sent with that message, not posted
    again. An answer that says Slack refused the post (a rate limit, a channel problem, a bad
    message) clears the record. Notifiers that cannot look (the console) post again.

    `may_send` (the worker's "do I still lead?", bot/leader.py) is asked before each call to
    Slack: once it says no, the round stops with everything not sent still queued, so a worker
    that lost the lead mid-round leaves the rest to the new leader instead of racing it.
    """
    pacer = pacer or ChannelPacer.for_notifier(notifier)
    with pacer.delivering:
        tally = _Tally()
        blocked: set[str] = set()
        rows = store.outbox()
        if only is not None:
            # One row on request (`inhaker digest`): everything else is the worker's to send,
            # so a one-off command next to a running worker never posts an alert twice.
            rows = [row for row in rows if row.id in only]
        for row in rows:
            if row.slack_channel:
                pacer.same_channel(row.channel, row.slack_channel)
        jobs = [
            _alert_job(row, order, store, notifier, lookup, source_labels, now, pacer, tally)
            for order, row in enumerate(rows)
        ]
        # Replies come after the alerts: a reply needs its alert's message to thread under.
        if _run_jobs(jobs, pacer, tally, blocked, may_send) and only is None:
            _run_jobs(_reply_jobs(store, notifier, now, tally), pacer, tally, blocked, may_send)
        return tally.report()


# -- delivery internals: per-channel pacing, thread replies --------------------------------------

# When a 429 does not say how long to wait, hold the channel this long (seconds).
DEFAULT_RETRY_AFTER = 30.0
# A channel is held at least this long after a 429, even when Slack says "Retry-After: 0".
MIN_HOLD = 1.0
# Alert states whose queued replies can never be threaded under a message, so are dropped.
_NO_THREAD_STATUSES = frozenset({"failed", "held", "digested"})
# A look-up for an earlier attempt starts this long before it: our clock and Slack's may differ.
LOOKUP_MARGIN = timedelta(minutes=10)


def _wall_clock() -> datetime:
    # Slack's ts are wall-clock times, so attempts are recorded in wall-clock time too (a round's
    # `now` may be a replayed or a test's fixed time).
    return datetime.now(UTC)


def _alert_key(alert_id: str) -> str:
    return f"alert:{alert_id}"


def _reply_key(reply_id: str) -> str:
    return f"reply:{reply_id}"


def _refused(exc: NotifierError) -> bool:
    """Slack answered and did not post (a rate limit, a channel problem, a bad message); any
    other failure (no answer, a timeout, a 5xx) may come after the message was posted."""
    return exc.permanent or exc.rate_limited or exc.channel_only


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


def _run_jobs(
    jobs: Sequence[_Job],
    pacer: ChannelPacer,
    tally: _Tally,
    blocked: set[str],
    may_send: Callable[[], bool] | None = None,
) -> bool:
    """Run jobs oldest first within each channel, channels taking turns at their pace.

    The next job is the one whose channel's turn comes first (the oldest among channels ready
    now), so a long queue for one channel never makes another wait. Returns False when an
    outage stopped the round, or `may_send` said no (every job not run stays queued for the next
    round).
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
        if may_send is not None and not may_send():
            tally.error = "this worker no longer leads: the rest is left to the new leader"
            stopped = True
            break
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
    finder = notifier if isinstance(notifier, FindsPosted) else None
    key = _alert_key(row.id)
    posting = _Posting()

    def send() -> None:
        alert = alert_from_row(row, lookup, source_labels)
        posting.now = False
        if finder is not None:
            started = store.send_started_at(key)
            if started is not None:
                # An earlier attempt's outcome is unknown: it may be in the channel already.
                found = finder.find_sent(alert, started - LOOKUP_MARGIN)
                if found is not None:
                    store.record_sent(row.id, ref=found, now=now, key=key)
                    tally.sent += 1
                    _learn_channel(pacer, row.channel, found)
                    log.info(
                        "alert %s was already in Slack (an earlier attempt's answer was lost): "
                        "recorded as sent, not posted again",
                        row.id,
                        extra={"alert_id": row.id, "ref": found},
                    )
                    return
            store.begin_send(key, _wall_clock())  # committed before Slack is called
        posting.now = True
        ref = notifier.send(alert)
        # At once, with the attempt record in the same transaction.
        store.record_sent(row.id, ref=ref, now=now, key=key)
        tally.sent += 1
        _learn_channel(pacer, row.channel, ref)
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
        if is_new and finder is not None and posting.now:
            store.end_send(key)
        log.error("alert %s is undeliverable: %s", row.id, exc)

    def retry_later(exc: NotifierError) -> None:
        # The row stays queued: a later round tries again, in the same order. The attempt
        # record stays too unless Slack's answer to the post says it did not post (then there
        # is nothing to find); a failed look-up says nothing about an earlier attempt.
        store.mark_failed_attempt(row.id, str(exc))
        if is_new and finder is not None and posting.now and _refused(exc):
            store.end_send(key)
        log.warning("alert %s not delivered, will retry: %s", row.id, exc)

    channel = row.channel if is_new else (row.slack_channel or row.channel)
    return _Job(channel, order, send if is_new else edit, give_up, retry_later)


@dataclass(slots=True)
class _Posting:
    """Whether a job's failure came from the post itself (not from the look-up before it)."""

    now: bool = False


def _learn_channel(pacer: ChannelPacer, channel: str, ref: str | None) -> None:
    channel_id = split_ref(ref)[0] if ref else None
    if channel_id:
        pacer.same_channel(channel, channel_id)


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
    finder = notifier if isinstance(notifier, FindsPosted) else None
    key = _reply_key(reply.id)
    posting = _Posting()

    def attempt() -> None:
        alert = alert_from_row(row, _no_posts, {})
        reply_ref: str | None
        posting.now = False
        if finder is None:
            reply_ref = notifier.reply(alert, ref, reply.text, mention=reply.user_id)
            ts = split_ref(reply_ref)[1] if reply_ref else None
            store.mark_reply(reply.id, "sent", now=now, ts=ts)
        else:
            # As for alerts (see deliver_outbox): look before posting again after an attempt
            # whose outcome is unknown; record the start before posting.
            started = store.send_started_at(key)
            reply_ref = (
                finder.find_reply(alert, ref, reply.id, started - LOOKUP_MARGIN)
                if started is not None
                else None
            )
            if reply_ref is not None:
                log.info(
                    "reply %s was already in Slack: recorded as sent, not posted again", reply.id
                )
            else:
                store.begin_send(key, _wall_clock())
                posting.now = True
                reply_ref = finder.reply(
                    alert, ref, reply.text, mention=reply.user_id, reply_id=reply.id
                )
            ts = split_ref(reply_ref)[1] if reply_ref else None
            store.record_reply_sent(reply.id, ts=ts, now=now, key=key)
        tally.replies_sent += 1
        log.info("reply sent", extra={"alert_id": row.id, "reply_id": reply.id})

    def give_up(exc: NotifierError) -> None:
        store.mark_reply(reply.id, "failed", error=str(exc))
        if finder is not None and posting.now:
            store.end_send(key)
        log.error("reply %s is undeliverable: %s", reply.id, exc)

    def retry_later(exc: NotifierError) -> None:
        store.reply_attempt_failed(reply.id, str(exc))
        if finder is not None and posting.now and _refused(exc):
            store.end_send(key)
        log.warning("reply %s not delivered, will retry: %s", reply.id, exc)

    return _Job(row.slack_channel or row.channel, order, attempt, give_up, retry_later)
