"""Block Kit rendering for Inhaker's Slack messages: alerts, the trends list, digests.

What it does: turns an `Alert` (a rising trend, an open call, a listed trend or a digest) into
Block Kit blocks plus the plain notification fallback text, with the buttons and status lines
its `AlertState` calls for (who took it, votes, snooze, mute) and who should pick it up
(`Handoff`), and renders the list of rising trends for `/inhaker trends`. Everything a person wrote
(post text, authors, titles, source labels) is escaped for Slack mrkdwn (`&`, `<`, `>`), so a
post can never ping `@channel` or inject a link. Every block stays inside Slack's Block Kit
limits (50 blocks, 3000-char sections, 150-char headers, 75-char button labels, ...); long text is
cut with "…" instead of being rejected by Slack.

What it does not do: any I/O. It never calls Slack, reads the clock or the environment: times
come in as arguments (`alert.created_at`, `now=`), and sending is bot/notify/slack.py's job.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from bot.notify.base import Alert, AlertState, EvidencePost
from bot.routing import PLATFORM_LABELS
from detectors.records import ExternalTrend, Opportunity, Trend

Block = dict[str, Any]

# Slack's Block Kit limits (https://docs.slack.dev/reference/block-kit/blocks).
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_TOP_LEVEL_TEXT = 40000

CLAIM_ACTION_ID = "inhaker_claim"
DISMISS_ACTION_ID = "inhaker_dismiss"  # messages sent before v0.6: "Dismiss" = not relevant
USEFUL_ACTION_ID = "inhaker_useful"
NOT_RELEVANT_ACTION_ID = "inhaker_not_relevant"
SNOOZE_ACTION_ID = "inhaker_snooze"
MUTE_ACTION_ID = "inhaker_mute"
DONE_ACTION_ID = "inhaker_done"
RELEASE_ACTION_ID = "inhaker_release"
SHARE_ACTION_ID = "inhaker_share"
ACTIONS_BLOCK_ID = "inhaker_actions"
STATUS_BLOCK_ID = "inhaker_status"
SHARE_BLOCK_ID = "inhaker_share"

# Each alert button and the feedback action it stores (bot/store.py `feedback.action`).
ALERT_BUTTONS = {
    CLAIM_ACTION_ID: "claim",
    USEFUL_ACTION_ID: "useful",
    NOT_RELEVANT_ACTION_ID: "not_relevant",
    DISMISS_ACTION_ID: "not_relevant",
    SNOOZE_ACTION_ID: "snooze",
    MUTE_ACTION_ID: "mute",
    DONE_ACTION_ID: "done",
    RELEASE_ACTION_ID: "release",
}
SNOOZE_HOURS = 3
MUTE_DAYS = 7

POST_TEXT_CHARS = 280  # evidence posts read like a tweet
OPPORTUNITY_TEXT_CHARS = 1200  # the open call itself is the point: show more of it
FALLBACK_TEXT_CHARS = 3000  # notification text; far below Slack's 40000
MAX_TOP_POSTS = 5
SPARKLINE_WIDTH = 48  # newest buckets kept in the inline sparkline

_BARS = "▁▂▃▄▅▆▇█"
_ELLIPSIS = "…"
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")


# --- text helpers -----------------------------------------------------------------------------


def escape_mrkdwn(text: str) -> str:
    """Escape the three characters Slack mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    """Cut `text` to at most `limit` characters, ending with "…" when anything was cut."""
    if limit <= 0:
        return ""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + _ELLIPSIS


def _escaped_clip(raw: str, limit: int) -> str:
    """Escape `raw` for mrkdwn and cut it so the *escaped* text fits in `limit` characters.

    Cutting before escaping keeps entities like `&amp;` whole; measuring after escaping keeps
    the result within the limit even when a post is full of `&` and `<`.
    """
    escaped = escape_mrkdwn(raw)
    if len(escaped) <= limit:
        return escaped
    out: list[str] = []
    used = 0
    budget = limit - 1  # room for the ellipsis
    for ch in raw:
        piece = escape_mrkdwn(ch)
        if used + len(piece) > budget:
            break
        out.append(piece)
        used += len(piece)
    return "".join(out).rstrip() + _ELLIPSIS


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _link(url: str | None, label: str = "open") -> str:
    """A mrkdwn link `<url|label>` for http(s) URLs; "" for anything else or absurdly long URLs."""
    if not url or not url.startswith(("http://", "https://")):
        return ""
    safe = escape_mrkdwn(url.strip()).replace("|", "%7C").replace(" ", "%20")
    if len(safe) > 1500:
        return ""
    return f"<{safe}|{escape_mrkdwn(label)}>"


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(_one_line(text), limit) or " ", "emoji": True}


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def _section(text: str) -> Block:
    return {"type": "section", "text": _mrkdwn(truncate(text, MAX_SECTION_TEXT))}


def _context(*texts: str) -> Block:
    elements = [_mrkdwn(truncate(t, MAX_SECTION_TEXT)) for t in texts if t]
    return {"type": "context", "elements": elements[:MAX_CONTEXT_ELEMENTS]}


def _hhmm(moment: datetime) -> str:
    """A time every reader sees in their own time zone (Slack's date token), UTC as fallback.

    A Dutch team reads "21:01", not "19:01 UTC"; Slack formats the token per user.
    """
    return f"<!date^{int(moment.timestamp())}^{{time}}|{moment:%H:%M} UTC>"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# --- sparkline and why-line ------------------------------------------------------------------


def sparkline(counts: Sequence[int | float]) -> str:
    """Render counts as bars: "" for no counts, ▁ for zero, █ for the maximum.

    Bars are scaled from zero (not from the minimum) so a flat, busy series does not look like a
    spike; any non-zero count gets at least ▂ so "a little" is visibly different from "nothing".
    """
    if not counts:
        return ""
    values = [max(0.0, float(c)) for c in counts]
    top = max(values)
    if top <= 0:
        return _BARS[0] * len(values)
    last = len(_BARS) - 1
    out = []
    for v in values:
        if v <= 0:
            out.append(_BARS[0])
        else:
            out.append(_BARS[max(1, min(last, round(v / top * last)))])
    return "".join(out)


# Lifecycle stage -> (header, what it means for the team: is the window to hook in open?).
STAGES = {
    "emerging": ("🌱 Emerging:", "🟢 *Emerging* — just started; first movers have the floor."),
    "rising": ("📈 Rising:", "🟢 *Rising* — still growing; the window to hook in is open."),
    "peaking": ("🔝 Peaking:", "🟡 *Peaking* — at its height; hook in now or let it go."),
    "fading": ("📉 Fading:", "🔴 *Fading* — past its peak; the window is closing."),
}


def _ratio(ratio: float) -> str:
    return f"{ratio:.0f}×" if ratio >= 100 else f"{ratio:.1f}×"


def why_line(trend: Trend, *, window_minutes: int = 60) -> str:
    """Why a trend fires, in one plain line (not escaped; it holds no user text)."""
    return (
        f"{_plural(trend.count, 'post')} in the last {window_minutes} min, "
        f"{_ratio(trend.ratio)} its usual rate, "
        f"from {_plural(trend.authors, 'author')} across {_plural(len(trend.sources), 'source')}"
    )


def _spark_code(trend: Trend) -> str:
    spark = sparkline(trend.sparkline[-SPARKLINE_WIDTH:])
    return f"`{spark}`" if spark else ""


# --- alerts ----------------------------------------------------------------------------------


def _button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": _plain(text, MAX_BUTTON_TEXT),
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def _actions(alert: Alert) -> Block:
    """The alert's buttons, for the state it is in (claimed alerts offer "Done" instead)."""
    value = truncate(alert.id, MAX_BUTTON_VALUE)
    state = alert.state
    if state.claimed_by:
        first = [
            _button("✅ Done — we hooked in", DONE_ACTION_ID, value, "primary"),
            _button("Let it go", RELEASE_ACTION_ID, value),
        ]
    else:
        first = [_button("✋ I'll take it", CLAIM_ACTION_ID, value, "primary")]
    elements = [
        *first,
        _button("👍 Useful", USEFUL_ACTION_ID, value),
        _button("👎 Not relevant", NOT_RELEVANT_ACTION_ID, value),
        _button(f"⏰ Snooze {SNOOZE_HOURS}h", SNOOZE_ACTION_ID, value),
    ]
    if alert.kind in ("trend", "listed"):
        elements.append(_button("🔇 Mute topic", MUTE_ACTION_ID, value))
    return {"type": "actions", "block_id": ACTIONS_BLOCK_ID, "elements": elements}


def _who(user_id: str) -> str:
    return f"<@{user_id}>" if _USER_ID.fullmatch(user_id) else escape_mrkdwn(user_id)


def state_lines(state: AlertState) -> list[str]:
    """What the team did with an alert, one line each, for everyone to see."""
    lines: list[str] = []
    if state.done_by:
        lines.append(f"✅ {_who(state.done_by)} hooked in on this")
    elif state.claimed_by:
        lines.append(f"✋ {_who(state.claimed_by)} took this")
    if state.useful:
        lines.append("👍 Useful for " + ", ".join(_who(u) for u in state.useful[:10]))
    if state.not_relevant:
        lines.append("👎 Not relevant for " + ", ".join(_who(u) for u in state.not_relevant[:10]))
    if state.snoozed_until and state.snoozed_by:
        lines.append(
            f"⏰ Snoozed by {_who(state.snoozed_by)} until {_hhmm(state.snoozed_until)}: "
            "Inhaker reminds them in the thread"
        )
    if state.muted_by:
        lines.append(
            f"🔇 Topic muted by {_who(state.muted_by)} for {MUTE_DAYS} days "
            "(`/inhaker mutes` lists mutes, `/inhaker unmute TERM` lifts one)"
        )
    return lines


def _with_state(blocks: list[Block], alert: Alert) -> list[Block]:
    """The alert's blocks with its status line and the buttons its state allows."""
    lines = state_lines(alert.state)
    out: list[Block] = []
    for block in blocks:
        if _is_inhaker_actions(block):
            if lines:
                status = _context(*lines[:MAX_CONTEXT_ELEMENTS])
                status["block_id"] = STATUS_BLOCK_ID
                out.append(status)
            if not alert.state.done_by and not alert.state.muted_by:
                out.append(block)  # done or muted: nothing left to click
            continue
        out.append(block)
    return out[:MAX_BLOCKS]


def _post_block(post: EvidencePost) -> Block:
    meta = [f"*{_escaped_clip(_one_line(post.source_label or post.source), 100)}*"]
    if post.author:
        meta.append(_escaped_clip(_one_line(post.author), 100))
    meta.append(_hhmm(post.created_at))
    body = post.text
    if post.title and post.title not in body:
        body = f"{post.title} — {body}" if body else post.title
    text = _escaped_clip(_one_line(body), POST_TEXT_CHARS)
    link = _link(post.url)
    line = " · ".join(meta) + "\n" + text + (f"  {link}" if link else "")
    return _section(line)


def _trend_blocks(alert: Alert, trend: Trend, window_minutes: int) -> list[Block]:
    stage = STAGES.get(trend.stage)
    header = f"{stage[0]} {trend.title}" if stage else f"📈 Rising: {trend.title}"
    blocks: list[Block] = [{"type": "header", "text": _plain(header, MAX_HEADER_TEXT)}]
    why = f"*{why_line(trend, window_minutes=window_minutes)}*"
    spark = _spark_code(trend)
    lines = [why, spark] if spark else [why]
    if stage:
        lines.append(stage[1])
    blocks.append(_section("\n".join(lines)))

    notes = []
    if trend.terms:
        terms = ", ".join(trend.terms[:20])
        notes.append(f"Terms: {_escaped_clip(terms, 600)}")
    labels = [alert.source_labels.get(s, s) for s in trend.sources[:10]]
    if labels:
        notes.append(f"Sources: {_escaped_clip(', '.join(labels), 600)}")
    notes.append(f"score {trend.score:.1f}")
    if trend.surprise:
        # How unlikely the count is by chance, in words a reader can weigh.
        notes.append(f"chance ~1 in 10^{trend.surprise:.0f}")
    context_texts = [" · ".join(notes)]
    if trend.watched:
        watched = ", ".join(trend.watched[:20])
        context_texts.append(f"👀 On your watch list: {_escaped_clip(watched, 600)}")
    profile_reasons = [r for r in trend.fit_reasons if not r.startswith("matches your watch")]
    if profile_reasons:
        fits = "; ".join(profile_reasons)
        context_texts.append(f"🎯 Fits your team ({trend.fit:.0%}): {_escaped_clip(fits, 600)}")
    if trend.corroborated_by:
        lists = ", ".join(alert.source_labels.get(s, s) for s in trend.corroborated_by[:10])
        context_texts.append(f"✅ Also on the trend list of {_escaped_clip(lists, 600)}")
    if alert.is_update:
        now_is = trend.stage or "still rising"
        context_texts.append(f"🔁 Updated {_hhmm(trend.detected_at)}: {now_is}")
    blocks.append(_context(*context_texts))

    if alert.top_posts:
        blocks.append({"type": "divider"})
        blocks.extend(_post_block(p) for p in alert.top_posts[:MAX_TOP_POSTS])
    blocks.extend(_handoff_blocks(alert))
    blocks.append(_actions(alert))
    return blocks


def _traffic(value: float | None) -> str:
    if value is None:
        return ""
    if value >= 1_000_000:
        return f"{value / 1_000_000:g}M+"
    if value >= 1_000:
        return f"{value / 1_000:g}K+"
    return f"{value:g}"


def _listed_blocks(alert: Alert, listed: ExternalTrend) -> list[Block]:
    where = alert.source_labels.get(listed.source, listed.source)
    title = _one_line(listed.title)
    blocks: list[Block] = [
        {"type": "header", "text": _plain(f"🔥 Trending on {where}: {title}", MAX_HEADER_TEXT)},
    ]
    facts = [f"*{_escaped_clip(title, 300)}* is on {_escaped_clip(where, 100)}'s trend list"]
    if listed.traffic:
        facts.append(f"about {_traffic(listed.traffic)} searches or posts")
    if alert.watched:
        facts.append(f"matches your watch term *{_escaped_clip(alert.watched[0], 100)}*")
    blocks.append(_section(", ".join(facts) + "."))
    news = [
        f"• {_escaped_clip(_one_line(headline), 280)}" + (f"  {_link(url)}" if _link(url) else "")
        for headline, url in listed.news[:MAX_TOP_POSTS]
    ]
    if news:
        blocks.append(_section(_escaped_clip("\n".join(news), MAX_SECTION_TEXT)))
    meta = [f"since {_hhmm(listed.observed_at)}"]
    link = _link(listed.url, "see the list")
    if link:
        meta.append(link)
    blocks.append(_context(" · ".join(meta)))
    blocks.extend(_handoff_blocks(alert))
    blocks.append(_actions(alert))
    return blocks


def _humanize(category: str) -> str:
    return category.replace("_", " ").strip().capitalize()


def deadline_note(deadline: str, today: date) -> str:
    """ "2014-06-20 (in 7 days)"; the raw string when it is not an ISO date."""
    try:
        day = date.fromisoformat(deadline)
    except ValueError:
        return deadline
    days = (day - today).days
    if days == 0:
        rel = "today"
    elif days > 0:
        rel = f"in {_plural(days, 'day')}"
    else:
        rel = f"passed {_plural(-days, 'day')} ago"
    return f"{day.isoformat()} ({rel})"


def _field(label: str, value: str) -> dict[str, Any]:
    head = f"*{label}*\n"
    return _mrkdwn(head + truncate(value, MAX_FIELD_TEXT - len(head)))


_RESPONSE_WORDS = {
    "email": "e-mail",
    "link": "via the link",
    "form": "via their form",
    "dm": "a direct message",
    "phone": "by phone",
    "hashtag": "post with",
    "reply": "reply to the post",
}


def _response_note(opp: Opportunity) -> str:
    """ "e-mail redactie@emerce.nl", "post with #mijnwerkplek", "not stated"."""
    if not opp.response:
        return "not stated: see the post"
    words = _RESPONSE_WORDS.get(opp.response, opp.response)
    if opp.response_value:
        value = opp.response_value
        shown = (
            _link(value, value[:80]) if opp.response == "link" else escape_mrkdwn(_one_line(value))
        )
        return f"{escape_mrkdwn(words)} {shown or escape_mrkdwn(value)}"
    return escape_mrkdwn(words)


def _opportunity_who(alert: Alert, opp: Opportunity) -> str:
    return opp.asker or alert.source_labels.get(opp.source, opp.source)


def _opportunity_blocks(alert: Alert, opp: Opportunity) -> list[Block]:
    who = _opportunity_who(alert, opp)
    blocks: list[Block] = [
        {"type": "header", "text": _plain(f"🎯 Open call: {who}", MAX_HEADER_TEXT)},
    ]
    body = _escaped_clip(opp.text.strip(), OPPORTUNITY_TEXT_CHARS)
    if opp.title and opp.title not in opp.text:
        body = f"*{_escaped_clip(_one_line(opp.title), 300)}*\n{body}"
    blocks.append(_section(body or "_(no text)_"))

    fields = [
        _field("Who asks", escape_mrkdwn(_one_line(who))),
        _field(
            "What",
            escape_mrkdwn(_humanize(opp.category or "open call"))
            + (f": {_escaped_clip(_one_line(opp.topic), 300)}" if opp.topic else ""),
        ),
        _field(
            "Deadline",
            escape_mrkdwn(deadline_note(opp.deadline, alert.created_at.date()))
            if opp.deadline
            else "none stated",
        ),
        _field("How to respond", _response_note(opp)),
    ]
    if opp.fit_reasons:
        fields.append(
            _field(f"Why it fits ({opp.fit:.0%})", _escaped_clip("; ".join(opp.fit_reasons), 1900))
        )
    if opp.reasons:
        fields.append(
            _field(
                f"Why it is a call ({opp.score:.2f})",
                _escaped_clip("; ".join(opp.reasons), 1900),
            )
        )
    link = _link(opp.url)
    if link:
        fields.append(_field("Link", link))
    blocks.append({"type": "section", "fields": fields[:MAX_FIELDS]})

    meta = [f"*{_escaped_clip(_one_line(alert.source_labels.get(opp.source, opp.source)), 100)}*"]
    if opp.author:
        meta.append(_escaped_clip(_one_line(opp.author), 100))
    meta.append(_hhmm(opp.detected_at))
    context_texts = [" · ".join(meta)]
    if opp.watched:
        context_texts.append(f"👀 On your watch list: {_escaped_clip(', '.join(opp.watched), 600)}")
    blocks.append(_context(*context_texts))
    blocks.extend(_handoff_blocks(alert))
    blocks.append(_actions(alert))
    return blocks


def alert_blocks(alert: Alert, *, window_minutes: int = 60) -> list[Block]:
    """The Block Kit message for one alert (trend or opportunity), within Slack's limits."""
    if alert.kind == "digest":
        return digest_blocks(alert.digest or {}, alert.created_at)  # a summary: no buttons
    if alert.trend is not None:
        blocks = _trend_blocks(alert, alert.trend, window_minutes)
    elif alert.opportunity is not None:
        blocks = _opportunity_blocks(alert, alert.opportunity)
    elif alert.listed is not None:
        blocks = _listed_blocks(alert, alert.listed)
    else:
        blocks = [_section(_escaped_clip(alert.title, MAX_SECTION_TEXT)), _actions(alert)]
    # What the team did with it (claimed, useful, snoozed...) stays on every version of it.
    return _with_state(blocks, alert)


def alert_text(alert: Alert, *, window_minutes: int = 60) -> str:
    """The notification fallback text: what a phone's lock screen or a screen reader shows."""
    if alert.kind == "digest":
        return digest_text(alert.digest or {})
    if alert.trend is not None:
        head = f"📈 Rising: {escape_mrkdwn(_one_line(alert.trend.title))}"
        text = f"{head} — {why_line(alert.trend, window_minutes=window_minutes)}"
    elif alert.opportunity is not None:
        opp = alert.opportunity
        head = f"🎯 Open call: {escape_mrkdwn(_one_line(_opportunity_who(alert, opp)))}"
        text = f"{head} — {_escaped_clip(_one_line(opp.title or opp.text), 200)}"
    elif alert.listed is not None:
        where = alert.source_labels.get(alert.listed.source, alert.listed.source)
        text = f"🔥 Trending on {escape_mrkdwn(where)}: {escape_mrkdwn(_one_line(alert.title))}"
    else:
        text = escape_mrkdwn(_one_line(alert.title))
    return truncate(text, FALLBACK_TEXT_CHARS)


# --- /trends ---------------------------------------------------------------------------------

EMPTY_TRENDS_TEXT = "Nothing is rising right now. Inhaker checks again every few minutes."


def _age(detected_at: datetime, now: datetime) -> str:
    minutes = max(0, int((now - detected_at).total_seconds() // 60))
    if minutes < 1:
        return "just now"
    if minutes < 120:
        return f"{minutes} min ago"
    return f"{minutes // 60} h ago"


def trends_list_blocks(
    trends: Sequence[Trend], now: datetime, *, window_minutes: int = 60
) -> list[Block]:
    """The `/trends` answer: a header and one section per rising trend (or a calm note)."""
    blocks: list[Block] = [{"type": "header", "text": _plain("Rising now", MAX_HEADER_TEXT)}]
    if not trends:
        blocks.append(_section(EMPTY_TRENDS_TEXT))
        return blocks
    room = MAX_BLOCKS - 2  # header + a possible "and N more" line
    shown = trends if len(trends) <= MAX_BLOCKS - 1 else trends[:room]
    for trend in shown:
        title = _escaped_clip(_one_line(trend.title), 150)
        spark = _spark_code(trend)
        first = f"*{title}*  {spark}" if spark else f"*{title}*"
        if trend.stage:
            first += f"  _{trend.stage}_"
        since = f"_since {_hhmm(trend.detected_at)} ({_age(trend.detected_at, now)})_"
        blocks.append(
            _section(f"{first}\n{why_line(trend, window_minutes=window_minutes)}\n{since}")
        )
    if len(shown) < len(trends):
        blocks.append(_context(f"…and {len(trends) - len(shown)} more"))
    return blocks


# --- after a button click --------------------------------------------------------------------

_OUR_ACTION_IDS = frozenset(ALERT_BUTTONS)


def _is_inhaker_actions(block: Block) -> bool:
    if block.get("type") != "actions":
        return False
    if block.get("block_id") == ACTIONS_BLOCK_ID:
        return True
    ids = {e.get("action_id") for e in block.get("elements", []) if isinstance(e, dict)}
    return bool(ids & _OUR_ACTION_IDS)


# --- who picks it up (feeds.yaml team) -------------------------------------------------------


def _handoff_context(alert: Alert) -> Block | None:
    """ "👤 <@U123> (Marloes) · post on *LinkedIn* or *X* — a call from trade press: ..."

    The mention notifies the person (only well-formed member ids become mentions); names and
    the reason are escaped. None when the alert suggests nobody and no platform.
    """
    handoff = alert.handoff
    if handoff is None or not (handoff.people or handoff.platforms):
        return None
    people = ", ".join(
        f"<@{slack_id}> ({_escaped_clip(_one_line(name), 80)})"
        if _USER_ID.fullmatch(slack_id)
        else _escaped_clip(_one_line(name), 80)
        for slack_id, name in handoff.people
    )
    text = f"👤 {people}" if people else "📣"
    if handoff.platforms:
        names = [f"*{escape_mrkdwn(PLATFORM_LABELS.get(p, p))}*" for p in handoff.platforms]
        where = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
        text += f" · post on {where}" if people else f" Post on {where}"
    if handoff.reason:
        text += f" — {_escaped_clip(_one_line(handoff.reason), 600)}"
    return _context(text)


def _handoff_blocks(alert: Alert) -> list[Block]:
    block = _handoff_context(alert)
    return [block] if block is not None else []


# --- the digest (bot/digest.py builds the payload) -------------------------------------------

DIGEST_EMPTY = {
    "trends": "Nothing is rising right now.",
    "calls": "No open calls.",
}
_HELD_ICONS = {"trend": "📈", "opportunity": "🎯", "listed": "🔥"}


def _digest_day(payload: dict[str, Any]) -> date | None:
    try:
        return date.fromisoformat(str(payload.get("day")))
    except ValueError:
        return None


def _digest_sections(title: str, lines: Sequence[str]) -> list[Block]:
    """A bold title and the lines, split over as many sections as Slack's 3000 chars need."""
    blocks: list[Block] = []
    current = f"*{title}*"
    for line in lines:
        line = truncate(line, MAX_SECTION_TEXT - len(title) - 10)
        if len(current) + 1 + len(line) > MAX_SECTION_TEXT:
            blocks.append(_section(current))
            current = line
        else:
            current = f"{current}\n{line}"
    blocks.append(_section(current))
    return blocks


def _digest_trend_line(item: dict[str, Any], now: datetime) -> str:
    title = _escaped_clip(_one_line(str(item.get("title", ""))), 150)
    stage = f"  _{escape_mrkdwn(str(item['stage']))}_" if item.get("stage") else ""
    count, authors, sources = (int(item.get(k) or 0) for k in ("count", "authors", "sources"))
    facts = (
        f"{_plural(count, 'post')}, {_ratio(float(item.get('ratio') or 0.0))} the usual rate, "
        f"{_plural(authors, 'author')}, {_plural(sources, 'source')}"
    )
    line = f"• *{title}*{stage} · {facts}"
    try:
        since = datetime.fromisoformat(str(item.get("detected_at")))
        line += f" · since {_hhmm(since)} ({_age(since, now)})"
    except ValueError:
        pass
    watched = [str(w) for w in item.get("watched") or []]
    if watched:
        line += f" · 👀 {_escaped_clip(', '.join(watched), 200)}"
    return line


def _digest_call_line(item: dict[str, Any], today: date | None) -> str:
    who = _escaped_clip(_one_line(str(item.get("who", ""))), 100)
    what = _escaped_clip(_one_line(str(item.get("title", ""))), 200)
    line = f"• *{who}* ({escape_mrkdwn(str(item.get('category') or 'open call'))}): {what}"
    deadline = item.get("deadline")
    if deadline and today is not None:
        line += f" · deadline {escape_mrkdwn(deadline_note(str(deadline), today))}"
    elif not deadline:
        line += " · no deadline stated"
    link = _link(item.get("url"))
    return f"{line}  {link}" if link else line


def _digest_held_line(item: dict[str, Any]) -> str:
    icon = _HELD_ICONS.get(str(item.get("kind")), "•")
    title = _escaped_clip(_one_line(str(item.get("title", ""))), 200)
    line = f"{icon} *{title}*"
    if item.get("why"):
        line += f" — {_escaped_clip(_one_line(str(item['why'])), 400)}"
    link = _link(item.get("url"))
    return f"{line}  {link}" if link else line


def digest_blocks(payload: dict[str, Any], now: datetime) -> list[Block]:
    """The digest message: rising trends, open calls with days left, what waited overnight.

    `payload` is bot/digest.py `Digest.to_payload()`. A digest is a summary: it has no buttons.
    """
    day = _digest_day(payload)
    slot = str(payload.get("slot") or "")
    when = f"{day:%a %d %b}, {slot}" if day else slot
    blocks: list[Block] = [
        {"type": "header", "text": _plain(f"🗞️ Inhaker digest · {when}", MAX_HEADER_TEXT)}
    ]
    trends = list(payload.get("trends") or [])
    calls = list(payload.get("calls") or [])
    held = list(payload.get("held") or [])
    more_calls, more_held = int(payload.get("more_calls") or 0), int(payload.get("more_held") or 0)
    blocks.append(
        _context(
            f"{_plural(len(trends), 'trend')} rising · "
            f"{_plural(len(calls) + more_calls, 'open call')} · "
            f"{len(held) + more_held} held during quiet hours · "
            f"times in {escape_mrkdwn(str(payload.get('timezone') or 'UTC'))}"
        )
    )
    trend_lines = [_digest_trend_line(t, now) for t in trends] or [DIGEST_EMPTY["trends"]]
    blocks.extend(_digest_sections("📈 Rising now", trend_lines))
    call_lines = [_digest_call_line(c, day) for c in calls] or [DIGEST_EMPTY["calls"]]
    if more_calls:
        call_lines.append(f"…and {more_calls} more")
    blocks.extend(_digest_sections("🎯 Open calls", call_lines))
    if held or more_held:
        held_lines = [_digest_held_line(h) for h in held]
        if more_held:
            held_lines.append(f"…and {more_held} more")
        blocks.append({"type": "divider"})
        blocks.extend(_digest_sections("🌙 Held during quiet hours", held_lines))
    return blocks[:MAX_BLOCKS]


def digest_text(payload: dict[str, Any]) -> str:
    """The digest's notification text: how much is in it."""
    trends = len(payload.get("trends") or [])
    calls = len(payload.get("calls") or []) + int(payload.get("more_calls") or 0)
    held = len(payload.get("held") or []) + int(payload.get("more_held") or 0)
    slot = escape_mrkdwn(str(payload.get("slot") or ""))
    text = f"🗞️ Inhaker digest {slot}: {_plural(trends, 'trend')} rising, "
    text += _plural(calls, "open call")
    if held:
        text += f", {held} held during quiet hours"
    return truncate(text, FALLBACK_TEXT_CHARS)
