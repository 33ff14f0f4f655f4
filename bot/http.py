"""Shared HTTP helpers for every source adapter: one client shape, capped downloads, polite waits.

What it does: builds the `httpx.Client` all sources use (explicit timeouts, a descriptive
User-Agent, bounded redirects); downloads a response body while enforcing a size cap and an overall
deadline (`fetch_capped`), so one runaway or trickling server cannot exhaust memory or a worker
thread: gzip/deflate bodies are inflated here in bounded steps, so the cap holds for the decoded
bytes and for what is held while decoding (a gzip bomb is refused at the cap); parses a server's
`Retry-After` header; and computes deterministic exponential backoff.

What it does not do: decide what an HTTP status means for a source (each adapter does that and
turns every failure into a `FetchResult`), retry anything, add jitter (the scheduler spreads polls),
or read proxy settings itself (httpx honours the usual environment variables, which we keep).
"""

from __future__ import annotations

import email.utils
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from bot.netguard import ALLOW_TODO, BlockedAddressError, NetGuard, guard_connections

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


def make_client(
    timeout: float = DEFAULT_TIMEOUT, *, allow_private_hosts: Iterable[str] | None = None
) -> httpx.Client:
    """The client every source shares: explicit timeouts, our User-Agent, at most 5 redirects.

    With `allow_private_hosts` (feeds.yaml's list, possibly empty) the client carries the SSRF
    guard (bot/netguard.py): every request and redirect hop to a loopback, private, link-local or
    metadata address is refused unless its host is listed. The worker always passes it; without
    it (single-adapter tests, tools) the client is unguarded.

    Proxy environment variables stay honoured (trust_env defaults to True) because teams behind a
    corporate proxy need them; tests clear them instead.
    """
    guard = None if allow_private_hosts is None else NetGuard(allow_private_hosts)
    client = httpx.Client(
        timeout=httpx.Timeout(connect=timeout, read=timeout, write=timeout, pool=timeout),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        event_hooks={"request": [guard]} if guard is not None else None,
    )
    if guard is not None:
        guard_connections(client, guard)
    return client


def fetch_capped(
    client: httpx.Client,
    url: str,
    headers: dict[str, str] | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    total_timeout: float | None = DEFAULT_TOTAL_TIMEOUT,
) -> CappedResponse:
    """GET `url` and read its body, stopping as soon as it exceeds `max_bytes`.

    The cap applies to the decoded body (after gzip/deflate) and to every byte held while
    decoding: the body is read raw and inflated by `_CappedDecoder`, never by httpx, whose
    decoder inflates a whole network chunk at once (64 KiB of gzip can become 64 MiB, and
    `Content-Encoding: gzip, gzip` squares that). Raises `BodyTooLargeError`,
    `DeadlineExceededError`, `httpx.DecodingError` (a corrupt or unsupported compressed body), or
    any `httpx.HTTPError` / `httpx.InvalidURL`; callers turn those into error results. Non-2xx
    statuses are not errors here. The deadline is checked as each chunk arrives, so a server
    that goes silent is stopped by the client's read timeout instead.
    """
    started = time.monotonic()
    request_headers = dict(headers or {})
    # Only codings `_CappedDecoder` can inflate within the cap; httpx would also offer br/zstd
    # when their packages happen to be installed.
    request_headers["Accept-Encoding"] = ACCEPT_ENCODING
    with client.stream("GET", url, headers=request_headers) as response:
        final_url = str(response.url)
        declared = _content_length(response.headers)
        if declared is not None and declared > max_bytes:
            # Refuse before reading anything: the server told us it is too big.
            raise BodyTooLargeError(final_url, max_bytes, declared)
        decoder = _CappedDecoder(
            response.headers.get_list("content-encoding", split_commas=True),
            max_bytes,
            final_url,
        )
        for raw in response.iter_raw():
            decoder.feed(raw)
            if total_timeout is not None and time.monotonic() - started > total_timeout:
                raise DeadlineExceededError(final_url, total_timeout)
        return CappedResponse(
            status_code=response.status_code,
            headers=response.headers,
            content=decoder.finish(),
            url=final_url,
            request_headers=response.request.headers,
        )


ACCEPT_ENCODING = "gzip, deflate"
# Codings a server may use although we never offered them; they are refused by name.
_UNSUPPORTED_CODINGS = frozenset({"br", "zstd", "compress", "x-compress"})


class _Inflater:
    """One gzip or deflate layer whose output is limited on every call."""

    def __init__(self, coding: str) -> None:
        self.coding = coding
        # deflate means the zlib wrapper (RFC 9110); some servers send raw deflate instead, which
        # shows as an error on the first bytes, and then we switch once.
        self._raw_fallback = coding == "deflate"
        wbits = zlib.MAX_WBITS if coding == "deflate" else zlib.MAX_WBITS | 16
        self._zlib = zlib.decompressobj(wbits)
        self._started = False

    def inflate(self, data: bytes, budget: int) -> bytes:
        """Inflate `data` into at most `budget + 1` bytes (one more than allowed means: too big)."""
        try:
            out = self._decompress(data, budget)
        except zlib.error as exc:
            if not (self._raw_fallback and not self._started):
                raise _corrupt(self.coding, exc) from exc
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
            try:
                out = self._decompress(data, budget)
            except zlib.error as exc2:
                raise _corrupt(self.coding, exc2) from exc2
        self._started = True
        return out

    def _decompress(self, data: bytes, budget: int) -> bytes:
        if self._zlib.eof:
            return b""  # bytes after the end of the compressed stream are ignored, as httpx does
        # zlib stops producing at max_length and keeps the rest of the input as unconsumed_tail;
        # producing budget + 1 bytes already proves the body too big, so the tail is never needed.
        return self._zlib.decompress(data, budget + 1)

    def flush(self, budget: int) -> bytes:
        if self._zlib.eof:
            return b""
        try:
            return self._zlib.flush(budget + 1)
        except zlib.error as exc:  # pragma: no cover - flush only hands out buffered output
            raise _corrupt(self.coding, exc) from exc


def _corrupt(coding: str, exc: BaseException) -> httpx.DecodingError:
    return httpx.DecodingError(f"the {coding}-compressed body is corrupt ({exc})")


class _CappedDecoder:
    """Undo a response's Content-Encoding layers while no layer's output exceeds the cap.

    The raw body and each inflated layer are limited to `max_bytes`, so a compressed bomb costs
    at most about the cap per layer before it is refused.
    """

    def __init__(self, codings: list[str], max_bytes: int, url: str) -> None:
        self.max_bytes = max_bytes
        self.url = url
        self.layers: list[_Inflater] = []
        # Content-Encoding lists codings in the order they were applied; undo them in reverse.
        for coding in reversed([c.strip().lower() for c in codings]):
            if coding in ("gzip", "x-gzip", "deflate"):
                self.layers.append(_Inflater("gzip" if coding == "x-gzip" else coding))
            elif coding in _UNSUPPORTED_CODINGS:
                raise httpx.DecodingError(
                    f"the body is compressed with {coding!r}, which Inhaker does not decode"
                )
            # Anything else ("identity", or a charset a misconfigured server put here) is
            # treated as no coding at all, as browsers and httpx do.
        self.sizes = [0] * (len(self.layers) + 1)  # bytes produced so far: raw, then per layer
        self.body = bytearray()

    def feed(self, raw: bytes) -> None:
        self._through(raw, final=False)

    def finish(self) -> bytes:
        self._through(b"", final=True)
        return bytes(self.body)

    def _through(self, data: bytes, final: bool) -> None:
        self._count(0, len(data))
        for index, layer in enumerate(self.layers, start=1):
            data = layer.inflate(data, self._budget(index)) if data else b""
            self._count(index, len(data))
            if final:
                tail = layer.flush(self._budget(index))
                self._count(index, len(tail))
                data += tail
        self.body += data

    def _budget(self, index: int) -> int:
        return self.max_bytes - self.sizes[index]

    def _count(self, index: int, size: int) -> None:
        self.sizes[index] += size
        if self.sizes[index] > self.max_bytes:
            raise BodyTooLargeError(self.url, self.max_bytes)


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
    if isinstance(exc, BlockedAddressError):  # the SSRF guard (bot/netguard.py)
        return exc.cause, ALLOW_TODO
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out after {format_seconds(timeout)}", f"the host is slow or down; {retried}"
    if isinstance(exc, DeadlineExceededError):
        return str(exc), f"the host is sending very slowly; {retried}"
    if isinstance(exc, BodyTooLargeError):
        return str(exc), "check the URL points at an RSS/Atom feed and not a large file"
    if isinstance(exc, httpx.DecodingError):
        return (
            f"cannot decode the answer ({error_cause(exc)})",
            f"the server sent a broken or unusual compressed body; {retried}, "
            "and if it keeps failing ask the publisher to fix the feed",
        )
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
