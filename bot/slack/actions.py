"""What a click on an alert's button does: store the feedback, then show it to everyone.

What it does: `apply_click` checks the click makes sense (a claim on an alert someone else took,
or "Done" by anyone but the claimer, gets a short ephemeral explanation instead), stores it as
feedback, performs its side effect (a snooze queues a reminder in the alert's thread, "Mute topic"
mutes the topic's lead term for a week), and re-renders the alert from the store with its new
state, so every version of the message (this edit, and the worker's later edits of a growing
trend) shows who took it, who found it useful, and what is snoozed or muted.

What it does not do: acknowledge the click (bot/slack/app.py does, before calling this), dedupe
Slack's retries (app.py's middleware), or learn from the feedback (bot/taste.py reads it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.alerts import SNOOZE_FOR, alert_from_row, alert_state
from bot.config import Config
from bot.notify.base import AlertState
from bot.slack.blocks import MUTE_DAYS, alert_blocks, alert_text
from bot.store import AlertRow, Store

log = logging.getLogger(__name__)

MUTE_FOR = timedelta(days=MUTE_DAYS)


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
) -> str | None:
    """Store the click and update the message; returns a note for the clicker, or None."""
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
    refresh_message(store, config, client, row, click, now, window_minutes=window_minutes)
    log.info("feedback %s on %s by %s", action, row.id, click.user_id)
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
    state = alert_state(store.feedback_for(row.id), now)
    alert = alert_from_row(row, store.posts_by_uids, labels, is_update=True, state=state)
    try:
        client.chat_update(
            channel=channel,
            ts=ts,
            text=alert_text(alert, window_minutes=window_minutes),
            blocks=alert_blocks(alert, window_minutes=window_minutes),
        )
    except SlackApiError as exc:
        # The click is stored; the worker's next edit of this alert shows it anyway.
        log.warning("slack: chat.update after a click on %s failed: %s", row.id, exc)
