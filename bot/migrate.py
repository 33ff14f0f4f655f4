"""Schema migrations of the store: bring any store to this release's schema, in place.

What it does: runs the Alembic scripts in bot/migrations (configured in code, no alembic.ini) on
an engine. `upgrade(engine)` handles every state a store can be in:
- empty database: the tables are created from bot/store.py's metadata and stamped at head (fast:
  the test suite and a first start do this, and nothing needs migrating);
- a store made before migrations existed (tables, no `alembic_version`): stamped 0001, the schema
  of that release, then upgraded;
- behind head: upgraded; on PostgreSQL inside one transaction holding an advisory lock, on SQLite
  inside BEGIN IMMEDIATE, so two processes starting at once never both migrate, and a migration
  that fails leaves the store as it was;
- ahead of head (made by a newer release): StoreTooNew, naming the store without its password.
A store at head costs one SELECT, and Alembic is not even imported.

What it does not do: downgrade (a newer store needs a newer inhaker), or back up the store.

Adding a schema change: edit bot/store.py, then `python -m bot.migrate revision "what changed"`
writes bot/migrations/versions/NNNN_*.py; fill in upgrade() (op.batch_alter_table keeps it working
on SQLite) and set HEAD below. tests/test_migrations.py fails while the two disagree.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Engine,
    MetaData,
    String,
    Table,
    create_engine,
    event,
    inspect,
    select,
)
from sqlalchemy.engine import Connection, make_url

# The newest revision in bot/migrations/versions (tests/test_migrations.py checks they agree).
HEAD = "0002"
# The schema of the last release without migrations: what an unstamped store is.
BASELINE = "0001"

# Alembic's own bookkeeping table, written directly when a new store is created at head.
_version_metadata = MetaData()
alembic_version = Table(
    "alembic_version",
    _version_metadata,
    Column("version_num", String(32), primary_key=True),
)

# pg_advisory_xact_lock key: every Inhaker process migrating the same database takes this one.
_MIGRATION_LOCK = 0x1A4B_0008


class StoreTooNew(Exception):
    """The store was migrated by a newer release than this one."""


def head() -> str:
    return HEAD


def where(url: Any) -> str:
    """A store named for people: host/database or the SQLite path, never a password."""
    parsed = make_url(str(url)) if not hasattr(url, "drivername") else url
    if parsed.drivername.startswith("sqlite"):
        return parsed.database or ":memory:"
    host = parsed.host or "localhost"
    port = f":{parsed.port}" if parsed.port else ""
    return f"{host}{port}/{parsed.database or ''}"


def current(engine: Engine) -> str | None:
    """The store's revision; BASELINE for a store made before migrations, None when empty."""
    with engine.connect() as conn:
        return _revision(conn)


def _revision(conn: Connection) -> str | None:
    names = set(inspect(conn).get_table_names())
    if "alembic_version" in names:
        return conn.execute(select(alembic_version.c.version_num)).scalar()
    if "posts" in names:
        return BASELINE
    return None


def _fast_revision(conn: Connection) -> str | None:
    """The stamped revision in one SELECT, or None when there is no version table (yet)."""
    if "alembic_version" not in inspect(conn).get_table_names():
        return None
    return conn.execute(select(alembic_version.c.version_num)).scalar()


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring the store to HEAD; return (revision before, revision after). None before = empty."""
    with engine.connect() as conn:
        if _fast_revision(conn) == HEAD:
            return HEAD, HEAD
    with _exclusive(engine) as conn:
        # Read again under the lock: another process may have migrated meanwhile.
        before = _revision(conn)
        if before == HEAD:
            return HEAD, HEAD
        if before is None:
            from bot.store import metadata

            metadata.create_all(conn)
            _stamp(conn, HEAD)
            return None, HEAD
        if before not in known_revisions():
            raise StoreTooNew(
                f"the store at {where(engine.url)} is at revision {before}, newer than this "
                f"release (head {HEAD}) — upgrade inhaker"
            )
        if "alembic_version" not in inspect(conn).get_table_names():
            _stamp(conn, BASELINE)
        _run_alembic(conn)
        return before, HEAD


def _stamp(conn: Connection, revision: str) -> None:
    _version_metadata.create_all(conn)
    conn.execute(alembic_version.delete())
    conn.execute(alembic_version.insert().values(version_num=revision))


@contextmanager
def _exclusive(engine: Engine) -> Iterator[Connection]:
    """One transaction that no other Inhaker process migrates alongside; committed at the end."""
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        # pysqlite does not put DDL in a transaction by itself: a private engine that issues
        # BEGIN IMMEDIATE makes the whole migration atomic and takes the write lock first.
        private = create_engine(engine.url, connect_args={"timeout": 30})

        @event.listens_for(private, "connect")
        def _no_implicit_transactions(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None

        @event.listens_for(private, "begin")
        def _begin_immediate(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        try:
            with private.begin() as conn:
                yield conn
        finally:
            private.dispose()
        return
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
        yield conn


def alembic_config(connection: Connection | None = None) -> Any:
    """Alembic's Config for bot/migrations, built in code; env.py migrates `connection`."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_script_location()))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _script_location() -> Path:
    return Path(str(resources.files("bot") / "migrations"))


@lru_cache(maxsize=1)
def known_revisions() -> frozenset[str]:
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(alembic_config())
    return frozenset(script.revision for script in scripts.walk_revisions())


def script_head() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _run_alembic(conn: Connection) -> None:
    from alembic import command

    command.upgrade(alembic_config(conn), "head")


def _next_revision_id() -> str:
    numbers = [int(r) for r in known_revisions() if re.fullmatch(r"\d{4}", r)]
    return f"{max(numbers, default=0) + 1:04d}"


def main(argv: list[str] | None = None) -> int:
    """`python -m bot.migrate revision "message"`: a new, empty, numbered migration script."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] != "revision":
        print('usage: python -m bot.migrate revision "what changed"', file=sys.stderr)
        return 2
    from alembic import command

    rev_id = _next_revision_id()
    slug = re.sub(r"[^a-z0-9]+", "_", args[1].lower()).strip("_")[:40]
    script = command.revision(alembic_config(), message=args[1], rev_id=rev_id)
    print(f"wrote {script.path if script else rev_id} ({slug}); set HEAD = {rev_id!r}")  # type: ignore[union-attr]
    return 0


if __name__ == "__main__":
    sys.exit(main())
