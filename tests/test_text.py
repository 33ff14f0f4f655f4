"""Tokenizer: the terms a post is counted under (hashtags, words, what is left out).

`terms_of` is the detector's fast path; `tokens` is the plain reference it must agree with.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from detectors.text import terms_of, tokens


def reference_terms(text: str) -> dict[str, bool]:
    """What `terms_of` promises, built from `tokens`: hashtags first, then words, each once."""
    found = {t.term: True for t in tokens(text) if t.hashtag}
    for token in tokens(text):
        found.setdefault(token.term, False)
    return found


def test_hashtags_come_first_and_words_follow_in_reading_order() -> None:
    text = "Het kabinet wil de regels versoepelen, zegt minister #Wonen #bestemmingsplan"
    assert list(terms_of(text).items()) == [
        ("wonen", True),
        ("bestemmingsplan", True),
        ("kabinet", False),
        ("regels", False),
        ("versoepelen", False),
        ("minister", False),
    ]


def test_urls_mentions_and_addresses_are_not_terms() -> None:
    text = "RT @CNN: tornado (lees http://t.co/xyz…) mail pers@omroep.nl www.example.org/a,b"
    assert list(terms_of(text)) == ["tornado", "lees", "mail"]


def test_a_word_written_both_ways_counts_as_the_hashtag() -> None:
    assert terms_of("oranje wint! #Oranje") == {"oranje": True, "wint": False}


def test_apostrophes_hyphens_digits_and_diacritics() -> None:
    text = "Emerce-lezers: z'n werkplek vóór 2025 is top3, examiner's office ’quote’"
    assert list(terms_of(text)) == [
        "emerce",
        "lezers",
        "werkplek",
        "vóór",
        "top",
        "examiner's",
        "office",
        "quote",
    ]


def test_stopwords_and_short_words_are_left_out() -> None:
    assert terms_of("Dit is het en we gaan nu naar de zee, ok?") == {"zee": False}


# Characters that make the fast path leave its plain-word shortcut: every kind of boundary
# the patterns care about, combining marks, other scripts, digits that are not decimal.
_TRICKY = "ab yzé#_-'’@.:/&,()…“1½²\u0301ßİ\t\nÉж汉🎉"


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=_TRICKY, max_size=40))
def test_fast_path_agrees_with_the_reference_on_tricky_text(text: str) -> None:
    assert list(terms_of(text).items()) == list(reference_terms(text).items())


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_fast_path_agrees_with_the_reference_on_any_text(text: str) -> None:
    assert list(terms_of(text).items()) == list(reference_terms(text).items())
