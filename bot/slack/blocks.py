"""Block Kit rendering for Inhaker's Slack messages: alerts, the `/trends` answer, claim notes.

What it does: turns an `Alert` (a rising trend or an open call) into Block Kit blocks plus the
plain notification fallback text, renders the list of rising trends for `/trends`, and rewrites
an alert's blocks after someone clicks "I'll take it" or "Dismiss". Everything a person wrote
(post text, authors, titles, source labels) is escaped for Slack mrkdwn (`&`, `<`, `>`), so a
post can never ping `@channel` or inject a link. Every block stays inside Slack's Block Kit
limits (50 blocks, 3000-char sections, 150-char headers, 75-char button labels, ...); long text is
cut with "…" instead of being rejected by Slack.

What it does not do: any I/O. It never calls Slack, reads the clock or the environment: times
come in as arguments (`alert.created_at`, `now=`), and sending is bot/notify/slack.py's job.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from bot.notify.base import Alert, EvidencePost
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
DISMISS_ACTION_ID = "inhaker_dismiss"
ACTIONS_BLOCK_ID = "inhaker_actions"
STATUS_BLOCK_ID = "inhaker_status"

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


def _actions(alert: Alert) -> Block:
    value = truncate(alert.id, MAX_BUTTON_VALUE)
    return {
        "type": "actions",
        "block_id": ACTIONS_BLOCK_ID,
        "elements": [
            {
                "type": "button",
                "text": _plain("I'll take it", MAX_BUTTON_TEXT),
                "action_id": CLAIM_ACTION_ID,
                "value": value,
                "style": "primary",
            },
            {
                "type": "button",
                "text": _plain("Dismiss", MAX_BUTTON_TEXT),
                "action_id": DISMISS_ACTION_ID,
                "value": value,
            },
        ],
    }


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
    blocks.append(_actions(alert))
    return blocks


def alert_blocks(alert: Alert, *, window_minutes: int = 60) -> list[Block]:
    """The Block Kit message for one alert (trend or opportunity), within Slack's limits."""
    if alert.trend is not None:
        blocks = _trend_blocks(alert, alert.trend, window_minutes)
    elif alert.opportunity is not None:
        blocks = _opportunity_blocks(alert, alert.opportunity)
    elif alert.listed is not None:
        blocks = _listed_blocks(alert, alert.listed)
    else:
        blocks = [_section(_escaped_clip(alert.title, MAX_SECTION_TEXT)), _actions(alert)]
    if alert.handled_by is not None:
        # Someone took or dismissed it already: an edit of a growing trend must keep saying so.
        user_id, action = alert.handled_by
        return claimed_blocks(blocks[:MAX_BLOCKS], user_id, action)
    return blocks[:MAX_BLOCKS]


def alert_text(alert: Alert, *, window_minutes: int = 60) -> str:
    """The notification fallback text: what a phone's lock screen or a screen reader shows."""
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

_CLAIM_ACTIONS = {"claim", CLAIM_ACTION_ID}
_DISMISS_ACTIONS = {"dismiss", DISMISS_ACTION_ID}


def _is_inhaker_actions(block: Block) -> bool:
    if block.get("type") != "actions":
        return False
    if block.get("block_id") == ACTIONS_BLOCK_ID:
        return True
    ids = {e.get("action_id") for e in block.get("elements", []) if isinstance(e, dict)}
    return bool(ids & {CLAIM_ACTION_ID, DISMISS_ACTION_ID})


def claimed_blocks(original_blocks: Sequence[Block], user_id: str, action: str) -> list[Block]:
    """The alert's blocks with its buttons replaced by who took or dismissed it.

    `action` is "claim"/"dismiss" (or the button's action_id). The input is not modified.
    """
    if action in _CLAIM_ACTIONS:
        template = "✋ {who} took this"
    elif action in _DISMISS_ACTIONS:
        template = "🙈 Dismissed by {who}"
    else:
        raise ValueError(f"unknown action {action!r}: expected 'claim' or 'dismiss'")
    who = f"<@{user_id}>" if _USER_ID.fullmatch(user_id) else escape_mrkdwn(user_id)
    status = _context(template.format(who=who))
    status["block_id"] = STATUS_BLOCK_ID

    out: list[Block] = []
    replaced = False
    for block in original_blocks:
        if block.get("block_id") == STATUS_BLOCK_ID:
            continue  # an earlier note; the new one replaces it
        if _is_inhaker_actions(block):
            if not replaced:
                out.append(status)
                replaced = True
            continue
        out.append(copy.deepcopy(block))
    if not replaced:
        out = out[: MAX_BLOCKS - 1]
        out.append(status)
    return out
