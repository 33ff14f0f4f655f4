"""The App Home tab: what is rising, the open calls, and the person's own watch terms and mutes.

What it does: `home_view` builds the `home` view Slack shows when someone opens Inhaker's App
Home, from the store: the current trends (as `/inhaker trends`), the open calls with deadlines
(as `/inhaker calls`), the watch terms (feeds.yaml's and those added in Slack, the person's own
marked), the active mutes (the person's own marked), and the person's standing this month when
a leaderboard is available.

What it does not do: publish it (bot/slack/app.py calls views.publish on `app_home_opened`), or
change anything.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.config import Config
from bot.serialize import trend_from_dict
from bot.slack.blocks import deadline_note, escape_mrkdwn, truncate, why_line
from bot.slack.commands import open_calls
from bot.store import Store
from detectors.text import normalize_term

Block = dict[str, Any]

HOME_TRENDS = 8
HOME_CALLS = 8
MAX_HOME_BLOCKS = 100  # Slack's limit for a Home tab


def _header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": truncate(text, 150)}}


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, 3000)}}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(text, 3000)}]}


def home_view(
    store: Store,
    config: Config,
    user_id: str,
    now: datetime,
    *,
    window_minutes: int = 60,
    standing: Callable[[str], str | None] | None = None,
) -> dict[str, Any]:
    """The Home tab for `user_id` at `now`."""
    blocks: list[Block] = [_header("Rising now")]
    payloads, updated = store.current_trends()
    trends = [trend_from_dict(p) for p in payloads][:HOME_TRENDS]
    if not trends:
        blocks.append(_section("Nothing is rising right now."))
    for trend in trends:
        stage = f"  _{trend.stage}_" if trend.stage else ""
        title = escape_mrkdwn(truncate(trend.title, 150))
        blocks.append(
            _section(f"*{title}*{stage}\n{why_line(trend, window_minutes=window_minutes)}")
        )
    if updated is not None:
        note = f"Detection of {updated:%H:%M} UTC · `/inhaker why TERM` explains one"
        blocks.append(_context(note))
    else:
        blocks.append(_context("No detection has run yet: is `inhaker run` running?"))

    blocks += [{"type": "divider"}, _header("Open calls")]
    calls = open_calls(store, config, now)[:HOME_CALLS]
    if not calls:
        blocks.append(_section("No open calls right now."))
    for _row, opp in calls:
        who = escape_mrkdwn(opp.asker or opp.author or opp.source)
        what = escape_mrkdwn(truncate(" ".join((opp.title or opp.text).split()), 140))
        link = f"<{opp.url}|{what}>" if opp.url and opp.url.startswith("http") else what
        due = deadline_note(opp.deadline, now.date()) if opp.deadline else "no deadline stated"
        blocks.append(_section(f"*{who}*: {link}\n⏳ {due}"))

    blocks += [{"type": "divider"}, _header("Watch terms")]
    configured = [t for t in (normalize_term(w) for w in config.watch_terms) if t]
    added = store.watch_terms()
    mine = [w.term for w in added if w.added_by == user_id]
    others = [w.term for w in added if w.added_by != user_id]
    lines = []
    if mine:
        lines.append("*Yours:* " + ", ".join(f"`{escape_mrkdwn(t)}`" for t in mine))
    if others:
        lines.append("*Added by others:* " + ", ".join(f"`{escape_mrkdwn(t)}`" for t in others))
    if configured:
        lines.append("*From feeds.yaml:* " + ", ".join(f"`{escape_mrkdwn(t)}`" for t in configured))
    lines = lines or ["None yet: `/inhaker watch add werkplek`."]
    blocks.append(_section("\n".join(lines)))

    blocks += [_header("Muted")]
    mutes = store.active_mutes(now)
    if mutes:
        blocks.append(
            _section(
                "\n".join(
                    f"`{escape_mrkdwn(m.term)}` until {m.until:%Y-%m-%d %H:%M} UTC"
                    + (" (yours)" if m.muted_by == user_id else f" (<@{m.muted_by}>)")
                    for m in mutes
                )
            )
        )
    else:
        blocks.append(_section("Nothing is muted. `/inhaker mute TERM for 2d` silences a term."))

    if standing is not None:
        line = standing(user_id)
        if line:
            blocks += [{"type": "divider"}, _section(line)]
    return {"type": "home", "blocks": blocks[:MAX_HOME_BLOCKS]}
