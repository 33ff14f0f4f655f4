"""Write the bundled demo stream: one synthetic Dutch day, Friday 13 June 2014.

What it makes: `bot/demo/demo_stream.jsonl`, the stream `inhaker demo` replays. Every post in it is
synthetic, written by us: hand-written Dutch and English templates and vocabulary, combined by a
seeded `random.Random`, so the same command always writes the same bytes. No post is copied from a
real timeline; the handles are invented, and the outlet items are short made-up items in the style
of those outlets.

What the day contains (times UTC; the Netherlands–Spain World Cup match kicks off at 19:00 UTC,
21:00 in Amsterdam, and ends 1-5):

- Background chatter from ~150 accounts on "x" and "mastodon", 06:00-23:59, about one to four
  posts a minute (quiet early, busier at lunch and in the evening): weather, trains and traffic,
  work, lunch, TV, politics, tech, marketing, the weekend, and football in general. Words like
  "oranje", "wk", "van persie" and "robben" run at a modest baseline all day and rise slowly
  towards the evening; no ordinary word bursts.
- News items from "nos", "nu", "emerce", "marketingfacts" and "tweakers" (title, url, a lead),
  about ten per outlet, on varied stories.
- Match chatter with #NEDESP at a low baseline all day, rising during the match, and
  #vliegendehollander after Van Persie's header (44', 19:44 UTC).
- The trend: #Twelftal, Heineken's campaign. Before 18:30 the word appears twice (a rumour and a
  teaser). From 18:45 ten influencer accounts and @Heineken_NL post jokes with #Twelftal, ordinary
  people join, and it rises through the match with peaks after the goals (Alonso pen 27', Van
  Persie 44', Robben 53', De Vrij 64', Van Persie 72', Robben 80').
- The opportunity: at 10:12 Emerce asks "Is jouw werkplek uniek, verrassend en een must see voor
  Emerce-lezers?" with a deadline of 20 June. Around it: ordinary posts about werkplek and
  kantoor, and hard negatives (two job vacancies, a like-and-share giveaway, an office that was
  featured before, an event announcement). Two other genuine open calls: an English
  #journorequest in the afternoon and a podcast looking for guests.
- A trap: one spam account posting the same #zomerdeal text 30 times in the afternoon.

Run: `python scripts/make_demo_stream.py [--out PATH]` (default: the shipped file).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

SEED = 20140613
DAY = datetime(2014, 6, 13, tzinfo=UTC)
FIRST_MINUTE = 6 * 60  # 06:00 UTC
LAST_MINUTE = 24 * 60  # up to 23:59:59 UTC
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "bot" / "demo" / "demo_stream.jsonl"

# Match clock in minutes after midnight UTC.
KICK_OFF = 19 * 60  # 19:00
HALF_TIME = KICK_OFF + 47  # 19:47
SECOND_HALF = 20 * 60 + 3  # 20:03
FULL_TIME = 20 * 60 + 51  # 20:51


def match_minute_to_utc(minute: int) -> int:
    """Minutes after midnight UTC of a match minute (1-45 first half, 46-90 second)."""
    if minute <= 45:
        return KICK_OFF + minute
    return SECOND_HALF + (minute - 45)


@dataclass(frozen=True, slots=True)
class Goal:
    key: str
    match_minute: int
    score: str  # Netherlands first
    dutch: bool

    @property
    def at(self) -> int:
        return match_minute_to_utc(self.match_minute)


GOALS = (
    Goal("alonso", 27, "0-1", dutch=False),
    Goal("rvp1", 44, "1-1", dutch=True),
    Goal("robben1", 53, "2-1", dutch=True),
    Goal("devrij", 64, "3-1", dutch=True),
    Goal("rvp2", 72, "4-1", dutch=True),
    Goal("robben2", 80, "5-1", dutch=True),
)
RVP_HEADER = GOALS[1].at  # 19:44


@dataclass(slots=True)
class Draft:
    """A post before sorting and numbering. `at` is seconds after midnight UTC."""

    at: int
    text: str
    source: str
    author: str
    lang: str
    url: str | None = None
    title: str | None = None


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------

_SLOT = re.compile(r"\{(\w+)\}")


def fill(rng: random.Random, template: str, vocab: dict[str, list[str]]) -> str:
    """Replace every {slot} with a random choice from vocab[slot], left to right."""
    return _SLOT.sub(lambda m: rng.choice(vocab[m.group(1)]), template)


def poisson(rng: random.Random, lam: float) -> int:
    """Knuth's Poisson sampler: fine for the small rates used here."""
    if lam <= 0:
        return 0
    limit = math.exp(-lam)
    k, p = 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def interp(points: dict[int, float], hour: float) -> float:
    """Piecewise-linear value at `hour` from {hour: value} points."""
    keys = sorted(points)
    if hour <= keys[0]:
        return points[keys[0]]
    for lo, hi in itertools.pairwise(keys):
        if lo <= hour <= hi:
            frac = (hour - lo) / (hi - lo)
            return points[lo] + frac * (points[hi] - points[lo])
    return points[keys[-1]]


_WINDOW = re.compile(r"\[(\d+)-(\d+)\] ")


def _fits(template: str, hour: float) -> bool:
    window = _WINDOW.match(template)
    return window is None or int(window.group(1)) <= hour < int(window.group(2))


def in_window(templates: list[str], hour: float) -> bool:
    return any(_fits(t, hour) for t in templates)


def pick_in_window(rng: random.Random, templates: list[str], hour: float) -> str:
    """A random template allowed at `hour` (see TOPICS), without its "[a-b] " window."""
    return _WINDOW.sub("", rng.choice([t for t in templates if _fits(t, hour)]), count=1)


def hhmm(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def slugify(title: str) -> str:
    table = str.maketrans("éëèêïöóüúáàä", "eeeeiooouaaa")
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower().translate(table)).strip("-")
    return slug[:70].rstrip("-")


def stamp(seconds: int) -> str:
    return (DAY + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------------------------
# Accounts (all invented)
# --------------------------------------------------------------------------------------------

FIRST_NAMES = [
    "Jeroen", "Sanne", "Bas", "Lotte", "Thijs", "Anouk", "Ruben", "Femke", "Joost", "Marloes",
    "Pieter", "Esther", "Koen", "Inge", "Maarten", "Fleur", "Niels", "Iris", "Wouter", "Eline",
    "Sander", "Lieke", "Tim", "Nina", "Bram", "Roos", "Daan", "Merel", "Stefan", "Linda",
    "Jasper", "Annemiek", "Erik", "Karin", "Hans", "Ingrid", "Arjen", "Mirjam", "Rik", "Noor",
    "Gijs", "Sophie", "Teun", "Maaike", "Wim", "Petra", "Joris", "Yvonne", "Freek", "Janneke",
    "Kees", "Ilse", "Martijn", "Hanneke", "Robbert", "Willemijn", "Jelle", "Charlotte", "Sjoerd",
    "Marieke", "Tom", "Evelien", "Luuk", "Floor", "Hidde", "Loes", "Wessel", "Carlijn", "Dirk",
    "Renske", "Frank", "Astrid", "Jurre", "Babette", "Mark", "Heleen", "Olivier", "Suzanne",
    "Pepijn", "Josien", "Ward", "Liesbeth", "Stijn", "Eva", "Jens", "Sofie", "Pieterjan", "Elke",
    "Bart", "Griet", "Wout", "Hanne", "Lander", "Ellen", "Tibo", "Katrien",
]  # fmt: skip
LAST_NAMES = [
    "deVries", "Jansen", "deJong", "Bakker", "Visser", "Smit", "Meijer", "deBoer", "Mulder",
    "deGroot", "Bos", "Vos", "Peters", "Hendriks", "vanLeeuwen", "Dekker", "Brouwer", "deWit",
    "Dijkstra", "Smits", "deGraaf", "vanderMeer", "vanderLinden", "Kok", "Jacobs", "deHaan",
    "Vermeulen", "vandenBerg", "vanDijk", "Schouten", "Willems", "Hoekstra", "Postma", "Kuipers",
    "Verhoeven", "Prins", "Huisman", "Maas", "Jonker", "vanBeek", "Claes", "Peeters", "Janssens",
    "Maes", "Wouters", "Goossens", "Mertens", "Timmermans", "Koster", "Boersma", "Veenstra",
    "Zwart", "Kramer", "Blom", "Scholten", "vanWijk", "Hermans", "Evers", "Groen", "Lammers",
]  # fmt: skip
PLACES = [
    "utrecht", "adam", "rdam", "010", "020", "030", "delft", "leiden", "zwolle", "gent",
    "antwerpen", "haarlem", "breda", "nijmegen", "groningen", "tilburg", "eindhoven",
    "denbosch", "arnhem", "leuven", "amersfoort", "alkmaar", "deventer",
]  # fmt: skip
NICKS = [
    "koffieleut", "fietsfan", "zoltan", "tuinman", "nerd", "mama", "papa", "schrijft",
    "fotografeert", "online", "marketeer", "designt", "codeert", "leest", "kookt", "loopt",
]  # fmt: skip
MASTODON_HOSTS = ["mastodon.nl", "mastodon.social", "toot.community", "mstdn.social", "social.nl"]


def make_handles(rng: random.Random, count: int, taken: set[str]) -> list[str]:
    """Dutch- and Flemish-looking handles in varied styles, unique against `taken`."""
    handles: list[str] = []
    while len(handles) < count:
        first = rng.choice(FIRST_NAMES)
        last = rng.choice(LAST_NAMES)
        style = rng.randrange(9)
        if style == 0:
            handle = f"{first}{last[0].upper()}{last[1:]}"
        elif style == 1:
            handle = f"{first.lower()}_{last.lower()}"
        elif style == 2:
            handle = f"{first}{rng.choice(['', 'van', 'de'])}{last[-4:].capitalize()}"
        elif style == 3:
            handle = f"{first.lower()}{rng.randrange(70, 99)}"
        elif style == 4:
            handle = f"{first}_{rng.choice(PLACES)}"
        elif style == 5:
            handle = f"{first[0].lower()}{last.lower()}"
        elif style == 6:
            handle = f"{first}{rng.choice(NICKS).capitalize()}"
        elif style == 7:
            handle = f"{rng.choice(NICKS)}_{first.lower()}"
        else:
            handle = f"{first}{last[:1].upper()}{rng.randrange(1, 12)}"
        handle = handle[:15]
        if handle.lower() in taken:
            continue
        taken.add(handle.lower())
        handles.append(handle)
    return handles


@dataclass(frozen=True, slots=True)
class Account:
    handle: str
    source: str  # "x" or "mastodon"
    english: bool  # mostly posts in English
    weight: float  # how active


def make_accounts(
    rng: random.Random, count: int, taken: set[str], mastodon_share: float, english_share: float
) -> list[Account]:
    handles = make_handles(rng, count, taken)
    accounts = []
    for rank, handle in enumerate(handles):
        on_mastodon = rng.random() < mastodon_share
        source = "mastodon" if on_mastodon else "x"
        name = f"{handle.lower()}@{rng.choice(MASTODON_HOSTS)}" if on_mastodon else handle
        weight = 1.0 / (rank + 10) ** 0.7
        accounts.append(Account(name, source, rng.random() < english_share, weight))
    rng.shuffle(accounts)
    return accounts


INFLUENCERS = [
    "FloorKomtLater", "JochemZegtHet", "DeKoffieheld", "LoesLachtNooit", "MarcoKwinkt",
    "SaarSchrijftAl", "BartBovenop", "TessaTikt", "GijsOpDeBank", "NoorHeeftGelijk",
]  # fmt: skip
HEINEKEN = "Heineken_NL"


# --------------------------------------------------------------------------------------------
# Background chatter: topics, templates and vocabulary
# --------------------------------------------------------------------------------------------

VOCAB: dict[str, list[str]] = {
    "station": [
        "Utrecht Centraal", "Amersfoort", "Zwolle", "Leiden", "Haarlem", "Den Bosch", "Eindhoven",
        "Schiphol", "Amsterdam Sloterdijk", "Rotterdam Centraal", "Den Haag HS", "Gouda",
        "Hilversum", "Deventer", "Arnhem", "Nijmegen", "Breda", "Tilburg", "Almere", "Lelystad",
        "Alkmaar", "Zaandam", "Delft", "Groningen", "Antwerpen-Centraal", "Gent-Sint-Pieters",
    ],
    "road": ["de A2", "de A12", "de A10", "de A4", "de A1", "de A28", "de A13", "de ring", "de E40",
             "de A27", "de A15", "de N201"],
    "minutes": ["5", "8", "10", "12", "15", "20", "25", "30", "40"],
    "weathersky": [
        "strakblauwe lucht", "zon", "mooi weer", "heerlijk weer", "prachtige lucht",
        "zomerweer", "heldere lucht",
    ],
    "degrees": ["17", "18", "19", "20", "21", "22", "23", "24"],
    "weatherplace": [
        "het terras", "het balkon", "het strand", "een picknickkleed", "de hangmat",
        "een tuinstoel", "het dakterras", "een bankje in het park",
    ],
    "food": [
        "broodje kaas", "kroket", "tomatensoep", "salade met geitenkaas", "broodje gezond",
        "uitsmijter", "patatje oorlog", "haring met uitjes", "wrap met kip", "tosti",
        "sushi", "pasta pesto", "bami", "falafel", "broodje bal", "stamppot-restjes",
        "pistoletje met kaas", "croque monsieur", "quiche", "linzensoep", "bagel met zalm",
        "pannenkoek", "kibbeling", "frikandel speciaal", "broodje warm vlees",
    ],
    "drink": ["koffie", "thee", "cappuccino", "verse muntthee", "flat white", "espresso",
              "karnemelk", "smoothie", "ijskoffie"],
    "sweet": ["stroopwafel", "tompouce", "appeltaart", "gevulde koek", "brownie",
              "speculaas", "bossche bol", "chocoladereep", "mergpijp"],
    "meeting": [
        "weekstart", "kwartaaloverleg", "brainstorm", "klantgesprek", "sprintdemo",
        "retrospective", "teamoverleg", "budgetbespreking", "pitch", "functioneringsgesprek",
    ],
    "worknum": ["3", "4", "5", "6", "7", "9", "12"],
    "workthing": [
        "de offerte", "de presentatie", "het jaarplan", "de factuur", "het persbericht",
        "de nieuwsbrief", "het projectplan", "het moodboard", "de briefing", "het kwartaalrapport",
        "de contentkalender", "de evaluatie", "de campagnebriefing", "het concept",
    ],
    "city": ["Utrecht", "Amsterdam", "Rotterdam", "Gent", "Antwerpen", "Den Haag", "Zwolle",
             "Eindhoven", "Groningen", "Leiden", "Nijmegen", "Haarlem"],
    "tvshow": [
        "Boer zoekt vrouw", "Heel Holland Bakt", "Game of Thrones", "Wie is de Mol",
        "Zondag met Lubach", "House of Cards", "Breaking Bad (alweer)", "Sherlock",
        "Expeditie Robinson", "Baantjer", "Goede tijden", "Orange Is the New Black",
        "De Slimste Mens", "True Detective", "Fargo", "Borgen", "Penoza", "Flikken Maastricht",
    ],
    "politic": [
        "de zorgkosten", "het woningbeleid", "de nieuwe Jeugdwet", "het onderwijs",
        "de pensioenen", "de huren", "het klimaatbeleid", "de gemeentebegroting",
        "de btw op sport", "Europa", "de decentralisaties", "het parkeerbeleid",
    ],
    "gadget": [
        "telefoon", "laptop", "tablet", "e-reader", "koptelefoon", "router", "smartwatch",
        "printer", "externe schijf", "oplader",
    ],
    "app": [
        "WhatsApp", "Spotify", "Instagram", "de NS-app", "Buienradar", "de bank-app", "Evernote",
        "Dropbox", "Feedly", "Pocket", "Runkeeper", "Google Maps", "Skype", "Snapchat",
    ],
    "techthing": [
        "iOS 8", "Swift", "de nieuwe MacBook", "Android L-geruchten", "4G-dekking",
        "Windows 8.1", "glasvezel", "de Chromecast", "Raspberry Pi", "open data",
        "een slimme thermostaat", "3D-printen", "bitcoin", "de cloud",
    ],
    "player": [
        "Van Persie", "Robben", "Van Persie", "Robben", "Sneijder", "Blind", "De Jong", "Kuyt",
        "Martins Indi", "Janmaat", "Cillessen", "Vlaar", "De Vrij", "Wijnaldum", "Depay", "Lens",
    ],
    "team": [
        "Brazilië", "Duitsland", "Argentinië", "Spanje", "Nederland", "België", "Frankrijk",
        "Colombia", "Italië", "Uruguay", "Chili",
    ],
    "prediction": ["2-1 voor Oranje", "1-1", "0-1, sorry", "3-2, Robben beslist", "2-2",
                   "1-0 door een eigen goal", "0-0, saai maar veilig", "2-0 voor Oranje"],
    "watchplace": [
        "thuis op de bank", "in de kroeg om de hoek", "bij mijn ouders", "bij vrienden in de tuin",
        "op een groot scherm in de stad", "op de camping", "bij de buren", "op kantoor (grapje)",
        "bij mijn broer", "in het café van de voetbalclub",
    ],
    "mkt": [
        "contentmarketing", "storytelling", "conversie-optimalisatie", "SEO", "personal branding",
        "influencer marketing", "klantreizen", "A/B-testen", "employer branding", "webcare",
        "realtime marketing", "growth hacking", "marketing automation", "remarketing",
        "native advertising", "klantdata", "merkactivatie", "community management",
    ],
    "mktthing": [
        "een webinar", "een whitepaper", "een infographic", "een klantcase", "een e-book",
        "een blogserie", "een LinkedIn-artikel", "een nieuwsbrief", "een casestudy",
        "een slidedeck",
    ],
    "mktstat": ["30%", "40%", "60%", "7 op de 10", "de helft", "twee derde", "een kwart"],
    "weekendplan": [
        "klussen in huis", "naar het strand", "verjaardag van mijn schoonmoeder",
        "een lange fietstocht", "uitslapen", "de tuin doen", "een festival", "naar de markt",
        "logeren bij vrienden", "een bruiloft", "hardlopen", "de zolder opruimen",
        "een dagje Antwerpen", "zeilen",
    ],
    "pet": ["kat", "hond", "konijn", "cavia", "kater", "puppy"],
    "petdeed": [
        "ligt op mijn toetsenbord", "heeft een sok gestolen", "slaapt al de hele dag",
        "is bang voor de stofzuiger", "wil per se op schoot", "heeft een vlinder gevangen",
    ],
    "kidthing": [
        "schoolreisje", "zwemles", "sportdag", "juffendag", "voetbaltraining", "rapportgesprek",
        "musical van groep 8", "verjaardagsfeestje",
    ],
    "chore": [
        "de was", "de boodschappen", "de afwas", "het gras maaien", "de belastingpapieren",
        "de vaatwasser uitruimen", "de fietsband plakken", "de ramen lappen",
    ],
    "book": ["een thriller", "een biografie", "een roman van Grunberg", "een managementboek",
             "een kookboek", "een strip", "een oud boek van Mulisch", "een reisgids"],
    "enfood": ["sandwich", "soup", "salad", "pizza slice", "bagel", "burrito", "ramen"],
    "enplace": ["Amsterdam", "Utrecht", "Rotterdam", "The Hague", "Eindhoven", "Ghent", "Antwerp"],
    "enthing": ["deadline", "client call", "deck", "report", "pitch", "planning session"],
    "enroad": ["the A2", "the A10 ring road", "the A4", "the A12", "the ring road"],
    "entvshow": ["Game of Thrones", "House of Cards", "Orange Is the New Black", "Sherlock",
                 "Breaking Bad (again)", "True Detective", "Fargo"],
    "enpolitic": ["Dutch healthcare reform", "the housing market", "EU politics",
                  "the pension debate", "local council budgets"],
    "entech": ["iOS 8", "Swift", "a Raspberry Pi", "a new Chromecast", "3D printing", "bitcoin"],
    "engadget": ["phone", "laptop", "tablet", "headset"],
    "enapp": ["WhatsApp", "Spotify", "Instagram", "Dropbox", "Skype", "Google Maps"],
    "enmkt": ["content marketing", "storytelling", "SEO", "influencer marketing", "webcare",
              "real-time marketing", "marketing automation", "employer branding"],
    "enmktthing": ["a webinar", "a whitepaper", "an infographic", "a case study", "a blog series"],
    "enteam": ["Brazil", "Germany", "Argentina", "Spain", "the Netherlands", "Belgium", "France"],
    "enweekendplan": ["beach day", "a long bike ride", "sleeping in", "a festival",
                      "visiting friends in Antwerp", "painting the hallway"],
    "enpet": ["cat", "dog", "rabbit", "puppy"],
    "enpetdeed": ["is sitting on my keyboard", "stole a sock", "has been asleep all day",
                  "is scared of the vacuum cleaner"],
    "emoji": ["😅", "🙈", "😂", "☀️", "👍", "🙄", "😴", "😎", "🙏", "😬", "🚲", "☕", "🍟"],
}  # fmt: skip

# Per topic: nl templates, en templates, hashtags, and an hourly weight profile (UTC).
# A template may start with "[a-b] ": it is only used from hour a up to hour b (UTC), so nobody
# says good morning at midnight or looks forward to tonight's match after it has been played.
TOPICS: dict[str, dict] = {
    "weather": {
        "nl": [
            "[6-11] Wat een {weathersky} vanochtend. Zin in het weekend.",
            "[8-17] {degrees} graden en ik zit binnen. Oneerlijk.",
            "[10-13] Eerste keer dit jaar buiten geluncht, op {weatherplace}.",
            "Buienradar zegt droog, mijn natte jas zegt iets anders.",
            "Zonnebrand vergeten, rode neus gekregen. Elk jaar hetzelfde.",
            "[6-18] Vanavond nog {degrees} graden. Dat wordt {weatherplace}.",
            "De zomer is begonnen: ik heb mijn korte broek teruggevonden.",
            "[7-15] Ramen open, vogels zingen, collega fluit mee. Gezellig.",
            "Het KNMI belooft een mooi weekend. Ik geloof het pas als ik het zie.",
            "[14-19] Naar huis gefietst in het zonnetje. Heerlijk.",
            "[6-14] Zo'n dag dat je naar het strand wilt in plaats van naar kantoor.",
            "Hooikoorts op zijn hoogtepunt. Iemand nog tissues?",
            "[16-23] Eindelijk warm genoeg voor ijs na het eten.",
            "Die wolken boven de stad zien er dreigend uit. Nog even droog blijven graag.",
            "[6-11] Het onweer van vannacht heeft de lucht lekker opgefrist.",
            "[17-24] Zwoele avond. Iedereen zit buiten.",
            "[20-24] Nog steeds {degrees} graden. Slapen wordt lastig.",
        ],
        "en": [
            "[8-18] {degrees} degrees in {enplace} and I'm stuck indoors.",
            "Dutch summer: sunglasses in one hand, umbrella in the other.",
            "[10-13] Finally warm enough to eat lunch outside.",
            "Hay fever season is brutal this year.",
        ],
        "tags": ["#weer", "#zomer", "#zon", "#buienradar"],
        "profile": {6: 1.0, 12: 1.0, 18: 0.8, 24: 0.6},
    },
    "commute": {
        "nl": [
            "[6-10] Weer {minutes} minuten vertraging bij {station}. Heerlijk begin van de dag.",
            "[6-19] Sprinter naar {station} rijdt niet. Bus dan maar.",
            "[6-19] Storing bij {station}, dus ik sta hier met honderd anderen op het perron.",
            "[6-18] Staan in de intercity, net als gisteren. #NS",
            "[6-18] File op {road}. Podcast aan, geduld aan.",
            "[6-19] {minutes} minuten stilgestaan op {road}. Is er een ongeluk gebeurd?",
            "[6-18] Lekke band halverwege. Lopend naar {station}.",
            "[6-19] Conducteur maakt grapjes bij het omroepen. Dag gered.",
            "[6-19] Wisselstoring bij {station}. Natuurlijk net vandaag.",
            "[6-18] Trein op tijd én een zitplek. Is het echt vrijdag de 13e?",
            "[6-12] Fietsenstalling bij {station} helemaal vol. Tien minuten rondjes gefietst.",
            "[6-19] Omleiding via {station}, kost me een half uur extra.",
            "Ov-chipkaart weigert weer eens. Poortje dicht, ik ook bijna.",
            "[6-10] Rustig op {road} vanochtend, half Nederland heeft vrij genomen denk ik.",
            "[6-19] Weer wegwerkzaamheden op {road}. Wie plant dit?",
            "[6-19] Kwartier vertraging, dus ik lees eindelijk mijn boek uit.",
            "[14-18] Iedereen wil vroeg naar huis voor de wedstrijd. {road} staat vast.",
            "[21-24] Laatste trein naar {station} zit vol mensen in het oranje.",
            "[21-24] Nachtbus gemist. Taxi dan maar.",
        ],
        "en": [
            "[6-19] Train to {station} cancelled again. Classic.",
            "[6-19] Stuck on {enroad} for {minutes} minutes. Send snacks.",
            "[6-18] Cycling to work in {enplace} never gets old.",
            "Dutch trains: on time right up until you need them.",
        ],
        "tags": ["#NS", "#file", "#spits"],
        "profile": {6: 2.0, 8: 1.6, 10: 0.7, 14: 0.8, 15: 1.5, 17: 1.4, 19: 0.5, 24: 0.4},
    },
    "work": {
        "nl": [
            "[7-16] Drie vergaderingen achter elkaar, nu pas {drink}.",
            "[6-17] Nog {worknum} mails en dan is de inbox leeg. Bijna.",
            "[8-12] De {meeting} liep uit, lunch ingekort. Het bekende verhaal.",
            "[7-17] Eindelijk is {workthing} de deur uit. Tijd voor {drink}.",
            "[8-14] Deadline om vijf uur, nog {worknum} slides te gaan.",
            "[7-16] Collega heeft taart meegenomen. Productiviteit ingestort.",
            "[6-14] Waarom plant iemand een {meeting} op vrijdagmiddag?",
            "[6-16] Printer doet het weer niet. Ik ga de IT-afdeling bellen.",
            "[12-20] Vandaag thuisgewerkt, {worknum} keer de koelkast opengedaan.",
            "[6-17] Nieuwe bureaustoel op kantoor. Mijn rug is blij.",
            "[7-17] Klant belt net: {workthing} is akkoord! Vrijdag kan niet meer stuk.",
            "[9-16] Hele ochtend aan {workthing} gewerkt. Nu nog de laatste puntjes.",
            "[7-16] De airco op kantoor staat op poolexpeditie.",
            "[6-16] Open kantoor, muziek van de buren, koptelefoon op.",
            "[10-18] Ik heb vandaag {worknum} keer 'even kort' gehoord. Niets was kort.",
            "[7-17] Stagiair heeft {workthing} beter gemaakt dan ik. Trots en een beetje jaloers.",
            "[11-17] Op kantoor is het stil, de helft is al in weekendmodus.",
            "[6-14] Eerste {meeting} met het nieuwe team. Goede energie.",
            "[7-17] Tijd voor een rondje om het blok, hoofd leegmaken.",
            "[13-19] Laptop dicht. Weekend.",
            "[17-24] Nog even de mail checken. Nee. Niet doen.",
            "[17-24] Alles voor maandag ligt klaar, ook {workthing}. Nu echt weekend.",
        ],
        "en": [
            "[6-11] {worknum} meetings before lunch. Why.",
            "[8-18] The {enthing} is done. Weekend can start whenever it wants.",
            "[11-17] Office in {enplace} is half empty, everyone's in weekend mode.",
            "[6-14] Friday afternoon {enthing}. Who does this?",
        ],
        "tags": ["#vrijdag", "#werk", "#kantoor", "#thuiswerken"],
        "profile": {6: 0.6, 7: 1.4, 12: 1.4, 15: 1.2, 17: 0.6, 19: 0.3, 24: 0.2},
    },
    "food": {
        "nl": [
            "[9-13] Lunch: {food}. Niet spannend, wel lekker.",
            "[9-13] Broodje van de bakker om de hoek. Beste van de stad.",
            "[9-13] De kantine heeft vandaag {food}. Ik ga toch naar buiten.",
            "[10-14] Na een {food} is de middag altijd zwaar.",
            "[9-12] Boterhammen vergeten, dan maar een {food}.",
            "[6-9] Vers gezet: {drink}. Nu kan de dag beginnen.",
            "[7-10] Derde {drink} van de ochtend. Niet oordelen.",
            "[7-16] Iemand heeft {sweet} meegenomen. Ik hoef geen lunch meer.",
            "[11-17] Vanavond koken: iets met {food}, maar dan beter.",
            "[9-19] Boodschappen gedaan met honger. Heb nu drie soorten {sweet}.",
            "[6-17] Nieuwe koffietent geprobeerd, de {drink} was top.",
            "[8-20] Hollandse Nieuwe gehaald bij de visboer. Seizoen is begonnen!",
            "[8-16] Weer een {sweet} bij de {drink}. Het is vrijdag, toch?",
            "[12-15] Salade als lunch. Om drie uur toch een {sweet}.",
            "[15-19] Pizza besteld voor vanavond. Geen zin om te koken.",
            "[16-20] Bitterballen in de frituur, bier in de koelkast.",
            "[20-24] Nachtsnack: {sweet}. Ik heb het verdiend.",
            "[16-21] Eten op het balkon. Zomer.",
        ],
        "en": [
            "[9-13] Lunch: {enfood} and a very strong {drink}.",
            "[9-20] Tried a new place in {enplace}. Best {enfood} in town.",
            "[7-12] Third {drink} of the day. Don't judge.",
        ],
        "tags": ["#lunch", "#koffie", "#eten", "#haring"],
        "profile": {6: 0.8, 9: 0.9, 10: 1.7, 11: 1.7, 12: 1.0, 16: 1.2, 18: 0.9, 24: 0.5},
    },
    "tv": {
        "nl": [
            "Gisteravond weer {tvshow} gekeken. Waarom doe ik mezelf dit aan?",
            "Spoiler-vrije zone hier: nog niet bij met {tvshow}.",
            "Iemand tips voor een serie nu {tvshow} klaar is?",
            "Bingewatchen gepland dit weekend: {tvshow}.",
            "Gisteren in slaap gevallen bij {tvshow}. Oud worden.",
            "Het beste aan {tvshow}? De muziek.",
            "De aflevering van {tvshow} van gisteren: ik ben er nog steeds niet over uit.",
            "Afstandsbediening kwijt. De tv blijft op {tvshow} staan.",
            "[21-24] Nu {tvshow} kijken om bij te komen.",
        ],
        "en": [
            "Still not over last night's {entvshow}.",
            "Weekend plan: {entvshow} and nothing else.",
        ],
        "tags": ["#tv", "#series", "#netflix"],
        "profile": {6: 0.5, 12: 0.7, 17: 0.9, 19: 0.6, 21: 1.0, 24: 1.1},
    },
    "politics": {
        "nl": [
            "Interessante discussie vandaag over {politic}. Niemand heeft gelijk, iedereen praat.",
            "Wanneer gaat de Kamer eens echt iets doen aan {politic}?",
            "Goed stuk gelezen over {politic}. Aanrader.",
            "Raadsvergadering over {politic} liep gisteren uit tot middernacht, las ik.",
            "Mijn schoonvader en ik over {politic}: twee werelden.",
            "Het debat over {politic} is weer eens vooral een debat over het debat.",
            "Over {politic} kan ik een boek schrijven. Doe ik niet, ik ga fietsen.",
            "De gemeente stuurt een brief over {politic}. Drie pagina's, nul informatie.",
        ],
        "en": [
            "Reading up on Dutch politics. {enpolitic} is complicated.",
            "Long thread on {enpolitic}, worth the read.",
        ],
        "tags": ["#politiek", "#tk", "#gemeente"],
        "profile": {6: 0.9, 12: 0.9, 18: 0.5, 24: 0.5},
    },
    "tech": {
        "nl": [
            "Mijn {gadget} doet raar sinds de laatste update.",
            "{app} ligt eruit? Of ligt het aan mij?",
            "Iemand ervaring met {techthing}? Ik twijfel nog.",
            "Nieuwe {gadget} binnen. Uitpakken voelt als Sinterklaas.",
            "Batterij van mijn {gadget} op 4%. Spanning.",
            "Eindelijk {app} op mijn nieuwe telefoon gezet. Alles werkt. Voor nu.",
            "Interessant artikel over {techthing}. Zou dit doorbreken?",
            "Wie bedenkt er wachtwoordregels? Hoofdletter, cijfer, bloedgroep.",
            "[6-20] Wifi in de trein is nog steeds een theoretisch concept.",
            "Hackathon dit weekend, we gaan iets met {techthing} doen.",
            "{app} heeft een nieuwe update en ik kan niets meer vinden.",
            "Mijn oude {gadget} gaat naar mijn moeder. Nu nog uitleggen.",
        ],
        "en": [
            "Playing with {entech} this weekend.",
            "My {engadget} died mid-call. Perfect timing.",
            "Is {enapp} down or is it just me?",
        ],
        "tags": ["#tech", "#apple", "#android", "#gadgets"],
        "profile": {6: 0.9, 12: 1.0, 18: 0.8, 24: 0.9},
    },
    "football": {
        "nl": [
            "[6-19] Vanavond Nederland-Spanje. Wie kijkt waar?",
            "[6-18] Benieuwd naar de opstelling van Van Gaal vanavond.",
            "[6-19] {player} moet vanavond het verschil maken.",
            "[6-19] De revanche voor 2010. Ik durf er bijna niet aan te denken.",
            "Hele straat hangt vol oranje vlaggetjes.",
            "[6-16] Gisteren Brazilië-Kroatië gekeken. Wat een rare penalty was dat.",
            "Poule B is echt een pittige poule.",
            "[6-19] Mijn voorspelling voor vanavond: {prediction}.",
            "[6-19] Het oranje shirt ligt al klaar voor vanavond.",
            "WK-pool op kantoor ingevuld. Ik heb {team} als wereldkampioen.",
            "[6-18] Is {player} fit genoeg? Spannend.",
            "[6-18] Oranjegekte in de supermarkt, zelfs de tompoucen zijn oranje.",
            "[6-19] Ik kijk vanavond {watchplace}.",
            "[6-17] Op het werk gaat het alleen nog over het WK.",
            "De buren hebben de halve gevel oranje gemaakt.",
            "[6-19] Het is heet in Salvador, zwaar voor de spelers.",
            "Dinsdag de Rode Duivels tegen Algerije. Hopelijk net zo spannend.",
            "[6-19] Van Gaal met vijf verdedigers? Ik ben benieuwd.",
            "Het WK-schema hangt op de koelkast. Prioriteiten.",
            "[6-19] Eerste WK-avond met Oranje. Ik heb er zin in.",
            "[6-18] {player} in de basis, hoop ik.",
            "[6-19] Van Persie in vorm vanavond? Ik hoop het.",
            "[6-19] Als Robben fit is, kan Oranje iedereen aan.",
            "[6-19] Robben gaat vanavond rennen, let maar op.",
            "Van Persie als aanvoerder is een goede keuze van Van Gaal.",
            "Mijn zoontje wil per se een shirt van {player}.",
            "Hoe lang zit {player} eigenlijk al in Oranje?",
            "[6-18] Samenvatting van de openingswedstrijd van het WK nog eens bekeken.",
            "Wat vinden jullie: kan Oranje verder komen dan de poule?",
            "[6-16] Straks om zes uur Mexico-Kameroen. Opwarmertje.",
            "Morgen om zes uur Colombia-Griekenland. Het WK-ritme zit erin.",
            "[21-24] Chili-Australië kijk ik er nog even bij.",
            "[21-24] Volgende week Australië. Daar ben ik nu al zenuwachtig voor.",
            "[21-24] Heb de samenvatting al twee keer gezien. {player} was geweldig.",
        ],
        "en": [
            "[6-19] Netherlands v Spain tonight. Where are you watching?",
            "Orange flags all over my street in {enplace}.",
            "World Cup office pool: I picked {enteam}.",
            "[6-19] Can {player} do it tonight?",
        ],
        "tags": ["#WK2014", "#oranje", "#NEDESP", "#wk"],
        "profile": {6: 0.6, 10: 0.8, 14: 1.1, 17: 1.6, 19: 1.9, 21: 1.8, 22: 1.2, 24: 0.8},
    },
    "marketing": {
        "nl": [
            "Mooi voorbeeld van {mkt} vandaag voorbij zien komen.",
            "{mktstat} van de marketeers doet nog niets met {mkt}, las ik. Kansen!",
            "Net {mktthing} gelezen over {mkt}. Twee goede inzichten, veel buzzwords.",
            "Inhaken op het WK: doe het goed of doe het niet.",
            "[6-17] Klant wil 'iets viraals'. Ik zet alvast koffie.",
            "Wie heeft er een goede tool voor webcare? Tips welkom.",
            "Nieuw van ons: {mktthing} over {mkt}. Feedback welkom!",
            "{mkt} is geen trucje, het is een manier van werken.",
            "Vandaag geleerd: eerst luisteren, dan pas posten.",
            "Merken die het WK aangrijpen: sommige slim, sommige pijnlijk.",
            "[6-17] Dashboard af, cijfers kloppen, nu nog iemand die ze leest.",
            "Onze nieuwe campagne gaat maandag live. Spannend.",
            "Social media op de werkvloer: verbieden of stimuleren? Wij stimuleren.",
            "[8-17] Goede sessie gehad over {mkt} met het team.",
            "Als iedereen over {mkt} praat, wie doet het dan eigenlijk?",
            "Klout-score van de hele afdeling vergeleken. De competitie is begonnen.",
            "Content zonder distributie is een dagboek.",
        ],
        "en": [
            "Great read on {enmkt} today.",
            "Every brand is trying to do World Cup marketing. Few do it well.",
            "Working on {enmktthing} about {enmkt}. Feedback welcome.",
        ],
        "tags": ["#marketing", "#socialmedia", "#contentmarketing", "#SEO", "#branding"],
        "profile": {6: 0.8, 8: 1.3, 14: 1.3, 16: 1.0, 18: 0.5, 24: 0.3},
    },
    "life": {
        "nl": [
            "Plannen voor het weekend: {weekendplan}.",
            "Mijn {pet} {petdeed}.",
            "[12-22] Vandaag {kidthing} van de jongste gehad. Ik ben moeier dan zij.",
            "[6-22] Vrijdag de 13e en er is nog niets misgegaan. Nog niet.",
            "Eindelijk {chore} gedaan. Voelt als een overwinning.",
            "Net {book} uitgelezen. Jammer dat het af is.",
            "Hardlooprondje gedaan, nu mag de {sweet}.",
            "Zaterdag {weekendplan}, zondag helemaal niets.",
            "De {pet} van de buren zit weer in onze tuin.",
            "Verjaardag vergeten. Bloemen gekocht. Gered.",
            "Zwarte kat over de weg. Vrijdag de 13e, hè.",
            "Iemand tips voor een dagje uit in de buurt van {city}?",
            "{chore}? Kan wachten, het is vrijdag.",
            "[6-18] Oma wordt vandaag 90. Taart en koffie bij de familie.",
            "[8-14] Vrijdagmiddagborrel om vier uur. Het aftellen is begonnen.",
            "[13-24] Weekend! Telefoon gaat op stil. Bijna.",
            "[21-24] Tijd om te slapen. Of nog één aflevering.",
        ],
        "en": [
            "Weekend plan: {enweekendplan}.",
            "[6-22] Friday the 13th and nothing has gone wrong yet. Yet.",
            "My {enpet} {enpetdeed}.",
        ],
        "tags": ["#weekend", "#vrijdag", "#vrijdagde13e"],
        "profile": {6: 0.8, 12: 0.9, 15: 1.3, 18: 1.1, 22: 1.2, 24: 1.0},
    },
}

# Asides close a post, openers start one; a greeting only opens a post at the right hour.
ASIDES_NL = [
    "Typisch.", "Echt waar.", "Wie herkent het?", "Nou ja.", "Fijne dag allemaal!",
    "Op naar het weekend.", "Gewoon omdat het kan.", "Iemand anders ook?", "Hoe is het bij jullie?",
    "Dat dan weer wel.", "Morgen beter.", "Ik zeg het maar even.", "Zucht.", "Prima zo.",
    "Niet klagen.", "Kan gebeuren.", "Klein geluk.", "Vrijdag, hè.", "Gezellig.", "Zo gaat dat.",
    "Wordt vervolgd.", "Het leven is goed.", "Dat wel.", "Daar ga ik van uit.",
]  # fmt: skip
ASIDES_EN = ["Typical.", "Anyone else?", "Happy Friday!", "Oh well.", "Just saying.", "Sigh."]
OPENERS_NL = ["Zo.", "Nou.", "Pff.", "Haha.", "Serieus:", "[6-10] Goedemorgen!", "Hè hè.", "Kijk.",
              "Oké.", "[20-24] Goedenavond!"]  # fmt: skip
OPENERS_EN = ["Well.", "Ok.", "Honestly:", "Ha.", "[6-10] Morning!"]

# Background posts per minute by hour (UTC): quiet at 06:00, busier at lunch and in the evening.
BACKGROUND_RATE = {
    6: 0.7, 7: 1.2, 8: 1.8, 9: 2.0, 10: 2.4, 11: 2.6, 12: 2.2, 13: 2.0, 14: 2.1, 15: 2.3,
    16: 2.4, 17: 2.6, 18: 2.8, 19: 2.3, 20: 2.3, 21: 2.8, 22: 2.0, 23: 1.4, 24: 1.0,
}  # fmt: skip


def background_post(rng: random.Random, minute: float, account: Account) -> tuple[str, str]:
    hour = minute / 60
    names = list(TOPICS)
    weights = [interp(TOPICS[name]["profile"], hour) for name in names]
    topic = TOPICS[rng.choices(names, weights)[0]]
    english = account.english and rng.random() < 0.85
    lang = "en" if english else "nl"
    if not in_window(topic[lang], hour):
        lang, english = "nl", False
    text = fill(rng, pick_in_window(rng, topic[lang], hour), VOCAB)
    text = text[0].upper() + text[1:]
    if rng.random() < 0.12:
        text = f"{pick_in_window(rng, OPENERS_EN if english else OPENERS_NL, hour)} {text}"
    if rng.random() < 0.3:
        text = f"{text} {rng.choice(ASIDES_EN if english else ASIDES_NL)}"
    if rng.random() < 0.22:
        tag = rng.choice(topic["tags"])
        if tag.lower() == "#nedesp" and hour < 12 and rng.random() < 0.5:
            tag = "#WK2014"
        if tag.lower() not in text.lower():
            text = f"{text} {tag}"
    if rng.random() < 0.15:
        text = f"{text} {rng.choice(VOCAB['emoji'])}"
    return text, lang


# --------------------------------------------------------------------------------------------
# The match: #NEDESP chatter and the #Twelftal campaign
# --------------------------------------------------------------------------------------------

GOAL_LINES: dict[str, dict[str, list[str]]] = {
    "alonso": {
        "nl": [
            "Penalty voor Spanje. Zucht.",
            "Xabi Alonso benut de strafschop. 0-1.",
            "Was dat nou een penalty? Diego Costa ging wel erg makkelijk naar de grond.",
            "0-1. Rustig blijven, mensen.",
            "Strafschop, 0-1. Dat voelt als 2010.",
            "Balen. Alonso schiet hem er koel in.",
        ],
        "en": ["Penalty to Spain. Alonso scores. 0-1.", "0-1. Was that really a penalty?"],
    },
    "rvp1": {
        "nl": [
            "Wat een goal van Van Persie!",
            "Vliegende Hollander!",
            "Die kopbal van Van Persie!!!",
            "1-1! Wat een duik van RVP!",
            "Lange bal van Blind, kopbal van Van Persie. Prachtig.",
            "Van Persie vliegt door de lucht. 1-1!",
            "Ik heb de bank omgegooid. Van Persie! 1-1!",
            "Dat is de mooiste kopbal die ik ooit heb gezien.",
            "RVP!!! Net voor rust! 1-1!",
        ],
        "en": ["What a header by Van Persie!", "The Flying Dutchman! 1-1!", "RVP. Wow. Just wow."],
    },
    "robben1": {
        "nl": [
            "ROBBEN!!! 2-1!",
            "Robben draait Piqué dol en scoort. 2-1!",
            "Robben! Wat een aanname!",
            "2-1! Robben op links, Robben naar binnen, Robben goal.",
            "Oranje op voorsprong! Robben!",
        ],
        "en": ["Robben! 2-1 Netherlands!", "Robben turns Piqué inside out. 2-1!"],
    },
    "devrij": {
        "nl": [
            "De Vrij! 3-1!",
            "Stefan de Vrij kopt hem erin. 3-1!",
            "Vrije trap Sneijder, goal De Vrij. 3-1!",
            "3-1! Een verdediger die scoort, mooier wordt het niet.",
            "De Vrij! Wie had dat gedacht. 3-1!",
        ],
        "en": ["De Vrij! 3-1!", "A defender scores. 3-1 Netherlands!"],
    },
    "rvp2": {
        "nl": [
            "Casillas, wat doe je?! Van Persie 4-1!",
            "Blunder van Casillas, Van Persie straft af. 4-1!",
            "4-1!!! Dit verzin je niet.",
            "Van Persie weer! Casillas gaat dit nooit vergeten.",
            "4-1 tegen de wereldkampioen. Knijp me even.",
        ],
        "en": ["Casillas gifts Van Persie his second. 4-1!", "4-1!!! Is this real?"],
    },
    "robben2": {
        "nl": [
            "5-1!!! Robben laat Casillas alle hoeken zien.",
            "Robben weer! 5-1 tegen de wereldkampioen!",
            "Robben rent iedereen eruit. 5-1!",
            "VIJF-EEN. Ik herhaal: VIJF-EEN.",
            "Die sprint van Robben! 5-1!",
        ],
        "en": ["5-1!!! Robben again!", "Robben outruns everyone. 5-1!"],
    },
}

STATE_LINES: dict[str, dict[str, list[str]]] = {
    "day": {
        "nl": [
            "Vanavond Nederland-Spanje. Ik kan aan niets anders denken.",
            "Nog een paar uur tot Nederland-Spanje.",
            "Revanche voor 2010? Vanavond om negen uur.",
            "Wie kijkt er vanavond mee? Oranje-Spanje!",
            "Oranje shirt mee naar kantoor, direct door naar de kroeg.",
            "Voorspelling voor vanavond: Oranje wint. Ik voel het.",
            "Vanavond om negen uur zit ik voor de buis. Kom op Oranje!",
            "Ik heb de hele dag al zenuwen voor vanavond.",
            "Nederland-Spanje. Die finale van 2010 zit nog steeds in mijn hoofd.",
            "Vanavond alles in het oranje. Ook de hond.",
            "Heb vrij genomen voor morgen. Je weet maar nooit na vanavond.",
            "Wie wint er vanavond? Ik zeg Oranje.",
            "Kaas, bitterballen en een vlag. Vanavond Oranje-Spanje.",
            "Om negen uur is het zover. Oranje tegen de wereldkampioen.",
            "Zou Spanje nog net zo goed zijn als in 2010?",
            "Vanavond gaat het gebeuren. Revanche!",
            "De hele familie komt vanavond kijken. Stoelen tekort.",
            "Spanje is favoriet, maar Oranje kan verrassen.",
        ],
        "en": ["Netherlands v Spain tonight. Can't wait.", "Rematch of the 2010 final tonight!"],
    },
    "pre": {
        "nl": [
            "Nog een kwartier. Kom op Oranje!",
            "Shirt aan, bier koud. Klaar voor Spanje.",
            "Volkslied! Kippenvel.",
            "Wie kijkt er mee?",
            "Revanche voor 2010!",
            "De opstelling is binnen. Vijf verdedigers, spannend.",
            "Chips in de bak, vlaggetje op de tafel. We zijn er klaar voor.",
        ],
        "en": ["Fifteen minutes to go. Come on Holland!", "Anthem time. Goosebumps."],
    },
    "early": {
        "nl": [
            "Spanje heeft veel de bal, Oranje staat goed.",
            "Spannend begin.",
            "Kom op jongens!",
            "Sneijder met een steekpass, net niet.",
            "Oranje zit er goed in, vind ik.",
            "Tiki-taka, maar zonder kansen. Prima zo.",
        ],
        "en": ["Nervy start.", "Spain keeping the ball, Dutch defending well."],
    },
    "behind": {
        "nl": [
            "Kom op Oranje, nog genoeg tijd.",
            "Spanje speelt het rustig uit, dit wordt lastig.",
            "Blijven geloven!",
            "We moeten iets meer durven.",
            "Robben, doe eens iets!",
        ],
        "en": ["Still time. Come on!", "Need a goal before half time."],
    },
    "halftime": {
        "nl": [
            "Rust. 1-1. Wat een goal net voor rust.",
            "Even bier halen in de rust.",
            "Rust! Die kopbal ga ik nog honderd keer terugkijken.",
            "1-1 bij rust. Alles kan nog.",
            "Rust. Snel naar de wc en weer terug.",
        ],
        "en": ["Half time. 1-1 and that header though.", "1-1 at the break. Anything can happen."],
    },
    "level_first": {
        "nl": [
            "1-1! Nu nog even volhouden tot de rust.",
            "Gelijk! Oranje is terug.",
            "1-1 vlak voor rust. Heerlijk.",
        ],
        "en": ["1-1 right before half time!", "All square before the break."],
    },
    "level": {
        "nl": [
            "1-1. De tweede helft is van ons.",
            "Kom op, nu doorpakken!",
            "Oranje begint goed aan de tweede helft.",
            "Alles kan nog. Kom op!",
        ],
        "en": ["1-1, second half. Come on!", "All square. Anything can happen."],
    },
    "leading": {
        "nl": [
            "Dit is een feestje.",
            "Spanje weet niet wat hun overkomt.",
            "Wat speelt Oranje goed vanavond.",
            "Nog even volhouden!",
            "Ik durf bijna niet te kijken. Nee, ik durf wel.",
            "Wat een wedstrijd. {score}.",
            "Zoveel oranje op straat. Iedereen is aan het juichen.",
            "De buren hoor ik door de muur heen juichen.",
        ],
        "en": ["What a game. {score}.", "This is a party.", "Spain have no answer."],
    },
    "post": {
        "nl": [
            "5-1 tegen Spanje. Ik kan het nog steeds niet geloven.",
            "Revanche voor 2010. Wat een avond.",
            "Wereldkampioen Spanje met 5-1 naar huis gestuurd.",
            "Ik ga vannacht niet slapen.",
            "Samenvatting nog drie keer kijken. Minstens.",
            "Die kopbal van Van Persie gaat de geschiedenisboeken in.",
            "Iedereen in de straat staat buiten. Toeteren, zingen, dansen.",
            "Wat een begin van het WK. Op naar Australië!",
        ],
        "en": ["5-1 against the world champions. Unreal.", "What a night. 5-1!"],
    },
}

TWELFTAL_JOKES: dict[str, list[str]] = {
    "nl": [
        "Mijn #Twelftal voor vanavond: ik, de bank, twee zakken chips en acht buurmannen.",
        "Het #Twelftal van @Heineken_NL zit er klaar voor.",
        "Bondscoach van ons #Twelftal: de buurvrouw. Ze heeft nog nooit verloren.",
        "Een elftal op het veld, een #Twelftal op de bank.",
        "Wie staat er in jouw #Twelftal?",
        "Opstelling #Twelftal: vijf op de bank, drie op de poef, de hond op de reservebank.",
        "Het #Twelftal heeft vanavond één taak: hard juichen.",
        "Snacks in een 5-3-2. Net als Van Gaal. #Twelftal",
        "Elf spelers op het veld en miljoenen in het #Twelftal.",
        "Mijn schoonmoeder zit ook in het #Twelftal. Ze schreeuwt het hardst.",
        "De scheidsrechter krijgt nu al commentaar van ons #Twelftal.",
        "In ons #Twelftal is de koelkast de aanvoerder.",
        "Het #Twelftal doet niet aan wisselen. Alleen aan bijvullen.",
        "Ons #Twelftal heeft een strakke tactiek: niemand haalt chips tijdens een aanval.",
        "Aanvoerdersband voor de afstandsbediening. #Twelftal",
        "Het #Twelftal warmt zich op. Vooral de stembanden.",
        "Twaalfde man? Wij zijn met zijn twaalven. #Twelftal",
        "Opa is de keeper van ons #Twelftal. Hij houdt de bitterballen vast.",
    ],
    "en": [
        "Eleven on the pitch, twelve on my couch. #Twelftal",
        "Who's in your #Twelftal tonight?",
        "My #Twelftal: me, the sofa and a fridge full of cold ones.",
        "The #Twelftal never subs, it only refills.",
    ],
}

HEINEKEN_LINES = [
    "Het #Twelftal is compleet. Jij ook? Kom op Oranje!",
    "Het #Twelftal warmt zich op. Wie staat er in jouw opstelling?",
    "Aftrap! Het #Twelftal juicht mee.",
    "0-1. Het #Twelftal blijft geloven. Jij ook?",
    "VLIEGENDE HOLLANDER! Het #Twelftal gaat uit zijn dak. #vliegendehollander",
    "Rust. Tijd om het #Twelftal bij te vullen. Proost!",
    "2-1! Het #Twelftal staat op de bank. Letterlijk.",
    "3-1! Het #Twelftal kan het niet meer bijhouden.",
    "4-1! Ons #Twelftal is hees.",
    "5-1!!! Het #Twelftal heeft nooit harder gejuicht.",
    "Wat een avond. Dank aan het hele #Twelftal! Proost op Oranje.",
]
HEINEKEN_TIMES = ["18:46", "18:55", "19:00", "19:29", "19:45", "19:49", "20:12",
                  "20:23", "20:31", "20:39", "20:53"]  # fmt: skip

TAG_VARIANTS = ["#Twelftal"] * 7 + ["#twelftal"] * 3 + ["#TWELFTAL"]
EXTRA_TAGS = ["#NEDESP", "#oranje", "#WK2014", "#NEDvsESP"]
CHEERS = ["🍺", "⚽", "🙌", "😂", "🇳🇱", "!!!", "🍻", "👏"]


def score_at(minute: float) -> str:
    score = "0-0"
    for goal in GOALS:
        if goal.at <= minute:
            score = goal.score
    return score


def match_phase(minute: float) -> str:
    if minute < KICK_OFF - 20:
        return "day"
    if minute < KICK_OFF:
        return "pre"
    if minute >= FULL_TIME:
        return "post"
    if HALF_TIME <= minute < SECOND_HALF:
        return "halftime"
    if minute < HALF_TIME and score_at(minute) == "1-1":
        return "level_first"
    return {"0-0": "early", "0-1": "behind", "1-1": "level"}.get(score_at(minute), "leading")


def recent_goal(minute: float) -> Goal | None:
    for goal in reversed(GOALS):
        if 0 <= minute - goal.at < 6:
            return goal
    return None


def match_line(rng: random.Random, minute: float, lang: str) -> str:
    """A reaction to the match as it stands at `minute`."""
    goal = recent_goal(minute)
    if goal is not None and rng.random() < 0.8:
        return rng.choice(GOAL_LINES[goal.key][lang])
    line = rng.choice(STATE_LINES[match_phase(minute)][lang])
    return line.replace("{score}", score_at(minute))


def goal_boost(minute: float, dutch_size: float, spanish_size: float, tau: float) -> float:
    boost = 0.0
    for goal in GOALS:
        if minute >= goal.at:
            size = dutch_size if goal.dutch else spanish_size
            boost += size * math.exp(-(minute - goal.at) / tau)
    return boost


def twelftal_rate(minute: float) -> float:
    """#Twelftal posts per minute."""
    if minute < hhmm("18:45"):
        return 0.0
    if minute < KICK_OFF:
        return 0.25
    if minute < FULL_TIME:
        base = 2.2 + 0.8 * (minute - KICK_OFF) / (FULL_TIME - KICK_OFF)
        return base + goal_boost(minute, 3.2, 0.8, 5.0)
    after = minute - FULL_TIME
    return 0.15 + 2.6 * math.exp(-after / 25) + 2.0 * math.exp(-after / 6)


def nedesp_rate(minute: float) -> float:
    """Match chatter (#NEDESP and friends, no #Twelftal) per minute."""
    if minute < hhmm("17:00"):
        return 0.02 + 0.08 * max(0.0, minute - FIRST_MINUTE) / (hhmm("17:00") - FIRST_MINUTE)
    if minute < KICK_OFF:
        return 0.1 + 0.4 * (minute - hhmm("17:00")) / 120
    if minute < FULL_TIME:
        return 0.9 + goal_boost(minute, 2.2, 1.0, 4.0)
    after = minute - FULL_TIME
    return 0.1 + 1.8 * math.exp(-after / 30)


def vliegende_share(minute: float) -> float:
    """How often match posts carry #vliegendehollander after Van Persie's header."""
    if minute < RVP_HEADER:
        return 0.0
    return 0.08 + 0.5 * math.exp(-(minute - RVP_HEADER) / 25)


def decorate_match_post(rng: random.Random, text: str, minute: float, twelftal: bool) -> str:
    tags: list[str] = []
    if twelftal and "twelftal" not in text.lower():
        tags.append(rng.choice(TAG_VARIANTS))
    if twelftal:
        if rng.random() < 0.25:
            tags.append(rng.choice(EXTRA_TAGS))
    else:
        tags.append("#NEDESP" if rng.random() < 0.65 else rng.choice(EXTRA_TAGS))
    if rng.random() < vliegende_share(minute) and "vliegendehollander" not in text.lower():
        tags.append("#vliegendehollander")
    text = " ".join([text, *tags])
    if twelftal and "@heineken_nl" not in text.lower() and rng.random() < 0.14:
        text = f"{text} {rng.choice(['Proost', 'Dank', 'Cheers', 'Skol'])} @Heineken_NL!"
    if rng.random() < 0.3:
        text = f"{text} {rng.choice(CHEERS)}"
    return text


def nedesp_post(rng: random.Random, minute: float, lang: str) -> tuple[str, str]:
    """A match reaction with #NEDESP or a related tag (no #Twelftal)."""
    line = match_line(rng, minute, lang)
    return decorate_match_post(rng, line, minute, twelftal=False), lang


def twelftal_post(rng: random.Random, minute: float, lang: str) -> tuple[str, str]:
    """A campaign joke or a match reaction, tagged #Twelftal."""
    joke_chance = 0.2 if recent_goal(minute) else 0.55
    if rng.random() < joke_chance:
        line = rng.choice(TWELFTAL_JOKES[lang])
    else:
        line = match_line(rng, minute, lang)
    return decorate_match_post(rng, line, minute, twelftal=True), lang


# --------------------------------------------------------------------------------------------
# News items (invented, in the style of each outlet)
# --------------------------------------------------------------------------------------------

NEWS: dict[str, dict] = {
    "nos": {
        "author": "NOS",
        "url": "https://nos.nl/artikel/{num}-{slug}.html",
        "items": [
            ("06:10", "Zonnig en warm weekend op komst",
             "Het weekend wordt zonnig met temperaturen tot 25 graden. Alleen in het noorden kan "
             "zondag een enkele bui vallen."),
            ("07:05", "Oranje klaar voor openingsduel tegen Spanje",
             "Het Nederlands elftal werkte in Salvador de laatste training af voor de wedstrijd "
             "tegen wereldkampioen Spanje."),
            ("08:25", "Storing in treinverkeer rond Utrecht voorbij",
             "Het treinverkeer rond Utrecht rijdt weer volgens de normale dienstregeling. "
             "Reizigers moesten eerder vanochtend rekening houden met vertragingen."),
            ("09:40", "Gemeenten bereiden zich voor op nieuwe zorgtaken",
             "Veel gemeenten zeggen nog niet klaar te zijn voor de taken in de jeugdzorg en "
             "ouderenzorg die ze volgend jaar krijgen."),
            ("11:15", "Vissers tevreden over eerste Hollandse Nieuwe",
             "De eerste Hollandse Nieuwe van het seizoen ligt in de winkels. Volgens de handel is "
             "de vis dit jaar vet genoeg."),
            ("13:30", "Wat we weten over de opstelling van Oranje",
             "Bondscoach Van Gaal houdt de opstelling nog geheim, maar alles wijst op een systeem "
             "met vijf verdedigers."),
            ("15:05", "Drukte op de wegen door begin van het weekend",
             "Op de snelwegen richting de kust staan langere files dan normaal op vrijdagmiddag."),
            ("16:50", "Spanje favoriet, maar Oranje gelooft in kans",
             "Vier jaar na de verloren WK-finale treffen Nederland en Spanje elkaar opnieuw."),
            ("17:58", "Mexico wint van Kameroen",
             "Mexico heeft in Natal met 1-0 gewonnen van Kameroen. Oribe Peralta maakte het enige "
             "doelpunt."),
            ("19:30", "Spanje op voorsprong via strafschop Alonso",
             "Xabi Alonso heeft Spanje vanaf de strafschopstip op 1-0 gezet tegen Nederland."),
            ("20:53", "Oranje wint met 5-1 van Spanje",
             "Het Nederlands elftal heeft wereldkampioen Spanje met 5-1 verslagen. Van Persie en "
             "Robben scoorden twee keer, De Vrij maakte de derde treffer."),
            ("21:45", "Feest in de binnensteden na zege op Spanje",
             "In veel steden gingen mensen na de wedstrijd de straat op om de overwinning te "
             "vieren."),
            ("23:56", "Chili wint van Australië",
             "Chili, de volgende tegenstander van Oranje in de poule, heeft met 3-1 gewonnen van "
             "Australië."),
        ],
    },
    "nu": {
        "author": "NU.nl",
        "url": "https://www.nu.nl/{section}/{num}/{slug}.html",
        "items": [
            ("06:35", "Vertraging op het spoor tussen Amsterdam en Schiphol",
             "Door een defecte trein rijden er minder treinen tussen Amsterdam en Schiphol."),
            ("07:40", "Beurs Amsterdam opent licht hoger",
             "De AEX opende vrijdag licht hoger. Beleggers zijn voorzichtig voor het weekend."),
            ("09:05", "Politie waarschuwt voor nepmails over WK-kaartjes",
             "Oplichters sturen mails waarin zogenaamd goedkope kaartjes voor WK-wedstrijden "
             "worden aangeboden."),
            ("10:30", "Oranjegekte in de supermarkt",
             "Vlaggetjes, petjes en oranje gebak vliegen de deur uit in aanloop naar de eerste "
             "WK-wedstrijd van Oranje."),
            ("12:10", "Kroegen verwachten drukke avond door WK-duel",
             "Horecaondernemers rekenen op een volle zaak tijdens Nederland-Spanje."),
            ("13:45", "Vrijdag de dertiende: bijgeloof nog altijd populair",
             "Een op de tien Nederlanders zegt op vrijdag de dertiende extra voorzichtig te zijn."),
            ("14:50", "Lange files verwacht richting de kust",
             "Door het zonnige weer verwacht de ANWB drukte op de wegen naar het strand."),
            ("18:05", "Opstelling bekend: Oranje met vijf verdedigers tegen Spanje",
             "Van Gaal kiest tegen Spanje voor een systeem met vijf verdedigers."),
            ("19:50", "Van Persie maakt gelijk vlak voor rust",
             "Met een spectaculaire kopbal zette Robin van Persie Nederland vlak voor rust op "
             "1-1."),
            ("20:52", "Oranje wint met 5-1 van wereldkampioen Spanje",
             "Nederland heeft de WK-openingswedstrijd tegen Spanje met 5-1 gewonnen."),
            ("21:25", "Foto's: Nederland viert feest na zege op Spanje",
             "Op pleinen in het hele land werd uitbundig gevierd na de klinkende overwinning."),
            ("22:40", "Feest op pleinen in Amsterdam en Rotterdam",
             "Duizenden mensen vierden de overwinning in de binnensteden."),
        ],
    },
    "emerce": {
        "author": "Emerce",
        "url": "https://www.emerce.nl/nieuws/{slug}",
        "items": [
            ("06:45", "Webwinkels verwachten omzetpiek tijdens het WK",
             "Vooral televisies, barbecues en oranje artikelen doen het goed, zeggen webwinkels."),
            ("08:10", "Mobiel winkelen groeit harder dan verwacht",
             "Een steeds groter deel van de online aankopen wordt gedaan op een smartphone of "
             "tablet."),
            ("09:25", "Onderzoek: helft van mkb-sites niet geschikt voor mobiel",
             "Veel kleine ondernemers hebben nog geen website die goed werkt op een telefoon."),
            ("10:05", "Merken zoeken aansluiting bij WK-gekte",
             "Adverteerders proberen in te spelen op het WK, met wisselend succes."),
            ("11:50", "Nieuwe betaalmethoden in opmars bij webwinkels",
             "Naast iDEAL bieden webwinkels steeds vaker achteraf betalen en mobiel betalen aan."),
            ("13:10", "Adverteerders verschuiven budget naar online video",
             "Online video wint terrein ten koste van traditionele televisiereclame."),
            ("14:35", "Retailers worstelen met retouren",
             "Gratis retourneren is populair bij klanten maar kost webwinkels veel geld."),
            ("15:40", "Start-ups halen vaker geld op via crowdfunding",
             "Crowdfunding wordt een serieus alternatief voor een banklening."),
            ("17:15", "Tekort aan data-analisten loopt op",
             "Bedrijven hebben steeds meer moeite om goede data-analisten te vinden."),
            ("22:05", "Merken haken massaal in op Oranjezege",
             "Na de overwinning op Spanje stroomden de felicitaties van merken binnen op sociale "
             "media."),
        ],
    },
    "marketingfacts": {
        "author": "Marketingfacts",
        "url": "https://www.marketingfacts.nl/berichten/20140613-{slug}",
        "items": [
            ("07:20", "Vijf lessen uit de eerste WK-campagnes",
             "Wat kunnen marketeers leren van de campagnes die rond de start van het WK "
             "verschenen?"),
            ("08:45", "Contentmarketing: kwaliteit boven kwantiteit",
             "Meer publiceren levert niet automatisch meer bereik op."),
            ("10:40", "Waarom je socialmediabeleid niet in een la moet liggen",
             "Medewerkers zijn vaak de beste ambassadeurs van een merk, als ze de ruimte krijgen."),
            ("12:25", "Zo gebruiken Nederlanders Twitter tijdens het voetbal",
             "Tijdens grote wedstrijden verdubbelt het aantal tweets in Nederland."),
            ("13:55", "De opkomst van realtime marketing",
             "Merken die snel reageren op de actualiteit winnen aandacht, maar het risico op "
             "missers is groot."),
            ("15:15", "Klantenservice via Twitter: verwachtingen stijgen",
             "Klanten verwachten binnen een uur antwoord op een vraag via sociale media."),
            ("16:35", "Personal branding voor marketeers",
             "Hoe bouw je als marketeer aan je eigen naam zonder je werkgever te vergeten?"),
            ("18:20", "Checklist: inhaken zonder uit te glijden",
             "Tien vragen die je jezelf moet stellen voordat je inhaakt op het nieuws."),
            ("21:35", "Heineken scoort met #Twelftal",
             "Tijdens Nederland-Spanje werd #Twelftal trending. Heineken liet een groep "
             "Twitteraars grappige tweets plaatsen met de hashtag."),
            ("23:20", "Welke merken wonnen de avond op sociale media?",
             "Een eerste overzicht van de merken die inhaakten op de overwinning van Oranje."),
        ],
    },
    "tweakers": {
        "author": "Tweakers",
        "url": "https://tweakers.net/nieuws/{num}/{slug}.html",
        "items": [
            ("06:20", "Providers verwachten piek in dataverkeer tijdens WK-duel",
             "Internetaanbieders houden rekening met veel streamingverkeer vanavond."),
            ("07:55", "Nieuwe browserversie belooft snellere JavaScript",
             "De nieuwe versie laadt zware webapplicaties merkbaar sneller."),
            ("09:15", "Onderzoekers vinden kwetsbaarheid in veelgebruikte routers",
             "Aanvallers kunnen via een fout in de beheerinterface de instellingen aanpassen."),
            ("10:55", "Ontwikkelaars experimenteren met programmeertaal Swift",
             "Apple presenteerde de taal eerder deze maand; de eerste projecten verschijnen al."),
            ("12:40", "Review: vijf betaalbare smartphones getest",
             "Voor minder dan tweehonderd euro krijg je tegenwoordig een prima toestel."),
            ("14:10", "Streamingdiensten zien gebruik stijgen tijdens WK",
             "Kijkers volgen wedstrijden steeds vaker via een app of website."),
            ("15:50", "Test: draadloze koptelefoons onder de honderd euro",
             "De geluidskwaliteit loopt sterk uiteen, de accuduur ook."),
            ("17:40", "Tips: zo kijk je het WK zonder haperende stream",
             "Een bekabelde verbinding en een lagere resolutie voorkomen veel ergernis."),
            ("20:58", "Sociale media lopen warm tijdens Nederland-Spanje",
             "Tijdens de wedstrijd werden per minuut tienduizenden berichten geplaatst."),
            ("22:30", "Open source-project voor thuisautomatisering bereikt versie 1.0",
             "De software stuurt lampen, thermostaten en sensoren van verschillende merken aan."),
        ],
    },
}  # fmt: skip

NU_SECTIONS = ["binnenland", "economie", "tech", "wk-2014", "algemeen"]


def news_posts(rng: random.Random) -> list[Draft]:
    drafts = []
    for source, outlet in NEWS.items():
        for when, title, lead in outlet["items"]:
            url = outlet["url"].format(
                num=rng.randrange(3_700_000, 3_800_000)
                if source == "nu"
                else rng.randrange(600_000, 700_000)
                if source == "nos"
                else rng.randrange(96_000, 97_000),
                slug=slugify(title),
                section=rng.choice(NU_SECTIONS),
            )
            at = hhmm(when) * 60 + rng.randrange(60)
            drafts.append(Draft(at, lead, source, outlet["author"], "nl", url, title))
    return drafts


# --------------------------------------------------------------------------------------------
# Hand-placed posts: the opportunity, its look-alikes, other open calls, the spam
# --------------------------------------------------------------------------------------------

EMERCE_CALL = (
    "Is jouw werkplek uniek, verrassend en een must see voor Emerce-lezers? "
    "Stuur ons een mail met foto's vóór 20 juni! #werkplek"
)
EMERCE_CALL_URL = "https://www.emerce.nl/achtergrond/jouw-werkplek-in-emerce"

# (time, source, author, lang, text, url)
SPECIALS: list[tuple[str, str, str, str, str, str | None]] = [
    ("07:48", "x", "{bg}", "nl",
     "Mijn werkplek vandaag: keukentafel. Koffie binnen handbereik, collega's niet. #thuiswerken",
     None),
    ("09:32", "x", "BureauKlaproos", "nl",
     "Wij zoeken een online marketeer! Ben jij creatief en cijfermatig? Solliciteer via "
     "http://bit.ly/1kLpV3r #vacature #marketing", None),
    ("10:12", "x", "Emerce", "nl", EMERCE_CALL, EMERCE_CALL_URL),
    ("10:47", "mastodon", "{bg_mastodon}", "nl",
     "Nieuwe werkplek op de zesde verdieping, uitzicht op het spoor. Ik klaag niet.", None),
    ("11:26", "x", "StudioBoegbeeld", "nl",
     "Leuk om terug te lezen: ons kantoor in een oude school stond vorig jaar in de rubriek over "
     "bijzondere werkplekken van Emerce. Nog steeds trots!", None),
    ("12:41", "x", "Slagerij_Mulder", "nl",
     "WINACTIE! Maak kans op een oranje BBQ-pakket voor vanavond: like en deel dit bericht en "
     "volg ons. Winnaar bekend om 17:00 uur! #winactie", None),
    ("13:07", "x", "hannah_reports", "en",
     "#journorequest Writing a piece on how Dutch brands use the World Cup on social media. "
     "Looking for marketers with a campaign live this week. DM me or email before Monday 16 "
     "June.", None),
    ("14:20", "x", "{bg}", "nl",
     "Hoorde van een collega dat Heineken vanavond iets groots doet met een 'twelftal'. "
     "Benieuwd wat dat wordt.", None),
    ("14:52", "x", "SocialCafe_UTR", "nl",
     "Op 26 juni weer een Social Media Café in Utrecht! Thema: inhaken op de actualiteit. "
     "Aanmelden kan via http://bit.ly/1pQx7Ze", None),
    ("15:35", "x", "Koffiepauze_FM", "nl",
     "Voor onze podcast over ondernemers met een bijzonder verhaal zoeken we nog gasten. Iets te "
     "vertellen? Stuur ons een DM of mail redactie@koffiepauze.fm vóór 27 juni. #podcast", None),
    ("16:05", "x", "BureauKlaproos", "nl",
     "Vacature: stagiair social media (32 uur, Utrecht). Reageer vóór 1 juli via onze site. "
     "#vacature #stage", None),
    ("16:58", "x", "{bg}", "nl",
     "Kantoor leeg. Iedereen is al in oranje naar huis. Ik doe het licht wel uit.", None),
    ("17:30", "x", HEINEKEN, "nl",
     "Vanavond gaat ons #Twelftal los. Ben jij erbij? Kom op Oranje!", None),
    ("18:12", "x", "{bg}", "nl",
     "Werkplek voor vanavond: bank, tv, oranje sjaal. Klaar.", None),
]  # fmt: skip

SPAM_AUTHOR = "ZomerDealz_NL"
SPAM_TEXT = (
    "Alleen vandaag: 60% korting op zonnebrillen en oranje petjes! Bestel nu via "
    "http://bit.ly/1zMrdLz #zomerdeal"
)


def special_posts(rng: random.Random, background: list[Account]) -> list[Draft]:
    on_x = [a for a in background if a.source == "x" and not a.english]
    on_mastodon = [a for a in background if a.source == "mastodon" and not a.english]
    drafts = []
    for when, source, author, lang, text, url in SPECIALS:
        if author == "{bg}":
            author = rng.choice(on_x).handle
        elif author == "{bg_mastodon}":
            author = rng.choice(on_mastodon).handle
        at = hhmm(when) * 60 + rng.randrange(60)
        drafts.append(Draft(at, text, source, author, lang, url))
    # The spam trap: the same promotional text 30 times, 12:00-16:59, one account.
    for i in range(30):
        at = (12 * 60 + i * 10) * 60 + rng.randrange(8 * 60)
        drafts.append(Draft(at, SPAM_TEXT, "x", SPAM_AUTHOR, "nl"))
    return drafts


# --------------------------------------------------------------------------------------------
# The day
# --------------------------------------------------------------------------------------------


def generate(seed: int = SEED) -> list[dict[str, str | None]]:
    rng = random.Random(seed)
    taken = {name.lower() for name in [*INFLUENCERS, HEINEKEN, SPAM_AUTHOR, "Emerce"]}
    background = make_accounts(rng, 150, taken, mastodon_share=0.2, english_share=0.12)
    fans = make_accounts(rng, 110, taken, mastodon_share=0.05, english_share=0.08)
    bg_weights = [a.weight for a in background]
    # Who posts about the match: fans who only show up tonight and many regulars.
    match_pool = fans + [a for a in background if a.source == "x"]
    match_weights = [a.weight * (1.0 if a in fans else 0.6) for a in match_pool]

    drafts: list[Draft] = []
    drafts += news_posts(rng)
    drafts += special_posts(rng, background)
    for i, when in enumerate(HEINEKEN_TIMES):
        at = hhmm(when) * 60 + rng.randrange(10, 50)
        drafts.append(Draft(at, HEINEKEN_LINES[i], "x", HEINEKEN, "nl"))

    influencer_posts: list[tuple[str, str, str]] = []  # (author, text, lang)
    used: set[str] = set()

    def fresh(make: Callable[..., tuple[str, str]], *args: Any) -> tuple[str, str]:
        """Different people rarely write the very same sentence: draw again on a repeat."""
        text, lang = make(*args)
        for _retry in range(20):
            if text not in used:
                break
            text, lang = make(*args)
        used.add(text)
        return text, lang

    for minute in range(FIRST_MINUTE, LAST_MINUTE):
        hour = minute / 60
        # Background chatter.
        for _ in range(poisson(rng, interp(BACKGROUND_RATE, hour))):
            account = rng.choices(background, bg_weights)[0]
            text, lang = fresh(background_post, rng, minute, account)
            at = minute * 60 + rng.randrange(60)
            drafts.append(Draft(at, text, account.source, account.handle, lang))
        # #NEDESP chatter: a low baseline all day, then the match.
        for _ in range(poisson(rng, nedesp_rate(minute))):
            account = rng.choices(match_pool, match_weights)[0]
            at = minute * 60 + rng.randrange(60)
            lang = "en" if account.english and rng.random() < 0.85 else "nl"
            text, lang = fresh(nedesp_post, rng, at / 60, lang)
            drafts.append(Draft(at, text, account.source, account.handle, lang))
        # #Twelftal: influencers first, then everybody.
        for _ in range(poisson(rng, twelftal_rate(minute))):
            at = minute * 60 + rng.randrange(60)
            since = (at / 60 - hhmm("18:45")) / 60  # hours since the campaign started
            influencer_share = max(0.12, 0.85 - 0.9 * since)
            if rng.random() < influencer_share:
                author, source = rng.choice(INFLUENCERS), "x"
                lang = "en" if rng.random() < 0.1 else "nl"
            else:
                account = rng.choices(match_pool, match_weights)[0]
                author, source = account.handle, account.source
                lang = "en" if account.english and rng.random() < 0.85 else "nl"
                if influencer_posts and at / 60 >= KICK_OFF and rng.random() < 0.16:
                    original_author, original, original_lang = rng.choice(influencer_posts[-12:])
                    text = f"RT @{original_author}: {original}"
                    drafts.append(Draft(at, text, source, author, original_lang))
                    continue
            text, lang = fresh(twelftal_post, rng, at / 60, lang)
            if author in INFLUENCERS:
                influencer_posts.append((author, text, lang))
            drafts.append(Draft(at, text, source, author, lang))

    drafts.sort(key=lambda d: d.at)  # stable: ties keep their generation order
    rows: list[dict[str, str | None]] = []
    for number, draft in enumerate(drafts, start=1):
        rows.append(
            {
                "id": f"d-{number:06d}",
                "text": draft.text,
                "created_at": stamp(draft.at),
                "source": draft.source,
                "author": draft.author,
                "url": draft.url,
                "lang": draft.lang,
                "title": draft.title,
            }
        )
    return rows


def write(rows: list[dict[str, str | None]], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="\n") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the stream")
    args = parser.parse_args(argv)
    rows = generate()
    write(rows, args.out)
    print(f"wrote {len(rows)} posts to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
