"""End to end, as a user runs it: feed servers, then `inhaker run --once`, then Slack.

Every test starts the real CLI in a subprocess against a local feed server (127.0.0.1, port 0) and
the fake Slack Web API (through SLACK_API_URL), with a real store: a SQLite file in tmp_path, or a
PostgreSQL database (the `database_url` fixture runs each test on both).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from bot.slack.blocks import (
    CLAIM_ACTION_ID,
    NOT_RELEVANT_ACTION_ID,
    SNOOZE_ACTION_ID,
    USEFUL_ACTION_ID,
)
from bot.store import Store
from tests.fake_slack import FakeSlack
from tests.feed_server import FeedServer

Item = tuple[str, str, str, datetime]  # guid, author, text, published


def rss(title: str, items: list[Item]) -> bytes:
    entries = "".join(
        f"""
    <item>
      <guid isPermaLink="false">{escape(guid)}</guid>
      <title>{escape(text[:60])}</title>
      <link>https://example.nl/{escape(guid)}</link>
      <dc:creator>{escape(author)}</dc:creator>
      <description>{escape(text)}</description>
      <pubDate>{format_datetime(published)}</pubDate>
    </item>"""
        for guid, author, text, published in items
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel>
    <title>{escape(title)}</title>
    <link>https://example.nl/</link>
    <description>test feed</description>{entries}
  </channel>
</rss>""".encode()


FEEDS = ("nos", "nu", "emerce")
CITIES = ["Utrecht", "Zwolle", "Gent", "Leiden", "Breda", "Arnhem", "Delft", "Hasselt", "Tilburg"]


def backlog(feed: str, now: datetime) -> list[Item]:
    """What each feed already offers before Inhaker first looks: hours old, varied news."""
    topics = ["begroting", "verkiezingen", "stikstof", "woningmarkt", "treinstaking", "zorg"]
    return [
        (
            f"{feed}-old-{i}",
            f"Redacteur {feed} {i}",
            f"Nieuws over {topics[i % len(topics)]} in {CITIES[i % len(CITIES)]}",
            now - timedelta(hours=2, minutes=10 * i),
        )
        for i in range(8)
    ]


def write_config(path: Path, server: FeedServer) -> Path:
    sources = "".join(
        f"""
  - id: {feed}
    kind: rss
    url: {server.url(f"/{feed}.xml")}
    interval: 1m"""
        for feed in FEEDS
    )
    path.write_text(
        f"""allow_private_hosts: [127.0.0.1]  # the feed servers of the tests
sources:{sources}
watch:
  terms: ["werkplek"]
  exclude: ["vacature"]
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


def run_once(tmp_path: Path, config: Path, slack: FakeSlack, *extra: str, database_url: str) -> str:
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": slack.token,
        "SLACK_API_URL": slack.base_url,
        "DATABASE_URL": database_url,
    }
    env.pop("SLACK_APP_TOKEN", None)
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run", "--once", "--config", str(config), *extra],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stderr


@pytest.fixture
def world(tmp_path: Path, feed_server: FeedServer, fake_slack: FakeSlack):
    now = datetime.now(UTC)
    feeds = {feed: backlog(feed, now) for feed in FEEDS}
    # The backlog already holds a burst and an open call: a new feed must not alert on them.
    feeds["nu"] += [
        (f"nu-old-burst-{i}", f"Schrijver {i}", f"Storm Ciarán raast over {c}", now)
        for i, c in enumerate(CITIES[:7])
    ]
    feeds["emerce"].append(
        (
            "emerce-old-call",
            "Emerce",
            # A plain call (the classifier is sure of it): the backlog must still not alert.
            "Oproep: Emerce zoekt kantoren met een verhaal. Mail ons vóór vrijdag: tips@emerce.nl",
            now - timedelta(minutes=5),
        )
    )

    def publish() -> None:
        for feed, items in feeds.items():
            feed_server.serve(f"/{feed}.xml", rss(feed, items), etag=f'"{feed}-{len(items)}"')

    publish()
    config = write_config(tmp_path / "feeds.yaml", feed_server)
    return tmp_path, config, feeds, publish, now


def test_new_feed_backlog_is_stored_without_alerting(
    database_url: str, world, fake_slack: FakeSlack
) -> None:
    tmp_path, config, feeds, _publish, _now = world
    log = run_once(tmp_path, config, fake_slack, database_url=database_url)
    assert "3 sources polled (0 failed)" in log
    assert fake_slack.messages() == []
    store = Store(database_url)
    assert store.count_posts() == sum(len(items) for items in feeds.values())


def test_a_term_rising_across_feeds_alerts_once_then_nothing_twice(
    database_url: str, world, fake_slack: FakeSlack, feed_server: FeedServer
) -> None:
    tmp_path, config, feeds, publish, _now = world
    run_once(tmp_path, config, fake_slack, database_url=database_url)  # first look: backlog only
    assert fake_slack.messages() == []

    # New items across three feeds, by different authors: #hittegolf rises now.
    fresh = datetime.now(UTC)
    for k in range(9):
        feed = FEEDS[k % 3]
        feeds[feed].append(
            (
                f"{feed}-heat-{k}",
                f"Verslaggever {k}",
                f"#Hittegolf: {CITIES[k]} meet record van {30 + k} graden",
                fresh - timedelta(minutes=k),
            )
        )
    feeds["emerce"].append(
        (
            "emerce-call",
            "Emerce",
            "Is jouw werkplek uniek, verrassend en een must see voor Emerce-lezers? "
            "Stuur ons een mail met foto's!",
            fresh,
        )
    )
    publish()
    feed_server.clear_requests()
    run_once(tmp_path, config, fake_slack, database_url=database_url)

    messages = fake_slack.messages("#inhaker")
    texts = [str(m["blocks"]) for m in messages]
    trend = [t for t in texts if "hittegolf" in t.lower()]
    calls = [t for t in texts if "Emerce" in t and "werkplek" in t]
    assert len(trend) == 1, texts
    assert "9 posts" in trend[0]
    assert "across 3 sources" in trend[0]
    assert "meet record van" in trend[0]  # the evidence posts are shown, found in the store
    assert len(calls) == 1
    assert "emerce-old-call" not in str(texts)  # the backlog call never alerts
    assert len(messages) == 2
    # Conditional GET: every poll sent the validators from the last answer.
    assert all(r.headers.get("if-none-match") for r in feed_server.requests)

    # The terminal view of /trends shows the same rise.
    trends = subprocess.run(
        [sys.executable, "-m", "bot.cli", "trends"],
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert trends.returncode == 0, trends.stderr
    assert "#hittegolf" in trends.stdout
    assert "9 posts in the last 60 min" in trends.stdout

    # Nothing new: 304s, no new message, no edit.
    feed_server.clear_requests()
    run_once(tmp_path, config, fake_slack, database_url=database_url)
    assert len(fake_slack.messages()) == 2
    assert not fake_slack.calls_to("chat.update")
    statuses = {r.path for r in feed_server.requests}
    assert statuses == {f"/{feed}.xml" for feed in FEEDS}


def test_a_broken_feed_never_stops_the_others(
    database_url: str, world, fake_slack: FakeSlack, feed_server: FeedServer
) -> None:
    tmp_path, config, feeds, _publish, _now = world
    feed_server.serve("/nu.xml", b"<rss><channel><item>broken", status=200)
    log = run_once(tmp_path, config, fake_slack, database_url=database_url)
    assert "3 sources polled (1 failed)" in log
    store = Store(database_url)
    assert store.count_posts(source="nos") == len(feeds["nos"])
    health = store.source_state("nu")
    assert health.failures_in_a_row == 1
    assert "nu" in (health.last_error or "")
    sources = subprocess.run(
        [sys.executable, "-m", "bot.cli", "sources", "--config", str(config)],
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "nu (rss):" in sources.stdout
    assert "1 failures in a row" in sources.stdout
    assert "nos (rss): last success" in sources.stdout
    assert f"{len(feeds['nos'])} items in the last hour" in sources.stdout


def test_slack_outage_keeps_alerts_for_the_next_cycle(
    database_url: str, world, fake_slack: FakeSlack, feed_server: FeedServer
) -> None:
    tmp_path, config, feeds, publish, _now = world
    run_once(tmp_path, config, fake_slack, database_url=database_url)
    feeds["emerce"].append(
        (
            "emerce-call-2",
            "Emerce",
            "Oproep: Emerce zoekt bijzondere werkplekken voor een fotoserie. "
            "Mail je foto's vóór vrijdag naar redactie@emerce.nl",
            datetime.now(UTC),
        )
    )
    publish()
    fake_slack.outage(True)
    log = run_once(tmp_path, config, fake_slack, database_url=database_url)
    assert "delivery: slack: chat.postMessage" in log
    assert fake_slack.messages() == []
    fake_slack.outage(False)
    run_once(tmp_path, config, fake_slack, database_url=database_url)
    run_once(tmp_path, config, fake_slack, database_url=database_url)
    assert len(fake_slack.messages()) == 1


def test_dry_run_prints_and_changes_nothing(world, fake_slack: FakeSlack) -> None:
    tmp_path, config, feeds, publish, _now = world
    # --dry-run copies a SQLite file: this test is about SQLite.
    database_url = f"sqlite:///{tmp_path / 'inhaker.db'}"
    run_once(tmp_path, config, fake_slack, database_url=database_url)
    feeds["emerce"].append(
        (
            "emerce-call-3",
            "Emerce",
            "Oproep: Emerce zoekt bijzondere werkplekken voor een fotoserie. "
            "Mail je foto's vóór vrijdag naar redactie@emerce.nl",
            datetime.now(UTC),
        )
    )
    publish()
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": fake_slack.token,
        "SLACK_API_URL": fake_slack.base_url,
        "DATABASE_URL": database_url,
    }
    dry = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run", "--once", "--dry-run", "--config", str(config)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert dry.returncode == 0, dry.stderr
    assert "OPEN CALL" in dry.stdout
    assert fake_slack.messages() == []
    run_once(tmp_path, config, fake_slack, database_url=database_url)  # the real run still sends it
    assert len(fake_slack.messages()) == 1


def test_run_stops_cleanly_on_sigterm(database_url: str, world, fake_slack: FakeSlack) -> None:
    tmp_path, config, feeds, _publish, _now = world
    total = sum(len(items) for items in feeds.values())
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
    }
    env.pop("SLACK_BOT_TOKEN", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run", "--config", str(config)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    store = Store(database_url)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and store.count_posts() < total:
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    _out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "stopped cleanly" in err
    assert store.count_posts() == total


def test_check_reports_a_broken_edit_with_line_and_key(tmp_path: Path) -> None:
    config = tmp_path / "feeds.yaml"
    config.write_text(
        "sources:\n  - id: nos\n    kind: rss\n    url: ftp://x\n    intervall: 10m\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run", "--once", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert f"{config}:4: sources[0].url: must be an http(s) URL (got 'ftp://x')" in result.stderr
    assert f"{config}:5: sources[0].intervall: unknown key" in result.stderr


def test_a_refused_bot_token_stops_run_with_one_clear_line(
    database_url: str, tmp_path: Path, fake_slack: FakeSlack
) -> None:
    config = tmp_path / "feeds.yaml"
    config.write_text("sources: []\n", encoding="utf-8")
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": "xoxb-wrong-token",
        "SLACK_API_URL": fake_slack.base_url,
        "DATABASE_URL": database_url,
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run", "--once", "--config", str(config)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "the bot token was refused (invalid_auth) — check SLACK_BOT_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr
    assert "xoxb-wrong-token" not in result.stderr


def test_the_detector_continues_from_its_checkpoint_on_the_next_run(
    database_url: str, world, fake_slack: FakeSlack
) -> None:
    tmp_path, config, _feeds, _publish, _now = world
    first = run_once(tmp_path, config, fake_slack, database_url=database_url)
    assert "checkpoint saved" in first
    store = Store(database_url)
    saved = store.load_checkpoint("trends")
    assert saved is not None
    assert saved.detector == "signitrend"
    second = run_once(tmp_path, config, fake_slack, database_url=database_url)
    assert "trend detector restored from its checkpoint" in second


def test_an_open_call_reaches_slack_with_who_what_deadline_fit_and_buttons(
    database_url: str, tmp_path: Path, feed_server: FeedServer, fake_slack: FakeSlack
) -> None:
    """The seed's story, told with a team profile: the call that fits alerts, the team's own
    blog describes the team and never alerts, and the message says who, what, by when, how to
    answer and why it fits, with the claim and dismiss buttons."""
    now = datetime.now(UTC)
    blog_about = [
        ("blog-1", "Team Pak", "Nieuw op ons blog: zo maken wij duurzame verpakkingen van karton"),
        ("blog-2", "Team Pak", "Waarom circulaire verpakkingen de toekomst van e-commerce zijn"),
    ]
    feeds: dict[str, list[Item]] = {
        "emerce": backlog("emerce", now),
        "blog": [(g, a, t, now - timedelta(days=3)) for g, a, t in blog_about],
    }

    def publish() -> None:
        for feed, items in feeds.items():
            feed_server.serve(f"/{feed}.xml", rss(feed, items), etag=f'"{feed}-{len(items)}"')

    publish()
    config = tmp_path / "feeds.yaml"
    config.write_text(
        f"""allow_private_hosts: [127.0.0.1]  # the feed servers of the tests
sources:
  - id: emerce
    kind: rss
    url: {feed_server.url("/emerce.xml")}
  - id: blog
    kind: rss
    url: {feed_server.url("/blog.xml")}
profile:
  about: "Wij ontwerpen duurzame verpakkingen voor webwinkels."
  sources: [blog]
slack:
  channel: "#inhaker"
""",
        encoding="utf-8",
    )
    run_once(tmp_path, config, fake_slack, database_url=database_url)
    assert fake_slack.messages() == []

    fresh = datetime.now(UTC)
    feeds["emerce"].append(
        (
            "emerce-verpakking",
            "Emerce",
            "Oproep: Emerce zoekt webwinkels met slimme, duurzame verpakkingen voor een special. "
            "Mail je case vóór vrijdag naar redactie@emerce.nl",
            fresh,
        )
    )
    # The team's own call on its own blog: it describes the team, it is not news for it.
    feeds["blog"].append(
        ("blog-3", "Team Pak", "Wij zoeken sprekers voor ons verpakkingsevent! Mail ons.", fresh)
    )
    publish()
    run_once(tmp_path, config, fake_slack, database_url=database_url)

    messages = fake_slack.messages("#inhaker")
    assert len(messages) == 1, [m["text"] for m in messages]
    text = json.dumps(messages[0]["blocks"], ensure_ascii=False)
    assert "Open call: Emerce" in text
    assert "Who asks" in text
    assert "Emerce" in text
    assert "Deadline" in text
    assert "days)" in text
    assert "e-mail redactie@emerce.nl" in text
    assert "Why it fits" in text
    assert "verpakkingen" in text
    assert "your profile" in text
    action_ids = {
        element["action_id"]
        for block in messages[0]["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    }
    assert {
        CLAIM_ACTION_ID,
        USEFUL_ACTION_ID,
        NOT_RELEVANT_ACTION_ID,
        SNOOZE_ACTION_ID,
    } <= action_ids


def test_run_routes_a_call_to_its_channel_mentions_who_covers_it_and_follows_slack_watch_terms(
    database_url: str, tmp_path: Path, feed_server: FeedServer, fake_slack: FakeSlack
) -> None:
    """feeds.yaml routes calls to #calls and names the team; a watch term added from Slack
    (`/inhaker watch add`, stored in the shared database) counts at the worker's next run."""
    now = datetime.now(UTC)
    feeds: dict[str, list[Item]] = {"emerce": backlog("emerce", now)}

    def publish() -> None:
        items = feeds["emerce"]
        feed_server.serve("/emerce.xml", rss("emerce", items), etag=f'"e-{len(items)}"')

    publish()
    config = tmp_path / "feeds.yaml"
    config.write_text(
        f"""allow_private_hosts: [127.0.0.1]  # the feed servers of the tests
sources:
  - id: emerce
    name: Emerce
    kind: rss
    url: {feed_server.url("/emerce.xml")}
    lang: nl
slack:
  channel: "#inhaker"
  routes:
    - channel: "#calls"
      kinds: [opportunity]
team:
  - name: Marloes
    slack_id: U0MARLOES
    platforms: [linkedin]
    topics: [verpakkingen]
  - name: Sam
    slack_id: U0SAM
    platforms: [tiktok]
    topics: [gaming]
""",
        encoding="utf-8",
    )
    run_once(
        tmp_path, config, fake_slack, database_url=database_url
    )  # the backlog: stored, never alerted
    Store(database_url).add_watch_term("verpakkingen", "U0ANNA", now)
    feeds["emerce"].append(
        (
            "emerce-verpakking",
            "Emerce",
            "Oproep: Emerce zoekt webwinkels met slimme, duurzame verpakkingen voor een special. "
            "Mail je case vóór vrijdag naar redactie@emerce.nl",
            datetime.now(UTC),
        )
    )
    publish()
    run_once(tmp_path, config, fake_slack, database_url=database_url)

    assert fake_slack.messages("#inhaker") == []
    [message] = fake_slack.messages("#calls")
    text = json.dumps(message["blocks"], ensure_ascii=False)
    assert "Open call: Emerce" in text
    assert "<@U0MARLOES>" in text
    assert "LinkedIn" in text
    assert "<@U0SAM>" not in text  # not his topic, not his platform
    assert "On your watch list: verpakkingen" in text


def test_quiet_hours_hold_a_call_for_the_digest_end_to_end(
    database_url: str, tmp_path: Path, feed_server: FeedServer, fake_slack: FakeSlack
) -> None:
    """`inhaker run --once` during quiet hours posts nothing and says why; `inhaker digest`
    then posts one summary with the held call in it, and the call never goes out on its own."""
    now = datetime.now(UTC)
    feeds: dict[str, list[Item]] = {"emerce": backlog("emerce", now)}

    def publish() -> None:
        items = feeds["emerce"]
        feed_server.serve("/emerce.xml", rss("emerce", items), etag=f'"e-{len(items)}"')

    publish()
    # Quiet from an hour ago to an hour from now, in UTC: whatever the time the test runs.
    start, end = (now - timedelta(hours=1)), (now + timedelta(hours=1))
    config = tmp_path / "feeds.yaml"
    config.write_text(
        f"""allow_private_hosts: [127.0.0.1]  # the feed servers of the tests
sources:
  - id: emerce
    name: Emerce
    kind: rss
    url: {feed_server.url("/emerce.xml")}
slack:
  channel: "#inhaker"
  timezone: UTC
  quiet_hours: {{start: "{start:%H:%M}", end: "{end:%H:%M}"}}
  digest: {{times: ["{end:%H:%M}"], channel: "#digest"}}
""",
        encoding="utf-8",
    )
    run_once(tmp_path, config, fake_slack, database_url=database_url)
    feeds["emerce"].append(
        (
            "emerce-verpakking",
            "Emerce",
            "Oproep: Emerce zoekt webwinkels met slimme, duurzame verpakkingen voor een special. "
            "Mail je case vóór 1 maart naar redactie@emerce.nl",
            datetime.now(UTC),
        )
    )
    publish()
    log = run_once(tmp_path, config, fake_slack, database_url=database_url)
    assert fake_slack.messages() == []
    assert "alert held for the digest" in log

    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": fake_slack.token,
        "SLACK_API_URL": fake_slack.base_url,
        "DATABASE_URL": database_url,
    }
    digest = subprocess.run(
        [sys.executable, "-m", "bot.cli", "digest", "--config", str(config)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert digest.returncode == 0, digest.stderr
    [message] = fake_slack.messages("#digest")
    assert "Emerce" in json.dumps(message["blocks"], ensure_ascii=False)
    run_once(
        tmp_path, config, fake_slack, database_url=database_url
    )  # the call was in the digest: never on its own
    assert fake_slack.messages("#inhaker") == []
