"""The `sources:` entries of feeds.yaml: one pydantic model per kind, chosen by `kind`.

What it does: declares, for every source kind, which keys it takes, their defaults and checks
(URLs are http(s) or ws(s), intervals at least 30 s, names well-formed), and `SourceEntry`, the
discriminated union `bot/config.py` validates each entry with. `options_of` turns a validated
entry into the plain kind-specific options a source adapter reads.

What it does not do: read secrets (a source names the environment variable holding its token in
`token_env`; the adapter reads it), or build adapters (bot/poller.py does).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: object) -> timedelta:
    """'30s', '10m', '2h', '1d', '1w' (or a number of seconds) to a timedelta."""
    if isinstance(value, bool):
        raise ValueError("must be a duration such as 30s, 10m, 2h or 1d")
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.match(value)):
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    else:
        raise ValueError("must be a duration such as 30s, 10m, 2h or 1d")
    if seconds <= 0:
        raise ValueError("must be a positive duration such as 30s, 10m, 2h or 1d")
    return timedelta(seconds=seconds)


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def _http_url(value: str) -> str:
    if not re.match(r"^https?://[^\s/]+", value):
        raise ValueError("must be an http(s) URL")
    return value.rstrip("/") if value.count("/") <= 3 else value


def _ws_url(value: str) -> str:
    if not re.match(r"^wss?://[^\s/]+", value):
        raise ValueError("must be a ws(s):// URL")
    return value


HttpUrl = Annotated[str, BeforeValidator(lambda v: _http_url(str(v)))]
WsUrl = Annotated[str, BeforeValidator(lambda v: _ws_url(str(v)))]
EnvName = Annotated[str, Field(pattern=r"^[A-Z_][A-Z0-9_]*$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class SourceBase(Strict):
    """Keys every source takes."""

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]
    interval: Duration = timedelta(minutes=10)
    enabled: bool = True
    name: str | None = None
    lang: str | None = None

    @field_validator("interval")
    @classmethod
    def _sane_interval(cls, value: timedelta) -> timedelta:
        if value < timedelta(seconds=30):
            raise ValueError("must be at least 30s (be kind to the publisher)")
        return value


class RssSourceModel(SourceBase):
    kind: Literal["rss"]
    url: HttpUrl


class MastodonSourceModel(SourceBase):
    """Hashtag timelines, the public or local timeline, and the instance's trends."""

    kind: Literal["mastodon"]
    instance: HttpUrl  # https://mastodon.social
    hashtags: list[Annotated[str, Field(pattern=r"^#?\w{1,100}$")]] = []
    timeline: Literal["public", "local", "none"] = "none"
    trends: bool = True
    token_env: EnvName | None = None  # name of the variable holding an access token
    limit: Annotated[int, Field(ge=1, le=40)] = 40

    @model_validator(mode="after")
    def _reads_something(self) -> MastodonSourceModel:
        if not self.hashtags and self.timeline == "none" and not self.trends:
            raise ValueError(
                "reads nothing: add hashtags, set timeline: public or local, or set trends: true"
            )
        return self


DEFAULT_JETSTREAM_ENDPOINTS = [
    "wss://jetstream1.us-east.bsky.network/subscribe",
    "wss://jetstream2.us-east.bsky.network/subscribe",
    "wss://jetstream1.us-west.bsky.network/subscribe",
    "wss://jetstream2.us-west.bsky.network/subscribe",
]


class BlueskyJetstreamSourceModel(SourceBase):
    """The Bluesky firehose through Jetstream: a long-lived stream of posts."""

    kind: Literal["bluesky_jetstream"]
    endpoints: Annotated[list[WsUrl], Field(min_length=1)] = DEFAULT_JETSTREAM_ENDPOINTS
    langs: list[str] = []  # keep posts in these languages (empty: every language)
    keep: Literal["matching", "all"] = "matching"  # matching: only posts with a watch term
    rewind: Duration = timedelta(seconds=5)  # resume this far before the saved cursor
    max_read: Duration = timedelta(seconds=10)  # how long `run --once` reads the stream


class BlueskyTrendsSourceModel(SourceBase):
    kind: Literal["bluesky_trends"]
    base_url: HttpUrl = "https://public.api.bsky.app"
    limit: Annotated[int, Field(ge=1, le=25)] = 10


class RedditSourceModel(SourceBase):
    kind: Literal["reddit"]
    subreddits: Annotated[list[Annotated[str, Field(pattern=r"^\w{2,50}$")]], Field(min_length=1)]
    listing: Literal["new", "hot", "rising", "top"] = "new"
    base_url: HttpUrl = "https://www.reddit.com"


class HackerNewsSourceModel(SourceBase):
    kind: Literal["hackernews"]
    lists: list[Literal["top", "new", "best"]] = ["top"]
    max_items: Annotated[int, Field(ge=1, le=500)] = 30
    search_watch_terms: bool = True  # Algolia search_by_date for feeds.yaml watch terms
    base_url: HttpUrl = "https://hacker-news.firebaseio.com/v0"
    algolia_url: HttpUrl = "https://hn.algolia.com/api/v1"


class GoogleTrendsSourceModel(SourceBase):
    kind: Literal["google_trends"]
    geo: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
    url: HttpUrl | None = None  # default https://trends.google.com/trending/rss?geo=<geo>


class XSearchSourceModel(SourceBase):
    kind: Literal["x_search"]
    query: Annotated[str, Field(min_length=1, max_length=512)]
    token_env: EnvName = "X_BEARER_TOKEN"
    daily_budget: Annotated[int, Field(ge=1)] = 500  # posts read per UTC day, at most
    max_results: Annotated[int, Field(ge=10, le=100)] = 100
    base_url: HttpUrl = "https://api.x.com/2"


SOURCE_MODELS: tuple[type[SourceBase], ...] = (
    RssSourceModel,
    MastodonSourceModel,
    BlueskyJetstreamSourceModel,
    BlueskyTrendsSourceModel,
    RedditSourceModel,
    HackerNewsSourceModel,
    GoogleTrendsSourceModel,
    XSearchSourceModel,
)
SOURCE_KINDS: tuple[str, ...] = tuple(
    str(model.model_fields["kind"].annotation.__args__[0])  # type: ignore[union-attr]
    for model in SOURCE_MODELS
)

SourceEntry = Annotated[
    RssSourceModel
    | MastodonSourceModel
    | BlueskyJetstreamSourceModel
    | BlueskyTrendsSourceModel
    | RedditSourceModel
    | HackerNewsSourceModel
    | GoogleTrendsSourceModel
    | XSearchSourceModel,
    Field(discriminator="kind"),
]

_COMMON = frozenset(SourceBase.model_fields) | {"kind", "url"}


def options_of(entry: SourceBase) -> dict[str, Any]:
    """The kind-specific keys of a validated entry (lists as tuples, so they stay frozen)."""
    return {
        key: tuple(value) if isinstance(value, list) else value
        for key, value in entry.model_dump().items()
        if key not in _COMMON
    }
