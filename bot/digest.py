"""The scheduled digest, and what happens to alerts held during quiet hours.

What it does:
- `build_digest` gathers, from the store, the top `slack.digest.top` trends rising now (the
  snapshot the worker writes every minute), the open calls (alerts of kind "opportunity" from
  the last `opportunities.max_age` whose deadline has not passed and that nobody closed, best
  score first) and every alert held during quiet hours, each with a line saying why it matters.
- `queue_digest` puts that digest in the outbox as ONE alert of kind "digest", with the id
  `digest:<local date>T<slot>`: a slot's digest is queued once, even when the job runs twice or
  the process restarts, and the outbox delivers it exactly once like any alert. The held alerts
  it lists become "digested": they are never posted on their own afterwards.
- `release_held` puts held alerts back in the outbox when no digest will collect them (quiet
  hours over and no digest soon after, or that digest was missed): no held alert is lost.

- `digest_plain_text` writes a digest payload as plain text for a terminal (`inhaker digest
  --dry-run`, the console notifier).

What it does not do: render for Slack (bot/slack/blocks.py `digest_blocks` does), send (the
outbox does), or schedule (bot/scheduler.py runs `Runner.digest` at each `slack.digest.times`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any

from bot.config import Config
from bot.routing import held_alerts_may_go, local_time
from bot.serialize import iso, trend_from_dict
from bot.store import AlertRow, Store

# Open calls and held alerts listed in one digest; the rest are counted ("…and 4 more").
MAX_CALLS = 10
MAX_HELD = 30
# Feedback that closes a call for the team (bot/notify/base.py AlertState.closed says the same).
CLOSING_ACTIONS = frozenset({"done", "mute"})
DISMISSING_ACTIONS = frozenset({"not_relevant", "dismiss"})


@dataclass(frozen=True, slots=True)
class DigestTrend:
    """One rising trend as the digest shows it."""

    title: str
    stage: str
    count: int
    ratio: float
    authors: int
    sources: int
    score: float
    watched: tuple[str, ...]
    detected_at: str  # ISO UTC


@dataclass(frozen=True, slots=True)
class DigestCall:
    """One open call: who asks, what, until when."""

    alert_id: str
    who: str
    title: str
    category: str
    deadline: str | None
    url: str | None


@dataclass(frozen=True, slots=True)
class DigestHeld:
    """One alert that waited during quiet hours: its kind, title and why it mattered."""

    alert_id: str
    kind: str
    title: str
    why: str
    url: str | None


@dataclass(frozen=True, slots=True)
class Digest:
    """What one digest says. `day` and `slot` are local to `timezone` (slack.timezone)."""

    day: date
    slot: str  # "08:30"
    timezone: str
    trends: tuple[DigestTrend, ...]
    calls: tuple[DigestCall, ...]
    held: tuple[DigestHeld, ...]
    more_calls: int = 0
    more_held: int = 0
    held_ids: tuple[str, ...] = ()  # every held alert it covers, listed or counted

    @property
    def alert_id(self) -> str:
        return build_digest_id(self.day, self.slot)

    @property
    def title(self) -> str:
        return f"Digest {self.day.isoformat()} {self.slot}"

    def to_payload(self) -> dict[str, Any]:
        """Plain JSON for the outbox row; bot/slack/blocks.py `digest_blocks` reads it."""
        return {
            "day": self.day.isoformat(),
            "slot": self.slot,
            "timezone": self.timezone,
            "trends": [asdict(t) for t in self.trends],
            "calls": [asdict(c) for c in self.calls],
            "held": [asdict(h) for h in self.held],
            "more_calls": self.more_calls,
            "more_held": self.more_held,
        }


def _humanize(category: str | None) -> str:
    return (category or "open call").replace("_", " ")


def _trend_item(payload: dict[str, Any]) -> DigestTrend:
    trend = trend_from_dict(payload)
    return DigestTrend(
        title=trend.title,
        stage=trend.stage,
        count=trend.count,
        ratio=trend.ratio,
        authors=trend.authors,
        sources=len(trend.sources),
        score=trend.score,
        watched=trend.watched,
        detected_at=iso(trend.detected_at),
    )


def _closed(store: Store, alert_id: str) -> bool:
    """Done or muted by anyone, or not relevant to someone while nobody took it."""
    actions = {action for _user, action, _at in store.feedback_for(alert_id)}
    if actions & CLOSING_ACTIONS:
        return True
    return bool(actions & DISMISSING_ACTIONS) and "claim" not in actions


def _deadline_passed(deadline: str | None, today: date) -> bool:
    if not deadline:
        return False
    try:
        return date.fromisoformat(deadline[:10]) < today
    except ValueError:
        return False  # not a date we can read: keep the call, the reader judges


def _call_item(row: AlertRow, labels: dict[str, str]) -> DigestCall:
    call = row.payload.get("opportunity") or {}
    source = str(call.get("source") or "")
    return DigestCall(
        alert_id=row.id,
        who=str(call.get("asker") or labels.get(source, source) or "someone"),
        title=str(call.get("title") or call.get("text") or row.title)[:300],
        category=_humanize(call.get("category")),
        deadline=call.get("deadline"),
        url=call.get("url"),
    )


def _held_item(row: AlertRow, labels: dict[str, str]) -> DigestHeld:
    """A held alert in one line: what it is, and the numbers or date that made it matter."""
    payload = row.payload
    if row.kind == "trend" and payload.get("trend"):
        trend = payload["trend"]
        stage = f"{trend['stage']}; " if trend.get("stage") else ""
        why = (
            f"{stage}{trend.get('count', 0)} posts, {float(trend.get('ratio', 0.0)):.1f}× "
            f"the usual rate, from {trend.get('authors', 0)} authors"
        )
        return DigestHeld(row.id, "trend", row.title, why, None)
    if row.kind == "opportunity" and payload.get("opportunity"):
        call = _call_item(row, labels)
        why = f"{call.category} from {call.who}"
        if call.deadline:
            why += f"; deadline {call.deadline}"
        return DigestHeld(row.id, "opportunity", call.title, why, call.url)
    if row.kind == "listed" and payload.get("listed"):
        listed = payload["listed"]
        where = labels.get(listed.get("source", ""), listed.get("source", "a platform"))
        why = f"on the trend list of {where}"
        if payload.get("watched"):
            why += f"; matches your watch term {payload['watched']}"
        return DigestHeld(row.id, "listed", row.title, why, listed.get("url"))
    return DigestHeld(row.id, row.kind, row.title, "", None)


def build_digest(store: Store, config: Config, now: datetime, slot: str | None = None) -> Digest:
    """The digest for `now` (`slot` defaults to the local time, HH:MM)."""
    local = local_time(config, now)
    today = local.date()
    labels = {s.id: s.label for s in config.sources}
    payloads, _updated = store.current_trends()
    trends = tuple(_trend_item(p) for p in payloads[: config.slack.digest.top])

    recent = store.alerts_created_between(
        now - config.opportunities.max_age, now + timedelta(minutes=1), kind="opportunity"
    )
    open_calls = [
        row
        for row in recent
        if row.status != "held"  # listed below, with what else waited
        and not _deadline_passed((row.payload.get("opportunity") or {}).get("deadline"), today)
        and not _closed(store, row.id)
    ]
    open_calls.sort(key=lambda row: -row.score)
    held_rows = store.alerts_with_status("held")
    return Digest(
        day=today,
        slot=slot or f"{local:%H:%M}",
        timezone=config.slack.timezone,
        trends=trends,
        calls=tuple(_call_item(row, labels) for row in open_calls[:MAX_CALLS]),
        held=tuple(_held_item(row, labels) for row in held_rows[:MAX_HELD]),
        more_calls=max(0, len(open_calls) - MAX_CALLS),
        more_held=max(0, len(held_rows) - MAX_HELD),
        held_ids=tuple(row.id for row in held_rows),
    )


def digest_channel(config: Config) -> str:
    return config.slack.digest.channel or config.slack_channel


def build_digest_id(day: date, slot: str) -> str:
    """The outbox id of a digest: one per local day and slot, so a slot goes out once."""
    return f"digest:{day.isoformat()}T{slot}"


def digest_id(config: Config, now: datetime, slot: str) -> str:
    """The outbox id of the digest of `slot` on the team's local day of `now`."""
    return build_digest_id(local_time(config, now).date(), slot)


def queue_digest(store: Store, config: Config, now: datetime, slot: str) -> bool:
    """Put this slot's digest in the outbox; False when it was queued before (never twice).

    The held alerts it lists (and any beyond the list, which it counts) become "digested" only
    when the digest was queued, so a second run of the slot cannot swallow newer held alerts.
    If the process dies between the two steps, the held alerts stay held and the next digest
    lists them again: shown twice, never lost.
    """
    digest = build_digest(store, config, now, slot)
    added = store.add_alert(
        alert_id=digest.alert_id,
        kind="digest",
        key="digest",
        title=digest.title,
        terms=(),
        payload={"digest": digest.to_payload()},
        channel=digest_channel(config),
        now=now,
    )
    if added:
        store.set_alert_status(digest.held_ids, "digested", only_from="held")
    return added


def release_held(store: Store, config: Config, now: datetime) -> int:
    """Put held alerts back in the outbox when no digest will collect them; returns how many.

    See bot/routing.py `held_alerts_may_go`: not during quiet hours; with a digest soon after
    the quiet hours, only once that digest is overdue. Cheap when nothing is held.
    """
    held = store.alerts_with_status("held")
    if not held or not held_alerts_may_go(config, now):
        return 0
    return store.set_alert_status([row.id for row in held], "pending", only_from="held")


def digest_plain_text(payload: dict[str, Any]) -> str:
    """A digest payload (`Digest.to_payload()`) as plain text, for a terminal."""
    day, slot, zone = payload.get("day", ""), payload.get("slot", ""), payload.get("timezone", "")
    lines = [f"🗞️ DIGEST  {day} {slot} ({zone or 'UTC'})", "  Rising now:"]
    for trend in payload.get("trends") or []:
        stage = f" [{trend['stage']}]" if trend.get("stage") else ""
        ratio = float(trend.get("ratio") or 0.0)
        lines.append(
            f"    - {trend.get('title', '')}{stage}: {trend.get('count', 0)} posts, "
            f"{ratio:.1f}× the usual rate, {trend.get('authors', 0)} authors"
        )
    if not payload.get("trends"):
        lines.append("    nothing is rising right now")
    lines.append("  Open calls:")
    for call in payload.get("calls") or []:
        deadline = f" · deadline {call['deadline']}" if call.get("deadline") else ""
        head = f"    - {call.get('who', '')} ({call.get('category', '')})"
        lines.append(f"{head}: {str(call.get('title', ''))[:160]}{deadline}")
        if call.get("url"):
            lines.append(f"      {call['url']}")
    if not payload.get("calls"):
        lines.append("    none")
    if payload.get("more_calls"):
        lines.append(f"    …and {payload['more_calls']} more")
    if payload.get("held"):
        lines.append("  Held during quiet hours:")
        for item in payload["held"]:
            why = f" — {item['why']}" if item.get("why") else ""
            lines.append(f"    - [{item.get('kind', '')}] {str(item.get('title', ''))[:160]}{why}")
        if payload.get("more_held"):
            lines.append(f"    …and {payload['more_held']} more")
    return "\n".join(lines)
