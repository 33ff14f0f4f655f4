"""Where an alert goes, who should pick it up, on which platform, and whether it waits.

What it does (pure functions over the config and an alert's facts; no I/O, no clock):
- `route_channel`: the channel for an alert, from feeds.yaml `slack.routes`. The FIRST route whose
  every given condition matches picks the channel, like mail filters; an alert no route matches
  goes to `slack.channel`. Conditions: `kinds` (trend, opportunity, listed), `terms` (normalized,
  against the alert's terms, its watch terms and, for a call, its topic words), `sources` (a source
  id or a source kind such as mastodon), `langs` (the `lang` of the alert's sources in feeds.yaml:
  an alert whose sources state no language never matches a route that asks for one) and
  `min_score` (the alert's own score: a trend's significance, a call's probability).
- `handoff_for`: the platforms that fit a topic's origin and audience (the tables below, each
  with the reason a person reads), and at most two team members to mention: first those whose
  `topics` match the alert, then those who cover the best platform. A person is only suggested
  for a platform they list; someone who knows the topic but covers none of the fitting
  platforms is still mentioned, with their own platform and a note that says so.
- Quiet hours: `in_quiet_hours`, `urgent_trend`, `urgent_call` and `held_alerts_may_go`, in the
  team's time zone (`slack.timezone`); a quiet window may cross midnight.
- `place_trend`, `place_call`, `place_listed`: all three answers for one finding at once
  (channel, handoff, held or not), which is what bot/alerts.py's AlertPolicy asks.

What it does not do: read the store, send anything or render messages (bot/alerts.py puts the
results in the outbox; bot/slack/blocks.py renders the handoff line; bot/digest.py sends digests).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.config import Config, QuietHours, Route, TeamMember
from bot.notify.base import Handoff
from detectors.records import ExternalTrend, Opportunity, Trend
from detectors.text import normalize, normalize_term, terms_of

PLATFORM_LABELS = {
    "x": "X",
    "linkedin": "LinkedIn",
    "instagram": "Instagram",
    "tiktok": "TikTok",
    "facebook": "Facebook",
    "bluesky": "Bluesky",
    "mastodon": "Mastodon",
}

# Sources that ARE a social platform: a story rising there is best joined there.
HOME_PLATFORM = {
    "bluesky_jetstream": "bluesky",
    "bluesky_trends": "bluesky",
    "mastodon": "mastodon",
    "x_search": "x",
}


@dataclass(frozen=True, slots=True)
class Audience:
    """Who reads a kind of source or call, and the platforms where that audience is reached."""

    platforms: tuple[str, ...]
    words: str  # what a person reads in the reason, after a colon


# Sources that are not a platform of their own: where their stories' audience is.
SOURCE_AUDIENCE = {
    "hackernews": Audience(("x", "linkedin"), "a tech audience"),
    "reddit": Audience(("x", "linkedin"), "an online, tech-leaning audience"),
    "rss": Audience(("linkedin", "x"), "a professional audience"),
    "google_trends": Audience(("instagram", "facebook"), "a broad consumer audience"),
}
SOURCE_WORDS = {
    "hackernews": "talked about on Hacker News",
    "reddit": "talked about on Reddit",
    "rss": "in the news and trade press",
    "google_trends": "searched widely on Google",
}

# A story led by a hashtag (#twelftal, #oranje) lives in the consumer, sports and fan crowd.
HASHTAG_AUDIENCE = Audience(("x", "instagram", "tiktok"), "a consumer crowd")

# Open calls: the category says who answers, the source where it was asked.
CALL_WORDS = {
    "speakers": "a call for speakers",
    "awards": "an award entry",
    "journalist_request": "a press request",
    "guest_blog": "a guest blog call",
    "guests": "a call for guests",
    "participants": "a call for participants",
    "submission": "a call for entries",
}
CALL_AUDIENCE = {
    "speakers": Audience(("linkedin",), "a B2B audience"),
    "awards": Audience(("linkedin",), "a B2B audience"),
    "guest_blog": Audience(("linkedin",), "a professional audience"),
    "journalist_request": Audience(("linkedin", "x"), "journalists read LinkedIn and X"),
}
# A call from trade press (RSS) that names no B2B category still reaches a B2B audience.
TRADE_PRESS_CALL = Audience(("linkedin",), "a B2B audience")

MAX_PEOPLE = 2
MAX_PLATFORMS = 3


# --- routing ----------------------------------------------------------------------------------


def source_kinds(config: Config, sources: Iterable[str]) -> tuple[str, ...]:
    """The kinds of the given source ids, in order, once each (an unknown id is skipped)."""
    kind_of = {s.id: s.kind for s in config.sources}
    return tuple(dict.fromkeys(kind_of[s] for s in sources if s in kind_of))


def source_langs(config: Config, sources: Iterable[str]) -> tuple[str, ...]:
    """The languages feeds.yaml states for the given sources (`lang:`), once each."""
    lang_of = {s.id: s.lang for s in config.sources if s.lang}
    return tuple(dict.fromkeys(_primary_lang(lang_of[s]) for s in sources if s in lang_of))


def call_terms(topic: str | None, watched: Iterable[str]) -> tuple[str, ...]:
    """What routes match a call against: its topic words and its watch terms."""
    words = list(terms_of(topic)) if topic else []
    return tuple(dict.fromkeys([*words, *watched]))


def _primary_lang(lang: str) -> str:
    """ "nl-NL" and "NL" both mean Dutch to a route that says "nl"."""
    return lang.strip().lower().replace("_", "-").split("-")[0]


def route_matches(
    route: Route,
    *,
    kind: str,
    terms: frozenset[str],
    sources: Sequence[str],
    kinds: Sequence[str],
    langs: Sequence[str],
    score: float,
    watched: bool = False,
) -> bool:
    """Whether every condition the route gives holds for the alert (an empty one always does)."""
    if route.kinds and kind not in route.kinds:
        return False
    if route.watched is not None and route.watched != watched:
        return False
    if route.terms and not {normalize_term(t) for t in route.terms} & terms:
        return False
    if route.sources and not set(route.sources) & {*sources, *kinds}:
        return False
    if route.langs and not {_primary_lang(lang) for lang in route.langs} & set(langs):
        return False
    return score >= route.min_score


def route_channel(
    config: Config,
    kind: str,
    terms: Iterable[str],
    sources: Iterable[str],
    langs: Iterable[str],
    score: float,
    *,
    watched: bool = False,
) -> str:
    """The channel for an alert: the first matching route's, else `slack.channel`.

    First match wins, like mail filters: put narrow routes (a watch term) above broad ones (a
    kind). `terms` are the alert's terms and watch terms (and a call's topic words), `sources`
    its source ids, `langs` its languages (`source_langs`).
    """
    wanted_terms = frozenset(t for t in (normalize_term(term) for term in terms) if t)
    source_ids = tuple(sources)
    kinds = source_kinds(config, source_ids)
    lang_list = tuple(_primary_lang(lang) for lang in langs)
    for route in config.slack.routes:
        if route_matches(
            route,
            kind=kind,
            terms=wanted_terms,
            sources=source_ids,
            kinds=kinds,
            langs=lang_list,
            score=score,
            watched=watched,
        ):
            return route.channel
    return config.slack_channel


# --- team and platform ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlatformFit:
    """The platforms that fit an alert, best first, and why (one line a person reads)."""

    platforms: tuple[str, ...]
    reason: str


def _names(platforms: Sequence[str], joiner: str = "and") -> str:
    labels = [PLATFORM_LABELS.get(p, p) for p in platforms]
    if len(labels) <= 1:
        return "".join(labels)
    return f"{', '.join(labels[:-1])} {joiner} {labels[-1]}"


def _add(platforms: list[str], more: Iterable[str]) -> None:
    for platform in more:
        if platform not in platforms:
            platforms.append(platform)


def story_platforms(kinds: Sequence[str], *, hashtag: bool) -> PlatformFit:
    """Platforms for a trend or a listed trend, from the kinds of source it rose in."""
    platforms: list[str] = []
    reasons: list[str] = []
    homes = [HOME_PLATFORM[k] for k in kinds if k in HOME_PLATFORM]
    if homes:
        homes = list(dict.fromkeys(homes))
        _add(platforms, homes)
        reasons.append(f"the story rises on {_names(homes)}")
    if hashtag:
        _add(platforms, HASHTAG_AUDIENCE.platforms)
        reasons.append(f"a hashtag story: {HASHTAG_AUDIENCE.words}")
    for kind in kinds:
        audience = SOURCE_AUDIENCE.get(kind)
        if audience is None:
            continue
        _add(platforms, audience.platforms)
        reasons.append(f"{SOURCE_WORDS[kind]}: {audience.words}")
    return PlatformFit(tuple(platforms[:MAX_PLATFORMS]), "; ".join(reasons))


def call_platforms(kinds: Sequence[str], category: str | None) -> PlatformFit:
    """Platforms for an open call: where it was asked, and who answers its category."""
    what = CALL_WORDS.get(category or "", "an open call")
    platforms: list[str] = []
    reasons: list[str] = []
    homes = list(dict.fromkeys(HOME_PLATFORM[k] for k in kinds if k in HOME_PLATFORM))
    if homes:
        _add(platforms, homes)
        reasons.append(f"{what} on {_names(homes, 'or')}: answer where it was asked")
    audience = CALL_AUDIENCE.get(category or "")
    from_press = "rss" in kinds
    if audience is None and from_press:
        audience = TRADE_PRESS_CALL
    if audience is not None:
        _add(platforms, audience.platforms)
        origin = "from trade press" if from_press else ""
        head = f"{what} {origin}".strip() if not homes else "its audience"
        reasons.append(f"{head}: {audience.words}")
    return PlatformFit(tuple(platforms[:MAX_PLATFORMS]), "; ".join(reasons))


def _topic_matches(topic: str, terms: frozenset[str], text: str) -> bool:
    """A member's topic fits when it is one of the alert's terms, or its words occur in order."""
    wanted = normalize_term(topic)
    if not wanted:
        return False
    if wanted in terms:
        return True
    return bool(re.search(rf"(?<!\w){re.escape(wanted)}(?!\w)", text))


def _knows_topic(member: TeamMember, terms: frozenset[str], text: str) -> bool:
    return any(_topic_matches(topic, terms, text) for topic in member.topics)


def pick_people(
    team: Sequence[TeamMember], fit: PlatformFit, terms: frozenset[str], text: str
) -> tuple[list[tuple[TeamMember, str | None]], list[str]]:
    """At most two members with the platform each should post on, and notes for the reason.

    Members who know the topic come first, then members who cover the best platform (then the
    next ones). A member is paired with the first fitting platform they list; a member who knows
    the topic but covers none of them gets their own first platform, and a note saying so.
    """
    chosen: list[tuple[TeamMember, str | None]] = []
    notes: list[str] = []

    def take(member: TeamMember) -> None:
        if len(chosen) >= MAX_PEOPLE or any(m is member for m, _ in chosen):
            return
        platform = next((p for p in fit.platforms if p in member.platforms), None)
        if platform is None and member.platforms and fit.platforms:
            platform = member.platforms[0]
            notes.append(
                f"{member.name} knows the topic but covers "
                f"{_names(member.platforms, 'and')}, not {_names(fit.platforms, 'or')}"
            )
        elif platform is None and member.platforms:
            platform = member.platforms[0]
        chosen.append((member, platform))

    for member in team:
        if _knows_topic(member, terms, text):
            take(member)
    for platform in fit.platforms:
        for member in team:
            if platform in member.platforms:
                take(member)
    return chosen, notes


def handoff_for(
    config: Config,
    kind: str,
    terms: Iterable[str],
    sources: Iterable[str],
    category: str | None = None,
    text: str = "",
) -> Handoff | None:
    """Who should pick this alert up and where to post; None when feeds.yaml lists no team.

    `terms` are the alert's terms and watch terms (a call: topic words and watch terms),
    `sources` its source ids, `category` a call's category, `text` what the alert says (a
    trend's title, a call's title and text): it finds multi-word topics, and a title that
    starts with "#" marks a hashtag story.
    """
    if not config.team:
        return None
    kinds = source_kinds(config, sources)
    if kind == "opportunity":
        fit = call_platforms(kinds, category)
    else:
        fit = story_platforms(kinds, hashtag=text.lstrip().startswith("#"))
    term_set = frozenset(t for t in (normalize_term(term) for term in terms) if t)
    term_set |= frozenset(terms_of(text))
    chosen, notes = pick_people(config.team, fit, term_set, normalize(text))
    platforms = list(fit.platforms)
    # The first person's platform leads: the line reads "@Marloes · post on LinkedIn or X".
    for _member, platform in chosen:
        if platform is not None and platform not in platforms:
            platforms.append(platform)
    if chosen and chosen[0][1] is not None:
        platforms.remove(chosen[0][1])
        platforms.insert(0, chosen[0][1])
    others = [
        f"{member.name} covers {PLATFORM_LABELS.get(platform, platform)}"
        for member, platform in chosen[1:]
        if platform is not None and platform != platforms[0]
    ]
    reason = "; ".join(part for part in (fit.reason, *notes, *others) if part)
    if not chosen and not platforms:
        return None
    return Handoff(
        people=tuple((member.slack_id, member.name) for member, _ in chosen),
        platforms=tuple(platforms),
        reason=reason,
    )


# --- quiet hours ------------------------------------------------------------------------------

# Held alerts wait for a digest only when one comes soon after the quiet hours end; otherwise
# (or when that digest was missed, e.g. the bot was down) they go out on their own.
DIGEST_WAIT = timedelta(hours=3)
DIGEST_GRACE = timedelta(minutes=15)


def _clock(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def local_time(config: Config, now: datetime) -> datetime:
    """`now` in the team's time zone (`slack.timezone`)."""
    return now.astimezone(ZoneInfo(config.slack.timezone))


def in_quiet_window(quiet: QuietHours, local: datetime) -> bool:
    """Whether a local time lies in [start, end); a window like 22:00-07:00 crosses midnight."""
    start, end, at = _clock(quiet.start), _clock(quiet.end), local.time().replace(tzinfo=None)
    if start == end:
        return False  # an empty window, not a whole day
    if start < end:
        return start <= at < end
    return at >= start or at < end


def in_quiet_hours(config: Config, now: datetime) -> bool:
    quiet = config.slack.quiet_hours
    return quiet is not None and in_quiet_window(quiet, local_time(config, now))


def urgent_trend(config: Config, score: float) -> bool:
    """A trend rising very fast goes out even in quiet hours."""
    quiet = config.slack.quiet_hours
    return quiet is not None and score >= quiet.urgent_score


def urgent_call(config: Config, deadline: str | None, now: datetime) -> bool:
    """A call whose deadline (ISO date) is today or tomorrow, in the team's time zone.

    Tomorrow counts: a call held at 23:30 until an 08:30 digest would leave the team the morning
    only. A deadline that is not a date, or already past, is not urgent.
    """
    if not deadline:
        return False
    try:
        day = date.fromisoformat(deadline[:10])
    except ValueError:
        return False
    today = local_time(config, now).date()
    return 0 <= (day - today).days <= 1


def _last_quiet_end(quiet: QuietHours, local: datetime) -> datetime:
    """The latest moment at or before `local` when a quiet window ended."""
    end = datetime.combine(local.date(), _clock(quiet.end), tzinfo=local.tzinfo)
    return end if end <= local else end - timedelta(days=1)


def _next_slot(times: Sequence[str], after: datetime) -> datetime | None:
    """The first digest time at or after `after` (today or tomorrow, local)."""
    slots = [
        datetime.combine(after.date() + timedelta(days=days), _clock(t), tzinfo=after.tzinfo)
        for days in (0, 1)
        for t in times
    ]
    return min((slot for slot in slots if slot >= after), default=None)


def held_alerts_may_go(config: Config, now: datetime) -> bool:
    """Whether alerts held during quiet hours should now go out on their own.

    Not while it is quiet. Otherwise yes, unless a digest is configured that comes within
    `DIGEST_WAIT` of the quiet hours' end and is not yet `DIGEST_GRACE` overdue: that digest
    collects them. So a team with quiet hours and no digest (or only an evening one) gets the
    night's alerts when the quiet ends, and a missed digest never strands them.
    """
    quiet = config.slack.quiet_hours
    local = local_time(config, now)
    if quiet is None:
        return True
    if in_quiet_window(quiet, local):
        return False
    times = config.slack.digest.times
    if not times:
        return True
    ended = _last_quiet_end(quiet, local)
    slot = _next_slot(times, ended)
    if slot is None or slot - ended > DIGEST_WAIT:
        return True
    return local >= slot + DIGEST_GRACE


# --- one finding, all answers -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Placement:
    """Where an alert goes, who is asked to pick it up, and whether it waits for the digest."""

    channel: str
    handoff: Handoff | None
    held: bool

    @property
    def status(self) -> str:
        """The outbox status to add the alert with (held alerts stay out of the outbox)."""
        return "held" if self.held else "pending"


def hold_trend(config: Config, score: float, now: datetime) -> bool:
    """During quiet hours a trend waits, unless it rises very fast."""
    return in_quiet_hours(config, now) and not urgent_trend(config, score)


def place_trend(config: Config, trend: Trend, now: datetime) -> Placement:
    terms = (*trend.terms, *trend.watched)
    langs = source_langs(config, trend.sources)
    return Placement(
        channel=route_channel(
            config, "trend", terms, trend.sources, langs, trend.score, watched=bool(trend.watched)
        ),
        handoff=handoff_for(config, "trend", terms, trend.sources, text=trend.title),
        held=hold_trend(config, trend.score, now),
    )


def place_call(config: Config, call: Opportunity, now: datetime) -> Placement:
    terms = call_terms(call.topic, call.watched)
    sources = (call.source,)
    text = " ".join(part for part in (call.title, call.topic, call.text) if part)
    langs = source_langs(config, sources)
    return Placement(
        channel=route_channel(
            config, "opportunity", terms, sources, langs, call.score, watched=bool(call.watched)
        ),
        handoff=handoff_for(config, "opportunity", terms, sources, call.category, text),
        held=in_quiet_hours(config, now) and not urgent_call(config, call.deadline, now),
    )


def place_listed(config: Config, signal: ExternalTrend, watched: str, now: datetime) -> Placement:
    """A platform's own trend list: no urgency of its own, so it waits in quiet hours."""
    terms = (signal.term, watched)
    sources = (signal.source,)
    score = signal.traffic or 0.0
    langs = source_langs(config, sources)
    return Placement(
        channel=route_channel(config, "listed", terms, sources, langs, score, watched=True),
        handoff=handoff_for(config, "listed", terms, sources, text=signal.title),
        held=in_quiet_hours(config, now),
    )
