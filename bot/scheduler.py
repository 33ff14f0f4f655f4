"""The main job: poll every source on its own schedule, detect and alert every minute.

What it does: `Runner` wires config, store, sources, the engine and a notifier together.
- `run_once()` is one full cycle (`inhaker run --once`): poll every enabled source once, in
  parallel so a slow host cannot delay the others (a server's Retry-After is still obeyed),
  then detect, alert and deliver, then prune posts past the retention window.
- `start()` runs the APScheduler 3 `BackgroundScheduler`: one interval job per source, with
  jitter so sources do not all fire at once and `max_instances=1` so one source is never polled
  twice at the same time, plus a detect-and-alert tick every minute. Failing sources back off
  exponentially (their job skips until `next_due`). Stream sources (Bluesky Jetstream) run in
  their own thread instead, supervised: a stream that dies is restarted with a growing pause.
  A cron job per `slack.digest.times` entry (in `slack.timezone`) queues the digest
  (`Runner.digest`) and lets the tick deliver it. `stop()` stops the streams and the scheduler
  and waits for them.
- Leadership (`start(leadership=...)`, bot/leader.py): all of the above runs only while this
  process leads. A standby tries to take over every LEADER_RETRY_SECONDS and, on winning, warms
  up from the store and starts them; a leader checks it still leads before every job and every
  LEADER_CHECK_SECONDS, and on losing the lock stops them at once and stands by again.
- Hot reload: a job looks at feeds.yaml every few seconds (bot/reload.py) and hands a valid edit
  to `apply_config`, which applies it without a restart: sources added get their poll job or
  stream thread, removed ones lose it, changed ones are rebuilt (their state stays in the store,
  by id), the digest's cron jobs are re-added, and the engine takes the new settings
  (`Engine.use_config`) keeping the detector and what it learned, and the address guard takes a
  new `allow_private_hosts`. `detection:` changes wait for a restart (a WARNING names them). A
  broken edit keeps the last good configuration and is reported to the log and to
  `slack.ops_channel`.

What it does not do: handle signals or Slack connections (bot/cli.py does), or fetch itself.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from apscheduler.executors.pool import ThreadPoolExecutor as APThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.exc import SQLAlchemyError

from bot import memory
from bot.config import Config, SourceConfig
from bot.digest import queue_digest
from bot.http import make_client
from bot.leader import Leadership
from bot.netguard import guard_of
from bot.notify.base import Notifier
from bot.pipeline import Engine, TickResult
from bot.poller import PollOutcome, build_source, poll, record
from bot.reload import (
    ApplyError,
    ConfigChanges,
    ConfigWatcher,
    diff_configs,
    tell_ops,
)
from bot.routing import local_time
from bot.sources.base import FetchResult, Source, SourceState, StreamSink, StreamSource
from bot.store import Store

log = logging.getLogger(__name__)

TICK_SECONDS = 60
# The detector saves its tables this often (and on stop): a crash loses at most this much
# learning, and the posts stored since are replayed on start.
CHECKPOINT_SECONDS = 600
# Polls are I/O-bound; enough threads that a few slow hosts (each bounded by its timeouts)
# cannot hold up the other sources.
POLL_WORKERS = 16
# A stream that stayed up this long was healthy: if it ends, restart it at once.
STREAM_HEALTHY_SECONDS = 60.0
STREAM_MAX_PAUSE_SECONDS = 300.0
# A standby tries to take the lead this often, so it takes over within seconds of the leader's
# death; a leader confirms it still holds the lead this often (and before every job).
LEADER_RETRY_SECONDS = 5.0
LEADER_CHECK_SECONDS = 5.0
REQUEST_MEMORY = timedelta(days=1)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class CycleReport:
    polls: list[PollOutcome] = field(default_factory=list)
    tick: TickResult | None = None

    @property
    def new_posts(self) -> int:
        return sum(len(p.new_posts) for p in self.polls)

    @property
    def history_posts(self) -> int:
        """Posts stored as history (a source's or a part's first read), never alerted."""
        return sum(len(p.backlog) for p in self.polls)


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
        # Guarded: a source URL cannot reach private or metadata addresses (bot/netguard.py).
        self.client = client or make_client(allow_private_hosts=config.allow_private_hosts)
        self.engine = Engine(config, store, notifier)
        self.sources: dict[str, tuple[Source, SourceConfig]] = {
            s.id: (build_source(s, self.client, watch_terms=config.watch_terms), s)
            for s in config.enabled_sources
        }
        self._warmed = False
        self._scheduler: BackgroundScheduler | None = None
        # One thread and one stop signal per stream, so a reload can stop or restart one.
        self._stream_threads: dict[str, threading.Thread] = {}
        self._stream_stops: dict[str, threading.Event] = {}
        # One reload at a time. A tick is not held up by a reload (nor a reload by a tick that
        # waits on Slack): a tick running across a reload may use old and new settings once.
        self._reload_lock = threading.RLock()
        self.watcher: ConfigWatcher | None = None
        # Leadership (`start(leadership=...)`): None until started with it.
        self._leadership: Leadership | None = None
        self._supervisor: threading.Thread | None = None
        self._halt: threading.Event | None = None
        self._wake: threading.Event | None = None
        # The scheduler that follows feeds.yaml, leader or standby.
        self._standing: BackgroundScheduler | None = None

    def warm_up(self) -> None:
        if not self._warmed:
            count = self.engine.warm_up(self.clock())
            log.info("detector warmed up from %d stored posts", count)
            self._warmed = True

    # -- the pieces -----------------------------------------------------------------------

    def poll_source(self, source_id: str, *, respect_backoff: bool = True) -> PollOutcome:
        entry = self.sources.get(source_id)
        if entry is None:  # removed from feeds.yaml while this poll was due
            return PollOutcome(source_id, skipped="removed from feeds.yaml")
        source, config = entry
        now = self.clock()
        try:
            outcome = poll(source, config, self.store, now, respect_backoff=respect_backoff)
        except SQLAlchemyError as exc:
            # The database failed this one poll (locked past its timeout, the server gone). The
            # source's state is saved last, so it was not: the next poll fetches the same items
            # again (any stored already are not stored twice, and open calls among them are
            # still checked from the store). The other sources' polls go on.
            log.exception("poll of %s could not be stored", source_id)
            return PollOutcome(
                source_id,
                error=f"{source_id}: the poll could not be stored ({exc.__class__.__name__}) — "
                "it is fetched again at the next poll; check the database if this repeats",
            )
        self._ingest(outcome, now)
        return outcome

    def _ingest(self, outcome: PollOutcome, now: datetime) -> None:
        if outcome.new_posts:
            self.engine.ingest(outcome.new_posts)
        if outcome.backlog:
            self.engine.ingest_backlog(outcome.backlog, now)

    # -- streams --------------------------------------------------------------------------

    def _stream_sink(self, source_id: str) -> StreamSink:
        """What a stream calls with each batch: store it like a poll, return the new state."""
        config = self.sources[source_id][1]

        def sink(result: FetchResult) -> SourceState:
            now = self.clock()
            state = self.store.source_state(source_id)
            outcome = record(source_id, config, self.store, state, result, now, quiet=True)
            self._ingest(outcome, now)
            return self.store.source_state(source_id)

        return sink

    def _run_stream(self, source_id: str, stop: threading.Event) -> None:
        """Keep one stream running until `stop`; a crash restarts it after a growing pause."""
        source = self.sources[source_id][0]
        assert isinstance(source, StreamSource)
        pause = 1.0
        while not stop.is_set():
            started = time.monotonic()
            try:
                source.stream(
                    self.store.source_state(source_id), self._stream_sink(source_id), stop
                )
            except Exception:
                log.exception("stream %s crashed; restarting in %.0fs", source_id, pause)
            if stop.is_set():
                break
            # A stream that ran a while before ending starts again quickly; one that dies at
            # once backs off, so a broken endpoint is not hammered.
            pause = 1.0 if time.monotonic() - started > STREAM_HEALTHY_SECONDS else pause
            stop.wait(pause)
            pause = min(pause * 2, STREAM_MAX_PAUSE_SECONDS)

    def _start_stream(self, source_id: str) -> None:
        stop = threading.Event()
        thread = threading.Thread(
            target=self._run_stream, args=(source_id, stop), name=f"stream:{source_id}", daemon=True
        )
        self._stream_stops[source_id] = stop
        self._stream_threads[source_id] = thread
        thread.start()

    def _stop_stream(self, source_id: str) -> None:
        stop = self._stream_stops.pop(source_id, None)
        thread = self._stream_threads.pop(source_id, None)
        if stop is not None:
            stop.set()
        if thread is not None:
            thread.join(timeout=10)

    def _is_stream(self, source_id: str) -> bool:
        return isinstance(self.sources[source_id][0], StreamSource)

    def tick(self) -> TickResult:
        now = self.clock()
        result = self.engine.tick(now)
        quiet = self.config.slack.quiet_hours
        for decision in result.decisions:
            if decision.held and quiet is not None:
                log.info(
                    "alert held for the digest (quiet hours %s-%s %s): %s",
                    quiet.start,
                    quiet.end,
                    self.config.slack.timezone,
                    decision.alert_id,
                )
                continue
            log.info(
                "alert %s: %s", "updated" if decision.is_update else "queued", decision.alert_id
            )
        return result

    def prune(self) -> None:
        now = self.clock()
        removed = self.store.prune_posts(now - self.config.retention)
        if removed:
            log.info("pruned %d posts older than the retention window", removed)
        # Slack redelivers a request within minutes; a day of keys is plenty to recognise one.
        self.store.forget_requests(now - REQUEST_MEMORY)

    def checkpoint(self) -> None:
        """Save the detector's tables, so a restart continues instead of relearning."""
        size = self.engine.checkpoint(self.clock())
        if size is not None:
            log.info("trend detector checkpoint saved (%d KiB)", size // 1024)
        # The checkpoint's buffers (megabytes) were just freed: hand them back to the system
        # instead of letting malloc keep them (bot/memory.py).
        memory.trim()

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
        self.checkpoint()
        return report

    # -- the long-running job -------------------------------------------------------------

    def start(
        self, *, reload_seconds: float | None = None, leadership: Leadership | None = None
    ) -> None:
        """Start the streams and the scheduler; with `reload_seconds` (`inhaker run` passes
        RELOAD_SECONDS), also look at feeds.yaml (`config.path`) that often and apply its
        edits.

        With `leadership` (`inhaker run` passes bot/leader.py's), polls, streams, ticks and
        digests run only while this process leads: a standby tries to take over every
        LEADER_RETRY_SECONDS, and a leader that finds it lost the lead stops them at once and
        stands by again. feeds.yaml is followed either way, so a standby leads with the
        current configuration."""
        if reload_seconds is not None:
            self.watcher = ConfigWatcher(self.config.path, report=self._tell_ops)
            # Its own scheduler: a standby follows feeds.yaml too, and `apply_config` adds poll
            # jobs only to the leader's (`_scheduler`, None while standing by).
            standing = BackgroundScheduler(
                job_defaults={"coalesce": True, "max_instances": 1}, timezone=UTC
            )
            standing.add_job(
                self._safe(self.check_config), "interval", seconds=reload_seconds, id="reload"
            )
            standing.start()
            self._standing = standing
        if leadership is None:
            self._lead()
            return
        self._leadership = leadership
        self._halt = threading.Event()
        self._wake = threading.Event()
        self._contend(announce_standby=True)
        self._supervisor = threading.Thread(target=self._supervise, name="leadership", daemon=True)
        self._supervisor.start()

    # -- leadership -----------------------------------------------------------------------

    def _contend(self, *, announce_standby: bool) -> bool:
        """One attempt to lead (the lead's jobs start on success); True if now leading."""
        leadership = self._leadership
        assert leadership is not None
        if not leadership.try_acquire():
            if announce_standby:
                log.info(
                    "standby: another worker leads (%s); taking over when it stops",
                    leadership.holder() or "holder unknown",
                )
            return False
        log.info("leading: polling %d sources", len(self.sources))
        try:
            self._lead()
        except Exception:
            log.exception("could not start leading; giving the lead back and retrying")
            self._step_down(save=False)
            leadership.release()
            return False
        return True

    def _supervise(self) -> None:
        """The standby's retries and the leader's check that it still leads, until `stop`."""
        leadership, halt, wake = self._leadership, self._halt, self._wake
        assert leadership is not None
        assert halt is not None
        assert wake is not None
        announce = False  # start() announced the first standby already
        while not halt.is_set():
            if self._scheduler is None:
                if self._contend(announce_standby=announce):
                    announce = True  # the next standby spell is announced again
                    continue
                announce = False
                wake.wait(LEADER_RETRY_SECONDS)
            else:
                if not leadership.held():
                    # Another process may lead already: no poll, tick or post from here on.
                    log.error(
                        "lost the lead (the lock is gone); stopped polling and alerting — "
                        "standing by"
                    )
                    self._step_down(save=False)
                    leadership.release()
                    announce = True
                    # A standby gets its turn first: the process that just lost its lock may be
                    # the one with the bad connection.
                    halt.wait(LEADER_RETRY_SECONDS)
                    continue
                wake.wait(LEADER_CHECK_SECONDS)
            wake.clear()

    def _as_leader(self, job: Callable[..., object]) -> Callable[..., object]:
        """`job`, run only if this process still leads; else skipped, and the step-down starts."""

        def run(*args: object) -> object:
            leadership = self._leadership
            if leadership is not None and not leadership.held():
                log.warning("not leading any more: %s skipped", getattr(job, "__name__", "job"))
                if self._wake is not None:
                    self._wake.set()
                return None
            return job(*args)

        run.__name__ = getattr(job, "__name__", "job")
        return run

    def _lead(self) -> None:
        """Start what the leader runs: warm up from the store, then streams and jobs."""
        with self._reload_lock:
            if self._warmed and self._leadership is not None:
                # Led before, then stood by while another process went on: start from the
                # store (its checkpoint and posts), as a fresh start does, not from old tables.
                self.engine = Engine(self.config, self.store, self.engine.notifier)
                self._warmed = False
            if self._leadership is not None:
                # Asked before each post of a delivery round: a lead lost mid-round stops it.
                self.engine.may_send = self._leadership.held
            self.warm_up()
            scheduler = BackgroundScheduler(
                executors={"default": APThreadPoolExecutor(POLL_WORKERS)},
                job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
                timezone=UTC,
            )
            for source_id in self.sources:
                if self._is_stream(source_id):
                    self._start_stream(source_id)
            polled = [sid for sid in self.sources if not self._is_stream(sid)]
            for index, source_id in enumerate(polled):
                # Stagger the first polls by a second each instead of a thundering herd.
                self._schedule_poll(scheduler, source_id, first_in=index % 30)
            scheduler.add_job(
                self._safe(self._as_leader(self.tick)),
                "interval",
                seconds=TICK_SECONDS,
                id="tick",
                next_run_time=self.clock() + timedelta(seconds=min(30, len(self.sources) + 5)),
            )
            scheduler.add_job(
                self._safe(self._as_leader(self.prune)), "interval", hours=1, id="prune"
            )
            self._schedule_digests(scheduler)
            scheduler.add_job(
                self._safe(self._as_leader(self.checkpoint)),
                "interval",
                seconds=CHECKPOINT_SECONDS,
                id="checkpoint",
            )
            scheduler.start()
            self._scheduler = scheduler
        log.info("scheduler started: %d sources, tick every %ds", len(self.sources), TICK_SECONDS)

    def _step_down(self, *, save: bool) -> None:
        """Stop the streams and the leader's jobs, waiting for running ones; with `save`, save
        the detector's checkpoint (not after losing the lead: the new leader saves its own)."""
        with self._reload_lock:
            for stop in self._stream_stops.values():
                stop.set()
            for thread in self._stream_threads.values():
                thread.join(timeout=10)
            self._stream_threads.clear()
            self._stream_stops.clear()
            scheduler, self._scheduler = self._scheduler, None
        if scheduler is None:
            return
        scheduler.shutdown(wait=True)
        if save:
            try:
                self.checkpoint()
            except Exception:
                log.exception("could not save the trend detector checkpoint at shutdown")

    def _schedule_poll(self, scheduler: BackgroundScheduler, source_id: str, first_in: int) -> None:
        seconds = self.sources[source_id][1].interval.total_seconds()
        scheduler.add_job(
            self._safe(self._as_leader(self.poll_source)),
            "interval",
            seconds=seconds,
            # Jitter spreads polls of many feeds; never more than a tenth of the interval.
            jitter=min(60, int(seconds / 10)),
            args=[source_id],
            id=f"poll:{source_id}",
            replace_existing=True,
            next_run_time=self.clock() + timedelta(seconds=first_in),
        )

    def _schedule_digests(self, scheduler: BackgroundScheduler) -> None:
        """One cron job per `slack.digest.times` slot, in `slack.timezone` (replacing any)."""
        for job in scheduler.get_jobs():
            if job.id.startswith("digest:"):
                job.remove()
        zone = ZoneInfo(self.config.slack.timezone)
        for slot in self.config.slack.digest.times:
            hour, minute = (int(part) for part in slot.split(":"))
            scheduler.add_job(
                self._safe(self.digest),
                CronTrigger(hour=hour, minute=minute, timezone=zone),
                args=[slot],
                id=f"digest:{slot}",
                # A digest a few minutes late is still worth sending; one queued per slot.
                misfire_grace_time=15 * 60,
            )

    # -- hot reload -----------------------------------------------------------------------

    def check_config(self) -> ConfigChanges | None:
        """The reload job: apply feeds.yaml if it was edited (see bot/reload.py)."""
        if self.watcher is None:
            self.watcher = ConfigWatcher(self.config.path, report=self._tell_ops)
        return self.watcher.check(self.apply_config)

    def _tell_ops(self, text: str) -> None:
        tell_ops(self.engine.notifier, self.config.slack.ops_channel, text)

    def apply_config(self, new: Config) -> ConfigChanges:
        """Run with `new` from now on, without a restart; returns what changed.

        Everything that can fail (building sources, training a changed opportunity scorer) is
        done before anything changes, so a failure leaves the running configuration whole
        (raised as `ApplyError`). The detector and what it learned are kept; `detection:` changes
        are logged as needing a restart and otherwise ignored.
        """
        from bot.opportunity_data import DatasetError

        with self._reload_lock:
            changes = diff_configs(self.config, new)
            if changes.empty:
                self.config = new  # e.g. a comment: nothing a running worker reads changed
                return changes
            wanted = {s.id: s for s in new.enabled_sources}
            # Sources read the watch terms when built (Hacker News searches them, Jetstream
            # filters by them): a change of terms rebuilds every source. Their state is in the
            # store, by id, so nothing is lost.
            moved = [*changes.added, *changes.changed]
            rebuild = list(wanted) if changes.watch_terms_changed else moved
            try:
                built = {
                    sid: (
                        build_source(wanted[sid], self.client, watch_terms=new.watch_terms),
                        wanted[sid],
                    )
                    for sid in rebuild
                }
                self.engine.use_config(new)
            except DatasetError as exc:
                raise ApplyError(
                    f"opportunities: cannot train the scorer: {exc} — fix opportunities."
                    "training_data (or remove it to use the shipped data)"
                ) from exc
            except ValueError as exc:
                raise ApplyError(f"sources: {exc} — fix the source in feeds.yaml") from exc
            self.config = new
            if "allow_private_hosts" in changes.settings and (guard := guard_of(self.client)):
                guard.update(new.allow_private_hosts)
            for sid in changes.removed:
                self._retire(sid)
                self.sources.pop(sid, None)
            for index, sid in enumerate(moved):
                # New or edited: its own schedule from now, first poll within seconds (a
                # server's Retry-After and the source's backoff, kept in the store, still hold).
                self._retire(sid)
                self.sources[sid] = built[sid]
                self._launch(sid, first_in=1 + index % 30)
            for sid in rebuild:
                if sid in moved:
                    continue
                # Only the watch terms changed for it: a poll job picks up the new adapter at
                # its next run, on its usual schedule; a stream reconnects with the new terms.
                restart = sid in self._stream_threads
                if restart:
                    self._stop_stream(sid)
                self.sources[sid] = built[sid]
                if restart:
                    self._start_stream(sid)
            if self._scheduler is not None and {"slack.digest", "slack.timezone"} & set(
                changes.settings
            ):
                self._schedule_digests(self._scheduler)
        log.info("feeds.yaml reloaded: %s", changes.summary())
        if changes.restart:
            log.warning(
                "feeds.yaml: %s changed; these take effect after a restart of inhaker run "
                "(the detector's tables are built at start) — everything "
                "else was applied",
                ", ".join(changes.restart),
            )
        return changes

    def _retire(self, source_id: str) -> None:
        """Stop a source's poll job or stream (it may be started again by `_launch`)."""
        if source_id in self._stream_threads:
            self._stop_stream(source_id)
        if self._scheduler is not None and self._scheduler.get_job(f"poll:{source_id}"):
            self._scheduler.remove_job(f"poll:{source_id}")

    def _launch(self, source_id: str, *, first_in: int) -> None:
        if self._scheduler is None:
            return  # not started (run --once, tests): run_once polls whatever is in sources
        if self._is_stream(source_id):
            self._start_stream(source_id)
        else:
            self._schedule_poll(self._scheduler, source_id, first_in=first_in)

    def digest(self, slot: str | None = None) -> bool:
        """Queue the digest for `slot` (HH:MM, default: the local time now); False if queued
        before. The tick posts it: at once when the scheduler runs (the tick job is moved to
        now, and a tick never runs twice at once, so the outbox has one deliverer), else here."""
        now = self.clock()
        slot = slot or f"{local_time(self.config, now):%H:%M}"
        queued = queue_digest(self.store, self.config, now, slot)
        if self._scheduler is not None:
            self._scheduler.modify_job("tick", next_run_time=datetime.now(UTC))
        else:
            self.engine.deliver(now)
        return queued

    def stop(self) -> None:
        if self._halt is not None and self._wake is not None:
            self._halt.set()
            self._wake.set()
        if self._supervisor is not None:
            self._supervisor.join(timeout=60)
            self._supervisor = None
        if self._standing is not None:
            self._standing.shutdown(wait=True)
            self._standing = None
        self._step_down(save=True)
        if self._leadership is not None:
            self._leadership.release()  # after the checkpoint: the next leader reads it
            self._leadership = None
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
