"""Console notifier: alerts as readable text in a terminal (the default without a Slack token).

What it does: prints each alert as a short block of plain text — what rises or who asks, why it
fires (counts, ratio to baseline, authors, sources, a sparkline), and the top posts with links —
and an "updated" line when a trend grows. A thread reply (a new stage, a reminder) is printed
indented under a line naming its alert. It returns a reference so edits can be matched.

What it does not do: colour, paging, or any network I/O.
"""

from __future__ import annotations

import sys
import textwrap
from typing import TextIO

from bot.digest import digest_plain_text
from bot.notify.base import Alert, EvidencePost
from bot.slack.blocks import deadline_note, sparkline, why_line

_WIDTH = 100


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _post_line(post: EvidencePost) -> str:
    who = post.author or post.source_label
    head = f"{post.created_at:%H:%M} {post.source_label}"
    if post.author and post.author != post.source_label:
        head += f" · {who}"
    body = _clip(post.title or post.text, 160)
    line = f"    - [{head}] {body}"
    if post.url:
        line += f"\n      {post.url}"
    return line


def render_alert(alert: Alert, *, window_minutes: int = 60) -> str:
    """The text block the console notifier prints for one alert."""
    if alert.kind == "digest":
        return digest_plain_text(alert.digest or {})
    lines: list[str] = []
    # An update is stamped when the trend was seen this big, not when it first alerted.
    when = alert.trend.detected_at if alert.trend is not None else alert.created_at
    stamp = f"{when:%Y-%m-%d %H:%M} UTC"
    if alert.trend is not None:
        trend = alert.trend
        label = "UPDATED" if alert.is_update else "TREND"
        stage = f"  [{trend.stage}]" if trend.stage else ""
        lines.append(f"📈 {label}  {trend.title}{stage}   ({stamp})")
        lines.append(f"  why: {why_line(trend, window_minutes=window_minutes)}")
        if trend.sparkline:
            lines.append(f"  last hours: {sparkline(trend.sparkline)}")
        if len(trend.terms) > 1:
            lines.append(f"  terms: {', '.join(trend.terms)}")
        if trend.watched:
            lines.append(f"  matches your watch terms: {', '.join(trend.watched)}")
    elif alert.opportunity is not None:
        opp = alert.opportunity
        who = opp.asker or opp.author or opp.source
        lines.append(f"🎯 OPEN CALL  {who}   ({stamp})")
        lines.append(textwrap.indent(textwrap.fill(_clip(opp.text, 400), _WIDTH - 4), "  "))
        facts = [f"score {opp.score:.2f}"]
        if opp.category:
            facts.append(opp.category.replace("_", " "))
        if opp.deadline:
            facts.append(f"deadline {deadline_note(opp.deadline, alert.created_at.date())}")
        lines.append("  " + " · ".join(facts))
        if opp.reasons:
            lines.append(f"  why: {'; '.join(opp.reasons[:4])}")
        if opp.url:
            lines.append(f"  {opp.url}")
    elif alert.listed is not None:
        listed = alert.listed
        where = alert.source_labels.get(listed.source, listed.source)
        lines.append(f"🔥 TRENDING ON {where.upper()}  {listed.title}   ({stamp})")
        facts = []
        if listed.traffic:
            facts.append(f"about {listed.traffic:,.0f} searches or posts")
        if alert.watched:
            facts.append(f"matches your watch term {alert.watched[0]}")
        if facts:
            lines.append("  " + " · ".join(facts))
        for headline, url in listed.news[:5]:
            lines.append(f"    - {_clip(headline, 160)}" + (f"\n      {url}" if url else ""))
    if alert.trend is not None and alert.trend.corroborated_by:
        lists = ", ".join(alert.source_labels.get(s, s) for s in alert.trend.corroborated_by)
        lines.append(f"  also on the trend list of: {lists}")
    if alert.trend is not None and alert.top_posts:
        lines.append("  top posts:")
        lines.extend(_post_line(p) for p in alert.top_posts)
    return "\n".join(lines)


class ConsoleNotifier:
    """Writes alerts to a text stream (stdout by default)."""

    def __init__(self, stream: TextIO | None = None, *, window_minutes: int = 60) -> None:
        self.stream = stream
        self.window_minutes = window_minutes

    def _write(self, text: str) -> None:
        out = self.stream or sys.stdout
        out.write(text + "\n\n")
        out.flush()

    def send(self, alert: Alert) -> str | None:
        self._write(render_alert(alert, window_minutes=self.window_minutes))
        return f"console:{alert.id}"

    def update(self, alert: Alert, ref: str) -> None:
        updated = Alert(
            id=alert.id,
            kind=alert.kind,
            channel=alert.channel,
            created_at=alert.created_at,
            trend=alert.trend,
            opportunity=alert.opportunity,
            top_posts=alert.top_posts[:2],
            source_labels=alert.source_labels,
            is_update=True,
        )
        self._write(render_alert(updated, window_minutes=self.window_minutes))

    def reply(self, alert: Alert, ref: str, text: str, *, mention: str | None = None) -> str | None:
        who = f"@{mention} " if mention else ""
        # The text is Slack mrkdwn; a terminal shows the escaped characters as themselves.
        plain = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
        body = textwrap.indent(textwrap.fill(f"{who}{plain}", _WIDTH - 6), "      ")
        self._write(f"  ↳ in the thread of {_clip(alert.title, 80)}:\n{body}")
        return f"console:{alert.id}:reply"
