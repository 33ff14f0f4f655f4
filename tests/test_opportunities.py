"""Opportunity scorer: labelled posts, deadline forms, asker extraction and invariants.

Posts are small literals (tests/opportunity_examples.py holds the labelled ones, shared with
benchmarks); time is fixed: Thursday 12 June 2014, 14:01 UTC, unless a test says otherwise.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from detectors import opportunities
from detectors.opportunities import THRESHOLD, extract_asker, extract_deadline, score_opportunity
from detectors.opportunity_model import CATEGORIES as MODEL_CATEGORIES
from detectors.records import OpportunityVerdict
from tests.opportunity_examples import (
    EXAMPLES,
    NEGATIVES_BY_KIND,
    POSITIVES,
    POSTED_AT,
    SEED_POST,
)

CATEGORIES = set(MODEL_CATEGORIES)


def score(
    text: str,
    *,
    title: str | None = None,
    author: str | None = None,
    source_label: str | None = None,
) -> OpportunityVerdict:
    return score_opportunity(
        text, title=title, author=author, source_label=source_label, posted_at=POSTED_AT
    )


# -- the story ------------------------------------------------------------------------------


def test_seed_post_is_a_submission_call_from_emerce() -> None:
    """The Emerce tweet from the seed story is an opportunity, asked by Emerce."""
    verdict = score(SEED_POST, author="@emerce")

    assert verdict.opportunity
    assert verdict.score >= THRESHOLD
    assert verdict.category == "submission"
    assert verdict.asker == "Emerce"
    assert verdict.deadline is None
    assert "second-person invitation ('Is jouw ...?')" in verdict.reasons
    assert any(r.startswith("audience/outlet phrasing") for r in verdict.reasons)


# -- labelled examples ----------------------------------------------------------------------


def test_examples_cover_every_category_and_every_negative_kind() -> None:
    assert len(POSITIVES) >= 15
    assert {category for _, category in POSITIVES} == CATEGORIES
    assert sum(len(texts) for texts in NEGATIVES_BY_KIND.values()) >= 20
    assert set(NEGATIVES_BY_KIND) == {
        "vacancy",
        "promotion",
        "event_announcement",
        "friend_advice",
        "closed_call",
        "already_featured",
        "giveaway",
        "poll",
        "news",
    }
    assert all(len(texts) >= 4 for texts in NEGATIVES_BY_KIND.values())
    assert len(EXAMPLES) == len(POSITIVES) + sum(map(len, NEGATIVES_BY_KIND.values()))


@pytest.mark.parametrize(
    ("text", "category"), POSITIVES, ids=[f"{c}-{i}" for i, (_, c) in enumerate(POSITIVES)]
)
def test_positive_example_is_an_opportunity_of_its_category(text: str, category: str) -> None:
    verdict = score(text)

    assert verdict.opportunity, verdict.reasons
    assert verdict.category == category, verdict.reasons
    assert verdict.reasons


NEGATIVES = [(kind, text) for kind, texts in NEGATIVES_BY_KIND.items() for text in texts]


@pytest.mark.parametrize(
    ("kind", "text"), NEGATIVES, ids=[f"{k}-{i}" for i, (k, _) in enumerate(NEGATIVES)]
)
def test_hard_negative_is_not_an_opportunity(kind: str, text: str) -> None:
    verdict = score(text)

    assert not verdict.opportunity, (kind, verdict.score, verdict.reasons)
    assert verdict.score < THRESHOLD
    assert verdict.category is None
    assert verdict.asker is None
    assert verdict.deadline is None


def test_negative_cues_are_named_in_the_reasons() -> None:
    verdict = score("Vacature: wij zoeken een developer (m/v). Solliciteer vóór 20 juni.")

    assert any(r.startswith("against: job vacancy") for r in verdict.reasons)


def test_a_closed_call_scores_below_the_same_call_open() -> None:
    open_call = score("Call for speakers voor #eDay: dien je voorstel in vóór 1 juli!")
    closed = score("De call for speakers voor #eDay is gesloten, bedankt voor alle inzendingen!")

    assert open_call.opportunity
    assert not closed.opportunity
    assert closed.score < open_call.score


# -- deadlines ------------------------------------------------------------------------------

# Posted Thursday 2014-06-12.
DEADLINE_FORMS = [
    ("uiterlijk 1 maart", "2015-03-01"),  # already passed this year: next year
    ("vóór 20 juni", "2014-06-20"),
    ("voor 20 juni", "2014-06-20"),
    ("tot en met 5 mei", "2015-05-05"),
    ("t/m 5 mei", "2015-05-05"),
    ("t/m 12 juni", "2014-06-12"),  # today still counts
    ("deadline: 15-07-2014", "2014-07-15"),
    ("deadline 2014-06-20", "2014-06-20"),
    ("deadline is 20/6", "2014-06-20"),
    ("deadline: 6/20", "2014-06-20"),  # American order when only it makes sense
    ("by June 20", "2014-06-20"),
    ("by June 20th, 2015", "2015-06-20"),
    ("before 20 June", "2014-06-20"),
    ("closes 15 July", "2014-07-15"),
    ("by EOD Thursday", "2014-06-19"),  # posted on a Thursday: next week's
    ("by EOD Friday", "2014-06-13"),
    ("by EOD", "2014-06-12"),
    ("vóór vrijdag", "2014-06-13"),
    ("voor vrijdag", "2014-06-13"),
    ("voor maandag", "2014-06-16"),
    ("vóór donderdag", "2014-06-19"),
    ("by next Thursday", "2014-06-19"),
    ("voor volgende week vrijdag", "2014-06-20"),
    ("uiterlijk vrijdag 20 juni", "2014-06-20"),
    ("uiterlijk morgen", "2014-06-13"),
    ("tomorrow", "2014-06-13"),
    ("vandaag", "2014-06-12"),
    ("end of the week", "2014-06-13"),
    ("eind van de week", "2014-06-13"),
    ("voor het einde van de week", "2014-06-13"),
    ("before the end of the month", "2014-06-30"),
    ("binnen 2 weken", "2014-06-26"),
    ("binnen een week", "2014-06-19"),
    ("within two weeks", "2014-06-26"),
    ("within 48 hours", "2014-06-14"),
    ("De deadline voor inzendingen is 1 juli", "2014-07-01"),
    ("inschrijving sluit op 30 juni", "2014-06-30"),
    ("Deadline Friday", "2014-06-13"),
]


@pytest.mark.parametrize(("phrase", "expected"), DEADLINE_FORMS)
def test_deadline_form_resolves_against_posted_at(phrase: str, expected: str) -> None:
    assert extract_deadline(f"Stuur je case in, {phrase}.", POSTED_AT) == expected


@pytest.mark.parametrize(("phrase", "expected"), DEADLINE_FORMS)
def test_deadline_form_is_reported_on_an_opportunity(phrase: str, expected: str) -> None:
    verdict = score(f"Oproep: heb jij een bijzondere werkplek? Stuur je foto's in {phrase}!")

    assert verdict.opportunity
    assert verdict.deadline == expected
    assert any(r.startswith("deadline '") for r in verdict.reasons)


MONTHS = [
    ("jan", 1), ("januari", 1), ("january", 1), ("feb", 2), ("februari", 2), ("mrt", 3),
    ("maart", 3), ("march", 3), ("apr", 4), ("april", 4), ("mei", 5), ("may", 5), ("jun", 6),
    ("juni", 6), ("jul", 7), ("juli", 7), ("july", 7), ("aug", 8), ("augustus", 8), ("sep", 9),
    ("sept", 9), ("september", 9), ("okt", 10), ("oktober", 10), ("oct", 10), ("october", 10),
    ("nov", 11), ("november", 11), ("dec", 12), ("december", 12),
]  # fmt: skip


@pytest.mark.parametrize(("name", "month"), MONTHS)
def test_month_names_and_abbreviations(name: str, month: int) -> None:
    expected = date(2014, month, 25)
    if expected < POSTED_AT.date():
        expected = expected.replace(year=2015)

    assert extract_deadline(f"uiterlijk 25 {name}.", POSTED_AT) == expected.isoformat()
    assert extract_deadline(f"Uiterlijk 25 {name.capitalize()}.", POSTED_AT) == expected.isoformat()


def test_a_date_without_year_rolls_over_the_new_year() -> None:
    december = datetime(2014, 12, 20, 9, 0, tzinfo=UTC)

    assert extract_deadline("Reageer vóór 5 januari", december) == "2015-01-05"
    assert extract_deadline("Reageer vóór 24 december", december) == "2014-12-24"


@pytest.mark.parametrize(
    ("posted", "expected"),
    [
        (datetime(2014, 6, 13, 9, 0, tzinfo=UTC), "2014-06-13"),  # Friday: that Friday
        (datetime(2014, 6, 14, 9, 0, tzinfo=UTC), "2014-06-20"),  # Saturday: next Friday
        (datetime(2014, 6, 9, 9, 0, tzinfo=UTC), "2014-06-13"),  # Monday
    ],
)
def test_end_of_week_is_the_friday_on_or_after_posting(posted: datetime, expected: str) -> None:
    assert extract_deadline("graag eind van de week", posted) == expected


def test_the_earliest_stated_deadline_wins() -> None:
    text = "Early bird t/m 1 juli, definitieve deadline: 15 juli."

    assert extract_deadline(text, POSTED_AT) == "2014-07-01"


def test_a_marked_date_beats_a_bare_relative_word() -> None:
    text = "Vandaag in ons magazine de oproep: stuur je werkplek in vóór 20 juni."

    assert extract_deadline(text, POSTED_AT) == "2014-06-20"


@pytest.mark.parametrize(
    "text",
    [
        "Is jouw werkplek uniek, verrassend en een must see voor Emerce-lezers?",
        "Morgen spreek ik op #eDay.",  # bare "morgen" is not a deadline
        "Reageer vóór 10.30 uur.",  # a time, not 30 October
        "Tot ziens op het congres!",
        "Stuur je foto in voor de zomer.",
        "Deadline: 31 februari.",  # no such date
        "Voor 2 weken op vakantie.",  # "voor" + duration is not a deadline
        "by the way, we moved offices",
    ],
)
def test_no_deadline(text: str) -> None:
    assert extract_deadline(text, POSTED_AT) is None


def test_an_upcoming_deadline_is_preferred_over_a_passed_one() -> None:
    text = "Deadline van 1 maart 2014 verlengd: inzenden kan nu tot 1 juli."

    assert extract_deadline(text, POSTED_AT) == "2014-07-01"


def test_a_passed_deadline_counts_as_a_closed_call() -> None:
    verdict = score("Call for speakers: dien je voorstel in vóór 1 maart 2013.")

    assert not verdict.opportunity
    assert verdict.deadline is None
    assert "against: deadline passed 'vóór 1 maart 2013'" in verdict.reasons


def test_a_deadline_word_without_a_date_still_counts() -> None:
    with_word = score("Oproep: heb jij een bijzondere werkplek? De deadline volgt nog.")
    without = score("Oproep: heb jij een bijzondere werkplek? Meer info volgt nog.")

    assert "deadline word 'deadline'" in with_word.reasons
    assert with_word.score > without.score
    assert with_word.deadline is None


def test_posted_at_in_another_offset_is_read_as_utc() -> None:
    # 00:30 on Friday in Amsterdam (UTC+2) is still Thursday in UTC.
    cest = timezone(timedelta(hours=2))
    posted = datetime(2014, 6, 13, 0, 30, tzinfo=cest)

    assert extract_deadline("uiterlijk morgen", posted) == "2014-06-13"


def test_naive_posted_at_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        score_opportunity(SEED_POST, posted_at=datetime(2014, 6, 12, 14, 1))  # noqa: DTZ001


# -- asker ----------------------------------------------------------------------------------


ASKER_CASES = [
    (SEED_POST, "Emerce"),
    ("Oproep voor alle Sprout lezers: heb jij een bijzonder kantoor? Mail ons!", "Sprout"),
    ("Voor lezers van de Volkskrant: heb jij een bijzondere werkplek? Mail ons!", "de Volkskrant"),
    (
        "Calling all readers of Marketing Week: do you have an unusual office? Tell us!",
        "Marketing Week",
    ),
    (
        "Journalist bij De Standaard zoekt ondernemers met een straf verhaal. Mail me!",
        "De Standaard",
    ),
    ("#journorequest Looking for experts for a piece in NRC. DM me.", "NRC"),
    ("Frankwatching zoekt gastbloggers. Stuur je voorstel naar de redactie.", "Frankwatching"),
    ("Podcast De Inhakers zoekt gasten met een mooi verhaal. Stuur ons een DM!", "De Inhakers"),
    (
        "Oproep! Tweakers.net zoekt lezers met een bijzondere thuiswerkplek. Reageer!",
        "Tweakers.net",
    ),
    ("Wij van BNR zoeken ondernemers die willen vertellen over hun eerste klant.", "BNR"),
    ("Heb jij een straf kantoor? Stuur het in, dan sta je misschien in Knack.", "Knack"),
]


@pytest.mark.parametrize(("text", "asker"), ASKER_CASES)
def test_asker_is_the_outlet_named_in_the_text(text: str, asker: str) -> None:
    verdict = score(text, author="someone", source_label="x")

    assert verdict.opportunity, verdict.reasons
    assert verdict.asker == asker


def test_asker_falls_back_to_the_author_then_the_source_label() -> None:
    text = "Call for speakers: dien je talk in vóór 1 maart!"

    assert score(text, author="@marketingfacts", source_label="x").asker == "@marketingfacts"
    assert score(text, source_label="Mastodon").asker == "Mastodon"
    assert score(text).asker is None


@pytest.mark.parametrize(
    "text",
    [
        "Heb jij een bijzonder kantoor in Amsterdam? Mail ons je foto!",  # a place, not an outlet
        "Wij zoeken sprekers voor ons congres. Dien je voorstel in!",  # "Wij" is not a name
        "Oproep: wie wil er in januari vertellen over het WK? Mail me.",
    ],
)
def test_asker_does_not_mistake_places_pronouns_or_months(text: str) -> None:
    assert extract_asker(text, author="@author") == "@author"


def test_title_is_read_with_the_text() -> None:
    verdict = score("Mail je foto's naar de redactie.", title="Oproep: sprekers gezocht!")

    assert verdict.opportunity
    assert verdict.category == "speakers"


# -- invariants -----------------------------------------------------------------------------

FRAGMENTS = [
    "Is jouw",
    "werkplek",
    "voor Emerce-lezers",
    "#journorequest",
    "call for speakers",
    "vacature",
    "uiterlijk",
    "vóór",
    "31 februari",
    "deadline: 99-99-9999",
    "binnen 999 maanden",
    "by EOD",
    "t/m",
    "morgen",
    "?",
    ".",
    "\n",
    "İ",
    "ß",
    "👍",
    "Ⅻ",
    "٣",
]
texty = st.one_of(
    st.text(),
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=8)), max_size=12).map(" ".join),
)
posted_times = st.datetimes(
    min_value=datetime(1, 1, 8),  # noqa: DTZ001 - hypothesis bounds are naive
    max_value=datetime(9999, 12, 20),  # noqa: DTZ001
    timezones=st.just(UTC),
)


@settings(max_examples=300, deadline=None)
@given(text=texty, title=st.none() | st.text(max_size=40), posted=posted_times)
def test_score_is_a_probability_and_never_raises(
    text: str, title: str | None, posted: datetime
) -> None:
    verdict = score_opportunity(text, title=title, author="a", posted_at=posted)

    assert 0.0 <= verdict.score <= 1.0
    assert verdict.opportunity == (verdict.score >= THRESHOLD)
    if verdict.opportunity:
        assert verdict.category in CATEGORIES
    else:
        assert verdict.category is None
    if verdict.deadline is not None:
        assert date.fromisoformat(verdict.deadline)


@given(text=st.text(alphabet=" \t\n\r\u00a0\u2003\u3000", max_size=30))
def test_empty_or_whitespace_text_is_not_an_opportunity(text: str) -> None:
    verdict = score(text)

    assert not verdict.opportunity
    assert verdict.reasons == ()


@settings(max_examples=200, deadline=None)
@given(text=texty, posted=posted_times)
def test_deadline_extraction_never_raises(text: str, posted: datetime) -> None:
    found = extract_deadline(text, posted)

    if found is not None:
        date.fromisoformat(found)


# -- purity ---------------------------------------------------------------------------------


def test_module_is_pure() -> None:
    source = Path(opportunities.__file__).read_text(encoding="utf-8")

    for forbidden in ("datetime.now", "date.today", "os.environ", "import logging", "import os"):
        assert forbidden not in source
    for package in ("httpx", "feedparser", "slack", "sqlalchemy", "bot"):
        assert not re.search(rf"^\s*(?:import|from)\s+{package}\b", source, re.MULTILINE)


# -- the speed-up must not change answers ---------------------------------------------------

ANCHORED_CUES = [cue for cue in opportunities._CUES if cue.anchor_list]
ALL_ANCHORS = sorted({a for cue in opportunities._CUES for a in cue.anchor_list})


@pytest.mark.parametrize("cue", ANCHORED_CUES, ids=[c.pattern.pattern[:30] for c in ANCHORED_CUES])
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(data=st.data())
def test_cue_anchors_never_hide_a_match(cue: opportunities.Cue, data: st.DataObject) -> None:
    """Strings generated from each cue's own pattern: whenever it matches, an anchor is there."""
    text = opportunities._prepare(data.draw(st.from_regex(cue.pattern)))

    if cue.pattern.search(text):
        assert any(anchor in text for anchor in cue.anchor_list), text


@settings(max_examples=200, deadline=None)
@given(
    parts=st.lists(st.sampled_from(ALL_ANCHORS) | st.text(max_size=4), max_size=15),
    sep=st.sampled_from(["", " "]),
)
def test_anchor_scan_finds_exactly_the_cues_whose_anchors_occur(parts: list[str], sep: str) -> None:
    norm = opportunities._prepare(sep.join(parts))
    expected = {
        index
        for index, cue in enumerate(opportunities._CUES)
        if not cue.anchor_list or any(anchor in norm for anchor in cue.anchor_list)
    }

    assert opportunities._cues_to_run(norm) == expected


def test_cue_patterns_have_no_format_string_accidents() -> None:
    """A `{0,3}` in an f-string silently becomes "(0, 3)"; keep every quantifier a quantifier."""
    for cue in opportunities._CUES:
        assert not re.search(r"\(\d+, \d+\)", cue.pattern.pattern), cue.label
