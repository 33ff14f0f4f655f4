"""Opportunity scorer v1: is this post an open invitation the team can answer in time?

What it does: reads one post (Dutch, Flemish or English) and decides whether it is an open call
(an outlet inviting readers to show their office, a journalist looking for sources, a conference
looking for speakers, a podcast looking for guests, awards open for entries, organisers looking
for participants, a blog looking for guest posts). It scores the post with weighted rule cues,
squashed by a logistic function into 0..1, picks a category from the cues that fired, and
extracts the deadline (resolved against the post's own time) and who is asking.

What it does not do: learn weights from data (v1 is hand-tuned rules), detect the language, read
the clock or any settings. Time is an argument (`posted_at`); everything here is pure.

How the score works: `logit = BIAS + sum(weight of every cue that fired)`, each cue counted at
most once, and `score = 1 / (1 + exp(-logit))`. With BIAS = -3.0 a post without cues scores
0.05; THRESHOLD = 0.6 needs a logit of about +0.41, so roughly 3.4 points of evidence. The
weights (the table is `_CUES`):

- strong, category-specific (one nearly suffices): #journorequest/#prrequest/#cfp 4.0, call for
  speakers/papers 4.0, journalist seeking sources 3.5, guests sought 3.5, entries or nominations
  open 3.5, guest posts sought 3.5, nominate 3.0, participants sought 3.0, "looking for ... to
  feature" 3.0, registration/submissions open 3.0, #oproep 2.5;
- generic (need company): call word ("oproep", "gezocht", "open call") 2.2, audience or outlet
  ("voor Emerce-lezers", "in ons maandblad") 2.0, submission verb ("stuur ... in", "submit",
  "tip ons") 1.8, reason for asking ("voor een artikel over") 1.5, feature phrasing 1.5,
  guest-post word 1.5, seeking people with a story 1.5, collecting examples 1.5, second-person
  invitation ("Is jouw", "ken jij", "are you") 1.2 plus 0.4 when asked as a question, seeking
  1.2, contact verb ("reageer", "laat het ons weten", "DM me") 1.0, what is asked for ("jouw
  werkplek") 1.0, award context 1.0, programme context 0.5; a deadline after a marker 1.0 (a
  bare "vandaag" 0.5, a deadline word without a readable date 0.8);
- negative: call closed -6, deadline already passed -6, job vacancy -5, already featured -5,
  giveaway -5, promotion -4, advice among friends -3.5, poll -3.5, event announcement -3,
  police/news appeal -2.5.

The seed post "Is jouw werkplek uniek, verrassend en een must see voor Emerce-lezers?" scores
1.2 + 0.4 + 2.0 + 1.0 = 4.6, logit 1.6, 0.83. A second-person question plus a contact verb
alone (2.6, 0.40) stays below the threshold on purpose: that is also the shape of every sales
call to action ("Heb je vragen? Neem contact op!").
"""

from __future__ import annotations

import calendar
import math
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from detectors.records import OpportunityVerdict
from detectors.text import normalize

__all__ = [
    "AGAINST_KINDS",
    "BIAS",
    "THRESHOLD",
    "against_cues",
    "combine_title",
    "extract_asker",
    "extract_deadline",
    "find_deadline",
    "names_audience",
    "score_opportunity",
]

THRESHOLD = 0.6  # score >= THRESHOLD means opportunity=True (bot config opportunities.min_score)
BIAS = -3.0  # the logit of a post with no cues at all: sigmoid(-3) ≈ 0.05

# A deadline that follows a marker ("uiterlijk", "deadline", "vóór", "by", ...) is evidence of a
# call; a bare "vandaag"/"tomorrow" is weaker (it also dates news); a deadline word whose date we
# could not read ("deadline: binnenkort") still counts a little.
DEADLINE_WEIGHT = 1.0
BARE_DATE_WEIGHT = 0.5
DEADLINE_WORD_WEIGHT = 0.8
# A stated deadline before the post's own date (only possible with an explicit year): an old
# call shared again, or a report about one; as good as closed.
PAST_DEADLINE_WEIGHT = -6.0

_SNIPPET_MAX = 40


# --------------------------------------------------------------------------------------------
# Cues
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cue:
    """One rule: a pattern on normalized (lowercased, NFC) text, its weight and its meaning.

    `label` is the reason shown to people; `{m}` is replaced by the matched text and `{M}` by the
    same with a capital first letter. `question_bonus` is added when the match is followed by a
    question mark in the same sentence ("Is jouw werkplek ...?" asks the reader something).
    `anchors` are cheap substring checks run before the regex (see `_CUES`).
    """

    label: str
    pattern: re.Pattern[str]
    weight: float
    category: str | None = None
    anchors: str = ""  # "a|b|c": substrings one of which every match contains ("" = always run)
    question_bonus: float = 0.0
    anchor_list: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "anchor_list", tuple(a for a in self.anchors.split("|") if a))


def _rx(pattern: str) -> re.Pattern[str]:
    """Compile a verbose pattern; all cue patterns run on lowercased text."""
    return re.compile(pattern, re.VERBOSE)


def _word_rx(alternatives: str) -> re.Pattern[str]:
    r"""Compile alternatives that all start at a word boundary: `\b(?:a | b | ...)`.

    One shared leading `\b` lets the regex engine reject a position inside a word once instead
    of once per alternative, which matters for the long alternations here.
    """
    return re.compile(rf"\b(?:{alternatives})", re.VERBOSE)


def _trie_pattern(words: Iterable[str]) -> str:
    """A regex matching any of `words`, longest first, as a trie: "sta(?:nd)?" not "stand|sta".

    A flat alternation of hundreds of words tries every word at every position; the trie tries
    one branch per distinct next character, which is several times faster.
    """
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}  # a word ends here

    def build(node: dict[str, Any]) -> str:
        branches = [re.escape(char) + build(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body  # greedy: the longer word is tried first

    return build(trie)


def _literals(words: str) -> re.Pattern[str]:
    """A fast "does any of these substrings occur" check; `words` is "a|b|c" like cue anchors."""
    return re.compile(_trie_pattern(w for w in words.split("|") if w))


# Verbs that start a "seeking" clause, shared by several category cues.
_SEEK = r"(?:zoeken|zoekt|zoek|op\ zoek\ naar|looking\ for|seeking|searching\ for|wanted:?)"
# Up to a few filler words between the verb and what is sought ("zoeken nog twee enthousiaste").
_FILL = r"(?:[\w'-]+\s+){0,3}?"

# -- strong, category-specific cues ----------------------------------------------------------

# Hashtags that exist only to ask for sources; on their own almost decisive.
_JOURNO_HASHTAG = _rx(
    r"(?<!\w)\#(?:journo\ ?requests?|pr\ ?requests?|mediarequests?|persvraag|mediavraag)\b"
)
_SPEAKER_HASHTAG = _rx(r"(?<!\w)\#(?:cfp|callforspeakers|callforpapers|callforproposals)\b")
_CALL_HASHTAG = _rx(r"(?<!\w)\#(?:oproep|gezocht|opencall|callforentries|callforsubmissions)\b")

# A journalist or programme maker says they are looking for people to talk to.
_JOURNALIST = _word_rx(
    rf"""
    journalist(?:e|en)?\s+{_FILL}(?:zoekt|zoeken|is\ op\ zoek|op\ zoek|looking|seeks|seeking|
        searching|wants\ to\ (?:talk|speak|hear))
    | (?:{_SEEK}|need|nodig|wie\ wil|who\ wants\ to)\s+{_FILL}(?:experts?|sources?|deskundigen|
        ervaringsdeskundigen?|specialisten|interviewees|spokespeople|spokespersons?|woordvoerders?|
        case\ stud(?:y|ies)|commentators?|insiders)\b
    | ervaringsdeskundigen?\b
    | (?:i'm|i\ am|we're|we\ are|ik\ ben|we\ zijn)\ (?:writing|working\ on|researching|
        putting\ together|bezig\ met)\ (?:a|an|een)\ (?:\w+\ )?(?:piece|story|feature|article|
        artikel|stuk|verhaal|reportage|item)\b
    | ik\ schrijf\ (?:een|aan\ een)\ (?:\w+\ )?(?:artikel|stuk|verhaal|reportage)\b
    | (?:experts?|sources?|specialists?)\s+(?:to|who\ can|willing\ to)\s+(?:comment|talk|speak|
        share)\b
    | willing\ to\ (?:comment|be\ quoted|speak|talk|share)\b
    """
)
# "for a piece on", "voor een artikel over": the reason a journalist asks.
_STORY_FOR = _word_rx(
    r"""
    voor\ een\ (?:artikel|reportage|stuk|verhaal|item|interview|uitzending|onderzoek|longread|
        achtergrondverhaal)\b
    | for\ (?:a|an|my|our)\ (?:piece|story|feature|article|report|segment)\b
    | (?:wil|wilt|willen)\ (?:jij|je|u|jullie)\ (?:\w+\ ){0,2}?(?:vertellen|je\ verhaal\ doen|
        meewerken|geïnterviewd\ worden)\b
    | share\ (?:your|their)\ (?:story|experience)\b
    | deel\ (?:je|jouw|uw)\ (?:verhaal|ervaring)\b
    | wie\b[^.?!\n]{0,80}\b(?:vertellen|verhaal\ doen|meewerken|geïnterviewd)\b
    | (?:die|who)\ (?:\w+\ ){0,2}?(?:willen|wil|want\ to|would\ like\ to|are\ willing\ to)
        \ (?:\w+\ ){0,3}?(?:vertellen|praten|getuigen|talk|speak|share)\b
    """
)
# Calls for speakers, papers, proposals; "sprekers gezocht".
_SPEAKERS = _word_rx(
    rf"""
    call\ for\ (?:speakers|papers|proposals|presentations|talks|abstracts|sessions|workshops|
        contributions)\b
    | cfp\b
    | (?:sprekers?|speakers?|dagvoorzitters?)\s+(?:gezocht|wanted)\b
    | {_SEEK}\s+{_FILL}(?:sprekers|speakers|presenters|workshopgevers|dagvoorzitters?)\b
    | (?:submit|dien)\s+(?:je|jouw|your|a|uw)\s+(?:talk|sessie|session|proposal|voorstel|
        presentatie|workshop|abstract)\b
    | spreker\ worden\b | word\ spreker\b | become\ a\ speaker\b | speak\ at\b
    | (?:wil|wilt)\ (?:jij|je|u)\ (?:spreken|een\ talk\ geven|presenteren)\b
    | (?:sessie|presentatie|talk)voorstel(?:len)?\b
    """
)
# Collecting examples from the public: "Marketingfacts verzamelt de beste cases".
_COLLECTING = _word_rx(
    r"""
    (?:we\ |wij\ )?(?:verzamelen|verzamelt|inventariseren|bundelen)\b
    | (?:we're|we\ are|i'm|i\ am)\ (?:compiling|collecting|gathering|rounding\ up)\b
    """
)
# Seeking people with a story: "zoekt lezers met", "looking for parents who".
_SEEK_PEOPLE = _word_rx(
    rf"""
    {_SEEK}\s+{_FILL}(?:lezers|luisteraars|kijkers|mensen|ouders|ondernemers|werknemers|
        marketeers|consumenten|klanten|bedrijven|vrouwen|mannen|jongeren|studenten|people|parents|
        founders|marketers|women|men|employees|customers|brands|companies|readers|listeners|
        iemand|someone|anyone|anybody)\s+
        (?:die|met|who|that|with)\b
    """
)
# Programmes and podcasts looking for guests.
_GUESTS = _word_rx(
    rf"""
    (?:gasten|guests?)\s+(?:gezocht|wanted)\b
    | {_SEEK}\s+{_FILL}(?:gasten|guests|tafelgasten|panelleden|panellists)\b
    | kandidaten\ voor\ (?:ons|onze|de|het)\ (?:programma|podcast|show|uitzending)\b
    | be\ (?:a|my|our)\ guest\b | come\ on\ (?:the|our|my)\ (?:show|podcast)\b
    | te\ gast\ (?:in|bij)\b | aanschuiven\b
    | (?:wil|wilt)\ (?:jij|je|u)\ (?:te\ gast|in\ (?:onze|de|mijn)\ (?:podcast|show|uitzending|
        programma))
    """
)
# Words that place a post in broadcasting; a small nudge toward "guests".
_SHOW_CONTEXT = _word_rx(
    r"podcast\w*|aflevering\b|uitzending\b|episode\b|radioprogramma|talkshow\b"
)
# Awards and competitions open for entries or nominations.
_AWARDS_OPEN = _word_rx(
    r"""
    (?:entries|nominations|nominaties)\s+(?:are\s+|zijn\s+)?(?:now\s+|nu\s+|weer\s+)?
        (?:open|geopend)\b
    | call\ for\ (?:entries|nominations)\b
    | (?:enter|submit)\ (?:your|an|jouw|je)\ (?:entry|entries|case|campaign|campagne)\b
    | (?:zend|stuur|dien)\s+(?:je|jouw|uw)\s+(?:case|campagne|inzending)\b
    """
)
_NOMINATE = _word_rx(r"nomine(?:er|ren|eer)\b|nominate\b|voordragen\b|draag\ \w+\ voor\b")
_AWARD_CONTEXT = _word_rx(
    r"""
    awards?\b | verkiezing\b | jury\b | competition\b | wedstrijd\b | trofee\b
    | \w*(?:vak|publieks|jury|innovatie|marketing)prijs\b | of\ the\ year\b
    | beste\ (?:\w+\ )?van\ (?:het\ jaar|\d{4}|nederland|vlaanderen|belgië)\b
    """
)
# Organisers looking for participants, partners, testers (not for companies to feature).
_PARTICIPANTS = _word_rx(
    rf"""
    (?:deelnemers|participants|testers|vrijwilligers|volunteers|partners)\s+(?:gezocht|wanted)\b
    | {_SEEK}\s+{_FILL}(?:deelnemers|participants|partners|testers|panelleden|respondenten|
        vrijwilligers|volunteers|exhibitors|standhouders|sponsors|startups|start-ups|scale-ups)\b
    | join\ (?:us|the)\ (?:as|pilot|programme|program)\b
    | partner\ worden\b | become\ a\ (?:partner|sponsor|exhibitor)\b
    | call\ for\ (?:participants|partners|startups)\b
    | (?:startups|start-ups|scale-ups|deelnemers|teams)\ kunnen\ zich\ (?:nu\ |nog\ )?
        (?:aanmelden|inschrijven)\b
    | (?:meedoen|deelnemen)\ aan\ (?:een|de|onze|ons)\ (?:\w+\ )?(?:pilot|test|onderzoek|
        programma|challenge|accelerator|proef)\b
    | participate\ in\ (?:a|our|the)\ (?:\w+\ )?(?:pilot|study|test|programme|program|challenge)\b
    """
)
# Blogs and magazines accepting guest contributions.
_GUEST_BLOG_CALL = _word_rx(
    rf"""
    write\ for\ us\b
    | schrijf\ (?:mee\ )?voor\ (?:ons|onze)\b
    | (?:gastbloggers?|gastauteurs?|gastschrijvers?|bloggers|columnisten|contributors|
        guest\ (?:bloggers|writers|authors|contributors))\s+(?:gezocht|wanted)\b
    | (?:{_SEEK}|accepting|accepteren)\s+{_FILL}(?:gastbloggers?|gastauteurs?|gastschrijvers?|
        gastbijdragen|gastblogs|columnisten|bloggers|contributors|
        guest\ (?:posts|bloggers|writers|authors|contributors|articles))\b
    | call\ for\ (?:guest\ )?(?:posts|bloggers|contributors|writers)\b
    | guest\ posts?\ (?:welcome|wanted)\b
    | word\ gast(?:blogger|auteur|schrijver|columnist)\b
    | become\ a\ (?:guest\ )?(?:blogger|contributor|columnist)\b
    | pitch\ (?:us|me)\ (?:your|a)\ (?:guest\ )?(?:post|article|column|blog)\b
    """
)
_GUEST_BLOG_WORD = _word_rx(
    r"gastblog\w*|gastartikel\w*|gastauteur\w*|gastbijdrage\w*|gastcolumn\w*"
    r"|guest\ (?:post|blog|article|column)s?\b"
)
# "we're looking for offices to feature": seeking + featuring in one clause.
_SEEK_TO_FEATURE = _word_rx(
    r"""
    (?:looking\ for|seeking|searching\ for|zoeken|zoekt|op\ zoek\ naar|wants?\ to|willen)\b
    [^.!?\n]{0,80}?
    \b(?:to\ feature|feature\ in|om\ (?:uit\ te\ lichten|te\ featuren|te\ laten\ zien|
        in\ (?:de|het)\ (?:spotlight|zonnetje)\ te\ zetten))
    """
)

# -- generic positive cues (need company) ----------------------------------------------------

# Call words: "oproep", "gezocht", "open call", "inzendingen" ... (hashtags counted above).
_CALL_WORD = _word_rx(
    r"""
    (?<!\#)oproep(?:je)?\b | (?<!\#)gezocht\b | open\ call\b | call\ for\ \w+
    | inzendingen\b | inzenden\b
    | kandidatuur\b | kandidaturen\b | stel\ (?:je|jezelf|uw\ bedrijf)\ kandidaat\b
    | wanted\b | calling\ all\b
    """
)
# Registration or submissions opened (events, awards, open calls alike).
_CALL_OPEN = _word_rx(
    r"""
    (?:inschrijving|inschrijvingen|aanmelding|aanmeldingen|inzendingen|submissions|applications|
        registration)\b[^.!?\n]{0,50}?\b(?:is|zijn|are)\s+(?:nu\s+|weer\s+|now\s+)?(?:geopend|open)\b
    | (?:inschrijving|inschrijvingen|submissions|applications)\s+(?:nu\s+|now\s+)?
        (?:geopend|open)\b
    | (?:aanmelden|inschrijven|inzenden)\ kan\ (?:nu|vanaf|tot|nog)\b
    | (?:kunnen|kan|mogen|mag)\ (?:zich|je|jij|u)\ (?:nu\ |nog\ )?(?:aanmelden|inschrijven)\b
    """
)
_SEEKING = _word_rx(
    r"""
    (?:we|wij)\ (?:van\ [\w.&'-]+\ )?zoeken\b | zoeken\ (?:we|wij)\b
    | zoek\ ik\b | ik\ zoek\b
    | (?:zijn|is)\ (?:we\ |wij\ )?op\ zoek\ naar\b
    | zoekt\b | looking\ for\b | seeking\b
    """
)
# What one enters or signs up on someone's behalf ("meld je bureau aan"; not "meld je snel aan").
_ENTRIES = r"(?:bedrijf|kantoor|team|werkplek|bureau|agency|startup|campagne|case|project|merk)\b"
# Imperatives that hand something in: a photo, a case, a pitch, a tip, a nomination.
_SUBMIT_VERB = _word_rx(
    rf"""
    stuur\b(?:\s+[^\s.!?]+){{0,4}}?\s+in\b
    | stuur\ (?:ons|me|mij)\ (?:je|jouw|uw|een\ foto|foto's)\b
    | (?:zend|dien)\s+(?:[^\s.!?]+\s+){{0,3}}?in\b
    | meld\ (?:jouw\ \w+|uw\ \w+|je\ {_ENTRIES})\ (?:\w+\ )?aan\b
    | (?:e-?)?mail\ (?:ons|me|mij|us)\ (?:je|jouw|uw|your)\b
    | (?:stuur|mail|send)\s+(?:[^\s.!?]+\s+){{0,3}}?(?:naar|to)\s+(?:ons|de\ redactie|us|me|mij)\b
    | tip\ (?:ons|me|mij|de\ redactie)\b | tips?\ (?:zijn\ |is\ )?welkom\b
    | schrijf\ (?:hem|haar|het|ze|jouw\ \w+|uw\ \w+|je\ {_ENTRIES})\ in\b
    | submit\b | pitch\ (?:us|me)\b | send\ (?:us|me)\ (?:your|a\ photo|photos)\b
    | reply\ with\ (?:your|a|an)\b
    | deel\ (?:je|jouw|uw|een)\ (?:foto|foto's|verhaal|ervaring|werkplek)\b
    | share\ (?:your|a)\ (?:photo|photos|pics?|story|office)\b
    """
)
# Imperatives that only ask for contact; sales and events use them as much as calls do.
_CONTACT_VERB = _word_rx(
    r"""
    stuur\ (?:ons|me|mij|een\ mail|een\ berichtje|een\ dm|een\ bericht)\b
    | meld\ (?:je|jezelf|u)\ (?:\w+\ )?aan\b | aanmelden\b | aanmeldingen\b
    | schrijf\ (?:je|jezelf|u)\ in\b | inschrijven\b
    | (?:e-?)?mail\ (?:ons|me|mij|naar|us)\b
    | laat\ (?:het\ |dat\ )?(?:(?:ons|me|mij)\ )?(?:\w+\ )?weten\b
    | reageer\b | reageren\ kan\b | doe\ mee\b | meedoen\b
    | neem\ contact\ (?:met\ ons\ )?op\b | contacteer\b
    | apply\b | dm\ (?:me|us|ons|mij)\b | send\ (?:us|me)\b
    | get\ in\ touch\b | reach\ out\b | drop\ (?:us|me)\ a\ (?:line|note|message)\b
    | let\ (?:us|me)\ know\b | tell\ us\b | hit\ reply\b
    | (?:want|love|like)\ to\ hear\ from\ (?:you|people)\b
    | (?:horen|hoor)\ (?:graag\ )?(?:van\ )?(?:je|jou|u|jullie)\b
    """
)
# What a call asks for: "jouw werkplek", "your campaign", "heb jij een opvallend kantoor".
_OBJECTS = r"""(?:\w*werkplek\w*|kantoor\w*|office|offices|workspace|bedrijfspand|campagne|campaign|
    case|cases|verhaal|story|stories|ervaring|experience|voorbeelden|examples|foto's|photos|
    project)\b"""
_SUBMISSION_OBJECT = _word_rx(
    rf"""
    (?:jouw|uw|your)\ (?:[\w'-]+\ )?{_OBJECTS}
    | (?:heb|hebt|heeft|ken|kent|zit|werk|werkt)\ (?:jij|je|u|ge|gij|jullie)\ (?:\w+\ ){{0,2}}?
        (?:een|zo'n)\ (?:[\w'-]+\ ){{0,5}}?{_OBJECTS}
    | (?:bijzondere|opvallende|unieke|straffe|unusual|unique|remarkable|
        odd|surprising|quirky)\ (?:[\w'-]+\ )?{_OBJECTS}
    | (?:do|does)\ (?:you|your\ \w+)\ (?:\w+\ )?have\ (?:a|an)\ (?:[\w'-]+\ ){{0,3}}?{_OBJECTS}
    """
)
# Dutch question word order (verb before jij/je/u/jouw; Flemish gij/ge) and English "are you".
_SECOND_PERSON = _word_rx(
    r"""
    (?:is|heb|hebt|heeft|ken|kent|wil|wilt|ben|bent|zijt|sta|staat|werk|werkt|zit|woon|maak|
        doe|zoek)\s+(?:jij|je|u|jouw|uw|gij|ge|jullie)\b
    | (?:are|do|does|is|have|has|would|did|can)\s+(?:you|your)\b
    | know\ (?:someone|anyone|somebody)\b
    | (?:hoe|waar|waarom|welke)\ \w+\ (?:jij|je|jouw|u|uw|gij|ge)\b
    | wie\ (?:wil|wilt|heeft|kent|is)\b | who\ (?:wants|would\ like|has)\b
    """
)
# Who the post is written for, or where the result will appear.
_AUDIENCE = _word_rx(
    r"""
    (?:voor|for|aan|to)\s+(?:onze\ |alle\ |de\ |our\ |all\ |the\ )?(?:[\w.&'-]+[-\ ])?
        (?:lezers|luisteraars|kijkers|abonnees|readers|listeners|viewers|audience|subscribers)\b
    | (?:in|voor)\ (?:ons|onze)\ (?:magazine|maandblad|blad|tijdschrift|nummer|editie|special|
        rubriek|dossier|programma|podcast|nieuwsbrief|krant|katern|bijlage|serie|reeks|vakblad)\b
    | (?:in|for)\ our\ (?:[\w#-]+\ )?(?:magazine|issue|newsletter|series|podcast|show|column|
        publication|special)\b
    | in\ (?:de|het|onze|ons)\ (?:volgende|nieuwe|komende)\ (?:editie|nummer|uitzending|
        aflevering|magazine)\b
    | in\ (?:the|our)\ (?:next|upcoming|new)\ (?:issue|edition|episode|newsletter)\b
    | onze\ (?:lezers|luisteraars|kijkers)\b | our\ (?:readers|listeners|viewers|audience)\b
    | (?:kom|komt|sta|staat)\ (?:je|jij|ge|gij|u)\ (?:\w+\ )?(?:straks\ )?in\ (?:ons|onze|de|het)?
    | (?:voor|in)\ (?:de|onze|het|ons)\ (?:rubriek|katern|dossier|themanummer|special)\b
    """
)
_FEATURE = _word_rx(
    r"""
    to\ feature\b | featuren\b | feature\ (?:you|your|jouw|je|uw)\b | be\ featured\b
    | get\ featured\b | uitlichten\b | uitgelicht\b | in\ the\ spotlight\b
    | in\ de\ spotlight\b | in\ het\ zonnetje\b | showcase\b
    """
)

# -- negative cues ---------------------------------------------------------------------------

# Job titles that turn "wij zoeken een ..." into a vacancy. Deliberately not "marketeer" or
# "specialist": journalists seek those as sources.
_JOBS = r"""(?:developers?|ontwikkelaars?|programmeurs?|designers?|ontwerpers?|collega'?s?|
    medewerkers?|stagiair(?:e|es|s)?|trainees?|interns?|internship|stageplek|bijbaan|werkstudent|
    online\ marketeer|content\ marketeer|copywriters?|redacteur|redactrice|editor|engineers?|
    consultants?|adviseurs?|accountmanagers?|projectleiders?|teamleiders?|analisten?|analysts?|
    receptionist|ceo|cto|cfo|directeur|(?:marketing|community|social\ media|content|account|
    product|project|office|sales)\ ?managers?)\b"""
_VACANCY = _word_rx(
    rf"""
    vacatures?\b | we(?:'re|\ are)\ hiring\b | hiring\b | solliciteer | sollicit\w*
    | join\ (?:our|the)\ team\b | traineeships?\b | internships?\b
    | (?:kom|versterk)\ (?:ons|het)\ team\b | team\ versterken\b
    | m/v(?:/x)?\b | fulltime\b | parttime\b | uur\ per\ week\b | salaris\b
    | kom\ werken\ bij\b | werken\ bij\ ons\b | job\ opening
    | open\ (?:position|role|vacancy)
    | (?:zoeken|zoekt|zoek|op\ zoek\ naar|looking\ for|hiring|seeking)\s+(?:een\ |a\ |an\ )?
        {_FILL}{_JOBS}(?![^.!?\n]{{0,40}}\b(?:comment|quote|talk|speak|share|vertellen|verhaal|
        ervaring|interview))
    | {_JOBS}\s*(?:\(m/v\)\s*)?gezocht\b
    """
)
_PROMOTION = _word_rx(
    r"""
    korting\w* | \d+\s*%\s*(?:korting|off|discount) | actie(?:prijs|s)?\b
    | (?:zomer|winter|voorjaars|najaars|kerst|kortings|speciale|tijdelijke|deze)\s?actie\b
    | shop\ (?:now|nu)\b | bestel\ (?:nu|vandaag|direct)\b | order\ (?:now|today)\b
    | buy\ now\b | koop\ (?:nu|hem|ze)\b | gratis\ verzending\b | free\ shipping\b
    | sale\b | uitverkoop\b | (?:use|gebruik)(?:\ de)?\ code\b | aanbieding\w*
    | op=op\b | limited\ (?:time\ )?offer\b | discount\b
    """
)
# Announcing one's own appearance, not inviting anyone to take part.
_EVENT_ANNOUNCEMENT = _word_rx(
    r"""
    (?:morgen|vandaag|vanavond|straks|volgende\ week|maandag|dinsdag|woensdag|donderdag|vrijdag|
        zaterdag|zondag)\s+(?:spreek|sta|presenteer|ben)\s+ik\b
    | ik\ (?:spreek|presenteer|sta)\ (?:morgen\ |vandaag\ |straks\ )?(?:op|tijdens|bij)\b
    | i(?:'m|\ am|'ll\ be|\ will\ be)\ (?:speaking|presenting|talking|on\ stage)\b
    | kom\ naar\ (?:onze|de|mijn)\ (?:stand|sessie|talk|presentatie|workshop)\b
    | bezoek\ (?:ons|onze\ stand)\b | visit\ (?:us|our\ booth|our\ stand)\b
    | (?:stand|booth)\s*(?:nr\.?|\#|nummer)?\s*\d+\b
    | see\ you\ (?:at|there|tomorrow)\b | tot\ (?:morgen|straks|dan)\ (?:op|in|bij)\b
    | (?:get|koop|bestel)\ (?:je|jouw|your)\ tickets?\b
    | tickets?\ (?:zijn|are)\ (?:nu\ )?(?:verkrijgbaar|available|on\ sale)\b
    | live\ (?:vanaf|from)\b | join\ us\ (?:at|tomorrow|tonight|today)\b
    """
)
# Asking friends for a tip is not an outlet asking for submissions.
_FRIEND_ADVICE = _word_rx(
    r"""
    weet\ (?:er\ )?iemand\b | kent\ (?:er\ )?iemand\b
    | (?:heeft\ (?:er\ )?)?iemand\ (?:tips|een\ tip|een\ aanrader|ervaring\ met)\b
    | wie\ (?:kent|weet|heeft)\ (?:er\ )?(?:een\ )?(?:goede|leuke|tips)\b
    | tips\ voor\ een\ (?:goede|leuke)\b | aanraders\b
    | (?:does|do)\ (?:anyone|anybody)\ (?:know|have)\b | anyone\ (?:know|recommend|have)\b
    | can\ (?:anyone|someone|anybody)\ recommend\b | any\ recommendations\b
    | (?:zoek|zoeken|op\ zoek\ naar|looking\ for)\s+(?:een|a)\s+(?:goede|leuke|betaalbare|good|
        nice|decent|reliable)\b
    """
)
# A call that is over: thanking for entries, "gesloten", "no longer accepting".
_CLOSED = _word_rx(
    r"""
    (?:inschrijving|inschrijvingen|aanmelding|aanmeldingen|inzending|inzendingen|oproep|call|cfp|
        registratie|nominaties?|submissions?|entries|applications|registration|nominations)\b
        [^.!?\n]{0,30}?\b(?:is|zijn|are)?\s*(?:nu\s+|now\s+)?(?:gesloten|closed|dicht|afgelopen)\b
    | bedankt\ voor\ (?:alle|de|jullie|uw|je)\ (?:\w+\ )?(?:inzendingen|aanmeldingen|reacties|
        nominaties|tips|inschrijvingen)\b
    | thanks?\ (?:you\ )?(?:to\ everyone\ |all\ )?for\ (?:all\ )?(?:the\ |your\ )?(?:submissions|
        entries|applications|nominations|responses|pitches)\b
    | no\ longer\ accepting\b | (?:niet|geen)\ (?:meer|langer)\ (?:mogelijk|open)\b
    | deadline\ (?:is\ |has\ )?(?:verstreken|passed|verlopen)\b
    | we\ hebben\ (?:genoeg|voldoende)\b | we(?:\ have|'ve)\ (?:found|got\ enough|enough)\b
    | update:?\ (?:gevonden|found|gesloten|closed)\b | volgeboekt\b | fully\ booked\b
    """
)
# Someone who was featured, bragging about it: the call (if any) is already answered.
_ALREADY_FEATURED = _word_rx(
    r"""
    (?:ons|onze|mijn)\ \w+(?:\ [^.!?,]{0,40}?)?\ (?:staat|staan|stond|stonden|komt|kwam)
        \ (?:\w+\ ){0,3}in\b
    | (?:staan|stonden|stond|staat|kwamen|kwam)\ (?:we|wij|ik)\ (?:\w+\ )?in\b
    | (?:we|wij|ik)\ (?:zijn|werden|waren|ben|werd)\ (?:\w+\ )?(?:uitgelicht|geïnterviewd|genoemd)
    | (?:we|i)\ (?:were|was|got|have\ been|'ve\ been|are|'re|am|'m)\ (?:\w+\ )?(?:featured|
        interviewed|mentioned)\b
    | proud\ to\ (?:be|have\ been)\ featured\b | as\ (?:featured|seen)\ (?:in|on)\b
    | lees\ (?:het|ons|mijn)\ (?:interview|artikel|verhaal)\b
    | read\ (?:the|our|my)\ (?:interview|article|feature|story)\b
    | (?:bedankt|dank|thanks|thank\ you)\b[^.!?\n]{0,40}
        (?:voor\ het\ (?:artikel|interview|mooie\ stuk)|for\ (?:featuring|the\ feature|the\ article|
        the\ interview))
    | trots\ (?:dat|om)\ (?:we|wij|ik|ons)\b | proud\ that\ we\b
    """
)
_GIVEAWAY = _word_rx(
    r"""
    like\s*(?:en|&|and|\+)\s*(?:deel|share|retweet|rt)\b | deel\ (?:dit\ bericht|en\ win)\b
    | (?:retweet|rt)\s*(?:en|and|&)\s*(?:win|maak)\b
    | win\s+(?:een|a|an|\d+|twee|two|gratis|free|tickets?|kaartjes)\b
    | giveaway\b | winactie\b | win-actie\b | maak\ kans\ op\b
    | tag\ (?:een\ vriend|a\ friend|iemand)\b | volg\ ons\ en\b
    """
)
_POLL = _word_rx(
    r"""
    wat\ vinden\ jullie\b | wat\ vind\ (?:jij|je)\ (?:ervan|van)\b | wat\ denken\ jullie\b
    | jullie\ mening\b | what\ do\ you\ (?:all\ |guys\ )?think\b | poll\b
    | eens\ of\ oneens\b | welke\ (?:vinden\ jullie|kies\ jij|heeft\ jouw\ voorkeur)\b
    | which\ (?:one\ )?do\ you\ prefer\b | vote\ (?:now|for)\b | stem\ (?:nu\ )?(?:op|mee)\b
    """
)
# Police and public appeals use the same words ("oproep", "gezocht") but are news.
_NEWS_APPEAL = _word_rx(
    r"""
    politie\b | getuigen\b | vermist\w* | police\b | witnesses\b | missing\b
    | oproep\ tot\b | roept\ \w+\ op\b
    """
)
# A deadline word whose date we could not read still suggests a call.
_DEADLINE_WORD_ANCHORS = _literals(
    "deadline|uiterlijk|sluitingsdatum|inzendtermijn|closing date|due by"
)
_DEADLINE_WORD = _word_rx(
    r"deadline\b|uiterlijk\b|sluitingsdatum\b|inzendtermijn\b|closing\ date\b|due\ by\b"
)

# The rule table. Weights: strong specific cues 3-4, generic cues 1.2-2.2, negatives -2.5..-6.
# Anchors: substrings (of the lowercased text) at least one of which every match of the cue
# contains. A cue whose anchors are all absent is skipped without running its regex; most posts
# contain few of them, which is what makes 10k posts a second possible. tests/ checks with
# hypothesis (strings generated from each pattern) that the anchors never hide a match.
_JOURNALIST_ANCHORS = (
    "journalist|expert|source|deskundige|specialist|interviewee|spokesp|woordvoerder|case stud|"
    "commentator|insider|writing|working on|researching|putting together|bezig met|ik schrijf|"
    "willing to"
)
_PARTICIPANT_ANCHORS = (
    "deelnemer|participant|tester|vrijwilliger|volunteer|partner|exhibitor|standhouder|sponsor|"
    "startup|start-up|scale-up|panel|respondent|join |become a |call for|kunnen zich|meedoen|"
    "deelnemen|participate"
)
_GUEST_BLOG_ANCHORS = (
    "write for us|schrijf |blogger|gastblog|gastauteur|gastschrijver|gastbijdrage|columnist|"
    "contributor|guest |call for|word gast|become a |pitch "
)
_CONTACT_ANCHORS = (
    "stuur|meld |aanmeld|schrijf|inschrijven|mail|laat |reageer|reageren|doe mee|meedoen|contact|"
    "apply|dm |send|in touch|reach out|drop |know|tell us|reply|hear from|hoor|horen"
)
_OBJECT_ANCHORS = (
    "werkplek|kantoor|office|workspace|bedrijfspand|campagne|campaign|case|verhaal|story|stories|"
    "ervaring|experience|voorbeelden|examples|foto's|photos|project"
)
_AUDIENCE_ANCHORS = (
    "lezers|luisteraars|kijkers|abonnees|readers|listeners|viewers|audience|subscribers|ons|onze|"
    "our |volgende|nieuwe|komende|next|upcoming|new|kom|sta|rubriek|katern|dossier|themanummer|"
    "special"
)
_VACANCY_ANCHORS = (
    "vacature|hiring|sollicit|team|trainee|intern|m/v|fulltime|parttime|uur per week|salaris|"
    "werken bij|job opening|open |zoek|looking for|seeking|gezocht"
)
_PROMOTION_ANCHORS = (
    "korting|%|actie|shop |bestel |order |buy now|koop |verzending|shipping|sale|uitverkoop|code|"
    "aanbieding|op=op|offer|discount"
)
_EVENT_ANCHORS = (
    " ik|ik |speaking|presenting|talking|on stage|kom naar|bezoek|visit|stand|booth|see you|tot |"
    "ticket|live |join us"
)
_CLOSED_ANCHORS = (
    "gesloten|closed|dicht|afgelopen|bedankt voor|thank|no longer|meer|langer|verstreken|passed|"
    "verlopen|we hebben|we have|we've|update|volgeboekt|fully booked"
)
_FEATURED_ANCHORS = (
    "sta|stond|kom|kwam|uitgelicht|geïnterviewd|genoemd|featured|interviewed|mentioned|as seen|"
    "lees |read |dank|thank|trots|proud"
)
_SEEK_ANCHORS = "zoek|looking for|seeking|searching for|wanted"

# The rule table. Weights: strong specific cues 3-4, generic cues 1-2.2, negatives -2.5..-6.
_CUES: tuple[Cue, ...] = (
    # strong, category-specific
    Cue("request hashtag '{m}'", _JOURNO_HASHTAG, 4.0, "journalist_request", "#"),
    Cue("request hashtag '{m}'", _SPEAKER_HASHTAG, 4.0, "speakers", "#"),
    Cue("request hashtag '{m}'", _CALL_HASHTAG, 2.5, anchors="#"),
    Cue(
        "call for speakers '{m}'",
        _SPEAKERS,
        4.0,
        "speakers",
        "call for|cfp|sprek|speak|dagvoorzitter|presenter|workshopgever|submit|dien|talk|voorstel",
    ),
    Cue(
        "journalist seeking sources '{m}'",
        _JOURNALIST,
        3.5,
        "journalist_request",
        _JOURNALIST_ANCHORS,
    ),
    Cue(
        "guests sought '{m}'",
        _GUESTS,
        3.5,
        "guests",
        "gast|guest|panel|kandidaten voor|come on |aanschuiven|podcast|show|uitzending|programma",
    ),
    Cue(
        "entries open '{m}'",
        _AWARDS_OPEN,
        3.5,
        "awards",
        "entries|nominations|nominaties|call for|enter |submit |zend|stuur|dien",
    ),
    Cue("guest posts sought '{m}'", _GUEST_BLOG_CALL, 3.5, "guest_blog", _GUEST_BLOG_ANCHORS),
    Cue("nomination call '{m}'", _NOMINATE, 3.0, "awards", "nomine|nominate|voordragen|draag "),
    Cue("participants sought '{m}'", _PARTICIPANTS, 3.0, "participants", _PARTICIPANT_ANCHORS),
    Cue(
        "looking for ... to feature '{m}'",
        _SEEK_TO_FEATURE,
        3.0,
        "submission",
        "feature|uit te lichten|te laten zien|spotlight|zonnetje",
    ),
    Cue(
        "registration open '{m}'",
        _CALL_OPEN,
        3.0,
        anchors="open|aanmelden|inschrijven|inzenden kan",
    ),
    # generic, need company
    Cue(
        "call phrase '{m}'",
        _CALL_WORD,
        2.2,
        anchors="oproep|gezocht|open call|call for|inzend|kandidatu|kandidaat|wanted|calling all",
    ),
    Cue("audience/outlet phrasing '{m}'", _AUDIENCE, 2.0, "submission", _AUDIENCE_ANCHORS),
    Cue(
        "submission verb '{m}'",
        _SUBMIT_VERB,
        1.8,
        anchors="stuur|zend|dien|meld |mail|send|tip|schrijf|submit|pitch|reply|deel |share ",
    ),
    Cue(
        "second-person invitation ('{M} ...')",
        _SECOND_PERSON,
        1.2,
        anchors=" jij| je| u| jouw| uw| gij| ge| jullie| you|know some|know any|wie |who ",
        question_bonus=0.4,
    ),
    Cue(
        "reason for asking '{m}'",
        _STORY_FOR,
        1.5,
        "journalist_request",
        "voor een |for a|for my|for our|wil|share |deel |wie|want to|would like to|willing to",
    ),
    Cue(
        "feature phrasing '{m}'",
        _FEATURE,
        1.5,
        "submission",
        "feature|uitlicht|uitgelicht|spotlight|zonnetje|showcase",
    ),
    Cue(
        "guest post word '{m}'",
        _GUEST_BLOG_WORD,
        1.5,
        "guest_blog",
        "gastblog|gastartikel|gastauteur|gastbijdrage|gastcolumn|guest ",
    ),
    Cue("seeking people with a story '{m}'", _SEEK_PEOPLE, 1.5, anchors=_SEEK_ANCHORS),
    Cue(
        "collecting examples '{m}'",
        _COLLECTING,
        1.5,
        anchors="verzamel|inventariseren|bundelen|compiling|collecting|gathering|rounding up",
    ),
    Cue("seeking '{m}'", _SEEKING, 1.2, anchors="zoek|looking for|seeking"),
    Cue("contact verb '{m}'", _CONTACT_VERB, 1.0, anchors=_CONTACT_ANCHORS),
    Cue("what is asked for '{m}'", _SUBMISSION_OBJECT, 1.0, anchors=_OBJECT_ANCHORS),
    Cue(
        "award context '{m}'",
        _AWARD_CONTEXT,
        1.0,
        "awards",
        "award|verkiezing|jury|competition|wedstrijd|trofee|prijs|of the year|beste ",
    ),
    Cue(
        "programme context '{m}'",
        _SHOW_CONTEXT,
        0.5,
        "guests",
        "podcast|aflevering|uitzending|episode|radioprogramma|talkshow",
    ),
    # negatives: each is a kind of post that looks like a call but is not one
    Cue("against: call closed '{m}'", _CLOSED, -6.0, anchors=_CLOSED_ANCHORS),
    Cue("against: job vacancy '{m}'", _VACANCY, -5.0, anchors=_VACANCY_ANCHORS),
    Cue("against: already featured '{m}'", _ALREADY_FEATURED, -5.0, anchors=_FEATURED_ANCHORS),
    Cue(
        "against: giveaway '{m}'",
        _GIVEAWAY,
        -5.0,
        anchors="like|deel |retweet|rt|win|giveaway|maak kans|tag |volg ons",
    ),
    Cue("against: promotion '{m}'", _PROMOTION, -4.0, anchors=_PROMOTION_ANCHORS),
    Cue(
        "against: advice among friends '{m}'",
        _FRIEND_ADVICE,
        -3.5,
        anchors="iemand|wie |aanrader|tips voor|anyone|anybody|someone|recommend|zoek|looking for",
    ),
    Cue(
        "against: poll '{m}'",
        _POLL,
        -3.5,
        anchors="wat vind|wat denk|jullie mening|think|poll|eens of|welke |prefer|vote |stem ",
    ),
    Cue("against: event announcement '{m}'", _EVENT_ANNOUNCEMENT, -3.0, anchors=_EVENT_ANCHORS),
    Cue(
        "against: news appeal '{m}'",
        _NEWS_APPEAL,
        -2.5,
        anchors="politie|getuigen|vermist|police|witnesses|missing|oproep tot|roept",
    ),
)


def _anchor_index(cues: tuple[Cue, ...]) -> tuple[re.Pattern[str], dict[str, frozenset[int]]]:
    """One pass over a text finds every anchor of every cue.

    The scan tries, at each position (a zero-width look-ahead, so occurrences may overlap), the
    longest anchor that starts there. Any shorter anchor starting at the same position is a
    prefix of that one, so each anchor maps to the cues of all anchors that are its prefixes.
    """
    anchors = sorted({a for cue in cues for a in cue.anchor_list}, key=len, reverse=True)
    enables: dict[str, frozenset[int]] = {}
    for anchor in anchors:
        enables[anchor] = frozenset(
            index
            for index, cue in enumerate(cues)
            if any(anchor.startswith(own) for own in cue.anchor_list)
        )
    scan = re.compile("(?=(" + _trie_pattern(anchors) + "))")
    return scan, enables


_ANCHOR_SCAN, _ANCHOR_ENABLES = _anchor_index(_CUES)


def _cues_to_run(norm: str) -> frozenset[int]:
    """Indices of the cues whose anchors occur in `norm` (plus those without anchors)."""
    enabled: set[int] = set(_ALWAYS_RUN)
    for found in set(_ANCHOR_SCAN.findall(norm)):
        enabled.update(_ANCHOR_ENABLES[found])
    return frozenset(enabled)


# The negative cues (kinds of posts that look like calls but are not), for the learned model
# (detectors/opportunity_model.py), which uses them as features next to its words.
_AGAINST = tuple(cue for cue in _CUES if cue.weight < 0)
_AGAINST_SCAN, _AGAINST_ENABLES = _anchor_index(_AGAINST)
AGAINST_KINDS: tuple[str, ...] = (
    *(cue.label.removeprefix("against: ").split(" '")[0] for cue in _AGAINST),
    "deadline passed",
)


_AUDIENCE_ANCHORS_RX = _literals(_AUDIENCE_ANCHORS)


def names_audience(text: str) -> bool:
    """Does the post name an outlet's audience or its pages ("voor Emerce-lezers", "for our
    readers", "in ons magazine")? The learned model weighs it as one feature."""
    norm = _prepare(text)
    return bool(_AUDIENCE_ANCHORS_RX.search(norm)) and bool(_AUDIENCE.search(norm))


_YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)|\d[-/.]\d{1,2}[-/.]\d\d")


def against_cues(text: str, posted_at: datetime) -> list[tuple[int, str]]:
    """Which negative cues fire on `text`: (index into AGAINST_KINDS, the words that matched).

    A deadline stated before the post's own date counts as the last kind ("deadline passed").
    """
    norm = _prepare(text)
    found: list[tuple[int, str]] = []
    # One pass of the anchor scan picks the cues worth a regex search (as `_cues_to_run`).
    enabled: set[int] = set()
    for anchor in set(_AGAINST_SCAN.findall(norm)):
        enabled.update(_AGAINST_ENABLES[anchor])
    for index in sorted(enabled):
        cue = _AGAINST[index]
        match = cue.pattern.search(norm)
        if match is not None:
            found.append((index, _snippet(match.group(0))))
    # A deadline can only lie before the post's own date when a year is written out.
    if _YEAR.search(norm):
        posted = _utc(posted_at)
        deadline = _find_deadline(norm, posted)
        if deadline is not None and deadline.day < posted.date():
            found.append((len(_AGAINST), deadline.snippet))
    return found


_ALWAYS_RUN = frozenset(index for index, cue in enumerate(_CUES) if not cue.anchor_list)


# Rest of the sentence up to a question mark: "Is jouw werkplek uniek ...?"
_QUESTION_TAIL = re.compile(r"[^.!?\n]{0,200}\?")


@dataclass(frozen=True, slots=True)
class _Hit:
    cue: Cue
    weight: float
    reason: str


def _snippet(matched: str) -> str:
    text = " ".join(matched.split()).strip(" .,:;!?-–")
    return text if len(text) <= _SNIPPET_MAX else text[: _SNIPPET_MAX - 3].rstrip() + "..."


def _fire(norm: str) -> list[_Hit]:
    """Every cue that matches `norm`, once each, with its effective weight and reason."""
    hits: list[_Hit] = []
    for index in sorted(_cues_to_run(norm)):  # table order: reasons read in a stable order
        cue = _CUES[index]
        match = cue.pattern.search(norm)
        if match is None:
            continue
        weight = cue.weight
        snippet = _snippet(match.group(0))
        label = cue.label
        if cue.question_bonus and _QUESTION_TAIL.match(norm, match.end()):
            weight += cue.question_bonus
            label = label.replace("...'", "...?'")
        reason = label.replace("{M}", snippet[:1].upper() + snippet[1:]).replace("{m}", snippet)
        hits.append(_Hit(cue, weight, reason))
    return hits


def _category(hits: Iterable[_Hit]) -> str:
    """The category with the most positive weight behind it; "submission" when none is named."""
    votes: dict[str, float] = {}
    for hit in hits:
        if hit.weight > 0 and hit.cue.category is not None:
            votes[hit.cue.category] = votes.get(hit.cue.category, 0.0) + hit.weight
    if not votes:
        return "submission"
    return max(votes, key=lambda name: votes[name])


def _squash(logit: float) -> float:
    """Logistic function, safe for any logit."""
    if logit >= 0:
        return 1.0 / (1.0 + math.exp(-logit))
    z = math.exp(logit)
    return z / (1.0 + z)


# --------------------------------------------------------------------------------------------
# Deadlines
# --------------------------------------------------------------------------------------------

_MONTHS: dict[str, int] = {
    "januari": 1, "january": 1, "jan": 1,
    "februari": 2, "february": 2, "febr": 2, "feb": 2,
    "maart": 3, "march": 3, "mrt": 3, "mar": 3,
    "april": 4, "apr": 4,
    "mei": 5, "may": 5,
    "juni": 6, "june": 6, "jun": 6,
    "juli": 7, "july": 7, "jul": 7,
    "augustus": 8, "august": 8, "aug": 8,
    "september": 9, "sept": 9, "sep": 9,
    "oktober": 10, "october": 10, "okt": 10, "oct": 10,
    "november": 11, "nov": 11,
    "december": 12, "dec": 12,
}  # fmt: skip
_WEEKDAYS: dict[str, int] = {
    "maandag": 0, "monday": 0, "mon": 0,
    "dinsdag": 1, "tuesday": 1, "tues": 1, "tue": 1,
    "woensdag": 2, "wednesday": 2, "wed": 2,
    "donderdag": 3, "thursday": 3, "thurs": 3, "thur": 3, "thu": 3,
    "vrijdag": 4, "friday": 4, "fri": 4,
    "zaterdag": 5, "saturday": 5,
    "zondag": 6, "sunday": 6,
}  # fmt: skip
_NUMBER_WORDS: dict[str, int] = {
    "een": 1, "één": 1, "a": 1, "an": 1, "one": 1, "twee": 2, "two": 2, "drie": 3, "three": 3,
    "vier": 4, "four": 4, "vijf": 5, "five": 5, "zes": 6, "six": 6, "zeven": 7, "seven": 7,
    "acht": 8, "eight": 8, "negen": 9, "nine": 9, "tien": 10, "ten": 10,
}  # fmt: skip
_RELATIVE_DAYS: dict[str, int] = {
    "vandaag": 0, "today": 0, "vanavond": 0, "tonight": 0,
    "overmorgen": 2, "morgen": 1, "tomorrow": 1,
}  # fmt: skip


def _alternation(words: Iterable[str]) -> str:
    """Longest first, so "march" wins over "mar" and "overmorgen" over "morgen"."""
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_MONTH = rf"(?P<mon>{_alternation(_MONTHS)})\.?(?![a-zà-ÿ])"
_WEEKDAY = rf"(?:{_alternation(_WEEKDAYS)})"
# An optional weekday before a date: "vrijdag 20 juni", "Friday, June 20".
_WEEKDAY_PREFIX = rf"(?:{_WEEKDAY}\s*,?\s+)?"

# What introduces a deadline. "binnen"/"within" introduce a duration instead of a date.
_DEADLINE_MARKER = _rx(
    r"""
    (?P<marker>
        uiterlijk | v[oó][oó]r | tot\ en\ met | t/m | tot | uiterste\ (?:inzend)?datum
        | deadline(?:\s+(?:[^\s.!?:]+\s+){0,4}?(?:is|op|ligt\ op|valt\ op)\b)?
        | sluitingsdatum | sluit(?:\ op)? | by | before | until | till | no\ later\ than
        | closes?(?:\ on)? | closing(?:\ date)?(?:\ is)? | due(?:\ by|\ on)?
        | (?P<within>binnen|within)
    )
    \s*[:\-–]?\s*
    """
)
# A marker starts a word. Checked in Python rather than with a look-behind in the pattern: a
# pattern that starts with plain letters lets the regex engine skip ahead fast.
_BEFORE_MARKER = frozenset(" ([,;:–—-\"'“‘.!?/")
# "by EOD Thursday", "vóór einde dag": the end of a day, i.e. that day.
_EOD = _rx(
    r"""
    (?:eod|cob|end\ of\ (?:the\ )?(?:business\ )?day|close\ of\ business|einde\ (?:van\ de\ )?dag)
    \ ?,?\ ?(?:on\ |op\ )?
    """
)
# Relative words that are a deadline even without a marker ("Reageer vandaag nog").
_BARE_ANCHORS = _literals("vandaag|today|tomorrow|week")
_BARE_RELATIVE = _word_rx(
    r"""
    (?:vandaag|today|tomorrow|end\ of\ (?:the\ |this\ )?week
        |eind(?:e)?\ (?:van\ )?(?:de|deze)\ week|het\ einde\ van\ de\ week)\b
    """
)

_ISO_DATE = re.compile(r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?!\d)")
_NUMERIC_DMY = re.compile(r"(?P<d>\d{1,2})[-/.](?P<m>\d{1,2})[-/.](?P<y>\d{4}|\d{2})(?!\d)")
# Without a year only "/" and "-": "10.30" after "vóór" is a time, not 30 October.
_NUMERIC_DM = re.compile(r"(?P<a>\d{1,2})[/-](?P<b>\d{1,2})(?![/.-]?\d)")
_DAY_MONTH = re.compile(
    rf"{_WEEKDAY_PREFIX}(?:de\s+|the\s+)?(?P<d>[0-3]?\d)(?:st|nd|rd|th|ste|de|e)?\s*(?:of\s+)?"
    rf"{_MONTH}(?:\s*,?\s*(?P<y>\d{{4}})(?!\d))?"
)
_MONTH_DAY = re.compile(
    rf"{_WEEKDAY_PREFIX}{_MONTH}\s+(?P<d>[0-3]?\d)(?:st|nd|rd|th)?(?!\d)"
    rf"(?:\s*,?\s*(?P<y>\d{{4}})(?!\d))?"
)
_RELATIVE_DAY = re.compile(rf"(?P<word>{_alternation(_RELATIVE_DAYS)})")
_NEXT_WEEK_WEEKDAY = re.compile(rf"(?:volgende|next)\s+week\s+(?P<wd>{_WEEKDAY})\b")
_WEEKDAY_DATE = re.compile(
    rf"(?:(?:next|this|coming|volgende|aanstaande|komende|deze)\s+)?(?P<wd>{_WEEKDAY})\b"
)
_END_OF_WEEK = _rx(
    r"""
    (?:the\ )?end\ of\ (?:the\ |this\ )?week\b
    | (?:het\ )?eind(?:e)?\ (?:van\ )?(?:de|deze)\ week\b
    """
)
_END_OF_MONTH = _rx(
    r"""
    (?:the\ )?end\ of\ (?:the\ |this\ )?month\b
    | (?:het\ )?eind(?:e)?\ (?:van\ )?(?:de|deze)\ maand\b
    """
)
_DURATION = re.compile(
    rf"(?P<n>\d{{1,3}}|{_alternation(_NUMBER_WORDS)})\s+"
    r"(?P<unit>dagen|dag|days?|weken|week|weeks?|maanden|maand|months?|uur|hours?)\b"
)


def _next_occurrence(today: date, month: int, day: int) -> date | None:
    """The date `day month` on or after `today` (this year, else the next year it exists)."""
    for year in range(today.year, today.year + 9):  # 29 February may need a few years
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate >= today:
            return candidate
    return None


def _with_year(year: str | None, month: int, day: int, today: date) -> date | None:
    if year is None:
        return _next_occurrence(today, month, day)
    return date(int(year), month, day)


def _next_weekday(today: date, weekday: int) -> date:
    """The next such weekday strictly after today (same weekday -> next week's)."""
    return today + timedelta(days=(weekday - today.weekday()) % 7 or 7)


def _add_months(start: date, months: int) -> date:
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def _resolve_iso(m: re.Match[str], posted: datetime) -> date | None:
    return date(int(m["y"]), int(m["m"]), int(m["d"]))


def _resolve_dmy(m: re.Match[str], posted: datetime) -> date | None:
    year = int(m["y"])
    return date(year + 2000 if year < 100 else year, int(m["m"]), int(m["d"]))


def _resolve_dm(m: re.Match[str], posted: datetime) -> date | None:
    day, month = int(m["a"]), int(m["b"])
    if month > 12 >= day:  # "6/20": American order
        day, month = month, day
    return _next_occurrence(posted.date(), month, day)


def _resolve_named_month(m: re.Match[str], posted: datetime) -> date | None:
    return _with_year(m["y"], _MONTHS[m["mon"]], int(m["d"]), posted.date())


def _resolve_relative_day(m: re.Match[str], posted: datetime) -> date | None:
    return posted.date() + timedelta(days=_RELATIVE_DAYS[m["word"]])


def _resolve_next_week_weekday(m: re.Match[str], posted: datetime) -> date | None:
    today = posted.date()
    next_monday = today + timedelta(days=7 - today.weekday())
    return next_monday + timedelta(days=_WEEKDAYS[m["wd"]])


def _resolve_weekday(m: re.Match[str], posted: datetime) -> date | None:
    return _next_weekday(posted.date(), _WEEKDAYS[m["wd"]])


def _resolve_end_of_week(m: re.Match[str], posted: datetime) -> date | None:
    today = posted.date()  # the Friday on or after today
    return today + timedelta(days=(4 - today.weekday()) % 7)


def _resolve_end_of_month(m: re.Match[str], posted: datetime) -> date | None:
    today = posted.date()
    return today.replace(day=calendar.monthrange(today.year, today.month)[1])


def _resolve_duration(m: re.Match[str], posted: datetime) -> date | None:
    raw = m["n"]
    n = int(raw) if raw.isdigit() else _NUMBER_WORDS[raw]
    unit = m["unit"]
    if unit.startswith(("dag", "day")):
        return posted.date() + timedelta(days=n)
    if unit.startswith("we"):
        return posted.date() + timedelta(weeks=n)
    if unit.startswith(("maand", "month")):
        return _add_months(posted.date(), n)
    return (posted + timedelta(hours=n)).date()


_Resolver = Callable[[re.Match[str], datetime], "date | None"]

# Tried in order at the position after a marker; the first that matches and resolves wins.
_DATE_FORMS: tuple[tuple[re.Pattern[str], _Resolver], ...] = (
    (_ISO_DATE, _resolve_iso),
    (_NUMERIC_DMY, _resolve_dmy),
    (_DAY_MONTH, _resolve_named_month),
    (_MONTH_DAY, _resolve_named_month),
    (_NUMERIC_DM, _resolve_dm),
    (_RELATIVE_DAY, _resolve_relative_day),
    (_NEXT_WEEK_WEEKDAY, _resolve_next_week_weekday),
    (_END_OF_WEEK, _resolve_end_of_week),
    (_END_OF_MONTH, _resolve_end_of_month),
    (_WEEKDAY_DATE, _resolve_weekday),
)
_DURATION_FORMS: tuple[tuple[re.Pattern[str], _Resolver], ...] = ((_DURATION, _resolve_duration),)


@dataclass(frozen=True, slots=True)
class _Deadline:
    day: date
    snippet: str
    marked: bool  # introduced by a deadline marker (stronger evidence than a bare "vandaag")


def _date_at(
    norm: str, pos: int, posted: datetime, forms: tuple[tuple[re.Pattern[str], _Resolver], ...]
) -> tuple[date, int] | None:
    """A date expression starting exactly at `pos`, resolved; its end position."""
    eod = _EOD.match(norm, pos)
    start = eod.end() if eod else pos
    for pattern, resolve in forms:
        match = pattern.match(norm, start)
        if match is None:
            continue
        try:
            found = resolve(match, posted)
        except (ValueError, OverflowError):  # 31 februari, year 10000, ...
            found = None
        if found is not None:
            return found, match.end()
    if eod is not None:  # "by EOD" alone: the end of the posting day
        return posted.date(), eod.end()
    return None


def _urgency(day: date, today: date) -> tuple[bool, date]:
    """Sort key: upcoming deadlines before passed ones, then the earliest first."""
    return (day < today, day)


def _find_deadline(norm: str, posted: datetime) -> _Deadline | None:
    """The earliest upcoming deadline introduced by a marker (a passed one if that is all there
    is); else a bare relative one ("vandaag"); else None."""
    today = posted.date()
    best: _Deadline | None = None
    for marker in _DEADLINE_MARKER.finditer(norm):
        start = marker.start()
        if start and norm[start - 1] not in _BEFORE_MARKER:  # "tot" in "totaal", "by" in "baby"
            continue
        forms = _DURATION_FORMS if marker["within"] else _DATE_FORMS
        found = _date_at(norm, marker.end(), posted, forms)
        if found is None:
            continue
        day, end = found
        if best is None or _urgency(day, today) < _urgency(best.day, today):
            best = _Deadline(day, _snippet(norm[marker.start() : end]), marked=True)
    if best is not None:
        return best
    bare = _BARE_RELATIVE.search(norm) if _BARE_ANCHORS.search(norm) else None
    if bare is None:
        return None
    found = _date_at(norm, bare.start(), posted, _DATE_FORMS)
    if found is None:
        return None
    return _Deadline(found[0], _snippet(bare.group(0)), marked=False)


def _utc(posted_at: datetime) -> datetime:
    if posted_at.tzinfo is None or posted_at.utcoffset() is None:
        raise ValueError(f"posted_at must be timezone-aware UTC (got {posted_at!r})")
    return posted_at.astimezone(UTC)


def _prepare(text: str) -> str:
    """Lowercased, NFC, whitespace folded, typographic apostrophes made plain."""
    return normalize(text).replace("’", "'").replace("‘", "'")


def find_deadline(text: str, posted_at: datetime) -> tuple[date, str] | None:
    """The deadline stated in `text` and the words that state it; past ones included."""
    found = _find_deadline(_prepare(text), _utc(posted_at))
    return (found.day, found.snippet) if found else None


def extract_deadline(text: str, posted_at: datetime) -> str | None:
    """The deadline stated in `text` as an ISO date, resolved against `posted_at`; else None."""
    found = _find_deadline(_prepare(text), _utc(posted_at))
    return found.day.isoformat() if found else None


# --------------------------------------------------------------------------------------------
# Asker
# --------------------------------------------------------------------------------------------

# A name word as written: starts with a letter, may hold digits, "&", "'", "." (Tweakers.net).
# Case is checked in Python (str.isupper covers É, Ö, ...), not in the pattern.
_NAME = r"[^\W\d_][\w&'.]*"
_NAMES = rf"{_NAME}(?:[ ]{_NAME}){{0,2}}"
_ARTICLE_NAMES = rf"(?:(?i:de|het|the)[ ])?{_NAMES}"
_AUDIENCE_NOUNS = r"(?i:lezers|luisteraars|kijkers|abonnees|readers|listeners|viewers|community)"

# "voor Emerce-lezers": the name glued to the audience noun.
_ASKER_HYPHEN = re.compile(rf"(?<![\w&'.-])(?P<name>{_NAME})-{_AUDIENCE_NOUNS}\b")
# "for Sprout readers", "voor alle NRC lezers".
_ASKER_SPACED = re.compile(
    rf"(?i:\b(?:voor|for|aan|to)\s+(?:de\s+|alle\s+|the\s+|all\s+)?)(?P<name>{_NAMES})\s+"
    rf"{_AUDIENCE_NOUNS}\b"
)
# "voor lezers van de Volkskrant", "for readers of Marketing Week".
_ASKER_OF = re.compile(
    r"(?i:\b(?:lezers|luisteraars|kijkers|abonnees|readers|listeners|viewers|subscribers)\s+"
    rf"(?:van|of)\s+)(?P<name>{_ARTICLE_NAMES})"
)
# "journalist bij NRC", "editor at Marketing Week", "wij van Sprout", "namens BNR".
_ASKER_ROLE = re.compile(
    r"(?i:\b(?:(?:journalist(?:e)?|reporter|verslaggever|redacteur|redactrice|eindredacteur|editor|"
    r"writer|producer|programmamaker|columnist|redactie|correspondent|presentator|host)\s+"
    r"(?:at|bij|van|for|voor|of)|(?:wij|we|ik|i)\s+(?:van|at|bij|from)|namens|on\s+behalf\s+of|"
    r"writing\s+for|(?:ik\s+)?schrijf\s+voor|i\s+write\s+for)\s+)"
    rf"(?P<name>{_ARTICLE_NAMES})"
)
# "voor een artikel in NRC", "a feature for Adformatie": where the result will be published.
_ASKER_STORY = re.compile(
    r"(?i:\b(?:piece|story|feature|article|column|segment|episode|artikel|stuk|verhaal|item|"
    r"reportage|uitzending|aflevering|interview)\s+(?:for|in|voor|bij|van)\s+)"
    rf"(?P<name>{_ARTICLE_NAMES})"
)
# "Frankwatching zoekt", "Marketingfacts is looking for": the verb first, then the name just
# before it (searching for the verb first is much cheaper than trying a name at every position).
_SEEKER_VERB = re.compile(
    r"(?i)\s(?:is\s+op\s+zoek|zijn\s+op\s+zoek|is\s+looking|are\s+looking|is\s+seeking|"
    r"is\s+searching|zoekt|zoeken|seeks|wants|needs|verzamelt|verzamelen|accepteert|"
    r"is\s+accepting|accepts|is\s+collecting|is\s+compiling|nodigt)\b"
)
_TRAILING_NAMES = re.compile(rf"(?<![\w&'.-])(?P<name>{_NAME}(?:[ ]{_NAME}){{0,3}})$")
_SEEKER_REACH = 80  # characters before the verb to look for the name in
# "in Emerce", "in de Volkskrant": only near a word about appearing in a publication.
_ASKER_PLACE = re.compile(rf"(?i:\b(?:in|bij|van)\s+)(?P<name>{_ARTICLE_NAMES})")
_PLACE_ANCHOR = re.compile(
    r"(?i)\b(?:sta|staan|staat|komen|kom|komt|verschijn\w*|zien|featured|feature|appear\w*|"
    r"publish\w*|gepubliceerd|plek|plaats|pagina|interview|artikel|article|piece|story|item|"
    r"rubriek|column|uitzending|aflevering|episode|issue|editie|nummer|spotlight|uitgelicht|"
    r"te gast|guest|podcast)\b"
)
_PLACE_WINDOW = 50


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


_ARTICLES = frozenset({"de", "het", "the"})
# Capitalized words that are not an outlet: pronouns, sentence starters, generic roles, places,
# months and weekdays.
_NOT_A_NAME = _word_set(
    """
    wij we ik i jij je u hij zij ze het de een the a an our ons onze mijn my dit deze this that
    wie who iedereen everyone niemand hoi hey hallo hello beste dear lieve alle all oproep update
    journalist journalisten journalists podcast redactie team magazine blog organisatie collega
    bedrijf bedrijven company companies ook also nu now dus so en and maar but of or
    nederland belgië belgie vlaanderen wallonië amsterdam rotterdam utrecht den haag eindhoven
    groningen antwerpen gent brussel leuven europa europe netherlands belgium holland
    januari februari maart april mei juni juli augustus september oktober november december
    january february march may june july august october
    maandag dinsdag woensdag donderdag vrijdag zaterdag zondag
    monday tuesday wednesday thursday friday saturday sunday wk ek world cup
    """
)
# Leading words to drop before a name ("Podcast De Marketingshow" -> "De Marketingshow").
_GENERIC_LEAD = _word_set(
    """
    oproep update podcast journalist redactie team hoi hey hallo beste dear ook nu en and
    """
)


def _clean_word(word: str) -> str:
    word = word.strip(".,:;!?\"'()[]")
    return word[:-2] if word.endswith("'s") else word


def _capitalized(word: str) -> bool:
    return word[:1].isupper()


def _tidy_name(raw: str, *, from_right: bool) -> str | None:
    """The run of capitalized words in `raw` (an article may lead); None if not a plausible name.

    A name never runs across sentence punctuation: "in the Guardian. DM me" gives "the Guardian".
    """
    raw_words = raw.split()
    words = [(_clean_word(w), w[-1] in ".,:;!?") for w in raw_words]
    words = [(w, stop) for w, stop in words if w]
    if from_right:
        words.reverse()
    kept: list[str] = []
    for index, (word, stop) in enumerate(words):
        if from_right and kept and stop:
            break
        if _capitalized(word):
            kept.append(word)
        elif from_right and kept and word.lower() in _ARTICLES:
            kept.append(word)
            break
        elif not from_right and index == 0 and word.lower() in _ARTICLES:
            kept.append(word)
        else:
            break
        if not from_right and stop:
            break
    if from_right:
        kept.reverse()
    while len(kept) > 1 and kept[0].lower() in _GENERIC_LEAD:
        kept.pop(0)
    if not kept or not any(_capitalized(w) for w in kept):
        return None
    if kept[0].lower() in _ARTICLES and len(kept) == 1:
        return None
    if " ".join(kept).lower() in _NOT_A_NAME or kept[-1].lower() in _NOT_A_NAME:
        return None
    return " ".join(kept)


# Which asker patterns can match at all, by cheap substring checks on the lowercased text.
_AUDIENCE_WORDS = _literals(
    "lezers|luisteraars|kijkers|abonnees|readers|listeners|viewers|subscribers|community"
)
_ROLE_WORDS = _literals(
    "journalist|reporter|verslaggever|redact|editor|writer|producer|programmamaker|columnist|"
    "correspondent|presentator|host|wij |we |ik |i |namens|behalf|writing|schrijf|write"
)
_STORY_WORDS = _literals(
    "piece|story|feature|article|column|segment|episode|artikel|stuk|verhaal|item|reportage|"
    "uitzending|aflevering|interview"
)
_NAMED_PATTERNS: tuple[tuple[re.Pattern[str], re.Pattern[str]], ...] = (
    (_ASKER_HYPHEN, _AUDIENCE_WORDS),
    (_ASKER_SPACED, _AUDIENCE_WORDS),
    (_ASKER_OF, _AUDIENCE_WORDS),
    (_ASKER_ROLE, _ROLE_WORDS),
    (_ASKER_STORY, _STORY_WORDS),
)


def _asker_by_seeker(clean: str) -> str | None:
    for verb in _SEEKER_VERB.finditer(clean):
        before = clean[max(0, verb.start() - _SEEKER_REACH) : verb.start()]
        found = _TRAILING_NAMES.search(before)
        if found:
            name = _tidy_name(found["name"], from_right=True)
            if name:
                return name
    return None


def _asker_by_place(clean: str) -> str | None:
    for match in _ASKER_PLACE.finditer(clean):
        window = clean[max(0, match.start() - _PLACE_WINDOW) : match.start("name")]
        if _PLACE_ANCHOR.search(window):
            name = _tidy_name(match["name"], from_right=False)
            if name:
                return name
    return None


def _asker_in_text(clean: str) -> str | None:
    """The outlet named by the post itself, by the strongest phrase that names one."""
    lower = clean.lower()
    for pattern, words in _NAMED_PATTERNS:
        if not words.search(lower):
            continue
        for match in pattern.finditer(clean):
            name = _tidy_name(match["name"], from_right=False)
            if name:
                return name
    name = _asker_by_seeker(clean)
    if name:
        return name
    return _asker_by_place(clean) if _PLACE_ANCHOR.search(clean) else None


def extract_asker(
    text: str, *, author: str | None = None, source_label: str | None = None
) -> str | None:
    """Who asks: the outlet named in the text, else the author, else the source label."""
    # NFC and plain apostrophes like the cues see, but case kept: names need their capitals.
    clean = " ".join(unicodedata.normalize("NFC", text).replace("’", "'").split())
    return _asker_in_text(clean) or (author or None) or (source_label or None)


# --------------------------------------------------------------------------------------------
# The scorer
# --------------------------------------------------------------------------------------------


def combine_title(text: str, title: str | None) -> str:
    """Title and body together, as `Post.full_text` does (a feed item's title is its news)."""
    if title and title not in text:
        return f"{title}\n{text}" if text else title
    return text


def score_opportunity(
    text: str,
    *,
    title: str | None = None,
    author: str | None = None,
    source_label: str | None = None,
    posted_at: datetime,
) -> OpportunityVerdict:
    """Score one post as an open invitation; see the module docstring for how.

    `posted_at` (aware, UTC) anchors relative deadlines ("vóór vrijdag", "binnen 2 weken").
    Category, deadline and asker are only filled in for opportunities; `reasons` always lists
    the cues that fired, negatives prefixed "against:".
    """
    posted = _utc(posted_at)
    full = combine_title(text, title)
    norm = _prepare(full)
    hits = _fire(norm)
    logit = BIAS + sum(hit.weight for hit in hits)
    reasons = [hit.reason for hit in hits]

    deadline = _find_deadline(norm, posted)
    if deadline is not None and deadline.day < posted.date():
        logit += PAST_DEADLINE_WEIGHT
        reasons.append(f"against: deadline passed '{deadline.snippet}'")
        deadline = None
    elif deadline is not None:
        logit += DEADLINE_WEIGHT if deadline.marked else BARE_DATE_WEIGHT
        reasons.append(f"deadline '{deadline.snippet}'")
    elif _DEADLINE_WORD_ANCHORS.search(norm) and (word := _DEADLINE_WORD.search(norm)):
        logit += DEADLINE_WORD_WEIGHT
        reasons.append(f"deadline word '{word.group(0)}'")

    score = _squash(logit)
    if score < THRESHOLD:
        return OpportunityVerdict(False, score, reasons=tuple(reasons))
    return OpportunityVerdict(
        True,
        score,
        category=_category(hits),
        deadline=deadline.day.isoformat() if deadline else None,
        asker=extract_asker(full, author=author, source_label=source_label),
        reasons=tuple(reasons),
    )
