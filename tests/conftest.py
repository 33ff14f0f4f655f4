"""Shared pytest fixtures: real local servers, and a network environment that stays on 127.0.0.1.

Databases: `db_backend` runs a test on SQLite and on PostgreSQL; `make_database_url` gives a fresh,
empty database of that backend (a file in tmp_path, or a new database on the test cluster: the
one INHAKER_TEST_POSTGRES_URL names, else one started for the session by tests/pg_server.py).
"""

from __future__ import annotations

import itertools
import os
import re
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fake_slack import FakeSlack
from tests.feed_server import FeedServer
from tests.pg_server import PostgresServer, find_bin_dir

PROXY_VARS = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


@pytest.fixture
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clear proxy variables so httpx (trust_env) talks to 127.0.0.1 directly."""
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
def feed_server(no_proxy_env: None) -> Iterator[FeedServer]:
    """A running fake feed publisher on 127.0.0.1 (see tests/feed_server.py)."""
    with FeedServer() as server:
        yield server


@pytest.fixture(autouse=True)
def _no_proxy_everywhere(no_proxy_env: None) -> None:
    """Every test: no proxy variables. slack_sdk reads HTTP(S)_PROXY and ignores NO_PROXY, so a
    proxy set in the developer's shell would swallow requests meant for 127.0.0.1."""


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    """A running fake Slack Web API (see tests/fake_slack.py); point WebClient at `.base_url`."""
    with FakeSlack() as server:
        yield server


# -- databases ----------------------------------------------------------------------------------

NO_POSTGRES = "no PostgreSQL: set INHAKER_TEST_POSTGRES_URL or install postgresql"


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str | None]:
    """A superuser URL of a PostgreSQL cluster for tests, or None when there is none.

    INHAKER_TEST_POSTGRES_URL when set (CI starts the cluster); else a cluster started for this
    session when the binaries are installed (INHAKER_TEST_POSTGRES=off disables that).
    """
    url = os.environ.get("INHAKER_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    if os.environ.get("INHAKER_TEST_POSTGRES", "").lower() == "off" or find_bin_dir() is None:
        yield None
        return
    with PostgresServer() as server:
        yield server.admin_url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_backend(request: pytest.FixtureRequest) -> str:
    """The store's database, each test once per backend; PostgreSQL skips when unavailable."""
    backend = str(request.param)
    if backend == "postgresql" and request.getfixturevalue("postgres_admin_url") is None:
        pytest.skip(NO_POSTGRES)
    return backend


_database_numbers = itertools.count(1)


def _libpq_url(url: str, database: str | None = None) -> str:
    """The URL in libpq's plain form (psycopg and users' DATABASE_URL), optionally renamed."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


def _drop_database(admin_url: str, name: str) -> None:
    import psycopg

    # WITH (FORCE) ends the sessions still connected (a pool in this process, a subprocess that
    # was killed half-way); a teardown problem is a warning, never a failed test.
    for attempt in range(3):
        try:
            with psycopg.connect(_libpq_url(admin_url), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except psycopg.Error as exc:
            if attempt == 2:
                warnings.warn(f"test database {name} not dropped: {exc}", stacklevel=1)


@pytest.fixture
def make_database_url(
    request: pytest.FixtureRequest, db_backend: str, tmp_path: Path
) -> Iterator[Callable[..., str]]:
    """A factory `(name="inhaker") -> URL` of a fresh, empty database of this test's backend:
    sqlite:///<tmp_path>/<name>.db, or a new PostgreSQL database (dropped after the test) named
    in the plain form a user writes in DATABASE_URL."""
    created: list[str] = []
    admin_url: str | None = None
    if db_backend == "postgresql":
        admin_url = request.getfixturevalue("postgres_admin_url")
        assert admin_url is not None

    def make(name: str = "inhaker") -> str:
        if db_backend == "sqlite":
            return f"sqlite:///{tmp_path}/{name}.db"
        assert admin_url is not None
        import psycopg

        test = re.sub(r"[^a-z0-9]+", "_", request.node.name.lower()).strip("_")
        label = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
        db_name = f"t{os.getpid()}_{next(_database_numbers)}_{label[:12]}_{test}"[:63]
        with psycopg.connect(_libpq_url(admin_url), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{db_name}"')
        created.append(db_name)
        return _libpq_url(admin_url, db_name)

    yield make
    if admin_url is not None:
        for db_name in created:
            _drop_database(admin_url, db_name)


@pytest.fixture
def database_url(make_database_url: Callable[..., str]) -> str:
    """A fresh, empty store database of this test's backend (see make_database_url)."""
    return make_database_url("inhaker")
