"""What a click on an alert's button does: store the feedback, then show it to everyone.

What it does: `apply_click` checks the click makes sense (a claim on an alert someone else took,
or "Done" by anyone but the claimer, gets a short ephemeral explanation instead), stores it as
feedback, performs its side effect (a snooze queues a reminder in the alert's thread, "Mute topic"
mutes the topic's lead term for a week), and re-renders the alert from the store with its new
state, so every version of the message (this edit, and the worker's later edits of a growing
trend) shows who took it, who found it useful, and what is snoozed or muted. Clicks arriving at
the same moment on several web processes sharing one database converge: each edit is checked
against the clicks stored since, so the message ends up showing them all, and of two people
claiming at once the first stored claim counts and the other is told.

What it does not do: acknowledge the click (bot/slack/app.py does, before calling this), dedupe
Slack's retries (app.py's middleware), or learn from the feedback (bot/taste.py reads it).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.alerts import SNOOZE_FOR, alert_from_row, alert_state
from bot.config import Config
from bot.http import parse_retry_after
from bot.notify.base import AlertState
from bot.slack.blocks import MUTE_DAYS, alert_blocks, alert_text
from bot.store import AlertRow, Store

log = logging.getLogger(__name__)

MUTE_FOR = timedelta(days=MUTE_DAYS)
# At most this many edits per click when clicks on the same alert keep arriving during the edit
# (a burst of votes); the last click's own rounds show the final state.
RENDER_ROUNDS = 4
# A rate-limited edit is tried again after Slack's Retry-After, but never waits longer than this.
RATE_LIMIT_WAIT_MAX = 30.0


def _retry_after(headers: Any) -> float:
    """Slack's Retry-After (seconds or an HTTP date, read by bot.http), else one second."""
    value = headers.get("Retry-After") or headers.get("retry-after")
    if isinstance(value, list):
        value = value[0] if value else None
    wait = parse_retry_after(value, datetime.now(UTC))
    return 1.0 if wait is None else wait


@dataclass(frozen=True, slots=True)
class Click:
    """The parts of a block_actions payload a button needs."""

    alert_id: str
    user_id: str
    channel_id: str | None
    message_ts: str | None

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> Click:
        action = (body.get("actions") or [{}])[0]
        container = body.get("container") or {}
        return cls(
            alert_id=str(action.get("value") or ""),
            user_id=str((body.get("user") or {}).get("id") or "unknown"),
            channel_id=container.get("channel_id") or (body.get("channel") or {}).get("id"),
            message_ts=container.get("message_ts") or (body.get("message") or {}).get("ts"),
        )


def refusal(action: str, state: AlertState, user_id: str) -> str | None:
    """Why this click should not count, in words for the person who clicked; None if it counts."""
    if state.done_by:
        return f"<@{state.done_by}> already hooked in on this one."
    if action == "claim" and state.claimed_by and state.claimed_by != user_id:
        return f"<@{state.claimed_by}> already took this. Ask them in the thread to team up."
    if action == "claim" and state.claimed_by == user_id:
        return "You already took this one. Click “Done” when the team has hooked in."
    if action in ("done", "release") and state.claimed_by != user_id:
        who = f"<@{state.claimed_by}>" if state.claimed_by else "nobody yet"
        return f"Only whoever took it can do that (taken by {who})."
    return None


def _lead_term(row: AlertRow) -> str | None:
    return row.terms[0] if row.terms else None


def apply_click(
    store: Store,
    config: Config,
    client: WebClient,
    click: Click,
    action: str,
    now: datetime,
    *,
    window_minutes: int = 60,
    refresher: MessageRefresher | None = None,
    clock: Callable[[], datetime] | None = None,
) -> str | None:
    """Store the click and update the message; returns a note for the clicker, or None.

    With a `refresher` the message is re-rendered by its thread (the caller returns at once);
    without, here. `clock` gives the time of that later rendering (default: `now`).
    """
    if clock is None:
        clock = lambda: now  # noqa: E731 - the time of the click, for a rendering done now
    row = store.alert(click.alert_id)
    if row is None:
        return (
            "Inhaker no longer has this alert (it was sent before the store was reset), so "
            "the click was not recorded."
        )
    before = alert_state(store.feedback_for(row.id), now)
    problem = refusal(action, before, click.user_id)
    if problem is not None:
        return problem
    store.add_feedback(row.id, click.user_id, action, now)
    note: str | None = None
    if action == "claim":
        # Two people may click "I'll take it" at the same moment, on two web processes: both
        # pass the check above. The first claim stored counts (alert_state); tell the other.
        after = alert_state(store.feedback_for(row.id), now)
        if after.claimed_by not in (None, click.user_id):
            note = f"<@{after.claimed_by}> took this a moment before you. Ask them in the thread."
    if action == "snooze":
        until = now + SNOOZE_FOR
        store.add_reply(
            f"{row.id}:remind:{click.user_id}:{now:%Y%m%dT%H%M%S}",
            alert_id=row.id,
            kind="reminder",
            # The reply mentions `user_id` at its start (bot/notify/slack.py).
            text=f"⏰ you snoozed this until {until:%H:%M} UTC: here it is again.",
            due_at=until,
            now=now,
            user_id=click.user_id,
        )
    elif action == "mute":
        term = _lead_term(row)
        if term is not None:
            store.mute(term, until=now + MUTE_FOR, user_id=click.user_id, now=now, alert_id=row.id)
            note = f"🔇 Muted `{term}` for {MUTE_DAYS} days. `/inhaker unmute {term}` lifts it."
    log.info("feedback %s on %s by %s", action, row.id, click.user_id)
    if refresher is None:
        refresh_message(store, config, client, row, click, now, window_minutes=window_minutes)
    else:
        refresher.request(
            row.id,
            lambda: refresh_message(
                store, config, client, row, click, clock(), window_minutes=window_minutes
            ),
        )
    return note


def refresh_message(
    store: Store,
    config: Config,
    client: WebClient,
    row: AlertRow,
    click: Click,
    now: datetime,
    *,
    window_minutes: int = 60,
) -> None:
    """Re-render the alert from the store with its current state, for everyone."""
    channel = click.channel_id or row.slack_channel
    ts = click.message_ts or row.slack_ts
    if not channel or not ts:
        return
    labels = {s.id: s.label for s in config.sources}
    clicks = store.feedback_for(row.id)
    for _ in range(RENDER_ROUNDS):
        state = alert_state(clicks, now)
        alert = alert_from_row(row, store.posts_by_uids, labels, is_update=True, state=state)
        try:
            client.chat_update(
                channel=channel,
                ts=ts,
                text=alert_text(alert, window_minutes=window_minutes),
                blocks=alert_blocks(alert, window_minutes=window_minutes),
            )
        except SlackApiError as exc:
            code = exc.response.get("error") if exc.response is not None else None
            if code == "ratelimited":
                # slack_sdk already waited and retried: Slack is still busy with this channel
                # (a burst of edits). The click is stored; wait, then render again.
                headers = exc.response.headers if exc.response is not None else {}
                time.sleep(min(RATE_LIMIT_WAIT_MAX, _retry_after(headers)))
                clicks = store.feedback_for(row.id)
                continue
            # The click is stored; the worker's next edit of this alert shows it anyway.
            log.warning("slack: chat.update after a click on %s failed: %s", row.id, exc)
            return
        # Another click on this alert (in this process or another web process) may have been
        # stored while we rendered, and its edit may have reached Slack before ours: then ours
        # hid it. Whoever edits last has read every click stored before its edit, because each
        # edit is followed by this check, so the message ends up showing them all.
        latest = store.feedback_for(row.id)
        if latest == clicks:
            return
        clicks = latest


class MessageRefresher:
    """Re-renders alerts after clicks on one background thread, at most one edit in flight per
    alert, coalescing a burst: twenty votes on one alert within a second become one or two
    `chat.update` calls instead of twenty, which stays inside Slack's per-channel rate limit, and
    a 429's wait (slack_sdk's retry handler sleeps Retry-After) holds this thread, never the
    threads that must acknowledge the next clicks within Slack's three seconds.

    `request(key, job)` replaces any job waiting under `key` (the newest rendering reads the store
    anyway); a key requested while its job runs is run again afterwards.
    """

    def __init__(self) -> None:
        self._pending: OrderedDict[str, Callable[[], None]] = OrderedDict()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def request(self, key: str, job: Callable[[], None]) -> None:
        with self._wake:
            self._pending[key] = job
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="inhaker-refresh", daemon=True
                )
                self._thread.start()
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._pending:
                    self._wake.wait()
                _key, job = self._pending.popitem(last=False)
            try:
                job()
            except Exception:  # one failed rendering must not end the refreshes
                log.exception("slack: re-rendering an alert after a click failed")
