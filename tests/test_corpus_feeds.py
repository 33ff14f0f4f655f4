"""Every real and ill-formed feed in ../shared/corpus/feeds goes through RssSource without a crash.

Each file is served by the local feed server (bytes as stored, a Content-Type without charset so
the document's own declaration counts, as most servers do) and fetched once. The result must be
either posts that satisfy the Post contract or one non-empty error line; an exception, a crash
inside the adapter (its "unexpected error" catch-all) or a skipped entry is a failure.

The corpus is read at run time and never copied in; without it the module skips.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from bot.config import SourceConfig
from bot.http import make_client
from bot.sources.base import FetchResult, SourceState
from bot.sources.rss import FUTURE_TOLERANCE, RssSource
from tests.feed_server import FeedServer

CORPUS = Path(__file__).parents[1].parent / "shared" / "corpus" / "feeds"
if not CORPUS.is_dir():
    pytest.skip(f"corpus not found at {CORPUS}", allow_module_level=True)

pytestmark = pytest.mark.corpus

NOW = datetime(2025, 3, 2, 12, 0, 0, tzinfo=UTC)
SKIP_NAMES = {"LICENSE", "README.md", "NOTICE"}
CONTENT_TYPES = {
    ".atom": "application/atom+xml",
    ".rss": "application/rss+xml",
    ".xml": "application/xml",
    ".html": "text/html",
}
# feedparser test files name the header their harness sends: "Header: Content-type: text/xml".
HEADER_COMMENT = re.compile(rb"^\s*Header:\s*Content-type:\s*(\S+)\s*$", re.IGNORECASE | re.M)


def corpus_files() -> list[Path]:
    return sorted(
        path for path in CORPUS.rglob("*") if path.is_file() and path.name not in SKIP_NAMES
    )


def content_type_for(path: Path) -> str:
    match = HEADER_COMMENT.search(path.read_bytes()[:1024])
    if match:
        return match.group(1).decode("ascii")
    return CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")


def relative(path: Path) -> str:
    return path.relative_to(CORPUS).as_posix()


@pytest.fixture
def client(no_proxy_env: None) -> Iterator[httpx.Client]:
    with make_client(timeout=5.0) as client:
        yield client


def fetch_file(feed_server: FeedServer, client: httpx.Client, path: Path) -> FetchResult:
    url = feed_server.serve_file("/" + relative(path), path, content_type=content_type_for(path))
    config = SourceConfig(id="corpus", kind="rss", url=url, interval=timedelta(minutes=10))
    return RssSource(config, client).fetch(SourceState("corpus"), NOW)


@pytest.mark.parametrize("path", corpus_files(), ids=relative)
def test_corpus_feed_gives_posts_or_an_error(
    path: Path,
    feed_server: FeedServer,
    client: httpx.Client,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.sources.rss")
    result = fetch_file(feed_server, client, path)

    if result.error is not None:
        assert isinstance(result.error, str)
        assert result.error.strip()
        assert result.error.startswith("rss source 'corpus' (")
        assert "unexpected error" not in result.error, result.error
        assert result.posts == []
    else:
        ids = [post.id for post in result.posts]
        assert len(ids) == len(set(ids)), "ids must be unique within one fetch"
        for post in result.posts:
            assert isinstance(post.id, str)
            assert post.id.strip()
            assert post.source == "corpus"
            assert post.created_at.tzinfo is not None
            assert post.created_at.utcoffset() == timedelta(0)
            assert post.created_at <= NOW + FUTURE_TOLERANCE
            assert isinstance(post.text, str)
            assert "<script" not in post.text.lower()
            assert post.title is None or post.title.strip() == post.title
    # A crash inside one entry is swallowed by the adapter; here it must show.
    assert not [r for r in caplog.records if r.exc_info], caplog.text


# Outcomes the corpus READMEs (and feedparser's own Expect lines) document for specific files.


@pytest.mark.parametrize(
    "name",
    [
        "real/rss-parser/unrecognized.rss",
        "real/miniflux/encoding/utf8.html",
        "real/miniflux/encoding/iso-8859-1.html",
        "real/miniflux/encoding/utf8-meta-after-1024.html",
        "real/miniflux/encoding/iso-8859-1-meta-after-1024.html",
        "illformed/aaa_illformed.xml",
        "illformed/rss_empty_document.xml",
        "illformed/rss_incomplete_cdata.xml",
        "illformed/undeclared_namespace.xml",
    ],
)
def test_documents_that_are_not_feeds_give_a_clear_error(
    name: str, feed_server: FeedServer, client: httpx.Client
) -> None:
    path = CORPUS / name
    if not path.is_file():
        pytest.skip(f"{name} is not in this corpus snapshot")
    result = fetch_file(feed_server, client, path)
    assert result.error is not None
    assert "not a feed (" in result.error
    assert result.error.endswith("— check the URL points at an RSS/Atom feed")
    if name.endswith(".html") or name.endswith("unrecognized.rss"):
        assert "not a feed (got an HTML page" in result.error


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # Declared and used legacy encodings.
        ("real/miniflux/parser/encoding_ISO-8859-1.xml", "wünschen"),
        ("real/miniflux/encoding/koi8r.xml", "Первая новость"),
        ("real/miniflux/parser/encoding_WINDOWS-1251.xml", "Цитата"),
        ("real/rss-parser/encoding.rss", "Mãe"),
        # Latin-1 bytes with no XML declaration at all.
        ("real/rss-parser/uolNoticias.rss", "Líder"),
        ("real/miniflux/parser/no_encoding_ISO-8859-1.xml", "modèles européens"),
        # Wrong or invalid declarations over UTF-8 bytes.
        ("real/miniflux/encoding/utf8-incorrect-prolog.xml", "Café"),
        ("real/miniflux/encoding/invalid-prolog.xml", "Café"),
        # Right-to-left script.
        ("real/miniflux/parser/urdu_UTF8.xml", "امریکی"),
    ],
)
def test_encodings_are_decoded(
    name: str, expected: str, feed_server: FeedServer, client: httpx.Client
) -> None:
    path = CORPUS / name
    if not path.is_file():
        pytest.skip(f"{name} is not in this corpus snapshot")
    result = fetch_file(feed_server, client, path)
    assert result.ok, result.error
    assert any(expected in (p.title or "") + "\n" + p.text for p in result.posts)


def test_corrupted_ampersands_in_links_are_repaired(
    feed_server: FeedServer, client: httpx.Client
) -> None:
    path = CORPUS / "illformed" / "rss_item_link_corrupted_ampersands.xml"
    if not path.is_file():
        pytest.skip("file not in this corpus snapshot")
    result = fetch_file(feed_server, client, path)
    assert [p.url for p in result.posts] == ["http://link/get?a=1&b=2"]


def test_the_whole_corpus_in_one_run_once_cycle_ends_as_items_or_errors(
    database_url: str, feed_server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Every corpus file as a source of one feeds.yaml, polled by `Runner.run_once` (the poller
    and the store, as `inhaker run --once` does): each source ends with its items stored or one
    error line in its health, and the well-formed ones are not held up by the broken ones."""
    from bot.config import parse_config
    from bot.notify.console import ConsoleNotifier
    from bot.scheduler import Runner
    from bot.store import Store

    caplog.set_level(logging.WARNING)
    files = {f"f{index:03d}": path for index, path in enumerate(corpus_files())}
    entries = "".join(
        f"\n  - id: {sid}\n    kind: rss\n    url: "
        + feed_server.serve_file("/" + relative(path), path, content_type=content_type_for(path))
        for sid, path in files.items()
    )
    store = Store(database_url)
    runner = Runner(
        parse_config(f"sources:{entries}\n"),
        store,
        ConsoleNotifier(),
        clock=lambda: NOW,
        client=make_client(timeout=5.0),
    )
    try:
        report = runner.run_once()
    finally:
        runner.stop()

    states = store.all_source_states()
    # Stored items are counted from the cycle's report: the cycle ends by pruning posts older than
    # the retention window, which most corpus items are.
    stored = {outcome.source_id: len(outcome.backlog) for outcome in report.polls}
    with_items = 0
    for sid, path in files.items():
        state = states[sid]
        assert state.last_polled_at == NOW, relative(path)
        if state.last_error is not None:
            assert state.last_error.startswith(f"rss source '{sid}' ("), relative(path)
            assert "unexpected error" not in state.last_error, relative(path)
            assert state.failures_in_a_row == 1
        else:
            assert state.last_success_at == NOW, relative(path)
            with_items += stored[sid] > 0
    assert len(report.polls) == len(files)
    # Most of the corpus is real feeds: they must have come through, not just "not failed".
    assert with_items >= len(files) // 2
    assert not [r for r in caplog.records if r.exc_info], caplog.text
