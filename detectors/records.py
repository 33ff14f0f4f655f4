"""Plain records shared by detectors and the bot: posts in, findings out.

What it does: defines frozen, slotted dataclasses for one normalized post (`Post`) and the two
kinds of finding (`Trend`, `Opportunity`). Findings carry their evidence (post ids), the numbers
that made them fire, and a stable `key` so alerts can be explained, updated and deduplicated.

What it does not do: validate input (that happens at the edges, in bot/), read clocks or touch I/O.
All datetimes are timezone-aware UTC; constructors reject naive datetimes so a bug shows early.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta


def _require_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() != timedelta(0):
        raise ValueError(f"{name} must be timezone-aware UTC (got {value!r})")


@dataclass(frozen=True, slots=True)
class Post:
    """One item from any source, normalized. `created_at` is aware UTC."""

    source: str  # source id from feeds.yaml
    id: str  # stable within the source (status id, at-uri, guid, link hash)
    text: str  # plain text, HTML removed
    created_at: datetime
    author: str | None = None
    url: str | None = None
    title: str | None = None
    lang: str | None = None
    tags: tuple[str, ...] = ()
    reach: float | None = None  # followers / engagement where the source gives it

    def __post_init__(self) -> None:
        _require_aware("Post.created_at", self.created_at)

    @property
    def full_text(self) -> str:
        """Title and body together, as detectors read them (a feed item's title is its news)."""
        if self.title and self.title not in self.text:
            return f"{self.title}\n{self.text}" if self.text else self.title
        return self.text


@dataclass(frozen=True, slots=True)
class Trend:
    """A term (or a group of co-rising terms) whose rate rose well above its own baseline.

    `key` is stable for the topic (its lead term), so a later, bigger version of the same rise
    updates the first alert instead of making a second one.
    """

    key: str
    title: str  # what a person reads: "#twelftal" or "werkplek"
    terms: tuple[str, ...]  # normalized terms, lead term first
    detected_at: datetime
    score: float  # how far above its baseline (a z-like score); higher is stronger
    count: int  # posts in the current window
    baseline_rate: float  # expected posts per current window, from the term's own history
    ratio: float  # (count + 1) / (baseline_rate + 1)
    authors: int  # distinct authors in the current window
    sources: tuple[str, ...]  # distinct source ids in the current window
    evidence: tuple[str, ...]  # post ids behind the finding, newest first, at most 100
    sparkline: tuple[int, ...] = ()  # posts per bucket over the recent history, oldest first
    watched: tuple[str, ...] = ()  # watch terms from feeds.yaml that this trend matches
    corroborated_by: tuple[str, ...] = ()  # external trend lists that also show it (source ids)
    stage: str = ""  # lifecycle: emerging | rising | peaking | fading ("" from detector v1)
    label: str = ""  # the topic's top terms, "a · b · c"
    representative: str | None = None  # id of the post most typical of the topic
    surprise: float = 0.0  # -log10 of the Poisson tail probability of the count
    fit: float = 0.0  # 0..1, how well it matches the team's profile (detectors/relevance.py)
    fit_reasons: tuple[str, ...] = ()  # why it fits: watch terms, words shared with the profile
    taste: float = 1.0  # the team's feedback as a multiplier of `score` (1.0: no effect)
    taste_reasons: tuple[str, ...] = ()  # which clicks moved it (detectors/taste.py)

    def __post_init__(self) -> None:
        _require_aware("Trend.detected_at", self.detected_at)


@dataclass(frozen=True, slots=True)
class OpportunityVerdict:
    """What the opportunity scorer says about one post, whatever the answer."""

    opportunity: bool
    score: float  # 0..1
    category: str | None = None  # "submission", "journalist_request", "speakers", ...
    deadline: str | None = None  # ISO date (YYYY-MM-DD) when one is stated
    asker: str | None = None
    reasons: tuple[str, ...] = ()  # the rules or cues that fired, for "why"
    response: str | None = None  # email | link | form | dm | phone | hashtag | reply
    response_value: str | None = None  # the address, URL, number or hashtag as written
    topic: str | None = None  # what the call is about, a few words


@dataclass(frozen=True, slots=True)
class Opportunity:
    """A post that is an open invitation: a call for submissions, sources, speakers, entries."""

    key: str  # "opportunity:<source>:<post id>"
    post_id: str
    source: str
    detected_at: datetime
    score: float
    category: str | None
    deadline: str | None
    asker: str | None
    text: str
    url: str | None = None
    title: str | None = None
    author: str | None = None
    reasons: tuple[str, ...] = ()
    watched: tuple[str, ...] = field(default=())
    response: str | None = None  # how to answer: email | link | form | dm | phone | hashtag | reply
    response_value: str | None = None
    topic: str | None = None
    fit: float = 0.0  # 0..1, how well it matches the team's profile (bot/relevance.py)
    fit_reasons: tuple[str, ...] = ()  # why it fits: watch terms, profile words
    rank: float = 0.0  # fit, freshness, time left and reach together; higher first
    reach: float | None = None  # followers or engagement of the post, where the source gives it
    taste: float = 1.0  # the team's feedback, already multiplied into `rank` (1.0: no effect)
    taste_reasons: tuple[str, ...] = ()  # which clicks moved it (detectors/taste.py)

    def __post_init__(self) -> None:
        _require_aware("Opportunity.detected_at", self.detected_at)


@dataclass(frozen=True, slots=True)
class ExternalTrend:
    """A topic a platform itself lists as trending now (Google Trends, Mastodon, Bluesky).

    Not a post: a signal. A rise in Inhaker's own stream that also appears on such a list is
    corroborated; a listed trend that matches a watch term is worth an alert on its own.
    """

    source: str  # source id from feeds.yaml
    term: str  # normalized: lowercase, no leading '#', words separated by single spaces
    title: str  # as the platform lists it ("#Twelftal", "Nederland - Spanje")
    observed_at: datetime
    traffic: float | None = None  # approximate searches, uses or posts, where the list says
    url: str | None = None
    news: tuple[tuple[str, str | None], ...] = ()  # (headline, url) the list links to it

    def __post_init__(self) -> None:
        _require_aware("ExternalTrend.observed_at", self.observed_at)
