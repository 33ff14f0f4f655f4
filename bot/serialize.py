"""Records to and from JSON-ready dicts, for the store, the stream files and the alert outbox.

What it does: converts Post, Trend and Opportunity records to plain dicts (datetimes as ISO 8601
with "Z") and back, and reads one stream line (design.md section 5) into a Post with a clear
error naming the line and field when it is malformed.

What it does not do: file I/O (callers read lines and pass them in) or validation of meaning
beyond types and required fields.
"""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from datetime import UTC, datetime
from typing import Any

from detectors.records import ExternalTrend, Opportunity, Post, Trend


def iso(value: datetime) -> str:
    """Aware datetime to "2014-06-13T19:40:00Z" (seconds precision, UTC)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str) -> datetime:
    """ISO 8601 to aware UTC; a value without an offset is taken as UTC."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _plain(record: Any) -> dict[str, Any]:
    data = asdict(record)
    for key, value in data.items():
        if isinstance(value, datetime):
            data[key] = iso(value)
        elif isinstance(value, tuple):
            data[key] = list(value)
    return data


def trend_to_dict(trend: Trend) -> dict[str, Any]:
    return _plain(trend)


def opportunity_to_dict(opportunity: Opportunity) -> dict[str, Any]:
    return _plain(opportunity)


def external_trend_to_dict(signal: ExternalTrend) -> dict[str, Any]:
    data = _plain(signal)
    data["news"] = [list(item) for item in signal.news]
    return data


def external_trend_from_dict(data: dict[str, Any]) -> ExternalTrend:
    data = dict(data)
    data["news"] = [tuple(item) for item in data.get("news") or []]
    result: ExternalTrend = _revive(ExternalTrend, data, ("observed_at",))
    return result


def post_to_dict(post: Post) -> dict[str, Any]:
    return _plain(post)


def _revive(cls: type, data: dict[str, Any], time_fields: tuple[str, ...]) -> Any:
    known = {f.name for f in fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            continue
        if key in time_fields and isinstance(value, str):
            value = parse_time(value)
        elif isinstance(value, list):
            value = tuple(value)
        kwargs[key] = value
    return cls(**kwargs)


def trend_from_dict(data: dict[str, Any]) -> Trend:
    result: Trend = _revive(Trend, data, ("detected_at",))
    return result


def opportunity_from_dict(data: dict[str, Any]) -> Opportunity:
    result: Opportunity = _revive(Opportunity, data, ("detected_at",))
    return result


def post_from_dict(data: dict[str, Any]) -> Post:
    result: Post = _revive(Post, data, ("created_at",))
    return result


class StreamLineError(ValueError):
    """One line of a stream file is not a usable post."""


def post_from_stream_line(line: str, *, where: str, default_source: str = "stream") -> Post:
    """Parse one JSON line of a stream file (design.md section 5) into a Post.

    `where` names the place for errors, e.g. "day.jsonl:12".
    """
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise StreamLineError(
            f"{where}: not valid JSON ({exc.msg}) — one JSON object per line"
        ) from None
    if not isinstance(data, dict):
        raise StreamLineError(f"{where}: must be a JSON object with id, text and created_at")
    for key in ("id", "text", "created_at"):
        if data.get(key) in (None, ""):
            if key == "text" and data.get(key) == "":
                continue
            raise StreamLineError(f"{where}: {key} is required (got {data.get(key)!r})")
    try:
        created_at = parse_time(str(data["created_at"]))
    except ValueError:
        raise StreamLineError(
            f"{where}: created_at must be ISO 8601 such as 2014-06-12T14:01:00Z "
            f"(got {data['created_at']!r})"
        ) from None
    tags = data.get("tags") or ()
    reach = data.get("reach")
    return Post(
        source=str(data.get("source") or default_source),
        id=str(data["id"]),
        text=str(data.get("text") or ""),
        created_at=created_at,
        author=_opt_str(data.get("author")),
        url=_opt_str(data.get("url")),
        title=_opt_str(data.get("title")),
        lang=_opt_str(data.get("lang")),
        tags=tuple(str(t) for t in tags) if isinstance(tags, list) else (),
        reach=float(reach) if isinstance(reach, int | float) else None,
    )


def _opt_str(value: object) -> str | None:
    return None if value is None or value == "" else str(value)
