"""Hostile feeds and hosts, polled as `inhaker run` polls them, end as items or one clear error.

Every case is served over real sockets by tests/feed_server.py and polled through the real
`RssSource` and `bot.poller.poll` into a real SQLite store; what a person would see is asserted:
the items stored, or the source's `last_error` (the line `inhaker sources` prints) naming the
cause and the fix. Bounds are the product's own, configured small where waiting for the default
would be slow (the read timeout of the client, the download deadline of the source); the time a
case takes is bounded by pytest-timeout, never asserted. The gzip bombs also check, with
tracemalloc, that the memory held while decoding stays within a few times the size cap.

The last test polls several sources in one `Runner.run_once` cycle, some hostile, and checks the
healthy ones still got their items.
"""

from __future__ import annotations

import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from functools import cache
from xml.sax.saxutils import escape

import httpx
import pytest

from bot.config import SourceConfig, parse_config
from bot.html_text import html_to_text
from bot.http import DEFAULT_MAX_BYTES, make_client
from bot.notify.console import ConsoleNotifier
from bot.poller import PollOutcome, poll
from bot.scheduler import Runner
from bot.slack.commands import source_health_line
from bot.sources.rss import RssSource
from bot.store import Store
from tests.feed_server import FeedServer

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
PUBLISHED = format_datetime(NOW - timedelta(minutes=30))
# Small bounds the tests configure instead of waiting for the defaults (15 s read, 120 s total).
READ_TIMEOUT = 0.5
DEADLINE = 1.0
MIB = 1024 * 1024

NOT_A_FEED_FIX = "— check the URL points at an RSS/Atom feed"
TOO_BIG_FIX = "— check the URL points at an RSS/Atom feed and not a large file"
RETRIED = "it will be retried with backoff"


def rss(items: str, declaration: str = '<?xml version="1.0" encoding="utf-8"?>') -> str:
    return (
        f'{declaration}<rss version="2.0"><channel><title>Test</title>'
        f"<link>https://example.nl/</link>{items}</channel></rss>"
    )


def item(guid: str, title: str, pub_date: str | None = PUBLISHED) -> str:
    date = f"<pubDate>{pub_date}</pubDate>" if pub_date is not None else ""
    return (
        f'<item><guid isPermaLink="false">{guid}</guid><title>{title}</title>'
        f"<link>https://example.nl/{guid}</link>{date}"
        f"<description>Over {title}</description></item>"
    )


GOOD_FEED = rss(item("a", "Eerste bericht") + item("b", "Tweede bericht")).encode()


def gzip_bytes(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    return packer.compress(data) + packer.flush()


@cache
def gzip_bomb(decompressed: int = 256 * MIB) -> bytes:
    """About 250 KiB of gzip that inflates to `decompressed` bytes of zeros."""
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = bytes(MIB)
    parts = [packer.compress(block) for _ in range(decompressed // MIB)]
    return b"".join([*parts, packer.flush()])


def endless_items(pause: float = 0.0) -> Callable[[], Iterator[bytes | float]]:
    """A feed that never ends: the channel opens, then items keep coming."""

    def stream() -> Iterator[bytes | float]:
        yield b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        n = 0
        while True:
            n += 1
            yield item(f"endless-{n}", "x" * 500).encode() * 16
            if pause:
                yield pause

    return stream


def blocks(total: int, block: bytes = b"<!-- padding -->" * 4096) -> Callable[[], Iterator[bytes]]:
    def stream() -> Iterator[bytes]:
        sent = 0
        while sent < total:
            yield block
            sent += len(block)

    return stream


def stall_mid_body() -> Iterator[bytes | float]:
    yield GOOD_FEED[:100]
    yield 10.0  # a ten-second stall after the first bytes


# -- the cases ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """A publisher's answer (set up on the server; returns the URL) and what a person should see:
    `error` parts of the source's last_error, or the titles of the items stored."""

    serve: Callable[[FeedServer], str]
    error: tuple[str, ...] = ()
    titles: tuple[str, ...] = ()
    source_options: dict[str, float] = field(default_factory=dict)
    measure_memory: bool = False


def html_page(server: FeedServer) -> str:
    page = b"<!doctype html><html><head><title>Blog</title></head><body><p>Hi</p></body></html>"
    return server.serve("/blog", page, content_type="text/html; charset=utf-8")


def redirect_loop(server: FeedServer) -> str:
    server.redirect("/loop-b", "/loop-a")
    return server.redirect("/loop-a", "/loop-b")


def wrong_charset(server: FeedServer) -> str:
    # The header says UTF-8, the bytes are Windows-1252 (an old CMS behind a new web server).
    body = rss(item("w", "Café crème"), '<?xml version="1.0"?>').encode("cp1252")
    return server.serve("/wrong", body, content_type="application/rss+xml; charset=utf-8")


def missing_charset(server: FeedServer) -> str:
    # No charset anywhere and no XML declaration, Latin-1 bytes.
    body = rss(item("m", "Ærø én façade"), "").encode("latin-1")
    return server.serve("/missing", body, content_type="text/xml")


def declared_ascii_is_utf8(server: FeedServer) -> str:
    body = rss(item("d", "Zoë in Genève"), '<?xml version="1.0" encoding="us-ascii"?>')
    return server.serve("/ascii", body.encode(), content_type="application/xml")


def invalid_dates(server: FeedServer) -> str:
    items = (
        item("d1", "Geen datum", "gisteren rond het middaguur")
        + item("d2", "Datum bestaat niet", "Mon, 45 Foo 2026 99:99:99 +0000")
        + item("d3", "Jaar negen miljoen", "Mon, 01 Jan 9999999 00:00:00 GMT")
        + item("d4", "Lege datum", "")
    )
    return server.serve("/dates", rss(items).encode())


def duplicate_guids(server: FeedServer) -> str:
    items = item("same", "Eerste versie") + item("same", "Tweede versie") + item("other", "Ander")
    return server.serve("/dupes", rss(items).encode())


def without_links_or_titles(server: FeedServer) -> str:
    items = (
        "<item><description>Alleen tekst, geen titel of link</description></item>"
        "<item><title>Alleen een titel</title></item>"
        "<item></item>"  # nothing at all: nothing to show, skipped
    )
    return server.serve("/bare", rss(items).encode())


def entity_expansion(server: FeedServer) -> str:
    # "Billion laughs": nested entities that would expand to gigabytes if a parser resolved them.
    levels = ['<!ENTITY l0 "lollollollollollollollollollol">'] + [
        f'<!ENTITY l{n} "{f"&l{n - 1};" * 10}">' for n in range(1, 10)
    ]
    doctype = "<!DOCTYPE rss [" + "".join(levels) + "]>"
    body = rss(item("lol", "&l9;") + item("ok", "Gewoon"), '<?xml version="1.0"?>' + doctype)
    return server.serve("/lol", body.encode())


def raw_deflate(server: FeedServer) -> str:
    # "deflate" should mean the zlib wrapper; some servers send raw deflate instead.
    packer = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    body = packer.compress(GOOD_FEED) + packer.flush()
    return server.serve("/raw.xml", body, headers={"Content-Encoding": "deflate"})


# Markup html.parser handled in quadratic time before bot/html_text.py escaped it: 25 KB of "<a "
# took 12 s; these are 300 KB each, minutes apiece if that comes back.
SLOW_MARKUP = {
    "unclosed tags": "<a " * 100_000,
    "unclosed CDATA sections": "<![CDATA[x>" * 27_000,
    "unclosed comments": "<!--" * 75_000,
    "unclosed marked sections": "<![if " * 50_000,
}


def slow_markup(server: FeedServer) -> str:
    items = "".join(
        f'<item><guid isPermaLink="false">{name}</guid><title>{name}</title>'
        f"<description>{escape(markup)}</description></item>"
        for name, markup in SLOW_MARKUP.items()
    )
    return server.serve("/slow-markup", rss(items).encode())


CASES: dict[str, Case] = {
    "html page instead of a feed": Case(
        html_page, error=("not a feed (got an HTML page", NOT_A_FEED_FIX)
    ),
    "empty body": Case(
        lambda s: s.serve("/empty", b""),
        error=("not a feed (the response is empty) " + NOT_A_FEED_FIX,),
    ),
    "garbage bytes": Case(
        lambda s: s.serve("/noise", bytes(range(256)) * 64, content_type="application/xml"),
        error=("not a feed (", NOT_A_FEED_FIX),
    ),
    "50 MB body, declared": Case(
        lambda s: s.serve_stream(
            "/big-declared",
            blocks(50 * MIB),
            chunked=False,
            headers={"Content-Length": str(50 * MIB)},
        ),
        error=("response body exceeds 10 MiB (52,428,800 bytes declared) " + TOO_BIG_FIX,),
    ),
    "50 MB body, chunked": Case(
        lambda s: s.serve_stream("/big-chunked", blocks(50 * MIB)),
        error=("response body exceeds 10 MiB (more than that) " + TOO_BIG_FIX,),
        measure_memory=True,
    ),
    "gzip bomb": Case(
        lambda s: s.serve("/bomb.xml", gzip_bomb(), headers={"Content-Encoding": "gzip"}),
        error=("response body exceeds 10 MiB (more than that) " + TOO_BIG_FIX,),
        measure_memory=True,
    ),
    "gzip bomb inside gzip": Case(
        lambda s: s.serve(
            "/bomb2.xml",
            gzip_bytes(gzip_bomb()),
            headers={"Content-Encoding": "gzip, gzip"},
        ),
        error=("response body exceeds 10 MiB (more than that) " + TOO_BIG_FIX,),
        measure_memory=True,
    ),
    "corrupt gzip": Case(
        lambda s: s.serve(
            "/corrupt.xml",
            gzip_bytes(GOOD_FEED)[:40] + b"\x00garbage" * 8,
            headers={"Content-Encoding": "gzip"},
        ),
        error=(
            "cannot decode the answer (the gzip-compressed body is corrupt (",
            f"the server sent a broken or unusual compressed body; {RETRIED}",
        ),
    ),
    "unsupported content encoding": Case(
        lambda s: s.serve("/br.xml", b"\x1b\x00\x00", headers={"Content-Encoding": "br"}),
        error=("cannot decode the answer (the body is compressed with 'br'",),
    ),
    "endless chunked stream": Case(
        lambda s: s.serve_stream("/endless", endless_items()),
        error=("response body exceeds 10 MiB (more than that) " + TOO_BIG_FIX,),
    ),
    "endless trickling stream": Case(
        lambda s: s.serve_stream("/trickle", endless_items(pause=0.05)),
        error=(
            f"download took longer than {DEADLINE:g}s in total "
            f"— the host is sending very slowly; {RETRIED}",
        ),
        source_options={"total_timeout": DEADLINE},
    ),
    "redirect loop": Case(
        redirect_loop,
        error=(
            "too many redirects (a loop, or more than 5) "
            "— open the URL in a browser and put the final address in feeds.yaml",
        ),
    ),
    "ten-second stall before the answer": Case(
        lambda s: s.serve("/stall", GOOD_FEED, delay=10.0),
        error=(f"timed out after {READ_TIMEOUT:g}s — the host is slow or down; {RETRIED}",),
    ),
    "ten-second stall in the middle of the body": Case(
        lambda s: s.serve_stream("/stall-mid", stall_mid_body),
        error=(f"timed out after {READ_TIMEOUT:g}s — the host is slow or down; {RETRIED}",),
    ),
    "gzip-compressed feed": Case(
        lambda s: s.serve("/gz.xml", gzip_bytes(GOOD_FEED), headers={"Content-Encoding": "gzip"}),
        titles=("Eerste bericht", "Tweede bericht"),
    ),
    "deflate-compressed feed (zlib)": Case(
        lambda s: s.serve(
            "/zlib.xml", zlib.compress(GOOD_FEED), headers={"Content-Encoding": "deflate"}
        ),
        titles=("Eerste bericht", "Tweede bericht"),
    ),
    "deflate-compressed feed (raw)": Case(raw_deflate, titles=("Eerste bericht", "Tweede bericht")),
    "wrong charset in the header": Case(wrong_charset, titles=("Café crème",)),
    "no charset anywhere": Case(missing_charset, titles=("Ærø én façade",)),
    "declared ascii, sent utf-8": Case(declared_ascii_is_utf8, titles=("Zoë in Genève",)),
    "invalid dates": Case(
        invalid_dates,
        titles=("Geen datum", "Datum bestaat niet", "Jaar negen miljoen", "Lege datum"),
    ),
    "duplicate guids": Case(duplicate_guids, titles=("Eerste versie", "Ander")),
    "entries without links or titles": Case(
        without_links_or_titles,
        titles=("", "Alleen een titel"),  # "": the item without a title
    ),
    "entity expansion (billion laughs)": Case(entity_expansion, titles=("&l9;", "Gewoon")),
    "items whose markup is slow to parse": Case(slow_markup, titles=tuple(SLOW_MARKUP)),
}


@pytest.fixture
def client(no_proxy_env: None) -> Iterator[httpx.Client]:
    with make_client(timeout=READ_TIMEOUT) as client:
        yield client


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    store = Store(database_url)
    yield store
    store.close()


def poll_case(
    case: Case, server: FeedServer, client: httpx.Client, store: Store
) -> tuple[PollOutcome, str]:
    url = case.serve(server)
    config = SourceConfig(id="hostile", kind="rss", url=url, interval=timedelta(minutes=10))
    source = RssSource(config, client, **case.source_options)  # type: ignore[arg-type]
    outcome = poll(source, config, store, NOW)
    return outcome, url


@pytest.mark.parametrize("name", list(CASES))
def test_a_hostile_feed_ends_as_items_or_one_clear_error(
    name: str, feed_server: FeedServer, client: httpx.Client, store: Store
) -> None:
    case = CASES[name]
    if case.measure_memory:
        gzip_bomb()  # built before measuring: the test's own bytes are not the product's memory
        tracemalloc.start()
    try:
        outcome, url = poll_case(case, feed_server, client, store)
        peak = tracemalloc.get_traced_memory()[1] if case.measure_memory else 0
    finally:
        tracemalloc.stop()

    state = store.source_state("hostile")
    line = source_health_line("hostile", "rss", state, store.count_posts(source="hostile"))
    stored = store.latest_posts(100, sources=["hostile"])
    if case.error:
        assert outcome.error is not None, f"expected an error, got {len(stored)} items"
        prefix = f"rss source 'hostile' ({url}): "
        assert state.last_error is not None
        assert state.last_error.startswith(prefix)
        for part in case.error:
            assert part in state.last_error
        assert "unexpected error" not in state.last_error
        # `inhaker sources` shows the failure and why, and the source backs off.
        assert f"1 failures in a row — {prefix}" in line
        assert state.next_due == NOW + timedelta(minutes=10)
        assert stored == []
    else:
        assert outcome.error is None, outcome.error
        assert state.last_error is None
        assert sorted(p.title or "" for p in stored) == sorted(case.titles)
        for post in stored:
            assert post.id.strip()
            assert post.created_at.tzinfo is not None
    if case.measure_memory:
        # Whatever the body inflates to, what is held stays near the cap (the body so far plus
        # one copy), never the hundreds of MiB it would become.
        assert peak < 3 * DEFAULT_MAX_BYTES, f"peak {peak / MIB:.0f} MiB while decoding"


@pytest.mark.parametrize("name", list(SLOW_MARKUP))
def test_markup_that_never_closes_is_kept_as_text(name: str) -> None:
    markup = SLOW_MARKUP[name]
    text = html_to_text("<p>Begin</p>" + markup[:3000] + "<p>Eind</p>")
    assert text.startswith("Begin")
    if name != "unclosed comments":  # an unclosed comment runs to the end, as in browsers
        assert text.endswith("Eind")
    assert html_to_text(markup)  # the whole 300 KB: finishes (pytest-timeout bounds it)


def test_items_with_invalid_dates_are_dated_when_first_seen(
    feed_server: FeedServer, client: httpx.Client, store: Store
) -> None:
    poll_case(CASES["invalid dates"], feed_server, client, store)
    stored = store.latest_posts(100, sources=["hostile"])
    assert len(stored) == 4
    assert {p.created_at for p in stored} == {NOW}


def test_duplicate_guids_are_stored_once_and_not_new_on_the_next_poll(
    feed_server: FeedServer, client: httpx.Client, store: Store
) -> None:
    url = duplicate_guids(feed_server)
    config = SourceConfig(id="dupes", kind="rss", url=url, interval=timedelta(minutes=10))
    source = RssSource(config, client)
    first = poll(source, config, store, NOW)
    assert sorted(p.id for p in first.backlog) == ["other", "same"]
    # The publisher now repeats the guid once more, with yet another title.
    feed_server.serve("/dupes", rss(item("same", "Derde versie") + item("same", "Vierde")).encode())
    second = poll(source, config, store, NOW + timedelta(minutes=10))
    assert second.error is None
    assert second.new_posts == ()
    assert store.count_posts(source="dupes") == 2


def test_items_without_guid_link_or_title_keep_stable_ids_across_polls(
    feed_server: FeedServer, client: httpx.Client, store: Store
) -> None:
    url = without_links_or_titles(feed_server)
    config = SourceConfig(id="bare", kind="rss", url=url, interval=timedelta(minutes=10))
    source = RssSource(config, client)
    first = poll(source, config, store, NOW)
    assert len(first.backlog) == 2
    assert {p.text for p in first.backlog} == {"Alleen tekst, geen titel of link", ""}
    second = poll(source, config, store, NOW + timedelta(minutes=10))
    assert second.error is None
    assert second.new_posts == ()  # the same items are recognised, not doubled
    assert store.count_posts(source="bare") == 2


def test_a_hostile_source_recovers_when_the_publisher_fixes_the_feed(
    feed_server: FeedServer, client: httpx.Client, store: Store
) -> None:
    url = feed_server.serve("/bomb.xml", gzip_bomb(), headers={"Content-Encoding": "gzip"})
    config = SourceConfig(id="fixed", kind="rss", url=url, interval=timedelta(minutes=10))
    source = RssSource(config, client)
    assert poll(source, config, store, NOW).error is not None
    feed_server.serve("/bomb.xml", gzip_bytes(GOOD_FEED), headers={"Content-Encoding": "gzip"})
    later = poll(source, config, store, NOW + timedelta(minutes=10))
    assert later.error is None
    state = store.source_state("fixed")
    assert state.failures_in_a_row == 0
    assert store.count_posts(source="fixed") == 2


# -- one cycle, many sources, some hostile --------------------------------------------------------


def test_hostile_sources_do_not_stop_the_others_in_one_cycle(
    feed_server: FeedServer, store: Store, no_proxy_env: None
) -> None:
    good = {
        "nos": feed_server.serve("/nos.xml", rss(item("n1", "Nieuws een")).encode()),
        "nu": feed_server.serve(
            "/nu.xml",
            gzip_bytes(rss(item("u1", "Nu een") + item("u2", "Nu twee")).encode()),
            headers={"Content-Encoding": "gzip"},
        ),
        "emerce": feed_server.serve("/emerce.xml", rss(item("e1", "Emerce een")).encode()),
    }
    hostile = {
        "bomb": feed_server.serve("/bomb.xml", gzip_bomb(), headers={"Content-Encoding": "gzip"}),
        "stall": feed_server.serve("/stall.xml", GOOD_FEED, delay=10.0),
        "trickle": feed_server.serve_stream("/trickle.xml", endless_items(pause=0.05)),
        "loop": redirect_loop(feed_server),
        "html": html_page(feed_server),
        "empty": feed_server.serve("/empty.xml", b""),
        "big": feed_server.serve_stream("/big.xml", blocks(50 * MIB)),
    }
    sources = "".join(
        f"\n  - id: {sid}\n    kind: rss\n    url: {url}"
        for sid, url in {**good, **hostile}.items()
    )
    config = parse_config(f"sources:{sources}\n")
    runner = Runner(
        config,
        store,
        ConsoleNotifier(),
        clock=lambda: NOW,
        client=make_client(timeout=READ_TIMEOUT),
    )
    # The endless trickle would run into the default 120 s deadline; give it a short one.
    trickle_config = runner.sources["trickle"][1]
    runner.sources["trickle"] = (
        RssSource(trickle_config, runner.client, total_timeout=DEADLINE),
        trickle_config,
    )
    try:
        report = runner.run_once()
    finally:
        runner.stop()

    errors = {p.source_id: p.error for p in report.polls if p.error}
    assert set(errors) == set(hostile)
    assert store.count_posts(source="nos") == 1
    assert store.count_posts(source="nu") == 2
    assert store.count_posts(source="emerce") == 1
    states = store.all_source_states()
    for sid in good:
        assert states[sid].last_success_at == NOW
        assert states[sid].last_error is None
    expected = {
        "bomb": "exceeds 10 MiB",
        "stall": f"timed out after {READ_TIMEOUT:g}s",
        "trickle": f"download took longer than {DEADLINE:g}s in total",
        "loop": "too many redirects",
        "html": "not a feed (got an HTML page",
        "empty": "not a feed (the response is empty)",
        "big": "exceeds 10 MiB",
    }
    for sid, cause in expected.items():
        assert cause in (states[sid].last_error or ""), (sid, states[sid].last_error)
        assert states[sid].failures_in_a_row == 1
