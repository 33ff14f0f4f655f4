"""Schema migrations: every store reaches this release's schema in place, keeping its data.

On SQLite and PostgreSQL: the migrations produce exactly bot/store.py's metadata (a schema change
without a migration fails here); a store made by the previous release (tests/fixtures/
release-19313a0, made by that release's own code) is upgraded by `inhaker db upgrade` and by
`inhaker run --once`, and `inhaker sources`/`trends` still show its data; a store from a newer
release is refused with a clear message; two processes opening an old store at once migrate once.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, func, select, text

from bot import migrate
from bot.store import Store, metadata, normalize_url
from tests.conftest import PROXY_VARS
from tests.feed_server import FeedServer

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "release-19313a0"
TABLES = sorted(metadata.tables)


def _cli(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in PROXY_VARS and k != "SLACK_BOT_TOKEN"}
    env["DATABASE_URL"] = database_url
    env["PYTHONPATH"] = str(ROOT)
    env.pop("INHAKER_CONFIG", None)
    return env


def _row_counts(url: str) -> dict[str, int]:
    engine = create_engine(normalize_url(url))
    try:
        with engine.connect() as conn:
            return {
                name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
                for name, table in metadata.tables.items()
            }
    finally:
        engine.dispose()


def test_the_scripts_head_is_the_head_the_store_stamps() -> None:
    assert ScriptDirectory.from_config(migrate.alembic_config()).get_heads() == [migrate.HEAD]


def test_migrations_from_the_first_revision_build_exactly_todays_schema(
    database_url: str,
) -> None:
    """Upgrade an empty database revision by revision (0001 = the previous release, written
    out): the result must equal bot/store.py's metadata, so a schema change without a migration
    fails CI. A new store (create_all) and a migrated one are then the same."""
    engine = create_engine(normalize_url(database_url))
    try:
        with engine.begin() as conn:
            command.upgrade(migrate.alembic_config(conn), migrate.BASELINE)
        assert migrate.current(engine) == migrate.BASELINE
        with engine.begin() as conn:
            command.upgrade(migrate.alembic_config(conn), "head")
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
        assert migrate.current(engine) == migrate.HEAD
    finally:
        engine.dispose()


def test_a_new_store_is_created_at_head_and_matches_the_migrations(database_url: str) -> None:
    store = Store(database_url)
    assert migrate.current(store.engine) == migrate.HEAD
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
    store.close()


# -- stores made by the previous release -----------------------------------------------------


def _restore_previous_release(db_backend: str, make_database_url: object, tmp_path: Path) -> str:
    """A copy of the previous release's store (tests/fixtures/release-19313a0), as a URL."""
    url = make_database_url("rel19313a0")  # type: ignore[operator]
    if db_backend == "sqlite":
        shutil.copyfile(FIXTURES / "store.sqlite3", url.removeprefix("sqlite:///"))
        return str(url)
    psql = shutil.which("psql")
    if psql is None:
        pytest.skip("psql (the PostgreSQL client) is needed to restore the dump")
    result = subprocess.run(
        [psql, "-q", "-v", "ON_ERROR_STOP=1", "-f", str(FIXTURES / "store.sql"), "-d", url],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return str(url)


def test_a_store_of_the_previous_release_is_upgraded_in_place_keeping_its_data(
    db_backend: str, make_database_url: object, tmp_path: Path
) -> None:
    """`inhaker db upgrade` on a store made by release 19313a0's own code: every row stays,
    `inhaker sources` and `trends` show what they showed, the widened columns take long values,
    and a second upgrade has nothing to do."""
    url = _restore_previous_release(db_backend, make_database_url, tmp_path)
    before = _row_counts(url)
    assert before["posts"] > 30
    assert before["alerts"] == 2
    assert before["feedback"] == 3
    env = _env(url)

    engine = create_engine(normalize_url(url))
    assert migrate.current(engine) == migrate.BASELINE  # tables, no alembic_version
    engine.dispose()

    upgraded = _cli(env, "db", "upgrade", cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"upgraded from 0001 to {migrate.HEAD}" in upgraded.stdout
    assert _row_counts(url) == before

    sources = _cli(env, "sources", "--config", str(FIXTURES / "feeds.yaml"), cwd=tmp_path)
    assert sources.returncode == 0, sources.stderr
    lines = sources.stdout.splitlines()
    for feed in ("nos", "nu", "emerce"):
        assert any(line.startswith(f"{feed} (rss): last success 20") for line in lines), lines
    trends = _cli(env, "trends", cwd=tmp_path)
    assert trends.returncode == 0, trends.stderr
    assert "#hittegolf" in trends.stdout
    assert "9 posts in the last 60 min" in trends.stdout

    store = Store(url)
    sent = store.alerts_with_status("sent")
    assert len(sent) == 2
    assert all(row.slack_ts for row in sent)
    assert [m.term for m in store.active_mutes(sent[0].created_at)] == ["treinstaking"]
    assert [t.term for t in store.watch_terms()] == ["duurzaamheid"]
    assert not store.first_time("command:T0:1234.5678", sent[0].created_at)  # still handled
    assert store.load_checkpoint("trends") is not None or store.load_checkpoint("burst") is not None
    # Widened columns: a guid and author line PostgreSQL refused before 0002 now fit.
    from detectors.records import Post

    long_post = Post(
        source="nos",
        id="https://nos.nl/artikel?" + "utm=x&" * 120,
        text="lang",
        created_at=sent[0].created_at,
        author="Redactie, " * 40,
    )
    assert store.add_posts([long_post], seen_at=sent[0].created_at, backlog=False) == [long_post]
    assert store.add_watch_term(
        "een term van meer dan tweehonderdzesenvijftig tekens " * 6, "U1", sent[0].created_at
    )
    store.close()

    engine = create_engine(normalize_url(url))
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
    engine.dispose()


def test_inhaker_run_upgrades_an_old_store_by_itself(
    db_backend: str, make_database_url: object, tmp_path: Path, feed_server: FeedServer
) -> None:
    """Nobody ran `db upgrade`: the worker's first start migrates the store and polls on."""
    url = _restore_previous_release(db_backend, make_database_url, tmp_path)
    before = _row_counts(url)
    empty = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>x</title>
<link>https://example.nl/</link><description>x</description></channel></rss>"""
    for feed in ("nos", "nu", "emerce"):
        feed_server.serve(f"/{feed}.xml", empty)
    config = tmp_path / "feeds.yaml"
    config.write_text(
        (FIXTURES / "feeds.yaml")
        .read_text(encoding="utf-8")
        .replace("http://127.0.0.1:9", feed_server.base_url),
        encoding="utf-8",
    )
    result = _cli(_env(url), "run", "--once", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "3 sources polled (0 failed)" in result.stderr
    engine = create_engine(normalize_url(url))
    try:
        assert migrate.current(engine) == migrate.HEAD
        with engine.connect() as conn:
            polls = conn.execute(text("SELECT polls FROM source_state WHERE source_id = 'nos'"))
            assert polls.scalar_one() == 3  # two runs of the old release, one of this one
    finally:
        engine.dispose()
    after = _row_counts(url)
    assert after["posts"] == before["posts"]
    assert after["alerts"] == before["alerts"]


def test_processes_starting_at_once_on_an_old_store_migrate_it_once(
    db_backend: str, make_database_url: object, tmp_path: Path
) -> None:
    """Three processes upgrade the same old store at the same moment (a deploy starting the
    worker and two web processes): one migrates, the others wait and find it done."""
    url = _restore_previous_release(db_backend, make_database_url, tmp_path)
    before = _row_counts(url)
    env = _env(url)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "db", "upgrade"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [proc.communicate(timeout=120) for proc in procs]
    for proc, (_out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    said = sorted(out.strip().split(": ", 1)[1] for out, _err in outputs)
    assert said == [
        f"already at {migrate.HEAD}",
        f"already at {migrate.HEAD}",
        f"upgraded from 0001 to {migrate.HEAD}",
    ]
    assert _row_counts(url) == before
    engine = create_engine(normalize_url(url))
    assert migrate.current(engine) == migrate.HEAD
    engine.dispose()


def test_a_store_of_a_newer_release_is_refused_by_name_without_its_password(
    db_backend: str, database_url: str, tmp_path: Path
) -> None:
    Store(database_url).close()
    engine = create_engine(normalize_url(database_url))
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    engine.dispose()
    url = database_url
    if db_backend == "postgresql":
        # Trust authentication ignores the password; it must still never be printed.
        url = database_url.replace("postgres@", "postgres:Sekr3tPassw0rd@", 1)
    result = _cli(_env(url), "trends", cwd=tmp_path)
    assert result.returncode == 1
    assert "is at revision 0099, newer than this release (head 0002)" in result.stderr
    assert "upgrade inhaker" in result.stderr
    assert "Sekr3tPassw0rd" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
    current = _cli(_env(url), "db", "current", cwd=tmp_path)
    assert current.returncode == 0
    assert "at revision 0099 (newer than this release" in current.stdout
    assert "Sekr3tPassw0rd" not in current.stdout
    with pytest.raises(migrate.StoreTooNew):
        Store(url)


def test_db_upgrade_on_an_unreachable_store_is_one_line_without_the_password(
    tmp_path: Path,
) -> None:
    env = _env("postgres://inhaker:Pw9Xq2Lk7Zr4Tm6Bc@127.0.0.1:1/inhaker")
    result = _cli(env, "db", "upgrade", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("inhaker: store: cannot upgrade 127.0.0.1:1/inhaker: ")
    assert "check DATABASE_URL" in result.stderr
    assert "Pw9Xq2Lk7Zr4Tm6Bc" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
