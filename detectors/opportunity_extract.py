"""How to answer an open call, and what it is about, read from the post's text.

What it does: `extract_response` finds how the asker wants to be reached: an e-mail address, a
link (a form or call page), a form mentioned without its address ("via het formulier op onze
site", "link in bio"), a direct message, a phone number, a hashtag to post with, or a reply under
the post. When a post names several, the most direct one wins in that order. `extract_topic`
names the subject in a few words: the phrase after "over", "about", "on", "rond" and the like
when the post has one ("voor een artikel over thuiswerken" -> "thuiswerken"), else nothing.

What it does not do: decide whether a post is a call (detectors/opportunity_model.py), find
deadlines or the asker (detectors/opportunities.py), or check that an address works.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

__all__ = ["Response", "extract_response", "extract_topic"]


@dataclass(frozen=True, slots=True)
class Response:
    """How to answer: `kind` is email | link | form | dm | phone | hashtag | reply."""

    kind: str
    value: str | None = None  # the address, URL, number or hashtag as written


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}", re.IGNORECASE)
_URL = re.compile(
    r"(?:https?://|www\.)[^\s<>\"')\]]+|\b[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}/[^\s<>\"')\]]*"
)
_TRAILING = ".,;:!?…"
_FORM = re.compile(
    r"\b(?:formulier\w*|aanmeldformulier|inschrijfformulier"
    r"|(?:entry |application |submission |google |online )?forms?\b"
    r"|link in (?:de |onze |my |our )?bio|via (?:onze|de) (?:website|site))",
    re.IGNORECASE,
)
_DM = re.compile(
    r"\b(?:dm|pm|dm'?en|dm'?s|direct message|privébericht"
    r"|stuur (?:me|ons) een (?:bericht|berichtje)|slide into (?:my|our) dms|inbox (?:me|us))\b",
    re.IGNORECASE,
)
_PHONE_CUE = re.compile(r"\b(?:bel|call|app|whatsapp|ring|tel\.?|telefoon|phone)\b", re.IGNORECASE)
_PHONE = re.compile(
    r"(?:\+\d{1,3}[\s-]?)?(?:\(?0?\d{1,4}\)?[\s-]?)\d{2,4}[\s-]?\d{2,4}(?:[\s-]?\d{2,4})?"
)
_HASHTAG_USE = re.compile(
    r"(?:\b(?:met|with|use|using|gebruik|tag|onder|post (?:it |them |your \w+ )?with"
    r"|deel (?:\w+ ){0,3}met)"
    r"\s+(?:de |the |hashtag |#)?)(?P<tag>#\w+)",
    re.IGNORECASE,
)
_REPLY = re.compile(
    r"\b(?:reply|replies|comment\w*|reageer|reageren|reactie\w*|laat (?:het|een reactie) \w+ weten"
    r"|in de comments|hieronder|below|let us know|laat het (?:ons|me|mij) weten|drop (?:a|your) \w+"
    r"|tag (?:them|someone|iemand|je|een))\b",
    re.IGNORECASE,
)


def _clean_url(raw: str) -> str:
    return raw.rstrip(_TRAILING)


def extract_response(text: str) -> Response | None:
    """How to respond to the call in `text`, or None when the post does not say."""
    # Substring checks before the costlier patterns: most posts have no "@", "/" or "www".
    mail = _EMAIL.search(text) if "@" in text else None
    if mail:
        return Response("email", mail.group(0).rstrip(_TRAILING))
    if "/" in text or "www." in text.lower():
        for match in _URL.finditer(text):
            start = match.start()
            if start > 0 and text[start - 1] == "@":  # the domain of an address, not a link
                continue
            return Response("link", _clean_url(match.group(0)))
    if _FORM.search(text):
        return Response("form")
    if _DM.search(text):
        return Response("dm")
    cue = _PHONE_CUE.search(text)
    if cue:
        phone = _PHONE.search(text, cue.end())
        if phone and sum(ch.isdigit() for ch in phone.group(0)) >= 8:
            return Response("phone", phone.group(0).strip())
    tag = _HASHTAG_USE.search(text) if "#" in text else None
    if tag:
        return Response("hashtag", tag["tag"])
    if _REPLY.search(text):
        return Response("reply")
    return None


# "voor een artikel over X", "a piece on X", "looking for experts in X".
_TOPIC_LEAD = re.compile(
    r"\b(?:over|omtrent|rond|rondom|rondom het thema|met als thema|thema:?|about|on the topic of|"
    r"on|around|regarding|concerning|theme:?|topic:?|experts? (?:in|on)|ervaring met|"
    r"experience (?:with|of))\s+",
    re.IGNORECASE,
)
_TOPIC_STOP = re.compile(
    r"[.!?;:\n()\[\]|–—]|\s-\s|https?://|#|@|\b(?:en|and|for|voor|in|by|tot|until|deadline)\b",
    re.IGNORECASE,
)
_TOPIC_SKIP_START = re.compile(
    r"^(?:de|het|een|the|a|an|jouw|je|uw|your|our|ons|onze|hoe|how|wat|what|waarom|why)\s+",
    re.IGNORECASE,
)
_MAX_TOPIC_WORDS = 6
# Leads that read as time or place more often than as a subject: "on Monday", "on 12 May".
_NOT_A_TOPIC = re.compile(
    r"^(?:\d+|monday|tuesday|wednesday|thursday|friday|saturday|sunday|maandag|dinsdag|woensdag|"
    r"donderdag|vrijdag|zaterdag|zondag|today|tomorrow|vandaag|morgen|this|next|deze|volgende|"
    r"linkedin|instagram|x|twitter|bluesky|mastodon|stage|air|site|website|board|behalf|time)\b",
    re.IGNORECASE,
)


def extract_topic(text: str) -> str | None:
    """What the call is about, in at most six words, when the post says it with a lead word."""
    clean = " ".join(unicodedata.normalize("NFC", text).split())
    for lead in _TOPIC_LEAD.finditer(clean):
        rest = clean[lead.end() :]
        stop = _TOPIC_STOP.search(rest)
        phrase = rest[: stop.start()] if stop else rest
        words = phrase.split()[:_MAX_TOPIC_WORDS]
        candidate = _TOPIC_SKIP_START.sub("", " ".join(words)).strip(" ,'\"“”‘’")
        if len(candidate) >= 3 and not _NOT_A_TOPIC.match(candidate):
            return candidate
    return None
