"""Text normalization and tokenization for Dutch and English posts.

What it does: lowercases and NFC-normalizes text, strips URLs, e-mail addresses and @mentions,
and splits the rest into terms: hashtags ("#Twelftal" -> "twelftal", remembered as a hashtag) and
words of three or more letters that are not Dutch or English stopwords. `terms_of` gives each
term once per post, because a trend is about how many posts mention a term, not how often one
post repeats it.

What it does not do: stemming or lemmatization (a rising word form is what people search for),
language detection, or any I/O.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

# A hashtag starts after whitespace or punctuation; letters, digits and underscores follow.
_HASHTAG = re.compile(r"(?<![\w&])#(\w{2,100})", re.UNICODE)
_URL = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b")
_MENTION = re.compile(r"(?<!\w)@[\w.]+(?:@[\w.-]+)?")
_NOISE = re.compile(f"{_URL.pattern}|{_EMAIL.pattern}|{_MENTION.pattern}", re.IGNORECASE)
# Words: letters (any script), with inner apostrophes or hyphens kept (e-mail, zo'n, Emerce-lezers
# is split at the hyphen below so that "emerce" counts).
_WORD = re.compile(r"[^\W\d_](?:[^\W\d_]|['’])*", re.UNICODE)
# The same words without the trailing apostrophes `tokens` strips afterwards, and faster (runs
# of letters joined by apostrophes, instead of one alternation per character).
_WORD_RUN = r"[^\W\d_]+(?:['’]+[^\W\d_]+)*"


def _words(block: str) -> frozenset[str]:
    """A whitespace-separated word list (easier to read and extend than a list literal)."""
    return frozenset(block.split())


STOPWORDS_NL = _words(
    """
    aan al alle alles als altijd andere ben bij daar dan dat de der deze die dit doch doen
    door dus een eens en er ge geen geweest haar had heb hebben heeft hem het hier hij hoe
    hun iemand iets ik in is ja je jij jou jouw jullie kan kon kunnen maar me meer men met
    mij mijn moet na naar niet niets nog nu of om omdat onder ons onze ook op over reeds te
    tegen toch toen tot u uit uw van veel voor want waren was wat we wel werd wezen wie wij
    wil worden wordt zal ze zelf zich zij zijn zo zonder zou zei zegt gaat gaan komt kunt
    mag moeten waar waarom welke deze dat daarom hoe dan nou even heel erg echt weer al nog
    steeds vandaag gisteren morgen jaar dag week uur keer eerste nieuwe nieuw grote groot
    goed beter best meest mensen iedereen waarin waarop daarin daarop hierin hierop zoals
    tussen tijdens na sinds via per zonder binnen buiten boven onder achter naast rond over
    hun haar hem ze zo'n z'n m'n d'r 's
    """
)

STOPWORDS_EN = _words(
    """
    a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for
    from further had has have having he her here hers herself him himself his how i if in
    into is it its itself just me more most my myself no nor not now of off on once only or
    other our ours ourselves out over own same she should so some such than that the their
    theirs them themselves then there these they this those through to too under until up
    very was we were what when where which while who whom why will with would you your yours
    yourself yourselves also get got new one two today yesterday tomorrow year years day
    days week time via says said just like make made many much may might must need now still
    well way even back first last see us let lets it's don't can't i'm you're we're they're
    that's there's here's
    """
)

STOPWORDS = STOPWORDS_NL | STOPWORDS_EN

MIN_WORD_LENGTH = 3


@dataclass(frozen=True, slots=True)
class Token:
    """One term occurrence: the normalized term and whether it was written as a hashtag."""

    term: str
    hashtag: bool


def normalize(text: str) -> str:
    """NFC-normalize, fold whitespace and lowercase; keeps diacritics (vóór is not voor)."""
    # Most text already is NFC; checking is much cheaper than normalizing (hot path).
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return " ".join(text.split()).lower()


def strip_noise(text: str) -> str:
    """Remove URLs, e-mail addresses and @mentions, which are not topics."""
    # Most posts have none of them: the substring checks are far cheaper than the regex.
    if "@" not in text and "http" not in text and "www." not in text:
        return text
    # One pass with the alternatives in the order that matters: a URL may contain an "@".
    return _NOISE.sub(" ", text)


def tokens(text: str) -> list[Token]:
    """All term occurrences in `text`, in order, hashtags first-class."""
    cleaned = strip_noise(normalize(text))
    found: list[Token] = []
    for match in _HASHTAG.finditer(cleaned):
        tag = match.group(1).strip("_")
        if tag and not tag.isdigit():
            found.append(Token(tag, hashtag=True))
    without_tags = _HASHTAG.sub(" ", cleaned)
    for match in _WORD.finditer(without_tags.replace("-", " ")):
        word = match.group(0).strip("'’")
        if len(word) >= MIN_WORD_LENGTH and word not in STOPWORDS:
            found.append(Token(word, hashtag=False))
    return found


def terms_of(text: str) -> dict[str, bool]:
    """Distinct terms of one post, each mapped to True when it appeared as a hashtag.

    Same terms as `tokens`, hashtags first, then words in reading order; this runs once per
    post on the detector's hot path, so it works per whitespace-separated token: most tokens
    are plain words (`isalpha`), and only the rest go through the regular expressions. That
    is the same result because no pattern here ever matches across whitespace, and at a
    token's start the lookbehinds see whitespace, as they would in the whole text.
    """
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    hashtags: dict[str, bool] = {}
    words: list[str] = []
    for token in text.lower().split():
        if not token.isalpha():
            if "@" in token or "http" in token or "www." in token:
                # URLs, e-mail addresses and mentions are not topics; what is left of the
                # token around them may still hold terms.
                for part in _NOISE.sub(" ", token).split():
                    _scan_token(part, hashtags, words)
                continue
            token = token.strip(_EDGE_PUNCTUATION)
            if not token.isalpha():
                if token:
                    _scan_token(token, hashtags, words)
                continue
        if len(token) >= MIN_WORD_LENGTH and token not in STOPWORDS:
            words.append(token)
    for word in words:
        if word not in hashtags:
            hashtags[word] = False
    return hashtags


# Punctuation around a word ("versoepelen," "(#oranje)") that is never part of a term; "#", "&",
# "@" and apostrophes are not in it because the patterns look at them.
_EDGE_PUNCTUATION = '.,!?:;"()[]{}…“”«»*|<>=+~^%$€`'
# A hashtag or a word, the same two patterns as `tokens` uses, in one pass.
_TERM = re.compile(rf"{_HASHTAG.pattern}|({_WORD_RUN})", re.UNICODE)


def _scan_token(token: str, hashtags: dict[str, bool], words: list[str]) -> None:
    """Terms in one token that is not a plain word (hashtags, digits, apostrophes, symbols)."""
    for tag, word in _TERM.findall(token):
        if tag:
            tag = tag.strip("_")
            if tag and not tag.isdigit():
                hashtags[tag] = True
        elif len(word) >= MIN_WORD_LENGTH and word not in STOPWORDS:
            words.append(word)


def normalize_term(term: str) -> str:
    """A watch or exclude term from feeds.yaml in the form `terms_of` produces ("#X" -> "x")."""
    return normalize(term).lstrip("#").strip()


def contains_any(text_terms: Iterable[str], wanted: Iterable[str]) -> tuple[str, ...]:
    """The wanted terms present among a post's terms, in the order they were wanted."""
    have = set(text_terms)
    return tuple(term for term in wanted if term in have)
