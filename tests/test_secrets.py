"""Secrets never leak: a full run with failures, and `inhaker serve` under forged requests.

Every secret Inhaker reads (SLACK_BOT_TOKEN, SLACK_APP_TOKEN, SLACK_SIGNING_SECRET, the X bearer
token and a Mastodon access token named by `token_env`) gets a distinctive value, and the real
CLI runs in subprocesses against local servers that fail in the ways that produce error messages:
Slack refusing the token (invalid_auth) and answering 500, sources answering 401 with the whole
request (its Authorization header included) echoed back in the error body. Then nothing may
show any secret, or a piece of one: stdout and stderr (the log, at debug level), every body the
fake Slack received, the store (all of it, and `inhaker sources`), `inhaker serve`'s log and
answers under forged requests, and the worker's log with Socket Mode (where the app token is
used). A password in DATABASE_URL is checked too.

What it does not do: look for secrets in feeds.yaml values (a feed URL with a key in its query
string is the team's own configuration, shown as written).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from bot.store import Store, metadata
from tests.conftest import PROXY_VARS
from tests.fake_api import FakeApi, Reply, Request
from tests.fake_slack import FakeSlack
from tests.fake_socket_mode import FakeSocketMode, payload_from_form
from tests.feed_server import FeedServer
from tests.slack_requests import post_signed, sign, slash_command
from tests.test_e2e_run import CITIES, rss

# The distinctive part of each secret (a known prefix such as "xoxb-" is not a secret), and the
# value the process gets. X bearer tokens really are ~110 characters, so the echo of one is long.
BOT_CORE = "Kq7Zt9Lw2Kp4Vd8Hs3Qx"
APP_CORE = "m3Vx8Rn5Qd7Jc2Wy6Tb"
SIGNING_SECRET = "s9Hf2Jk7Tb4Pz6Nq1Lw8Rc5Ym3Xv"
X_CORE = "r4Np6Wc1Yg8Kd3Fs9Jx2Mq7Zt5Hq2Mv8Lx3Pw9Rk6Jb4Nd7Fs1Gc0Ty"
MASTODON_CORE = "z8Bq3Lm6Fv1Xc9Rt4Wk7Jp2Hn5Gd"
SECRETS = {
    "SLACK_BOT_TOKEN": "xoxb-4242-" + BOT_CORE,
    "SLACK_APP_TOKEN": "xapp-1-A0INHAKER-" + APP_CORE,
    "SLACK_SIGNING_SECRET": SIGNING_SECRET,
    "X_BEARER_TOKEN": "AAAAAAAAAAAAAAAAAAAAA" + X_CORE,
    "INHAKER_MASTODON_TOKEN": MASTODON_CORE,
}
CORES = {
    "SLACK_BOT_TOKEN": BOT_CORE,
    "SLACK_APP_TOKEN": APP_CORE,
    "SLACK_SIGNING_SECRET": SIGNING_SECRET,
    "X_BEARER_TOKEN": X_CORE,
    "INHAKER_MASTODON_TOKEN": MASTODON_CORE,
}
# A piece this long of a secret's distinctive part counts as a leak: an error message cut short
# in the middle of an echoed token still gives most of it away.
PIECE = 8
FEEDS = ("nos", "nu", "emerce")


# What a genuine Slack request carries that must not be written down either: the app's legacy
# verification token (in every body) and its response_url, which can post into the channel.
REQUEST_SECRETS = {
    "verification token": "Vt3Kx9Qm5Wz2Lp7Rj4Bn",
    "response_url": "Rh6Nd1Yc8Fb3Gs5Tk",
}


def leaks(text: str, cores: dict[str, str] = CORES) -> list[str]:
    """'NAME: piece' for every secret of which a piece of PIECE characters appears in `text`."""
    found = []
    for name, core in cores.items():
        pieces = {core[i : i + PIECE] for i in range(len(core) - PIECE + 1)}
        hit = next((p for p in sorted(pieces) if p in text), None)
        if hit is not None:
            found.append(f"{name}: ...{hit}...")
    return found


def echo_request(request: Request) -> Reply:
    """A server that answers 401 and repeats the request it got, headers and all, sorted by name
    as httpbin-style echo services do (so are some proxies, API gateways and debug endpoints), in
    the error fields Mastodon and X both use. Quoted in full, the Authorization header lies past
    the point where a source shortens a server's message for its error line."""
    headers = " | ".join(f"{name}: {value}" for name, value in sorted(request.headers.items()))
    echo = f"unauthorized; request was: {request.method} {request.path} | {headers}"
    body = {"error": echo, "title": "Unauthorized", "detail": echo, "errors": [{"message": echo}]}
    return Reply(body, status=401)


def _env(database_url: str, slack: FakeSlack) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in PROXY_VARS}
    env.update(SECRETS)
    env.update(
        SLACK_API_URL=slack.base_url,
        DATABASE_URL=database_url,
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
    )
    env.pop("INHAKER_CONFIG", None)
    return env


def _cli(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _write_config(path: Path, feeds: FeedServer, api: FakeApi) -> Path:
    rss_sources = "".join(
        f"""
  - id: {feed}
    kind: rss
    url: {feeds.url(f"/{feed}.xml")}
    interval: 1m"""
        for feed in FEEDS
    )
    path.write_text(
        f"""allow_private_hosts: [127.0.0.1]
sources:{rss_sources}
  - id: xsearch
    kind: x_search
    query: "inhaker"
    base_url: {api.base_url}/2
  - id: masto
    kind: mastodon
    instance: {api.base_url}
    hashtags: [marketing]
    token_env: INHAKER_MASTODON_TOKEN
slack:
  channel: "#inhaker"
detection:
  min_posts: 6
  min_authors: 3
  min_score: 4
  min_ratio: 3
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def echo_api() -> Iterator[FakeApi]:
    with FakeApi() as api:
        api.route_pattern(r"/.*", echo_request)
        yield api


def _store_text(database_url: str) -> str:
    """Every row of every table of the store (SQLite or PostgreSQL), as text."""
    store = Store(database_url)
    try:
        return "\n".join(
            repr(row) for table in sorted(metadata.tables) for row in store.iter_table(table)
        )
    finally:
        store.close()


def _publish_backlog(
    feeds: FeedServer, now: datetime
) -> dict[str, list[tuple[str, str, str, datetime]]]:
    items = {
        feed: [
            (
                f"{feed}-old-{i}",
                f"Redacteur {i}",
                f"Nieuws uit {CITIES[i]}",
                now - timedelta(hours=2),
            )
            for i in range(5)
        ]
        for feed in FEEDS
    }
    for feed, entries in items.items():
        feeds.serve(f"/{feed}.xml", rss(feed, entries), etag=f'"{feed}-{len(entries)}"')
    return items


def test_a_full_run_with_failures_shows_no_secret_anywhere(
    database_url: str, tmp_path: Path, feed_server: FeedServer, echo_api: FakeApi
) -> None:
    outputs: list[str] = []

    # Slack refuses the bot token: the run stops with a line that names the variable, not it.
    with FakeSlack(token="xoxb-some-other-workspace") as wrong:
        config = _write_config(tmp_path / "feeds.yaml", feed_server, echo_api)
        refused = _cli(
            tmp_path, _env(database_url, wrong), "-v", "run", "--once", "--config", str(config)
        )
        assert refused.returncode == 1
        assert "the bot token was refused (invalid_auth)" in refused.stderr
        outputs += [refused.stdout, refused.stderr, json.dumps(wrong.calls)]

    with FakeSlack(token=SECRETS["SLACK_BOT_TOKEN"]) as slack:
        env = _env(database_url, slack)
        now = datetime.now(UTC)
        items = _publish_backlog(feed_server, now)
        first = _cli(tmp_path, env, "-v", "run", "--once", "--config", str(config))
        assert first.returncode == 0, first.stderr
        # Both token-bearing sources failed with the echo, and said so.
        assert "2 failed" in first.stderr
        assert "X refused the bearer token (HTTP 401" in first.stderr
        assert "access token was refused (HTTP 401" in first.stderr
        outputs += [first.stdout, first.stderr]

        # A story rises across the feeds, and an open call; Slack is down (HTTP 500).
        fresh = datetime.now(UTC)
        for k in range(9):
            feed = FEEDS[k % 3]
            items[feed].append(
                (
                    f"{feed}-heat-{k}",
                    f"Verslaggever {k}",
                    f"#Hittegolf: {CITIES[k]} meet record van {30 + k} graden",
                    fresh - timedelta(minutes=k),
                )
            )
        items["emerce"].append(
            (
                "emerce-call",
                "Emerce",
                "Oproep: Emerce zoekt kantoren met een verhaal. Mail ons vóór vrijdag: "
                "tips@emerce.nl",
                fresh,
            )
        )
        for feed, entries in items.items():
            feed_server.serve(f"/{feed}.xml", rss(feed, entries), etag=f'"{feed}-{len(entries)}"')
        slack.outage()
        down = _cli(tmp_path, env, "-v", "run", "--once", "--config", str(config))
        assert down.returncode == 0, down.stderr
        assert "delivery:" in down.stderr  # the outage was met and reported
        outputs += [down.stdout, down.stderr]

        # Slack is back: the alerts go out.
        slack.outage(False)
        back = _cli(tmp_path, env, "-v", "run", "--once", "--config", str(config))
        assert back.returncode == 0, back.stderr
        outputs += [back.stdout, back.stderr]
        messages = slack.messages()
        assert any("hittegolf" in json.dumps(m["blocks"]).lower() for m in messages)
        outputs += [json.dumps(slack.calls, ensure_ascii=False)]

        sources = _cli(tmp_path, env, "sources", "--config", str(config))
        assert sources.returncode == 0, sources.stderr
        # The stored errors are there, and say what to do, without the token.
        assert "xsearch (x_search): last success never" in sources.stdout
        assert "X refused the bearer token (HTTP 401" in sources.stdout
        assert "masto (mastodon): last success never" in sources.stdout
        assert "check the token in $INHAKER_MASTODON_TOKEN" in sources.stdout
        outputs += [sources.stdout, sources.stderr]

    outputs.append(_store_text(database_url))
    for text in outputs:
        assert leaks(text) == [], text


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_under_forged_requests_shows_no_secret(
    database_url: str, tmp_path: Path, feed_server: FeedServer, echo_api: FakeApi
) -> None:
    with FakeSlack(token=SECRETS["SLACK_BOT_TOKEN"]) as slack:
        env = _env(database_url, slack)
        config = _write_config(tmp_path / "feeds.yaml", feed_server, echo_api)
        port = _free_port()
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "bot.cli", "-v", "serve", "--config", str(config)),
                *("--port", str(port), "--host", "127.0.0.1"),
            ],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        answers: list[str] = []
        try:
            url = f"http://127.0.0.1:{port}"
            while True:  # pytest-timeout bounds the wait
                try:
                    if httpx.get(f"{url}/healthz", trust_env=False).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            events = f"{url}/slack/events"
            # A request as Slack sends it (verification token, response_url), captured.
            hook = slack.response_url(REQUEST_SECRETS["response_url"])
            captured = slash_command("/inhaker", "sources", response_url=hook).replace(
                "token=legacy", f"token={REQUEST_SECRETS['verification token']}", 1
            )
            stale = int(time.time()) - 600
            forged = [
                post_signed(events, captured, signature="v0=" + "0" * 64),
                # Signed with a guessed secret, or with the old one after a rotation (then every
                # genuine request from Slack fails like this until the new one is set).
                post_signed(events, captured, secret="an-old-signing-secret"),
                post_signed(events, captured, secret=SIGNING_SECRET, timestamp=stale),
                # A captured signature replayed with a fresh timestamp.
                post_signed(events, captured, signature=sign(captured, stale, SIGNING_SECRET)),
            ]
            assert [r.status_code for r in forged] == [401, 401, 401, 401]
            body = slash_command("/inhaker", "sources")
            good = post_signed(events, body, secret=SIGNING_SECRET)
            assert good.status_code == 200
            assert "xsearch (x_search): not polled yet" in good.text
            answers = [r.text + json.dumps(dict(r.headers)) for r in [*forged, good]]
        finally:
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate(timeout=30)
    for text in [*answers, out, err, json.dumps(slack.calls), json.dumps(slack.responses)]:
        assert leaks(text) == [], text
    # The rejected requests are logged without what they carried.
    assert leaks(out + err, REQUEST_SECRETS) == [], err


def test_the_socket_mode_worker_shows_no_secret(
    database_url: str, tmp_path: Path, feed_server: FeedServer, echo_api: FakeApi
) -> None:
    """`inhaker -v run` as a service runs it: Socket Mode with the app token, sources failing
    with the echo on their first scheduled poll, a command answered, then SIGTERM."""
    log_path = tmp_path / "worker.log"
    with (
        FakeSlack(token=SECRETS["SLACK_BOT_TOKEN"]) as slack,
        FakeSocketMode(slack, app_token=SECRETS["SLACK_APP_TOKEN"]) as socket_mode,
        log_path.open("w", encoding="utf-8") as log_file,
    ):
        env = _env(database_url, slack)
        config = _write_config(tmp_path / "feeds.yaml", feed_server, echo_api)
        _publish_backlog(feed_server, datetime.now(UTC))
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "-v", "run", "--config", str(config)],
            env=env,
            cwd=tmp_path,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            socket_mode.wait_for_connections(1, timeout=60)
            # The first polls are staggered by a second per source: wait for both failures.
            while not all(
                f"source '{sid}'" in log_path.read_text(encoding="utf-8")
                for sid in ("xsearch", "masto")
            ):  # pytest-timeout bounds the wait
                time.sleep(0.2)
            answer = socket_mode.request(
                "slash_commands", payload_from_form(slash_command("/inhaker", "sources"))
            )
            assert "X refused the bearer token (HTTP 401" in json.dumps(answer)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
    log = log_path.read_text(encoding="utf-8")
    assert "Slack Socket Mode connected" in log
    assert "stopped cleanly" in log
    for text in [log, json.dumps(answer), json.dumps(slack.calls)]:
        assert leaks(text) == [], text


def test_a_database_password_is_not_shown(tmp_path: Path) -> None:
    """DATABASE_URL carries a password for PostgreSQL: a store that cannot be opened is named by
    its host and database only."""
    password = "Pw9Xq2Lk7Zr4Tm6Bc"
    config = tmp_path / "feeds.yaml"
    config.write_text("sources: []\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in PROXY_VARS and k != "SLACK_BOT_TOKEN"}
    env["DATABASE_URL"] = f"postgresql://inhaker:{password}@127.0.0.1:1/inhaker"
    result = _cli(tmp_path, env, "-v", "run", "--once", "--config", str(config))
    assert result.returncode == 1
    assert "store: cannot open 127.0.0.1:1/inhaker" in result.stderr
    assert leaks(result.stdout + result.stderr, {"DATABASE_URL password": password}) == []
