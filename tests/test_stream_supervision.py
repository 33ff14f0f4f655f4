"""`inhaker run` keeps streams alive: a stream that crashes is restarted and its batches stored."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from bot.config import Config, SourceConfig
from bot.notify.console import ConsoleNotifier
from bot.scheduler import Runner
from bot.sources.base import FetchResult, SourceState, StreamSink
from bot.store import Store
from detectors.records import Post


class CrashingOnceStream:
    """A stream source that dies on its first run and delivers a batch on its second."""

    kind = "test_stream"

    def __init__(self) -> None:
        self.id = "flaky"
        self.runs = 0

    def fetch(self, state: SourceState, now: datetime) -> FetchResult:
        return FetchResult()

    def stream(self, state: SourceState, sink: StreamSink, stop: threading.Event) -> None:
        self.runs += 1
        if self.runs == 1:
            raise RuntimeError("connection handler bug")
        post = Post(source=self.id, id="p1", text="Hallo", created_at=datetime.now(UTC))
        sink(FetchResult(posts=[post], cursor="42"))
        stop.wait()


def test_a_crashed_stream_is_restarted_and_its_posts_stored(database_url: str) -> None:
    store = Store(database_url)
    runner = Runner(Config(), store, ConsoleNotifier())
    source = CrashingOnceStream()
    runner.sources[source.id] = (
        source,
        SourceConfig(id=source.id, kind=source.kind, interval=timedelta(minutes=1)),
    )
    runner.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and store.count_posts(source="flaky") == 0:
            time.sleep(0.1)
    finally:
        runner.stop()
    assert source.runs == 2
    assert store.count_posts(source="flaky") == 1
    assert store.source_state("flaky").cursor == "42"
