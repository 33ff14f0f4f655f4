"""Tests for the Reddit source against a real local HTTP server serving Reddit-style Atom feeds.

The fixtures under tests/fixtures/reddit/ are written in the shape Reddit's `.rss` listings have
(Atom, escaped HTML content with the "submitted by /u/x [link] [comments]" footer). The request
budget is a real `SlidingWindowLimiter` with a clock the test moves; nothing is patched.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType

import httpx
import pytest

from bot.config import SourceConfig
from bot.http import USER_AGENT, make_client
from bot.poller import build_source, poll
from bot.ratelimit import SlidingWindowLimiter
from bot.sources import reddit
from bot.sources.base import FetchResult, Source, SourceState
from bot.sources.reddit import RedditSource, split_footer
from bot.store import Store
from detectors.records import Post
from tests.feed_server import FeedServer

FIXTURES = Path(__file__).parent / "fixtures" / "reddit"
NOW = datetime(2025, 3, 2, 12, 0, tzinfo=UTC)
ATOM = "application/atom+xml; charset=UTF-8"
NL_LINK = "https://www.reddit.com/r/thenetherlands/comments/"


class FakeClock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def client(no_proxy_env: None) -> Iterator[httpx.Client]:
    with make_client(timeout=5.0) as client:
        yield client


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def limiter(clock: FakeClock) -> SlidingWindowLimiter:
    """A budget of its own per test (the real one is shared by the whole process)."""
    return SlidingWindowLimiter(10, 60.0, clock=clock)


def config(
    server: FeedServer,
    *subreddits: str,
    source_id: str = "reddit-nl",
    listing: str = "new",
    lang: str | None = "en",
) -> SourceConfig:
    return SourceConfig(
        id=source_id,
        kind="reddit",
        interval=timedelta(minutes=10),
        lang=lang,
        options=MappingProxyType(
            {"subreddits": subreddits, "listing": listing, "base_url": server.base_url}
        ),
    )


def make_source(
    server: FeedServer,
    client: httpx.Client,
    limiter: SlidingWindowLimiter,
    *subreddits: str,
    **kw: str,
) -> RedditSource:
    return RedditSource(config(server, *subreddits, **kw), client, limiter=limiter)


def serve_fixture(server: FeedServer, subreddit: str, name: str, **kw: object) -> str:
    return server.serve_file(
        f"/r/{subreddit}/new/.rss",
        FIXTURES / name,
        content_type=ATOM,
        **kw,  # type: ignore[arg-type]
    )


def atom(subreddit: str, *ids: str) -> bytes:
    """A small Reddit-style listing with one self post per id."""
    entries = "".join(
        f"<entry><author><name>/u/user_{i}</name></author>"
        f'<category term="{subreddit}" label="r/{subreddit}"/>'
        f'<content type="html">&lt;div class="md"&gt;&lt;p&gt;Bericht {i}&lt;/p&gt;&lt;/div&gt; '
        f"&amp;#32; submitted by &amp;#32; &lt;a href=&quot;https://www.reddit.com/user/user_{i}"
        f"&quot;&gt; /u/user_{i} &lt;/a&gt;</content><id>t3_{i}</id>"
        f'<link href="https://www.reddit.com/r/{subreddit}/comments/{i}/x/" />'
        f"<published>2025-03-02T11:00:00+00:00</published><title>Titel {i}</title></entry>"
        for i in ids
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>newest submissions : {subreddit}</title>{entries}</feed>"
    ).encode()


def by_id(result: FetchResult) -> dict[str, Post]:
    return {post.id: post for post in result.posts}


def listing_paths(server: FeedServer) -> list[str]:
    return [r.path for r in server.requests]


# -- the contract -------------------------------------------------------------------------------


def test_satisfies_the_source_protocol_and_shares_one_budget_by_default(
    feed_server: FeedServer, client: httpx.Client
) -> None:
    source: Source = build_source(config(feed_server, "thenetherlands"), client)
    other = build_source(config(feed_server, "belgium", source_id="reddit-be"), client)
    assert isinstance(source, RedditSource)
    assert isinstance(other, RedditSource)
    assert (source.id, source.kind) == ("reddit-nl", "reddit")
    # One budget for the whole process: every reddit source draws from the same limiter.
    assert source.limiter is other.limiter is reddit.REDDIT_LIMITER
    assert (reddit.REDDIT_LIMITER.limit, reddit.REDDIT_LIMITER.window) == (10, 60.0)


# -- happy path ---------------------------------------------------------------------------------


def test_listings_become_posts_with_reddit_boilerplate_stripped(
    feed_server: FeedServer, client: httpx.Client, limiter: SlidingWindowLimiter
) -> None:
    serve_fixture(feed_server, "thenetherlands", "thenetherlands_new.xml")
    serve_fixture(feed_server, "belgium", "belgium_new.xml")
    source = make_source(feed_server, client, limiter, "thenetherlands", "belgium")

    result = source.fetch(SourceState(source.id), NOW)

    assert result.ok, result.error
    assert result.note is None
    posts = by_id(result)
    assert list(posts) == [
        "t3_1j1vq8k",
        "t3_1j1v9zp",
        "t3_1j1uxx2",
        "t3_1j1u4rt",
        "t3_1j1w0ab",
        "t3_1j1vkc3",
        "t3_1j1uabc",
    ]

    self_post = posts["t3_1j1vq8k"]
    assert self_post.source == "reddit-nl"
    assert self_post.title == "Does anyone else get the NS app error this morning?"
    assert self_post.text == (
        'Trying to check in at Utrecht Centraal and the app keeps saying "storing". '
        "Is it just me?\nEdit: seems to be a wider outage."
    )
    assert self_post.author == "/u/fietsenmaker_030"
    assert self_post.url == NL_LINK + "1j1vq8k/does_anyone_else_get_the_ns_app_error_this/"
    assert self_post.created_at == datetime(2025, 3, 2, 11, 48, 3, tzinfo=UTC)
    assert self_post.tags == ("thenetherlands",)
    assert self_post.lang == "en"

    # A link post: its text is what it links to (the footer's [link]); the thumbnail is gone.
    link_post = posts["t3_1j1v9zp"]
    assert link_post.text == (
        "https://nos.nl/artikel/2558123-kabinet-wil-huurbevriezing-voor-middenhuur-verlengen"
    )
    assert link_post.title == "Kabinet wil huurbevriezing voor middenhuur verlengen"
    assert link_post.author == "/u/polderpost"
    assert link_post.url == NL_LINK + "1j1v9zp/kabinet_wil_huurbevriezing_voor_middenhuur/"

    # "submitted by" inside the self-text is text; only Reddit's own footer is cut.
    student = posts["t3_1j1u4rt"]
    assert student.title == "Newsjacking by Dutch brands: Hema & Albert Heijn examples?"
    assert "Examples submitted by you will be credited in the paper!" in student.text
    assert student.text.endswith("Deadline is Friday")

    for post in posts.values():
        assert "submitted by /u/" not in post.text
        assert "[link]" not in post.text
        assert "[comments]" not in post.text
        assert post.author is not None
        assert post.author.startswith("/u/")
        assert post.created_at.tzinfo is UTC
    assert posts["t3_1j1vkc3"].tags == ("belgium",)
    assert posts["t3_1j1vkc3"].title == "Grève nationale du 31 mars : ce qu'il faut savoir"

    # Reddit blocks generic User-Agents: the shared client's descriptive one is sent.
    requests = feed_server.requests
    assert [r.path for r in requests] == ["/r/thenetherlands/new/.rss", "/r/belgium/new/.rss"]
    assert all(r.headers["user-agent"] == USER_AGENT for r in requests)
    assert all("application/atom+xml" in r.headers["accept"] for r in requests)


def test_listing_option_picks_the_listing_path(
    feed_server: FeedServer, client: httpx.Client, limiter: SlidingWindowLimiter
) -> None:
    feed_server.serve("/r/belgium/hot/.rss", atom("belgium", "h1"), content_type=ATOM)
    source = make_source(feed_server, client, limiter, "belgium", listing="hot")
    result = source.fetch(SourceState(source.id), NOW)
    assert [p.id for p in result.posts] == ["t3_h1"]


def test_a_generic_user_agent_on_the_client_is_replaced(
    feed_server: FeedServer, limiter: SlidingWindowLimiter
) -> None:
    feed_server.serve("/r/belgium/new/.rss", atom("belgium", "a"), content_type=ATOM)
    with httpx.Client() as plain:  # python-httpx/x.y: Reddit answers those with 429s
        source = make_source(feed_server, plain, limiter, "belgium")
        assert source.fetch(SourceState(source.id), NOW).ok
    assert feed_server.requests[0].headers["user-agent"] == USER_AGENT


# -- conditional GET per subreddit --------------------------------------------------------------


def test_second_fetch_is_conditional_per_subreddit_and_304_gives_nothing(
    feed_server: FeedServer, client: httpx.Client, limiter: SlidingWindowLimiter
) -> None:
    nl = serve_fixture(feed_server, "thenetherlands", "thenetherlands_new.xml", etag='"nl-1"')
    be = serve_fixture(
        feed_server,
        "belgium",
        "belgium_new.xml",
        last_modified="Sun, 02 Mar 2025 11:56:00 GMT",
    )
    source = make_source(feed_server, client, limiter, "thenetherlands", "belgium")

    first = source.fetch(SourceState(source.id), NOW)
    assert len(first.posts) == 7
    assert first.cursor is not None
    assert json.loads(first.cursor) == {
        "validators": {
            be: {"last_modified": "Sun, 02 Mar 2025 11:56:00 GMT"},
            nl: {"etag": '"nl-1"'},
        }
    }
    compact = json.dumps(json.loads(first.cursor), separators=(",", ":"), sort_keys=True)
    assert first.cursor == compact

    feed_server.clear_requests()
    second = source.fetch(SourceState(source.id, cursor=first.cursor), NOW + timedelta(minutes=10))

    assert second.ok
    assert second.not_modified
    assert second.posts == []
    nl_request, be_request = feed_server.requests
    assert nl_request.headers["if-none-match"] == '"nl-1"'
    assert "if-modified-since" not in nl_request.headers
    assert be_request.headers["if-modified-since"] == "Sun, 02 Mar 2025 11:56:00 GMT"
    assert "if-none-match" not in be_request.headers
    assert json.loads(second.cursor or "") == json.loads(first.cursor)


def test_new_posts_between_polls_are_stored_once(
    database_url: str,
    feed_server: FeedServer,
    client: httpx.Client,
    limiter: SlidingWindowLimiter,
) -> None:
    store = Store(database_url)
    serve_fixture(feed_server, "thenetherlands", "thenetherlands_new.xml", etag='"nl-1"')
    serve_fixture(feed_server, "belgium", "belgium_new.xml", etag='"be-1"')
    cfg = config(feed_server, "thenetherlands", "belgium")
    source = RedditSource(cfg, client, limiter=limiter)

    first = poll(source, cfg, store, NOW)
    assert first.error is None
    assert len(first.backlog) == 7  # the first poll is history, never alerted

    # One new post in r/thenetherlands; r/belgium is unchanged (304).
    serve_fixture(feed_server, "thenetherlands", "thenetherlands_new_later.xml", etag='"nl-2"')
    second = poll(source, cfg, store, NOW + timedelta(minutes=10))
    assert [p.id for p in second.new_posts] == ["t3_1j1w7yz"]
    assert second.new_posts[0].title == "Storing bij NS voorbij?"
    assert second.new_posts[0].author == "/u/treinreiziger_amf"

    third = poll(source, cfg, store, NOW + timedelta(minutes=20))
    assert third.new_posts == ()
    assert third.not_modified

    assert store.count_posts(source="reddit-nl") == 8
    state = store.source_state("reddit-nl")
    assert state.polls == 3
    assert state.failures_in_a_row == 0
    validators = json.loads(state.cursor or "")["validators"]
    assert {v.get("etag") for v in validators.values()} == {'"nl-2"', '"be-1"'}
    last = [r for r in feed_server.requests if r.path == "/r/thenetherlands/new/.rss"][-1]
    assert last.headers["if-none-match"] == '"nl-2"'


def test_a_subreddit_added_later_starts_with_history_not_alerts(
    database_url: str,
    feed_server: FeedServer,
    client: httpx.Client,
    limiter: SlidingWindowLimiter,
) -> None:
    store = Store(database_url)
    serve_fixture(feed_server, "thenetherlands", "thenetherlands_new.xml", etag='"nl-1"')
    serve_fixture(feed_server, "belgium", "belgium_new.xml", etag='"be-1"')
    before = config(feed_server, "thenetherlands")
    poll(RedditSource(before, client, limiter=limiter), before, store, NOW)

    after = config(feed_server, "thenetherlands", "belgium")
    added = poll(
        RedditSource(after, client, limiter=limiter), after, store, NOW + timedelta(minutes=10)
    )
    assert added.error is None
    assert added.new_posts == ()
    assert added.backlog  # r/belgium's listing: stored as history
    assert {p.tags for p in added.backlog} == {("belgium",)}
    assert store.posts_to_check() == []  # nothing offered to the alert scorers


# -- the request budget -------------------------------------------------------------------------


def test_twelve_subreddits_ten_requests_a_minute_the_rest_next_minute(
    feed_server: FeedServer,
    client: httpx.Client,
    limiter: SlidingWindowLimiter,
    clock: FakeClock,
) -> None:
    subs = [f"sub{n:02d}" for n in range(1, 13)]
    for sub in subs:
        feed_server.serve(f"/r/{sub}/new/.rss", atom(sub, f"{sub}a", f"{sub}b"), content_type=ATOM)
    source = make_source(feed_server, client, limiter, *subs)

    first = source.fetch(SourceState(source.id), NOW)
    assert first.ok  # skipping for the budget is not a failure
    assert len(feed_server.requests) == 10
    assert {p.tags[0] for p in first.posts} == set(subs[:10])
    assert first.note is not None
    assert "budget" in first.note
    assert "r/sub11, r/sub12 not read this time" in first.note
    assert json.loads(first.cursor or "")["pending"] == ["sub11", "sub12"]

    # Polled again within the minute: nothing is requested, nothing fails.
    clock.advance(30)
    again = source.fetch(SourceState(source.id, cursor=first.cursor), NOW)
    assert again.ok
    assert again.posts == []
    assert len(feed_server.requests) == 10
    assert "r/sub11" in (again.note or "")

    # The next minute: the two left over go first.
    clock.advance(30)
    feed_server.clear_requests()
    third = source.fetch(SourceState(source.id, cursor=again.cursor), NOW + timedelta(minutes=1))
    paths = listing_paths(feed_server)
    assert len(paths) == 10
    assert paths[:2] == ["/r/sub11/new/.rss", "/r/sub12/new/.rss"]
    assert {"sub11", "sub12"} <= {p.tags[0] for p in third.posts}
    assert json.loads(third.cursor or "")["pending"] == ["sub09", "sub10"]


def test_the_budget_is_shared_between_reddit_sources(
    feed_server: FeedServer, client: httpx.Client, limiter: SlidingWindowLimiter
) -> None:
    nl_subs = [f"nl{n}" for n in range(6)]
    be_subs = [f"be{n}" for n in range(6)]
    for sub in nl_subs + be_subs:
        feed_server.serve(f"/r/{sub}/new/.rss", atom(sub, sub), content_type=ATOM)
    nl = make_source(feed_server, client, limiter, *nl_subs, source_id="reddit-nl")
    be = make_source(feed_server, client, limiter, *be_subs, source_id="reddit-be")

    assert len(nl.fetch(SourceState(nl.id), NOW).posts) == 6
    second = be.fetch(SourceState(be.id), NOW)
    assert len(second.posts) == 4
    assert "r/be4, r/be5 not read this time" in (second.note or "")
    assert len(feed_server.requests) == 10


# -- rate limiting by Reddit --------------------------------------------------------------------


def test_429_stops_the_poll_with_retry_after_and_an_error(
    database_url: str,
    feed_server: FeedServer,
    client: httpx.Client,
    limiter: SlidingWindowLimiter,
) -> None:
    feed_server.serve(
        "/r/thenetherlands/new/.rss",
        b"Too Many Requests",
        content_type="text/plain",
        status=429,
        headers={"Retry-After": "120"},
    )
    serve_fixture(feed_server, "belgium", "belgium_new.xml")
    cfg = config(feed_server, "thenetherlands", "belgium")
    source = RedditSource(cfg, client, limiter=limiter)

    result = source.fetch(SourceState(source.id), NOW)
    assert not result.ok
    assert result.retry_after == 120.0
    assert result.error is not None
    assert result.error.startswith("reddit source 'reddit-nl': r/thenetherlands: ")
    assert "HTTP 429" in result.error
    assert "wait 120s" in result.error
    assert listing_paths(feed_server) == ["/r/thenetherlands/new/.rss"]  # no hammering

    # Through the poller: the wait is recorded and the next poll does not happen before it.
    store = Store(database_url)
    poll(source, cfg, store, NOW)
    state = store.source_state("reddit-nl")
    assert state.retry_after_until == NOW + timedelta(seconds=120)
    skipped = poll(source, cfg, store, NOW + timedelta(seconds=60))
    assert skipped.skipped is not None
    assert len(feed_server.requests_for("/r/thenetherlands/new/.rss")) == 2


def test_429_without_retry_after_uses_reddits_ratelimit_reset(
    feed_server: FeedServer, client: httpx.Client, limiter: SlidingWindowLimiter
) -> None:
    feed_server.serve(
        "/r/belgium/new/.rss",
        b"",
        content_type="text/plain",
        status=429,
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": "37"},
    )
    source = make_source(feed_server, client, limiter, "belgium")
    result = source.fetch(SourceState(source.id), NOW)
    assert not result.ok
    assert result.retry_after == 37.0


def test_reddit_reporting_its_budget_used_up_stops_early_without_an_error(
    feed_server: FeedServer, client: httpx.Client, limiter: SlidingWindowLimiter
) -> None:
    serve_fixture(
        feed_server,
        "thenetherlands",
        "thenetherlands_new.xml",
        headers={"x-ratelimit-remaining": "0.0", "x-ratelimit-reset": "42"},
    )
    serve_fixture(feed_server, "belgium", "belgium_new.xml")
    source = make_source(feed_server, client, limiter, "thenetherlands", "belgium")

    result = source.fetch(SourceState(source.id), NOW)
    assert result.ok
    assert len(result.posts) == 4
    assert result.retry_after == 42.0
    assert "x-ratelimit-remaining: 0" in (result.note or "")
    assert json.loads(result.cursor or "")["pending"] == ["belgium"]
    assert listing_paths(feed_server) == ["/r/thenetherlands/new/.rss"]


# -- failures -----------------------------------------------------------------------------------


def test_malformed_xml_is_a_per_source_error(
    database_url: str,
    feed_server: FeedServer,
    client: httpx.Client,
    limiter: SlidingWindowLimiter,
) -> None:
    feed_server.serve(
        "/r/thenetherlands/new/.rss",
        b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><entry><title>x',
        content_type=ATOM,
    )
    cfg = config(feed_server, "thenetherlands")
    source = RedditSource(cfg, client, limiter=limiter)

    result = source.fetch(SourceState(source.id), NOW)
    assert not result.ok
    assert result.error is not None
    assert result.error.startswith("reddit source 'reddit-nl': r/thenetherlands (")
    assert "not a feed" in result.error
    assert " — " in result.error

    store = Store(database_url)
    outcome = poll(source, cfg, store, NOW)
    assert outcome.error == result.error
    state = store.source_state("reddit-nl")
    assert state.failures_in_a_row == 1
    assert state.last_error == result.error


def test_a_private_subreddit_among_good_ones_keeps_their_posts_and_is_named_in_the_note(
    feed_server: FeedServer, client: httpx.Client, limiter: SlidingWindowLimiter
) -> None:
    serve_fixture(feed_server, "thenetherlands", "thenetherlands_new.xml")
    feed_server.serve(
        "/r/besloten/new/.rss", b"<html>Forbidden</html>", content_type="text/html", status=403
    )
    serve_fixture(feed_server, "belgium", "belgium_new.xml")
    source = make_source(feed_server, client, limiter, "thenetherlands", "besloten", "belgium")

    result = source.fetch(SourceState(source.id), NOW)

    assert result.ok
    assert len(result.posts) == 7
    assert result.note is not None
    assert result.note.startswith("r/besloten: access denied (HTTP 403) — ")
    assert "private" in result.note
    assert "thenetherlands" not in result.note


def test_every_subreddit_failing_is_an_error_naming_each(
    feed_server: FeedServer, client: httpx.Client, limiter: SlidingWindowLimiter
) -> None:
    feed_server.serve("/r/besloten/new/.rss", b"", content_type="text/html", status=403)
    # /r/verbannen/ has no route: the server answers 404, as Reddit does for a banned subreddit.
    source = make_source(feed_server, client, limiter, "besloten", "verbannen")

    result = source.fetch(SourceState(source.id), NOW)

    assert not result.ok
    assert result.error == (
        "reddit source 'reddit-nl': all 2 subreddits failed: "
        "r/besloten: access denied (HTTP 403); r/verbannen: not found (HTTP 404) — "
        "check each subreddit opens in a browser; it will be retried with backoff"
    )


def test_a_redirect_away_from_the_subreddit_is_a_failure(
    feed_server: FeedServer, client: httpx.Client, limiter: SlidingWindowLimiter
) -> None:
    # Reddit sends an unknown subreddit name to a search page.
    feed_server.serve("/subreddits/search.rss", atom("search", "zzz"), content_type=ATOM)
    feed_server.redirect("/r/bestaatniet/new/.rss", "/subreddits/search.rss?q=bestaatniet", 302)
    serve_fixture(feed_server, "belgium", "belgium_new.xml")
    source = make_source(feed_server, client, limiter, "bestaatniet", "belgium")

    result = source.fetch(SourceState(source.id), NOW)

    assert result.ok
    assert {p.tags[0] for p in result.posts} == {"belgium"}
    assert "r/bestaatniet: Reddit redirected to" in (result.note or "")


def test_a_failed_subreddit_keeps_its_old_validators(
    feed_server: FeedServer, client: httpx.Client, limiter: SlidingWindowLimiter
) -> None:
    nl = serve_fixture(feed_server, "thenetherlands", "thenetherlands_new.xml", etag='"nl-1"')
    serve_fixture(feed_server, "belgium", "belgium_new.xml", etag='"be-1"')
    source = make_source(feed_server, client, limiter, "thenetherlands", "belgium")
    first = source.fetch(SourceState(source.id), NOW)

    feed_server.serve("/r/thenetherlands/new/.rss", b"oops", content_type="text/plain", status=502)
    second = source.fetch(SourceState(source.id, cursor=first.cursor), NOW)

    assert second.ok
    assert "r/thenetherlands: Reddit server error (HTTP 502)" in (second.note or "")
    assert json.loads(second.cursor or "")["validators"][nl] == {"etag": '"nl-1"'}


def test_an_unreachable_host_is_an_error_not_an_exception(
    client: httpx.Client, limiter: SlidingWindowLimiter
) -> None:
    with FeedServer() as gone:
        cfg = config(gone, "thenetherlands")
    source = RedditSource(cfg, client, limiter=limiter)
    result = source.fetch(SourceState(source.id), NOW)
    assert not result.ok
    assert "cannot connect" in (result.error or "")


def test_an_unreadable_cursor_means_a_fresh_start(
    feed_server: FeedServer, client: httpx.Client, limiter: SlidingWindowLimiter
) -> None:
    serve_fixture(feed_server, "belgium", "belgium_new.xml", etag='"be-1"')
    source = make_source(feed_server, client, limiter, "belgium")
    result = source.fetch(SourceState(source.id, cursor="{not json"), NOW)
    assert result.ok
    assert len(result.posts) == 3
    assert "if-none-match" not in feed_server.requests[0].headers


def test_a_date_in_the_future_is_clamped_to_now(
    feed_server: FeedServer, client: httpx.Client, limiter: SlidingWindowLimiter
) -> None:
    body = atom("belgium", "future").replace(b"2025-03-02T11:00:00", b"2031-01-01T00:00:00")
    feed_server.serve("/r/belgium/new/.rss", body, content_type=ATOM)
    source = make_source(feed_server, client, limiter, "belgium", lang=None)  # type: ignore[arg-type]
    [post] = source.fetch(SourceState(source.id), NOW).posts
    assert post.created_at == NOW
    assert post.lang is None


# -- the footer, on its own ---------------------------------------------------------------------


def test_split_footer_reads_author_link_and_an_older_comment_count() -> None:
    html = (
        '<table><tr><td><a href="https://www.reddit.com/r/funny/comments/42tizy/x/">'
        '<img src="https://a.thumbs.redditmedia.com/k.jpg" alt="x" /></a></td><td>&#32; '
        'submitted by &#32;<a href="https://www.reddit.com/user/AngryRedditorsBelow">'
        "/u/AngryRedditorsBelow</a>&#32; to &#32;"
        '<a href="https://www.reddit.com/r/funny/">/r/funny</a><br/>'
        '<span><a href="http://i.imgur.com/pTR7f6D.jpg?a=1&amp;b=2">[link]</a></span>&#32;'
        '<span><a href="https://www.reddit.com/r/funny/comments/42tizy/x/">[1143 comments]</a>'
        "</span></td></tr></table>"
    )
    footer = split_footer(html)
    assert footer.body_text == ""
    assert footer.author == "/u/AngryRedditorsBelow"
    assert footer.link == "http://i.imgur.com/pTR7f6D.jpg?a=1&b=2"
    assert footer.comments_url == "https://www.reddit.com/r/funny/comments/42tizy/x/"
    assert footer.comments == 1143.0


def test_split_footer_without_a_footer_is_just_text() -> None:
    footer = split_footer("<p>Alleen tekst, submitted by niemand.</p>")
    assert footer.body_text == "Alleen tekst, submitted by niemand."
    assert footer.author is None
    assert footer.link is None
