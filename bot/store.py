"""The store: posts, per-source state, the alert outbox, current trends and feedback.

What it does: one SQLAlchemy Core schema that runs on SQLite (the default file `inhaker.db`, in
WAL mode so the Slack app can read while the worker writes) and on PostgreSQL through psycopg 3
(`DATABASE_URL` postgresql://, postgres:// or postgresql+psycopg://), where several processes
share it: one worker and any number of `inhaker serve`. Every write is safe when two processes
make it at once: inserts that may collide are INSERT ... ON CONFLICT (never an IntegrityError
caught inside a transaction, which PostgreSQL would abort), replacements are upserts. Opening a
store brings its schema to this release (bot/migrate.py). It keeps:
- posts, deduplicated by (source, id), with the time first seen and a `backlog` flag for items
  that were already in a feed when it was first polled (stored, never alerted);
- per-source state (conditional GET validators, cursor, backoff, health) so a restart resumes;
- alerts as an outbox: a row is written before anything is sent and marked sent with its Slack
  ts afterwards, so a restart never re-alerts and a Slack outage never loses one;
- the current trends snapshot (what `/trends` shows) and feedback from buttons;
- the trend detector's checkpoint (its tables, so a restart continues where it stopped).

What it does not do: decide anything (policy lives in bot/alerts.py), or elect the worker
(bot/leader.py).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Engine,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection

from bot import migrate
from bot.notify.base import split_ref
from bot.sources.base import SourceState
from detectors.records import ExternalTrend, Post

DEFAULT_DATABASE_URL = "sqlite:///inhaker.db"
# How long a SQLite write waits for another process's write (the worker's checkpoint of a large
# detector can take seconds on a busy machine) before "database is locked".
SQLITE_BUSY_SECONDS = 60.0

# The plain PostgreSQL forms people write (Heroku and most hosts give postgres://), all run on
# psycopg 3; SQLAlchemy's own default driver for postgresql:// would be psycopg2.
_POSTGRES_PREFIXES = ("postgresql://", "postgres://")


def normalize_url(url: str) -> str:
    """DATABASE_URL as SQLAlchemy should open it: plain PostgreSQL URLs use psycopg 3."""
    for prefix in _POSTGRES_PREFIXES:
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def make_engine(url: str) -> Engine:
    """The engine for a DATABASE_URL, with the settings each backend needs."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        # The scheduler's threads and the Slack app share this engine. The timeout is how long
        # a write waits for another process's (the web process's) write to end.
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_SECONDS}
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    # pre_ping: a connection the server or a proxy closed while idle is replaced, not used.
    return create_engine(url, pool_pre_ping=True)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as naive UTC and gives them back aware (SQLite keeps no zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime reached the store: {value!r}")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


# Column types: Text for every value that comes from outside (feeds, people typing in Slack, ids
# built from them); String(n) only where we or Slack make the value and its length is bounded,
# since PostgreSQL refuses a longer one where SQLite would store it. Any change to these tables is
# a schema change: add a migration (see bot/migrate.py); tests/test_migrations.py fails without.
metadata = MetaData()

posts = Table(
    "posts",
    metadata,
    Column("source", String(64), primary_key=True),
    Column("id", Text, primary_key=True),
    Column("text", Text, nullable=False),
    Column("title", Text),
    Column("url", Text),
    Column("author", Text),
    Column("lang", Text),
    Column("tags", Text, nullable=False, default="[]"),
    Column("reach", Float),
    Column("created_at", UTCDateTime, nullable=False, index=True),
    Column("seen_at", UTCDateTime, nullable=False, index=True),
    Column("backlog", Boolean, nullable=False, default=False),
    Column("opportunity_checked", Boolean, nullable=False, default=False),
)

source_state = Table(
    "source_state",
    metadata,
    Column("source_id", String(64), primary_key=True),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("cursor", Text),
    Column("next_due", UTCDateTime),
    Column("retry_after_until", UTCDateTime),
    Column("last_polled_at", UTCDateTime),
    Column("last_success_at", UTCDateTime),
    Column("last_error", Text),
    Column("last_error_at", UTCDateTime),
    Column("failures_in_a_row", Integer, nullable=False, default=0),
    Column("polls", Integer, nullable=False, default=0),
    Column("items_last_poll", Integer, nullable=False, default=0),
    Column("note", Text),
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", Text, primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("key", Text, nullable=False, index=True),
    Column("title", Text, nullable=False),
    Column("terms", Text, nullable=False, default="[]"),
    Column("payload", Text, nullable=False),
    Column("channel", String(128), nullable=False),
    # pending: in the outbox; sent: delivered (slack_channel/slack_ts: where the message is);
    # failed: Slack rejected this message for good (last_error says why)
    Column("status", String(16), nullable=False, default="pending", index=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_fired_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Column("slack_channel", String(128)),
    Column("slack_ts", String(64)),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("needs_update", Boolean, nullable=False, default=False),
    Column("last_count", Integer, nullable=False, default=0),
    Column("score", Float, nullable=False, default=0.0),
)

current_trends = Table(
    "current_trends",
    metadata,
    Column("key", Text, primary_key=True),
    Column("rank", Integer, nullable=False),
    Column("payload", Text, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

external_trends = Table(
    "external_trends",
    metadata,
    Column("source", String(64), primary_key=True),
    Column("term", Text, primary_key=True),
    Column("title", Text, nullable=False),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("observed_at", UTCDateTime, nullable=False),
    # When Inhaker last saw it on the list: "trending now" is measured from this, since a
    # list's own date is when the trend started, however long it stays on the list.
    Column("last_seen_at", UTCDateTime, nullable=False, index=True),
    Column("traffic", Float),
    Column("url", Text),
    Column("news", Text, nullable=False, default="[]"),
)

feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("alert_id", Text, nullable=False, index=True),
    Column("user_id", String(64), nullable=False),
    Column("action", String(32), nullable=False),
    Column("at", UTCDateTime, nullable=False),
)


# Watch terms added from Slack (`/inhaker watch add`), on top of feeds.yaml's `watch.terms`.
slack_watch_terms = Table(
    "slack_watch_terms",
    metadata,
    Column("term", Text, primary_key=True),
    Column("added_by", String(64), nullable=False),
    Column("added_at", UTCDateTime, nullable=False),
)

# Muted terms (`/inhaker mute`, the "Mute topic" button): no alert mentions them until `until`.
mutes = Table(
    "mutes",
    metadata,
    Column("term", Text, primary_key=True),
    Column("until", UTCDateTime, nullable=False, index=True),
    Column("muted_by", String(64), nullable=False),
    Column("muted_at", UTCDateTime, nullable=False),
    Column("alert_id", Text),  # the alert whose button muted it, if any
)

# Slack requests already acted on (a command's trigger, a click's action_ts, an event id):
# a retried or redelivered request finds its key here and is acknowledged without acting.
handled_requests = Table(
    "handled_requests",
    metadata,
    Column("key", Text, primary_key=True),
    Column("at", UTCDateTime, nullable=False, index=True),
)

# Thread replies under a sent alert, an outbox of their own: a trend reaching a new stage, a
# snooze reminder (due later), a claim. Sent once each (the id is unique), after their alert.
replies = Table(
    "replies",
    metadata,
    Column("id", Text, primary_key=True),
    Column("alert_id", Text, nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # stage | reminder | note
    Column("text", Text, nullable=False),
    Column("user_id", String(64)),
    Column("due_at", UTCDateTime, nullable=False, index=True),
    # pending | sent | cancelled | failed
    Column("status", String(16), nullable=False, default="pending", index=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Column("slack_ts", String(64)),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
)

# Posts to Slack that were started and whose outcome is not known yet (the process died, or the
# answer never came): before posting such an alert or reply again, delivery looks for the first
# copy in the channel (bot/delivery.py). `key` is "alert:<id>" or "reply:<id>"; `started_at` is
# wall-clock time (Slack's ts are), the earliest attempt whose outcome is still unknown.
send_attempts = Table(
    "send_attempts",
    metadata,
    Column("key", Text, primary_key=True),
    Column("started_at", UTCDateTime, nullable=False),
)


detector_state = Table(
    "detector_state",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("detector", String(32), nullable=False),
    Column("saved_at", UTCDateTime, nullable=False),
    Column("arrays", LargeBinary, nullable=False),  # numpy .npz, compressed
    Column("plain", Text, nullable=False),  # JSON
)


@dataclass(frozen=True, slots=True)
class DetectorCheckpoint:
    detector: str
    saved_at: datetime
    arrays: bytes
    plain: str


@dataclass(frozen=True, slots=True)
class StoredPost:
    post: Post
    seen_at: datetime
    backlog: bool


@dataclass(frozen=True, slots=True)
class AlertRow:
    id: str
    kind: str
    key: str
    title: str
    terms: tuple[str, ...]
    payload: dict[str, Any]
    channel: str
    status: str
    created_at: datetime
    last_fired_at: datetime
    sent_at: datetime | None
    slack_channel: str | None
    slack_ts: str | None
    attempts: int
    last_error: str | None
    needs_update: bool
    last_count: int
    score: float


@dataclass(frozen=True, slots=True)
class WatchTermRow:
    term: str
    added_by: str
    added_at: datetime


@dataclass(frozen=True, slots=True)
class MuteRow:
    term: str
    until: datetime
    muted_by: str
    muted_at: datetime
    alert_id: str | None


@dataclass(frozen=True, slots=True)
class ReplyRow:
    id: str
    alert_id: str
    kind: str
    text: str
    user_id: str | None
    due_at: datetime
    status: str
    created_at: datetime
    sent_at: datetime | None
    slack_ts: str | None
    attempts: int
    last_error: str | None


@dataclass(frozen=True, slots=True)
class FeedbackRow:
    alert_id: str
    user_id: str
    action: str
    at: datetime


@dataclass(slots=True)
class ActiveTopic:
    id: str
    terms: tuple[str, ...]
    last_count: int
    last_fired_at: datetime
    key: str = ""


# pg_advisory_xact_lock key for replace_current_trends (see bot/migrate.py for the other).
_TRENDS_LOCK = 0x1A4B_0101


def _sent(alert_id: str, ref: str | None, now: datetime) -> Any:
    """The UPDATE that marks an alert sent to the message `ref` (the notifier's) points at."""
    channel, ts = split_ref(ref) if ref else (None, None)
    return (
        update(alerts)
        .where(alerts.c.id == alert_id)
        .values(
            status="sent",
            slack_channel=channel,
            slack_ts=ts,
            sent_at=now,
            needs_update=False,
            last_error=None,
        )
    )


def _sqlite_begin(conn: Connection) -> None:
    """BEGIN ourselves (pysqlite's own is off, see _sqlite_pragmas): IMMEDIATE for the store's
    write transactions, so the write lock is held from the start; plain BEGIN for reads."""
    immediate = conn.get_execution_options().get("sqlite_immediate")
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite starts transactions lazily, at the first write, and never for reads; we start
    # them in _sqlite_begin instead, at BEGIN, with the lock mode each one needs.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets the Slack app read while the worker writes; busy_timeout waits for a lock
    # instead of failing at once when both write.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _dialect_module(conn: Connection) -> Any:
    """The dialect's insert() with ON CONFLICT (both PostgreSQL and SQLite >= 3.24 have it)."""
    return pg_dialect if conn.dialect.name == "postgresql" else sqlite_dialect


def _row_to_post(row: Any) -> Post:
    return Post(
        source=row.source,
        id=row.id,
        text=row.text,
        created_at=row.created_at,
        author=row.author,
        url=row.url,
        title=row.title,
        lang=row.lang,
        tags=tuple(json.loads(row.tags or "[]")),
        reach=row.reach,
    )


def _row_to_alert(row: Any) -> AlertRow:
    return AlertRow(
        id=row.id,
        kind=row.kind,
        key=row.key,
        title=row.title,
        terms=tuple(json.loads(row.terms or "[]")),
        payload=json.loads(row.payload),
        channel=row.channel,
        status=row.status,
        created_at=row.created_at,
        last_fired_at=row.last_fired_at,
        sent_at=row.sent_at,
        slack_channel=row.slack_channel,
        slack_ts=row.slack_ts,
        attempts=row.attempts,
        last_error=row.last_error,
        needs_update=bool(row.needs_update),
        last_count=row.last_count,
        score=row.score,
    )


class Store:
    """All reads and writes of Inhaker's state. Thread-safe: each call uses its own connection."""

    def __init__(self, url: str = DEFAULT_DATABASE_URL, *, engine: Engine | None = None) -> None:
        self.url = url
        self.engine = engine if engine is not None else make_engine(url)
        # SQLite: this process's writers take turns (see `_begin`); PostgreSQL locks rows.
        self._write_lock = threading.RLock() if self.engine.dialect.name == "sqlite" else None
        try:
            # Empty: created at head. Older: migrated in place. Newer: migrate.StoreTooNew.
            migrate.upgrade(self.engine)
        except BaseException:
            self.engine.dispose()
            raise

    @property
    def where(self) -> str:
        """The store for people: host/database or the SQLite path, never the password."""
        return migrate.where(self.engine.url)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _begin(self) -> Iterator[Connection]:
        """A write transaction. On SQLite: one writer of this process at a time, and the write
        lock taken at BEGIN (IMMEDIATE), so a transaction that reads before it writes never fails
        with "database is locked" when another thread committed in between (SQLite cannot
        upgrade a stale read snapshot to a write), and 16 poll threads queue here instead of
        spinning in SQLite's busy handler, where one could starve past the timeout."""
        if self._write_lock is None:
            with self.engine.begin() as conn:
                yield conn
            return
        with self._write_lock, self.engine.connect() as conn:
            conn = conn.execution_options(sqlite_immediate=True)
            with conn.begin():
                yield conn

    def _insert_new(self, conn: Connection, table: Table, values: dict[str, Any]) -> bool:
        """INSERT unless the primary key exists; True when this call inserted the row.

        ON CONFLICT DO NOTHING instead of catching IntegrityError: PostgreSQL aborts the whole
        transaction on an error, and two processes inserting the same key at once must see
        exactly one winner (the loser waits for the winner's commit, then does nothing).
        """
        dialect = _dialect_module(conn)
        statement = dialect.insert(table).values(**values).on_conflict_do_nothing()
        # psycopg reports no rowcount for an INSERT unless SQLAlchemy is asked to keep it.
        result = conn.execute(statement, execution_options={"preserve_rowcount": True})
        return result.rowcount == 1

    def _upsert(
        self, conn: Connection, table: Table, key: dict[str, Any], values: dict[str, Any]
    ) -> None:
        """INSERT the row, or UPDATE `values` on the row with this primary key (one statement,
        so two processes writing the same key never collide)."""
        dialect = _dialect_module(conn)
        statement = dialect.insert(table).values(**key, **values)
        conn.execute(statement.on_conflict_do_update(index_elements=list(key), set_=values))

    # -- posts ----------------------------------------------------------------------------

    def add_posts(self, items: Iterable[Post], *, seen_at: datetime, backlog: bool) -> list[Post]:
        """Insert posts not stored yet; return the ones that were new (in the given order).

        A post stored before keeps its text and times; its reach and tags are refreshed, so a
        story's current score and velocity labels are what `inhaker` shows.
        """
        new: list[Post] = []
        with self._begin() as conn:
            existing = self._existing_ids(conn, items)
            for post in items:
                uid = (post.source, post.id)
                if uid in existing:
                    if post.reach is not None:
                        # Seen before: only its engagement moves (score, velocity labels).
                        conn.execute(
                            update(posts)
                            .where(posts.c.source == post.source, posts.c.id == post.id)
                            .values(reach=post.reach, tags=json.dumps(list(post.tags)))
                        )
                    continue
                existing.add(uid)
                # A post another process stored since the lookup is not new here either.
                inserted = self._insert_new(
                    conn,
                    posts,
                    dict(
                        source=post.source,
                        id=post.id,
                        text=post.text,
                        title=post.title,
                        url=post.url,
                        author=post.author,
                        lang=post.lang,
                        tags=json.dumps(list(post.tags)),
                        reach=post.reach,
                        created_at=post.created_at,
                        seen_at=seen_at,
                        backlog=backlog,
                        # Backlog items are never alerted, so there is nothing to check.
                        opportunity_checked=backlog,
                    ),
                )
                if inserted:
                    new.append(post)
        return new

    def _existing_ids(self, conn: Connection, items: Iterable[Post]) -> set[tuple[str, str]]:
        by_source: dict[str, list[str]] = {}
        for post in items:
            by_source.setdefault(post.source, []).append(post.id)
        found: set[tuple[str, str]] = set()
        for source, ids in by_source.items():
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                rows = conn.execute(
                    select(posts.c.id).where(posts.c.source == source, posts.c.id.in_(chunk))
                )
                found.update((source, row.id) for row in rows)
        return found

    def posts_since(
        self,
        since: datetime,
        *,
        include_backlog: bool = False,
        backlog_before: datetime | None = None,
    ) -> list[Post]:
        """Posts created at or after `since`, oldest first (warms the detector after a restart).

        With `backlog_before`, backlog posts created before that moment are included too (they
        are history for the baseline, never current).
        """
        query = select(posts).where(posts.c.created_at >= since)
        if backlog_before is not None:
            query = query.where(posts.c.backlog.is_(False) | (posts.c.created_at < backlog_before))
        elif not include_backlog:
            query = query.where(posts.c.backlog.is_(False))
        query = query.order_by(posts.c.created_at, posts.c.source, posts.c.id)
        with self.engine.connect() as conn:
            return [_row_to_post(row) for row in conn.execute(query)]

    def latest_posts(self, limit: int, *, sources: Iterable[str] | None = None) -> list[Post]:
        """The newest posts, backlog included, newest first; only of `sources` when given (the
        team's own blog or account, read as its profile)."""
        query = select(posts)
        if sources is not None:
            query = query.where(posts.c.source.in_(list(sources)))
        query = query.order_by(posts.c.created_at.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [_row_to_post(row) for row in conn.execute(query)]

    def posts_to_check(self, limit: int = 5000) -> list[Post]:
        """New, non-backlog posts the opportunity scorer has not looked at yet."""
        query = (
            select(posts)
            .where(posts.c.opportunity_checked.is_(False))
            .order_by(posts.c.created_at)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [_row_to_post(row) for row in conn.execute(query)]

    def mark_checked(self, items: Iterable[Post]) -> None:
        keys = [{"k_source": post.source, "k_id": post.id} for post in items]
        if not keys:
            return
        # One statement, many parameter sets (executemany; psycopg pipelines them): a tick
        # marks up to 5,000 posts, and a round trip each was most of its time on PostgreSQL.
        statement = (
            update(posts)
            .where(posts.c.source == bindparam("k_source"), posts.c.id == bindparam("k_id"))
            .values(opportunity_checked=True)
        )
        with self._begin() as conn:
            conn.execute(statement, keys)

    def posts_by_ids(self, ids: Iterable[str]) -> list[Post]:
        """Posts whose id is in `ids` (evidence lookups), in the order of `ids`."""
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return []
        found: dict[str, Post] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                for row in conn.execute(select(posts).where(posts.c.id.in_(chunk))):
                    found.setdefault(row.id, _row_to_post(row))
        return [found[i] for i in wanted if i in found]

    def posts_by_uids(self, uids: Iterable[str]) -> list[Post]:
        """Posts named "source:id" (run-mode evidence), in the order given; unknown ones skipped.

        Source ids never contain ":", so the first ":" separates source from the feed's own id.
        """
        wanted = [tuple(uid.split(":", 1)) for uid in dict.fromkeys(uids) if ":" in uid]
        by_source: dict[str, list[str]] = {}
        for source, post_id in wanted:
            by_source.setdefault(source, []).append(post_id)
        found: dict[tuple[str, str], Post] = {}
        with self.engine.connect() as conn:
            for source, ids in by_source.items():
                for start in range(0, len(ids), 500):
                    chunk = ids[start : start + 500]
                    query = select(posts).where(posts.c.source == source, posts.c.id.in_(chunk))
                    for row in conn.execute(query):
                        found[(row.source, row.id)] = _row_to_post(row)
        return [found[key] for key in wanted if key in found]  # type: ignore[index]

    def count_posts(self, *, source: str | None = None, since: datetime | None = None) -> int:
        query = select(func.count()).select_from(posts)
        if source is not None:
            query = query.where(posts.c.source == source)
        if since is not None:
            query = query.where(posts.c.seen_at >= since)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def prune_posts(self, older_than: datetime) -> int:
        """Drop posts created before `older_than` (the retention window)."""
        with self._begin() as conn:
            result = conn.execute(delete(posts).where(posts.c.created_at < older_than))
            return int(result.rowcount or 0)

    # -- source state ---------------------------------------------------------------------

    def source_state(self, source_id: str) -> SourceState:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(source_state).where(source_state.c.source_id == source_id)
            ).first()
        if row is None:
            return SourceState(source_id=source_id)
        return SourceState(**row._asdict())

    def all_source_states(self) -> dict[str, SourceState]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(source_state)).all()
        return {row.source_id: SourceState(**row._asdict()) for row in rows}

    def save_source_state(self, state: SourceState) -> None:
        values = {
            "etag": state.etag,
            "last_modified": state.last_modified,
            "cursor": state.cursor,
            "next_due": state.next_due,
            "retry_after_until": state.retry_after_until,
            "last_polled_at": state.last_polled_at,
            "last_success_at": state.last_success_at,
            "last_error": state.last_error,
            "last_error_at": state.last_error_at,
            "failures_in_a_row": state.failures_in_a_row,
            "polls": state.polls,
            "items_last_poll": state.items_last_poll,
            "note": state.note,
        }
        with self._begin() as conn:
            self._upsert(conn, source_state, {"source_id": state.source_id}, values)

    # -- alerts (the outbox) --------------------------------------------------------------

    def add_alert(
        self,
        *,
        alert_id: str,
        kind: str,
        key: str,
        title: str,
        terms: Iterable[str],
        payload: dict[str, Any],
        channel: str,
        now: datetime,
        count: int = 0,
        score: float = 0.0,
        status: str = "pending",
    ) -> bool:
        """Put a new alert in the outbox. False when that id exists already (never twice).

        `status` "held" keeps it out of the outbox for the next digest (quiet hours).
        """
        with self._begin() as conn:
            return self._insert_new(
                conn,
                alerts,
                dict(
                    id=alert_id,
                    kind=kind,
                    key=key,
                    title=title,
                    terms=json.dumps(list(terms)),
                    payload=json.dumps(payload, ensure_ascii=False),
                    channel=channel,
                    status=status,
                    created_at=now,
                    last_fired_at=now,
                    attempts=0,
                    needs_update=False,
                    last_count=count,
                    score=score,
                ),
            )

    def refresh_alert(
        self,
        alert_id: str,
        *,
        now: datetime,
        payload: dict[str, Any] | None = None,
        count: int | None = None,
        score: float | None = None,
        terms: Iterable[str] | None = None,
    ) -> None:
        """Record that an alerted topic is still firing; with a payload, queue a message edit."""
        values: dict[str, Any] = {"last_fired_at": now}
        if payload is not None:
            values["payload"] = json.dumps(payload, ensure_ascii=False)
            values["needs_update"] = True
        if count is not None:
            values["last_count"] = count
        if score is not None:
            values["score"] = score
        if terms is not None:
            values["terms"] = json.dumps(list(terms))
        with self._begin() as conn:
            conn.execute(update(alerts).where(alerts.c.id == alert_id).values(**values))

    def alert(self, alert_id: str) -> AlertRow | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(alerts).where(alerts.c.id == alert_id)).first()
        return None if row is None else _row_to_alert(row)

    def alerts_fired_since(self, since: datetime, kind: str | None = None) -> list[AlertRow]:
        """Alerts whose topic was still firing at or after `since` (the cooldown horizon)."""
        query = select(alerts).where(alerts.c.last_fired_at >= since)
        if kind is not None:
            query = query.where(alerts.c.kind == kind)
        with self.engine.connect() as conn:
            return [_row_to_alert(r) for r in conn.execute(query.order_by(alerts.c.created_at))]

    def active_topics(self, since: datetime, kind: str) -> list[ActiveTopic]:
        """Alerts still firing at or after `since`, without their payloads (cheap, every tick)."""
        query = (
            select(
                alerts.c.id,
                alerts.c.terms,
                alerts.c.last_count,
                alerts.c.last_fired_at,
                alerts.c.key,
            )
            .where(alerts.c.last_fired_at >= since, alerts.c.kind == kind)
            .order_by(alerts.c.created_at)
        )
        with self.engine.connect() as conn:
            return [
                ActiveTopic(
                    row.id,
                    tuple(json.loads(row.terms or "[]")),
                    row.last_count,
                    row.last_fired_at,
                    row.key,
                )
                for row in conn.execute(query)
            ]

    def all_alerts(self) -> list[AlertRow]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(alerts).order_by(alerts.c.created_at, alerts.c.id))
            return [_row_to_alert(r) for r in rows]

    def outbox(self) -> list[AlertRow]:
        """Alerts waiting to be sent, and sent ones whose message needs an edit, oldest first."""
        query = (
            select(alerts)
            .where(
                (alerts.c.status == "pending")
                | ((alerts.c.status == "sent") & alerts.c.needs_update.is_(True))
            )
            .order_by(alerts.c.created_at, alerts.c.id)
        )
        with self.engine.connect() as conn:
            return [_row_to_alert(r) for r in conn.execute(query)]

    def mark_sent(self, alert_id: str, *, ref: str | None, now: datetime) -> None:
        """The alert was delivered; `ref` (from the notifier) says where the message is."""
        with self._begin() as conn:
            conn.execute(_sent(alert_id, ref, now))

    # -- posts whose outcome is unknown (the duplicate window; bot/delivery.py) ------------

    def send_started_at(self, key: str) -> datetime | None:
        """When a post of `key` was started without its outcome being recorded, else None."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(send_attempts.c.started_at).where(send_attempts.c.key == key)
            ).first()
        return None if row is None else row.started_at

    def begin_send(self, key: str, started_at: datetime) -> None:
        """Record, before posting, that a post of `key` starts now (committed at once).

        Replaces an earlier start: call it after checking that earlier attempts left nothing.
        """
        with self._begin() as conn:
            self._upsert(conn, send_attempts, {"key": key}, {"started_at": started_at})

    def end_send(self, key: str) -> None:
        """The post of `key` certainly did not reach Slack (Slack answered with an error)."""
        with self._begin() as conn:
            conn.execute(delete(send_attempts).where(send_attempts.c.key == key))

    def record_sent(self, alert_id: str, *, ref: str | None, now: datetime, key: str) -> None:
        """`mark_sent` and `end_send(key)` in one transaction: never sent-and-unknown."""
        with self._begin() as conn:
            conn.execute(_sent(alert_id, ref, now))
            conn.execute(delete(send_attempts).where(send_attempts.c.key == key))

    def record_reply_sent(self, reply_id: str, *, ts: str | None, now: datetime, key: str) -> None:
        """`mark_reply(reply_id, "sent")` and `end_send(key)` in one transaction."""
        with self._begin() as conn:
            conn.execute(
                update(replies)
                .where(replies.c.id == reply_id)
                .values(status="sent", sent_at=now, slack_ts=ts, last_error=None)
            )
            conn.execute(delete(send_attempts).where(send_attempts.c.key == key))

    def mark_updated(self, alert_id: str) -> None:
        with self._begin() as conn:
            conn.execute(
                update(alerts)
                .where(alerts.c.id == alert_id)
                .values(needs_update=False, last_error=None)
            )

    def mark_undeliverable(self, alert_id: str, error: str, *, was_update: bool) -> None:
        """Slack rejected this message for good: keep the row and its error, stop retrying."""
        values: dict[str, Any] = {
            "attempts": alerts.c.attempts + 1,
            "last_error": error,
            "needs_update": False,
        }
        if not was_update:
            values["status"] = "failed"
        with self._begin() as conn:
            conn.execute(update(alerts).where(alerts.c.id == alert_id).values(**values))

    def mark_failed_attempt(self, alert_id: str, error: str) -> None:
        with self._begin() as conn:
            conn.execute(
                update(alerts)
                .where(alerts.c.id == alert_id)
                .values(attempts=alerts.c.attempts + 1, last_error=error)
            )

    def alerts_with_status(self, status: str, *, kind: str | None = None) -> list[AlertRow]:
        """Alerts in one state ("held" for the digest, "sent", ...), oldest first."""
        query = select(alerts).where(alerts.c.status == status)
        if kind is not None:
            query = query.where(alerts.c.kind == kind)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(alerts.c.created_at, alerts.c.id))
            return [_row_to_alert(r) for r in rows]

    def set_alert_status(self, alert_ids: Iterable[str], status: str, *, only_from: str) -> int:
        """Move alerts from `only_from` to `status` (e.g. held -> digested); returns how many."""
        ids = list(alert_ids)
        if not ids:
            return 0
        with self._begin() as conn:
            result = conn.execute(
                update(alerts)
                .where(alerts.c.id.in_(ids), alerts.c.status == only_from)
                .values(status=status)
            )
            return int(result.rowcount or 0)

    def alerts_created_between(
        self, start: datetime, end: datetime, *, kind: str | None = None
    ) -> list[AlertRow]:
        query = select(alerts).where(alerts.c.created_at >= start, alerts.c.created_at < end)
        if kind is not None:
            query = query.where(alerts.c.kind == kind)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(alerts.c.created_at, alerts.c.id))
            return [_row_to_alert(r) for r in rows]

    # -- thread replies (their own outbox) ------------------------------------------------

    def add_reply(
        self,
        reply_id: str,
        *,
        alert_id: str,
        kind: str,
        text: str,
        due_at: datetime,
        now: datetime,
        user_id: str | None = None,
    ) -> bool:
        """Queue a thread reply under an alert. False when that id exists (never twice)."""
        with self._begin() as conn:
            return self._insert_new(
                conn,
                replies,
                dict(
                    id=reply_id,
                    alert_id=alert_id,
                    kind=kind,
                    text=text,
                    user_id=user_id,
                    due_at=due_at,
                    status="pending",
                    created_at=now,
                    attempts=0,
                ),
            )

    def due_replies(self, now: datetime) -> list[ReplyRow]:
        """Pending replies due at `now`, oldest due first."""
        query = (
            select(replies)
            .where(replies.c.status == "pending", replies.c.due_at <= now)
            .order_by(replies.c.due_at, replies.c.id)
        )
        with self.engine.connect() as conn:
            return [ReplyRow(**r._asdict()) for r in conn.execute(query)]

    def replies_for(self, alert_id: str) -> list[ReplyRow]:
        query = select(replies).where(replies.c.alert_id == alert_id).order_by(replies.c.due_at)
        with self.engine.connect() as conn:
            return [ReplyRow(**r._asdict()) for r in conn.execute(query)]

    def mark_reply(
        self,
        reply_id: str,
        status: str,
        *,
        now: datetime | None = None,
        ts: str | None = None,
        error: str | None = None,
    ) -> None:
        """sent (with its ts), failed (for good, with the error) or cancelled."""
        values: dict[str, Any] = {"status": status, "last_error": error}
        if status == "sent":
            values.update(sent_at=now, slack_ts=ts)
        if error is not None:
            values["attempts"] = replies.c.attempts + 1
        with self._begin() as conn:
            conn.execute(update(replies).where(replies.c.id == reply_id).values(**values))

    def reply_attempt_failed(self, reply_id: str, error: str) -> None:
        with self._begin() as conn:
            conn.execute(
                update(replies)
                .where(replies.c.id == reply_id)
                .values(attempts=replies.c.attempts + 1, last_error=error)
            )

    def cancel_replies(self, alert_id: str, kind: str) -> int:
        with self._begin() as conn:
            result = conn.execute(
                update(replies)
                .where(
                    replies.c.alert_id == alert_id,
                    replies.c.kind == kind,
                    replies.c.status == "pending",
                )
                .values(status="cancelled")
            )
            return int(result.rowcount or 0)

    # -- watch terms and mutes from Slack -------------------------------------------------

    def add_watch_term(self, term: str, user_id: str, now: datetime) -> bool:
        """False when the term is already watched from Slack."""
        with self._begin() as conn:
            return self._insert_new(
                conn, slack_watch_terms, dict(term=term, added_by=user_id, added_at=now)
            )

    def remove_watch_term(self, term: str) -> bool:
        with self._begin() as conn:
            result = conn.execute(delete(slack_watch_terms).where(slack_watch_terms.c.term == term))
            return bool(result.rowcount)

    def watch_terms(self) -> list[WatchTermRow]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(slack_watch_terms).order_by(slack_watch_terms.c.added_at))
            return [WatchTermRow(r.term, r.added_by, r.added_at) for r in rows]

    def mute(
        self,
        term: str,
        *,
        until: datetime,
        user_id: str,
        now: datetime,
        alert_id: str | None = None,
    ) -> None:
        """Mute `term` until `until` (a later mute of the same term replaces the earlier)."""
        with self._begin() as conn:
            values = dict(until=until, muted_by=user_id, muted_at=now, alert_id=alert_id)
            self._upsert(conn, mutes, {"term": term}, values)

    def unmute(self, term: str) -> bool:
        with self._begin() as conn:
            return bool(conn.execute(delete(mutes).where(mutes.c.term == term)).rowcount)

    def active_mutes(self, now: datetime) -> list[MuteRow]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(mutes).where(mutes.c.until > now).order_by(mutes.c.term))
            return [MuteRow(r.term, r.until, r.muted_by, r.muted_at, r.alert_id) for r in rows]

    # -- Slack retries --------------------------------------------------------------------

    def first_time(self, key: str, now: datetime) -> bool:
        """Record a Slack request key; False when it was recorded before (a retry).

        Exactly one of several processes receiving the same request at once gets True.
        """
        with self._begin() as conn:
            return self._insert_new(conn, handled_requests, dict(key=key, at=now))

    def forget_requests(self, older_than: datetime) -> int:
        with self._begin() as conn:
            result = conn.execute(
                delete(handled_requests).where(handled_requests.c.at < older_than)
            )
            return int(result.rowcount or 0)

    # -- detector checkpoint --------------------------------------------------------------

    def save_checkpoint(
        self, name: str, detector: str, arrays: bytes, plain: str, now: datetime
    ) -> None:
        """Replace the checkpoint called `name` in one transaction (never half written)."""
        with self._begin() as conn:
            values = dict(detector=detector, saved_at=now, arrays=arrays, plain=plain)
            self._upsert(conn, detector_state, {"name": name}, values)

    def load_checkpoint(self, name: str) -> DetectorCheckpoint | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(detector_state).where(detector_state.c.name == name)).first()
        if row is None:
            return None
        return DetectorCheckpoint(row.detector, row.saved_at, bytes(row.arrays), row.plain)

    def posts_seen_since(self, since: datetime) -> list[Post]:
        """Non-backlog posts first stored at or after `since`, oldest (by creation) first."""
        query = (
            select(posts)
            .where(posts.c.seen_at >= since, posts.c.backlog.is_(False))
            .order_by(posts.c.created_at, posts.c.source, posts.c.id)
        )
        with self.engine.connect() as conn:
            return [_row_to_post(row) for row in conn.execute(query)]

    # -- current trends -------------------------------------------------------------------

    def replace_current_trends(self, items: list[dict[str, Any]], now: datetime) -> None:
        with self._begin() as conn:
            if conn.dialect.name == "postgresql":
                # Two writers (a leader handing over) would each delete and insert: take turns.
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_TRENDS_LOCK})")
            conn.execute(delete(current_trends))
            for rank, payload in enumerate(items):
                conn.execute(
                    insert(current_trends).values(
                        key=payload["key"],
                        rank=rank,
                        payload=json.dumps(payload, ensure_ascii=False),
                        updated_at=now,
                    )
                )

    def current_trends(self) -> tuple[list[dict[str, Any]], datetime | None]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(current_trends).order_by(current_trends.c.rank)).all()
        updated = rows[0].updated_at if rows else None
        return [json.loads(r.payload) for r in rows], updated

    # -- external trend lists -------------------------------------------------------------

    def add_external_trends(
        self, signals: Iterable[ExternalTrend], *, seen_at: datetime | None = None
    ) -> None:
        """Remember what a platform lists as trending; a term seen again is refreshed."""
        with self._begin() as conn:
            for signal in signals:
                values = {
                    "title": signal.title,
                    "observed_at": signal.observed_at,
                    "last_seen_at": seen_at or signal.observed_at,
                    "traffic": signal.traffic,
                    "url": signal.url,
                    "news": json.dumps([list(n) for n in signal.news], ensure_ascii=False),
                }
                # first_seen_at is written once, by the insert; a refresh keeps it.
                statement = (
                    _dialect_module(conn)
                    .insert(external_trends)
                    .values(
                        source=signal.source,
                        term=signal.term,
                        first_seen_at=signal.observed_at,
                        **values,
                    )
                )
                conn.execute(
                    statement.on_conflict_do_update(index_elements=["source", "term"], set_=values)
                )

    def count_external_trends(self, source: str, since: datetime) -> int:
        """Entries of a source's trend list seen on it at or after `since`."""
        query = (
            select(func.count())
            .select_from(external_trends)
            .where(external_trends.c.source == source, external_trends.c.last_seen_at >= since)
        )
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def external_trends_since(self, since: datetime) -> list[ExternalTrend]:
        """Trend-list entries still on their list at or after `since`, most recent first."""
        query = (
            select(external_trends)
            .where(external_trends.c.last_seen_at >= since)
            .order_by(external_trends.c.last_seen_at.desc())
        )
        with self.engine.connect() as conn:
            return [
                ExternalTrend(
                    source=row.source,
                    term=row.term,
                    title=row.title,
                    observed_at=row.observed_at,
                    traffic=row.traffic,
                    url=row.url,
                    news=tuple((n[0], n[1]) for n in json.loads(row.news or "[]")),
                )
                for row in conn.execute(query)
            ]

    # -- feedback -------------------------------------------------------------------------

    def add_feedback(self, alert_id: str, user_id: str, action: str, now: datetime) -> None:
        with self._begin() as conn:
            conn.execute(
                insert(feedback).values(alert_id=alert_id, user_id=user_id, action=action, at=now)
            )

    def feedback_since(self, since: datetime, until: datetime | None = None) -> list[FeedbackRow]:
        """Every click from `since` (to `until`), oldest first."""
        query = select(feedback).where(feedback.c.at >= since)
        if until is not None:
            query = query.where(feedback.c.at < until)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(feedback.c.id))
            return [FeedbackRow(r.alert_id, r.user_id, r.action, r.at) for r in rows]

    def feedback_for(self, alert_id: str) -> list[tuple[str, str, datetime]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(feedback).where(feedback.c.alert_id == alert_id).order_by(feedback.c.id)
            )
            return [(r.user_id, r.action, r.at) for r in rows]

    def iter_table(self, name: str) -> Iterator[dict[str, Any]]:
        """Every row of a table as a dict (diagnostics and tests)."""
        table = metadata.tables[name]
        with self.engine.connect() as conn:
            for row in conn.execute(select(table)):
                yield row._asdict()
