"""Tests for the Mastodon source against a fake instance on 127.0.0.1 (tests/fake_mastodon.py).

The fake pages with `min_id`/`max_id`/`since_id` and `Link` headers as Mastodon does, counts
requests against a rate limit, and can require a token; recorded answers of a real Mastodon
(../shared/corpus/mastodon) are served as they were recorded. Nothing in the project is patched.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

import httpx
import pytest

from bot.config import SourceConfig
from bot.http import make_client
from bot.poller import build_source, poll
from bot.sources.base import FetchResult, Source, SourceState
from bot.sources.mastodon import MastodonSource
from bot.store import Store
from detectors.records import Post
from tests.fake_mastodon import FakeMastodon, make_status, snowflake
from tests.feed_server import FeedServer

FIXTURES = Path(__file__).parent / "fixtures" / "mastodon"
CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "mastodon"
NOW = datetime(2026, 3, 14, 10, 0, tzinfo=UTC)
TOKEN_ENV = "INHAKER_TEST_MASTODON_TOKEN"
SECRET = "tok-9f8e7d6c5b4a-geheim"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture
def client(no_proxy_env: None) -> Iterator[httpx.Client]:
    with make_client(timeout=5.0) as client:
        yield client


@pytest.fixture
def fake(no_proxy_env: None) -> Iterator[FakeMastodon]:
    with FakeMastodon() as server:
        yield server


def config(instance: str, source_id: str = "ms", **options: Any) -> SourceConfig:
    defaults: dict[str, Any] = {
        "instance": instance,
        "hashtags": (),
        "timeline": "none",
        "trends": False,
        "token_env": None,
        "limit": 40,
    }
    defaults.update(options)
    return SourceConfig(
        id=source_id,
        kind="mastodon",
        interval=timedelta(minutes=2),
        options=MappingProxyType(defaults),
    )


def source(instance: str, client: httpx.Client, **options: Any) -> MastodonSource:
    return MastodonSource(config(instance, **options), client=client)


def statuses(count: int, start: datetime, tag: str = "elfstedentocht") -> list[dict[str, Any]]:
    """`count` statuses with the tag, one a second from `start` (ids differ per tag too)."""
    sequence = sum(map(ord, tag))
    return [
        make_status(
            snowflake(start + timedelta(seconds=i), sequence),
            f"<p>Schaatsen op natuurijs, bericht {i} <a href='#'>#<span>{tag}</span></a></p>",
            created_at=start + timedelta(seconds=i),
            acct=f"schaatser{i % 7}@mastodon.nl",
            tags=(tag,),
        )
        for i in range(count)
    ]


def cursor_of(result: FetchResult) -> dict[str, str]:
    assert result.cursor is not None
    data = json.loads(result.cursor)
    assert isinstance(data, dict)
    return data


# ---------------------------------------------------------------------------------------------
# Happy path


def test_hashtag_timeline_and_trends_become_posts_and_signals(
    fake: FakeMastodon, client: httpx.Client
) -> None:
    """Realistic Dutch statuses, trending tags, statuses and links from one instance."""
    fake.add(*fixture("tag_nederland.json"))
    fake.trend_tags = fixture("trends_tags.json")
    fake.trend_statuses = fixture("trends_statuses.json")
    fake.trend_links = fixture("trends_links.json")
    src: Source = source(fake.base_url, client, hashtags=("#Nederland",), trends=True, limit=20)

    result = src.fetch(SourceState("ms"), NOW)

    assert result.ok, result.error
    assert result.note is None
    by_id = {p.id: p for p in result.posts}
    # 5 timeline statuses + 1 extra trending status (the other is also on the timeline) + 2 links
    assert len(result.posts) == len(by_id) == 8
    assert all(p.source == "ms" for p in result.posts)

    weer = by_id["116226935488512011"]
    assert weer.text == (
        "Het vriest vannacht matig tot streng in het noorden. Gaat de #Elfstedentocht door? "
        "Kijk op https://www.knmi.nl/nederland-nu/weer #nederland"
    )
    assert weer.author == "weerbericht@mastodon.nl"
    assert weer.reach == 15400.0
    assert weer.tags == ("elfstedentocht", "nederland")
    assert weer.lang == "nl"
    assert weer.url == "https://mastodon.nl/@weerbericht/116226935488512018"
    assert weer.created_at == datetime(2026, 3, 14, 9, 58, 12, tzinfo=UTC)
    assert weer.title is None

    nota = by_id["116226923102208002"]
    assert nota.text.startswith("Politiek, geld\nHet kabinet komt vandaag met de voorjaarsnota.\n")
    assert "🧵" in nota.text
    assert nota.author == "lotte"  # a local account: acct without @instance
    assert nota.tags == ("nederland", "politiek")

    assert by_id["116226909798400005"].text.startswith("Lovely morning in Utrecht & the canals")
    assert by_id["116226909798400005"].lang == "en"
    assert by_id["116226892038144001"].lang is None  # Mastodon could not tell
    assert '"newsjacking"' in by_id["116226867527680009"].text

    piday = by_id["116226519859200003"]
    assert piday.author == "astro_anne@fosstodon.org"
    assert piday.reach == 23800.0

    link = by_id[
        "link:https://nos.nl/artikel/2606412-ijs-nog-te-dun-voor-elfstedentocht-maar-vereniging-houdt-hoop"
    ]
    assert link.title == "IJs nog te dun voor Elfstedentocht, maar vereniging houdt hoop"
    assert link.text.startswith("De Vereniging De Friesche Elf Steden zegt")
    assert link.author == "NOS"
    assert link.reach == 322.0  # today's uses
    assert link.created_at == datetime(2026, 3, 14, 7, 12, tzinfo=UTC)
    assert link.lang == "nl"
    nota_link = by_id[
        "link:https://www.rijksoverheid.nl/actueel/nieuws/2026/03/14/voorjaarsnota-2026"
    ]
    assert nota_link.created_at == NOW  # no publication date: first seen now
    assert nota_link.author == "Ministerie van Financiën"

    signals = {s.term: s for s in result.signals}
    assert set(signals) == {"elfstedentocht", "voorjaarsnota", "piday"}
    elf = signals["elfstedentocht"]
    assert elf.title == "#Elfstedentocht"
    assert elf.traffic == 1387.0  # today's uses, not the week's
    assert elf.url == "https://mastodon.social/tags/Elfstedentocht"
    assert elf.observed_at == NOW
    assert elf.source == "ms"

    tag_requests = fake.requests_for("/api/v1/timelines/tag/")
    assert [r.path for r in tag_requests] == ["/api/v1/timelines/tag/Nederland"]
    assert tag_requests[0].query == {"limit": "20"}  # first read: the newest page, no min_id
    assert {r.path for r in fake.requests_for("/api/v1/trends/")} == {
        "/api/v1/trends/tags",
        "/api/v1/trends/statuses",
        "/api/v1/trends/links",
    }
    assert fake.requests_for("/api/v1/trends/tags")[0].query == {"limit": "20"}
    assert cursor_of(result) == {"tag:nederland": "116226935488512011"}
    assert all("authorization" not in r.headers for r in fake.requests)


def test_local_timeline_reads_only_local_statuses(fake: FakeMastodon, client: httpx.Client) -> None:
    fake.add(*fixture("tag_nederland.json"))
    result = source(fake.base_url, client, timeline="local").fetch(SourceState("ms"), NOW)
    assert result.ok, result.error
    assert [p.author for p in result.posts] == ["lotte"]
    assert fake.requests[0].query == {"local": "true", "limit": "40"}
    assert cursor_of(result) == {"local": "116226923102208002"}


def test_via_build_source_from_the_registry(fake: FakeMastodon, client: httpx.Client) -> None:
    fake.add(*fixture("tag_nederland.json"))
    src = build_source(config(fake.base_url, hashtags=("nederland",)), client)
    assert isinstance(src, MastodonSource)
    assert src.id == "ms"
    assert src.kind == "mastodon"
    assert len(src.fetch(SourceState("ms"), NOW).posts) == 5


@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus/mastodon is not present")
def test_recorded_answers_of_a_real_mastodon(feed_server: FeedServer, client: httpx.Client) -> None:
    """Bodies and headers as a Mastodon 4.6 server sent them (Mastodon.py's test cassettes)."""

    def serve(path: str, name: str) -> dict[str, Any]:
        recorded = json.loads((CORPUS / name).read_text(encoding="utf-8"))
        headers = {
            k: v
            for k, v in recorded["headers"].items()
            if k in ("link", "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")
        }
        feed_server.serve(
            path,
            json.dumps(recorded["body"]).encode(),
            content_type=recorded["headers"]["content-type"],
            status=recorded["status"],
            headers=headers,
        )
        assert isinstance(recorded["body"], list)
        return recorded

    public = serve("/api/v1/timelines/public", "test_public_tl__2.json")
    hoot = serve("/api/v1/timelines/tag/hoot", "test_hashtag_tl__2.json")
    serve("/api/v1/trends/tags", "test_trending_tags__0.json")
    serve("/api/v1/trends/statuses", "test_trending_statuses__0.json")
    serve("/api/v1/trends/links", "test_trending_links__0.json")
    src = source(feed_server.base_url, client, hashtags=("hoot",), timeline="public", trends=True)
    now = datetime(2026, 8, 1, 14, 0, tzinfo=UTC)

    first = src.fetch(SourceState("ms"), now)

    assert first.ok, first.error
    assert first.signals == []  # a fresh server has no trends: an empty list, not an error
    expected_ids = {s["id"] for s in public["body"]} | {s["id"] for s in hoot["body"]}
    assert {p.id for p in first.posts} == expected_ids
    for post, raw in zip(first.posts, hoot["body"] + public["body"], strict=False):
        assert post.created_at.tzinfo is not None
        assert post.created_at.utcoffset() == timedelta(0)
        assert "<" not in post.text
        assert post.author == raw["account"]["acct"]
    toot = next(p for p in first.posts if p.id == "117020593378945190")
    assert toot.text == "Toot, finally!"
    assert toot.lang == "ja"  # the server's guess, kept as given
    assert toot.url == "http://localhost:3000/@mastodonpy_test_2/117020593378945190"
    assert toot.created_at == datetime(2026, 8, 1, 13, 55, 50, 338000, tzinfo=UTC)
    assert toot.reach == 0.0  # followers_count 0 is a count, not a missing one
    cursor = cursor_of(first)
    assert cursor == {
        "public": max(public["body"], key=lambda s: int(s["id"]))["id"],
        "tag:hoot": hoot["body"][0]["id"],
    }

    # The recorded server always answers the same page: the second poll asks with min_id and
    # keeps nothing it already had. The recorded Link points at localhost:3000 and is not
    # followed (and no page is full, so no paging either).
    feed_server.clear_requests()
    second = src.fetch(SourceState("ms", cursor=first.cursor, polls=1), now)
    assert second.ok, second.error
    assert second.posts == []
    assert cursor_of(second) == cursor
    queries = {r.path for r in feed_server.requests}
    assert "/api/v1/timelines/public?limit=40&min_id=" + cursor["public"] in queries
    assert all("localhost:3000" not in r.path for r in feed_server.requests)


# ---------------------------------------------------------------------------------------------
# Paging and the cursor


def test_cursor_resume_across_polls_stores_every_status_once(
    database_url: str, fake: FakeMastodon, client: httpx.Client
) -> None:
    """Through the poller and a real store: a burst between polls is paged forward with min_id
    and Link rel="prev"; nothing lost, nothing twice."""
    store = Store(database_url)
    cfg = config(fake.base_url, hashtags=("elfstedentocht",), timeline="public", limit=20)
    src = build_source(cfg, client)
    early = statuses(7, NOW - timedelta(hours=1))
    fake.add(*early)

    first = poll(src, cfg, store, NOW)
    assert first.error is None
    assert {p.id for p in first.backlog} == {s["id"] for s in early}
    assert store.count_posts(source="ms") == 7

    burst = statuses(53, NOW - timedelta(minutes=30))
    fake.add(*burst)
    fake.clear_requests()
    second = poll(src, cfg, store, NOW + timedelta(minutes=2))
    assert second.error is None
    assert sorted(p.id for p in second.new_posts) == sorted(s["id"] for s in burst)
    assert store.count_posts(source="ms") == 60
    tag_requests = fake.requests_for("/api/v1/timelines/tag/")
    # 53 new statuses at 20 a page: three pages forward, the first from the saved cursor.
    assert len(tag_requests) == 3
    assert tag_requests[0].query["min_id"] == max(s["id"] for s in early)
    assert [r.query["min_id"] for r in tag_requests[1:]] == [burst[19]["id"], burst[39]["id"]]
    state = store.source_state("ms")
    assert json.loads(state.cursor or "") == {
        "public": burst[-1]["id"],
        "tag:elfstedentocht": burst[-1]["id"],
    }

    late = statuses(2, NOW + timedelta(minutes=3))
    fake.add(*late)
    third = poll(src, cfg, store, NOW + timedelta(minutes=4))
    assert sorted(p.id for p in third.new_posts) == sorted(s["id"] for s in late)
    fourth = poll(src, cfg, store, NOW + timedelta(minutes=6))
    assert fourth.new_posts == ()
    assert store.count_posts(source="ms") == 62
    assert store.source_state("ms").failures_in_a_row == 0


def test_a_hashtag_added_later_starts_with_history_not_alerts(
    database_url: str, fake: FakeMastodon, client: httpx.Client
) -> None:
    """Adding a hashtag to a source that already runs must not alert on that tag's past."""
    store = Store(database_url)
    before = config(fake.base_url, hashtags=("elfstedentocht",), trends=False)
    fake.add(*statuses(3, NOW - timedelta(hours=2)))
    poll(build_source(before, client), before, store, NOW)

    fake.add(*statuses(4, NOW - timedelta(minutes=20), tag="werkplek"))
    after = config(fake.base_url, hashtags=("elfstedentocht", "werkplek"), trends=False)
    outcome = poll(build_source(after, client), after, store, NOW + timedelta(minutes=5))
    assert outcome.error is None
    assert outcome.new_posts == ()
    assert len(outcome.backlog) == 4
    assert store.posts_to_check() == []  # never scored for alerts

    fresh = statuses(2, NOW + timedelta(minutes=6), tag="werkplek")
    fake.add(*fresh)
    later = poll(build_source(after, client), after, store, NOW + timedelta(minutes=10))
    assert sorted(p.id for p in later.new_posts) == sorted(s["id"] for s in fresh)


def test_a_busy_timeline_is_read_a_bounded_number_of_pages_and_continued(
    fake: FakeMastodon, client: httpx.Client
) -> None:
    fake.add(*statuses(1, NOW - timedelta(hours=2)))
    src = source(fake.base_url, client, hashtags=("elfstedentocht",), limit=5)
    first = src.fetch(SourceState("ms"), NOW)
    burst = statuses(40, NOW - timedelta(hours=1))
    fake.add(*burst)
    fake.clear_requests()

    second = src.fetch(SourceState("ms", cursor=first.cursor, polls=1), NOW)
    assert second.ok, second.error
    assert len(fake.requests) == 5  # MAX_PAGES pages, then stop
    assert sorted(p.id for p in second.posts) == sorted(s["id"] for s in burst[:25])
    assert cursor_of(second) == {"tag:elfstedentocht": burst[24]["id"]}

    third = src.fetch(SourceState("ms", cursor=second.cursor, polls=2), NOW)
    assert sorted(p.id for p in third.posts) == sorted(s["id"] for s in burst[25:])
    assert cursor_of(third) == {"tag:elfstedentocht": burst[-1]["id"]}


def test_a_prev_link_to_another_host_is_not_followed(
    fake: FakeMastodon, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The token goes to the configured instance only, even when a Link header points away."""
    monkeypatch.setenv(TOKEN_ENV, SECRET)
    fake.require_token = SECRET
    old = statuses(3, NOW - timedelta(hours=2))
    page = statuses(3, NOW - timedelta(hours=1))
    with FakeMastodon() as elsewhere:
        elsewhere.add(*page)
        fake.override(
            "/api/v1/timelines/tag/elfstedentocht",
            json.dumps(list(reversed(page))).encode(),
            headers={
                "Link": f'<{elsewhere.base_url}/api/v1/x?min_id={page[-1]["id"]}>; rel="prev"'
            },
        )
        src = source(
            fake.base_url, client, hashtags=("elfstedentocht",), token_env=TOKEN_ENV, limit=3
        )
        state = SourceState("ms", cursor=json.dumps({"tag:elfstedentocht": old[-1]["id"]}))
        result = src.fetch(state, NOW)
        assert result.ok, result.error
        assert elsewhere.requests == []
    second = fake.requests[1]
    assert second.query["min_id"] == page[-1]["id"]  # built from the page, on our instance
    assert all(r.headers.get("authorization") == f"Bearer {SECRET}" for r in fake.requests)


# ---------------------------------------------------------------------------------------------
# Rate limits


def test_remaining_zero_stops_requests_and_waits_for_the_reset(
    database_url: str, fake: FakeMastodon, client: httpx.Client
) -> None:
    store = Store(database_url)
    fake.add(*statuses(2, NOW - timedelta(hours=1), tag="a"))
    fake.add(*statuses(2, NOW - timedelta(hours=1), tag="b"))
    fake.add(*statuses(2, NOW - timedelta(hours=1), tag="c"))
    fake.trend_tags = fixture("trends_tags.json")
    fake.rate_limit = fake.remaining = 2
    fake.reset_in = 120
    cfg = config(fake.base_url, hashtags=("a", "b", "c"), trends=True)
    src = build_source(cfg, client)

    result = src.fetch(SourceState("ms"), NOW)

    assert result.ok, result.error
    assert len(fake.requests) == 2  # the answer said 0 left: no third request
    assert result.retry_after is not None
    assert 100 <= result.retry_after <= 121
    assert cursor_of(result).keys() == {"tag:a", "tag:b"}
    assert len(result.posts) == 4
    assert result.note is not None
    assert "rate limit" in result.note
    assert "#c timeline" in result.note
    assert "trends" in result.note

    # Through the poller and a store: the wait is recorded, the next poll does not even ask,
    # and after the reset the parts left over are read.
    fake.remaining = 2
    fake.clear_requests()
    outcome = poll(src, cfg, store, NOW)
    assert outcome.error is None
    assert len(outcome.backlog) == 4
    assert len(fake.requests) == 2
    state = store.source_state("ms")
    assert state.retry_after_until is not None
    assert state.retry_after_until >= NOW + timedelta(seconds=100)
    assert state.note is not None
    fake.clear_requests()
    skipped = poll(src, cfg, store, NOW + timedelta(seconds=30))
    assert skipped.skipped is not None
    assert "wait" in skipped.skipped
    assert fake.requests == []

    fake.remaining = 300
    later = poll(src, cfg, store, NOW + timedelta(minutes=3))
    assert later.error is None
    # #c was never read before: its first page is history (stored, never alerted).
    assert later.new_posts == ()
    assert sorted(p.tags[0] for p in later.backlog) == ["c", "c"]
    assert json.loads(store.source_state("ms").cursor or "").keys() == {"tag:a", "tag:b", "tag:c"}
    assert store.source_state("ms").note is None
    assert {t.term for t in store.external_trends_since(NOW)} == {
        "elfstedentocht",
        "voorjaarsnota",
        "piday",
    }


def test_429_is_an_error_with_retry_after_and_no_more_requests(
    fake: FakeMastodon, client: httpx.Client
) -> None:
    fake.remaining = 0
    fake.retry_after = "90"
    src = source(fake.base_url, client, hashtags=("a", "b"), timeline="public", trends=True)
    result = src.fetch(SourceState("ms", cursor='{"tag:a":"1"}'), NOW)
    assert not result.ok
    assert result.error is not None
    assert result.error.startswith("mastodon source 'ms': #a timeline: rate limited (HTTP 429")
    assert result.retry_after == 90.0
    assert result.status == 429
    assert len(fake.requests) == 1


def test_429_without_retry_after_waits_for_the_rate_limit_reset(
    fake: FakeMastodon, client: httpx.Client
) -> None:
    fake.remaining = 0
    fake.reset_in = 200
    result = source(fake.base_url, client, trends=True).fetch(SourceState("ms"), NOW)
    assert not result.ok
    assert result.retry_after is not None
    assert 180 <= result.retry_after <= 201
    assert len(fake.requests) == 1


def test_429_through_the_poller_keeps_the_cursor_and_waits(
    database_url: str, fake: FakeMastodon, client: httpx.Client
) -> None:
    store = Store(database_url)
    cfg = config(fake.base_url, hashtags=("elfstedentocht",))
    src = build_source(cfg, client)
    fake.add(*statuses(3, NOW - timedelta(hours=1)))
    poll(src, cfg, store, NOW)
    saved = store.source_state("ms").cursor
    fake.remaining = 0
    fake.retry_after = "300"
    outcome = poll(src, cfg, store, NOW + timedelta(minutes=2))
    assert outcome.error is not None
    state = store.source_state("ms")
    assert state.cursor == saved
    assert state.retry_after_until == NOW + timedelta(minutes=7)
    fake.clear_requests()
    assert poll(src, cfg, store, NOW + timedelta(minutes=4)).skipped is not None
    assert fake.requests == []


# ---------------------------------------------------------------------------------------------
# Errors


def test_malformed_json_is_a_per_source_error(fake: FakeMastodon, client: httpx.Client) -> None:
    fake.override("/api/v1/timelines/tag/nederland", b'[{"id": "1", "content": "<p>half')
    result = source(fake.base_url, client, hashtags=("nederland",)).fetch(SourceState("ms"), NOW)
    assert result.error is not None
    assert result.error.startswith("mastodon source 'ms': #nederland timeline: malformed JSON (")
    assert " — " in result.error
    assert result.posts == []


def test_an_html_page_instead_of_json_says_so(fake: FakeMastodon, client: httpx.Client) -> None:
    fake.override(
        "/api/v1/timelines/public",
        b"<!DOCTYPE html><html><body>Welkom op onze blog</body></html>",
        content_type="text/html; charset=utf-8",
    )
    result = source(fake.base_url, client, timeline="public").fetch(SourceState("ms"), NOW)
    assert result.error is not None
    assert "got an HTML page, not JSON" in result.error


def test_json_of_the_wrong_shape_is_an_error(fake: FakeMastodon, client: httpx.Client) -> None:
    fake.override("/api/v1/timelines/public", b'{"error": "Er ging iets mis"}')
    result = source(fake.base_url, client, timeline="public").fetch(SourceState("ms"), NOW)
    assert result.error is not None
    assert "expected a list of statuses, got a JSON object (Er ging iets mis)" in result.error


def test_one_broken_part_keeps_the_others_and_leaves_a_note(
    fake: FakeMastodon, client: httpx.Client
) -> None:
    fake.add(*statuses(3, NOW - timedelta(hours=1), tag="werkplek"))
    fake.override("/api/v1/timelines/tag/nederland", b"[{")
    state = SourceState("ms", cursor='{"tag:nederland":"42","tag:werkplek":"1"}', polls=3)
    result = source(fake.base_url, client, hashtags=("nederland", "werkplek")).fetch(state, NOW)
    assert result.ok, result.error
    assert len(result.posts) == 3
    assert result.note is not None
    assert result.note.startswith("mastodon source 'ms': #nederland timeline: malformed JSON")
    cursor = cursor_of(result)
    assert cursor["tag:nederland"] == "42"  # not advanced: read again next time
    assert "tag:werkplek" in cursor


def test_login_required_without_a_token_is_a_clear_error(
    fake: FakeMastodon, client: httpx.Client
) -> None:
    fake.require_token = "whatever"
    src = source(fake.base_url, client, hashtags=("nederland",), timeline="public", trends=True)
    result = src.fetch(SourceState("ms"), NOW)
    assert result.error is not None
    assert result.error.startswith(
        "mastodon source 'ms': #nederland timeline: requires login (HTTP 401: This API requires "
        "an authenticated user) — set token_env to the name of an environment variable"
    )
    assert "public timeline" in result.error  # the other parts are named too
    assert result.status == 401


def test_login_required_with_token_env_unset_names_the_variable(
    fake: FakeMastodon, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    fake.require_token = SECRET
    src = source(fake.base_url, client, timeline="local", token_env=TOKEN_ENV)
    result = src.fetch(SourceState("ms"), NOW)
    assert result.error is not None
    assert f"${TOKEN_ENV} is not set" in result.error
    assert f"set the environment variable {TOKEN_ENV}" in result.error


def test_token_from_env_is_sent_as_bearer_and_never_shown(
    fake: FakeMastodon, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, SECRET)
    fake.require_token = SECRET
    fake.add(*fixture("tag_nederland.json"))
    fake.trend_tags = fixture("trends_tags.json")
    src = source(fake.base_url, client, hashtags=("nederland",), trends=True, token_env=TOKEN_ENV)

    ok = src.fetch(SourceState("ms"), NOW)
    assert ok.ok, ok.error
    assert len(ok.posts) == 5
    assert fake.requests
    assert all(r.headers["authorization"] == f"Bearer {SECRET}" for r in fake.requests)

    # The token is read at fetch time: a rotated token is used without rebuilding the source.
    monkeypatch.setenv(TOKEN_ENV, "oud-en-ingetrokken")
    refused = src.fetch(SourceState("ms"), NOW)
    assert refused.error is not None
    assert "the access token was refused (HTTP 401" in refused.error
    assert f"${TOKEN_ENV}" in refused.error
    assert "oud-en-ingetrokken" not in refused.error

    # A server that echoes the token back in its error text never gets it into ours.
    monkeypatch.setenv(TOKEN_ENV, SECRET)
    fake.override(
        "/api/v1/timelines/tag/nederland",
        json.dumps({"error": f"Token {SECRET} has expired"}).encode(),
        status=401,
    )
    echoed = src.fetch(SourceState("ms"), NOW)
    assert echoed.ok  # the trends were read; the refused timeline is a note
    assert echoed.note is not None
    assert "the access token was refused (HTTP 401: Token *** has expired)" in echoed.note
    assert SECRET not in echoed.note


def test_a_malformed_answer_that_echoes_the_token_late_shows_no_piece_of_it(
    fake: FakeMastodon, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 200 with an object instead of a list, whose "error" text carries the token where the
    160-character cut would fall: the cause is quoted, the token in no form."""
    monkeypatch.setenv(TOKEN_ENV, SECRET)
    fake.require_token = SECRET
    fake.override(
        "/api/v1/timelines/tag/nederland",
        json.dumps({"error": "x" * 139 + f" session {SECRET} is not allowed here"}).encode(),
        status=200,
    )
    src = source(fake.base_url, client, hashtags=("nederland",), token_env=TOKEN_ENV)
    result = src.fetch(SourceState("ms"), NOW)
    shown = f"{result.error} {result.note}"
    assert "unexpected answer: expected a list of statuses, got a JSON object" in shown
    for start in range(len(SECRET) - 7):
        assert SECRET[start : start + 8] not in shown


def test_trends_switched_off_is_an_error_when_nothing_else_is_read(
    fake: FakeMastodon, client: httpx.Client
) -> None:
    fake.trend_tags = fake.trend_statuses = fake.trend_links = None  # 404, as before 3.5
    result = source(fake.base_url, client, trends=True).fetch(SourceState("ms"), NOW)
    assert result.error is not None
    assert result.error.startswith(
        "mastodon source 'ms': trends: trends are switched off on this instance (HTTP 404"
    )
    assert result.error.endswith("set trends: false for this source")
    assert len(fake.requests) == 1  # one answer tells; the other two endpoints are not asked


def test_trends_switched_off_next_to_hashtags_is_a_note(
    fake: FakeMastodon, client: httpx.Client
) -> None:
    fake.add(*fixture("tag_nederland.json"))
    fake.trend_tags = fake.trend_statuses = fake.trend_links = None
    src = source(fake.base_url, client, hashtags=("nederland",), trends=True)
    result = src.fetch(SourceState("ms"), NOW)
    assert result.ok, result.error
    assert len(result.posts) == 5
    assert result.note is not None
    assert "trends are switched off on this instance" in result.note


def test_trends_behind_a_login_is_a_clear_error(fake: FakeMastodon, client: httpx.Client) -> None:
    for path in ("/api/v1/trends/tags", "/api/v1/trends/statuses", "/api/v1/trends/links"):
        fake.override(path, b'{"error":"This API requires an authenticated user"}', status=401)
    result = source(fake.base_url, client, trends=True).fetch(SourceState("ms"), NOW)
    assert result.error is not None
    assert result.error.startswith("mastodon source 'ms': trends: requires login (HTTP 401")
    assert "token_env" in result.error
    assert "or set trends: false" in result.error


def test_an_unknown_instance_is_a_clear_error(client: httpx.Client) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens here
    src = source(f"http://127.0.0.1:{port}", client, hashtags=("a", "b"), trends=True)
    result = src.fetch(SourceState("ms"), NOW)
    assert result.error is not None
    assert result.error.startswith(
        f"mastodon source 'ms': #a timeline: cannot connect to 127.0.0.1:{port} ("
    )
    assert "check the instance URL in feeds.yaml" in result.error
    assert "#b" not in result.error  # stopped at the first connection failure


def test_a_server_error_stops_the_fetch(fake: FakeMastodon, client: httpx.Client) -> None:
    fake.override("/api/v1/timelines/tag/a", b"<h1>502 Bad Gateway</h1>", status=502)
    src = source(fake.base_url, client, hashtags=("a", "b"), trends=True)
    result = src.fetch(SourceState("ms"), NOW)
    assert result.error is not None
    assert "server error (HTTP 502)" in result.error
    assert len(fake.requests) == 1


def test_nothing_configured_is_an_error(fake: FakeMastodon, client: httpx.Client) -> None:
    result = source(fake.base_url, client).fetch(SourceState("ms"), NOW)
    assert result.error is not None
    assert result.error.startswith("mastodon source 'ms': configuration: nothing to read")
    assert fake.requests == []


# ---------------------------------------------------------------------------------------------
# Status details


def test_a_boost_is_the_boosted_status_and_engagement_stands_in_for_followers(
    fake: FakeMastodon, client: httpx.Client
) -> None:
    original = make_status(
        snowflake(NOW - timedelta(minutes=20)),
        "<p>Wie schrijft er mee aan ons dossier over thuiswerken? Deadline 1 april. #werkplek</p>",
        created_at=NOW - timedelta(minutes=20),
        acct="redactie@mastodon.nl",
        followers=None,  # some servers hide follower counts
        tags=("werkplek",),
        reblogs=12,
        favourites=30,
        replies=4,
    )
    boost = make_status(
        snowflake(NOW - timedelta(minutes=5)),
        "",
        created_at=NOW - timedelta(minutes=5),
        acct="fan",
        tags=("werkplek",),
        reblog=original,
    )
    fake.add(boost)
    result = source(fake.base_url, client, hashtags=("werkplek",)).fetch(SourceState("ms"), NOW)
    assert result.ok, result.error
    [post] = result.posts
    assert post.id == original["id"]
    assert post.author == "redactie@mastodon.nl"
    assert post.text.startswith("Wie schrijft er mee")
    assert post.reach == 42.0  # reblogs + favourites, as followers are missing
    assert cursor_of(result) == {"tag:werkplek": boost["id"]}  # paging follows the timeline ids


def test_future_dates_are_clamped_to_now(fake: FakeMastodon, client: httpx.Client) -> None:
    ahead = make_status(
        snowflake(NOW),
        "<p>Klok loopt voor</p>",
        created_at=NOW + timedelta(days=2),
        tags=("klok",),
    )
    slightly = make_status(
        snowflake(NOW, 1),
        "<p>Klok loopt een beetje voor</p>",
        created_at=NOW + timedelta(minutes=10),
        tags=("klok",),
    )
    fake.add(ahead, slightly)
    result = source(fake.base_url, client, hashtags=("klok",)).fetch(SourceState("ms"), NOW)
    by_id = {p.id: p for p in result.posts}
    assert by_id[ahead["id"]].created_at == NOW
    assert by_id[slightly["id"]].created_at == NOW + timedelta(minutes=10)


def test_source_lang_is_the_fallback_language(fake: FakeMastodon, client: httpx.Client) -> None:
    fake.add(
        make_status(
            snowflake(NOW - timedelta(minutes=1)),
            "<p>Geen taal opgegeven</p>",
            created_at=NOW - timedelta(minutes=1),
            language=None,
            tags=("nl",),
        )
    )
    cfg = config(fake.base_url, hashtags=("nl",))
    cfg = SourceConfig(
        id=cfg.id, kind=cfg.kind, interval=cfg.interval, lang="nl-BE", options=cfg.options
    )
    [post] = MastodonSource(cfg, client=client).fetch(SourceState("ms"), NOW).posts
    assert isinstance(post, Post)
    assert post.lang == "nl"


def test_a_corrupt_saved_cursor_starts_afresh(fake: FakeMastodon, client: httpx.Client) -> None:
    fake.add(*statuses(2, NOW - timedelta(hours=1), tag="a"))
    state = SourceState("ms", cursor="not json", polls=4)
    result = source(fake.base_url, client, hashtags=("a",)).fetch(state, NOW)
    assert result.ok, result.error
    # Without a usable cursor nothing says what is new: the page is history, never alerted.
    assert result.posts == []
    assert len(result.backlog) == 2
    assert "min_id" not in fake.requests[0].query


def test_without_a_client_the_source_makes_and_closes_its_own(fake: FakeMastodon) -> None:
    fake.add(*statuses(1, NOW - timedelta(hours=1), tag="a"))
    src = MastodonSource(config(fake.base_url, hashtags=("a",)))
    try:
        assert len(src.fetch(SourceState("ms"), NOW).posts) == 1
    finally:
        src.close()
