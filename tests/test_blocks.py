"""Block Kit rendering: sparklines, why-lines, escaping, truncation, limits and claim notes.

Pure tests: records in, blocks out. Limits are checked with the same validator the fake Slack
server uses (tests/fake_slack.py), so "renders" means "Slack would accept it".
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.notify.base import Alert, AlertState, EvidencePost
from bot.slack.blocks import (
    EMPTY_TRENDS_TEXT,
    alert_blocks,
    alert_text,
    escape_mrkdwn,
    sparkline,
    state_lines,
    trends_list_blocks,
    truncate,
)
from detectors.records import Opportunity, Trend
from tests.fake_slack import validate_blocks

NOW = datetime(2014, 6, 13, 19, 40, tzinfo=UTC)


def make_trend(**overrides: object) -> Trend:
    values: dict[str, object] = {
        "key": "trend:twelftal",
        "title": "#twelftal",
        "terms": ("twelftal", "oranje"),
        "detected_at": NOW,
        "score": 12.3,
        "count": 42,
        "baseline_rate": 4.0,
        "ratio": 8.4,
        "authors": 17,
        "sources": ("x", "nos", "mastodon"),
        "evidence": ("t-1", "t-2"),
        "sparkline": (0, 1, 2, 4, 9),
        "watched": ("#twelftal",),
    }
    values.update(overrides)
    return Trend(**values)  # type: ignore[arg-type]


def make_post(i: int = 1, **overrides: object) -> EvidencePost:
    values: dict[str, object] = {
        "id": f"t-{i}",
        "source": "x",
        "source_label": "X",
        "text": f"Wat een goal van Van Persie! #twelftal {i}",
        "created_at": NOW - timedelta(minutes=i),
        "author": f"@fan{i}",
        "url": f"https://example.com/status/{i}",
    }
    values.update(overrides)
    return EvidencePost(**values)  # type: ignore[arg-type]


def trend_alert(**overrides: object) -> Alert:
    values: dict[str, object] = {
        "id": "trend:twelftal:2014-06-13T19:40Z",
        "kind": "trend",
        "channel": "#inhaker",
        "created_at": NOW,
        "trend": make_trend(),
        "top_posts": (make_post(1), make_post(2)),
        "source_labels": {"x": "X", "nos": "NOS", "mastodon": "Mastodon"},
    }
    values.update(overrides)
    return Alert(**values)  # type: ignore[arg-type]


def make_opportunity(**overrides: object) -> Opportunity:
    values: dict[str, object] = {
        "key": "opportunity:emerce:123",
        "post_id": "123",
        "source": "emerce",
        "detected_at": NOW,
        "score": 0.93,
        "category": "journalist_request",
        "deadline": "2014-06-20",
        "asker": "Emerce",
        "text": (
            "Wij zoeken marketeers die willen vertellen over hun WK-campagne. Reageer voor 20 juni."
        ),
        "url": "https://emerce.nl/oproep/123",
        "author": "@emerce",
        "reasons": ("'wij zoeken'", "deadline stated"),
    }
    values.update(overrides)
    return Opportunity(**values)  # type: ignore[arg-type]


def opportunity_alert(**overrides: object) -> Alert:
    values: dict[str, object] = {
        "id": "opportunity:emerce:123",
        "kind": "opportunity",
        "channel": "#inhaker",
        "created_at": NOW,
        "opportunity": make_opportunity(),
        "source_labels": {"emerce": "Emerce RSS"},
    }
    values.update(overrides)
    return Alert(**values)  # type: ignore[arg-type]


def all_text(blocks: list[dict]) -> str:
    """Every string inside the blocks, joined: what a reader could see."""
    out: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, str):
            out.append(node)

    walk(blocks)
    return "\n".join(out)


# --- sparkline ------------------------------------------------------------------------------


def test_sparkline_empty_is_empty_string() -> None:
    assert sparkline([]) == ""


def test_sparkline_all_zero_is_all_lowest_bar() -> None:
    assert sparkline([0, 0, 0]) == "▁▁▁"


def test_sparkline_max_maps_to_full_bar_and_zero_to_lowest() -> None:
    line = sparkline([0, 1, 2, 4, 8])
    assert len(line) == 5
    assert line[0] == "▁"
    assert line[-1] == "█"
    assert list(line) == sorted(line)  # monotone counts give monotone bars


def test_sparkline_small_nonzero_differs_from_zero() -> None:
    line = sparkline([0, 1, 100])
    assert line[0] == "▁"
    assert line[1] != "▁"
    assert line[2] == "█"


def test_sparkline_flat_busy_series_is_all_full() -> None:
    assert sparkline([5, 5, 5]) == "███"


# --- text helpers ---------------------------------------------------------------------------


def test_escape_mrkdwn_escapes_the_three_control_characters() -> None:
    assert escape_mrkdwn("a & b <!channel> > c") == "a &amp; b &lt;!channel&gt; &gt; c"


def test_truncate_adds_ellipsis_and_keeps_limit() -> None:
    assert truncate("short", 10) == "short"
    cut = truncate("x" * 20, 10)
    assert len(cut) == 10
    assert cut.endswith("…")


# --- trend alerts ---------------------------------------------------------------------------


def test_trend_alert_has_header_why_line_sparkline_and_buttons() -> None:
    blocks = alert_blocks(trend_alert())
    assert validate_blocks(blocks) == []
    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "📈 Rising: #twelftal", "emoji": True},
    }
    why = blocks[1]["text"]["text"]
    assert "42 posts in the last 60 min, 8.4× its usual rate, from 17 authors across 3 sources" in (
        why
    )
    assert "`▁▂▃▄█`" in why
    text = all_text(blocks)
    assert "twelftal, oranje" in text
    assert "watch list" in text
    assert "<https://example.com/status/1|open>" in text
    assert "19:39 UTC" in text
    actions = blocks[-1]
    assert actions["type"] == "actions"
    claim, useful, not_relevant, snooze, mute = actions["elements"]
    assert claim["action_id"] == "inhaker_claim"
    assert claim["value"] == "trend:twelftal:2014-06-13T19:40Z"
    assert claim["style"] == "primary"
    assert claim["text"]["text"] == "✋ I'll take it"
    assert [b["text"]["text"] for b in (useful, not_relevant, snooze, mute)] == [
        "👍 Useful",
        "👎 Not relevant",
        "⏰ Snooze 3h",
        "🔇 Mute topic",
    ]
    assert {b["value"] for b in (useful, not_relevant, snooze, mute)} == {claim["value"]}


def test_why_line_uses_window_and_singulars() -> None:
    alert = trend_alert(trend=make_trend(count=1, authors=1, sources=("x",), ratio=2.0))
    blocks = alert_blocks(alert, window_minutes=30)
    assert (
        "1 post in the last 30 min, 2.0× its usual rate, from 1 author across 1 source"
        in (blocks[1]["text"]["text"])
    )


def test_trend_shows_at_most_five_posts() -> None:
    posts = tuple(make_post(i) for i in range(1, 12))
    blocks = alert_blocks(trend_alert(top_posts=posts))
    text = all_text(blocks)
    assert "status/5|open" in text
    assert "status/6|open" not in text


def test_user_text_is_escaped_so_it_cannot_ping_or_link() -> None:
    post = make_post(
        1, text="Iedereen kijken <!channel> & <https://evil.example|klik>", author="<@U1>"
    )
    blocks = alert_blocks(trend_alert(top_posts=(post,)))
    text = all_text(blocks)
    assert "<!channel>" not in text
    assert "&lt;!channel&gt; &amp; &lt;https://evil.example|klik&gt;" in text
    assert "&lt;@U1&gt;" in text


def test_non_http_urls_are_not_linked() -> None:
    post = make_post(1, url="javascript:alert(1)")
    text = all_text(alert_blocks(trend_alert(top_posts=(post,))))
    assert "javascript:" not in text


def test_long_post_text_is_cut_near_280_chars() -> None:
    post = make_post(1, text="woord " * 400)
    section = alert_blocks(trend_alert(top_posts=(post,)))[4]["text"]["text"]
    body = section.split("\n", 1)[1]
    assert "…" in body
    assert len(body) < 280 + 80  # the text plus the link


def test_truncation_never_splits_an_entity_and_respects_limits() -> None:
    post = make_post(1, text="&" * 5000, author="<" * 500, source_label=">" * 500)
    blocks = alert_blocks(trend_alert(top_posts=(post,)))
    assert validate_blocks(blocks) == []
    section = blocks[4]["text"]["text"]
    assert "&am…" not in section
    assert "&amp;…" in section


def test_huge_trend_stays_within_block_kit_limits() -> None:
    trend = make_trend(
        title="#" + "x" * 500,
        terms=tuple(f"term{i}" * 20 for i in range(200)),
        sources=tuple(f"src{i}" for i in range(300)),
        sparkline=tuple(range(1000)),
        watched=tuple(f"w{i}" * 50 for i in range(100)),
        evidence=tuple(f"t-{i}" for i in range(100)),
    )
    posts = tuple(
        make_post(i, text="y" * 20_000, url="https://e.x/" + "p" * 5000) for i in range(500)
    )
    alert = trend_alert(id="trend:" + "k" * 3000, trend=trend, top_posts=posts, is_update=True)
    blocks = alert_blocks(alert)
    assert validate_blocks(blocks) == []
    assert len(blocks[0]["text"]["text"]) <= 150
    assert len(alert_text(alert)) <= 40000


def test_update_carries_an_updated_note() -> None:
    grown = make_trend(detected_at=NOW + timedelta(minutes=25))
    text = all_text(alert_blocks(trend_alert(is_update=True, trend=grown)))
    # When it was seen this big, in each reader's own time zone (UTC as the fallback).
    stamp = int((NOW + timedelta(minutes=25)).timestamp())
    assert f"Updated <!date^{stamp}^{{time}}|20:05 UTC>" in text


def test_a_trend_that_fits_the_team_says_why() -> None:
    trend = make_trend(
        fit=0.7,
        fit_reasons=(
            "matches your watch term 'twelftal'",
            "shares 'oranje', 'twelftal' with your profile (0.18 similar)",
        ),
    )
    text = str(alert_blocks(trend_alert(trend=trend)))
    assert "🎯 Fits your team (70%): shares 'oranje', 'twelftal' with your profile" in text
    assert "matches your watch term" not in text  # the watch list line already says that
    assert "Fits your team" not in str(alert_blocks(trend_alert()))


def test_alert_text_is_a_one_line_fallback() -> None:
    text = alert_text(trend_alert())
    assert text.startswith("📈 Rising: #twelftal — 42 posts in the last 60 min")
    assert "\n" not in text


# --- opportunity alerts ---------------------------------------------------------------------


def test_opportunity_alert_has_header_text_fields_and_buttons() -> None:
    blocks = alert_blocks(opportunity_alert())
    assert validate_blocks(blocks) == []
    assert blocks[0]["text"]["text"] == "🎯 Open call: Emerce"
    assert "Wij zoeken marketeers" in blocks[1]["text"]["text"]
    fields = [f["text"] for f in blocks[2]["fields"]]
    assert "*Who asks*\nEmerce" in fields
    assert "*What*\nJournalist request" in fields
    assert "*Deadline*\n2014-06-20 (in 7 days)" in fields
    assert "*How to respond*\nnot stated: see the post" in fields
    assert any(
        f.startswith("*Why it is a call (0.93)*\n") and "deadline stated" in f for f in fields
    )
    assert not any(f.startswith("*Why it fits") for f in fields)  # no profile, no fit
    assert "*Link*\n<https://emerce.nl/oproep/123|open>" in fields
    assert [e["action_id"] for e in blocks[-1]["elements"]] == [
        "inhaker_claim",
        "inhaker_useful",
        "inhaker_not_relevant",
        "inhaker_snooze",
    ]
    assert alert_text(opportunity_alert()).startswith("🎯 Open call: Emerce — Wij zoeken")


def test_opportunity_alert_says_how_to_respond_and_why_it_fits() -> None:
    opp = make_opportunity(
        topic="duurzame verpakkingen",
        response="email",
        response_value="redactie@emerce.nl",
        fit=0.8,
        fit_reasons=("shares 'verpakkingen' with your profile (0.20 similar)",),
    )
    blocks = alert_blocks(opportunity_alert(opportunity=opp))
    assert validate_blocks(blocks) == []
    fields = [f["text"] for f in blocks[2]["fields"]]
    assert "*What*\nJournalist request: duurzame verpakkingen" in fields
    assert "*How to respond*\ne-mail redactie@emerce.nl" in fields
    assert "*Why it fits (80%)*\nshares 'verpakkingen' with your profile (0.20 similar)" in fields
    link = make_opportunity(response="link", response_value="https://emerce.nl/form")
    fields = [f["text"] for f in alert_blocks(opportunity_alert(opportunity=link))[2]["fields"]]
    assert (
        "*How to respond*\nvia the link <https://emerce.nl/form|https://emerce.nl/form>" in fields
    )


def test_opportunity_without_asker_uses_source_label_and_handles_odd_deadlines() -> None:
    opp = make_opportunity(asker=None, deadline="eind juni", url=None, reasons=())
    blocks = alert_blocks(opportunity_alert(opportunity=opp))
    assert blocks[0]["text"]["text"] == "🎯 Open call: Emerce RSS"
    fields = [f["text"] for f in blocks[2]["fields"]]
    assert "*Deadline*\neind juni" in fields
    assert not any(f.startswith("*Link*") for f in fields)


@pytest.mark.parametrize(
    ("deadline", "expected"),
    [
        ("2014-06-13", "2014-06-13 (today)"),
        ("2014-06-14", "2014-06-14 (in 1 day)"),
        ("2014-06-10", "2014-06-10 (passed 3 days ago)"),
    ],
)
def test_deadline_is_relative_to_alert_time(deadline: str, expected: str) -> None:
    blocks = alert_blocks(opportunity_alert(opportunity=make_opportunity(deadline=deadline)))
    assert f"*Deadline*\n{expected}" in [f["text"] for f in blocks[2]["fields"]]


def test_huge_opportunity_stays_within_limits() -> None:
    opp = make_opportunity(
        text="<&>" * 10_000,
        title="t" * 5000,
        asker="a" * 500,
        reasons=tuple("r" * 500 for _ in range(50)),
        url="https://e.x/" + "&" * 400,
        category="c" * 5000,
    )
    blocks = alert_blocks(opportunity_alert(opportunity=opp))
    assert validate_blocks(blocks) == []


# --- /trends --------------------------------------------------------------------------------


def test_trends_list_empty_says_nothing_is_rising() -> None:
    blocks = trends_list_blocks([], NOW)
    assert blocks[0]["text"]["text"] == "Rising now"
    assert blocks[1]["text"]["text"] == EMPTY_TRENDS_TEXT
    assert validate_blocks(blocks) == []


def test_trends_list_one_section_per_trend() -> None:
    trends = [
        make_trend(),
        make_trend(key="trend:werkplek", title="werkplek", detected_at=NOW - timedelta(minutes=12)),
    ]
    blocks = trends_list_blocks(trends, NOW + timedelta(minutes=3))
    assert validate_blocks(blocks) == []
    assert len(blocks) == 3
    assert "*#twelftal*" in blocks[1]["text"]["text"]
    assert "42 posts in the last 60 min" in blocks[1]["text"]["text"]
    assert "█" in blocks[1]["text"]["text"]
    assert "15 min ago" in blocks[2]["text"]["text"]


def test_trends_list_caps_at_fifty_blocks() -> None:
    trends = [make_trend(key=f"k{i}", title=f"#t{i}") for i in range(80)]
    blocks = trends_list_blocks(trends, NOW)
    assert validate_blocks(blocks) == []
    assert len(blocks) == 50
    assert "and 32 more" in blocks[-1]["elements"][0]["text"]


# --- claims ---------------------------------------------------------------------------------


def _action_ids(blocks: list[dict]) -> list[str]:
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b.get("elements", [])]


def test_every_alert_has_claim_useful_not_relevant_snooze_and_trends_mute() -> None:
    trend_ids = _action_ids(alert_blocks(trend_alert()))
    assert trend_ids == [
        "inhaker_claim",
        "inhaker_useful",
        "inhaker_not_relevant",
        "inhaker_snooze",
        "inhaker_mute",
    ]
    # An open call has no "topic" to mute; the rest are the same.
    assert _action_ids(alert_blocks(opportunity_alert())) == trend_ids[:-1]


def test_a_claimed_alert_shows_who_took_it_and_offers_done() -> None:
    from dataclasses import replace

    claimed = replace(trend_alert(), state=AlertState(claimed_by="U0123ABC", useful=("U0999XYZ",)))
    blocks = alert_blocks(claimed)
    assert validate_blocks(blocks) == []
    status = next(b for b in blocks if b.get("block_id") == "inhaker_status")
    texts = [e["text"] for e in status["elements"]]
    assert texts[0] == "✋ <@U0123ABC> took this"
    assert "👍 Useful for <@U0999XYZ>" in texts
    ids = _action_ids(blocks)
    assert "inhaker_claim" not in ids
    assert ids[:2] == ["inhaker_done", "inhaker_release"]


def test_a_done_or_muted_alert_has_no_buttons_left() -> None:
    from dataclasses import replace

    done = replace(trend_alert(), state=AlertState(claimed_by="U0111AAA", done_by="U0111AAA"))
    blocks = alert_blocks(done)
    assert _action_ids(blocks) == []
    assert "✅ <@U0111AAA> hooked in on this" in json.dumps(blocks, ensure_ascii=False)
    muted = replace(trend_alert(), state=AlertState(muted_by="U2"))
    assert _action_ids(alert_blocks(muted)) == []


def test_state_lines_escape_an_odd_user_id() -> None:
    assert state_lines(AlertState(claimed_by="<!channel>")) == ["✋ &lt;!channel&gt; took this"]


def test_a_trend_with_a_lifecycle_stage_says_whether_the_window_is_open() -> None:
    from dataclasses import replace

    for stage, header, meaning in [
        ("emerging", "🌱 Emerging: #twelftal", "just started"),
        ("rising", "📈 Rising: #twelftal", "the window to hook in is open"),
        ("peaking", "🔝 Peaking: #twelftal", "hook in now or let it go"),
        ("fading", "📉 Fading: #twelftal", "the window is closing"),
    ]:
        alert = trend_alert(trend=replace(make_trend(), stage=stage, surprise=7.2))
        blocks = alert_blocks(alert)
        assert validate_blocks(blocks) == []
        assert blocks[0]["text"]["text"] == header
        assert meaning in blocks[1]["text"]["text"]
        assert "chance ~1 in 10^7" in all_text(blocks)
