"""Tests for the Google Trends trending-now source against a real local HTTP server.

tests/fixtures/google_trends/trending_nl.xml is written in the shape of
https://trends.google.com/trending/rss?geo=NL (RSS 2.0 with the `ht:` namespace
https://trends.google.com/trending/rss, several `<ht:news_item>` per item). Nothing is patched.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType

import httpx
import pytest

from bot.config import SourceConfig
from bot.http import make_client
from bot.poller import build_source, poll
from bot.sources.base import FetchResult, Source, SourceState
from bot.sources.google_trends import GoogleTrendsSource, parse_traffic, parse_trends
from bot.store import Store
from detectors.records import ExternalTrend
from tests.feed_server import FeedServer

FIXTURES = Path(__file__).parent / "fixtures" / "google_trends"
NOW = datetime(2025, 3, 2, 12, 0, tzinfo=UTC)
RSS = "application/rss+xml; charset=UTF-8"
PATH = "/trending/rss"


@pytest.fixture
def client(no_proxy_env: None) -> Iterator[httpx.Client]:
    with make_client(timeout=5.0) as client:
        yield client


def config(url: str | None, geo: str = "NL", source_id: str = "google-nl") -> SourceConfig:
    return SourceConfig(
        id=source_id,
        kind="google_trends",
        url=url,
        interval=timedelta(minutes=30),
        options=MappingProxyType({"geo": geo}),
    )


def make_source(server: FeedServer, client: httpx.Client, geo: str = "NL") -> GoogleTrendsSource:
    return GoogleTrendsSource(config(server.url(PATH + "?geo={geo}"), geo), client)


def serve_nl(server: FeedServer, **kw: object) -> None:
    server.serve_file(PATH, FIXTURES / "trending_nl.xml", content_type=RSS, **kw)  # type: ignore[arg-type]


def by_term(result: FetchResult) -> dict[str, ExternalTrend]:
    return {signal.term: signal for signal in result.signals}


def rss(*items: str, namespace: str = "https://trends.google.com/trending/rss") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><rss xmlns:ht="{namespace}" version="2.0">'
        "<channel><title>Daily Search Trends</title>" + "".join(items) + "</channel></rss>"
    ).encode()


# -- the contract -------------------------------------------------------------------------------


def test_satisfies_the_source_protocol_and_builds_the_default_url() -> None:
    with make_client() as client:
        source: Source = build_source(config(None, "BE", "google-be"), client)
    assert (source.id, source.kind) == ("google-be", "google_trends")
    assert isinstance(source, GoogleTrendsSource)
    assert source.url == "https://trends.google.com/trending/rss?geo=BE"


# -- approximate traffic ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("200+", 200.0),
        ("500+", 500.0),
        ("2.000+", 2_000.0),  # Dutch thousands separator
        ("2,000+", 2_000.0),  # English thousands separator
        ("20.000+", 20_000.0),
        ("200,000+", 200_000.0),
        ("2 000+", 2_000.0),
        ("2\u00a0000+", 2_000.0),  # a no-break space, as French and Swedish locales write it
        ("1.000.000+", 1_000_000.0),
        ("50000+", 50_000.0),
        ("10K+", 10_000.0),
        ("10k+", 10_000.0),
        ("1,5K+", 1_500.0),
        ("2.5K+", 2_500.0),
        ("1M+", 1_000_000.0),
        ("2,5 mln+", 2_500_000.0),
        ("1B+", 1_000_000_000.0),
        (" 100+ ", 100.0),
        ("100", 100.0),
        ("", None),
        (None, None),
        ("N/A", None),
        ("veel+", None),
    ],
)
def test_approximate_traffic_becomes_a_number(text: str | None, expected: float | None) -> None:
    assert parse_traffic(text) == expected


# -- happy path ---------------------------------------------------------------------------------


def test_every_item_becomes_a_signal_with_every_news_item(
    feed_server: FeedServer, client: httpx.Client
) -> None:
    serve_nl(feed_server)
    source = make_source(feed_server, client)

    result = source.fetch(SourceState(source.id), NOW)

    assert result.ok, result.error
    assert result.posts == []  # a trend list is signals only
    signals = by_term(result)
    assert list(signals) == [
        "ajax - az",
        "storing ns",
        "weerbericht sneeuw",
        "huurbevriezing",
        "max verstappen",
    ]
    ajax = signals["ajax - az"]
    assert ajax.source == "google-nl"
    assert ajax.title == "ajax - az"
    assert ajax.traffic == 20_000.0
    assert ajax.observed_at == datetime(2025, 3, 2, 11, 20, tzinfo=UTC)  # 03:20 -0800
    assert ajax.observed_at.tzinfo is UTC
    # The item's <link> is the RSS document itself: the list's human page is linked instead.
    assert ajax.url == "https://trends.google.com/trending?geo=NL"
    assert ajax.news == (
        (
            "Ajax wint topper van AZ en loopt verder uit in de Eredivisie — Voetbal International",
            "https://www.vi.nl/wedstrijden/ajax-az-2-march-2025",
        ),
        (
            "Ajax slaat gat met AZ na doelpunt in blessuretijd — NOS",
            "https://nos.nl/artikel/2558140-ajax-slaat-gat-met-az",
        ),
        (
            "Farioli na zege op AZ: 'Dit was onze beste helft' — AD.nl",  # escaped twice by Google
            "https://www.ad.nl/nederlands-voetbal/farioli-na-zege-op-az~a4f2c1/",
        ),
    )
    storing = signals["storing ns"]
    assert storing.traffic == 5_000.0
    assert [headline for headline, _ in storing.news] == [
        "Grote storing bij NS: geen treinen rond Utrecht Centraal — NU.nl",
        "Treinverkeer rond Utrecht ligt plat door seinstoring & kapotte bovenleiding — RTL Nieuws",
    ]
    assert signals["huurbevriezing"].title == "Huurbevriezing"  # term normalized, title as listed
    assert signals["max verstappen"].news == ()
    assert signals["max verstappen"].traffic == 200.0

    [request] = feed_server.requests
    assert request.path == "/trending/rss?geo=NL"


def test_signals_are_stored_through_poll_and_a_304_changes_nothing(
    database_url: str, feed_server: FeedServer, client: httpx.Client
) -> None:
    store = Store(database_url)
    serve_nl(feed_server, etag='"trends-nl-1"')
    cfg = config(feed_server.url(PATH + "?geo={geo}"))
    source = GoogleTrendsSource(cfg, client)

    first = poll(source, cfg, store, NOW)
    assert first.error is None
    stored = {s.term: s for s in store.external_trends_since(NOW - timedelta(hours=6))}
    assert set(stored) == {
        "ajax - az",
        "storing ns",
        "weerbericht sneeuw",
        "huurbevriezing",
        "max verstappen",
    }
    assert len(stored["ajax - az"].news) == 3
    assert stored["ajax - az"].news[1] == (
        "Ajax slaat gat met AZ na doelpunt in blessuretijd — NOS",
        "https://nos.nl/artikel/2558140-ajax-slaat-gat-met-az",
    )
    assert stored["storing ns"].traffic == 5_000.0
    assert stored["storing ns"].observed_at == datetime(2025, 3, 2, 10, 50, tzinfo=UTC)

    second = poll(source, cfg, store, NOW + timedelta(minutes=30))
    assert second.not_modified
    assert feed_server.requests[-1].headers["if-none-match"] == '"trends-nl-1"'
    assert len(store.external_trends_since(NOW - timedelta(hours=6))) == 5
    state = store.source_state("google-nl")
    assert (state.polls, state.failures_in_a_row, state.etag) == (2, 0, '"trends-nl-1"')


def test_conditional_get_with_last_modified(feed_server: FeedServer, client: httpx.Client) -> None:
    serve_nl(feed_server, last_modified="Sun, 02 Mar 2025 11:30:00 GMT")
    source = make_source(feed_server, client)
    first = source.fetch(SourceState(source.id), NOW)
    assert first.last_modified == "Sun, 02 Mar 2025 11:30:00 GMT"
    second = source.fetch(
        SourceState(source.id, last_modified=first.last_modified), NOW + timedelta(minutes=30)
    )
    assert second.ok
    assert second.not_modified
    assert second.signals == []
    assert second.status == 304


# -- refusing bad documents ---------------------------------------------------------------------


def test_malformed_xml_is_a_clear_error(feed_server: FeedServer, client: httpx.Client) -> None:
    body = (FIXTURES / "trending_nl.xml").read_bytes()[:1500]  # cut off mid-item
    feed_server.serve(PATH, body, content_type=RSS, etag='"half"')
    source = make_source(feed_server, client)

    result = source.fetch(SourceState(source.id, etag='"old"'), NOW)

    assert not result.ok
    assert result.error is not None
    assert result.error.startswith(
        f"google_trends source 'google-nl' ({feed_server.url(PATH)}?geo=NL): malformed XML ("
    )
    assert " — " in result.error
    assert result.etag == '"old"'  # the broken answer's validator is not kept


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<rss version="2.0"><channel><item><title>&lol3;</title></item></channel></rss>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><item><title>&secret;</title></item></channel></rss>"""

BARE_DOCTYPE = b"""<?xml version="1.0"?>
<!DOCTYPE rss SYSTEM "http://example.invalid/rss.dtd">
<rss version="2.0"><channel><item><title>x</title></item></channel></rss>"""


@pytest.mark.parametrize(
    "body",
    [
        BILLION_LAUGHS,
        EXTERNAL_ENTITY,
        BARE_DOCTYPE,
        # The same bomb in UTF-16: a byte search for "<!DOCTYPE" would miss it; expat does not.
        BILLION_LAUGHS.decode()
        .replace('version="1.0"', 'version="1.0" encoding="UTF-16"')
        .encode("utf-16"),
    ],
    ids=["billion-laughs", "external-entity", "bare-doctype", "utf16-bomb"],
)
def test_a_doctype_or_entity_declaration_is_refused(
    body: bytes, feed_server: FeedServer, client: httpx.Client
) -> None:
    feed_server.serve(PATH, body, content_type=RSS)
    source = make_source(feed_server, client)

    result = source.fetch(SourceState(source.id), NOW)

    assert not result.ok
    assert result.signals == []
    assert "refused the document: it declares a DOCTYPE (rss)" in (result.error or "")
    assert "a trends list never needs one" in (result.error or "")


def test_a_document_that_is_not_rss_is_an_error(
    feed_server: FeedServer, client: httpx.Client
) -> None:
    feed_server.serve(
        PATH, b"<html><body><p>Consent</p></body></html>", content_type="text/html; charset=utf-8"
    )
    source = make_source(feed_server, client)
    result = source.fetch(SourceState(source.id), NOW)
    assert not result.ok
    assert "not an RSS document (root element <html>)" in (result.error or "")


def test_429_gives_retry_after(feed_server: FeedServer, client: httpx.Client) -> None:
    feed_server.serve(
        PATH, b"", content_type="text/html", status=429, headers={"Retry-After": "300"}
    )
    source = make_source(feed_server, client)
    result = source.fetch(SourceState(source.id), NOW)
    assert not result.ok
    assert result.retry_after == 300.0
    assert "rate limited (HTTP 429)" in (result.error or "")


def test_an_unknown_geo_answering_404_names_the_geo(
    feed_server: FeedServer, client: httpx.Client
) -> None:
    source = make_source(feed_server, client, geo="XX")
    feed_server.remove(PATH)
    result = source.fetch(SourceState(source.id), NOW)
    assert not result.ok
    assert "not found (HTTP 404) — check geo (XX)" in (result.error or "")


# -- parsing details ----------------------------------------------------------------------------


def test_the_older_namespace_still_parses_and_odd_items_are_handled() -> None:
    signals = parse_trends(
        rss(
            "<item><title>Koningsdag</title><ht:approx_traffic>50K+</ht:approx_traffic>"
            "<link>https://example.nl/koningsdag</link>"
            "<pubDate>Sun, 2 Mar 2025 09:00:00 +0000</pubDate>"
            "<ht:news_item><ht:news_item_url>https://nos.nl/a</ht:news_item_url>"
            "<ht:news_item_source>NOS</ht:news_item_source></ht:news_item></item>",
            "<item><title>koningsdag</title><ht:approx_traffic>200+</ht:approx_traffic></item>",
            "<item><title>   </title><ht:approx_traffic>200+</ht:approx_traffic></item>",
            "<item><title>#Eurovisie</title><pubDate>Fri, 1 Jan 2027 00:00:00 GMT</pubDate></item>",
            "<item><title>geen datum</title><pubDate>gisteren</pubDate></item>",
            namespace="https://trends.google.com/trends/trendingsearches/daily",
        ),
        "google-nl",
        NOW,
    )
    assert [s.term for s in signals] == ["koningsdag", "eurovisie", "geen datum"]
    first, song, undated = signals
    assert first.traffic == 50_000.0
    assert first.url == "https://example.nl/koningsdag"  # a real link is kept as it is
    assert first.news == (("NOS", "https://nos.nl/a"),)  # no headline: the publisher stands in
    assert first.observed_at == datetime(2025, 3, 2, 9, 0, tzinfo=UTC)
    assert song.title == "#Eurovisie"
    assert song.observed_at == NOW  # a date in the future is not believed
    assert song.traffic is None
    assert song.url is None
    assert undated.observed_at == NOW


def test_an_empty_list_is_not_an_error(feed_server: FeedServer, client: httpx.Client) -> None:
    feed_server.serve(PATH, rss(), content_type=RSS)
    source = make_source(feed_server, client)
    result = source.fetch(SourceState(source.id), NOW)
    assert result.ok
    assert result.signals == []
