"""A throwaway PostgreSQL cluster for tests: initdb into a fresh folder, start it on 127.0.0.1.

What it does: finds the PostgreSQL server binaries (PATH, else /usr/lib/postgresql/*/bin), runs
initdb into `<dir>/data` with trust authentication, and starts a server that listens on
127.0.0.1 only, on a free port, with its unix socket inside the data folder and the durability
settings off (fsync, synchronous_commit, full_page_writes: a test cluster is thrown away, so a
crash losing it costs nothing, and the suite creates thousands of databases). PostgreSQL refuses
to run as root, so when we are root every server command runs as the OS user `postgres`
(`runuser -u postgres --`) in a folder that user owns.

Use it as a context manager (`with PostgresServer() as server: server.admin_url`) or from the
command line, as `.ci/run` does:

    python -m tests.pg_server start --dir DIR   # prints postgresql://postgres@127.0.0.1:PORT/postgres
    python -m tests.pg_server stop --dir DIR

What it does not do: tune PostgreSQL for production, or keep any data (stop removes nothing, but
a new start into the same folder initialises a fresh cluster when none is there).
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

# Fast and small: durability off (the cluster is disposable); max_connections high enough for
# tests that run several `inhaker serve`/`run` processes with their pools at once.
SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "300",
    "shared_buffers": "32MB",
    "logging_collector": "off",
    "log_min_messages": "warning",
    "log_statement": "'none'",
    "timezone": "'UTC'",
}


def find_bin_dir() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres, or None when PostgreSQL is not installed."""
    on_path = shutil.which("pg_ctl")
    if on_path is not None and shutil.which("initdb") is not None:
        return Path(os.path.realpath(on_path)).parent
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(candidate) / "pg_ctl").exists() and (Path(candidate) / "initdb").exists():
            return Path(candidate)
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_server_user(argv: list[str]) -> list[str]:
    # root may not run PostgreSQL; the `postgres` OS user (from the distribution package) may.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *argv]
    return argv


def _chown_to_server_user(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, user="postgres", group="postgres")


class PostgresServer:
    """One PostgreSQL cluster in `directory` (a new temporary folder when not given)."""

    def __init__(self, directory: str | Path | None = None) -> None:
        self._owns_directory = directory is None
        self.directory = Path(directory or tempfile.mkdtemp(prefix="inhaker-pg-"))
        self.data_dir = self.directory / "data"
        self.log_file = self.directory / "server.log"
        self.port: int | None = None
        bin_dir = find_bin_dir()
        if bin_dir is None:
            raise RuntimeError(
                "PostgreSQL: initdb/pg_ctl not found — install postgresql (e.g. apt-get install "
                "postgresql) or set INHAKER_TEST_POSTGRES_URL"
            )
        self.bin_dir = bin_dir

    @property
    def admin_url(self) -> str:
        if self.port is None:
            raise RuntimeError("PostgreSQL test server is not running")
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = _as_server_user([str(self.bin_dir / argv[0]), *argv[1:]])
        result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
        if check and result.returncode != 0:
            log = (
                self.log_file.read_text(errors="replace")[-2000:] if self.log_file.exists() else ""
            )
            raise RuntimeError(
                f"PostgreSQL test server: {argv[0]} failed ({result.returncode}): "
                f"{result.stderr.strip() or result.stdout.strip()}\n{log}"
            )
        return result

    def _init(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        _chown_to_server_user(self.directory)
        if (self.data_dir / "PG_VERSION").exists():
            return
        self._run(
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )

    def _configure(self, port: int) -> None:
        settings = dict(SETTINGS, port=str(port), unix_socket_directories=f"'{self.data_dir}'")
        conf = self.data_dir / "postgresql.auto.conf"
        lines = [f"{key} = {value}" for key, value in settings.items()]
        conf.write_text("\n".join(lines) + "\n", encoding="utf-8")
        _chown_to_server_user(conf)

    def start(self) -> str:
        """Start the cluster (initialising it first when needed); return the admin URL."""
        self._init()
        last_error: Exception | None = None
        # The free port is found by binding and releasing it, so another process may take it
        # first: try again on a new port.
        for _attempt in range(5):
            port = _free_port()
            self._configure(port)
            try:
                self._run(
                    "pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data_dir),
                    "-l", str(self.log_file),
                )  # fmt: skip
            except RuntimeError as exc:
                last_error = exc
                continue
            self.port = port
            self._wait_ready()
            return self.admin_url
        raise RuntimeError(f"PostgreSQL test server did not start: {last_error}")

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while True:
            result = self._run(
                "pg_isready", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                check=False,
            )  # fmt: skip
            if result.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL test server not ready: {result.stdout}")
            time.sleep(0.1)

    def stop(self) -> None:
        """Stop the cluster (immediately: its data is disposable); remove a folder we made."""
        if (self.data_dir / "postmaster.pid").exists():
            self._run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", "immediate", check=False)
        self.port = None
        if self._owns_directory:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.pg_server", description=__doc__)
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument("--dir", required=True, help="folder for the cluster (created if missing)")
    args = parser.parse_args(argv)
    try:
        server = PostgresServer(Path(args.dir).resolve())
        if args.action == "start":
            print(server.start(), flush=True)
        else:
            server.stop()
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
