"""Hot reload of feeds.yaml: edits apply while `inhaker run` runs; broken edits are reported.

The end-to-end test starts the real CLI in a subprocess against the local feed server, the fake
Slack Web API and the fake Socket Mode server, and edits its feeds.yaml while it runs. The other
tests drive `diff_configs`, `ConfigWatcher` and `Runner.apply_config` with literal configs, a real
SQLite store and real files in tmp_path.
"""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from bot.config import Config, parse_config
from bot.notify.console import ConsoleNotifier
from bot.reload import ConfigChanges, ConfigWatcher, diff_configs
from bot.scheduler import Runner
from bot.store import Store
from detectors.records import Post
from tests.fake_jetstream import FakeJetstream, post_event
from tests.fake_slack import FakeSlack
from tests.fake_socket_mode import DEFAULT_APP_TOKEN, FakeSocketMode, payload_from_form
from tests.feed_server import FeedServer
from tests.slack_requests import slash_command

# -- literal configs -------------------------------------------------------------------------

BASE = """\
allow_private_hosts: ["127.0.0.1"]
sources:
  - id: nos
    kind: rss
    url: https://feeds.nos.nl/nosnieuwsalgemeen
    interval: 5m
  - id: nu
    kind: rss
    url: https://www.nu.nl/rss/Algemeen
    interval: 5m
  - id: emerce
    kind: rss
    url: https://www.emerce.nl/rss
    interval: 10m
watch:
  terms: ["werkplek"]
slack:
  channel: "#inhaker"
opportunities:
  enabled: false
"""


def config_of(text: str, file: str = "feeds.yaml") -> Config:
    return parse_config(text, file=file)


def test_the_diff_names_sources_added_removed_and_changed_and_the_settings() -> None:
    old = config_of(BASE)
    new = config_of(
        BASE.replace("https://www.nu.nl/rss/Algemeen", "https://www.nu.nl/rss/Economie")
        .replace(
            "  - id: emerce\n    kind: rss\n    url: https://www.emerce.nl/rss\n"
            "    interval: 10m\n",
            "  - id: tweakers\n    kind: rss\n    url: https://tweakers.net/feeds/nieuws.xml\n",
        )
        .replace('terms: ["werkplek"]', 'terms: ["werkplek", "hybride werken"]')
        .replace('channel: "#inhaker"', 'channel: "#inhaker"\n  digest:\n    times: ["08:30"]')
    )
    changes = diff_configs(old, new)
    assert changes.added == ("tweakers",)
    assert changes.removed == ("emerce",)
    assert changes.changed == ("nu",)
    assert changes.settings == ("watch.terms", "slack.digest")
    assert changes.restart == ()
    assert changes.summary() == (
        "+1 source (tweakers), -1 (emerce), 1 changed (nu), watch terms changed, "
        "slack.digest changed"
    )


def test_disabling_a_source_removes_it_and_enabling_it_adds_it() -> None:
    old = config_of(BASE)
    disabled = config_of(
        BASE.replace("    interval: 10m\n", "    interval: 10m\n    enabled: false\n")
    )
    assert diff_configs(old, disabled).removed == ("emerce",)
    assert diff_configs(disabled, old).added == ("emerce",)


def test_an_interval_or_a_name_change_is_a_changed_source() -> None:
    old = config_of(BASE)
    new = config_of(BASE.replace("    interval: 10m\n", "    interval: 2m\n    name: Emerce\n"))
    changes = diff_configs(old, new)
    assert (changes.added, changes.removed, changes.changed) == ((), (), ("emerce",))
    assert changes.summary() == "+0 sources, -0, 1 changed (emerce)"


def test_detection_needs_a_restart_allowed_hosts_and_the_rest_do_not() -> None:
    old = config_of(BASE)
    new = config_of(
        BASE.replace('allow_private_hosts: ["127.0.0.1"]', "allow_private_hosts: []")
        + "detection:\n  window: 2h\n  min_posts: 8\nstore:\n  retention: 3d\n"
    )
    changes = diff_configs(old, new)
    assert changes.restart == ("detection.window", "detection.min_posts")
    assert changes.settings == ("store.retention", "allow_private_hosts")
    assert "needs a restart: detection.window, detection.min_posts" in changes.summary()
    assert "allow_private_hosts changed" in changes.summary()


def test_allow_private_hosts_applies_to_the_next_poll_without_a_restart(
    database_url: str, feed_server: FeedServer
) -> None:
    """A team adds its intranet feed's host to allow_private_hosts while the worker runs: the
    next poll fetches it; taking the host out again refuses it from the next poll on."""
    now = datetime.now(UTC)
    url = feed_server.serve("/intranet.xml", rss("intranet", 1, now))

    def config(allow: str) -> Config:
        return config_of(
            f"allow_private_hosts: {allow}\nsources:\n  - id: intranet\n    kind: rss\n"
            f"    url: {url}\n    interval: 5m\nopportunities:\n  enabled: false\n"
        )

    store = Store(database_url)
    runner = Runner(config("[]"), store, ConsoleNotifier(io.StringIO()))
    try:
        refused = runner.poll_source("intranet", respect_backoff=False)
        assert refused.error is not None
        assert "127.0.0.1 is a loopback address" in refused.error
        assert feed_server.requests == []

        changes = runner.apply_config(config('["127.0.0.1"]'))
        assert changes.restart == ()
        assert "allow_private_hosts" in changes.settings
        fetched = runner.poll_source("intranet", respect_backoff=False)
        assert fetched.error is None
        assert [p.title for p in fetched.backlog] == ["intranet bericht 0"]
        assert [r.path for r in feed_server.requests] == ["/intranet.xml"]

        runner.apply_config(config("[]"))
        again = runner.poll_source("intranet", respect_backoff=False)
        assert again.error is not None
        assert "loopback" in again.error
        assert len(feed_server.requests) == 1  # refused before connecting, keep-alive or not
    finally:
        runner.stop()
        store.close()


def test_a_comment_or_reordering_keys_changes_nothing() -> None:
    old = config_of(BASE)
    new = config_of(
        "# edited by hand\n"
        + BASE.replace("    interval: 5m\n  - id: nu", "    interval: 5m\n\n  - id: nu")
    )
    assert diff_configs(old, new) == ConfigChanges()
    assert diff_configs(old, new).empty


# -- the watcher -----------------------------------------------------------------------------


class Recorder:
    """Collects what the watcher reports to the ops channel and the configs it applies."""

    def __init__(self, running: Config) -> None:
        self.running = running
        self.reports: list[str] = []
        self.applied: list[Config] = []

    def report(self, text: str) -> None:
        self.reports.append(text)

    def apply(self, config: Config) -> ConfigChanges:
        changes = diff_configs(self.running, config)
        self.running = config
        self.applied.append(config)
        return changes


def settle(
    watcher: ConfigWatcher, apply: Callable[[Config], ConfigChanges], times: int = 2
) -> ConfigChanges | None:
    """Check `times` times: a new content is handled once it was seen unchanged twice."""
    result = None
    for _ in range(times):
        result = watcher.check(apply)
    return result


def test_a_broken_edit_is_reported_once_with_its_line_and_the_fix_is_announced(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(BASE, encoding="utf-8")
    recorder = Recorder(config_of(BASE, str(path)))
    watcher = ConfigWatcher(str(path), report=recorder.report)
    assert settle(watcher, recorder.apply) == ConfigChanges()  # the running file: nothing to do
    assert recorder.reports == []
    recorder.applied.clear()

    # Line 6: a typo in a key.
    path.write_text(BASE.replace("    interval: 5m\n  - id: nu", "    intervall: 5m\n  - id: nu"))
    with caplog.at_level(logging.ERROR, logger="bot.reload"):
        for _ in range(10):  # checked every few seconds for a while: reported once
            watcher.check(recorder.apply)
    assert len(recorder.reports) == 1
    assert (
        f"{path}:6: sources[0].intervall: unknown key; did you mean 'interval'?"
        in (recorder.reports[0])
    )
    assert "keeps running the last good configuration" in recorder.reports[0]
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert f"{path}:6: sources[0].intervall: unknown key" in errors[0]
    assert recorder.applied == []
    assert watcher.broken

    # Another broken content (bad YAML) is a new problem: reported again, with its line.
    path.write_text(BASE.replace('terms: ["werkplek"]', 'terms: ["werkplek"'), encoding="utf-8")
    settle(watcher, recorder.apply, times=5)
    assert len(recorder.reports) == 2
    assert f"{path}:17: not valid YAML" in recorder.reports[1]

    fixed = BASE.replace('terms: ["werkplek"]', 'terms: ["werkplek", "thuiswerken"]')
    path.write_text(fixed, encoding="utf-8")
    changes = settle(watcher, recorder.apply)
    assert changes is not None
    assert changes.watch_terms_changed
    assert recorder.running.watch_terms == ("werkplek", "thuiswerken")
    assert len(recorder.reports) == 3
    assert "feeds.yaml is valid again" in recorder.reports[2]
    assert "watch terms changed" in recorder.reports[2]
    assert not watcher.broken
    settle(watcher, recorder.apply, times=5)
    assert len(recorder.reports) == 3


def test_an_edit_is_applied_only_once_the_file_stopped_changing(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(BASE, encoding="utf-8")
    recorder = Recorder(config_of(BASE, str(path)))
    watcher = ConfigWatcher(str(path), report=recorder.report)
    settle(watcher, recorder.apply)
    recorder.applied.clear()
    # An editor caught half-way: the first check sees a truncated (here: valid) file...
    path.write_text(BASE.split("  - id: nu")[0], encoding="utf-8")
    assert watcher.check(recorder.apply) is None
    # ...and the next one the whole file: what is applied is the whole file, never the half.
    path.write_text(BASE.replace("interval: 10m", "interval: 20m"), encoding="utf-8")
    assert watcher.check(recorder.apply) is None
    changes = watcher.check(recorder.apply)
    assert changes is not None
    assert changes.changed == ("emerce",)
    assert [len(c.sources) for c in recorder.applied] == [3]
    assert recorder.reports == []


def test_a_deleted_feeds_yaml_keeps_the_last_good_configuration(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(BASE, encoding="utf-8")
    recorder = Recorder(config_of(BASE, str(path)))
    watcher = ConfigWatcher(str(path), report=recorder.report)
    settle(watcher, recorder.apply)
    path.unlink()
    settle(watcher, recorder.apply, times=4)
    assert len(recorder.reports) == 1
    assert f"{path}:1: file not found" in recorder.reports[0]
    assert len(recorder.running.sources) == 3
    path.write_text(BASE, encoding="utf-8")
    settle(watcher, recorder.apply)
    assert "valid again" in recorder.reports[1]


# -- applying to a running worker ------------------------------------------------------------


def post(source: str, pid: str, text: str, at: datetime) -> Post:
    return Post(source=source, id=pid, text=text, created_at=at, author=f"a-{pid}")


def test_a_reload_keeps_the_detector_and_what_it_learned(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = Store(database_url)
    runner = Runner(config_of(BASE), store, ConsoleNotifier(io.StringIO()))
    try:
        now = datetime.now(UTC)
        detector = runner.engine.detector
        runner.engine.ingest([post("nos", "1", "Storm raast over Utrecht", now)])
        edited = (
            BASE.replace(
                'terms: ["werkplek"]', 'terms: ["werkplek", "storm"]\n  exclude: ["vacature"]'
            )
            + "detection:\n  min_posts: 9\n"
        )
        with caplog.at_level(logging.INFO):
            changes = runner.apply_config(config_of(edited))
        assert changes.restart == ("detection.min_posts",)
        assert runner.engine.detector is detector
        # The post counted before the reload is still known: counted once, never twice (the
        # engine names evidence "source:id").
        assert not detector.observe(post("nos", "nos:1", "Storm raast over Utrecht", now))
        assert "storm" in detector.watch_terms
        # The new exclude term applies to the next post.
        assert not detector.observe(post("nu", "2", "Vacature: redacteur storm", now))
        assert detector.observe(post("nu", "3", "Storm houdt aan in Zwolle", now))
        # Thresholds are the detector's tables' business: unchanged until a restart.
        assert runner.engine.detector.params.min_posts == 5
        lines = [r.getMessage() for r in caplog.records]
        assert any(
            "feeds.yaml reloaded: +0 sources, -0, 0 changed, watch terms changed, "
            "watch.exclude changed, needs a restart: detection.min_posts" in line
            for line in lines
        )
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any("detection.min_posts changed" in w and "restart" in w for w in warnings)
    finally:
        runner.stop()
        store.close()


def test_unusable_training_data_leaves_the_running_configuration_whole(
    database_url: str, tmp_path: Path
) -> None:
    store = Store(database_url)
    path = tmp_path / "feeds.yaml"
    path.write_text(BASE, encoding="utf-8")
    runner = Runner(config_of(BASE, str(path)), store, ConsoleNotifier(io.StringIO()))
    reports: list[str] = []
    watcher = ConfigWatcher(str(path), report=reports.append)
    try:
        settle(watcher, runner.apply_config)
        broken = BASE.replace(
            "opportunities:\n  enabled: false\n",
            "opportunities:\n  training_data: no-such-folder\n",
        ).replace("    interval: 10m\n", "    interval: 10m\n    enabled: false\n")
        path.write_text(broken, encoding="utf-8")
        settle(watcher, runner.apply_config)
        assert len(reports) == 1
        assert "opportunities: cannot train the scorer" in reports[0]
        assert "no-such-folder" in reports[0]
        # Nothing of the edit was applied: emerce still polls, opportunities still off.
        assert set(runner.sources) == {"nos", "nu", "emerce"}
        assert runner.engine.opportunities is None
        assert not runner.config.opportunities.enabled
    finally:
        runner.stop()
        store.close()


def jetstream_yaml(url: str, langs: str | None) -> str:
    """feeds.yaml with one Jetstream source reading `langs`; None: without the source."""
    source = f"""
  - id: bluesky
    kind: bluesky_jetstream
    endpoints: [{url}]
    langs: [{langs}]
    keep: all
    rewind: 5s"""
    return f"""allow_private_hosts: ["127.0.0.1"]
sources:{source if langs else " []"}
opportunities:
  enabled: false
"""


def test_a_stream_is_stopped_when_removed_and_resumes_from_its_cursor_when_back(
    database_url: str,
) -> None:
    store = Store(database_url)
    with FakeJetstream() as jet:
        runner = Runner(
            config_of(jetstream_yaml(jet.url, "nl")), store, ConsoleNotifier(io.StringIO())
        )
        runner.start()
        try:
            first = jet.wait_for_connections(1, timeout=20)
            base_us = int(time.time() * 1_000_000)
            events = [
                post_event(base_us + n, f"De A12 is dicht {n}", did=f"did:plc:nl{n}")
                for n in range(3)
            ]
            jet.publish(*events)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and store.source_state("bluesky").cursor != str(
                events[-1]["time_us"]
            ):
                time.sleep(0.05)
            assert store.count_posts(source="bluesky") == 3

            # Removed from feeds.yaml: its connection is closed, nothing reconnects.
            runner.apply_config(config_of(jetstream_yaml(jet.url, None)))
            jet.wait_until_closed(first, timeout=15)
            assert len(jet.connections) == 1

            # Back, with other options: a new connection that resumes from the stored cursor.
            runner.apply_config(config_of(jetstream_yaml(jet.url, "nl, en")))
            second = jet.wait_for_connections(2, timeout=20)
            assert second.cursor == events[-1]["time_us"] - 5_000_000
        finally:
            runner.stop()
    store.close()


# -- end to end: `inhaker run` with its feeds.yaml edited --------------------------------------


def rss(feed: str, count: int, now: datetime) -> bytes:
    items = "".join(
        f"""
    <item>
      <guid isPermaLink="false">{feed}-{i}</guid>
      <title>{escape(feed)} bericht {i}</title>
      <link>https://example.nl/{feed}/{i}</link>
      <description>Nieuws {i} van {escape(feed)} over de begroting</description>
      <pubDate>{format_datetime(now - timedelta(hours=3, minutes=i))}</pubDate>
    </item>"""
        for i in range(count)
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>{feed}</title><link>https://example.nl/</link>
<description>test</description>{items}
</channel></rss>""".encode()


def feeds_yaml(server: FeedServer, feeds: list[str], *, broken: bool = False) -> str:
    """feeds.yaml with one rss source per feed; `broken`: a typo'd key on the last source."""
    sources = "".join(
        f"""  - id: {feed}
    kind: rss
    url: {server.url(f"/{feed}.xml")}
    {"intervall" if broken and feed == feeds[-1] else "interval"}: 30s
"""
        for feed in feeds
    )
    return f"""allow_private_hosts: ["127.0.0.1"]
sources:
{sources}watch:
  terms: ["werkplek"]
slack:
  channel: "#inhaker"
  ops_channel: "#ops"
"""


def wait_for(what: str, ready: Callable[[], bool], log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; log:\n{log.read_text()[-4000:]}")


@pytest.fixture
def socket_mode(fake_slack: FakeSlack) -> Iterator[FakeSocketMode]:
    with FakeSocketMode(fake_slack) as server:
        yield server


def test_inhaker_run_applies_feeds_yaml_edits_and_reports_a_broken_one(
    database_url: str,
    tmp_path: Path,
    feed_server: FeedServer,
    fake_slack: FakeSlack,
    socket_mode: FakeSocketMode,
) -> None:
    now = datetime.now(UTC)
    feed_server.serve("/nos.xml", rss("nos", 5, now))
    feed_server.serve("/nu.xml", rss("nu", 4, now))
    config = tmp_path / "feeds.yaml"
    config.write_text(feeds_yaml(feed_server, ["nos"]), encoding="utf-8")
    database = database_url
    log_path = tmp_path / "inhaker.log"
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": fake_slack.token,
        "SLACK_APP_TOKEN": DEFAULT_APP_TOKEN,
        "SLACK_API_URL": fake_slack.base_url,
        "DATABASE_URL": database,
    }
    env.pop("SLACK_SIGNING_SECRET", None)
    store = Store(database)

    def requests(feed: str) -> int:
        return sum(1 for r in feed_server.requests if r.path == f"/{feed}.xml")

    with log_path.open("w", encoding="utf-8") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run", "--config", str(config)],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=log_file,
            text=True,
        )
        try:
            wait_for("nos stored", lambda: store.count_posts(source="nos") == 5, log_path)

            # Add a source while it runs: polled and stored, and Slack lists it.
            config.write_text(feeds_yaml(feed_server, ["nos", "nu"]), encoding="utf-8")
            wait_for("nu stored", lambda: store.count_posts(source="nu") == 4, log_path)
            assert "feeds.yaml reloaded: +1 source (nu), -0, 0 changed" in log_path.read_text()
            socket_mode.wait_for_connections(1, timeout=30)
            answer = socket_mode.request(
                "slash_commands", payload_from_form(slash_command("/inhaker", "sources"))
            )
            listed = json.dumps(answer["blocks"], ensure_ascii=False)
            assert "nos (rss)" in listed
            assert "nu (rss)" in listed

            # A broken edit: the process keeps polling both and tells the ops channel once.
            polled_before = {feed: requests(feed) for feed in ("nos", "nu")}
            config.write_text(feeds_yaml(feed_server, ["nos", "nu"], broken=True))
            problem = f"{config}:10: sources[1].intervall: unknown key; did you mean 'interval'?"
            wait_for("the ops message", lambda: len(fake_slack.messages("#ops")) >= 1, log_path)
            feed_server.serve("/nu.xml", rss("nu", 6, now))  # nu publishes more meanwhile
            wait_for(
                "both sources polled again",
                lambda: all(requests(f) > polled_before[f] for f in ("nos", "nu")),
                log_path,
                timeout=45,
            )
            wait_for(
                "nu's new items", lambda: store.count_posts(source="nu") == 6, log_path, timeout=45
            )
            ops = fake_slack.messages("#ops")
            assert len(ops) == 1, ops
            assert problem in ops[0]["text"]
            assert "keeps running the last good configuration" in ops[0]["text"]
            assert problem in log_path.read_text()

            # Fixed: applied, and the ops channel hears it is valid again.
            config.write_text(feeds_yaml(feed_server, ["nos", "nu"]), encoding="utf-8")
            wait_for("valid again", lambda: len(fake_slack.messages("#ops")) >= 2, log_path)
            assert "feeds.yaml is valid again" in fake_slack.messages("#ops")[1]["text"]
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
    err = log_path.read_text()
    assert process.returncode == 0, err
    assert "stopped cleanly" in err
    not_applied = "feeds.yaml edit not applied (the last good configuration keeps running)"
    assert f"ERROR bot.reload: {not_applied}: {problem}" in err
    assert "Traceback" not in err
    assert fake_slack.token not in err
    store.close()
