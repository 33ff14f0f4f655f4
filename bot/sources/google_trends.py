"""Google Trends "trending now" RSS as a source of signals: what a country is searching for.

What it does: GETs `https://trends.google.com/trending/rss?geo=<geo>` (or the configured `url`)
with a conditional GET, parses the XML itself and turns every `<item>` into an `ExternalTrend`:
the title, its normalized term, the approximate traffic (`<ht:approx_traffic>` "2.000+",
"10K+", "1M+" → a number), when it started trending (`<pubDate>`, aware UTC), a link to the list,
and every `<ht:news_item>` as ("headline — source", url). feedparser keeps only one news item
per entry, which is why the XML is read here with the standard library.

Safety: the document is parsed with expat directly and any `<!DOCTYPE` (and with it every
entity declaration, external or internal: billion laughs, XXE) is refused before it is
processed; a trends list has no use for one. Malformed XML is a per-source error.

The `ht:` namespace: Google has moved it over the years (now `https://trends.google.com/trending/rss`,
before that `https://trends.google.com/trends/trendingsearches/daily`); elements are matched by
local name in any namespace, so the next move does not silently empty the list.

What it does not do: produce posts (a trends list is a signal, not something people wrote; the
news items it links to reach Inhaker through the news feeds themselves), query the unofficial
Trends JSON endpoints, or keep pictures and snippets.
"""

from __future__ import annotations

import email.utils
import logging
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit
from xml.etree.ElementTree import Element, TreeBuilder
from xml.parsers import expat

import httpx

from bot.config import SourceConfig
from bot.html_text import html_to_text, plain_text
from bot.http import (
    DEFAULT_MAX_BYTES,
    DEFAULT_TIMEOUT,
    TRANSPORT_ERRORS,
    CappedResponse,
    conditional_headers,
    fetch_capped,
    format_seconds,
    parse_retry_after,
    transport_failure,
)
from bot.sources.base import BUG_TODO, FetchResult, OwnsHttpClient, SourceState
from bot.sources.rss import FUTURE_TOLERANCE
from detectors.records import ExternalTrend
from detectors.text import normalize_term

log = logging.getLogger(__name__)

KIND = "google_trends"
DEFAULT_URL = "https://trends.google.com/trending/rss?geo={geo}"
HT_NAMESPACE = "https://trends.google.com/trending/rss"  # the current one; any is accepted
ACCEPT = "application/rss+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1"
# A trends list is a few dozen items; anything much bigger is not one.
MAX_BYTES = min(DEFAULT_MAX_BYTES, 5 * 1024 * 1024)
MAX_NEWS_PER_TREND = 20

_TRAFFIC = re.compile(
    r"^(?P<number>\d[\d.,\s]*?)\s*(?P<unit>mln|mio|mld|mrd|mil|k|m|b)?\s*\+?$", re.IGNORECASE
)
_UNITS = {
    "": 1.0,
    "k": 1e3,
    "mil": 1e3,  # "10 mil+" (Spanish/Portuguese locales: thousand)
    "m": 1e6,
    "mln": 1e6,
    "mio": 1e6,
    "b": 1e9,
    "mld": 1e9,
    "mrd": 1e9,
}


class UnsafeXMLError(ValueError):
    """The document declares a DTD or entities; refused before anything is expanded."""


class GoogleTrendsSource(OwnsHttpClient):
    """One `kind: google_trends` entry (one country). Thread-safe if the client is."""

    kind: str = KIND

    def __init__(
        self,
        config: SourceConfig,
        client: httpx.Client | None = None,
        *,
        watch_terms: tuple[str, ...] = (),  # every adapter takes them; the list needs none
        max_bytes: int = MAX_BYTES,
    ) -> None:
        self.id = config.id
        self.config = config
        self.geo = str(config.options.get("geo") or "").upper()
        template = config.url or DEFAULT_URL
        self.url = template.replace("{geo}", quote(self.geo))
        self.max_bytes = max_bytes
        self._use_client(client)

    # -----------------------------------------------------------------------------------------

    def fetch(self, state: SourceState, now: datetime) -> FetchResult:
        """Poll once. Never raises: errors are returned in `FetchResult.error`."""
        try:
            return self._fetch(state, now)
        except Exception as exc:
            log.exception("google_trends source %r: unexpected error", self.id)
            return self._failed(
                state,
                f"unexpected error ({type(exc).__name__}: {exc})",
                BUG_TODO,
            )

    def _fetch(self, state: SourceState, now: datetime) -> FetchResult:
        headers = conditional_headers(ACCEPT, state.etag, state.last_modified)
        try:
            response = fetch_capped(self._client, self.url, headers, self.max_bytes)
        except TRANSPORT_ERRORS as exc:
            return self._failed(state, *transport_failure(exc, self._timeout()))
        return self._handle(response, state, now)

    def _handle(self, response: CappedResponse, state: SourceState, now: datetime) -> FetchResult:
        status = response.status_code
        etag = response.headers.get("etag") or state.etag
        last_modified = response.headers.get("last-modified") or state.last_modified
        if status == 304:
            return FetchResult(
                not_modified=True, etag=etag, last_modified=last_modified, status=status
            )
        if not 200 <= status < 300:
            return self._status_error(response, state, now)
        try:
            signals = parse_trends(response.content, self.id, now)
        except UnsafeXMLError as exc:
            return self._failed(
                state,
                f"refused the document: {exc}",
                "a trends list never needs one; check the url points at Google Trends",
                status=status,
            )
        except (expat.ExpatError, ValueError) as exc:
            return self._failed(
                state,
                f"malformed XML ({exc})",
                "check the url points at the trending RSS; it will be retried with backoff",
                status=status,
            )
        return FetchResult(signals=signals, etag=etag, last_modified=last_modified, status=status)

    def _status_error(
        self, response: CappedResponse, state: SourceState, now: datetime
    ) -> FetchResult:
        status = response.status_code
        retry_after = (
            parse_retry_after(response.headers.get("retry-after"), now)
            if status in (429, 503)
            else None
        )
        if status == 429:
            cause = "rate limited (HTTP 429)"
        elif status in (401, 403):
            cause = f"access denied (HTTP {status})"
        elif status in (404, 410):
            cause = f"not found (HTTP {status})"
        elif status >= 500:
            cause = f"server error (HTTP {status})"
        else:
            cause = f"unexpected answer (HTTP {status})"
        if retry_after is not None:
            todo = f"Google asks to wait {format_seconds(retry_after)}; it will retry after that"
        elif status in (404, 410):
            todo = f"check geo ({self.geo or 'not set'}) and the url in feeds.yaml"
        elif status in (401, 403):
            todo = "Google refuses this host; check the url opens in a browser"
        else:
            todo = "it will be retried with backoff"
        return self._failed(state, cause, todo, status=status, retry_after=retry_after)

    def _failed(
        self,
        state: SourceState,
        cause: str,
        todo: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> FetchResult:
        # Keep the validators we had: a response we could not use must be downloaded again.
        return FetchResult(
            etag=state.etag,
            last_modified=state.last_modified,
            status=status,
            retry_after=retry_after,
            error=f"{KIND} source '{self.id}' ({self.url}): {cause} — {todo}",
        )

    def _timeout(self) -> float:
        timeout = self._client.timeout
        return timeout.read or timeout.connect or DEFAULT_TIMEOUT


# ---------------------------------------------------------------------------------------------
# Parsing (pure functions: bytes in, records out).


def parse_trends(content: bytes, source_id: str, now: datetime) -> list[ExternalTrend]:
    """Every `<item>` of a trending-now RSS document as an ExternalTrend.

    Raises `UnsafeXMLError` for a DTD or entity declaration, `expat.ExpatError` for malformed
    XML and `ValueError` when the document is not an RSS trends list.
    """
    root = safe_xml(content)
    if _local(root.tag) != "rss" or _child(root, "channel") is None:
        raise ValueError(f"not an RSS document (root element <{_local(root.tag)}>)")
    signals: list[ExternalTrend] = []
    seen: set[str] = set()
    for item in root.iter("item"):
        signal = _to_signal(item, source_id, now)
        if signal is None or signal.term in seen:
            continue  # the store keys a list entry by (source, term): keep the first
        seen.add(signal.term)
        signals.append(signal)
    return signals


def _to_signal(item: Element, source_id: str, now: datetime) -> ExternalTrend | None:
    title = plain_text(html_to_text(_text(_child(item, "title"))))
    term = normalize_term(title) if title else ""
    if not term:
        return None
    news: list[tuple[str, str | None]] = []
    for news_item in _children(item, "news_item"):
        headline = plain_text(html_to_text(_text(_child(news_item, "news_item_title"))))
        url = _text(_child(news_item, "news_item_url")).strip() or None
        publisher = plain_text(html_to_text(_text(_child(news_item, "news_item_source"))))
        if headline and publisher:
            headline = f"{headline} — {publisher}"
        headline = headline or publisher or (url or "")
        if headline:
            news.append((headline, url))
        if len(news) >= MAX_NEWS_PER_TREND:
            break
    return ExternalTrend(
        source=source_id,
        term=term,
        title=title,
        observed_at=_pub_date(_text(_child(item, "pubDate")), now),
        traffic=parse_traffic(_text(_child(item, "approx_traffic"))),
        url=_list_url(_text(_child(item, "link")).strip()),
        news=tuple(news),
    )


def parse_traffic(value: str | None) -> float | None:
    """Google's approximate traffic to a number: '200+' 200, '2.000+' / '2,000+' 2000,
    '10K+' 10000, '1,5K+' 1500, '1M+' 1000000. None when there is none or it is unreadable."""
    if not value:
        return None
    text = value.replace("\u00a0", " ").replace("\u202f", " ").strip()
    match = _TRAFFIC.match(text)
    if not match:
        return None
    digits = re.sub(r"\s", "", match.group("number"))
    unit = (match.group("unit") or "").lower()
    separators = [c for c in digits if c in ".,"]
    if not separators:
        number = float(digits)
    else:
        last = max(digits.rfind("."), digits.rfind(","))
        tail = digits[last + 1 :]
        if len(set(separators)) == 2:  # "1.234,5": the last separator is the decimal one
            number = float(re.sub(r"[.,]", "", digits[:last]) + "." + tail)
        elif len(separators) > 1 or len(tail) == 3:  # "2.000", "1,000,000": thousands groups
            number = float(re.sub(r"[.,]", "", digits))
        else:  # "1,5K", "2.5M": a decimal
            number = float(digits.replace(",", "."))
    return number * _UNITS[unit]


def _pub_date(value: str, now: datetime) -> datetime:
    """RFC 822 date to aware UTC; missing or unreadable dates are 'now', future ones too."""
    text = value.strip()
    if not text:
        return now
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return now
    if when is None:  # pragma: no cover - older Pythons
        return now
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return now if when > now + FUTURE_TOLERANCE else when


def _list_url(link: str) -> str | None:
    """The item's `<link>`; when that is the RSS document itself (it is, in today's feed), the
    human page of the same list instead, so "see the list" in Slack opens a page, not XML."""
    if not link:
        return None
    parts = urlsplit(link)
    if parts.netloc.endswith("trends.google.com") and parts.path.rstrip("/") == "/trending/rss":
        return urlunsplit(parts._replace(path="/trending"))
    return link


# ---------------------------------------------------------------------------------------------
# XML without DTDs.


def safe_xml(content: bytes) -> Element:
    """Parse bytes with expat into an ElementTree, refusing any DOCTYPE or entity declaration.

    Namespaced names become '{uri}local' as in ElementTree. Raises `UnsafeXMLError` or
    `expat.ExpatError`.
    """
    builder = TreeBuilder()
    parser = expat.ParserCreate(namespace_separator="}")

    def name(raw: str) -> str:
        return "{" + raw if "}" in raw else raw

    def refuse_doctype(doctype: str, *_: Any) -> None:
        raise UnsafeXMLError(f"it declares a DOCTYPE ({doctype or 'unnamed'}) — DTDs are not read")

    def refuse_entity(entity: str, *_: Any) -> None:
        raise UnsafeXMLError(f"it declares an entity ({entity}) — entities are not expanded")

    def refuse_external(*_: Any) -> int:
        raise UnsafeXMLError("it references an external entity — those are never fetched")

    parser.StartDoctypeDeclHandler = refuse_doctype
    parser.EntityDeclHandler = refuse_entity
    parser.UnparsedEntityDeclHandler = refuse_entity
    parser.ExternalEntityRefHandler = refuse_external
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartElementHandler = lambda tag, attrs: builder.start(
        name(tag), {name(k): v for k, v in attrs.items()}
    )
    parser.EndElementHandler = lambda tag: builder.end(name(tag))
    parser.CharacterDataHandler = builder.data
    parser.buffer_text = True
    parser.Parse(content, True)
    root = builder.close()
    return root


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _children(element: Element, local: str) -> list[Element]:
    return [child for child in element if _local(child.tag) == local]


def _child(element: Element, local: str) -> Element | None:
    for child in element:
        if _local(child.tag) == local:
            return child
    return None


def _text(element: Element | None) -> str:
    return "".join(element.itertext()) if element is not None else ""
