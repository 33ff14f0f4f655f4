"""End to end with every source kind: local fakes of each platform, then the real `inhaker` CLI.

Every test starts the CLI in a subprocess with a feeds.yaml in tmp_path that points each source at
a fake on 127.0.0.1 (port 0): a feed server for RSS, Reddit's Atom and Google Trends' RSS, a fake
Mastodon instance, a fake Jetstream websocket, and a fake JSON API for Bluesky trends, the Hacker
News Firebase API and X recent search. The store is a real SQLite file; there is no
SLACK_BOT_TOKEN, so alerts go to the console. No internet, no mocks of Inhaker's code.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest

from bot.store import Store
from tests.fake_api import FakeApi, Reply, Request
from tests.fake_jetstream import FakeJetstream, post_event
from tests.fake_mastodon import FakeMastodon, make_status, snowflake
from tests.feed_server import FeedServer

X_TOKEN = "AAAA-e2e-bearer-token%2Fsecret"
X_SEARCH = "/2/tweets/search/recent"
HN_ITEM = r"/v0/item/(\d+)\.json"
GETTRENDS = "/xrpc/app.bsky.unspecced.getTrends"
ATOM_TYPE = "application/atom+xml; charset=UTF-8"
WAIT_SECONDS = 30  # the bound of every wait on the long-running process

# id -> kind, in feeds.yaml order.
KINDS = {
    "nieuws": "rss",
    "mastodon-nl": "mastodon",
    "bluesky": "bluesky_jetstream",
    "bluesky-trends": "bluesky_trends",
    "reddit-nl": "reddit",
    "hackernews": "hackernews",
    "google-trends-nl": "google_trends",
    "x-search": "x_search",
}


# -------------------------------------------------------------------------------------------------
# What each fake publishes, dated around now (posts older than the 7-day retention are pruned).


def rss_feed(items: list[tuple[str, str, str, datetime]]) -> bytes:
    """RSS 2.0 with (guid, author, text, published) items."""
    entries = "".join(
        f"""
    <item>
      <guid isPermaLink="false">{escape(guid)}</guid>
      <title>{escape(text[:60])}</title>
      <link>https://nieuws.example.nl/{escape(guid)}</link>
      <dc:creator>{escape(author)}</dc:creator>
      <description>{escape(text)}</description>
      <pubDate>{format_datetime(published)}</pubDate>
    </item>"""
        for guid, author, text, published in items
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel>
    <title>Nieuws</title>
    <link>https://nieuws.example.nl/</link>
    <description>e2e feed</description>{entries}
  </channel>
</rss>""".encode()


def reddit_atom(subreddit: str, entries: list[tuple[str, str, str, str, datetime]]) -> bytes:
    """Reddit's Atom listing with (t3 id, user, title, body, published) entries, footer and all."""
    parts = []
    for post_id, user, title, body, published in entries:
        permalink = f"https://www.reddit.com/r/{subreddit}/comments/{post_id[3:]}/e2e/"
        html = (
            f'<!-- SC_OFF --><div class="md"><p>{escape(body)}</p></div><!-- SC_ON --> '
            f'&#32; submitted by &#32; <a href="https://www.reddit.com/user/{user}"> /u/{user} </a>'
            f' <br/> <span><a href="{permalink}">[link]</a></span> &#32; '
            f'<span><a href="{permalink}">[comments]</a></span>'
        )
        stamp = published.isoformat(timespec="seconds")
        parts.append(
            f"<entry><author><name>/u/{user}</name>"
            f"<uri>https://www.reddit.com/user/{user}</uri></author>"
            f'<category term="{subreddit}" label="r/{subreddit}"/>'
            f'<content type="html">{escape(html)}</content><id>{post_id}</id>'
            f'<link href="{permalink}" /><updated>{stamp}</updated>'
            f"<published>{stamp}</published><title>{escape(title)}</title></entry>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f'<category term="{subreddit}" label="r/{subreddit}"/>'
        f"<id>/r/{subreddit}/new/.rss</id><title>newest submissions : {subreddit}</title>"
        + "".join(parts)
        + "</feed>"
    ).encode()


def google_trends_rss(items: list[tuple[str, str, datetime, str, str]]) -> bytes:
    """Google Trends "trending now" RSS (ht: namespace) with (title, traffic, started, headline,
    news source) items."""
    entries = "".join(
        f"""
    <item>
      <title>{escape(title)}</title>
      <ht:approx_traffic>{escape(traffic)}</ht:approx_traffic>
      <description></description>
      <link>https://trends.google.com/trending/rss?geo=NL</link>
      <pubDate>{format_datetime(started)}</pubDate>
      <ht:news_item>
        <ht:news_item_title>{escape(headline)}</ht:news_item_title>
        <ht:news_item_url>https://nieuws.example.nl/{abs(hash(headline))}</ht:news_item_url>
        <ht:news_item_source>{escape(news_source)}</ht:news_item_source>
      </ht:news_item>
    </item>"""
        for title, traffic, started, headline, news_source in items
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss xmlns:atom="http://www.w3.org/2005/Atom" xmlns:ht="https://trends.google.com/trending/rss" \
version="2.0">
  <channel>
    <title>Daily Search Trends</title>
    <description>Recent searches</description>
    <link>https://trends.google.com/trending/rss?geo=NL</link>{entries}
  </channel>
</rss>""".encode()


def tag_history(uses: int, accounts: int, now: datetime) -> list[dict[str, str]]:
    day = int(datetime(now.year, now.month, now.day, tzinfo=UTC).timestamp())
    return [
        {"day": str(day - 86400 * i), "accounts": str(accounts >> i), "uses": str(uses >> i)}
        for i in range(7)
    ]


class FakeX:
    """X recent search over a fixed list of posts: bearer token checked, `since_id` honoured,
    newest first, `meta.newest_id` as X sends it."""

    def __init__(self, api: FakeApi, posts: list[dict[str, Any]]) -> None:
        self.posts = posts
        self.users = [
            {"id": "42", "username": "oranje_fan", "public_metrics": {"followers_count": 310}},
            {"id": "43", "username": "knvb_nieuws", "public_metrics": {"followers_count": 9000}},
        ]
        api.route(X_SEARCH, self.search)

    def search(self, request: Request) -> Reply:
        if request.headers.get("authorization") != f"Bearer {X_TOKEN}":
            return Reply({"title": "Unauthorized", "status": 401, "detail": "Unauthorized"}, 401)
        since = int(request.arg("since_id") or 0)
        page = sorted((p for p in self.posts if int(p["id"]) > since), key=lambda p: -int(p["id"]))[
            : int(request.arg("max_results") or 10)
        ]
        meta: dict[str, Any] = {"result_count": len(page)}
        if not page:
            return Reply({"meta": meta})
        meta.update(newest_id=page[0]["id"], oldest_id=page[-1]["id"])
        return Reply({"data": page, "includes": {"users": self.users}, "meta": meta})


@dataclass
class World:
    tmp_path: Path
    config: Path
    feeds: FeedServer
    mastodon: FakeMastodon
    jetstream: FakeJetstream
    api: FakeApi
    started: datetime
    database_url: str
    posts: dict[str, int] = field(default_factory=dict)  # source id -> posts it offers
    signals: dict[str, int] = field(default_factory=dict)  # source id -> trend-list entries

    def store(self) -> Store:
        return Store(self.database_url)


def publish_everything(world: World, now: datetime) -> None:
    feeds, mastodon, jetstream, api = world.feeds, world.mastodon, world.jetstream, world.api

    # rss
    news = [
        (
            f"nieuws-{i}",
            f"Redacteur {i}",
            f"Nieuws over {topic} in Utrecht",
            now - timedelta(hours=i),
        )
        for i, topic in enumerate(["de begroting", "stikstof", "de woningmarkt", "de zorg"])
    ]
    feeds.serve("/nieuws.xml", rss_feed(news), etag='"nieuws-4"')
    world.posts["nieuws"] = len(news)

    # mastodon: a hashtag timeline, plus trends (tags are signals; statuses and links are posts)
    statuses = [
        make_status(
            snowflake(now - timedelta(minutes=5 * i), i),
            f"<p>Dag {i} van het <a href='#'>#nederland</a> weerbericht: {weer}</p>",
            created_at=now - timedelta(minutes=5 * i),
            acct=f"weerman{i}@mastodon.example",
            tags=("nederland",),
        )
        for i, weer in enumerate(["regen", "zon", "storm"], start=1)
    ]
    mastodon.add(*statuses)
    mastodon.trend_tags = [
        {
            "name": "Elfstedentocht",
            "url": "https://m.example/tags/Elfstedentocht",
            "history": tag_history(1387, 412, now),
        },
        {
            "name": "voorjaarsnota",
            "url": "https://m.example/tags/voorjaarsnota",
            "history": tag_history(204, 97, now),
        },
    ]
    mastodon.trend_statuses = [
        make_status(
            snowflake(now - timedelta(minutes=40), 99),
            "<p>De ijsmeesters vergaderen vanavond over de #Elfstedentocht</p>",
            created_at=now - timedelta(minutes=40),
            acct="schaatsnieuws@mastodon.example",
            tags=("Elfstedentocht",),
            reblogs=120,
        )
    ]
    mastodon.trend_links = [
        {
            "url": "https://nos.example.nl/artikel/elfstedentocht",
            "title": "Gaat de Elfstedentocht door?",
            "description": "De vereniging beslist morgen.",
            "type": "link",
            "author_name": "NOS",
            "provider_name": "NOS",
            "language": "nl",
            "published_at": (now - timedelta(hours=1)).isoformat(),
            "history": tag_history(300, 200, now),
        }
    ]
    world.posts["mastodon-nl"] = len(statuses) + 2
    world.signals["mastodon-nl"] = 2

    # bluesky_jetstream: live tail, so the posts go out the moment the reader has connected
    base_us = int(now.timestamp() * 1_000_000)
    dutch = [
        "Wat een drukte op de A12 vanochtend",
        "Eindelijk weer eens zon in Zwolle",
        "Het #twelftal speelt vanavond in de Kuip",
        "Nieuwe fietsenstalling bij Utrecht Centraal is open",
    ]
    events = [
        post_event(
            base_us - 3_000_000 + i * 100_000,
            text,
            did=f"did:plc:nlauteur{i}",
            hashtags=("twelftal",) if "#twelftal" in text else (),
        )
        for i, text in enumerate(dutch)
    ]
    english = post_event(base_us, "Traffic is terrible today", did="did:plc:enauthor", langs=["en"])
    jetstream.publish_on_connect(*events, english)  # langs: [nl] drops the English one
    world.posts["bluesky"] = len(dutch)

    # bluesky_trends
    api.json(
        GETTRENDS,
        {
            "trends": [
                {
                    "topic": topic,
                    "displayName": title,
                    "link": f"/profile/trending.bsky.app/{n}",
                    "startedAt": (now - timedelta(hours=1)).isoformat(),
                    "postCount": count,
                    "status": "hot",
                    "category": "sports",
                    "actors": [],
                }
                for n, (topic, title, count) in enumerate(
                    [
                        ("elfstedentocht", "Elfstedentocht", 4812),
                        ("voorjaarsnota", "Voorjaarsnota", 913),
                        ("oranje", "Oranje", 388),
                    ]
                )
            ]
        },
    )
    world.signals["bluesky-trends"] = 3

    # reddit
    reddit = [
        (f"t3_e2e{i}", f"polderpost{i}", title, body, now - timedelta(minutes=20 * i))
        for i, (title, body) in enumerate(
            [
                ("Storing bij de NS vanochtend?", "De app zegt steeds storing. Ligt het aan mij?"),
                ("Kabinet wil huurbevriezing", "Wat vinden jullie van het plan?"),
                ("Beste friet van Nederland", "Waar haal jij je friet?"),
            ]
        )
    ]
    feeds.serve(
        "/r/thenetherlands/new/.rss",
        reddit_atom("thenetherlands", reddit),
        content_type=ATOM_TYPE,
        etag='"reddit-3"',
    )
    world.posts["reddit-nl"] = len(reddit)

    # hackernews: three stories, a dead one and a deleted one (skipped), Firebase-style
    stories = {
        "43001": {
            "by": "jdoe",
            "descendants": 12,
            "score": 57,
            "type": "story",
            "title": "Gemeente Amsterdam opent haar data",
            "url": "https://example.nl/data",
        },
        "43002": {
            "by": "spammer",
            "dead": True,
            "score": 1,
            "type": "story",
            "title": "Buy cheap followers",
            "url": "https://spam.example/",
        },
        "43003": {"deleted": True, "type": "story"},
        "43004": {
            "by": "marketeer",
            "descendants": 4,
            "score": 9,
            "type": "story",
            "title": "Ask HN: Who uses Slack bots for PR?",
            "text": "We want alerts.<p>",
        },
        "43005": {
            "by": "hacker",
            "descendants": 0,
            "score": 3,
            "type": "story",
            "title": "Show HN: A Dutch trend detector",
            "url": "https://example.nl/show",
        },
    }
    for n, (item_id, item) in enumerate(stories.items()):
        item.update(id=int(item_id), time=int((now - timedelta(minutes=30 + n)).timestamp()))
    api.json("/v0/topstories.json", [int(i) for i in stories])
    api.route_pattern(
        HN_ITEM,
        lambda request: (
            Reply(stories[request.groups[0]])
            if request.groups[0] in stories
            else Reply(None)  # Firebase answers null for an unknown item
        ),
    )
    world.posts["hackernews"] = 3

    # google_trends
    feeds.serve(
        "/trending/rss",
        google_trends_rss(
            [
                ("ajax - az", "20.000+", now - timedelta(hours=2), "Ajax wint de topper", "VI"),
                ("storing ns", "5.000+", now - timedelta(hours=1), "Storing bij de NS", "NOS"),
            ]
        ),
        etag='"trends-2"',
    )
    world.signals["google-trends-nl"] = 2

    # x_search
    FakeX(
        api,
        [
            {
                "id": str(1897000000000000000 + i),
                "author_id": author,
                "created_at": (now - timedelta(minutes=10 * i)).isoformat(),
                "lang": "nl",
                "text": text,
                "entities": {"hashtags": [{"start": 0, "end": 9, "tag": "twelftal"}]},
                "public_metrics": {"like_count": 3 * i, "retweet_count": i},
            }
            for i, (author, text) in enumerate(
                [
                    ("42", "#twelftal wint! Wat een wedstrijd"),
                    ("43", "#twelftal: de opstelling voor vanavond"),
                    ("42", "#twelftal nog steeds ongeslagen"),
                ],
                start=1,
            )
        ],
    )
    world.posts["x-search"] = 3


def write_config(world: World) -> None:
    trends_url = world.feeds.url("/trending/rss") + "?geo={geo}"
    world.config.write_text(
        f"""allow_private_hosts: [127.0.0.1]  # the feed servers of the tests
sources:
  - id: nieuws
    kind: rss
    url: {world.feeds.url("/nieuws.xml")}
    interval: 1m
  - id: mastodon-nl
    kind: mastodon
    instance: {world.mastodon.base_url}
    hashtags: [nederland]
    timeline: none
    trends: true
    limit: 20
  - id: bluesky
    kind: bluesky_jetstream
    endpoints: [{world.jetstream.url}]
    langs: [nl]
    keep: all
    max_read: 3s
  - id: bluesky-trends
    kind: bluesky_trends
    base_url: {world.api.base_url}
    limit: 10
  - id: reddit-nl
    kind: reddit
    subreddits: [thenetherlands]
    listing: new
    base_url: {world.feeds.base_url}
  - id: hackernews
    kind: hackernews
    lists: [top]
    max_items: 10
    search_watch_terms: false
    base_url: {world.api.base_url}/v0
  - id: google-trends-nl
    kind: google_trends
    geo: NL
    url: "{trends_url}"
  - id: x-search
    kind: x_search
    query: "#twelftal lang:nl -is:retweet"
    token_env: X_BEARER_TOKEN
    max_results: 10
    base_url: {world.api.base_url}/2
watch:
  terms: ["werkplek"]
slack:
  channel: "#inhaker"
""",
        encoding="utf-8",
    )


def cli_env(world: World) -> dict[str, str]:
    # The autouse no-proxy fixture has already cleared proxy variables from os.environ.
    env = {**os.environ, "DATABASE_URL": world.database_url, "X_BEARER_TOKEN": X_TOKEN}
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "INHAKER_CONFIG"):
        env.pop(name, None)
    return env


def cli(world: World, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args, "--config", str(world.config)],
        env=cli_env(world),
        cwd=world.tmp_path,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def world(tmp_path: Path, no_proxy_env: None, database_url: str) -> Iterator[World]:
    with ExitStack() as stack:
        built = World(
            tmp_path=tmp_path,
            config=tmp_path / "feeds.yaml",
            feeds=stack.enter_context(FeedServer()),
            mastodon=stack.enter_context(FakeMastodon()),
            jetstream=stack.enter_context(FakeJetstream()),
            api=stack.enter_context(FakeApi()),
            started=datetime.now(UTC),
            database_url=database_url,
        )
        yield built


def counts(store: Store) -> dict[str, int]:
    return {source_id: store.count_posts(source=source_id) for source_id in KINDS}


def signal_counts(store: Store, since: datetime) -> Counter[str]:
    return Counter(trend.source for trend in store.external_trends_since(since))


# -------------------------------------------------------------------------------------------------
# inhaker run --once


def test_run_once_with_every_kind_stores_posts_and_signals(world: World) -> None:
    publish_everything(world, world.started)
    write_config(world)

    first = cli(world, "run", "--once")
    assert first.returncode == 0, first.stderr
    assert "8 sources polled (0 failed)" in first.stderr, first.stderr
    # A first read is history: stored, counted, never alerted.
    assert "0 new posts (" in first.stderr, first.stderr
    assert "more stored as history)" in first.stderr, first.stderr
    assert "Traceback" not in first.stderr, first.stderr
    assert X_TOKEN not in first.stderr + first.stdout

    store = world.store()
    try:
        stored = counts(store)
        # Every post-carrying kind stored exactly what it offers (the first read is backlog:
        # stored, never alerted).
        for source_id in (
            "nieuws",
            "mastodon-nl",
            "bluesky",
            "reddit-nl",
            "hackernews",
            "x-search",
        ):
            assert stored[source_id] > 0, f"{source_id} stored no posts: {stored}"
        assert stored == {**world.posts, "bluesky-trends": 0, "google-trends-nl": 0}
        # Trend lists are signals, not posts.
        signals = signal_counts(store, world.started - timedelta(minutes=1))
        for source_id in ("mastodon-nl", "bluesky-trends", "google-trends-nl"):
            assert signals[source_id] > 0, f"{source_id} stored no signals: {signals}"
        assert dict(signals) == world.signals
        terms = {
            (t.source, t.term)
            for t in store.external_trends_since(world.started - timedelta(minutes=1))
        }
        assert terms == {
            ("mastodon-nl", "elfstedentocht"),
            ("mastodon-nl", "voorjaarsnota"),
            ("bluesky-trends", "elfstedentocht"),
            ("bluesky-trends", "voorjaarsnota"),
            ("bluesky-trends", "oranje"),
            ("google-trends-nl", "ajax - az"),
            ("google-trends-nl", "storing ns"),
        }
        states = store.all_source_states()
        for source_id in KINDS:
            state = states[source_id]
            assert state.polls == 1, (source_id, state)
            assert state.failures_in_a_row == 0, (source_id, state.last_error)
            assert state.last_error is None, (source_id, state.last_error)
    finally:
        store.close()

    # Each fake was asked the way its platform expects.
    searches = world.api.requests_for(X_SEARCH)
    assert searches, "x_search never asked the fake X API"
    assert all(r.headers.get("authorization") == f"Bearer {X_TOKEN}" for r in searches)
    assert searches[0].arg("query") == "#twelftal lang:nl -is:retweet"
    assert not [r for r in world.api.requests if "search_by_date" in r.path]  # no Algolia
    assert world.mastodon.requests_for("/api/v1/timelines/tag/nederland")
    assert world.mastodon.requests_for("/api/v1/trends/tags")
    (conn,) = world.jetstream.connections
    assert conn.cursor is None  # a new source reads the live tail
    assert conn.wanted == ["app.bsky.feed.post"]
    assert world.feeds.requests_for("/r/thenetherlands/new/.rss")[0].headers["user-agent"]
    assert world.feeds.requests_for("/trending/rss")[0].path == "/trending/rss?geo=NL"

    # `inhaker sources`: all eight, each with its kind, none failing.
    health = cli(world, "sources", timeout=60)
    assert health.returncode == 0, health.stderr
    for source_id, kind in KINDS.items():
        assert f"{source_id} ({kind}): last success" in health.stdout, health.stdout
    assert "failures in a row" not in health.stdout, health.stdout
    assert "last error" not in health.stdout, health.stdout
    assert "not polled yet" not in health.stdout, health.stdout
    # Trend-list sources say how many topics their list holds.
    for source_id in ("bluesky-trends", "google-trends-nl"):
        line = next(x for x in health.stdout.splitlines() if x.startswith(f"{source_id} ("))
        assert "trending topics listed" in line, line

    # A second cycle with nothing new: every source answers, nothing is stored twice.
    world.feeds.clear_requests()
    second = cli(world, "run", "--once")
    assert second.returncode == 0, second.stderr
    assert "8 sources polled (0 failed)" in second.stderr, second.stderr
    assert "0 new posts," in second.stderr, second.stderr
    store = world.store()
    try:
        assert counts(store) == stored
        assert signal_counts(store, world.started - timedelta(minutes=1)) == signals
        states = store.all_source_states()
        assert all(states[s].polls == 2 for s in KINDS), {s: states[s].polls for s in KINDS}
        assert all(states[s].failures_in_a_row == 0 for s in KINDS)
    finally:
        store.close()
    # The second read of the stream resumed from the saved cursor (minus the rewind).
    second_conn = world.jetstream.connections[-1]
    assert len(world.jetstream.connections) == 2
    assert second_conn.cursor is not None
    # Conditional GETs: the feed server's validators were sent back and answered with 304.
    for path in ("/nieuws.xml", "/r/thenetherlands/new/.rss", "/trending/rss"):
        requests = world.feeds.requests_for(path)
        assert requests, path
        assert requests[-1].headers.get("if-none-match"), (path, requests[-1].headers)


# -------------------------------------------------------------------------------------------------
# inhaker run (long-running): the Jetstream stream thread


def wait_until(what: str, check: Callable[[], bool], timeout: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


def test_inhaker_run_streams_jetstream_posts_and_stops_cleanly(world: World) -> None:
    jet = world.jetstream
    world.config.write_text(
        f"""allow_private_hosts: [127.0.0.1]  # the feed servers of the tests
sources:
  - id: bluesky
    kind: bluesky_jetstream
    endpoints: [{jet.url}]
    langs: [nl]
    keep: all
    rewind: 5s
slack:
  channel: "#inhaker"
""",
        encoding="utf-8",
    )
    base_us = int(time.time() * 1_000_000)
    sequence = iter(range(1000))

    def posts(count: int, text: str) -> list[dict[str, Any]]:
        made = []
        for _ in range(count):
            n = next(sequence)
            made.append(post_event(base_us + n * 10_000, f"{text} {n}", did=f"did:plc:nl{n}"))
        return made

    first, during_gap, live = (
        posts(3, "Eerste berichten over de A12"),
        posts(2, "Gemist terwijl de verbinding lag"),
        posts(2, "Weer live: de A12 is vrij"),
    )
    published = first + during_gap + live
    log = (world.tmp_path / "run.log").open("w+", encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run", "--config", str(world.config)],
        env=cli_env(world),
        cwd=world.tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=log,  # a file, not a pipe: a chatty process can never block on a full pipe
        text=True,
    )
    store = world.store()
    try:
        first_conn = jet.wait_for_connections(1, timeout=WAIT_SECONDS)
        assert first_conn.cursor is None  # a new source: live tail
        jet.publish(*first)
        wait_until("the first posts in the store", lambda: store.count_posts(source="bluesky") == 3)
        wait_until(
            "the first cursor saved",
            lambda: store.source_state("bluesky").cursor == str(first[-1]["time_us"]),
        )

        # The server drops the connection; what is published meanwhile comes with the replay
        # from the cursor, and the connection after it carries on live.
        jet.drop()
        jet.publish(*during_gap)
        second_conn = jet.wait_for_connections(2, timeout=WAIT_SECONDS)
        assert second_conn.cursor == first[-1]["time_us"] - 5_000_000  # cursor minus rewind
        # A duplicate of an event already stored (same record, same time_us), then new posts.
        jet.publish(first[0], *live)
        wait_until(
            "every post in the store",
            lambda: store.count_posts(source="bluesky") >= len(published),
        )
        wait_until(
            "the cursor at the newest post",
            lambda: store.source_state("bluesky").cursor == str(live[-1]["time_us"]),
        )
        assert store.count_posts(source="bluesky") == len(published)
        stored_ids = {
            p.id
            for p in store.posts_since(world.started - timedelta(hours=1), include_backlog=True)
        }
        assert {f"at://{e['did']}/app.bsky.feed.post/{e['commit']['rkey']}" for e in published} <= (
            stored_ids
        )

        process.send_signal(signal.SIGTERM)
        process.wait(timeout=WAIT_SECONDS)
        log.seek(0)
        err = log.read()
        assert process.returncode == 0, err
        assert "stopped cleanly" in err, err
        assert "Traceback" not in err, err
        assert store.count_posts(source="bluesky") == len(published)  # nothing twice
        state = store.source_state("bluesky")
        assert state.failures_in_a_row == 0, state.last_error
        assert state.cursor == str(live[-1]["time_us"])
        # It closed its websocket on the way out.
        last = jet.connections[-1]
        jet.wait_until_closed(last, timeout=5)
        assert last.close_code == 1000, last
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        store.close()
        log.close()
