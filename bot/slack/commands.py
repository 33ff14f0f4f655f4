"""What `/inhaker` answers, built from the store (no Slack I/O here).

What it does: `answer_command` reads the text after `/inhaker` (or `/trends`, the shortcut for
`/inhaker trends`) and returns an `Answer`: Block Kit blocks, the fallback text, and whether the
answer may be shared in the channel. The subcommands:

- `trends [TERM] [SOURCE] [lang:xx] [6h]`: what is rising now, narrowed by a term, a source id or
  kind, a language, or (with a time window) every trend alerted in that window;
- `calls`: the open calls (opportunities) still open, soonest deadline first;
- `why TERM`: why a trend fired: counts against its baseline, significance, sources, lifecycle,
  top posts, the fit with the team, and the effect of the team's feedback;
- `watch add|remove TERM`, `watch list`: watch terms added from Slack (feeds.yaml keeps its own);
- `mute TERM [for 2d]`, `unmute TERM`, `mutes`;
- `sources`, `leaderboard [YYYY-MM]`, `digest` (a preview), `help`.
Unknown input gets the help with a line saying what was not understood, never an error.

What it does not do: talk to Slack (bot/slack/app.py acknowledges, answers and shares), or
detect anything: the worker (`inhaker run`) writes the trends snapshot every minute, so a web
process answers from the store alone. Watch terms and mutes written here reach the worker's next
tick through the store.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.alerts import alert_state
from bot.config import Config, parse_duration
from bot.digest import build_digest
from bot.leaderboard import LeaderboardError, leaderboard
from bot.serialize import opportunity_from_dict, trend_from_dict
from bot.slack.blocks import (
    MAX_BLOCKS,
    MUTE_DAYS,
    deadline_note,
    digest_blocks,
    digest_text,
    escape_mrkdwn,
    state_lines,
    trends_list_blocks,
    truncate,
    why_line,
)
from bot.sources.base import SourceState
from bot.store import AlertRow, Store
from bot.taste import TasteBook
from detectors.records import Opportunity, Post, Trend
from detectors.text import normalize_term

Block = dict[str, Any]

COMMAND = "/inhaker"
DEFAULT_MUTE = timedelta(days=MUTE_DAYS)
MAX_MUTE = timedelta(days=365)
MAX_TERM_CHARS = 100
SHOWN_CALLS = 15
WHY_POSTS = 3

HELP_LINES = (
    ("/inhaker trends", "what is rising now (also `/trends`)"),
    (
        "/inhaker trends TERM · SOURCE · lang:nl · 6h",
        "narrow it: a word, a source id or kind (rss, mastodon…), a language, or every trend "
        "alerted in a time window",
    ),
    ("/inhaker calls", "open calls (opportunities) with their deadlines"),
    ("/inhaker why TERM", "why a trend fired: counts, baseline, sources, top posts, lifecycle"),
    ("/inhaker watch add TERM · watch remove TERM · watch list", "the team's watch terms"),
    ("/inhaker mute TERM [for 2d] · unmute TERM · mutes", "silence a term or topic for a while"),
    ("/inhaker sources", "health of every source: last success, errors"),
    ("/inhaker leaderboard [2026-11]", "who claimed and followed through on most hooks"),
    ("/inhaker digest", "a preview of the next digest"),
    ("/inhaker help", "this help"),
)
HELP_TEXT = "\n".join(f"*{usage}* — {what}" for usage, what in HELP_LINES)


@dataclass(frozen=True, slots=True)
class Answer:
    """One answer: blocks, the fallback text, and whether a "Share" button makes sense."""

    text: str
    blocks: list[Block]
    shareable: bool = False


@dataclass(slots=True)
class Context:
    """What a command can read and write. `taste`: the team's learned taste (feedback), shown by
    `why`; None when the caller has none (feedback switched off)."""

    store: Store
    config: Config
    now: datetime
    user_id: str
    window_minutes: int = 60
    taste: TasteBook | None = None


# --- small rendering helpers -------------------------------------------------------------------


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, 3000)}}


def _header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": truncate(text, 150)}}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(text, 3000)}]}


def _code(term: str) -> str:
    return "`" + escape_mrkdwn(term.replace("`", "'"))[:MAX_TERM_CHARS] + "`"


def _plain_answer(text: str, *, shareable: bool = False) -> Answer:
    return Answer(text, [_section(text)], shareable)


# --- the dispatcher ----------------------------------------------------------------------------

_ALIASES = {
    "trends": "trends",
    "trend": "trends",
    "trending": "trends",
    "rising": "trends",
    "calls": "calls",
    "call": "calls",
    "opportunities": "calls",
    "opportunity": "calls",
    "opps": "calls",
    "kansen": "calls",
    "why": "why",
    "waarom": "why",
    "watch": "watch",
    "volg": "watch",
    "mute": "mute",
    "unmute": "unmute",
    "mutes": "mutes",
    "muted": "mutes",
    "sources": "sources",
    "source": "sources",
    "bronnen": "sources",
    "leaderboard": "leaderboard",
    "scores": "leaderboard",
    "digest": "digest",
    "help": "help",
    "hulp": "help",
    "?": "help",
}


def answer_command(ctx: Context, text: str) -> Answer:
    """The answer to `/inhaker TEXT`; never raises for anything a user can type."""
    words = text.strip().split()
    if not words:
        return trends_answer(ctx, [])
    name = _ALIASES.get(words[0].lower())
    rest = words[1:]
    if name is None:
        return help_answer(unknown=text.strip())
    if name == "trends":
        return trends_answer(ctx, rest)
    if name == "calls":
        return calls_answer(ctx)
    if name == "why":
        return why_answer(ctx, " ".join(rest))
    if name == "watch":
        return watch_answer(ctx, rest)
    if name == "mute":
        return mute_answer(ctx, rest)
    if name == "unmute":
        return unmute_answer(ctx, " ".join(rest))
    if name == "mutes":
        return mutes_answer(ctx)
    if name == "sources":
        return sources_answer(ctx.store, ctx.config, ctx.now)
    if name == "digest":
        return digest_answer(ctx)
    if name == "leaderboard":
        return leaderboard_answer(ctx, rest)
    return help_answer()


def help_answer(unknown: str | None = None) -> Answer:
    intro = f"I don't know {_code(unknown[:50])}. " if unknown else ""
    text = f"{intro}Here is what I can do:\n{HELP_TEXT}"
    return Answer(text, [_section(text)])


# --- trends --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TrendFilter:
    terms: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    lang: str | None = None
    window: timedelta | None = None

    def describe(self) -> str:
        parts = [f"about {', '.join(self.terms)}"] if self.terms else []
        if self.sources:
            parts.append(f"from {', '.join(self.sources)}")
        if self.lang:
            parts.append(f"in {self.lang}")
        if self.window:
            parts.append(f"alerted in the last {_duration_words(self.window)}")
        return " ".join(parts)


_WINDOW = re.compile(r"^(last:)?(\d+(?:\.\d+)?)([mhdw])$", re.IGNORECASE)


def parse_trend_filter(config: Config, words: Sequence[str]) -> TrendFilter:
    ids = {s.id for s in config.sources}
    kinds = {s.kind for s in config.sources}
    terms: list[str] = []
    sources: list[str] = []
    lang: str | None = None
    window: timedelta | None = None
    for word in words:
        low = word.lower()
        if low.startswith("lang:") and len(low) > 5:
            lang = low[5:]
        elif low.startswith("source:") and len(low) > 7:
            sources.append(low[7:])
        elif low in ids or low in kinds:
            sources.append(low)
        elif match := _WINDOW.match(low):
            window = parse_duration(match.group(2) + match.group(3).lower())
        elif term := normalize_term(word):
            terms.append(term)
    return TrendFilter(tuple(terms), tuple(sources), lang, window)


def _source_ids(config: Config, wanted: Sequence[str]) -> set[str]:
    """Source ids named directly or through their kind."""
    return {s.id for s in config.sources if s.id in wanted or s.kind in wanted} | set(wanted)


def _trend_matches(trend: Trend, wanted: TrendFilter, source_ids: set[str]) -> bool:
    if wanted.terms:
        haystack = {*trend.terms, *trend.watched, normalize_term(trend.title)}
        words = " ".join([trend.title, trend.label, *trend.terms]).lower()
        if not all(t in haystack or t in words for t in wanted.terms):
            return False
    return not (wanted.sources and not source_ids.intersection(trend.sources))


def _main_language(store: Store, trend: Trend) -> str | None:
    posts = store.posts_by_uids(trend.evidence[:20])
    langs = [p.lang.lower()[:2] for p in posts if p.lang]
    return max(set(langs), key=langs.count) if langs else None


def trends_answer(ctx: Context, words: Sequence[str]) -> Answer:
    wanted = parse_trend_filter(ctx.config, words)
    if wanted.window is not None:
        rows = ctx.store.alerts_fired_since(ctx.now - wanted.window, "trend")
        trends = [trend_from_dict(r.payload["trend"]) for r in rows if "trend" in r.payload]
        trends.sort(key=lambda t: -t.score)
        updated: datetime | None = ctx.now
    else:
        payloads, updated = ctx.store.current_trends()
        trends = [trend_from_dict(p) for p in payloads]
    source_ids = _source_ids(ctx.config, wanted.sources)
    trends = [t for t in trends if _trend_matches(t, wanted, source_ids)]
    if wanted.lang:
        trends = [t for t in trends if _main_language(ctx.store, t) == wanted.lang]
    blocks = trends_list_blocks(trends, ctx.now, window_minutes=ctx.window_minutes)
    about = wanted.describe()
    if about:
        blocks.insert(1, _context(f"Only trends {escape_mrkdwn(about)}."))
        if not trends:
            blocks[2] = _section(
                f"No trend {escape_mrkdwn(about)} right now. `/inhaker trends` shows everything "
                "that is rising."
            )
    if updated is None:
        blocks.append(_context("No detection has run yet: is `inhaker run` running?"))
    names = ", ".join(t.title for t in trends[:5])
    text = f"Rising now: {names}" if trends else "Nothing is rising right now."
    return Answer(text, blocks[:MAX_BLOCKS], shareable=bool(trends))


# --- open calls ----------------------------------------------------------------------------------


def open_calls(store: Store, config: Config, now: datetime) -> list[tuple[AlertRow, Opportunity]]:
    """Calls alerted within `opportunities.max_age` whose deadline has not passed, soonest first.

    Calls the team dismissed as not relevant or already handled (done) are left out.
    """
    horizon = now - config.opportunities.max_age
    found: list[tuple[AlertRow, Opportunity]] = []
    for row in store.alerts_fired_since(horizon, "opportunity"):
        if "opportunity" not in row.payload or row.status in ("failed",):
            continue
        opp = opportunity_from_dict(row.payload["opportunity"])
        if opp.deadline and opp.deadline < now.date().isoformat():
            continue
        state = alert_state(store.feedback_for(row.id), now)
        if state.done_by or (state.not_relevant and not state.claimed_by and not state.useful):
            continue
        found.append((row, opp))
    found.sort(key=lambda item: (item[1].deadline or "9999-99-99", -item[1].rank, item[0].id))
    return found


def _call_line(store: Store, row: AlertRow, opp: Opportunity, now: datetime) -> str:
    who = escape_mrkdwn(opp.asker or opp.author or opp.source)
    what = escape_mrkdwn(truncate(" ".join((opp.title or opp.text).split()), 160))
    title = f"<{opp.url}|{what}>" if opp.url and opp.url.startswith("http") else what
    deadline = deadline_note(opp.deadline, now.date()) if opp.deadline else "no deadline stated"
    lines = [f"*{who}*: {title}", f"⏳ {deadline}"]
    lines.extend(state_lines(alert_state(store.feedback_for(row.id), now))[:2])
    return "\n".join(lines)


def calls_answer(ctx: Context) -> Answer:
    calls = open_calls(ctx.store, ctx.config, ctx.now)
    blocks: list[Block] = [_header("Open calls")]
    if not calls:
        blocks.append(
            _section("No open calls right now. Inhaker alerts in the channel when one appears.")
        )
        return Answer("No open calls right now.", blocks)
    for row, opp in calls[:SHOWN_CALLS]:
        blocks.append(_section(_call_line(ctx.store, row, opp, ctx.now)))
    if len(calls) > SHOWN_CALLS:
        blocks.append(_context(f"…and {len(calls) - SHOWN_CALLS} more"))
    text = f"{len(calls)} open calls, the first deadline {calls[0][1].deadline or 'not stated'}"
    return Answer(text, blocks, shareable=True)


# --- why -----------------------------------------------------------------------------------------


def find_trend(store: Store, term: str, now: datetime) -> tuple[Trend, AlertRow | None] | None:
    """The current trend about `term`, else the latest alerted one (with its alert row)."""
    wanted = normalize_term(term)
    if not wanted:
        return None
    payloads, _ = store.current_trends()
    current = [trend_from_dict(p) for p in payloads]
    rows = [r for r in store.all_alerts() if r.kind == "trend" and "trend" in r.payload]
    for trend in current:
        if wanted in trend.terms or wanted == normalize_term(trend.title):
            row = next((r for r in reversed(rows) if wanted in r.terms), None)
            return trend, row
    for row in reversed(rows):
        if wanted in row.terms or wanted == normalize_term(row.title):
            return trend_from_dict(row.payload["trend"]), row
    return None


def _label(config: Config, source_id: str) -> str:
    return next((s.label for s in config.sources if s.id == source_id), source_id)


def _post_line(config: Config, post: Post) -> str:
    text = escape_mrkdwn(truncate(" ".join(post.full_text.split()), 200))
    where = escape_mrkdwn(_label(config, post.source))
    by = f" · {escape_mrkdwn(post.author)}" if post.author else ""
    link = f" <{post.url}|open>" if post.url and post.url.startswith("http") else ""
    return f"> {text}\n_{where}{by}_{link}"


def why_answer(ctx: Context, term: str) -> Answer:
    if not term.strip():
        return _plain_answer("Which trend? Try `/inhaker why #twelftal` (see `/inhaker trends`).")
    found = find_trend(ctx.store, term, ctx.now)
    if found is None:
        return _plain_answer(
            f"No trend about {_code(term)} right now or in the alert history. "
            "`/inhaker trends` lists what is rising."
        )
    trend, row = found
    facts = [
        f"*{trend.count} posts* in the last {ctx.window_minutes} min, where "
        f"{trend.baseline_rate:.1f} were expected from its own history "
        f"({trend.ratio:.1f}× its usual rate)",
        f"significance z {trend.score:.1f}"
        + (
            f", Poisson surprise {trend.surprise:.1f} (1 in 10^{trend.surprise:.0f})"
            if trend.surprise
            else ""
        ),
        f"{trend.authors} different authors, from "
        + ", ".join(escape_mrkdwn(_label(ctx.config, s)) for s in trend.sources[:8]),
    ]
    if trend.stage:
        facts.append(f"lifecycle: *{trend.stage}*")
    if trend.sparkline:
        counts = " ".join(str(c) for c in trend.sparkline[-12:])
        facts.append(f"posts per bucket, oldest first: `{counts}`")
    if trend.corroborated_by:
        facts.append(
            "also on the trend lists of "
            + ", ".join(escape_mrkdwn(_label(ctx.config, s)) for s in trend.corroborated_by)
        )
    if trend.watched:
        facts.append("on your watch list: " + ", ".join(_code(w) for w in trend.watched))
    if trend.fit_reasons:
        reasons = escape_mrkdwn("; ".join(trend.fit_reasons))
        facts.append(f"fits your team ({trend.fit:.0%}): {reasons}")
    if ctx.taste is not None:
        effect = ctx.taste.explain(trend, ctx.now)
        if effect.reasons:
            facts.append(
                f"team feedback: ranked ×{effect.multiplier:.2f} — "
                + escape_mrkdwn("; ".join(effect.reasons))
            )
    blocks: list[Block] = [
        _header(f"Why {trend.title} fired"),
        _section("\n".join(f"• {f}" for f in facts)),
    ]
    if row is not None:
        lines = state_lines(alert_state(ctx.store.feedback_for(row.id), ctx.now))
        alerted = f"Alerted {row.created_at:%Y-%m-%d %H:%M} UTC in {escape_mrkdwn(row.channel)}"
        blocks.append(_context(" · ".join([alerted, *lines])))
    posts = ctx.store.posts_by_uids(
        ([trend.representative] if trend.representative else []) + list(trend.evidence[:10])
    )
    seen: set[str] = set()
    shown: list[Post] = []
    for post in posts:
        if post.id not in seen and len(shown) < WHY_POSTS:
            seen.add(post.id)
            shown.append(post)
    if shown:
        lines = "\n".join(_post_line(ctx.config, p) for p in shown)
        blocks.append(_section(f"*Top posts*\n{lines}"))
    text = f"Why {trend.title} fired: {why_line(trend, window_minutes=ctx.window_minutes)}"
    return Answer(text, blocks, shareable=True)


# --- watch terms ---------------------------------------------------------------------------------


def _configured_watch(config: Config) -> list[str]:
    return [t for t in (normalize_term(w) for w in config.watch_terms) if t]


def watch_answer(ctx: Context, words: Sequence[str]) -> Answer:
    action = words[0].lower() if words else "list"
    term_text = " ".join(words[1:])
    if action not in ("add", "remove", "rm", "delete", "list", "ls"):
        # `/inhaker watch werkplek` reads as "watch werkplek": add it.
        action, term_text = "add", " ".join(words)
    if action in ("list", "ls"):
        return watch_list_answer(ctx)
    term = normalize_term(term_text)
    if not term or len(term) > MAX_TERM_CHARS:
        return _plain_answer(
            f"Give one term of at most {MAX_TERM_CHARS} characters: "
            "`/inhaker watch add werkplek` or `/inhaker watch add #twelftal`."
        )
    if action == "add":
        if term in _configured_watch(ctx.config):
            return _plain_answer(f"{_code(term)} is already watched (it is in feeds.yaml).")
        if not ctx.store.add_watch_term(term, ctx.user_id, ctx.now):
            return _plain_answer(f"{_code(term)} is already on the watch list.")
        return _plain_answer(
            f"👀 Watching {_code(term)} from the next detection (within a minute): trends and "
            "calls that mention it count as a full fit. `/inhaker watch remove "
            f"{escape_mrkdwn(term)}` undoes it."
        )
    if ctx.store.remove_watch_term(term):
        return _plain_answer(f"No longer watching {_code(term)}.")
    if term in _configured_watch(ctx.config):
        return _plain_answer(
            f"{_code(term)} is in feeds.yaml (`watch.terms`); remove it there, then Inhaker "
            "picks the change up."
        )
    return _plain_answer(f"{_code(term)} is not on the watch list. `/inhaker watch list` shows it.")


def watch_list_answer(ctx: Context) -> Answer:
    configured = _configured_watch(ctx.config)
    added = ctx.store.watch_terms()
    lines = []
    if configured:
        lines.append("*From feeds.yaml:* " + ", ".join(_code(t) for t in configured))
    if added:
        lines.append(
            "*Added in Slack:* " + ", ".join(f"{_code(w.term)} (<@{w.added_by}>)" for w in added)
        )
    if not lines:
        lines.append("No watch terms yet. Add one: `/inhaker watch add werkplek`.")
    return Answer("Watch terms", [_header("Watch terms"), _section("\n".join(lines))], True)


# --- mutes ---------------------------------------------------------------------------------------


def _duration_words(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    if seconds % 86400 == 0:
        days = seconds // 86400
        return f"{days} day{'s' if days != 1 else ''}"
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{max(1, seconds // 60)} min"


def _split_duration(words: Sequence[str]) -> tuple[list[str], timedelta | None, str | None]:
    """(term words, duration, problem) from `TERM [for] [2d]`."""
    words = list(words)
    if words and _WINDOW.match(words[-1].lower()):
        span = parse_duration(words[-1].lower().removeprefix("last:"))
        words = words[:-1]
        if words and words[-1].lower() in ("for", "voor"):
            words = words[:-1]
        if span > MAX_MUTE:
            return words, None, "A mute lasts at most 365 days."
        return words, span, None
    return words, None, None


def mute_answer(ctx: Context, words: Sequence[str]) -> Answer:
    term_words, span, problem = _split_duration(words)
    if problem:
        return _plain_answer(problem)
    term = normalize_term(" ".join(term_words))
    if not term or len(term) > MAX_TERM_CHARS:
        return _plain_answer(
            "Which term? `/inhaker mute voetbal`, `/inhaker mute #twelftal for 2d` "
            f"(default {MUTE_DAYS} days; m, h, d or w)."
        )
    until = ctx.now + (span or DEFAULT_MUTE)
    ctx.store.mute(term, until=until, user_id=ctx.user_id, now=ctx.now)
    return _plain_answer(
        f"🔇 Muted {_code(term)} until {until:%Y-%m-%d %H:%M} UTC: no new alerts or updates "
        f"mention it. `/inhaker unmute {escape_mrkdwn(term)}` lifts it."
    )


def unmute_answer(ctx: Context, text: str) -> Answer:
    term = normalize_term(text)
    if not term:
        return _plain_answer("Which term? `/inhaker unmute voetbal` (`/inhaker mutes` lists them).")
    if ctx.store.unmute(term):
        return _plain_answer(f"🔊 {_code(term)} is no longer muted.")
    return _plain_answer(f"{_code(term)} was not muted. `/inhaker mutes` lists the mutes.")


def mutes_answer(ctx: Context) -> Answer:
    mutes = ctx.store.active_mutes(ctx.now)
    if not mutes:
        return _plain_answer("Nothing is muted.")
    lines = [
        f"{_code(m.term)} until {m.until:%Y-%m-%d %H:%M} UTC, by <@{m.muted_by}>" for m in mutes
    ]
    return Answer("Muted terms", [_header("Muted"), _section("\n".join(lines))], True)


# --- sources -------------------------------------------------------------------------------------


def source_health_line(
    source_id: str,
    kind: str,
    state: SourceState | None,
    items_last_hour: int = 0,
    trending_last_hour: int = 0,
) -> str:
    """One line of source health, shared by `/inhaker sources` and `inhaker sources`."""
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
        lines.append(f"{icon} {escape_mrkdwn(line)}")
    body = "\n".join(lines) or "No sources configured in feeds.yaml."
    # One section per 20 sources keeps each under Slack's 3,000-character limit.
    blocks: list[Block] = [_header("Sources")]
    for start in range(0, len(lines) or 1, 20):
        chunk = "\n".join(lines[start : start + 20]) or body
        blocks.append(_section(chunk[:2900]))
    return Answer(f"{len(config.sources)} sources", blocks[: MAX_BLOCKS - 1], shareable=True)


# --- digest preview ------------------------------------------------------------------------------


def digest_answer(ctx: Context) -> Answer:
    """What a digest would say now (the scheduled ones go to the channel at `slack.digest`)."""
    digest = build_digest(ctx.store, ctx.config, ctx.now)
    payload = digest.to_payload()
    blocks = digest_blocks(payload, ctx.now)
    times = ", ".join(ctx.config.slack.digest.times)
    when = (
        f"Digests go out at {times} ({ctx.config.slack.timezone})."
        if times
        else "No digest is scheduled: set `slack.digest.times` in feeds.yaml."
    )
    blocks = [*blocks[: MAX_BLOCKS - 1], _context(f"A preview. {when}")]
    return Answer(digest_text(payload), blocks, shareable=True)


# --- leaderboard -------------------------------------------------------------------------------


def leaderboard_answer(ctx: Context, words: Sequence[str]) -> Answer:
    """The month's standings: who claimed and followed through on most hooks."""
    try:
        blocks, text = leaderboard(ctx.store, ctx.config, words[0] if words else None, ctx.now)
    except LeaderboardError as exc:
        return _plain_answer(str(exc))
    return Answer(text, blocks, shareable=True)
