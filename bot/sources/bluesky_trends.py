"""Bluesky's own trending list as a source of signals (`app.bsky.unspecced.getTrends`).

What it does: one GET of `{base_url}/xrpc/app.bsky.unspecced.getTrends?limit=N` on the public
AppView per poll; each entry of `trends` (`topic`, `displayName`, `link`, `startedAt`,
`postCount`, `status`, `category`) becomes an `ExternalTrend`: title the display name (or the
topic), term its normalized form, traffic the post count, url `https://bsky.app` + link. The
AppView's `RateLimit-Remaining` / `RateLimit-Reset` headers are honoured (at 0 the poller is asked
to wait until the reset) and a 429 is an error with `retry_after`. Every failure is returned as
one line "bluesky_trends source '<id>': <what>: <cause> — <what to do>"; nothing is raised.

What it does not do: read posts (the Jetstream source does), log in (the public AppView needs no
account), or keep `startedAt`, `status` and `category` (ExternalTrend has no fields for them).
The endpoint is "unspecced": Bluesky may change or remove it, so an unknown answer is reported
as such rather than guessed at.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

from bot.config import SourceConfig
from bot.http import (
    DEFAULT_MAX_BYTES,
    MAX_RETRY_AFTER_SECONDS,
    BodyTooLargeError,
    CappedResponse,
    DeadlineExceededError,
    fetch_capped,
    format_seconds,
    parse_retry_after,
)
from bot.netguard import ALLOW_TODO, BlockedAddressError
from bot.sources.base import BUG_TODO, FetchResult, OwnsHttpClient, SourceState
from detectors.records import ExternalTrend
from detectors.text import normalize_term

log = logging.getLogger(__name__)

KIND = "bluesky_trends"
METHOD = "app.bsky.unspecced.getTrends"
DEFAULT_BASE_URL = "https://public.api.bsky.app"
WEB_APP = "https://bsky.app"
MAX_LIMIT = 25  # the lexicon's maximum


class BlueskyTrendsSource(OwnsHttpClient):
    """Bluesky's trending topics. Thread-safe as long as the shared httpx.Client is."""

    kind: str = KIND

    def __init__(
        self,
        config: SourceConfig,
        client: httpx.Client | None = None,
        *,
        watch_terms: tuple[str, ...] = (),  # every adapter takes them; a trend list needs none
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.id = config.id
        self.config = config
        options: Mapping[str, Any] = config.options
        base = options.get("base_url") or config.url or DEFAULT_BASE_URL
        self.base_url = str(base).strip().rstrip("/")
        self.limit = max(1, min(int(options.get("limit") or 10), MAX_LIMIT))
        self.max_bytes = max_bytes
        self._use_client(client)

    @property
    def url(self) -> str:
        return f"{self.base_url}/xrpc/{METHOD}?{urlencode({'limit': self.limit})}"

    # -----------------------------------------------------------------------------------------

    def fetch(self, state: SourceState, now: datetime) -> FetchResult:
        """Poll once. Never raises: errors are returned in `FetchResult.error`."""
        try:
            return self._fetch(now)
        except Exception as exc:
            log.exception("bluesky_trends source %r: unexpected error", self.id)
            return self._failed(
                f"unexpected error ({type(exc).__name__}: {exc})",
                BUG_TODO,
            )

    def _fetch(self, now: datetime) -> FetchResult:
        try:
            response = fetch_capped(
                self._client, self.url, {"Accept": "application/json"}, self.max_bytes
            )
        except httpx.TimeoutException:
            timeout = self._client.timeout.read
            after = f" after {format_seconds(timeout)}" if timeout else ""
            return self._failed(
                f"timed out{after}", "Bluesky is slow or down; it will be retried with backoff"
            )
        except DeadlineExceededError as exc:
            return self._failed(str(exc), "Bluesky is very slow; it will be retried with backoff")
        except BodyTooLargeError as exc:
            return self._failed(str(exc), "check base_url points at a Bluesky AppView")
        except httpx.TooManyRedirects:
            return self._failed("too many redirects", "check base_url in feeds.yaml")
        except BlockedAddressError as exc:  # the SSRF guard: same words as every source
            return self._failed(exc.cause, ALLOW_TODO)
        except httpx.ConnectError as exc:
            host = urlsplit(self.base_url).netloc or self.base_url
            return self._failed(
                f"cannot connect to {host} ({_cause(exc)})",
                "check base_url in feeds.yaml (default https://public.api.bsky.app) and the "
                "network; it will be retried with backoff",
            )
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            return self._failed(f"invalid URL ({_cause(exc)})", "fix base_url in feeds.yaml")
        except httpx.HTTPError as exc:
            return self._failed(
                f"HTTP error ({type(exc).__name__}: {_cause(exc)})",
                "it will be retried with backoff",
            )

        status = response.status_code
        if not 200 <= status < 300:
            return self._status_error(response, now)
        try:
            data = json.loads(response.content)
        except ValueError as exc:
            return self._failed(
                f"malformed JSON ({_json_cause(exc, response)})",
                "check base_url points at a Bluesky AppView; it will be retried with backoff",
                status=status,
            )
        trends = data.get("trends") if isinstance(data, dict) else None
        if not isinstance(trends, list):
            got = "an object without a 'trends' list" if isinstance(data, dict) else "no object"
            return self._failed(
                f"unexpected answer ({got}; {METHOD} is unspecced and may have changed)",
                "check base_url; if Bluesky changed the API, Inhaker needs an update",
                status=status,
            )

        signals: dict[str, ExternalTrend] = {}
        for entry in trends:
            signal = self._signal(entry, now) if isinstance(entry, dict) else None
            if signal is not None:
                signals.setdefault(signal.term, signal)
        if trends and not signals:
            log.warning("bluesky_trends source %r: %d trends, none usable", self.id, len(trends))

        retry_after = note = None
        if _int(response.headers.get("ratelimit-remaining")) == 0:
            retry_after = _reset_wait(response, now) or 60.0
            note = (
                f"{KIND} source '{self.id}': rate limit: used up (RateLimit-Remaining 0) — "
                f"waiting {format_seconds(round(retry_after))} until the reset"
            )
        return FetchResult(
            signals=list(signals.values()), status=status, retry_after=retry_after, note=note
        )

    def _signal(self, entry: Mapping[str, Any], now: datetime) -> ExternalTrend | None:
        topic = _str(entry.get("topic"))
        display = _str(entry.get("displayName"))
        title = display or topic
        if not title:
            return None
        term = normalize_term(topic or title)
        if not term:
            return None
        link = _str(entry.get("link"))
        if link and link.startswith("/"):
            url: str | None = WEB_APP + link
        elif link and link.startswith(("https://", "http://")):
            url = link
        else:
            url = None
        count = entry.get("postCount")
        traffic = (
            float(count)
            if isinstance(count, int | float) and not isinstance(count, bool) and count >= 0
            else None
        )
        return ExternalTrend(
            source=self.id, term=term, title=title, observed_at=now, traffic=traffic, url=url
        )

    def _status_error(self, response: CappedResponse, now: datetime) -> FetchResult:
        status = response.status_code
        error, message = _xrpc_error(response)
        said = ": ".join(part for part in (error, message) if part)
        said_part = f": {said}" if said else ""
        retry_after: float | None = None
        if status == 429 or status == 503:
            retry_after = parse_retry_after(response.headers.get("retry-after"), now)
            if retry_after is None and status == 429:
                retry_after = _reset_wait(response, now)
        if status == 429:
            cause = f"rate limited (HTTP 429{said_part})"
            todo = (
                f"Bluesky asks to wait {format_seconds(round(retry_after))}; it will retry after "
                "that"
                if retry_after is not None
                else "it will be retried with backoff"
            )
        elif status in (401, 403) or error in ("AuthMissing", "AuthRequired"):
            cause = f"requires login (HTTP {status}{said_part})"
            todo = (
                "use the public AppView: set base_url to https://public.api.bsky.app "
                "(or remove base_url)"
            )
        elif status in (404, 501) or error == "MethodNotImplemented":
            cause = f"{METHOD} is not offered here (HTTP {status}{said_part})"
            todo = (
                "check base_url points at a Bluesky AppView (https://public.api.bsky.app); "
                "the method is unspecced and may have been removed"
            )
        elif status == 400:
            cause = f"request refused (HTTP 400{said_part})"
            todo = "check limit (1 to 25) and base_url in feeds.yaml"
        elif status >= 500:
            cause = f"server error (HTTP {status}{said_part})"
            todo = (
                f"Bluesky asks to wait {format_seconds(round(retry_after))}; it will retry after "
                "that"
                if retry_after is not None
                else "it will be retried with backoff"
            )
        else:
            cause = f"unexpected answer (HTTP {status}{said_part})"
            todo = "check base_url in feeds.yaml; it will be retried with backoff"
        return self._failed(cause, todo, status=status, retry_after=retry_after)

    def _failed(
        self,
        cause: str,
        todo: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> FetchResult:
        return FetchResult(
            error=f"{KIND} source '{self.id}': {METHOD}: {cause} — {todo}",
            status=status,
            retry_after=retry_after,
        )


# ---------------------------------------------------------------------------------------------


def _xrpc_error(response: CappedResponse) -> tuple[str | None, str | None]:
    """XRPC errors are {"error": "Name", "message": "..."}; both shortened."""
    try:
        data = json.loads(response.content)
    except ValueError:
        return None, None
    if not isinstance(data, dict):
        return None, None

    def short(value: object) -> str | None:
        if not isinstance(value, str) or not value.strip():
            return None
        text = " ".join(value.split())
        return text if len(text) <= 160 else text[:157] + "..."

    return short(data.get("error")), short(data.get("message"))


def _reset_wait(response: CappedResponse, now: datetime) -> float | None:
    """Seconds until RateLimit-Reset (epoch seconds), at least 1, at most the shared cap.

    Measured on the server's clock (its Date header) when it sends one, so a skewed local clock
    neither hammers nor waits for nothing.
    """
    reset = _int(response.headers.get("ratelimit-reset"))
    if reset is None:
        return None
    try:
        when = datetime.fromtimestamp(reset, tz=UTC)
    except (OverflowError, ValueError, OSError):
        return None
    reference = now
    date = response.headers.get("date")
    if date:
        try:
            parsed = parsedate_to_datetime(date)
        except (TypeError, ValueError, IndexError, OverflowError):
            parsed = None
        if parsed is not None:
            reference = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return min(max((when - reference).total_seconds(), 1.0), MAX_RETRY_AFTER_SECONDS)


def _json_cause(exc: ValueError, response: CappedResponse) -> str:
    if not response.content.strip():
        return "the response is empty"
    content_type = response.headers.get("content-type", "").lower()
    head = response.content[:512].lstrip().lower()
    if content_type.startswith("text/html") or head.startswith((b"<!doctype", b"<html")):
        return "got an HTML page, not JSON"
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    return str(exc)


def _int(value: object) -> int | None:
    if isinstance(value, str):
        value = value.strip()
        return int(value) if value.isdigit() else None
    return None


def _str(value: object) -> str | None:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return None


def _cause(exc: BaseException) -> str:
    text = str(exc).strip()
    return text or type(exc).__name__
