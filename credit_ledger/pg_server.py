"""A throwaway PostgreSQL server for the engine tests.

`pg_server()` runs initdb (as the `postgres` user when run as root: initdb
refuses root) in a temp dir, starts the server on 127.0.0.1 and a free port
with `timezone = 'America/New_York'` (so a result that depends on the
server's time zone shows), creates the database `credits` and yields the
CREDITS_PG_* variables profiles.yml reads. The server is stopped and its
directory removed in a `finally`, whatever happened.

Missing PostgreSQL binaries fail the caller with the command to install
them: the engine tests never skip.

Run it alone to get a server for manual work (Ctrl-C or `kill PID` stops it):
    python -m credit_ledger.pg_server
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterator

INSTALL_HINT = (
    "PostgreSQL's server binaries (initdb, pg_ctl) are not installed: "
    "run `apt-get install -y postgresql` (Debian puts them in "
    "/usr/lib/postgresql/<version>/bin), or put them on PATH"
)

# Where Debian and others put the server binaries (not on PATH by default).
_SEARCH_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True) + [
    Path("/usr/local/pgsql/bin"),
]


class PostgresMissing(RuntimeError):
    """initdb or pg_ctl cannot be found."""


def find_binary(name: str) -> str:
    """The path of a PostgreSQL server binary, else PostgresMissing."""
    found = shutil.which(name)
    if found:
        return found
    for folder in _SEARCH_DIRS:
        if (folder / name).exists():
            return str(folder / name)
    raise PostgresMissing(INSTALL_HINT)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_postgres_user(command: list[str]) -> list[str]:
    """Run as `postgres` when we are root (initdb and postgres refuse root)."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


def _run(command: list[str], what: str) -> None:
    completed = subprocess.run(command, capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(
            f"{what} failed ({completed.returncode}): "
            f"{(completed.stdout + completed.stderr)[-3000:]}"
        )


@contextlib.contextmanager
def pg_server(database: str = "credits",
              force_parallel: bool = False) -> Iterator[dict[str, str]]:
    """Start a throwaway server; yield the CREDITS_PG_* environment.

    `force_parallel` runs every parallel-safe query in a parallel worker
    (`force_parallel_mode`), as a large table's plan would: a function
    wrongly marked parallel safe then fails on a small ledger too."""
    initdb = find_binary("initdb")
    pg_ctl = find_binary("pg_ctl")
    base = Path(tempfile.mkdtemp(prefix="credits-pg-"))
    data_dir = base / "data"
    started = False
    try:
        if os.geteuid() == 0:
            shutil.chown(base, user="postgres", group="postgres")
        base.chmod(0o700)
        _run(
            _as_postgres_user([
                initdb, "-D", str(data_dir), "-U", "postgres", "-A", "trust",
                "-E", "UTF8", "--locale", "C.UTF-8", "--no-sync",
            ]),
            "initdb",
        )
        port = _free_port()
        options = " ".join([
            "-c listen_addresses=127.0.0.1",
            f"-c port={port}",
            f"-c unix_socket_directories={base}",
            "-c timezone=America/New_York",
            "-c fsync=off",
            "-c synchronous_commit=off",
            "-c full_page_writes=off",
            "-c shared_buffers=128MB",
            "-c work_mem=64MB",
            "-c max_connections=40",
        ] + (["-c force_parallel_mode=on"] if force_parallel else []))
        _run(
            _as_postgres_user([
                pg_ctl, "-D", str(data_dir), "-l", str(base / "server.log"),
                "-o", options, "-w", "-t", "60", "start",
            ]),
            "pg_ctl start",
        )
        started = True
        env = {
            "CREDITS_PG_HOST": "127.0.0.1",
            "CREDITS_PG_PORT": str(port),
            "CREDITS_PG_USER": "postgres",
            "CREDITS_PG_PASSWORD": "",
            "CREDITS_PG_DATABASE": database,
        }
        create_database(env, database)
        yield env
    finally:
        if started:
            subprocess.run(
                _as_postgres_user([pg_ctl, "-D", str(data_dir), "-m", "fast",
                                   "-w", "stop"]),
                capture_output=True,
            )
        shutil.rmtree(base, ignore_errors=True)


def create_database(env: dict[str, str], database: str) -> None:
    """Create `database` on the server `env` names (waiting up to 30 s for
    it to accept connections)."""
    import psycopg2

    deadline = time.monotonic() + 30
    while True:
        try:
            con = psycopg2.connect(
                host=env["CREDITS_PG_HOST"], port=int(env["CREDITS_PG_PORT"]),
                user=env["CREDITS_PG_USER"], dbname="postgres",
            )
            break
        except psycopg2.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    try:
        con.autocommit = True
        with con.cursor() as cursor:
            cursor.execute(f'create database "{database}"')
    finally:
        con.close()


def _stop_on_sigterm(signum: int, frame: object) -> None:
    # a background process ignores Ctrl-C; `kill PID` stops it cleanly too
    raise KeyboardInterrupt


if __name__ == "__main__":
    import signal

    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    signal.signal(signal.SIGINT, _stop_on_sigterm)
    with pg_server() as pg_env:
        print(" ".join(f"{key}={value}" for key, value in pg_env.items()), flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
