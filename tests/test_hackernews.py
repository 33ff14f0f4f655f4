"""Tests for the Hacker News source against a fake Firebase and Algolia API on a local socket.

tests/fake_api.py answers like the real APIs (id lists, items, deleted and dead items, search
hits filtered by `created_at_i`), slowly, broken or with errors when a test asks; the adapter
talks to it over real HTTP, and nothing in the project is patched.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

import httpx
import pytest

from bot.config import SourceConfig, parse_config
from bot.config_sources import HackerNewsSourceModel, options_of
from bot.http import make_client
from bot.poller import build_source, poll
from bot.sources.base import FetchResult, SourceState
from bot.sources.hackernews import HackerNewsSource
from bot.store import Store
from tests.fake_api import FakeApi, Reply, Request

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
NOW_TS = int(NOW.timestamp())
FIXTURES = Path(__file__).parent / "fixtures" / "hackernews"
LISTS = {"top": "topstories", "new": "newstories", "best": "beststories"}
ITEM_ROUTE = r"/v0/item/(\d+)\.json"


class FakeHackerNews:
    """The Firebase v0 API (lists and items) and Algolia's search_by_date, as state to edit."""

    def __init__(self, api: FakeApi) -> None:
        self.api = api
        self.lists: dict[str, list[int]] = {name: [] for name in LISTS.values()}
        self.items: dict[int, dict[str, Any] | None] = {}
        self.item_delay: dict[int, float] = {}
        self.hits: list[dict[str, Any]] = []
        self.search_status = 200
        api.route_pattern(r"/v0/(topstories|newstories|beststories)\.json", self._list)
        api.route_pattern(ITEM_ROUTE, self._item)
        api.route("/algolia/api/v1/search_by_date", self._search)

    @property
    def base_url(self) -> str:
        return self.api.base_url + "/v0"

    @property
    def algolia_url(self) -> str:
        return self.api.base_url + "/algolia/api/v1"

    def story(self, item_id: int, **fields: Any) -> None:
        item = {
            "id": item_id,
            "type": "story",
            "by": f"user{item_id}",
            "time": NOW_TS - 7200,
            "title": f"Story {item_id}",
            "url": f"https://example.com/{item_id}",
            "score": 10,
            "descendants": 2,
        }
        item.update(fields)
        self.items[item_id] = item

    def _list(self, request: Request) -> Reply:
        return Reply(self.lists[request.groups[0]])

    def _item(self, request: Request) -> Reply:
        item_id = int(request.groups[0])
        return Reply(self.items.get(item_id), delay=self.item_delay.get(item_id, 0.0))

    def _search(self, request: Request) -> Reply:
        if self.search_status != 200:
            return Reply({"message": "oops"}, self.search_status)
        query = (request.arg("query") or "").lower()
        floor = int((request.arg("numericFilters") or "created_at_i>0").split(">", 1)[1])
        hits = [
            hit
            for hit in self.hits
            if query in hit["title"].lower() and hit["created_at_i"] > floor
        ]
        hits.sort(key=lambda hit: hit["created_at_i"], reverse=True)
        return Reply({"hits": hits, "nbHits": len(hits), "page": 0, "nbPages": 1})

    def hit(self, item_id: int, title: str, created_at_i: int, points: int = 3) -> None:
        self.hits.append(
            {
                "objectID": str(item_id),
                "title": title,
                "url": None,
                "author": "pg",
                "points": points,
                "num_comments": 1,
                "story_text": "<p>Body &amp; more</p>",
                "created_at_i": created_at_i,
                "created_at": datetime.fromtimestamp(created_at_i, UTC).isoformat(),
            }
        )


@pytest.fixture
def api(no_proxy_env: None) -> Iterator[FakeApi]:
    with FakeApi() as server:
        yield server


@pytest.fixture
def hn(api: FakeApi) -> FakeHackerNews:
    return FakeHackerNews(api)


@pytest.fixture
def client(no_proxy_env: None) -> Iterator[httpx.Client]:
    with make_client(timeout=10.0) as client:
        yield client


def make_source(
    hn: FakeHackerNews,
    client: httpx.Client,
    *,
    watch_terms: tuple[str, ...] = (),
    deadline: float = 10.0,
    **options: Any,
) -> HackerNewsSource:
    model = HackerNewsSourceModel(
        id="hn",
        kind="hackernews",
        base_url=hn.base_url,
        algolia_url=hn.algolia_url,
        **options,
    )
    config = SourceConfig(
        id="hn",
        kind="hackernews",
        interval=timedelta(minutes=10),
        options=MappingProxyType(options_of(model)),
    )
    return HackerNewsSource(config, client, watch_terms=watch_terms, deadline=deadline)


def fetch(source: HackerNewsSource, previous: FetchResult | None, now: datetime) -> FetchResult:
    cursor = previous.cursor if previous is not None else None
    return source.fetch(SourceState("hn", cursor=cursor), now)


def test_happy_path_skips_dead_and_deleted_items(hn: FakeHackerNews, client: httpx.Client) -> None:
    """Stories become posts with every field filled; dead and deleted items are left out."""
    items = json.loads((FIXTURES / "items.json").read_text(encoding="utf-8"))
    hn.items = {int(key): value for key, value in items.items()}
    hn.lists["topstories"] = [43001, 43002, 43003, 43004]
    result = make_source(hn, client).fetch(SourceState("hn"), NOW)

    assert result.ok, result.error
    assert result.note is None
    assert [post.id for post in result.posts] == ["43001", "43004"]
    story, ask = result.posts
    assert story.source == "hn"
    assert story.title == "Gemeente Amsterdam opent haar data"
    assert story.text == "Gemeente Amsterdam opent haar data"
    assert story.url == "https://example.nl/open-data"
    assert story.author == "jdoe"
    assert story.created_at == datetime.fromtimestamp(1772445600, UTC)
    assert story.tags == ("hn:top",)
    assert story.reach == 57.0
    assert story.lang == "en"
    # Ask HN: no link, so the discussion page; the story text is HTML made plain.
    assert ask.url == "https://news.ycombinator.com/item?id=43004"
    assert ask.text == "Ask HN: Who uses Slack bots for PR?\nWe are a small team & we want alerts."
    assert ask.title == "Ask HN: Who uses Slack bots for PR?"


def test_items_on_several_lists_are_fetched_once_and_tagged_with_each(
    hn: FakeHackerNews, api: FakeApi, client: httpx.Client
) -> None:
    """max_items caps each list; an id on two lists is one request and one post."""
    for item_id in (1, 2, 3, 4):
        hn.story(item_id)
    hn.lists["topstories"] = [1, 2, 3]
    hn.lists["beststories"] = [2, 4, 1]
    result = make_source(hn, client, lists=["top", "best"], max_items=2).fetch(
        SourceState("hn"), NOW
    )
    assert result.ok, result.error
    assert {post.id: post.tags for post in result.posts} == {
        "1": ("hn:top",),
        "2": ("hn:top", "hn:best"),
        "4": ("hn:best",),
    }
    fetched = sorted(int(r.groups[0]) for r in api.requests_for(ITEM_ROUTE))
    assert fetched == [1, 2, 4]


def test_item_requests_run_concurrently_but_at_most_eight_at_a_time(
    hn: FakeHackerNews, api: FakeApi, client: httpx.Client
) -> None:
    ids = list(range(100, 140))
    for item_id in ids:
        hn.story(item_id)
        hn.item_delay[item_id] = 0.05
    hn.lists["newstories"] = ids
    result = make_source(hn, client, lists=["new"], max_items=40).fetch(SourceState("hn"), NOW)

    assert result.ok, result.error
    assert len(result.posts) == 40
    assert len(api.requests_for(ITEM_ROUTE)) == 40
    assert 2 <= api.max_in_flight(ITEM_ROUTE) <= 8


def test_a_slow_item_does_not_stall_the_poll(
    hn: FakeHackerNews, api: FakeApi, client: httpx.Client
) -> None:
    """The item still unanswered at the deadline is given up, counted in the note, retried."""
    for item_id in (1, 2, 3):
        hn.story(item_id)
    hn.item_delay[2] = 5.0  # the client's own timeout (10 s) would wait for it
    hn.lists["topstories"] = [1, 2, 3]
    source = make_source(hn, client, deadline=0.5)

    result = source.fetch(SourceState("hn"), NOW)

    # The poll came back while the slow item's answer was still being delayed by the server.
    assert api.in_flight(ITEM_ROUTE) == 1
    assert result.ok, result.error
    assert [post.id for post in result.posts] == ["1", "3"]
    assert result.note == (
        "1 of 3 items could not be read (no answer within 0.5s); they are tried again next poll"
    )
    # Not remembered as fetched, so the next poll asks for it again.
    assert "2" not in json.loads(result.cursor or "{}")["seen"]


def test_velocity_is_measured_across_two_polls(hn: FakeHackerNews, client: httpx.Client) -> None:
    """Points and comments per hour since first seen; a fast story is tagged velocity:high."""
    hn.story(1, score=10, descendants=3)  # posted 2 h ago: 4.5 points/hour so far
    hn.story(2, score=5, descendants=0)
    hn.lists["topstories"] = [1, 2]
    source = make_source(hn, client)
    first = fetch(source, None, NOW)
    assert first.ok, first.error
    assert all("velocity:high" not in post.tags for post in first.posts)
    seen = json.loads(first.cursor or "{}")["seen"]
    assert seen["1"] == [NOW_TS, 10, 3, NOW_TS]

    hn.story(1, score=80, descendants=10)  # +70 points in the hour since first seen
    hn.story(2, score=7, descendants=60)  # few points, but +60 comments in the hour
    hn.story(3, score=2, time=NOW_TS + 3000)  # new: 1 point in its first 10 minutes
    hn.lists["topstories"] = [1, 2, 3]
    second = fetch(source, first, NOW + timedelta(hours=1))
    assert second.ok, second.error
    tags = {post.id: post.tags for post in second.posts}
    assert tags == {
        "1": ("hn:top", "velocity:high"),
        "2": ("hn:top", "velocity:high"),
        "3": ("hn:top",),
    }
    reach = {post.id: post.reach for post in second.posts}
    assert reach == {"1": 80.0, "2": 7.0, "3": 2.0}
    seen = json.loads(second.cursor or "{}")["seen"]
    assert seen["1"] == [NOW_TS, 10, 3, NOW_TS + 3600]  # first sighting kept, fetch time moved


def test_a_fast_new_story_is_tagged_on_first_sight(
    hn: FakeHackerNews, client: httpx.Client
) -> None:
    """Without an earlier sighting the rate is averaged over the story's age."""
    hn.story(1, score=61, time=NOW_TS - 3600)  # 60 points in its first hour
    hn.story(2, score=30, time=NOW_TS - 3600)
    hn.lists["newstories"] = [1, 2]
    result = make_source(hn, client, lists=["new"]).fetch(SourceState("hn"), NOW)
    assert [post.tags for post in result.posts] == [
        ("hn:new", "velocity:high"),
        ("hn:new",),
    ]


def test_items_fetched_within_the_hour_are_not_fetched_again(
    hn: FakeHackerNews, api: FakeApi, client: httpx.Client
) -> None:
    for item_id in (1, 2):
        hn.story(item_id)
    hn.lists["topstories"] = [1, 2]
    source = make_source(hn, client)
    first = fetch(source, None, NOW)
    api.clear_requests()

    hn.story(3)
    hn.lists["topstories"] = [3, 1, 2]
    second = fetch(source, first, NOW + timedelta(minutes=10))
    assert [post.id for post in second.posts] == ["3"]
    assert [r.groups[0] for r in api.requests_for(ITEM_ROUTE)] == ["3"]

    api.clear_requests()
    third = fetch(source, second, NOW + timedelta(minutes=65))
    # An hour after their fetch, 1 and 2 are read again (fresh scores); 3 is not yet due.
    assert sorted(r.groups[0] for r in api.requests_for(ITEM_ROUTE)) == ["1", "2"]
    assert sorted(post.id for post in third.posts) == ["1", "2"]


def test_algolia_search_for_watch_terms_advances_its_created_at_filter(
    hn: FakeHackerNews, api: FakeApi, client: httpx.Client
) -> None:
    hn.lists["topstories"] = []
    hn.hit(501, "Werkplek van de toekomst", NOW_TS - 5000, points=120)
    hn.hit(502, "Remote werkplek tools", NOW_TS - 3000)
    hn.hit(503, "Nothing to see here", NOW_TS - 1000)
    source = make_source(hn, client, watch_terms=("werkplek", "#Twelftal"))
    first = fetch(source, None, NOW)

    assert first.ok, first.error
    assert [post.id for post in first.posts] == ["502", "501"]
    post = first.posts[1]
    assert post.tags == ("hn:search", "velocity:high")  # 119 points in 83 minutes
    assert post.url == "https://news.ycombinator.com/item?id=501"
    assert post.text == "Werkplek van de toekomst\nBody & more"
    assert post.author == "pg"
    assert post.reach == 120.0
    searches = api.requests_for("/algolia/api/v1/search_by_date")
    assert [r.arg("query") for r in searches] == ["werkplek", "Twelftal"]
    assert {r.arg("tags") for r in searches} == {"story"}
    assert searches[0].arg("numericFilters") == f"created_at_i>{NOW_TS - 86400}"

    api.clear_requests()
    hn.hit(504, "Werkplek gezocht", NOW_TS + 300)
    second = fetch(source, first, NOW + timedelta(minutes=10))
    searches = api.requests_for("/algolia/api/v1/search_by_date")
    # From the newest story seen for the term, minus 10 minutes for Algolia's indexing delay.
    assert searches[0].arg("numericFilters") == f"created_at_i>{NOW_TS - 3000 - 600}"
    assert searches[1].arg("numericFilters") == f"created_at_i>{NOW_TS + 600 - 86400}"
    # 502 is in the overlap but was returned ten minutes ago: not returned again.
    assert [post.id for post in second.posts] == ["504"]

    api.clear_requests()
    fetch(source, second, NOW + timedelta(minutes=20))
    searches = api.requests_for("/algolia/api/v1/search_by_date")
    assert searches[0].arg("numericFilters") == f"created_at_i>{NOW_TS + 300 - 600}"


def test_more_than_ten_watch_terms_rotate_across_polls(
    hn: FakeHackerNews, api: FakeApi, client: httpx.Client
) -> None:
    terms = tuple(f"term{n}" for n in range(12))
    source = make_source(hn, client, watch_terms=terms)
    first = fetch(source, None, NOW)
    asked = [r.arg("query") for r in api.requests_for("/algolia/api/v1/search_by_date")]
    assert asked == list(terms[:10])
    api.clear_requests()
    fetch(source, first, NOW + timedelta(minutes=10))
    asked = [r.arg("query") for r in api.requests_for("/algolia/api/v1/search_by_date")]
    assert asked == [*terms[10:], *terms[:8]]


def test_algolia_failing_alone_keeps_the_lists_and_notes_it(
    hn: FakeHackerNews, client: httpx.Client
) -> None:
    hn.story(1)
    hn.lists["topstories"] = [1]
    hn.search_status = 500
    result = make_source(hn, client, watch_terms=("werkplek",)).fetch(SourceState("hn"), NOW)
    assert result.ok, result.error
    assert [post.id for post in result.posts] == ["1"]
    assert result.note == (
        "Hacker News search (Algolia) failed for 'werkplek': server error (HTTP 500) — "
        "the lists were still read; the search is tried again next poll"
    )
    assert json.loads(result.cursor or "{}")["search"] == {}


def test_search_is_off_when_the_option_says_so(
    hn: FakeHackerNews, api: FakeApi, client: httpx.Client
) -> None:
    source = make_source(hn, client, watch_terms=("werkplek",), search_watch_terms=False)
    assert source.fetch(SourceState("hn"), NOW).ok
    assert api.requests_for("/algolia/api/v1/search_by_date") == []


def test_firebase_down_is_an_error(api: FakeApi, hn: FakeHackerNews, client: httpx.Client) -> None:
    api.json("/v0/topstories.json", {"error": "internal"}, status=500)
    result = make_source(hn, client).fetch(SourceState("hn"), NOW)
    assert result.posts == []
    assert result.status == 500
    assert result.error == (
        f"hackernews source 'hn': cannot read the top list ({hn.base_url}/topstories.json): "
        "server error (HTTP 500) — Hacker News may be down; it will be retried with backoff"
    )


def test_one_list_failing_of_several_is_a_note(
    api: FakeApi, hn: FakeHackerNews, client: httpx.Client
) -> None:
    hn.story(1)
    hn.lists["topstories"] = [1]
    api.json("/v0/beststories.json", {"error": "internal"}, status=503)
    result = make_source(hn, client, lists=["top", "best"]).fetch(SourceState("hn"), NOW)
    assert result.ok, result.error
    assert [post.id for post in result.posts] == ["1"]
    assert (
        result.note
        == "the best list could not be read (server error (HTTP 503)); the other lists were"
    )


def test_malformed_json_is_an_error(api: FakeApi, hn: FakeHackerNews, client: httpx.Client) -> None:
    api.json("/v0/topstories.json", b"[43001, 43002,")
    result = make_source(hn, client).fetch(SourceState("hn"), NOW)
    assert result.error is not None
    assert result.error.startswith(
        "hackernews source 'hn': cannot read the top list "
        f"({hn.base_url}/topstories.json): the answer is not JSON ("
    )
    assert result.error.endswith("— Hacker News may be down; it will be retried with backoff")


def test_rate_limited_list_asks_to_wait(
    api: FakeApi, hn: FakeHackerNews, client: httpx.Client
) -> None:
    api.json("/v0/topstories.json", {}, status=429, headers={"Retry-After": "90"})
    result = make_source(hn, client).fetch(SourceState("hn"), NOW)
    assert result.retry_after == 90.0
    assert result.error is not None
    assert "rate limited (HTTP 429) — the server asks to wait 90s" in result.error


def test_every_item_failing_is_an_error(
    api: FakeApi, hn: FakeHackerNews, client: httpx.Client
) -> None:
    hn.lists["topstories"] = [1, 2]
    api.route_pattern(ITEM_ROUTE, lambda request: Reply(b"<html>", 502))
    result = make_source(hn, client).fetch(SourceState("hn"), NOW)
    assert result.error == (
        "hackernews source 'hn': every item request failed (server error (HTTP 502) ×2) — "
        "Hacker News may be down or slow; it will be retried with backoff"
    )


def test_a_broken_cursor_starts_afresh(hn: FakeHackerNews, client: httpx.Client) -> None:
    hn.story(1)
    hn.lists["topstories"] = [1]
    result = make_source(hn, client).fetch(SourceState("hn", cursor="{not json"), NOW)
    assert result.ok, result.error
    assert [post.id for post in result.posts] == ["1"]


def test_two_polls_through_the_poller_store_nothing_twice(
    database_url: str, hn: FakeHackerNews, client: httpx.Client
) -> None:
    """From feeds.yaml to the store: the backlog first, then only what is new."""
    config = parse_config(
        f"""
sources:
  - id: hn
    kind: hackernews
    lists: [top, new]
    max_items: 5
    base_url: {hn.base_url}
    algolia_url: {hn.algolia_url}
watch:
  terms: [werkplek]
"""
    )
    source_config = config.sources[0]
    source = build_source(source_config, client, watch_terms=config.watch_terms)
    store = Store(database_url)
    for item_id in (1, 2, 3):
        hn.story(item_id)
    hn.lists["topstories"] = [1, 2, 3]
    hn.lists["newstories"] = [3, 2]
    hn.hit(2, "Story 2", NOW_TS - 7200)  # found by the search too: the same post id

    first = poll(source, source_config, store, NOW)
    assert first.error is None
    assert sorted(post.id for post in first.backlog) == ["1", "2", "3"]

    hn.story(4, title="Werkplek nieuws")
    hn.lists["newstories"] = [4, 3, 2]
    hn.hit(4, "Werkplek nieuws", NOW_TS + 600)
    second = poll(source, source_config, store, NOW + timedelta(hours=2))
    assert second.error is None
    assert [post.id for post in second.new_posts] == ["4"]

    assert store.count_posts(source="hn") == 4
    state = store.source_state("hn")
    assert state.failures_in_a_row == 0
    assert state.note is None
    store.close()
