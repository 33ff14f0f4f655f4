"""Tests for the RSS/Atom source against a real local HTTP server serving fixture feeds.

Every answer a publisher can give (200, 304, 429, 500, slow, broken, huge, refused) is produced
by tests/feed_server.py over real sockets; nothing in the project is patched.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from bot.config import SourceConfig
from bot.html_text import html_to_text
from bot.http import make_client
from bot.sources.base import FetchResult, Source, SourceState
from bot.sources.rss import RssSource
from detectors.records import Post
from tests.feed_server import FeedServer

FEEDS = Path(__file__).parent / "fixtures" / "feeds"
NOW = datetime(2025, 3, 2, 12, 0, 0, tzinfo=UTC)
ATOM_TYPE = "application/atom+xml"


@pytest.fixture
def client(no_proxy_env: None) -> Iterator[httpx.Client]:
    with make_client(timeout=5.0) as client:
        yield client


def make_source(
    url: str, client: httpx.Client, source_id: str = "nos", lang: str | None = None, **kw: int
) -> RssSource:
    config = SourceConfig(
        id=source_id, kind="rss", url=url, interval=timedelta(minutes=10), lang=lang
    )
    return RssSource(config, client, **kw)


def poll(source: RssSource, state: SourceState | None = None, now: datetime = NOW) -> FetchResult:
    return source.fetch(state or SourceState(source.id), now)


def rss(*items: str, language: str | None = None) -> bytes:
    """A minimal RSS 2.0 document around the given <item> elements."""
    lang = f"<language>{language}</language>" if language else ""
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Test</title><link>https://example.nl/</link>{lang}"
        + "".join(items)
        + "</channel></rss>"
    ).encode()


def item(guid: str, title: str, pub_date: str | None = None) -> str:
    date = f"<pubDate>{pub_date}</pubDate>" if pub_date else ""
    return (
        f'<item><guid isPermaLink="false">{guid}</guid><title>{title}</title>{date}'
        f"<description>Tekst van {title}</description></item>"
    )


def by_id(result: FetchResult) -> dict[str, Post]:
    return {post.id: post for post in result.posts}


# -- the contract -------------------------------------------------------------------------------


def test_rss_source_satisfies_the_source_protocol(client: httpx.Client) -> None:
    source: Source = make_source("https://example.nl/feed", client)
    assert source.id == "nos"
    assert source.kind == "rss"


# -- happy paths --------------------------------------------------------------------------------


def test_rss_feed_items_become_posts(feed_server: FeedServer, client: httpx.Client) -> None:
    url = feed_server.serve_file("/nieuws.xml", FEEDS / "nieuws_rss.xml")
    result = poll(make_source(url, client))

    assert result.ok, result.error
    assert result.status == 200
    assert [p.id for p in result.posts] == [
        "db-2025-0301-001",
        "db-2025-0301-002",
        "db-2025-0228-017",
    ]
    first = result.posts[0]
    assert first.source == "nos"
    assert first.title == "Kabinet presenteert plan voor thuiswerken & flexplekken"
    assert first.text == (
        "Het kabinet wil dat werkgevers vaker thuiswerken toestaan.\n"
        "De minister noemt de werkplek van de toekomst “hybride”."
    )
    assert first.url == "https://dagelijksbericht.example/nieuws/2025/03/kabinet-thuiswerken"
    assert first.author == "Redactie Politiek"
    assert first.tags == ("Politiek", "Werk")
    assert first.lang == "nl"  # <language>nl-NL</language>, primary subtag
    # 10:15 +01:00 is 09:15 UTC, and the datetime is aware UTC.
    assert first.created_at == datetime(2025, 3, 1, 9, 15, tzinfo=UTC)
    assert first.created_at.utcoffset() == timedelta(0)
    # Escaped HTML in a description (&lt;p&gt;) with entities (&oacute;) ends as plain text.
    assert result.posts[2].text == (
        "Wij zoeken reizigers die hun verhaal willen delen. Mail de redactie vóór 7 maart."
    )
    assert result.posts[2].author is None


def test_atom_feed_entries_become_posts(feed_server: FeedServer, client: httpx.Client) -> None:
    url = feed_server.serve_file("/atom.xml", FEEDS / "nieuws_atom.xml", content_type=ATOM_TYPE)
    result = poll(make_source(url, client))

    assert result.ok, result.error
    posts = by_id(result)
    brug = result.posts[0]
    assert brug.id == "tag:regionieuws.example,2025:fietsbrug-zwolle"
    assert brug.title == "Nieuwe fietsbrug in Zwolle eindelijk open"  # type="html" title
    assert brug.text == "Na twee jaar bouwen kunnen fietsers vanaf vandaag over de IJssel."
    assert brug.author == "Anouk de Vries"
    assert brug.url == "https://regionieuws.example/artikel/fietsbrug-zwolle"
    assert brug.tags == ("Verkeer", "Zwolle")
    assert brug.lang == "nl"  # xml:lang on the feed element
    assert brug.created_at == datetime(2025, 3, 1, 7, 0, tzinfo=UTC)  # published wins
    water = posts["tag:regionieuws.example,2025:hoogwater"]
    # Only <updated> and xhtml <content>: date from updated, paragraphs kept as lines.
    assert water.created_at == datetime(2025, 2, 28, 21, 10, tzinfo=UTC)
    assert water.text == "De waterstand in de IJssel stijgt.\nBlijf weg van de uiterwaarden."


def test_html_in_descriptions_is_stripped(feed_server: FeedServer, client: httpx.Client) -> None:
    url = feed_server.serve_file("/cultuur.xml", FEEDS / "html_descriptions.xml")
    result = poll(make_source(url, client))

    assert result.ok, result.error
    museum, oproep = result.posts
    # script/style dropped; &nbsp; &ndash; &euro; &#160; &#8211; unescaped; blocks become lines.
    assert museum.text == (
        "Drukte in Amsterdam\n"
        "Ruim 35.000 bezoekers – een record.\n"
        "Rijksmuseum\n"
        "Stedelijk & Van Gogh\n"
        "Kaartjes kostten € 25,–\n"
        "per persoon."
    )
    assert "track(" not in museum.text
    assert "color" not in museum.text
    assert museum.title == "Museumnacht trekt recordaantal bezoekers"  # soft hyphen removed
    assert oproep.text == "Heeft u foto's van 1997? Mail ze ons."
    assert museum.lang is None  # neither the feed nor the source config names a language


def test_source_language_is_the_fallback(feed_server: FeedServer, client: httpx.Client) -> None:
    url = feed_server.serve_file("/cultuur.xml", FEEDS / "html_descriptions.xml")
    result = poll(make_source(url, client, lang="nl"))
    assert {p.lang for p in result.posts} == {"nl"}


def test_feed_language_wins_over_the_source_setting(
    feed_server: FeedServer, client: httpx.Client
) -> None:
    url = feed_server.serve("/en.xml", rss(item("1", "Hello"), language="en-GB"))
    result = poll(make_source(url, client, lang="nl"))
    assert result.posts[0].lang == "en"


def test_items_without_a_date_get_now(feed_server: FeedServer, client: httpx.Client) -> None:
    url = feed_server.serve_file("/gemeente.xml", FEEDS / "no_dates.xml")
    result = poll(make_source(url, client))

    assert result.ok, result.error
    assert len(result.posts) == 3
    assert all(p.created_at == NOW for p in result.posts)  # "binnenkort" is no date either


def test_item_ids_fall_back_to_link_then_title_hash(
    feed_server: FeedServer, client: httpx.Client
) -> None:
    url = feed_server.serve_file("/gemeente.xml", FEEDS / "no_dates.xml")
    first = poll(make_source(url, client))
    again = poll(make_source(url, client))

    with_link, title_only, _ = first.posts
    assert with_link.id == "https://gemeente.example/afval-koningsdag"
    assert title_only.id.startswith("t:")
    assert len(title_only.id) == 2 + 16
    assert [p.id for p in again.posts] == [p.id for p in first.posts]  # stable across polls


def test_duplicate_guids_are_deduped(feed_server: FeedServer, client: httpx.Client) -> None:
    url = feed_server.serve_file("/snel.xml", FEEDS / "duplicate_guids.xml")
    result = poll(make_source(url, client))

    assert result.ok, result.error
    assert [p.id for p in result.posts] == ["sn-1001", "sn-1002"]
    assert result.posts[0].title == "Storing bij de NS verholpen"  # the first one is kept


def test_a_date_far_in_the_future_is_clamped_to_now(
    feed_server: FeedServer, client: httpx.Client
) -> None:
    url = feed_server.serve(
        "/future.xml",
        rss(
            item("soon", "Iets later", "Sun, 02 Mar 2025 12:30:00 GMT"),  # within the 1h slack
            item("far", "Veel later", "Mon, 03 Mar 2025 12:00:00 GMT"),
        ),
    )
    posts = by_id(poll(make_source(url, client)))
    assert posts["soon"].created_at == datetime(2025, 3, 2, 12, 30, tzinfo=UTC)
    assert posts["far"].created_at == NOW


def test_broken_feed_with_entries_keeps_them(feed_server: FeedServer, client: httpx.Client) -> None:
    # A bare "&" in a title and no closing </rss>: bozo, but both items are recoverable.
    url = feed_server.serve_file("/buurt.xml", FEEDS / "broken_but_readable.xml")
    result = poll(make_source(url, client))

    assert result.ok, result.error
    assert [p.title for p in result.posts] == [
        "Bakker & Zonen sluit na 80 jaar",
        "Speeltuin krijgt nieuwe schommel",
    ]


def test_encoding_from_the_http_header_is_used(
    feed_server: FeedServer, client: httpx.Client
) -> None:
    # No XML declaration: only the Content-Type charset says these bytes are ISO-8859-1.
    body = (
        '<rss version="2.0"><channel><title>Caf\xe9</title>'
        '<item><guid isPermaLink="false">1</guid><title>Caf\xe9 Ol\xe9</title>'
        "<description>Cr\xe8me br\xfbl\xe9e</description></item></channel></rss>"
    ).encode("iso-8859-1")
    url = feed_server.serve("/latin1.xml", body, content_type="application/xml; charset=ISO-8859-1")
    result = poll(make_source(url, client))

    assert result.ok, result.error
    assert result.posts[0].title == "Café Olé"
    assert result.posts[0].text == "Crème brûlée"


def test_relative_links_resolve_against_the_final_url(
    feed_server: FeedServer, client: httpx.Client
) -> None:
    body = rss("<item><title>Relatief</title><link>/artikel/1</link></item>")
    feed_server.serve("/feeds/new.xml", body)
    url = feed_server.redirect("/feed", "/feeds/new.xml")
    result = poll(make_source(url, client))

    assert result.ok, result.error
    assert result.posts[0].url == feed_server.url("/artikel/1")


def test_an_empty_but_valid_feed_is_not_an_error(
    feed_server: FeedServer, client: httpx.Client
) -> None:
    url = feed_server.serve("/leeg.xml", rss())
    result = poll(make_source(url, client))
    assert result.ok, result.error
    assert result.posts == []


def test_items_added_between_polls_show_up(feed_server: FeedServer, client: httpx.Client) -> None:
    source = make_source(feed_server.url("/live.xml"), client)
    feed_server.serve("/live.xml", rss(item("a", "Eerste")), etag='"1"')
    first = poll(source)
    feed_server.serve("/live.xml", rss(item("b", "Tweede"), item("a", "Eerste")), etag='"2"')
    second = poll(source, SourceState("nos", etag=first.etag))

    assert [p.id for p in first.posts] == ["a"]
    assert [p.id for p in second.posts] == ["b", "a"]
    assert second.etag == '"2"'


# -- conditional GET ----------------------------------------------------------------------------


def test_second_poll_sends_validators_and_gets_304(
    feed_server: FeedServer, client: httpx.Client
) -> None:
    last_modified = "Sat, 01 Mar 2025 10:00:00 GMT"
    url = feed_server.serve_file(
        "/nieuws.xml", FEEDS / "nieuws_rss.xml", etag='"abc123"', last_modified=last_modified
    )
    source = make_source(url, client)

    first = poll(source)
    assert first.ok
    assert len(first.posts) == 3
    assert (first.etag, first.last_modified) == ('"abc123"', last_modified)

    state = SourceState("nos", etag=first.etag, last_modified=first.last_modified, polls=1)
    second = poll(source, state)
    assert second.ok
    assert second.not_modified is True
    assert second.posts == []
    assert (second.etag, second.last_modified) == ('"abc123"', last_modified)
    assert second.status == 304

    first_request, second_request = feed_server.requests_for("/nieuws.xml")
    assert "if-none-match" not in first_request.headers
    assert second_request.headers["if-none-match"] == '"abc123"'
    assert second_request.headers["if-modified-since"] == last_modified


def test_if_modified_since_alone_gets_304(feed_server: FeedServer, client: httpx.Client) -> None:
    last_modified = "Sat, 01 Mar 2025 10:00:00 GMT"
    url = feed_server.serve_file("/lm.xml", FEEDS / "nieuws_rss.xml", last_modified=last_modified)
    result = poll(make_source(url, client), SourceState("nos", last_modified=last_modified))
    assert result.not_modified
    assert result.last_modified == last_modified
    assert result.etag is None


def test_changed_etag_gives_the_new_feed(feed_server: FeedServer, client: httpx.Client) -> None:
    url = feed_server.serve_file("/nieuws.xml", FEEDS / "nieuws_rss.xml", etag='"v2"')
    result = poll(make_source(url, client), SourceState("nos", etag='"v1"'))
    assert not result.not_modified
    assert len(result.posts) == 3
    assert result.etag == '"v2"'


# -- HTTP errors --------------------------------------------------------------------------------


def test_429_with_retry_after_sets_retry_after(
    feed_server: FeedServer, client: httpx.Client
) -> None:
    url = feed_server.serve(
        "/druk.xml",
        b"slow down",
        content_type="text/plain",
        status=429,
        headers={"Retry-After": "120"},
    )
    result = poll(make_source(url, client), SourceState("nos", etag='"old"'))

    assert not result.ok
    assert result.retry_after == 120.0
    assert result.status == 429
    assert result.error is not None
    assert result.error.startswith(f"rss source 'nos' ({url}): rate limited (HTTP 429)")
    assert "wait 120s" in result.error
    assert result.etag == '"old"'  # validators survive a failed poll


def test_503_with_an_http_date_retry_after(feed_server: FeedServer, client: httpx.Client) -> None:
    url = feed_server.serve(
        "/onderhoud.xml",
        b"maintenance",
        content_type="text/plain",
        status=503,
        headers={"Retry-After": "Sun, 02 Mar 2025 12:10:00 GMT"},
    )
    result = poll(make_source(url, client))
    assert result.retry_after == 600.0
    assert result.status == 503
    assert result.error is not None
    assert "server error (HTTP 503)" in result.error


def test_500_gives_an_error_with_status(feed_server: FeedServer, client: httpx.Client) -> None:
    url = feed_server.serve("/kapot.xml", b"oops", content_type="text/plain", status=500)
    result = poll(make_source(url, client))

    assert not result.ok
    assert result.status == 500
    assert result.retry_after is None
    assert result.posts == []
    assert result.error == (
        f"rss source 'nos' ({url}): server error (HTTP 500) — it will be retried with backoff"
    )


def test_404_says_to_check_the_url(feed_server: FeedServer, client: httpx.Client) -> None:
    url = feed_server.url("/bestaat-niet.xml")
    result = poll(make_source(url, client))
    assert result.status == 404
    assert result.error is not None
    assert "not found (HTTP 404) — check the URL in feeds.yaml" in result.error


def test_slow_answer_beyond_the_timeout_is_a_timeout_error(
    feed_server: FeedServer, no_proxy_env: None
) -> None:
    url = feed_server.serve_file("/traag.xml", FEEDS / "nieuws_rss.xml", delay=2.0)
    with make_client(timeout=0.5) as fast_client:
        result = poll(make_source(url, fast_client))

    assert not result.ok
    assert result.error == (
        f"rss source 'nos' ({url}): timed out after 0.5s"
        " — the host is slow or down; it will be retried with backoff"
    )


def test_connection_refused_is_an_error_not_an_exception(client: httpx.Client) -> None:
    # Bind to get a free port, then close it: nothing listens there any more.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/feed.xml"
    result = poll(make_source(url, client))

    assert not result.ok
    assert result.error is not None
    assert result.error.startswith(f"rss source 'nos' ({url}): cannot connect (")
    assert "check the host name" in result.error


def test_redirect_loop_is_an_error(feed_server: FeedServer, client: httpx.Client) -> None:
    feed_server.redirect("/a", "/b")
    url = feed_server.redirect("/b", "/a")
    result = poll(make_source(url, client))
    assert result.error is not None
    assert "too many redirects" in result.error


# -- bodies that are not feeds ------------------------------------------------------------------


def test_malformed_xml_without_entries_is_a_clear_error(
    feed_server: FeedServer, client: httpx.Client
) -> None:
    url = feed_server.serve_file("/kapot.xml", FEEDS / "malformed.xml", etag='"broken"')
    result = poll(make_source(url, client))

    assert not result.ok
    assert result.posts == []
    assert result.error is not None
    assert result.error.startswith(f"rss source 'nos' ({url}): not a feed (feedparser: ")
    assert result.error.endswith("— check the URL points at an RSS/Atom feed")
    assert result.etag is None  # the broken document's validator is not kept


def test_an_html_page_is_not_a_feed(feed_server: FeedServer, client: httpx.Client) -> None:
    url = feed_server.serve_file(
        "/", FEEDS / "not_a_feed.html", content_type="text/html; charset=utf-8"
    )
    result = poll(make_source(url, client))
    assert result.error is not None
    assert "not a feed (got an HTML page" in result.error


def test_an_empty_body_is_not_a_feed(feed_server: FeedServer, client: httpx.Client) -> None:
    url = feed_server.serve("/leeg", b"")
    result = poll(make_source(url, client))
    assert result.error is not None
    assert "not a feed (the response is empty)" in result.error


@pytest.mark.parametrize("send_length", [True, False], ids=["declared", "streamed"])
def test_oversized_body_is_a_clear_error(
    feed_server: FeedServer, client: httpx.Client, send_length: bool
) -> None:
    big = rss(*(item(str(i), "x" * 900) for i in range(3000)))  # about 3 MB
    url = feed_server.serve("/groot.xml", big, send_length=send_length)
    result = poll(make_source(url, client, max_bytes=1024 * 1024))

    assert not result.ok
    assert result.posts == []
    assert result.error is not None
    assert result.error.startswith(f"rss source 'nos' ({url}): response body exceeds 1 MiB")
    assert "check the URL points at an RSS/Atom feed" in result.error


def test_default_cap_is_ten_mib(feed_server: FeedServer, client: httpx.Client) -> None:
    url = feed_server.serve("/enorm.xml", b" " * (10 * 1024 * 1024 + 1), send_length=False)
    result = poll(make_source(url, client))
    assert result.error is not None
    assert "exceeds 10 MiB" in result.error


def test_source_without_a_client_makes_and_closes_its_own(feed_server: FeedServer) -> None:
    url = feed_server.serve_file("/nieuws.xml", FEEDS / "nieuws_rss.xml")
    config = SourceConfig(id="own", kind="rss", url=url, interval=timedelta(minutes=10))
    source = RssSource(config)
    try:
        result = source.fetch(SourceState("own"), NOW)
    finally:
        source.close()
    assert result.ok
    assert len(result.posts) == 3


# -- HTML to text (bot/html_text.py), the edge cases feeds produce ------------------------------


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        (None, ""),
        ("", ""),
        ("Gewoon tekst &amp; meer", "Gewoon tekst & meer"),
        ("a < b en c > d", "a < b en c > d"),
        ("<p>Een</p><p>Twee</p>", "Een\nTwee"),
        ("regel<br>regel<br/>regel", "regel\nregel\nregel"),
        ("<b>vet</b>gedrukt", "vetgedrukt"),  # inline tags add no space
        ("<p>  veel \t\n  ruimte  </p>", "veel ruimte"),
        ("<script>alert(1)</script>Tekst<style>p{}</style>", "Tekst"),
        ("Tekst<script>nooit gesloten", "Tekst"),
        ("&lt;p&gt;Dubbel &amp;amp; escaped&lt;/p&gt;", "Dubbel & escaped"),
        ("<table><tr><td>a</td><td>b</td></tr></table>", "a b"),
        ("zero\u200bwidth\ufeff&shy;", "zerowidth"),
        ("<p>caf&eacute; &#233; &#xE9; &hellip;</p>", "café é é …"),
    ],
)
def test_html_to_text(markup: str | None, expected: str) -> None:
    assert html_to_text(markup) == expected


def test_html_to_text_keeps_line_breaks_of_text_without_tags() -> None:
    assert html_to_text("Regel een\nRegel twee &amp; drie") == "Regel een\nRegel twee & drie"


def test_html_to_text_keeps_line_breaks_inside_pre() -> None:
    assert html_to_text("<p>code:</p><pre>a = 1\nb = 2</pre>") == "code:\na = 1\nb = 2"
