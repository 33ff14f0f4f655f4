"""Load and validate feeds.yaml into plain frozen records, reporting every problem with its line.

What it does: parses YAML keeping each node's line, rejects duplicate keys, validates with
pydantic (unknown keys are errors, with a "did you mean" hint), checks cross-field rules (unique
source ids), and converts the result into frozen dataclasses (`Config`) that the rest of the
program reads. Every problem comes back at once as
`feeds.yaml:14: sources[2].url: must be an http(s) URL (got 'ftp://x')`.

What it does not do: read secrets (a source names the environment variable that holds its token;
the source reads it), fetch anything, or watch the file for changes.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from bot.config_sources import SOURCE_KINDS, SOURCE_MODELS, Duration, SourceEntry, options_of
from bot.config_sources import parse_duration as parse_duration  # re-exported for callers
from detectors.signitrend import SignificanceParams
from detectors.trends import TrendParams

SOURCE_MODEL_BY_KIND = dict(zip(SOURCE_KINDS, SOURCE_MODELS, strict=True))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class WatchModel(_Strict):
    terms: list[str] = []
    exclude: list[str] = []


def _check_channel(value: str) -> str:
    if not (value.startswith("#") or re.match(r"^[CGD][A-Z0-9]{6,}$", value)):
        raise ValueError("must be a channel name starting with # or a channel id like C0123ABC")
    return value


def _check_clock(value: str) -> str:
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", value)
    if not match:
        raise ValueError("must be a time of day as HH:MM, such as 08:30")
    return f"{int(match.group(1)):02d}:{match.group(2)}"


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"unknown time zone {value!r}: use an IANA name such as Europe/Amsterdam or UTC"
        ) from exc
    return value


def _check_member_id(value: str) -> str:
    if not re.fullmatch(r"[UW][A-Z0-9]{2,}", value):
        raise ValueError(
            "must be a Slack member id such as U0123ABCD (in Slack: the person's profile, "
            "⋮, Copy member ID)"
        )
    return value


Channel = Annotated[str, Field(min_length=2), AfterValidator(_check_channel)]
ClockTime = Annotated[str, AfterValidator(_check_clock)]
ALERT_KINDS = ("trend", "opportunity", "listed")
PLATFORMS = ("x", "linkedin", "instagram", "tiktok", "facebook", "bluesky", "mastodon")


class RouteModel(_Strict):
    """One routing rule: alerts that match every condition given go to `channel`."""

    channel: Channel
    kinds: list[Literal["trend", "opportunity", "listed"]] = []
    terms: list[Annotated[str, Field(min_length=1)]] = []
    sources: list[Annotated[str, Field(min_length=1)]] = []
    langs: list[Annotated[str, Field(min_length=2)]] = []
    watched: bool | None = None
    min_score: Annotated[float, Field(ge=0.0)] = 0.0


class QuietHoursModel(_Strict):
    start: ClockTime
    end: ClockTime
    urgent_score: Annotated[float, Field(ge=0.0)] = 10.0


class DigestModel(_Strict):
    times: list[ClockTime] = []
    channel: Channel | None = None
    top: Annotated[int, Field(ge=1, le=20)] = 5


class SlackModel(_Strict):
    channel: Channel = "#inhaker"
    timezone: Annotated[str, AfterValidator(_check_timezone)] = "UTC"
    routes: list[RouteModel] = []
    quiet_hours: QuietHoursModel | None = None
    digest: DigestModel = DigestModel()
    messages_per_second: Annotated[float, Field(gt=0.0, le=10.0)] = 1.0
    ops_channel: Channel | None = None


class TeamMemberModel(_Strict):
    name: Annotated[str, Field(min_length=1)]
    slack_id: Annotated[str, AfterValidator(_check_member_id)]
    platforms: list[
        Literal["x", "linkedin", "instagram", "tiktok", "facebook", "bluesky", "mastodon"]
    ] = []
    topics: list[Annotated[str, Field(min_length=1)]] = []


class FeedbackModel(_Strict):
    enabled: bool = True
    half_life: Duration = timedelta(days=60)
    max_effect: Annotated[float, Field(gt=1.0, le=10.0)] = 3.0


class DetectionModel(_Strict):
    detector: Literal["signitrend", "rising"] = "signitrend"
    bucket: Duration = timedelta(minutes=5)
    short_window: Duration = timedelta(minutes=10)
    window: Duration = timedelta(hours=1)
    baseline: Duration = timedelta(hours=24)
    half_life: Duration = timedelta(days=1)
    min_history: Duration = timedelta(hours=1)
    min_posts: Annotated[int, Field(ge=1)] = 5
    min_authors: Annotated[int, Field(ge=1)] = 5
    min_ratio: Annotated[float, Field(ge=1.0)] = 3.0
    min_score: Annotated[float, Field(ge=0.0)] = 3.5
    min_surprise: Annotated[float, Field(ge=0.0)] = 5.0
    surprise_keys: Annotated[int, Field(ge=1)] = 1000
    watch_min_posts: Annotated[int, Field(ge=1)] = 3
    pairs: bool = True
    seasonal: bool = True
    dedupe: bool = True
    table_bits: Annotated[int, Field(ge=12, le=24)] = 18

    @model_validator(mode="after")
    def _spans_fit(self) -> DetectionModel:
        if self.window < self.bucket or self.baseline < self.bucket:
            raise ValueError(
                f"window and baseline must each be at least one bucket long "
                f"(got bucket {self.bucket}, window {self.window}, baseline {self.baseline})"
            )
        if not self.bucket <= self.short_window <= self.window:
            raise ValueError(
                f"short_window must lie between bucket and window "
                f"(got bucket {self.bucket}, short_window {self.short_window}, "
                f"window {self.window})"
            )
        return self


class OpportunitiesModel(_Strict):
    enabled: bool = True
    scorer: Literal["model", "rules"] = "model"
    training_data: Annotated[str, Field(min_length=1)] | None = None
    min_score: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5
    max_age: Duration = timedelta(days=2)


class ProfileModel(_Strict):
    about: str = ""
    sources: list[Annotated[str, Field(min_length=1)]] = []


class AlertsModel(_Strict):
    cooldown: Duration = timedelta(hours=12)
    max_per_tick: Annotated[int, Field(ge=1)] = 10


class StoreModel(_Strict):
    retention: Duration = timedelta(days=7)


class ConfigModel(_Strict):
    sources: list[SourceEntry] = []
    watch: WatchModel = WatchModel()
    slack: SlackModel = SlackModel()
    detection: DetectionModel = DetectionModel()
    opportunities: OpportunitiesModel = OpportunitiesModel()
    profile: ProfileModel = ProfileModel()
    alerts: AlertsModel = AlertsModel()
    store: StoreModel = StoreModel()
    team: list[TeamMemberModel] = []
    feedback: FeedbackModel = FeedbackModel()
    allow_private_hosts: list[Annotated[str, Field(min_length=1)]] = []


# ---------------------------------------------------------------------------------------------
# The records the rest of the program reads.


@dataclass(frozen=True, slots=True)
class SourceConfig:
    """One source from feeds.yaml: the keys every kind has, plus its kind's own `options`."""

    id: str
    kind: str
    interval: timedelta
    url: str | None = None
    enabled: bool = True
    name: str | None = None
    lang: str | None = None
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def label(self) -> str:
        return self.name or self.id


@dataclass(frozen=True, slots=True)
class DetectionConfig:
    """feeds.yaml `detection:`: which detector runs and its thresholds.

    `signitrend` (the default) is detection v2 (detectors/stories.py); `rising` is v1
    (detectors/trends.py), kept to compare against. Keys one detector does not use are ignored
    by it: `baseline` is v1's history span; `short_window`, `half_life`, `min_surprise`,
    `surprise_keys`, `pairs`, `seasonal`, `dedupe` and `table_bits` are v2's. `min_score` is each
    detector's significance bar (v1: its Poisson-style score; v2: SigniTrend's z).
    """

    detector: str = "signitrend"
    bucket: timedelta = timedelta(minutes=5)
    short_window: timedelta = timedelta(minutes=10)
    window: timedelta = timedelta(hours=1)
    baseline: timedelta = timedelta(hours=24)
    half_life: timedelta = timedelta(days=1)
    min_history: timedelta = timedelta(hours=1)
    min_posts: int = 5
    min_authors: int = 5
    min_ratio: float = 3.0
    min_score: float = 3.5
    min_surprise: float = 5.0
    surprise_keys: int = 1000
    watch_min_posts: int = 3
    pairs: bool = True
    seasonal: bool = True
    dedupe: bool = True
    table_bits: int = 18

    def rising_params(self) -> TrendParams:
        return TrendParams(
            bucket=self.bucket,
            window=self.window,
            baseline=self.baseline,
            min_posts=self.min_posts,
            min_authors=self.min_authors,
            min_ratio=self.min_ratio,
            min_score=self.min_score,
            watch_min_posts=self.watch_min_posts,
            min_history=self.min_history,
        )

    def significance_params(self) -> SignificanceParams:
        return SignificanceParams(
            bucket=self.bucket,
            short_window=self.short_window,
            window=self.window,
            half_life=self.half_life,
            min_history=self.min_history,
            min_posts=self.min_posts,
            min_authors=self.min_authors,
            min_ratio=self.min_ratio,
            min_z=self.min_score,
            min_surprise=self.min_surprise,
            surprise_keys=self.surprise_keys,
            watch_min_posts=self.watch_min_posts,
            pairs=self.pairs,
            seasonal=self.seasonal,
            dedupe=self.dedupe,
            table_bits=self.table_bits,
            seasonal_bits=min(15, self.table_bits),
        )


@dataclass(frozen=True, slots=True)
class OpportunitiesConfig:
    """feeds.yaml `opportunities:`. `scorer` "model" is the learned classifier (v2), "rules" v1.

    `training_data` is a folder of labelled posts, already resolved against the folder of
    feeds.yaml; None means the dataset shipped in the checkout (data/opportunities).
    """

    enabled: bool = True
    scorer: str = "model"
    training_data: str | None = None
    min_score: float = 0.5
    max_age: timedelta = timedelta(days=2)


@dataclass(frozen=True, slots=True)
class ProfileConfig:
    """feeds.yaml `profile:`: what the team is about, for judging fit (bot/relevance.py)."""

    about: str = ""
    sources: tuple[str, ...] = ()  # ids of sources whose posts describe the team itself


@dataclass(frozen=True, slots=True)
class AlertsConfig:
    cooldown: timedelta = timedelta(hours=12)
    max_per_tick: int = 10


@dataclass(frozen=True, slots=True)
class Route:
    """feeds.yaml `slack.routes[]`: alerts matching every condition given go to `channel`.

    Empty conditions match everything. `sources` holds source ids or kinds; `terms` match an
    alert's terms (a trend's terms, a call's topic and watch terms); `watched` true takes only
    alerts on the watch list (any watch term, feeds.yaml's or Slack's), false only the others;
    `min_score` is compared with the alert's own score (a trend's significance, a call's
    probability).
    """

    channel: str
    kinds: tuple[str, ...] = ()
    terms: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    langs: tuple[str, ...] = ()
    min_score: float = 0.0
    watched: bool | None = None


@dataclass(frozen=True, slots=True)
class QuietHours:
    """feeds.yaml `slack.quiet_hours`: from `start` to `end` (HH:MM, in `slack.timezone`; may
    cross midnight) alerts wait for the next digest unless urgent: a call whose deadline is
    today, or a trend whose score is at least `urgent_score`."""

    start: str
    end: str
    urgent_score: float = 10.0


@dataclass(frozen=True, slots=True)
class DigestConfig:
    """feeds.yaml `slack.digest`: summaries at `times` (HH:MM in `slack.timezone`) to `channel`
    (default: `slack.channel`) with the `top` trends and open calls."""

    times: tuple[str, ...] = ()
    channel: str | None = None
    top: int = 5


@dataclass(frozen=True, slots=True)
class SlackConfig:
    """feeds.yaml `slack:` beyond the default channel (which stays `Config.slack_channel`)."""

    timezone: str = "UTC"
    routes: tuple[Route, ...] = ()
    quiet_hours: QuietHours | None = None
    digest: DigestConfig = field(default_factory=DigestConfig)
    messages_per_second: float = 1.0
    ops_channel: str | None = None  # where Inhaker reports its own problems (a bad feeds.yaml edit)


@dataclass(frozen=True, slots=True)
class TeamMember:
    """feeds.yaml `team[]`: who covers which platforms and topics, so alerts mention them."""

    name: str
    slack_id: str
    platforms: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FeedbackConfig:
    """feeds.yaml `feedback:`: how the team's button clicks re-rank alerts (bot/taste.py)."""

    enabled: bool = True
    half_life: timedelta = timedelta(days=60)
    max_effect: float = 3.0


@dataclass(frozen=True, slots=True)
class Config:
    sources: tuple[SourceConfig, ...] = ()
    watch_terms: tuple[str, ...] = ()
    exclude_terms: tuple[str, ...] = ()
    slack_channel: str = "#inhaker"
    slack: SlackConfig = field(default_factory=SlackConfig)
    team: tuple[TeamMember, ...] = ()
    feedback: FeedbackConfig = field(default_factory=FeedbackConfig)
    # Hosts (names or IP addresses) that sources may reach although they are loopback, private,
    # link-local or metadata addresses (bot/netguard.py); tests and local setups need 127.0.0.1.
    allow_private_hosts: tuple[str, ...] = ()
    detection: DetectionConfig = field(default_factory=DetectionConfig)
    opportunities: OpportunitiesConfig = field(default_factory=OpportunitiesConfig)
    profile: ProfileConfig = field(default_factory=ProfileConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    retention: timedelta = timedelta(days=7)
    path: str = "feeds.yaml"

    @property
    def enabled_sources(self) -> tuple[SourceConfig, ...]:
        return tuple(s for s in self.sources if s.enabled)


def _beside(config_path: str, relative: str | None) -> str | None:
    """A path from feeds.yaml, read relative to the folder feeds.yaml is in."""
    if relative is None:
        return None
    return str(Path(config_path).parent / Path(relative).expanduser())


def _to_config(model: ConfigModel, path: str) -> Config:
    return Config(
        sources=tuple(
            SourceConfig(
                id=s.id,
                kind=s.kind,
                url=getattr(s, "url", None),
                interval=s.interval,
                enabled=s.enabled,
                name=s.name,
                lang=s.lang,
                options=MappingProxyType(options_of(s)),
            )
            for s in model.sources
        ),
        watch_terms=tuple(model.watch.terms),
        exclude_terms=tuple(model.watch.exclude),
        slack_channel=model.slack.channel,
        slack=SlackConfig(
            timezone=model.slack.timezone,
            routes=tuple(
                Route(
                    channel=r.channel,
                    kinds=tuple(r.kinds),
                    terms=tuple(r.terms),
                    sources=tuple(r.sources),
                    langs=tuple(r.langs),
                    min_score=r.min_score,
                    watched=r.watched,
                )
                for r in model.slack.routes
            ),
            quiet_hours=(
                QuietHours(**model.slack.quiet_hours.model_dump())
                if model.slack.quiet_hours is not None
                else None
            ),
            digest=DigestConfig(
                times=tuple(sorted(set(model.slack.digest.times))),
                channel=model.slack.digest.channel,
                top=model.slack.digest.top,
            ),
            messages_per_second=model.slack.messages_per_second,
            ops_channel=model.slack.ops_channel,
        ),
        team=tuple(
            TeamMember(
                name=m.name,
                slack_id=m.slack_id,
                platforms=tuple(m.platforms),
                topics=tuple(m.topics),
            )
            for m in model.team
        ),
        feedback=FeedbackConfig(**model.feedback.model_dump()),
        allow_private_hosts=tuple(h.strip().lower() for h in model.allow_private_hosts),
        detection=DetectionConfig(**model.detection.model_dump()),
        opportunities=OpportunitiesConfig(
            **{
                **model.opportunities.model_dump(),
                "training_data": _beside(path, model.opportunities.training_data),
            }
        ),
        profile=ProfileConfig(
            about=model.profile.about.strip(), sources=tuple(model.profile.sources)
        ),
        alerts=AlertsConfig(**model.alerts.model_dump()),
        retention=model.store.retention,
        path=path,
    )


# ---------------------------------------------------------------------------------------------
# Errors with lines.


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{self.file}:{self.line}: {where}{self.message}"


class ConfigError(Exception):
    """feeds.yaml has one or more problems; `problems` lists each with file, line and key path."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def _format_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


class _Lines:
    """Line numbers (1-based) of every key and item in a YAML document, by location tuple."""

    def __init__(self) -> None:
        self.key_lines: dict[tuple[int | str, ...], int] = {}
        self.duplicates: list[tuple[tuple[int | str, ...], int]] = []

    def walk(self, node: yaml.Node, loc: tuple[int | str, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in node.value:
                key = str(key_node.value)
                child = (*loc, key)
                line = key_node.start_mark.line + 1
                if key in seen:
                    self.duplicates.append((child, line))
                seen.add(key)
                self.key_lines.setdefault(child, line)
                self.walk(value_node, child)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                child = (*loc, index)
                self.key_lines.setdefault(child, item.start_mark.line + 1)
                self.walk(item, child)

    def line_of(self, loc: tuple[int | str, ...]) -> int:
        while loc:
            if loc in self.key_lines:
                return self.key_lines[loc]
            loc = loc[:-1]
        return 1


def _known_fields(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """Field names valid at `loc`'s parent, for a "did you mean" hint on an unknown key."""
    if len(loc) >= 3 and loc[0] == "sources" and loc[2] in SOURCE_MODEL_BY_KIND:
        # A source entry: the keys of its own kind (loc is ("sources", i, kind, key, ...)).
        current: Any = SOURCE_MODEL_BY_KIND[str(loc[2])]
        parts = loc[3:-1]
    else:
        current = model
        parts = loc[:-1]
    for part in parts:
        if isinstance(part, int):
            continue
        info = current.model_fields.get(part) if hasattr(current, "model_fields") else None
        if info is None:
            return []
        annotation = info.annotation
        args = getattr(annotation, "__args__", ())
        candidates = [annotation, *args]
        current = next(
            (c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None
        )
        if current is None:
            return []
    return list(current.model_fields) if hasattr(current, "model_fields") else []


def _without_kind_tag(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """pydantic puts the chosen kind into a source's error location; people never wrote it."""
    if len(loc) >= 3 and loc[0] == "sources" and loc[2] in SOURCE_MODEL_BY_KIND:
        return (*loc[:2], *loc[3:])
    return loc


def _shorten(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _message_for(error: Any, loc: tuple[int | str, ...]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        known = _known_fields(ConfigModel, loc)
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else f"; known keys: {', '.join(known)}"
        return f"unknown key{hint}"
    if kind == "missing":
        return "is required"
    if kind == "union_tag_invalid":
        kinds = ", ".join(f"'{k}'" for k in SOURCE_KINDS)
        return f"must be one of {kinds} (got {_shorten(error.get('ctx', {}).get('tag'))})"
    if kind == "union_tag_not_found":
        kinds = ", ".join(SOURCE_KINDS)
        return f"is required: the source's kind, one of {kinds}"
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return f"must be one of {expected} (got {_shorten(error.get('input'))})"
    message = str(error["msg"])
    message = message.removeprefix("Value error, ")
    if kind == "string_pattern_mismatch" and loc[-1] == "id":
        message = "must be lowercase letters, digits, '.', '_' or '-' (at most 64)"
    return f"{message} (got {_shorten(error.get('input'))})"


def _problems_from_validation(
    exc: ValidationError, lines: _Lines, file: str
) -> list[ConfigProblem]:
    problems = []
    for error in exc.errors():
        raw = tuple(error["loc"])
        loc = _without_kind_tag(raw)
        if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
            loc = (*loc, "kind")  # the problem is the kind key, not the whole entry
        problems.append(
            ConfigProblem(file, lines.line_of(loc), _format_path(loc), _message_for(error, raw))
        )
    return problems


def parse_config(text: str, file: str = "feeds.yaml") -> Config:
    """Validate feeds.yaml text; raise ConfigError listing every problem with its line."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(
            [ConfigProblem(file, line, "", f"not valid YAML: {problem} — fix the syntax")]
        ) from None
    lines = _Lines()
    if node is not None:
        lines.walk(node, ())
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            [ConfigProblem(file, 1, "", "must be a mapping with keys such as sources, watch")]
        )
    problems = [
        ConfigProblem(file, line, _format_path(loc), "duplicate key; the later one would win")
        for loc, line in lines.duplicates
    ]
    model: ConfigModel | None = None
    try:
        model = ConfigModel.model_validate(data)
    except ValidationError as exc:
        problems.extend(_problems_from_validation(exc, lines, file))
    # Checked on the raw entries, so a duplicate id is reported even when other keys are wrong.
    raw_sources = data.get("sources")
    seen: dict[str, int] = {}
    for index, entry in enumerate(raw_sources if isinstance(raw_sources, list) else []):
        source_id = entry.get("id") if isinstance(entry, dict) else None
        if not isinstance(source_id, str):
            continue
        if source_id in seen:
            problems.append(
                ConfigProblem(
                    file,
                    lines.line_of(("sources", index, "id")),
                    f"sources[{index}].id",
                    f"duplicate source id (got {source_id!r}, "
                    f"also sources[{seen[source_id]}]) — ids must be unique",
                )
            )
        seen.setdefault(source_id, index)
    raw_profile = data.get("profile")
    profile_ids = raw_profile.get("sources") if isinstance(raw_profile, dict) else None
    for index, source_id in enumerate(profile_ids if isinstance(profile_ids, list) else []):
        if isinstance(source_id, str) and source_id not in seen:
            known = ", ".join(sorted(seen)) or "none"
            problems.append(
                ConfigProblem(
                    file,
                    lines.line_of(("profile", "sources", index)),
                    f"profile.sources[{index}]",
                    f"no source has the id {source_id!r} — use one of the ids under "
                    f"sources: ({known})",
                )
            )
    kinds = {
        entry.get("kind")
        for entry in (raw_sources if isinstance(raw_sources, list) else [])
        if isinstance(entry, dict) and isinstance(entry.get("kind"), str)
    }
    raw_slack = data.get("slack")
    raw_routes = raw_slack.get("routes") if isinstance(raw_slack, dict) else None
    for r_index, route in enumerate(raw_routes if isinstance(raw_routes, list) else []):
        wanted = route.get("sources") if isinstance(route, dict) else None
        for index, name in enumerate(wanted if isinstance(wanted, list) else []):
            if isinstance(name, str) and name not in seen and name not in kinds:
                known = ", ".join(sorted(seen)) or "none"
                problems.append(
                    ConfigProblem(
                        file,
                        lines.line_of(("slack", "routes", r_index, "sources", index)),
                        f"slack.routes[{r_index}].sources[{index}]",
                        f"no source has the id or kind {name!r} — use an id under sources: "
                        f"({known}) or a kind such as rss or mastodon",
                    )
                )
    if problems:
        problems.sort(key=lambda p: p.line)
        raise ConfigError(problems)
    assert model is not None
    return _to_config(model, file)


def load_config(path: str | Path) -> Config:
    """Read and validate a feeds.yaml file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            [
                ConfigProblem(
                    str(path), 1, "", "file not found — pass --config or set INHAKER_CONFIG"
                )
            ]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            [ConfigProblem(str(path), 1, "", f"cannot read: {exc} — check the file")]
        ) from None
    return parse_config(text, file=str(path))
