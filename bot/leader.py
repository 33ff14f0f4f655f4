"""Leadership: of all `inhaker run` processes on one database, exactly one polls and alerts.

What it does: `leadership_for(DATABASE_URL)` picks how the worker processes sharing a store agree
on one leader, using a lock that the operating system or the database frees by itself when the
holder dies (even by SIGKILL), so a standby can take over without waiting out a lease:
- PostgreSQL: a session-level advisory lock (`pg_try_advisory_lock`) on a key derived from the
  name "inhaker worker", held on one dedicated connection (not one of the store's pooled ones).
  The connection sends TCP keepalives every few seconds, so a leader cut off from the database
  notices within about half a minute, and the server frees the lock as soon as the connection
  closes. Its `application_name` is "inhaker run <host>:<pid>", so a standby can name the
  leader (pg_locks joined with pg_stat_activity).
- SQLite: an exclusive, non-blocking `flock` on a file next to the database
  (`<db file>.leader`) that holds "<host>:<pid>" of its holder; the kernel frees it when the
  process dies. An in-memory SQLite store has one process by definition: always the leader.
- Any other database: always the leader, with a warning to run one worker only.

`held()` says whether this process still leads: a PostgreSQL leader whose lock connection broke
(the server restarted, a network cut, `pg_terminate_backend`) has lost the lock — another
process may lead already — and must stop at once.

What it does not do: decide what a leader runs or how often a standby retries (bot/scheduler.py
`Runner.start`), or fence writes: the outbox's send attempts (bot/delivery.py) are what keep a
step-down racing a new leader from doubling a post.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import socket
import threading
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

LOCK_NAME = "inhaker worker"
# libpq keepalives on the lock connection: the first probe after 10 s of silence, then every
# 5 s, and 3 unanswered probes close it; a write unacknowledged for 30 s closes it too.
KEEPALIVES = {
    "keepalives": "1",
    "keepalives_idle": "10",
    "keepalives_interval": "5",
    "keepalives_count": "3",
    "tcp_user_timeout": "30000",
}
CONNECT_TIMEOUT_SECONDS = 10
# No statement on the lock connection may hang the worker's checks for long.
STATEMENT_TIMEOUT_MS = 10_000


class Leadership(Protocol):
    """How this process takes, checks and gives back the worker's leadership."""

    def try_acquire(self) -> bool:
        """Lead if nobody does (True); never waits for the leader."""
        ...

    def held(self) -> bool:
        """Whether this process still leads (checks with the database for PostgreSQL)."""
        ...

    def holder(self) -> str | None:
        """Who leads now ("<host>:<pid>"), if that can be told."""
        ...

    def release(self) -> None:
        """Stop leading (no-op when not leading)."""
        ...


def identity() -> str:
    """This process as a standby names it: "<host>:<pid>"."""
    return f"{socket.gethostname()}:{os.getpid()}"


def lock_key(name: str = LOCK_NAME) -> int:
    """A stable signed 64-bit advisory lock key for `name` (the same in every process)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def leadership_for(url: str) -> Leadership:
    """The leadership that fits the store at `url` (a SQLAlchemy DATABASE_URL)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        return PostgresLeadership(url)
    if backend == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:") or parsed.query.get("mode") == "memory":
            return AlwaysLeader("an in-memory SQLite store has one process")
        if database.startswith("file:"):  # a URI filename (?uri=true)
            database = database.removeprefix("file:").split("?", 1)[0]
        return FileLeadership(Path(f"{database}.leader"))
    log.warning(
        "leadership: %s has no leader election; run only one `inhaker run` on this store",
        backend,
    )
    return AlwaysLeader(f"no leader election for {backend}")


class AlwaysLeader:
    """The only worker there can be (an in-memory store), or one the operator must keep single."""

    def __init__(self, why: str) -> None:
        self.why = why

    def try_acquire(self) -> bool:
        return True

    def held(self) -> bool:
        return True

    def holder(self) -> str | None:
        return identity()

    def release(self) -> None:
        pass


class FileLeadership:
    """An exclusive `flock` on `path` (next to a SQLite file); its content names the holder."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._lock = threading.Lock()

    def try_acquire(self) -> bool:
        with self._lock:
            if self._fd is not None:
                return True
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                log.warning(
                    "leadership: cannot open %s: %s — check that the store's folder is writable",
                    self.path,
                    exc.strerror,
                )
                return False
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:  # another process holds it (BlockingIOError), or flock failed
                os.close(fd)
                return False
            # Named for the standby's message; the lock itself is what counts.
            os.ftruncate(fd, 0)
            os.pwrite(fd, identity().encode(), 0)
            self._fd = fd
            return True

    def held(self) -> bool:
        with self._lock:
            if self._fd is None:
                return False
            # The kernel keeps the lock while the descriptor is open; but if someone removed or
            # replaced the file, a new process can lock the new file: then this one no longer
            # leads anything anybody else can see.
            try:
                same = os.fstat(self._fd).st_ino == os.stat(self.path).st_ino
            except OSError:
                same = False
            return same

    def holder(self) -> str | None:
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            return None
        return text or None

    def release(self) -> None:
        with self._lock:
            if self._fd is None:
                return
            fd, self._fd = self._fd, None
            try:
                os.ftruncate(fd, 0)
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)


class PostgresLeadership:
    """A session-level advisory lock held on one dedicated, keepalive-probed connection."""

    def __init__(self, url: str, *, name: str = LOCK_NAME) -> None:
        self.key = lock_key(name)
        self._conninfo = _conninfo(url)
        self._conn: Any = None  # a psycopg.Connection, imported when used
        self._leading = False
        self._lock = threading.Lock()
        self.server = make_url(url).render_as_string(hide_password=True).split("@")[-1]

    def _connect(self) -> Any:
        import psycopg

        if self._conn is not None and not self._conn.closed:
            return self._conn
        from psycopg.conninfo import make_conninfo

        info = dict(self._conninfo)
        options = f"{info.pop('options', '')} -c statement_timeout={STATEMENT_TIMEOUT_MS}"
        conninfo = make_conninfo(
            "",
            **info,
            **KEEPALIVES,
            application_name=f"inhaker run {identity()}",
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            options=options.strip(),
        )
        self._conn = psycopg.connect(conninfo, autocommit=True)
        return self._conn

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        self._leading = False
        if conn is not None:
            # Closing a broken connection may fail; it is gone either way.
            with contextlib.suppress(Exception):
                conn.close()

    def try_acquire(self) -> bool:
        import psycopg

        with self._lock:
            try:
                conn = self._connect()
                row = conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
            except psycopg.Error as exc:
                log.warning(
                    "leadership: cannot reach PostgreSQL at %s: %s — retrying",
                    self.server,
                    str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__,
                )
                self._drop()
                return False
            self._leading = bool(row and row[0])
            return self._leading

    def held(self) -> bool:
        import psycopg

        with self._lock:
            if not self._leading or self._conn is None:
                return False
            try:
                # The session still answers, and still holds the lock (nothing can take a
                # session's advisory lock from it but the session ending).
                row = self._conn.execute(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND pid = pg_backend_pid() AND classid = %s AND objid = %s"
                    " AND objsubid = 1",
                    _lock_parts(self.key),
                ).fetchone()
            except psycopg.Error as exc:
                log.error(
                    "leadership: the lock connection to %s broke: %s",
                    self.server,
                    str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__,
                )
                self._drop()
                return False
            if not (row and row[0]):
                self._leading = False
            return self._leading

    def holder(self) -> str | None:
        import psycopg

        with self._lock:
            try:
                conn = self._connect()
                row = conn.execute(
                    "SELECT a.application_name, l.pid FROM pg_locks l"
                    " LEFT JOIN pg_stat_activity a ON a.pid = l.pid"
                    " WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s"
                    " AND l.objid = %s AND l.objsubid = 1 AND l.database ="
                    " (SELECT oid FROM pg_database WHERE datname = current_database())",
                    _lock_parts(self.key),
                ).fetchone()
            except psycopg.Error:
                self._drop()
                return None
        if row is None:
            return None
        name, pid = row
        if name and str(name).startswith("inhaker run "):
            return str(name).removeprefix("inhaker run ")
        return f"PostgreSQL backend {pid}" + (f" ({name})" if name else "")

    def release(self) -> None:
        import psycopg

        with self._lock:
            if self._leading and self._conn is not None:
                # If this fails, closing the connection below frees the lock all the same.
                with contextlib.suppress(psycopg.Error):
                    self._conn.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
            self._drop()


def _lock_parts(key: int) -> tuple[int, int]:
    """pg_locks shows a bigint advisory key as classid (high 32 bits) and objid (low 32 bits)."""
    unsigned = key & 0xFFFF_FFFF_FFFF_FFFF
    return unsigned >> 32, unsigned & 0xFFFF_FFFF


def _conninfo(url: str) -> dict[str, Any]:
    """libpq connection parameters from a SQLAlchemy PostgreSQL URL."""
    parsed = make_url(url)
    params: dict[str, Any] = {
        "host": parsed.host,
        "port": parsed.port,
        "user": parsed.username,
        "password": parsed.password,
        "dbname": parsed.database,
    }
    # Query parameters (sslmode, a socket directory as host, ...) are libpq's own.
    for key, value in parsed.query.items():
        params[key] = value if isinstance(value, str) else value[-1]
    return {k: v for k, v in params.items() if v is not None}
