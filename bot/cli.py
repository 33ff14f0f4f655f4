"""The `inhaker` command line: run, serve, check, demo, replay, classify, digest, trends,
sources, db.

What it does: parses arguments, loads feeds.yaml (`--config`, else INHAKER_CONFIG, else
./feeds.yaml), opens the store (DATABASE_URL, else sqlite:///inhaker.db), picks the notifier
(Slack when SLACK_BOT_TOKEN is set, else the console) and hands over to the modules that do the
work. Errors people can fix are printed as one line naming the thing and the fix, exit code 1;
tracebacks are for bugs only.

What it does not do: any detection, fetching or rendering of its own.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from bot import memory
from bot.config import Config, ConfigError, load_config
from bot.notify.base import Notifier
from bot.store import DEFAULT_DATABASE_URL, Store, make_engine, normalize_url
from detectors.records import Post

log = logging.getLogger("inhaker")

DEMO_LABELS = {
    "x": "X",
    "mastodon": "Mastodon",
    "nos": "NOS",
    "nu": "NU.nl",
    "emerce": "Emerce",
    "marketingfacts": "Marketingfacts",
    "tweakers": "Tweakers",
}


class UsageError(Exception):
    """A problem the user can fix; printed without a traceback."""


def _setup_logging(verbose: bool, command: str) -> None:
    # The long-running jobs log what they do; one-shot commands print their own results and
    # log only warnings, so `inhaker demo` reads like a Slack channel, not a log.
    quiet = command not in ("run", "serve")
    level = logging.DEBUG if verbose else (logging.WARNING if quiet else logging.INFO)
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # Per-request lines from the HTTP and Slack clients drown the useful ones.
    for noisy in ("httpx", "httpcore", "apscheduler", "slack_sdk", "slack_bolt"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


# Posts scored at once by `classify`: large enough for the model's batch speed, small enough to
# print the first verdicts at once.
CLASSIFY_BATCH = 1000


def _config_path(arg: str | None) -> str:
    return arg or os.environ.get("INHAKER_CONFIG") or "feeds.yaml"


def _load(arg: str | None) -> Config:
    return load_config(_config_path(arg))


def _database_url() -> str:
    """DATABASE_URL (sqlite:///, postgresql://, postgres:// or postgresql+psycopg://), else the
    SQLite file ./inhaker.db. Plain PostgreSQL forms are opened with psycopg 3 (bot/store.py)."""
    return (os.environ.get("DATABASE_URL") or "").strip() or DEFAULT_DATABASE_URL


def _store_name(url: str) -> str:
    """The store for messages: host/database or the SQLite path, never the password."""
    from bot.migrate import where

    try:
        return where(normalize_url(url))
    except Exception:
        return "DATABASE_URL (not a valid database URL)"


def _open_store(url: str | None = None) -> Store:
    from bot.migrate import StoreTooNew

    url = url or _database_url()
    try:
        return Store(url)
    except StoreTooNew as exc:
        raise UsageError(f"store: {exc}") from None
    except Exception as exc:
        raise UsageError(
            f"store: cannot open {_store_name(url)}: {exc.__class__.__name__}: {exc} — "
            "check DATABASE_URL and that the folder is writable"
        ) from exc


def _notifier(*, dry_run: bool, channel: str) -> Notifier:
    from bot.notify.console import ConsoleNotifier

    if dry_run or not os.environ.get("SLACK_BOT_TOKEN"):
        log.info("no SLACK_BOT_TOKEN: alerts are printed here")
        return ConsoleNotifier()
    from slack_sdk.errors import SlackApiError

    from bot.notify.slack import SlackNotifier

    notifier = SlackNotifier.from_env()
    # Say at start whether Slack accepts the token: a wrong token is a setup error to fix now,
    # not a warning buried in the log at the first alert. An unreachable Slack is not fatal:
    # the outbox keeps alerts until it answers.
    try:
        who = notifier.client.auth_test()
        log.info("slack: posting as %s in %s to %s", who.get("user"), who.get("team"), channel)
    except SlackApiError as exc:
        code = exc.response.get("error") if exc.response is not None else None
        if code in ("invalid_auth", "not_authed", "account_inactive", "token_revoked"):
            raise UsageError(
                f"slack: the bot token was refused ({code}) — check SLACK_BOT_TOKEN (the app's "
                "xoxb- Bot User OAuth Token), or unset it to print alerts here"
            ) from None
        log.warning("slack: auth.test failed (%s); alerts wait in the outbox", code)
    except OSError as exc:
        log.warning("slack: not reachable now (%s); alerts wait in the outbox", exc)
    return notifier


def _dry_run_copy(url: str, workdir: str) -> str:
    """A private copy of a SQLite store, so a dry run changes nothing in the real one."""
    if not url.startswith("sqlite:///"):
        raise UsageError(
            "run --dry-run: only works with a SQLite store (it runs against a copy) — "
            "unset DATABASE_URL or point it at a sqlite:/// file"
        )
    source = url.removeprefix("sqlite:///")
    target = os.path.join(workdir, "dry-run.db")
    if os.path.exists(source):
        with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
            src.backup(dst)
    return f"sqlite:///{target}"


def _slack_app(store: Store, config: Config | Callable[[], Config]) -> Any:
    """The Bolt app, or a one-line error when Slack refuses the bot token. `config` may be a
    function returning the configuration in use (the worker's, which a reload replaces)."""
    from slack_bolt.error import BoltError

    from bot.slack.app import build_app

    try:
        return build_app(store, config)
    except BoltError as exc:
        raise UsageError(
            f"slack: the app could not start: {exc} — check SLACK_BOT_TOKEN (the app's "
            "xoxb- Bot User OAuth Token) and SLACK_API_URL"
        ) from None


# -- commands -----------------------------------------------------------------------------------


def cmd_db(args: argparse.Namespace) -> int:
    """`inhaker db upgrade`: bring the store's schema to this release; `db current`: show it."""
    from bot import migrate

    url = _database_url()
    name = _store_name(url)
    try:
        engine = make_engine(url)
    except Exception as exc:
        raise UsageError(
            f"store: cannot open {name}: {exc.__class__.__name__}: {exc} — check DATABASE_URL"
        ) from None
    try:
        if args.db_command == "current":
            revision = migrate.current(engine)
            if revision is None:
                print(f"store {name}: empty (no tables yet); this release is at {migrate.head()}")
            else:
                if revision == migrate.head():
                    state = "up to date"
                elif revision in migrate.known_revisions():
                    state = f"this release is at {migrate.head()}: run `inhaker db upgrade`"
                else:
                    state = f"newer than this release ({migrate.head()})"
                print(f"store {name}: at revision {revision} ({state})")
            return 0
        before, after = migrate.upgrade(engine)
    except migrate.StoreTooNew as exc:
        raise UsageError(f"store: {exc}") from None
    except Exception as exc:
        raise UsageError(
            f"store: cannot upgrade {name}: {exc.__class__.__name__}: {exc} — check "
            "DATABASE_URL and that the database is reachable and writable"
        ) from exc
    finally:
        engine.dispose()
    if before == after:
        print(f"store {name}: already at {after}")
    elif before is None:
        print(f"store {name}: created at {after}")
    else:
        print(f"store {name}: upgraded from {before} to {after}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    path = _config_path(args.config)
    config = load_config(path)
    enabled = len(config.enabled_sources)
    print(
        f"{path}: ok — {len(config.sources)} sources ({enabled} enabled), "
        f"{len(config.watch_terms)} watch terms, {len(config.exclude_terms)} exclude terms, "
        f"alerts to {config.slack_channel}"
    )
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from bot.leader import Leadership, leadership_for
    from bot.scheduler import Runner

    config = _load(args.config)
    # Before any thread starts: two malloc arenas for all threads, so memory freed by one poll
    # thread is reused by the next instead of creeping up over days (bot/memory.py).
    memory.limit_arenas()
    url = _database_url()
    with tempfile.TemporaryDirectory(prefix="inhaker-dry-run-") as workdir:
        leadership: Leadership | None = None
        if args.dry_run:
            # A private copy that nothing else uses, and nothing is sent: no leader to respect.
            url = _dry_run_copy(url, workdir)
            print("dry run: alerts are printed here and nothing is saved", file=sys.stderr)
        store = _open_store(url)
        if not args.dry_run:
            leadership = leadership_for(url)
        if args.once and leadership is not None and not leadership.try_acquire():
            # A cron'd `--once` next to a running worker must not poll or post a second time.
            holder = leadership.holder() or "holder unknown"
            print(
                f"inhaker: run --once: another worker leads ({holder}) and polls and alerts "
                "already — nothing done; stop that worker to run a cycle by hand",
                file=sys.stderr,
            )
            store.close()
            return 2
        try:
            runner = Runner(
                config, store, _notifier(dry_run=args.dry_run, channel=config.slack_channel)
            )
        except BaseException:
            if leadership is not None:
                leadership.release()
            store.close()
            raise
        try:
            if args.once:
                report = runner.run_once()
                failed = [p for p in report.polls if p.error]
                tick = report.tick
                print(
                    f"cycle done: {len(report.polls)} sources polled ({len(failed)} failed), "
                    f"{report.new_posts} new posts"
                    + (
                        f" ({report.history_posts} more stored as history)"
                        if report.history_posts
                        else ""
                    )
                    + ", "
                    f"{len(tick.decisions) if tick else 0} alerts queued, "
                    f"{tick.delivery.sent if tick else 0} sent",
                    file=sys.stderr,
                )
                if tick and tick.delivery.error:
                    print(f"delivery: {tick.delivery.error}", file=sys.stderr)
                return 0
            return _run_forever(runner, store, config, dry_run=args.dry_run, leadership=leadership)
        finally:
            runner.stop()  # saves the checkpoint before the lead is given back
            if leadership is not None:
                leadership.release()  # --once, or a start that failed; else a no-op
            store.close()


def _run_forever(
    runner: Any, store: Store, config: Config, *, dry_run: bool, leadership: Any = None
) -> int:
    """Run until SIGINT/SIGTERM. With `leadership` (bot/leader.py), only the leading process
    polls and alerts; the others stand by and take over when it stops. Socket Mode runs in
    every process either way: Slack spreads its envelopes over all open connections, and the
    answers come from the shared store."""
    from bot.scheduler import wait_for_stop

    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        log.info("received %s, shutting down", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    socket_handler = None
    if not dry_run and os.environ.get("SLACK_BOT_TOKEN") and os.environ.get("SLACK_APP_TOKEN"):
        from slack_sdk.errors import SlackApiError

        from bot.slack.app import socket_mode_handler

        # The worker's configuration, read at each request: a reloaded feeds.yaml shows at once
        # (`/inhaker sources` lists a source added while running).
        app = _slack_app(store, lambda: runner.config)
        try:
            socket_handler = socket_mode_handler(app)
            socket_handler.connect()
        except SlackApiError as exc:
            raise UsageError(
                f"slack: Socket Mode could not start: {exc.response.get('error')} — check "
                "SLACK_APP_TOKEN (an xapp- app-level token with connections:write)"
            ) from None
        if socket_handler.client.is_connected():
            log.info("Slack Socket Mode connected")
        else:
            # slack_sdk keeps retrying in the background; commands work once it gets through.
            log.warning("Slack Socket Mode not connected yet; retrying in the background")
    from bot.reload import RELOAD_SECONDS

    # feeds.yaml edits apply while running (bot/reload.py); a broken edit is reported instead.
    runner.start(reload_seconds=RELOAD_SECONDS, leadership=leadership)
    print(
        f"inhaker running: {len(runner.sources)} sources; Ctrl-C stops", file=sys.stderr, flush=True
    )
    try:
        wait_for_stop(stop)
    finally:
        if socket_handler is not None:
            socket_handler.close()
        runner.stop()
    print("inhaker stopped cleanly", file=sys.stderr)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from waitress import serve

    from bot.slack.app import wsgi_app

    if not os.environ.get("SLACK_SIGNING_SECRET"):
        raise UsageError(
            "serve: SLACK_SIGNING_SECRET is not set — copy it from your Slack app's "
            "Basic Information page (HTTP mode verifies every request with it)"
        )
    from bot.reload import RELOAD_SECONDS, LiveConfig

    # feeds.yaml edits reach the answers while serving, as they reach the worker; a broken
    # edit keeps the last good configuration (and is logged; the worker tells the ops channel).
    config = LiveConfig(_load(args.config), every=RELOAD_SECONDS)
    memory.limit_arenas()  # before waitress starts its threads (see cmd_run)
    store = _open_store()
    app = _slack_app(store, config)
    port = args.port if args.port is not None else int(os.environ.get("PORT", "3000"))
    print(f"inhaker serve: listening on {args.host}:{port} (POST /slack/events)", file=sys.stderr)
    config.start()
    try:
        serve(wsgi_app(app), host=args.host, port=port, threads=8, _quiet=True)
    finally:
        config.stop()
    return 0


def _stream_lines(path: str) -> Any:
    try:
        return open(path, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the stream file: {exc.strerror}") from None


def _report_stream_errors(errors: Sequence[str]) -> None:
    for error in errors[:20]:
        print(f"skipped: {error}", file=sys.stderr)
    if len(errors) > 20:
        print(f"skipped {len(errors) - 20} more bad lines", file=sys.stderr)


def cmd_replay(args: argparse.Namespace) -> int:
    from bot.replay import replay

    config = load_config(args.config) if args.config else Config()
    started = time.perf_counter()
    with _stream_lines(args.stream) as lines:
        result = replay(lines, config, name=Path(args.stream).name)
    out = Path(args.alerts_out)
    try:
        with out.open("w", encoding="utf-8") as handle:
            for alert in result.alerts:
                handle.write(json.dumps(alert, ensure_ascii=False) + "\n")
    except OSError as exc:
        raise UsageError(f"{out}: cannot write alerts: {exc.strerror}") from None
    elapsed = time.perf_counter() - started
    rate = result.posts / elapsed if elapsed > 0 else 0.0
    print(
        f"replayed {result.posts} posts in {elapsed:.2f}s ({rate:,.0f} posts/s): "
        f"{len(result.alerts)} alerts written to {out}",
        file=sys.stderr,
    )
    _report_stream_errors(result.errors)
    return 1 if result.errors else 0


def cmd_classify(args: argparse.Namespace) -> int:
    from bot.opportunity_scorer import OpportunityScorer
    from bot.replay import read_stream

    config = load_config(args.config) if args.config else Config()
    scorer = OpportunityScorer(config.opportunities)
    labels = {s.id: s.label for s in config.sources}
    errors: list[str] = []

    def flush(batch: list[Post]) -> None:
        for post, verdict in zip(batch, scorer.verdicts(batch, labels), strict=True):
            line = {
                "id": post.id,
                "opportunity": verdict.opportunity,
                "score": round(verdict.score, 3),
                "deadline": verdict.deadline,
                "asker": verdict.asker,
            }
            sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
        sys.stdout.flush()

    with _stream_lines(args.stream) as lines:
        batch: list[Post] = []
        # Scored in batches (the model vectorizes many posts at once), printed in input order.
        for post in read_stream(lines, Path(args.stream).name, errors):
            batch.append(post)
            if len(batch) >= CLASSIFY_BATCH:
                flush(batch)
                batch = []
        flush(batch)
    _report_stream_errors(errors)
    return 1 if errors else 0


def cmd_demo(args: argparse.Namespace) -> int:
    from bot.notify.console import ConsoleNotifier
    from bot.replay import replay

    stream = resources.files("bot.demo").joinpath("demo_stream.jsonl")
    text = stream.read_text(encoding="utf-8")
    lines = text.splitlines()
    print(
        "Inhaker demo: replaying a Dutch day (Friday 13 June 2014, Netherlands–Spain at the "
        f"World Cup) — {len(lines)} posts from social timelines and news feeds, offline.\n"
        "Alerts appear as the console notifier shows them (set SLACK_BOT_TOKEN for Slack).\n"
    )
    started = time.perf_counter()
    result = replay(
        lines,
        Config(),
        name="demo_stream.jsonl",
        notifier=ConsoleNotifier(),
        source_labels=DEMO_LABELS,
    )
    elapsed = time.perf_counter() - started
    trends = sum(1 for a in result.alerts if a["kind"] == "trend")
    opportunities = sum(1 for a in result.alerts if a["kind"] == "opportunity")
    print(
        f"Done: {result.posts} posts in {elapsed:.1f}s — {trends} trend alerts, "
        f"{opportunities} opportunity alerts."
    )
    return 0


def cmd_trends(args: argparse.Namespace) -> int:
    from bot.notify.console import render_alert
    from bot.serialize import trend_from_dict

    store = _open_store()
    payloads, updated = store.current_trends()
    if updated is None:
        print("No detection has run yet: start `inhaker run` (or `inhaker run --once`).")
        return 0
    print(f"Rising now (as of {updated:%Y-%m-%d %H:%M} UTC):")
    if not payloads:
        print("  nothing is rising right now.")
    from bot.notify.base import Alert

    for payload in payloads:
        trend = trend_from_dict(payload)
        alert = Alert(
            id=trend.key, kind="trend", channel="", created_at=trend.detected_at, trend=trend
        )
        print(render_alert(alert))
    return 0


def cmd_sources(args: argparse.Namespace) -> int:
    from bot.slack.commands import source_health_line

    config = _load(args.config)
    store = _open_store()
    states = store.all_source_states()
    now = datetime.now(UTC)
    for source in config.sources:
        state = states.get(source.id)
        hour_ago = now - timedelta(hours=1)
        line = source_health_line(
            source.id,
            source.kind,
            state,
            store.count_posts(source=source.id, since=hour_ago),
            store.count_external_trends(source.id, hour_ago),
        )
        if not source.enabled:
            line += " [disabled]"
        elif state and state.next_due and state.next_due > now:
            line += f" [backing off until {state.next_due:%H:%M} UTC]"
        print(line)
    return 0


def cmd_digest(args: argparse.Namespace) -> int:
    """Queue this minute's digest and deliver the outbox: an operator's check of the digest."""
    from bot.delivery import deliver_outbox
    from bot.digest import (
        build_digest,
        digest_channel,
        digest_id,
        digest_plain_text,
        queue_digest,
    )
    from bot.routing import local_time

    config = _load(args.config)
    store = _open_store()
    try:
        now = datetime.now(UTC)
        slot = f"{local_time(config, now):%H:%M}"
        if args.dry_run:
            print(digest_plain_text(build_digest(store, config, now, slot).to_payload()))
            print("dry run: nothing was queued or sent", file=sys.stderr)
            return 0
        channel = digest_channel(config)
        notifier = _notifier(dry_run=False, channel=channel)
        if not queue_digest(store, config, now, slot):
            print(f"the digest for {slot} was queued before; not queued again", file=sys.stderr)
        labels = {s.id: s.label for s in config.sources}
        # Only the digest: the other pending alerts are the running worker's to send.
        only = frozenset({digest_id(config, now, slot)})
        report = deliver_outbox(store, notifier, store.posts_by_uids, labels, now, only=only)
        outcome = "posted" if report.sent else "nothing new to post"
        print(f"digest {slot} for {channel}: {outcome}", file=sys.stderr)
        if report.error:
            print(
                f"delivery: {report.error} — the outbox keeps it for `inhaker run`", file=sys.stderr
            )
            return 1
        return 0
    finally:
        store.close()


# -- parser -------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="inhaker",
        description="Newsjacking alerts: rising topics and open calls from feeds, into Slack.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_config(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--config",
            metavar="F",
            help="feeds.yaml path (default: INHAKER_CONFIG or ./feeds.yaml)",
        )

    run = sub.add_parser("run", help="poll, detect and alert (until stopped, or --once)")
    with_config(run)
    run.add_argument("--once", action="store_true", help="one full cycle, then exit")
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="print alerts instead of sending them; the store is left unchanged",
    )
    run.set_defaults(func=cmd_run)

    serve = sub.add_parser("serve", help="Slack HTTP mode on $PORT")
    with_config(serve)
    serve.add_argument("--port", type=int, default=None, help="default: $PORT or 3000")
    serve.add_argument("--host", default="0.0.0.0", help="default: 0.0.0.0")
    serve.set_defaults(func=cmd_serve)

    check = sub.add_parser("check", help="validate feeds.yaml; every problem with its line")
    with_config(check)
    check.set_defaults(func=cmd_check)

    demo = sub.add_parser("demo", help="replay a bundled Dutch day and show the alerts, offline")
    demo.set_defaults(func=cmd_demo)

    replay = sub.add_parser("replay", help="replay a stream file; write alerts as JSON lines")
    replay.add_argument("stream", metavar="STREAM.jsonl")
    replay.add_argument("--alerts-out", required=True, metavar="ALERTS.jsonl")
    replay.add_argument(
        "--config", metavar="F", help="thresholds and watch terms (default: built-in defaults)"
    )
    replay.set_defaults(func=cmd_replay)

    classify = sub.add_parser("classify", help="opportunity verdict per post, as JSON lines")
    classify.add_argument("stream", metavar="STREAM.jsonl")
    classify.add_argument(
        "--config", help="feeds.yaml whose opportunities: settings to use (default: built-in)"
    )
    classify.set_defaults(func=cmd_classify)

    trends = sub.add_parser("trends", help="what /trends shows, in the terminal")
    with_config(trends)
    trends.set_defaults(func=cmd_trends)

    sources = sub.add_parser("sources", help="health of every source")
    with_config(sources)
    sources.set_defaults(func=cmd_sources)

    digest = sub.add_parser("digest", help="post the digest now (top trends, open calls, held)")
    with_config(digest)
    digest.add_argument(
        "--dry-run", action="store_true", help="print the digest here; nothing is queued or sent"
    )
    digest.set_defaults(func=cmd_digest)

    db = sub.add_parser("db", help="the store's schema: upgrade it to this release, or show it")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_sub.add_parser("upgrade", help="migrate DATABASE_URL's store in place to this release")
    db_sub.add_parser("current", help="the store's schema revision")
    db.set_defaults(func=cmd_db)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging(args.verbose, args.command)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        count = len(exc.problems)
        print(f"{count} problem{'s' if count != 1 else ''} found", file=sys.stderr)
        return 1
    except UsageError as exc:
        print(f"inhaker: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # `inhaker classify x.jsonl | head` closes the pipe early; that is not an error.
        sys.stderr.close()
        return 0
    except Exception as exc:
        # Imported here: bot.opportunity_data loads scikit-learn (a second of every start of
        # `serve`, `sources`, `db`... that never train anything).
        from bot.opportunity_data import DatasetError

        if isinstance(exc, DatasetError):
            print(f"inhaker: {exc}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
