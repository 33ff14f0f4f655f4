"""The Bluesky Jetstream source against a real local websocket server (tests/fake_jetstream.py).

Decoding is checked on the real Jetstream events in ../shared/corpus/jetstream (skipped when the
corpus is absent) and on hand-written Dutch/English events in tests/fixtures/jetstream; reading,
resuming, failover, reconnects and shutdown go over real sockets. Nothing in the project is
patched; every wait is bounded.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from bot.config import SourceConfig, parse_config
from bot.poller import build_source, poll, record
from bot.sources.base import FetchResult, SourceState, StreamSource
from bot.sources.jetstream import (
    JetstreamSource,
    facet_text,
    hashtags,
    post_from_event,
    subscribe_url,
)
from bot.store import Store
from detectors.records import Post
from tests.fake_jetstream import FakeJetstream, closed_port_url, post_event, tag_facet

FIXTURES = Path(__file__).parent / "fixtures" / "jetstream"
CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "jetstream"
POST = "app.bsky.feed.post"
NOW = datetime(2026, 5, 25, 18, 5, tzinfo=UTC)
BASE_US = 1_779_732_600_000_000  # 2026-05-25T18:10:00Z
DID = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"
REWIND_US = 5_000_000


# -------------------------------------------------------------------------------------------------
# Helpers


def fixture_events() -> list[dict[str, Any]]:
    lines = (FIXTURES / "nl_en_events.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def make_source(
    endpoints: Sequence[str] = ("ws://127.0.0.1:9/subscribe",),
    *,
    langs: Sequence[str] = (),
    keep: str = "all",
    watch_terms: tuple[str, ...] = (),
    max_read: float = 5.0,
    source_id: str = "bsky",
) -> JetstreamSource:
    config = source_config(endpoints, langs, keep, max_read, source_id)
    return JetstreamSource(config, None, watch_terms=watch_terms)


def source_config(
    endpoints: Sequence[str],
    langs: Sequence[str] = (),
    keep: str = "all",
    max_read: float = 5.0,
    source_id: str = "bsky",
) -> SourceConfig:
    options = {
        "endpoints": tuple(endpoints),
        "langs": tuple(langs),
        "keep": keep,
        "rewind": timedelta(microseconds=REWIND_US),
        "max_read": timedelta(seconds=max_read),
    }
    return SourceConfig(
        id=source_id,
        kind="bluesky_jetstream",
        interval=timedelta(minutes=10),
        options=MappingProxyType(options),
    )


def series(count: int, *, start: int = BASE_US, step_us: int = 1_000_000) -> list[dict[str, Any]]:
    """`count` Dutch posts one second apart."""
    text = "Bericht {} over #Oranje en de kwartfinale"
    return [
        post_event(start + i * step_us, text.format(i), hashtags=("Oranje",)) for i in range(count)
    ]


def post_id(event: Mapping[str, Any]) -> str:
    return f"at://{event['did']}/{POST}/{event['commit']['rkey']}"


class Recorder:
    """A stream sink: records every result and returns the state with the cursor it carried."""

    def __init__(self, source_id: str = "bsky", cursor: str | None = None) -> None:
        self.state = SourceState(source_id, cursor=cursor)
        self.results: list[FetchResult] = []
        self.fail_next_posts = 0  # raise on the next N batches that carry posts (a broken store)
        self._cond = threading.Condition()

    def __call__(self, result: FetchResult) -> SourceState:
        with self._cond:
            if result.posts and self.fail_next_posts:
                self.fail_next_posts -= 1
                raise RuntimeError("database is locked")
            self.results.append(result)
            if result.ok and result.cursor is not None:
                self.state = replace(self.state, cursor=result.cursor)
            self._cond.notify_all()
            return self.state

    @property
    def posts(self) -> list[Post]:
        with self._cond:
            return [post for r in self.results for post in r.posts]

    @property
    def errors(self) -> list[str]:
        with self._cond:
            return [r.error for r in self.results if r.error]

    def wait_for(self, what: Callable[[], bool], timeout: float = 10) -> None:
        with self._cond:
            if not self._cond.wait_for(what, timeout):
                raise TimeoutError(f"sink: condition not met in {timeout}s ({self.results!r})")

    def wait_for_posts(self, count: int, timeout: float = 10) -> None:
        self.wait_for(lambda: sum(len(r.posts) for r in self.results) >= count, timeout)


class Streaming:
    """Runs `source.stream` in a thread; leaving the block sets `stop` and joins (bounded)."""

    def __init__(self, source: JetstreamSource, state: SourceState, sink: Any) -> None:
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(source, state, sink), daemon=True)

    def _run(self, source: JetstreamSource, state: SourceState, sink: Any) -> None:
        try:
            source.stream(state, sink, self.stop)
        except BaseException as exc:  # surfaced by the test, not lost in the thread
            self.error = exc

    def __enter__(self) -> Streaming:
        self.thread.start()
        return self

    def halt(self, within: float = 10.0) -> float:
        """Set stop and wait for `stream` to return: it must stop by itself, not hang.

        `within` is a liveness bound (a hung stream fails the test), not a speed target."""
        started = time.monotonic()
        self.stop.set()
        self.thread.join(timeout=within)
        took = time.monotonic() - started
        assert not self.thread.is_alive(), f"stream still running {within}s after stop"
        assert self.error is None, f"stream raised {self.error!r}"
        return took

    def __exit__(self, *exc: object) -> None:
        if self.thread.is_alive():
            self.stop.set()
            self.thread.join(timeout=5)


def fetch_in_thread(
    source: JetstreamSource, state: SourceState
) -> tuple[threading.Thread, list[FetchResult]]:
    box: list[FetchResult] = []
    thread = threading.Thread(target=lambda: box.append(source.fetch(state, NOW)), daemon=True)
    thread.start()
    return thread, box


@pytest.fixture
def server() -> Iterator[FakeJetstream]:
    with FakeJetstream() as fake:
        yield fake


# -------------------------------------------------------------------------------------------------
# Decoding


@pytest.mark.corpus
def test_real_jetstream_events_decode_to_the_one_post_among_them() -> None:
    """Upstream's golden capture: likes, reposts, follows, blocks, a profile update, a delete,
    other lexicons, identity and account events, and one post (a reply)."""
    golden = CORPUS / "golden_v1.jsonl"
    if not golden.exists():
        pytest.skip(f"corpus not found at {CORPUS}")
    events = [json.loads(line) for line in golden.read_text(encoding="utf-8").splitlines()]
    posts = [p for p in (post_from_event(e, "bsky") for e in events) if p is not None]
    did, rkey = "did:plc:q235v55g5unth4zjjdpacfdr", "3mmoojp4cd223"
    assert posts == [
        Post(
            source="bsky",
            id=f"at://{did}/{POST}/{rkey}",
            text="Try RSV for a good time !!",
            created_at=datetime(2026, 5, 25, 14, 23, 28, 757000, tzinfo=UTC),
            author=did,
            url=f"https://bsky.app/profile/{did}/post/{rkey}",
            lang="en",
        )
    ]
    # The lines are not in time_us order; reading them in one go loses none of them.
    assert [p.id for p in make_source().posts_from(events)] == [posts[0].id]


@pytest.mark.corpus
def test_real_jetstream_events_through_the_fake_server_give_the_newest_cursor(
    server: FakeJetstream,
) -> None:
    golden = CORPUS / "golden_v1.jsonl"
    if not golden.exists():
        pytest.skip(f"corpus not found at {CORPUS}")
    lines = golden.read_text(encoding="utf-8").splitlines()
    server.publish(*lines)  # sent byte for byte as upstream captured them
    first = min(json.loads(line)["time_us"] for line in lines)
    result = make_source([server.url]).fetch(SourceState("bsky", cursor=str(first - 1)), NOW)
    assert result.ok, result.error
    assert [p.text for p in result.posts] == ["Try RSV for a good time !!"]
    conn = server.connections[0]
    assert conn.wanted == [POST]
    # Only the post, the identity and the account event pass wantedCollections.
    assert len(conn.sent) == 3
    assert result.cursor == str(max(t for t in conn.sent if t is not None))


def test_hand_written_events_decode_into_posts() -> None:
    events = fixture_events()
    posts = make_source().posts_from(events)
    by_text = {p.text.split()[0]: p for p in posts}
    # Every create of app.bsky.feed.post, replies included; no like, delete, update,
    # identity or account event.
    assert len(posts) == 12
    assert [p.id for p in posts] == [
        post_id(e)
        for e in events
        if e["kind"] == "commit"
        and e["commit"]["operation"] == "create"
        and e["commit"]["collection"] == POST
    ]

    oranje = posts[0]
    did = events[0]["did"]
    rkey = events[0]["commit"]["rkey"]
    assert oranje.id == f"at://{did}/app.bsky.feed.post/{rkey}"
    assert oranje.url == f"https://bsky.app/profile/{did}/post/{rkey}"
    assert oranje.author == did
    assert oranje.source == "bsky"
    assert oranje.lang == "nl"
    assert oranje.tags == ("Oranje", "EK2026")
    assert oranje.created_at == datetime(2026, 5, 25, 18, 0, 0, 262000, tzinfo=UTC)

    reply = by_text["Helemaal"]
    assert reply.text == "Helemaal mee eens, die werkplek-enquête van het CBS zegt genoeg."
    assert by_text["Our"].tags == ("marketing",)  # the link facet is not a tag
    assert by_text["Café-eigenaren"].lang == "nl"  # "nl-NL" -> primary subtag
    assert by_text["Café-eigenaren"].tags == ("terrasregels",)
    assert by_text["Vacature:"].lang == "nl"  # the first of ["nl", "en"]
    assert by_text["gm"].lang is None
    assert by_text["Nieuwe"].tags == ("zorg", "ouderenzorg")  # record.tags
    assert by_text["Hup"].tags == ("WKvrouwen",)

    # A createdAt in 2031 is a broken clock: the post is dated when Jetstream received it.
    broken = by_text["Posting"]
    assert broken.created_at == datetime.fromtimestamp(events[11]["time_us"] / 1e6, tz=UTC)
    # No createdAt at all: the same.
    last = by_text["Wie"]
    assert last.created_at == datetime.fromtimestamp(events[16]["time_us"] / 1e6, tz=UTC)
    assert all(p.created_at.tzinfo is UTC for p in posts)


def test_facet_text_counts_utf8_bytes_not_characters() -> None:
    text = "Café-eigenaren 😤 over de #terrasregels van Utrecht"
    facet = tag_facet(text, "terrasregels")
    start, end = facet["index"]["byteStart"], facet["index"]["byteEnd"]
    # "é" is 2 bytes and "😤" 4, so byte and character offsets differ by 4.
    assert (start, end) == (text.index("#") + 4, text.index("#") + 4 + len("#terrasregels"))
    assert facet_text(text, start, end) == "#terrasregels"
    assert text[start:end] != "#terrasregels"  # what slicing by characters would get wrong
    flag = "Hup 🇳🇱 #WKvrouwen"
    assert facet_text(flag, 13, 23) == "#WKvrouwen"  # the flag is two 4-byte code points


@pytest.mark.parametrize(
    ("start", "end"),
    [(0, 0), (5, 3), (-1, 4), (0, 999), (4, 6), (True, 3)],
    ids=["empty", "reversed", "negative", "past-the-end", "half-an-é", "bool"],
)
def test_facet_text_refuses_malformed_ranges(start: Any, end: Any) -> None:
    assert facet_text("Café 😤 #x", start, end) is None


def test_hashtags_from_facets_and_tags_once_each_and_from_the_text_when_a_tag_is_missing() -> None:
    text = "Zo trots 🇳🇱 #Oranje #oranje"
    facet = tag_facet(text, "Oranje")
    bare = tag_facet(text, "oranje")
    bare["features"][0].pop("tag")  # a tag feature without its tag: read the text it covers
    record = {
        "text": text,
        "facets": [facet, bare, {"features": "not a list"}, "junk"],
        "tags": ["ORANJE", "#EK2026", 7, ""],
    }
    assert hashtags(record) == ("Oranje", "EK2026")
    lion = "Hup 🦁 #Leeuwinnen"
    facet = tag_facet(lion, "Leeuwinnen")
    facet["features"][0].pop("tag")
    assert facet["index"] == {"byteStart": 9, "byteEnd": 20}
    assert hashtags({"text": lion, "facets": [facet]}) == ("Leeuwinnen",)


def test_odd_events_are_skipped_not_fatal() -> None:
    good = post_event(BASE_US, "Goedemorgen Nederland")
    odd: list[Any] = [
        {"kind": "heartbeat", "payload": ""},  # no time_us
        {"did": DID, "time_us": BASE_US + 1, "kind": "commit", "commit": "junk"},
        {"did": "not-a-did", **{k: v for k, v in good.items() if k != "did"}},
        {**good, "commit": {**good["commit"], "rkey": "../../evil"}},
        {**good, "commit": {**good["commit"], "record": None}},
        {**good, "time_us": "soon"},
        ["not", "an", "object"],
    ]
    source = make_source()
    assert source.posts_from(odd) == []
    assert [p.text for p in source.posts_from([*odd, good])] == ["Goedemorgen Nederland"]


def test_subscribe_url_asks_for_posts_and_resumes_from_a_cursor() -> None:
    assert (
        subscribe_url("wss://jetstream2.us-east.bsky.network/subscribe", None)
        == "wss://jetstream2.us-east.bsky.network/subscribe?wantedCollections=app.bsky.feed.post"
    )
    assert subscribe_url("ws://127.0.0.1:6008/subscribe?compress=false&cursor=1", 1725519626) == (
        "ws://127.0.0.1:6008/subscribe?compress=false"
        "&wantedCollections=app.bsky.feed.post&cursor=1725519626"
    )


# -------------------------------------------------------------------------------------------------
# Filtering


def texts(posts: Sequence[Post]) -> list[str]:
    return [p.text.split()[0] for p in posts]


def test_language_filter_keeps_posts_in_the_wanted_languages() -> None:
    events = fixture_events()
    dutch = make_source(langs=["nl"]).posts_from(events)
    # nl, nl-NL and ["nl", "en"] pass; en, de and posts without langs do not.
    assert texts(dutch) == [
        "Wat",
        "Helemaal",
        "Café-eigenaren",
        "Vacature:",
        "Nieuwe",
        "Hup",
        "Wie",
    ]
    both = make_source(langs=["NL", "en-GB"]).posts_from(events)
    assert "Our" in texts(both)
    assert "Die" not in texts(both)
    assert "gm" not in texts(both)
    everything = make_source(langs=[]).posts_from(events)
    assert len(everything) == 12  # no language filter: posts without langs are kept too


def test_keep_matching_keeps_posts_with_a_watch_term() -> None:
    events = fixture_events()
    source = make_source(
        keep="matching",
        watch_terms=("#Oranje", "werkplek", "Social Media", "zorg", "AI"),
    )
    kept = source.posts_from(events)
    # #Oranje: a hashtag; werkplek: also inside "werkplek-enquête"; "social media": a phrase;
    # zorg: only in record.tags.
    assert texts(kept) == ["Wat", "Helemaal", "Vacature:", "Nieuwe", "Wie"]
    assert source.posts_from(events) == kept  # deterministic
    # Matching is on words, not substrings: "zorg" is not found inside "ouderenzorg" alone.
    only_text = post_event(BASE_US, "De ouderenzorg kraakt")
    assert source.posts_from([only_text]) == []
    # A short word the tokenizer skips still matches on word boundaries.
    ai = post_event(BASE_US + 1, "Wat doet AI met persberichten?")
    thai = post_event(BASE_US + 2, "Thai restaurant opent in Zwolle")
    assert texts(source.posts_from([ai, thai])) == ["Wat"]


def test_keep_matching_and_language_filter_combine() -> None:
    source = make_source(keep="matching", langs=["en"], watch_terms=("eurovision", "marketing"))
    assert texts(source.posts_from(fixture_events())) == ["Our", "Journalist"]


def test_keep_all_keeps_every_post_that_passes_the_language_filter() -> None:
    source = make_source(keep="all", langs=["de"], watch_terms=("oranje",))
    assert texts(source.posts_from(fixture_events())) == ["Die"]


def test_keep_matching_without_watch_terms_keeps_nothing_and_says_so(
    server: FakeJetstream,
) -> None:
    events = series(3)
    server.publish(*events)
    source = make_source([server.url], keep="matching")
    result = source.fetch(SourceState("bsky", cursor=str(BASE_US - 1)), NOW)
    assert result.ok
    assert result.posts == []
    assert result.cursor == str(events[-1]["time_us"])  # the cursor still moves on
    assert result.note is not None
    assert "no watch terms" in result.note


def test_feeds_yaml_entry_builds_the_adapter_with_its_options() -> None:
    config = parse_config(
        "sources:\n"
        "  - id: bsky\n"
        "    kind: bluesky_jetstream\n"
        "    endpoints:\n"
        "      - ws://127.0.0.1:6008/subscribe\n"
        "      - wss://jetstream2.us-west.bsky.network/subscribe\n"
        "    langs: [nl, en]\n"
        "    keep: all\n"
        "    rewind: 10s\n"
        "    max_read: 30s\n"
    )
    source = build_source(config.sources[0], watch_terms=("oranje",))
    assert isinstance(source, JetstreamSource)
    assert isinstance(source, StreamSource)
    assert source.kind == "bluesky_jetstream"
    assert source.endpoints[0] == "ws://127.0.0.1:6008/subscribe"
    assert source.langs == {"nl", "en"}
    assert source.keep == "all"
    assert source.rewind_us == 10_000_000
    assert source.max_read == timedelta(seconds=30)
    defaults = build_source(parse_config("sources: [{id: b, kind: bluesky_jetstream}]").sources[0])
    assert isinstance(defaults, JetstreamSource)
    assert defaults.endpoints[0] == "wss://jetstream1.us-east.bsky.network/subscribe"
    assert defaults.keep == "matching"
    assert defaults.rewind_us == 5_000_000


# -------------------------------------------------------------------------------------------------
# fetch (inhaker run --once)


def test_fetch_from_a_fresh_state_reads_live_and_returns_the_cursor(server: FakeJetstream) -> None:
    events = fixture_events()
    server.publish(*series(3, start=BASE_US - 60_000_000))  # history: not heard without a cursor
    server.publish_on_connect(*events)
    source = make_source([server.url], max_read=10)
    started = time.monotonic()
    result = source.fetch(SourceState("bsky"), NOW)
    took = time.monotonic() - started
    assert result.ok, result.error
    assert len(result.posts) == 12
    assert result.cursor == str(events[-1]["time_us"])
    assert took < 5, "a quiet stream ends the read after about a second, not max_read"
    (conn,) = server.connections
    assert conn.query == {"wantedCollections": [POST]}  # no cursor: live tail
    server.wait_until_closed(conn, timeout=2)
    assert conn.close_code == 1000  # it disconnected cleanly


def test_second_fetch_rewinds_from_the_cursor_and_yields_no_duplicates(
    server: FakeJetstream,
) -> None:
    first_batch, second_batch = series(4), series(3, start=BASE_US + 4_000_000)
    server.publish_on_connect(*first_batch)
    source = make_source([server.url])
    first = source.fetch(SourceState("bsky"), NOW)
    assert first.ok, first.error
    assert [p.id for p in first.posts] == [post_id(e) for e in first_batch]
    assert first.cursor == str(first_batch[-1]["time_us"])

    server.publish(*second_batch)  # while nobody listens
    second = source.fetch(SourceState("bsky", cursor=first.cursor), NOW)
    assert second.ok, second.error
    conn = server.connections[1]
    assert conn.cursor == int(first.cursor) - REWIND_US
    assert conn.query["cursor"] == [str(int(first.cursor) - REWIND_US)]
    # The rewind brought the first batch again; none of it comes back as a post.
    assert set(conn.sent) >= {e["time_us"] for e in first_batch}
    assert [p.id for p in second.posts] == [post_id(e) for e in second_batch]
    assert second.cursor == str(second_batch[-1]["time_us"])

    third = source.fetch(SourceState("bsky", cursor=second.cursor), NOW)
    assert third.ok
    assert third.posts == []
    assert third.cursor == second.cursor


def test_fetch_reads_at_most_max_read_and_the_next_run_continues() -> None:
    events = series(60, step_us=200_000)
    slow = FakeJetstream(events, pace=0.04)  # 60 events take about 2.4 s to send
    with slow:
        source = make_source([slow.url], max_read=1.0)
        state = SourceState("bsky", cursor=str(BASE_US - 1))
        later = NOW + timedelta(hours=2)  # the events are two hours old by now
        first = source.fetch(state, later)
        assert first.ok, first.error
        assert 0 < len(first.posts) < 60  # it stopped at max_read, before the stream ended
        assert first.note is not None
        assert "behind live" in first.note
        rest = make_source([slow.url], max_read=10).fetch(
            replace(state, cursor=first.cursor), later
        )
        assert rest.ok, rest.error
    ids = [p.id for p in first.posts + rest.posts]
    assert ids == [post_id(e) for e in events]  # nothing lost, nothing twice


def test_fetch_fails_over_to_the_next_endpoint(server: FakeJetstream) -> None:
    events = series(3)
    server.publish(*events)
    refused = closed_port_url()
    source = make_source([refused, server.url])
    result = source.fetch(SourceState("bsky", cursor=str(BASE_US - 1)), NOW)
    assert result.ok, result.error
    assert [p.id for p in result.posts] == [post_id(e) for e in events]
    assert len(server.connections) == 1


def test_fetch_with_every_endpoint_down_is_one_error_line_not_an_exception() -> None:
    with FakeJetstream(refuse_status=503) as busy:
        refused = closed_port_url()
        source = make_source([refused, busy.url], source_id="bsky-nl")
        result = source.fetch(SourceState("bsky-nl", cursor=str(BASE_US)), NOW)
    assert not result.ok
    assert result.posts == []
    assert result.error is not None
    assert result.error.startswith(
        "bluesky_jetstream source 'bsky-nl': cannot read the stream from any endpoint ("
    )
    assert f"{refused.split('/')[2]}: connection refused" in result.error
    assert "HTTP 503 at the websocket handshake" in result.error
    assert " — check the endpoints in feeds.yaml" in result.error
    assert "\n" not in result.error


def test_fetch_returns_what_it_read_when_the_stream_ends_early(server: FakeJetstream) -> None:
    events = series(6)
    server.publish(*events)
    server.drop_after(4)
    result = make_source([server.url]).fetch(SourceState("bsky", cursor=str(BASE_US - 1)), NOW)
    assert result.ok, result.error
    assert [p.id for p in result.posts] == [post_id(e) for e in events[:4]]
    assert result.cursor == str(events[3]["time_us"])
    assert result.note is not None
    assert "code 1011" in result.note


def test_unreadable_messages_are_skipped_and_counted(server: FakeJetstream) -> None:
    good = series(2)
    server.publish(good[0], "this is not json", '{"kind": "heartbeat", "payload": ""}', good[1])
    result = make_source([server.url]).fetch(SourceState("bsky", cursor=str(BASE_US - 1)), NOW)
    assert result.ok, result.error
    assert [p.id for p in result.posts] == [post_id(e) for e in good]
    assert result.note == "1 unreadable message skipped"


def test_a_garbage_saved_cursor_reads_from_live_and_says_so(server: FakeJetstream) -> None:
    server.publish_on_connect(*series(1))
    result = make_source([server.url]).fetch(SourceState("bsky", cursor="since_id=42"), NOW)
    assert result.ok
    assert len(result.posts) == 1
    assert server.connections[0].cursor is None
    assert result.note is not None
    assert "not a Jetstream time_us" in result.note


def test_poll_stores_the_posts_and_the_cursor(database_url: str, server: FakeJetstream) -> None:
    events = fixture_events()
    server.publish(*events)
    config = source_config([server.url])
    source = build_source(config)
    store = Store(database_url)
    try:
        store.save_source_state(SourceState("bsky", cursor=str(events[0]["time_us"] - 1)))
        first = poll(source, config, store, NOW)
        assert first.error is None
        assert len(first.backlog) == 12  # a source's first read is history, not alerts
        assert store.count_posts(source="bsky") == 12
        state = store.source_state("bsky")
        assert state.cursor == str(events[-1]["time_us"])
        assert state.last_success_at == NOW

        fresh = series(2, start=events[-1]["time_us"] + 1_000_000)
        server.publish(*fresh)
        second = poll(source, config, store, NOW + timedelta(minutes=10))
        assert [p.id for p in second.new_posts] == [post_id(e) for e in fresh]
        assert server.connections[1].cursor == events[-1]["time_us"] - REWIND_US
        assert store.count_posts(source="bsky") == 14
        stored = store.posts_by_uids([f"bsky:{post_id(events[0])}"])
        assert stored[0].tags == ("Oranje", "EK2026")
        assert store.source_state("bsky").cursor == str(fresh[-1]["time_us"])
    finally:
        store.close()


# -------------------------------------------------------------------------------------------------
# stream (inhaker run)


@pytest.mark.parametrize("abrupt", [False, True], ids=["close-frame", "no-close-frame"])
def test_stream_reconnects_after_a_drop_and_resumes_with_nothing_lost_or_twice(
    server: FakeJetstream, abrupt: bool
) -> None:
    history, live = series(12), series(3, start=BASE_US + 12_000_000)
    server.publish(*history)
    server.drop_after(5, abrupt=abrupt)
    sink = Recorder(cursor=str(BASE_US - 1))
    source = make_source([server.url])
    with Streaming(source, sink.state, sink) as running:
        sink.wait_for_posts(12)
        server.publish(*live)
        sink.wait_for_posts(15)
        running.halt()
    ids = [p.id for p in sink.posts]
    assert ids == [post_id(e) for e in history + live]  # in order, each once
    first, second = server.connections
    assert first.dropped
    assert first.cursor == BASE_US - 1 - REWIND_US
    # It resumed from the cursor the sink confirmed (the fifth event), minus the rewind...
    assert second.cursor == history[4]["time_us"] - REWIND_US
    # ...so events it had already handed over came again and were dropped.
    assert set(second.sent) >= {e["time_us"] for e in history[:5]}
    assert sink.state.cursor == str(live[-1]["time_us"])
    assert sink.errors == []


def test_stream_batches_carry_the_cursor(server: FakeJetstream) -> None:
    events = series(5)
    server.publish(*events)
    sink = Recorder(cursor=str(BASE_US - 1))
    with Streaming(make_source([server.url]), sink.state, sink) as running:
        sink.wait_for_posts(5)
        running.halt()
    cursors = [int(r.cursor) for r in sink.results if r.cursor]
    assert cursors == sorted(cursors)
    assert cursors[-1] == events[-1]["time_us"]
    for result in sink.results:  # every batch's cursor covers its own posts
        assert result.cursor is not None
        assert all(p.created_at.timestamp() * 1e6 <= int(result.cursor) for p in result.posts)


def test_stream_fails_over_when_the_first_endpoint_refuses(server: FakeJetstream) -> None:
    events = series(4)
    server.publish(*events)
    sink = Recorder(cursor=str(BASE_US - 1))
    source = make_source([closed_port_url(), server.url])
    with Streaming(source, sink.state, sink) as running:
        sink.wait_for_posts(4)
        running.halt()
    assert [p.id for p in sink.posts] == [post_id(e) for e in events]
    assert len(server.connections) == 1
    assert sink.errors == []  # one endpoint answered: nothing to report


def test_stream_with_every_endpoint_down_reports_it_and_still_stops_promptly() -> None:
    sink = Recorder()
    source = make_source([closed_port_url(), closed_port_url()])
    with Streaming(source, sink.state, sink) as running:
        sink.wait_for(lambda: len(sink.errors) >= 2, timeout=10)  # retried after a pause
        running.halt()
    assert sink.errors[0].startswith("bluesky_jetstream source 'bsky': cannot connect to any")
    assert "connection refused" in sink.errors[0]


def test_stop_while_connected_returns_within_two_seconds_and_closes_cleanly(
    server: FakeJetstream,
) -> None:
    sink = Recorder()
    with Streaming(make_source([server.url]), sink.state, sink) as running:
        conn = server.wait_for_connections(1)
        server.publish(*series(2))
        sink.wait_for_posts(2)
        running.halt()
    server.wait_until_closed(conn, timeout=2)
    assert conn.close_code == 1000  # a clean close frame from the client


def test_stop_while_the_handshake_hangs_returns_promptly() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)  # accepts TCP, never answers the websocket handshake
        url = f"ws://127.0.0.1:{silent.getsockname()[1]}/subscribe"
        sink = Recorder()
        with Streaming(make_source([url]), sink.state, sink) as running:
            time.sleep(0.5)
            running.halt()
    assert sink.results == []


def test_a_failing_sink_makes_the_stream_read_the_batch_again(server: FakeJetstream) -> None:
    events = series(4)
    server.publish(*events)
    sink = Recorder(cursor=str(BASE_US - 1))
    sink.fail_next_posts = 1  # the store is locked once
    with Streaming(make_source([server.url]), sink.state, sink) as running:
        sink.wait_for_posts(4)
        running.halt()
    assert [p.id for p in sink.posts] == [post_id(e) for e in events]
    assert len(server.connections) == 2
    assert server.connections[1].cursor == BASE_US - 1 - REWIND_US  # nothing was confirmed


def test_stream_into_the_real_store_through_record(
    database_url: str, server: FakeJetstream
) -> None:
    """The runner's sink: each batch is recorded like a poll and the saved state comes back."""
    events = series(6)
    server.publish(*events)
    config = source_config([server.url])
    store = Store(database_url)
    store.save_source_state(SourceState("bsky", cursor=str(BASE_US - 1)))
    lock = threading.Lock()

    def sink(result: FetchResult) -> SourceState:
        with lock:
            state = store.source_state("bsky")
            record("bsky", config, store, state, result, NOW)
            return store.source_state("bsky")

    server.drop_after(3)
    try:
        with Streaming(JetstreamSource(config), store.source_state("bsky"), sink) as running:
            deadline = time.monotonic() + 10
            while store.count_posts(source="bsky") < 6 and time.monotonic() < deadline:
                time.sleep(0.05)
            running.halt()
        assert store.count_posts(source="bsky") == 6
        assert store.source_state("bsky").cursor == str(events[-1]["time_us"])
        assert server.connections[1].cursor == events[2]["time_us"] - REWIND_US
    finally:
        store.close()
