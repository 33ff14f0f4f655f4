"""The monthly leaderboard: who on the team claimed hooks and followed through on them.

What it does: `standings` counts, for one calendar month in feeds.yaml's `slack.timezone`, each
person's claims ("I'll take it" clicks) and follow-throughs ("Done" clicks by the person who
claimed that alert), and their points: `POINTS_PER_CLAIM` a claim, `POINTS_PER_FOLLOW_THROUGH` a
follow-through, each at most once per person and alert however often they click. A claim
counts even when others later found the alert not relevant: the claimer acted on it.
`leaderboard_blocks` and `leaderboard_text` render the standings for Slack; `leaderboard` does
both for `/inhaker leaderboard [YYYY-MM]`; `standing_line` is one person's place for App Home.

What it does not do: write anything, post to Slack (the command handler does), or judge whether
a hook worked out — the "Done" click is the team's own word for that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from bot.config import Config
from bot.store import Store

__all__ = [
    "POINTS_PER_CLAIM",
    "POINTS_PER_FOLLOW_THROUGH",
    "LeaderboardError",
    "Standing",
    "leaderboard",
    "leaderboard_blocks",
    "leaderboard_text",
    "month_label",
    "month_span",
    "parse_month",
    "standing_line",
    "standings",
]

Block = dict[str, Any]

POINTS_PER_CLAIM = 1
# Following through is the point of a hook; claiming is only the promise.
POINTS_PER_FOLLOW_THROUGH = 3
MEDALS = ("🥇", "🥈", "🥉")
EMPTY_TEXT = "No hooks claimed yet this month."
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_MONTH_ARG = re.compile(r"(\d{4})-(\d{1,2})")
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
# Slack's limits: 3000 characters a section, 50 blocks a message (two go to header and note).
_SECTION_CHARS = 2900
_MAX_SECTIONS = 45


class LeaderboardError(ValueError):
    """The month asked for is not one."""


@dataclass(frozen=True, slots=True)
class Standing:
    user_id: str
    claims: int
    follow_throughs: int
    points: int


def parse_month(value: date | str) -> date:
    """The first day of the month `value` names: a date, or "YYYY-MM" as typed in Slack."""
    if isinstance(value, date):
        return value.replace(day=1)
    match = _MONTH_ARG.fullmatch(value.strip())
    if match is None or not 1 <= int(match.group(2)) <= 12:
        raise LeaderboardError(
            f"leaderboard: {value.strip()!r} is not a month — write it as YYYY-MM, e.g. 2026-11"
        )
    return date(int(match.group(1)), int(match.group(2)), 1)


def month_label(month: date) -> str:
    """The month as a person reads it: "November 2026"."""
    return f"{_MONTHS[month.month - 1]} {month.year}"


def month_span(month: date, timezone: str) -> tuple[datetime, datetime]:
    """The month from its first midnight to the next month's, in `timezone`, as UTC times."""
    zone = ZoneInfo(timezone)
    first = month.replace(day=1)
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    start = datetime.combine(first, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(following, time(0), tzinfo=zone).astimezone(UTC)
    return start, end


def _this_month(now: datetime, timezone: str) -> date:
    return now.astimezone(ZoneInfo(timezone)).date().replace(day=1)


def standings(
    store: Store, config: Config, month: date | str | None, now: datetime
) -> list[Standing]:
    """Everyone who claimed or followed through in `month` (None: the month of `now`), most
    points first, then most follow-throughs, then by user id (a stable order for ties)."""
    timezone = config.slack.timezone
    first = parse_month(month) if month is not None else _this_month(now, timezone)
    start, end = month_span(first, timezone)
    rows = store.feedback_since(start, end)
    claims = {(r.user_id, r.alert_id) for r in rows if r.action == "claim"}
    finished: set[tuple[str, str]] = set()
    for row in rows:
        if row.action != "done" or (row.user_id, row.alert_id) in finished:
            continue
        # The claim may be from an earlier month; the follow-through counts when it happens.
        claimed = (row.user_id, row.alert_id) in claims or any(
            who == row.user_id and action == "claim" and at <= row.at
            for who, action, at in store.feedback_for(row.alert_id)
        )
        if claimed:
            finished.add((row.user_id, row.alert_id))
    people = sorted({user for user, _ in claims | finished})
    table = []
    for user in people:
        claimed_count = sum(1 for who, _ in claims if who == user)
        finished_count = sum(1 for who, _ in finished if who == user)
        points = claimed_count * POINTS_PER_CLAIM + finished_count * POINTS_PER_FOLLOW_THROUGH
        table.append(Standing(user, claimed_count, finished_count, points))
    table.sort(key=lambda s: (-s.points, -s.follow_throughs, s.user_id))
    return table


def _mention(user_id: str) -> str:
    if _USER_ID.fullmatch(user_id):
        return f"<@{user_id}>"
    return user_id.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _line(place: int, standing: Standing) -> str:
    badge = MEDALS[place] if place < len(MEDALS) else f"{place + 1}."
    return (
        f"{badge} {_mention(standing.user_id)} — *{_plural(standing.points, 'point')}*: "
        f"{_plural(standing.claims, 'claim')}, "
        f"{_plural(standing.follow_throughs, 'follow-through')}"
    )


def leaderboard_blocks(table: list[Standing], label: str) -> list[Block]:
    """A header "Leaderboard November 2026", one line per person (medals for the top three),
    and how points are earned."""
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"Leaderboard {label}"[:150]}}
    ]
    lines = [_line(place, standing) for place, standing in enumerate(table)] or [EMPTY_TEXT]
    chunk: list[str] = []
    sections: list[str] = []
    for line in lines:
        if chunk and len("\n".join([*chunk, line])) > _SECTION_CHARS:
            sections.append("\n".join(chunk))
            chunk = []
        chunk.append(line[:_SECTION_CHARS])
    sections.append("\n".join(chunk))
    for text in sections[:_MAX_SECTIONS]:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    note = (
        f"{_plural(POINTS_PER_CLAIM, 'point')} for claiming a hook (I'll take it), "
        f"{POINTS_PER_FOLLOW_THROUGH} more for following through (Done) on one you claimed."
    )
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": note}]})
    return blocks


def leaderboard_text(table: list[Standing], label: str) -> str:
    """The notification and fallback text: "Leaderboard November 2026: 1. <@U1> 7 points, …"."""
    if not table:
        return f"Leaderboard {label}: {EMPTY_TEXT.lower()}"
    ranked = ", ".join(
        f"{place + 1}. {_mention(s.user_id)} {_plural(s.points, 'point')}"
        for place, s in enumerate(table[:10])
    )
    return f"Leaderboard {label}: {ranked}"


def leaderboard(
    store: Store, config: Config, month: str | None, now: datetime
) -> tuple[list[Block], str]:
    """Blocks and fallback text for `/inhaker leaderboard [YYYY-MM]`; raises LeaderboardError
    with a message to show the user when `month` is not YYYY-MM."""
    timezone = config.slack.timezone
    first = parse_month(month) if month else _this_month(now, timezone)
    table = standings(store, config, first, now)
    label = month_label(first)
    return leaderboard_blocks(table, label), leaderboard_text(table, label)


def _ordinal(place: int) -> str:
    suffix = "th" if 10 <= place % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(place % 10, "th")
    return f"{place}{suffix}"


def standing_line(store: Store, config: Config, user_id: str, now: datetime) -> str | None:
    """One person's place this month, for App Home ("Your standing in November 2026: 🥈 2nd of
    5 — 4 points: 1 claim, 1 follow-through"); None when they have not claimed anything yet."""
    first = _this_month(now, config.slack.timezone)
    table = standings(store, config, first, now)
    place = next((i for i, s in enumerate(table) if s.user_id == user_id), None)
    if place is None:
        return None
    mine = table[place]
    medal = f"{MEDALS[place]} " if place < len(MEDALS) else ""
    return (
        f"Your standing in {month_label(first)}: {medal}{_ordinal(place + 1)} of {len(table)} — "
        f"{_plural(mine.points, 'point')}: {_plural(mine.claims, 'claim')}, "
        f"{_plural(mine.follow_throughs, 'follow-through')}"
    )
