"""The main job: poll every source on its own schedule, detect and alert every minute.

What it does: `Runner` wires config, store, sources, the engine and a notifier together.
- `run_once()` is one full cycle (`inhaker run --once`): poll every enabled source once, in
  parallel so a slow host cannot delay the others (a server's Retry-After is still obeyed),
  then detect, alert and deliver, then prune posts past the retention window.
- `start()` runs the APScheduler 3 `BackgroundScheduler`: one interval job per source, with
  jitter so sources do not all fire at once and `max_instances=1` so one source is never polled
  twice at the same time, plus a detect-and-alert tick every minute. Failing sources back off
  exponentially (their job skips until `next_due`). `stop()` shuts it down and waits for jobs.

What it does not do: handle signals or Slack connections (bot/cli.py does), or fetch itself.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
from apscheduler.executors.pool import ThreadPoolExecutor as APThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from bot.config import Config, SourceConfig
from bot.http import make_client
from bot.notify.base import Notifier
from bot.pipeline import Engine, TickResult
from bot.poller import PollOutcome, build_source, poll
from bot.sources.base import Source
from bot.store import Store

log = logging.getLogger(__name__)

TICK_SECONDS = 60
POLL_WORKERS = 8


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class CycleReport:
    polls: list[PollOutcome] = field(default_factory=list)
    tick: TickResult | None = None

    @property
    def new_posts(self) -> int:
        return sum(len(p.new_posts) for p in self.polls)


class Runner:
    """Everything `inhaker run` does, without the process concerns."""

    def __init__(
        self,
        config: Config,
        store: Store,
        notifier: Notifier,
        *,
        clock: Callable[[], datetime] = utcnow,
        client: httpx.Client | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.client = client or make_client()
        self.engine = Engine(config, store, notifier)
        self.sources: dict[str, tuple[Source, SourceConfig]] = {
            s.id: (build_source(s, self.client, watch_terms=config.watch_terms), s)
            for s in config.enabled_sources
        }
        self._warmed = False
        self._scheduler: BackgroundScheduler | None = None

    def warm_up(self) -> None:
        if not self._warmed:
            count = self.engine.warm_up(self.clock())
            log.info("detector warmed up from %d stored posts", count)
            self._warmed = True

    # -- the pieces -----------------------------------------------------------------------

    def poll_source(self, source_id: str, *, respect_backoff: bool = True) -> PollOutcome:
        source, config = self.sources[source_id]
        now = self.clock()
        outcome = poll(source, config, self.store, now, respect_backoff=respect_backoff)
        if outcome.new_posts:
            self.engine.ingest(outcome.new_posts)
        if outcome.backlog:
            self.engine.ingest_backlog(outcome.backlog, now)
        return outcome

    def tick(self) -> TickResult:
        now = self.clock()
        result = self.engine.tick(now)
        for decision in result.decisions:
            log.info(
                "alert %s: %s", "updated" if decision.is_update else "queued", decision.alert_id
            )
        return result

    def prune(self) -> None:
        removed = self.store.prune_posts(self.clock() - self.config.retention)
        if removed:
            log.info("pruned %d posts older than the retention window", removed)

    # -- one cycle ------------------------------------------------------------------------

    def run_once(self) -> CycleReport:
        self.warm_up()
        report = CycleReport()
        ids = list(self.sources)
        if ids:
            with ThreadPoolExecutor(max_workers=min(POLL_WORKERS, len(ids))) as pool:
                report.polls = list(
                    pool.map(lambda sid: self.poll_source(sid, respect_backoff=False), ids)
                )
        report.tick = self.tick()
        self.prune()
        return report

    # -- the long-running job -------------------------------------------------------------

    def start(self) -> None:
        self.warm_up()
        scheduler = BackgroundScheduler(
            executors={"default": APThreadPoolExecutor(POLL_WORKERS)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
            timezone=UTC,
        )
        now = self.clock()
        for index, (source_id, (_source, config)) in enumerate(self.sources.items()):
            seconds = config.interval.total_seconds()
            scheduler.add_job(
                self._safe(self.poll_source),
                "interval",
                seconds=seconds,
                # Jitter spreads polls of many feeds; never more than a tenth of the interval.
                jitter=min(60, int(seconds / 10)),
                args=[source_id],
                id=f"poll:{source_id}",
                # Stagger the first polls by a second each instead of a thundering herd.
                next_run_time=now + timedelta(seconds=index % 30),
            )
        scheduler.add_job(
            self._safe(self.tick),
            "interval",
            seconds=TICK_SECONDS,
            id="tick",
            next_run_time=now + timedelta(seconds=min(30, len(self.sources) + 5)),
        )
        scheduler.add_job(self._safe(self.prune), "interval", hours=1, id="prune")
        scheduler.start()
        self._scheduler = scheduler
        log.info("scheduler started: %d sources, tick every %ds", len(self.sources), TICK_SECONDS)

    def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=True)
            self._scheduler = None
        self.client.close()

    @staticmethod
    def _safe(job: Callable[..., object]) -> Callable[..., None]:
        """A job that logs a crash loudly and lets the scheduler keep going."""

        def run(*args: object) -> None:
            try:
                job(*args)
            except Exception:
                log.exception("job %s crashed; it runs again on its next interval", job)

        run.__name__ = getattr(job, "__name__", "job")
        return run


def wait_for_stop(stop: threading.Event) -> None:
    """Block until `stop` is set (by a signal handler), waking up to stay responsive."""
    while not stop.wait(1.0):
        pass
