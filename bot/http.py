"""Shared HTTP helpers for every source adapter: one client shape, capped downloads, polite waits.

What it does: builds the `httpx.Client` all sources use (explicit timeouts, a descriptive
User-Agent, bounded redirects); downloads a response body while enforcing a size cap and an overall
deadline (`fetch_capped`), so one runaway or trickling server cannot exhaust memory or a worker
thread; parses a server's `Retry-After` header; and computes deterministic exponential backoff.

What it does not do: decide what an HTTP status means for a source (each adapter does that and
turns every failure into a `FetchResult`), retry anything, add jitter (the scheduler spreads polls),
or read proxy settings itself (httpx honours the usual environment variables, which we keep).
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

USER_AGENT = "Inhaker/0.1 (+https://github.com/inhaker/inhaker; newsjacking alert bot)"
DEFAULT_TIMEOUT = 15.0
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
# A read timeout bounds the wait for each chunk, not the whole body; a server that drips one byte
# every few seconds would otherwise hold a worker thread forever.
DEFAULT_TOTAL_TIMEOUT = 120.0
MAX_REDIRECTS = 5
BACKOFF_CAP_SECONDS = 6 * 3600.0
# A Retry-After of days is almost always a misconfigured server; waiting that long would silently
# disable a source, so we wait at most this and let the next answer ask again.
MAX_RETRY_AFTER_SECONDS = 24 * 3600.0


class BodyTooLargeError(Exception):
    """The response body is larger than the cap the caller allowed."""

    def __init__(self, url: str, limit: int, declared: int | None = None) -> None:
        self.url = url
        self.limit = limit
        self.declared = declared
        size = f"{declared:,} bytes declared" if declared is not None else "more than that"
        super().__init__(f"response body exceeds {format_bytes(limit)} ({size})")


class DeadlineExceededError(Exception):
    """The whole download took longer than the overall deadline (a trickling server)."""

    def __init__(self, url: str, seconds: float) -> None:
        self.url = url
        self.seconds = seconds
        super().__init__(f"download took longer than {format_seconds(seconds)} in total")


@dataclass(frozen=True, slots=True)
class CappedResponse:
    """A fully read response whose body is known to be at most the cap."""

    status_code: int
    headers: httpx.Headers
    content: bytes
    url: str  # the final URL, after redirects
    request_headers: httpx.Headers


def format_bytes(count: int) -> str:
    """10485760 -> '10 MiB', 1536 -> '1.5 KiB', 12 -> '12 bytes' (for messages people read)."""
    if count < 1024:
        return f"{count} bytes"
    if count < 1024 * 1024:
        return f"{round(count / 1024, 1):g} KiB"
    return f"{round(count / (1024 * 1024), 1):g} MiB"


def format_seconds(seconds: float) -> str:
    """15.0 -> '15s', 0.5 -> '0.5s'."""
    return f"{seconds:g}s"


def make_client(timeout: float = DEFAULT_TIMEOUT) -> httpx.Client:
    """The client every source shares: explicit timeouts, our User-Agent, at most 5 redirects.

    Proxy environment variables stay honoured (trust_env defaults to True) because teams behind a
    corporate proxy need them; tests clear them instead.
    """
    return httpx.Client(
        timeout=httpx.Timeout(connect=timeout, read=timeout, write=timeout, pool=timeout),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
    )


def fetch_capped(
    client: httpx.Client,
    url: str,
    headers: dict[str, str] | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    total_timeout: float | None = DEFAULT_TOTAL_TIMEOUT,
) -> CappedResponse:
    """GET `url` and read its body, stopping as soon as it exceeds `max_bytes`.

    The cap applies to the decoded body (after gzip/deflate), so a small compressed bomb is caught
    too. Raises `BodyTooLargeError`, `DeadlineExceededError`, or any `httpx.HTTPError` /
    `httpx.InvalidURL`; callers turn those into error results. Non-2xx statuses are not errors here.
    """
    started = time.monotonic()
    with client.stream("GET", url, headers=headers) as response:
        declared = _content_length(response.headers)
        if declared is not None and declared > max_bytes:
            # Refuse before reading anything: the server told us it is too big.
            raise BodyTooLargeError(str(response.url), max_bytes, declared)
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > max_bytes:
                raise BodyTooLargeError(str(response.url), max_bytes)
            chunks.append(chunk)
            if total_timeout is not None and time.monotonic() - started > total_timeout:
                raise DeadlineExceededError(str(response.url), total_timeout)
        return CappedResponse(
            status_code=response.status_code,
            headers=response.headers,
            content=b"".join(chunks),
            url=str(response.url),
            request_headers=response.request.headers,
        )


def _content_length(headers: httpx.Headers) -> int | None:
    value = headers.get("content-length")
    if value is None:
        return None
    try:
        length = int(value.strip())
    except ValueError:
        return None
    return length if length >= 0 else None


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP-date; None if unusable.

    A date in the past gives 0. The result is capped at `MAX_RETRY_AFTER_SECONDS`. `now` must be
    timezone-aware; it is the moment the answer arrived.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if text.isdigit():
        return min(float(text), MAX_RETRY_AFTER_SECONDS)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:  # older Pythons returned None instead of raising
        return None  # pragma: no cover
    if when.tzinfo is None:
        # RFC 9110 HTTP-dates are always GMT; "-0000" parses as naive.
        when = when.replace(tzinfo=UTC)
    seconds = (when - now).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


def backoff_seconds(failures_in_a_row: int, base: float, cap: float = BACKOFF_CAP_SECONDS) -> float:
    """How long to wait before the next poll after `failures_in_a_row` failures.

    `base * 2 ** (n - 1)`, capped at `cap` (6 hours by default); with no failures it is `base`.
    A base interval longer than the cap is never shortened. Deterministic: jitter is the
    scheduler's job.
    """
    if base <= 0:
        return 0.0
    ceiling = max(cap, base)
    if failures_in_a_row <= 1:
        return min(base, ceiling)
    # Clamp the exponent so a very long outage cannot overflow a float.
    exponent = min(failures_in_a_row - 1, 64)
    return min(base * 2.0**exponent, ceiling)


def conditional_headers(
    accept: str, etag: str | None = None, last_modified: str | None = None
) -> dict[str, str]:
    """Request headers for a conditional GET: a 304 then costs the publisher almost nothing."""
    headers = {"Accept": accept}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


def error_cause(exc: BaseException) -> str:
    """An exception's own words, or its type when it has none."""
    return str(exc).strip() or type(exc).__name__


# What a download can fail with before any answer is read.
TRANSPORT_ERRORS = (httpx.HTTPError, httpx.InvalidURL, DeadlineExceededError, BodyTooLargeError)


def transport_failure(exc: BaseException, timeout: float) -> tuple[str, str]:
    """(cause, what to do) for a feed download that failed before an answer came."""
    retried = "it will be retried with backoff"
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out after {format_seconds(timeout)}", f"the host is slow or down; {retried}"
    if isinstance(exc, DeadlineExceededError):
        return str(exc), f"the host is sending very slowly; {retried}"
    if isinstance(exc, BodyTooLargeError):
        return str(exc), "check the URL points at an RSS/Atom feed and not a large file"
    if isinstance(exc, httpx.TooManyRedirects):
        return (
            "too many redirects (a loop, or more than 5)",
            "open the URL in a browser and put the final address in feeds.yaml",
        )
    if isinstance(exc, httpx.ConnectError):
        return (
            f"cannot connect ({error_cause(exc)})",
            f"check the host name in the URL and that the site is up; {retried}",
        )
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return f"invalid URL ({error_cause(exc)})", "fix the source's url in feeds.yaml"
    return f"HTTP error ({type(exc).__name__}: {error_cause(exc)})", retried
