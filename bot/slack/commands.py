"""What the slash commands answer, built from the store (no Slack I/O here).

What it does: `trends_answer` turns the current trends snapshot the worker keeps in the store
into the `/trends` message; `sources_answer` lists each source's health for `/trends sources`;
`help_answer` explains the command. Each returns Block Kit blocks plus fallback text.

What it does not do: talk to Slack (bot/slack/app.py acknowledges and sends), or detect anything:
the worker (`inhaker run`) writes the snapshot every minute, so a web process can answer fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.config import Config
from bot.serialize import trend_from_dict
from bot.slack.blocks import trends_list_blocks
from bot.sources.base import SourceState
from bot.store import Store

HELP_TEXT = (
    "*/trends* — what is rising now (from the last detection, refreshed every minute)\n"
    "*/trends sources* — health of every source: last success, last error, failures in a row\n"
    "*/trends help* — this help"
)


@dataclass(frozen=True, slots=True)
class Answer:
    text: str
    blocks: list[dict[str, Any]]


def trends_answer(store: Store, now: datetime, *, window_minutes: int = 60) -> Answer:
    payloads, updated = store.current_trends()
    trends = [trend_from_dict(p) for p in payloads]
    blocks = trends_list_blocks(trends, now, window_minutes=window_minutes)
    if updated is None:
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": "No detection has run yet: is `inhaker run` running?",
                    }
                ],
            }
        )
    names = ", ".join(t.title for t in trends[:5])
    text = f"Rising now: {names}" if trends else "Nothing is rising right now."
    return Answer(text, blocks)


def source_health_line(
    source_id: str,
    kind: str,
    state: SourceState | None,
    items_last_hour: int = 0,
    trending_last_hour: int = 0,
) -> str:
    """One line of source health, shared by `/trends sources` and `inhaker sources`."""
    if state is None or state.last_polled_at is None:
        return f"{source_id} ({kind}): not polled yet"
    ok = state.last_success_at.strftime("%Y-%m-%d %H:%M UTC") if state.last_success_at else "never"
    line = f"{source_id} ({kind}): last success {ok}, {items_last_hour} items in the last hour"
    if trending_last_hour:
        line += f", {trending_last_hour} trending topics listed"
    if state.failures_in_a_row:
        line += f", {state.failures_in_a_row} failures in a row — {state.last_error}"
    elif state.last_error:
        line += f", last error {state.last_error_at:%Y-%m-%d %H:%M} UTC"
    if state.note:
        line += f" ({state.note})"
    return line


def sources_answer(store: Store, config: Config, now: datetime) -> Answer:
    states = store.all_source_states()
    lines = []
    for source in config.sources:
        hour_ago = now - timedelta(hours=1)
        line = source_health_line(
            source.id,
            source.kind,
            states.get(source.id),
            store.count_posts(source=source.id, since=hour_ago),
            store.count_external_trends(source.id, hour_ago),
        )
        icon = "⚪" if not source.enabled else ("🔴" if "failures" in line else "🟢")
        lines.append(f"{icon} {line}")
    body = "\n".join(lines) or "No sources configured in feeds.yaml."
    # One section per 20 sources keeps each under Slack's 3,000-character limit.
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Sources"}}
    ]
    for start in range(0, len(lines) or 1, 20):
        chunk = "\n".join(lines[start : start + 20]) or body
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": chunk[:2900]}})
    return Answer(f"{len(config.sources)} sources", blocks[:50])


def help_answer(unknown: str | None = None) -> Answer:
    intro = f"I don't know `{unknown[:50]}`. " if unknown else ""
    text = f"{intro}Here is what I can do:\n{HELP_TEXT}"
    return Answer(text, [{"type": "section", "text": {"type": "mrkdwn", "text": text}}])
