"""The SSRF guard: source URLs cannot reach loopback, private, link-local or metadata addresses.

Address classes are checked directly; everything else goes over real sockets: feed servers on
127.0.0.1 reached through the worker's client (`make_client(allow_private_hosts=...)`), a fake
Jetstream websocket, and `inhaker run --once` in a subprocess. "localhost" is the refused host in
the real-server tests: it resolves to this machine, so the guard has to resolve it to refuse it.
No test connects to a metadata address: the refusal is checked to happen before any connection.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from pathlib import Path

import httpx
import pytest
from websockets.http11 import Request, Response
from websockets.sync.server import ServerConnection, serve

from bot.config import SourceConfig, parse_config
from bot.http import make_client
from bot.netguard import (
    BlockedAddressError,
    GuardedBackend,
    NetGuard,
    classify,
    guard_of,
    normalize_host,
    open_websocket_socket,
)
from bot.poller import build_source
from bot.sources.base import SourceState
from bot.sources.jetstream import JetstreamSource
from bot.sources.rss import RssSource
from bot.store import Store
from tests.fake_jetstream import FakeJetstream, post_event
from tests.fake_slack import FakeSlack
from tests.feed_server import FeedServer
from tests.test_e2e_run import rss
from tests.test_jetstream import source_config as jetstream_config

TODO = "add the host to allow_private_hosts in feeds.yaml if this is intended"
NOW = datetime(2026, 5, 25, 18, 5, tzinfo=UTC)


def feed(server: FeedServer, path: str = "/feed.xml") -> str:
    now = datetime.now(UTC)
    items = [(f"p{i}", f"Author {i}", f"Nieuws {i} over de stad", now) for i in range(3)]
    return server.serve(path, rss("local", items))


def fetch(url: str, allow: tuple[str, ...], source_id: str = "local") -> tuple[str | None, int]:
    """Fetch `url` as the worker would: (the error, if any; how many posts)."""
    config = SourceConfig(id=source_id, kind="rss", interval=timedelta(minutes=10), url=url)
    with make_client(allow_private_hosts=allow) as client:
        source = RssSource(config, client)
        result = source.fetch(SourceState(source_id), datetime.now(UTC))
    return result.error, len(result.posts)


# -------------------------------------------------------------------------------------------------
# Address classes


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("10.0.0.5", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.254", "private"),
        ("192.168.1.1", "private"),
        ("169.254.1.1", "link-local"),
        ("169.254.169.254", "cloud metadata"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("100.127.255.254", "carrier-grade NAT"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("192.0.2.1", "reserved"),  # documentation
        ("255.255.255.255", "reserved"),
        ("8.8.8.8", None),
        ("1.1.1.1", None),
        ("172.32.0.1", None),  # just outside 172.16/12
        ("100.128.0.1", None),  # just outside 100.64/10
        ("93.184.215.14", None),
    ],
)
def test_ipv4_classes(address: str, kind: str | None) -> None:
    assert classify(ipaddress.ip_address(address)) == kind


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("fe80::1", "link-local"),
        ("fd00:ec2::254", "cloud metadata"),
        ("ff02::1", "multicast"),
        ("2001:db8::1", "reserved"),  # documentation
        ("2606:4700:4700::1111", None),
        ("2001:4860:4860::8888", None),
    ],
)
def test_ipv6_classes(address: str, kind: str | None) -> None:
    assert classify(ipaddress.ip_address(address)) == kind


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("::ffff:127.0.0.1", "loopback"),  # v4-mapped
        ("::ffff:10.0.0.5", "private"),
        ("::ffff:169.254.169.254", "cloud metadata"),
        ("::ffff:8.8.8.8", None),
        ("2002:a00:5::1", "private"),  # 6to4 carrying 10.0.0.5
        ("2002:808:808::1", None),  # 6to4 carrying 8.8.8.8
        ("64:ff9b::a00:5", "private"),  # NAT64 carrying 10.0.0.5
        ("64:ff9b::808:808", None),  # NAT64 to a public host: IPv6-only networks need it
    ],
)
def test_ipv6_forms_carrying_ipv4_are_judged_by_the_ipv4_inside(
    address: str, kind: str | None
) -> None:
    assert classify(ipaddress.ip_address(address)) == kind


def test_names_are_refused_by_what_they_resolve_to() -> None:
    guard = NetGuard()
    reason = guard.refusal("localhost", 80)
    assert reason is not None
    assert reason.startswith("localhost resolves to ")
    assert "a loopback address" in reason
    assert guard.refusal("127.0.0.1", 80) == "127.0.0.1 is a loopback address"
    assert guard.refusal("::ffff:10.0.0.5", 80) == "::ffff:a00:5 (10.0.0.5) is a private address"
    # A decimal IPv4 is a name to the URL parser but 127.0.0.1 to the resolver.
    assert "127.0.0.1, a loopback address" in (guard.refusal("2130706433", 80) or "")


def test_metadata_names_are_refused_without_resolving() -> None:
    guard = NetGuard()
    for name in ("metadata.google.internal", "METADATA.Google.Internal.", "metadata.goog"):
        assert guard.refusal(name, 80) == f"{normalize_host(name)} is a cloud metadata host"


def test_the_allow_list_matches_the_host_as_written_in_the_url() -> None:
    by_ip = NetGuard(["127.0.0.1", "[::1]"])
    assert by_ip.refusal("127.0.0.1", 80) is None
    assert by_ip.refusal("::1", 80) is None
    assert by_ip.refusal("[::1]", 80) is None
    # Listing the IP does not allow every name that resolves to it.
    assert by_ip.refusal("localhost", 80) is not None
    assert by_ip.refusal("127.0.0.2", 80) is not None
    by_name = NetGuard(["LocalHost."])
    assert by_name.refusal("localhost", 80) is None
    assert by_name.refusal("127.0.0.1", 80) is not None
    assert NetGuard(["metadata.google.internal"]).refusal("metadata.google.internal", 80) is None


def test_the_allow_list_can_change_without_a_new_client() -> None:
    guard = NetGuard()
    assert guard.refusal("127.0.0.1", 80) is not None
    guard.update(["127.0.0.1"])
    assert guard.refusal("127.0.0.1", 80) is None


def test_the_worker_client_carries_the_guard_and_a_plain_client_does_not() -> None:
    with make_client(allow_private_hosts=()) as guarded, make_client() as plain:
        assert isinstance(guard_of(guarded), NetGuard)
        assert guard_of(plain) is None


# -------------------------------------------------------------------------------------------------
# Real servers


def test_a_feed_on_127_0_0_1_is_refused_unless_allowed(feed_server: FeedServer) -> None:
    url = feed(feed_server)
    error, posts = fetch(url, ())
    assert error == (
        f"rss source 'local' ({url}): "
        f"refused to fetch {url}: 127.0.0.1 is a loopback address — {TODO}"
    )
    assert posts == 0
    assert feed_server.requests == []  # refused before connecting

    error, posts = fetch(url, ("127.0.0.1",))
    assert error is None
    assert posts == 3
    assert [r.path for r in feed_server.requests] == ["/feed.xml"]


def test_a_name_resolving_to_a_private_address_is_refused(feed_server: FeedServer) -> None:
    url = feed(feed_server).replace("127.0.0.1", "localhost")
    error, _ = fetch(url, ("127.0.0.1",))
    assert error is not None
    assert error.startswith(
        f"rss source 'local' ({url}): refused to fetch {url}: localhost resolves to "
    )
    assert error.endswith(f"a loopback address — {TODO}")
    assert feed_server.requests == []
    # Allowed by its name, the same URL is fetched.
    assert fetch(url, ("localhost",)) == (None, 3)


def test_a_redirect_to_a_refused_host_is_refused(feed_server: FeedServer) -> None:
    """Only 127.0.0.1 is allowed; its feed moved to a second server on "localhost"."""
    with FeedServer() as other:
        target = feed(other).replace("127.0.0.1", "localhost")
        url = feed_server.redirect("/moved.xml", target)
        error, posts = fetch(url, ("127.0.0.1",))
        assert error == (
            f"rss source 'local' ({url}): "
            f"refused to fetch {target}: {error_reason(target)} — {TODO}"
        )
        assert posts == 0
        assert [r.path for r in feed_server.requests] == ["/moved.xml"]  # the first hop ran
        assert other.requests == []  # the refused hop never connected
        # Allowed too, the redirect is followed.
        assert fetch(url, ("127.0.0.1", "localhost")) == (None, 3)
        assert [r.path for r in other.requests] == ["/feed.xml"]


def error_reason(url: str) -> str:
    reason = NetGuard().refusal(httpx.URL(url).host, 80)
    assert reason is not None
    return reason


def test_a_redirect_to_the_metadata_address_is_refused_before_connecting(
    feed_server: FeedServer,
) -> None:
    metadata = "http://169.254.169.254/latest/meta-data/iam/security-credentials/"
    url = feed_server.redirect("/feed.xml", metadata)
    with make_client(1.0, allow_private_hosts=("127.0.0.1",)) as client:
        assert guard_of(client) is not None  # never run this unguarded: it would connect
        with pytest.raises(BlockedAddressError) as refused:
            client.get(url)
    assert refused.value.cause == (
        f"refused to fetch {metadata}: 169.254.169.254 is a cloud metadata address"
    )
    assert [r.path for r in feed_server.requests] == ["/feed.xml"]


def test_urls_in_refusals_show_no_credentials_or_query(feed_server: FeedServer) -> None:
    """A redirect may carry a password or a token; the refusal does not repeat them."""
    port = feed_server.port
    url = feed_server.redirect(
        "/feed.xml", f"http://reader:s3cret@localhost:{port}/private.xml?token=abc123"
    )
    error, _ = fetch(url, ("127.0.0.1",))
    assert error is not None
    assert f"refused to fetch http://localhost:{port}/private.xml?…: localhost resolves" in error
    assert "s3cret" not in error
    assert "abc123" not in error


def test_the_connection_itself_goes_only_to_checked_addresses(feed_server: FeedServer) -> None:
    """The pool's backend checks again at connect time (a name re-resolved between the request
    check and the connect cannot slip through) and connects to the checked address."""
    port = feed_server.port
    with pytest.raises(BlockedAddressError) as refused:
        GuardedBackend(NetGuard()).connect_tcp("localhost", port, timeout=2)
    assert refused.value.cause.startswith(f"refused to fetch localhost (port {port}): ")
    assert "loopback address" in refused.value.cause
    stream = GuardedBackend(NetGuard(["localhost"])).connect_tcp("localhost", port, timeout=2)
    stream.close()


def test_a_proxy_from_the_environment_still_carries_guarded_requests(
    feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Teams behind a corporate proxy keep it: the proxy (here the local feed server; often on a
    private address) is reached although 127.0.0.1 is not allowed, and a request the guard lets
    through goes via the proxy. A private target is still refused before the proxy sees it."""
    monkeypatch.setenv("HTTP_PROXY", feed_server.base_url)
    monkeypatch.setenv("NO_PROXY", "")
    monkeypatch.setenv("no_proxy", "")
    # TEST-NET-1 stands in for a public host (allowed by name): if the proxy were bypassed, the
    # connection would go nowhere real and time out instead of answering.
    target = "http://192.0.2.10/feed.xml"
    feed_server.serve(target, b"via the proxy", content_type="text/plain")
    with make_client(2.0, allow_private_hosts=("192.0.2.10",)) as client:
        assert client.get(target).text == "via the proxy"
        with pytest.raises(BlockedAddressError):
            client.get("http://10.0.0.5/feed.xml")
    assert [r.path for r in feed_server.requests] == [target]


def test_a_websocket_source_is_guarded_too() -> None:
    with FakeJetstream() as server:
        base_us = int(datetime.now(UTC).timestamp() * 1_000_000)
        config = jetstream_config([server.url], (), "all", 3.0, "bsky")
        with make_client(allow_private_hosts=()) as client:
            refused = JetstreamSource(config, client).fetch(SourceState("bsky"), NOW)
        assert refused.error is not None
        assert "refused to fetch ws://127.0.0.1:" in refused.error
        assert "127.0.0.1 is a loopback address" in refused.error
        assert TODO in refused.error
        assert server.connections == []

        server.publish_on_connect(post_event(base_us, "Hallo vanaf de lokale stroom"))
        with make_client(allow_private_hosts=("127.0.0.1",)) as client:
            allowed = JetstreamSource(config, client).fetch(SourceState("bsky"), NOW)
        assert allowed.error is None, allowed.error
        assert len(allowed.posts) == 1
        assert len(server.connections) == 1
        # The socket handed to websockets blocks without a timeout, as its own do: a timeout
        # left from connecting would end a stream that is quiet for that long.
        sock = open_websocket_socket(NetGuard(["127.0.0.1"]), server.url, 5.0)
        assert sock is not None
        assert sock.gettimeout() is None
        sock.close()


@contextlib.contextmanager
def redirecting_websocket(target: str) -> Iterator[tuple[str, list[str]]]:
    """A real websocket endpoint on 127.0.0.1 that answers every handshake with a redirect to
    `target`; yields its ws:// URL and the paths it was asked for."""
    asked: list[str] = []

    def process_request(conn: ServerConnection, request: Request) -> Response:
        asked.append(request.path)
        response = conn.respond(HTTPStatus.FOUND, "")
        response.headers["Location"] = target
        return response

    with serve(lambda ws: None, "127.0.0.1", 0, process_request=process_request) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"ws://127.0.0.1:{server.socket.getsockname()[1]}/subscribe", asked
        finally:
            server.shutdown()
            thread.join(timeout=5)


def test_a_websocket_endpoint_cannot_redirect_past_the_guard() -> None:
    """An allowed endpoint answering the handshake with a redirect to a refused host."""
    with FakeJetstream() as server:
        target = server.url.replace("127.0.0.1", "localhost")
        with redirecting_websocket(target) as (endpoint, asked):
            config = jetstream_config([endpoint], (), "all", 3.0, "bsky")
            with make_client(allow_private_hosts=("127.0.0.1",)) as client:
                result = JetstreamSource(config, client).fetch(SourceState("bsky"), NOW)
        assert result.error is not None
        assert "cannot follow redirect to ws://localhost:" in result.error
        assert len(asked) == 1  # the handshake reached the allowed endpoint
        assert server.connections == []  # the redirect was not followed


# -------------------------------------------------------------------------------------------------
# End to end: `inhaker run --once`


def cli(
    tmp_path: Path, slack: FakeSlack, database_url: str, *args: str
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": slack.token,
        "SLACK_API_URL": slack.base_url,
        "DATABASE_URL": database_url,
    }
    env.pop("SLACK_APP_TOKEN", None)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_run_once_refuses_one_source_and_keeps_the_other(
    database_url: str, tmp_path: Path, feed_server: FeedServer, fake_slack: FakeSlack
) -> None:
    now = datetime.now(UTC)
    blog = [(f"blog-old-{i}", "Redactie", f"Nieuws {i} uit de regio", now) for i in range(4)]
    feed_server.serve("/blog.xml", rss("blog", blog))
    intranet_url = feed_server.url("/intranet.xml").replace("127.0.0.1", "localhost")
    feed_server.serve("/intranet.xml", rss("intranet", blog))
    config = tmp_path / "feeds.yaml"
    config.write_text(
        f"""allow_private_hosts: [127.0.0.1]
sources:
  - id: blog
    kind: rss
    url: {feed_server.url("/blog.xml")}
  - id: intranet
    kind: rss
    url: {intranet_url}
watch:
  terms: ["werkplek"]
slack:
  channel: "#inhaker"
""",
        encoding="utf-8",
    )
    first = cli(tmp_path, fake_slack, database_url, "run", "--once", "--config", str(config))
    assert first.returncode == 0, first.stderr
    assert "2 sources polled (1 failed)" in first.stderr

    # A call for entries appears on the allowed feed: it alerts although the other is refused.
    blog.append(
        (
            "blog-call",
            "Emerce",
            "Is jouw werkplek uniek, verrassend en een must see voor Emerce-lezers? "
            "Stuur ons een mail met foto's!",
            now + timedelta(seconds=1),
        )
    )
    feed_server.serve("/blog.xml", rss("blog", blog))
    second = cli(tmp_path, fake_slack, database_url, "run", "--once", "--config", str(config))
    assert second.returncode == 0, second.stderr
    messages = fake_slack.messages("#inhaker")
    assert len(messages) == 1
    assert "werkplek" in str(messages[0]["blocks"])
    assert {r.path for r in feed_server.requests} == {"/blog.xml"}  # intranet never reached

    store = Store(database_url)
    assert store.count_posts(source="blog") == 5
    assert store.count_posts(source="intranet") == 0

    sources = cli(tmp_path, fake_slack, database_url, "sources", "--config", str(config))
    assert sources.returncode == 0, sources.stderr
    assert "blog (rss): last success" in sources.stdout
    assert f"refused to fetch {intranet_url}: localhost resolves to " in sources.stdout
    assert TODO in sources.stdout


# -------------------------------------------------------------------------------------------------
# Every kind of source words a refusal the same way


OTHER_KINDS = {
    "mastodon": "instance: {base}\n    hashtags: [nederland]\n    timeline: none",
    "bluesky_trends": "base_url: {base}",
    "reddit": "subreddits: [thenetherlands]\n    base_url: {base}",
    "hackernews": "lists: [top]\n    search_watch_terms: false\n    base_url: {base}/v0",
    "google_trends": 'geo: NL\n    url: "{base}/trends/rss?geo=NL"',
    "x_search": 'query: "#twelftal"\n    token_env: X_BEARER_TOKEN\n    base_url: {base}/2',
}


@pytest.mark.parametrize("kind", sorted(OTHER_KINDS))
def test_every_source_kind_reports_a_refused_host_in_the_same_words(
    kind: str, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An operator reading `inhaker sources` sees the same cause and the same fix, whichever
    kind of source pointed at a private address; nothing reached the server."""
    monkeypatch.setenv("X_BEARER_TOKEN", "x-test-token-0123456789")
    base = feed_server.base_url
    options = OTHER_KINDS[kind].format(base=base)
    config = parse_config(
        f"sources:\n  - id: probe\n    kind: {kind}\n    {options}\n", file="feeds.yaml"
    )
    with make_client(allow_private_hosts=()) as client:
        source = build_source(config.sources[0], client)
        result = source.fetch(SourceState("probe"), datetime.now(UTC))
    assert result.error is not None
    assert f"refused to fetch {base}" in result.error
    assert "127.0.0.1 is a loopback address" in result.error
    assert result.error.endswith(f"— {TODO}"), result.error
    assert feed_server.requests == []
