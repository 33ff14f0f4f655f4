"""Tests for the X API v2 recent search source against a fake X API on a local socket.

The fake (built on tests/fake_api.py) keeps a timeline of posts and answers recent search the
way X does: bearer token checked, newest first, `since_id` / `until_id` exclusive, `max_results`
between 10 and 100, `next_token` paging, `meta.newest_id`, and 429 with `x-rate-limit-reset`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

import httpx
import pytest

from bot.config import SourceConfig
from bot.config_sources import XSearchSourceModel, options_of
from bot.http import make_client
from bot.poller import poll
from bot.sources.base import FetchResult, SourceState
from bot.sources.x_search import XSearchSource
from bot.store import Store
from tests.fake_api import FakeApi, Reply, Request

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
TOKEN = "AAAAsecret-bearer-token%2Fxyz"
SEARCH = "/2/tweets/search/recent"
FIXTURES = Path(__file__).parent / "fixtures" / "x"
FIRST_ID = 1897000000000000000


class FakeX:
    """Recent search over an in-memory timeline (ids grow with time, as X's snowflakes do)."""

    def __init__(self, api: FakeApi) -> None:
        self.api = api
        self.posts: list[dict[str, Any]] = []
        self.rate_limited_after: int | None = None  # answer 429 once this many pages were served
        self.pages_served = 0
        self.reset_at = int(NOW.timestamp()) + 120
        api.route(SEARCH, self._search)

    @property
    def base_url(self) -> str:
        return self.api.base_url + "/2"

    def add(self, count: int) -> list[str]:
        """Post `count` new posts; return their ids, oldest first."""
        ids = []
        for _ in range(count):
            number = len(self.posts) + 1
            post_id = str(FIRST_ID + number)
            self.posts.append(
                {
                    "id": post_id,
                    "text": f"Bericht {number} over #twelftal",
                    "author_id": "42",
                    "created_at": (NOW - timedelta(minutes=60 - number % 60)).isoformat(),
                    "lang": "nl",
                    "entities": {"hashtags": [{"start": 14, "end": 23, "tag": "twelftal"}]},
                    "public_metrics": {"like_count": number, "retweet_count": 0},
                }
            )
            ids.append(post_id)
        return ids

    def _search(self, request: Request) -> Reply:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            # A careless server that echoes what it got: the adapter must not repeat it.
            sent = request.headers.get("authorization", "")
            return Reply({"title": "Unauthorized", "status": 401, "detail": f"Bad {sent}"}, 401)
        if self.rate_limited_after is not None and self.pages_served >= self.rate_limited_after:
            return Reply(
                {"title": "Too Many Requests", "status": 429, "detail": "Too Many Requests"},
                429,
                headers={"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(self.reset_at)},
            )
        size = int(request.arg("max_results") or 10)
        if not 10 <= size <= 100:
            return Reply({"errors": [{"message": "max_results out of range"}]}, 400)
        since = int(request.arg("since_id") or 0)
        until = int(request.arg("until_id") or 10**30)
        matching = [p for p in reversed(self.posts) if since < int(p["id"]) < until]
        start = int((request.arg("next_token") or "p0")[1:])
        page = matching[start : start + size]
        meta: dict[str, Any] = {"result_count": len(page)}
        if page:
            meta["newest_id"] = page[0]["id"]
            meta["oldest_id"] = page[-1]["id"]
        if start + size < len(matching):
            meta["next_token"] = f"p{start + size}"
        self.pages_served += 1
        body: dict[str, Any] = {"meta": meta}
        if page:
            body["data"] = page
            body["includes"] = {
                "users": [
                    {"id": "42", "username": "oranje_fan", "public_metrics": {"followers_count": 7}}
                ]
            }
        return Reply(body, headers={"x-rate-limit-remaining": "400"})

    def searches(self) -> list[Request]:
        return self.api.requests_for(SEARCH)


@pytest.fixture
def api(no_proxy_env: None) -> Iterator[FakeApi]:
    with FakeApi() as server:
        yield server


@pytest.fixture
def x(api: FakeApi) -> FakeX:
    return FakeX(api)


@pytest.fixture
def client(no_proxy_env: None) -> Iterator[httpx.Client]:
    with make_client(timeout=5.0) as client:
        yield client


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("X_BEARER_TOKEN", TOKEN)
    return TOKEN


def make_config(base_url: str, **options: Any) -> SourceConfig:
    model = XSearchSourceModel(
        id="x", kind="x_search", query="#twelftal lang:nl", base_url=base_url, **options
    )
    return SourceConfig(
        id="x",
        kind="x_search",
        interval=timedelta(minutes=15),
        options=MappingProxyType(options_of(model)),
    )


def make_source(base_url: str, client: httpx.Client, **options: Any) -> XSearchSource:
    max_pages = options.pop("max_pages", 5)
    return XSearchSource(make_config(base_url, **options), client, max_pages=max_pages)


def fetch(source: XSearchSource, previous: FetchResult | None, now: datetime = NOW) -> FetchResult:
    cursor = previous.cursor if previous is not None else None
    return source.fetch(SourceState("x", cursor=cursor), now)


def ids(result: FetchResult) -> list[str]:
    return [post.id for post in result.posts]


def test_missing_token_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, x: FakeX, client: httpx.Client
) -> None:
    monkeypatch.delenv("X_BEARER_TOKEN", raising=False)
    result = make_source(x.base_url, client).fetch(SourceState("x"), NOW)
    assert result.error == (
        "x_search source 'x': no bearer token — set X_BEARER_TOKEN "
        "(X API access is paid; this source is off in the default feeds.yaml)"
    )
    assert x.searches() == []


def test_the_token_is_read_from_the_named_variable_at_fetch_time(
    monkeypatch: pytest.MonkeyPatch, x: FakeX, client: httpx.Client
) -> None:
    source = make_source(x.base_url, client, token_env="TEAM_X_TOKEN")
    assert "set TEAM_X_TOKEN" in (source.fetch(SourceState("x"), NOW).error or "")
    monkeypatch.setenv("TEAM_X_TOKEN", TOKEN)
    assert source.fetch(SourceState("x"), NOW).ok


def test_happy_path_from_a_recorded_answer(api: FakeApi, token: str, client: httpx.Client) -> None:
    api.json(SEARCH, (FIXTURES / "recent_search.json").read_bytes())
    result = make_source(api.base_url + "/2", client).fetch(SourceState("x"), NOW)

    assert result.ok, result.error
    assert ids(result) == ["1897000000000000003", "1897000000000000002", "1897000000000000001"]
    nos, long_post, future = result.posts
    assert nos.source == "x"
    assert nos.text == "Oranje wint! #twelftal & de rest https://t.co/abc"
    assert nos.author == "@NOS"
    assert nos.url == "https://x.com/NOS/status/1897000000000000003"
    assert nos.created_at == datetime(2026, 3, 2, 11, 58, tzinfo=UTC)
    assert nos.lang == "nl"
    assert nos.tags == ("twelftal",)
    assert nos.reach == 1_500_000.0
    # Unknown author: engagement is the reach; "und" is no language; a long post's full text.
    assert long_post.author is None
    assert long_post.url == "https://x.com/i/web/status/1897000000000000002"
    assert long_post.reach == 6.0
    assert long_post.lang is None
    assert long_post.text.endswith("met #Werkplek erin.")
    assert long_post.tags == ("Werkplek",)
    assert future.created_at == NOW  # six hours in the future: treated as seen now

    (request,) = api.requests_for(SEARCH)
    assert request.arg("query") == "#twelftal lang:nl"
    assert request.arg("max_results") == "100"
    assert request.arg("expansions") == "author_id"
    assert set((request.arg("tweet.fields") or "").split(",")) >= {
        "created_at",
        "lang",
        "public_metrics",
        "author_id",
        "entities",
    }
    assert request.arg("user.fields") == "username,public_metrics"
    assert request.arg("since_id") is None
    assert result.note == "read 3 of 500 posts today (UTC)"


def test_bearer_token_is_sent_and_never_echoed(
    monkeypatch: pytest.MonkeyPatch,
    x: FakeX,
    client: httpx.Client,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    x.add(2)
    monkeypatch.setenv("X_BEARER_TOKEN", TOKEN)
    source = make_source(x.base_url, client)
    assert source.fetch(SourceState("x"), NOW).ok
    assert x.searches()[0].headers["authorization"] == f"Bearer {TOKEN}"

    wrong = "wrong-token-0123456789"
    monkeypatch.setenv("X_BEARER_TOKEN", wrong)
    result = source.fetch(SourceState("x"), NOW)
    assert result.status == 401
    assert result.error == (
        "x_search source 'x': X refused the bearer token (HTTP 401: Bad Bearer [token]) — "
        "check the token in X_BEARER_TOKEN (an app-only bearer token from the X developer portal)"
    )
    assert wrong not in caplog.text
    assert TOKEN not in caplog.text


def test_forbidden_names_the_variable_and_the_access_level(
    api: FakeApi, token: str, client: httpx.Client
) -> None:
    api.json(
        SEARCH,
        {
            "title": "Forbidden",
            "status": 403,
            "detail": "Your client app is not configured with the appropriate oauth1 app "
            "permissions for this endpoint.",
        },
        status=403,
    )
    result = make_source(api.base_url + "/2", client).fetch(SourceState("x"), NOW)
    assert result.error is not None
    assert result.error.startswith("x_search source 'x': access denied (HTTP 403: Your client app")
    assert "the token in X_BEARER_TOKEN may lack access to recent search" in result.error
    assert token not in result.error


def test_since_id_resume_loses_nothing_and_repeats_nothing(
    x: FakeX, token: str, client: httpx.Client
) -> None:
    first_ids = x.add(3)
    source = make_source(x.base_url, client)
    first = fetch(source, None)
    assert ids(first) == first_ids[::-1]

    later_ids = x.add(2)
    second = fetch(source, first, NOW + timedelta(minutes=15))
    assert ids(second) == later_ids[::-1]
    assert x.searches()[-1].arg("since_id") == first_ids[-1]

    third = fetch(source, second, NOW + timedelta(minutes=30))
    assert third.ok
    assert third.posts == []
    assert x.searches()[-1].arg("since_id") == later_ids[-1]
    seen = ids(first) + ids(second)
    assert sorted(seen) == sorted(first_ids + later_ids)
    assert len(seen) == len(set(seen))


def test_pages_are_followed_with_next_token(x: FakeX, token: str, client: httpx.Client) -> None:
    old = x.add(1)
    source = make_source(x.base_url, client, max_results=10)
    start = fetch(source, None)
    assert ids(start) == old

    burst = x.add(25)
    result = fetch(source, start, NOW + timedelta(minutes=15))
    assert result.ok, result.error
    assert ids(result) == burst[::-1]
    assert [r.arg("next_token") for r in x.searches()] == [None, None, "p10", "p20"]
    assert {r.arg("since_id") for r in x.searches()[1:]} == {old[0]}
    assert result.cursor == f'{{"since_id":"{burst[-1]}","day":"2026-03-02","read":26}}'
    assert result.note == "read 26 of 500 posts today (UTC)"


def test_the_first_poll_reads_one_page_only(x: FakeX, token: str, client: httpx.Client) -> None:
    """The backlog is history: one page, and no gap left to page back through the week."""
    all_ids = x.add(30)
    result = fetch(make_source(x.base_url, client, max_results=10), None)
    assert ids(result) == all_ids[::-1][:10]
    assert len(x.searches()) == 1
    assert result.cursor == f'{{"since_id":"{all_ids[-1]}","day":"2026-03-02","read":10}}'


def test_a_walk_cut_short_is_finished_after_the_new_posts(
    x: FakeX, token: str, client: httpx.Client
) -> None:
    """Stopped by the page bound, later polls read new posts first, then the rest of the span."""
    old = x.add(1)
    source = make_source(x.base_url, client, max_results=10, max_pages=2)
    start = fetch(source, None)
    assert ids(start) == old

    burst = x.add(35)
    first = fetch(source, start, NOW + timedelta(minutes=15))
    assert ids(first) == burst[::-1][:20]
    assert first.note == (
        "read 21 of 500 posts today (UTC); more than 2 pages waiting, the rest is read next poll"
    )
    assert f'"gap":["{old[0]}","{burst[15]}"]' in (first.cursor or "")

    newer = x.add(3)
    second = fetch(source, first, NOW + timedelta(minutes=30))
    # One page of new posts, then the one page left for the unfinished span.
    assert ids(second) == newer[::-1] + burst[::-1][20:30]
    new_posts, gap = x.searches()[-2:]
    assert new_posts.arg("since_id") == burst[-1]
    assert new_posts.arg("until_id") is None
    assert gap.arg("since_id") == old[0]
    assert gap.arg("until_id") == burst[15]

    third = fetch(source, second, NOW + timedelta(minutes=45))
    assert ids(third) == burst[::-1][30:]
    assert '"gap"' not in (third.cursor or "")
    seen = ids(first) + ids(second) + ids(third)
    assert sorted(seen) == sorted(burst + newer)
    assert len(seen) == len(set(seen))


def test_daily_budget_stops_reads_and_resets_the_next_utc_day(
    x: FakeX, token: str, client: httpx.Client
) -> None:
    old = x.add(1)
    source = make_source(x.base_url, client, daily_budget=36, max_results=20)
    start = fetch(source, None)  # reads 1 of 36
    assert ids(start) == old

    burst = x.add(50)
    first = fetch(source, start, NOW + timedelta(minutes=15))
    # 35 left: a page of 20, then a page of 15 (never more than what is left).
    assert [r.arg("max_results") for r in x.searches()[1:]] == ["20", "15"]
    assert ids(first) == burst[::-1][:35]
    assert first.ok
    assert first.note == "daily read budget of 36 used; resumes at 00:00 UTC"

    requests_before = len(x.searches())
    spent = fetch(source, first, NOW + timedelta(hours=6))
    assert spent.ok
    assert spent.posts == []
    assert spent.note == "daily read budget of 36 used; resumes at 00:00 UTC"
    assert len(x.searches()) == requests_before  # no request at all

    next_day = datetime(2026, 3, 3, 0, 5, tzinfo=UTC)
    resumed = fetch(source, spent, next_day)
    assert resumed.ok, resumed.error
    assert ids(resumed) == burst[::-1][35:]  # the rest of yesterday's burst: nothing lost
    assert resumed.note == "read 15 of 36 posts today (UTC)"
    assert '"day":"2026-03-03"' in (resumed.cursor or "")


def test_a_budget_below_one_page_makes_no_request(
    x: FakeX, token: str, client: httpx.Client
) -> None:
    x.add(3)
    source = make_source(x.base_url, client, daily_budget=15)
    cursor = '{"since_id":null,"day":"2026-03-02","read":8}'
    result = source.fetch(SourceState("x", cursor=cursor), NOW)
    assert result.ok
    assert result.posts == []
    assert result.note == (
        "daily read budget of 15 used; resumes at 00:00 UTC "
        "(7 left, fewer than X's smallest page of 10)"
    )
    assert x.searches() == []


def test_rate_limit_gives_retry_after_from_the_reset_header(
    x: FakeX, token: str, client: httpx.Client
) -> None:
    x.add(3)
    x.rate_limited_after = 0
    result = make_source(x.base_url, client).fetch(SourceState("x"), NOW)
    assert result.status == 429
    assert result.retry_after == 120.0
    assert result.error == (
        "x_search source 'x': rate limited (HTTP 429) — "
        "X asks to wait 120s; it will retry after that"
    )


def test_rate_limit_falls_back_to_retry_after(
    api: FakeApi, token: str, client: httpx.Client
) -> None:
    api.json(SEARCH, {"title": "Too Many Requests"}, status=429, headers={"Retry-After": "30"})
    result = make_source(api.base_url + "/2", client).fetch(SourceState("x"), NOW)
    assert result.retry_after == 30.0


def test_rate_limit_on_a_later_page_keeps_what_was_read(
    x: FakeX, token: str, client: httpx.Client
) -> None:
    old = x.add(1)
    source = make_source(x.base_url, client, max_results=10)
    start = fetch(source, None)
    burst = x.add(25)
    x.pages_served = 0
    x.rate_limited_after = 1
    x.reset_at = int(NOW.timestamp()) + 15 * 60 + 120
    first = fetch(source, start, NOW + timedelta(minutes=15))
    assert first.ok, first.error
    assert ids(first) == burst[::-1][:10]
    assert first.retry_after == 120.0
    assert first.note == (
        "read 11 of 500 posts today (UTC); a later page failed (rate limited (HTTP 429)), "
        "the rest is read next poll"
    )
    x.rate_limited_after = None
    second = fetch(source, first, NOW + timedelta(minutes=30))
    assert sorted(ids(first) + ids(second)) == sorted(burst)
    assert ids(start) == old


def test_malformed_json_is_an_error(api: FakeApi, token: str, client: httpx.Client) -> None:
    api.json(SEARCH, b'{"data": [{"id": "1", "text": "half')
    result = make_source(api.base_url + "/2", client).fetch(SourceState("x"), NOW)
    assert result.error is not None
    assert result.error.startswith("x_search source 'x': the answer is not JSON (")
    assert result.error.endswith("— X may be having trouble; it will be retried with backoff")


def test_a_since_id_too_old_for_recent_search_starts_afresh(
    api: FakeApi, token: str, client: httpx.Client
) -> None:
    def search(request: Request) -> Reply:
        if request.arg("since_id"):
            return Reply(
                {
                    "errors": [
                        {
                            "parameters": {"since_id": [request.arg("since_id")]},
                            "message": "Invalid 'since_id':'1'. 'since_id' must be a tweet id "
                            "created after 2026-02-23T12:00Z.",
                        }
                    ],
                    "title": "Invalid Request",
                },
                400,
            )
        return Reply({"data": [{"id": "77", "text": "hallo"}], "meta": {"newest_id": "77"}})

    api.route(SEARCH, search)
    cursor = '{"since_id":"1","day":"2026-03-02","read":0}'
    result = make_source(api.base_url + "/2", client).fetch(SourceState("x", cursor=cursor), NOW)
    assert result.ok, result.error
    assert ids(result) == ["77"]
    assert '"since_id":"77"' in (result.cursor or "")


def test_a_bad_query_is_an_error_naming_the_query(
    api: FakeApi, token: str, client: httpx.Client
) -> None:
    api.json(
        SEARCH,
        {"errors": [{"message": "There were errors processing your request: bad operator"}]},
        status=400,
    )
    result = make_source(api.base_url + "/2", client).fetch(SourceState("x"), NOW)
    assert result.error == (
        "x_search source 'x': X rejected the request (HTTP 400: There were errors processing "
        "your request: bad operator) — check the source's query in feeds.yaml (X search operators)"
    )


def test_budget_shows_in_source_health_through_the_poller(
    database_url: str, x: FakeX, token: str, client: httpx.Client
) -> None:
    config = make_config(x.base_url, daily_budget=100)
    source = XSearchSource(config, client)
    store = Store(database_url)
    x.add(4)
    poll(source, config, store, NOW)
    x.add(2)
    second = poll(source, config, store, NOW + timedelta(minutes=15))
    assert len(second.new_posts) == 2
    assert store.count_posts(source="x") == 6
    state = store.source_state("x")
    assert state.note == "read 6 of 100 posts today (UTC)"
    assert state.last_error is None
    store.close()
