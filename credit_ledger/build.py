"""Build into a working DuckDB file, then publish it for readers if the run passed.

    python -m credit_ledger.build [dbt args...]     (no subcommand: `build`)

DuckDB lets one process open a file, and any open connection, read-only
too, blocks a writer. So dbt never writes the file that dashboards read:
it builds the *working* file (`$CREDITS_DB_PATH`, default
`credits.build.duckdb`, which also keeps the incremental state between
runs), and when the run passed, this module copies the closed working file
next to the *published* file (`$CREDITS_PUBLISH_PATH`, default
`credits.duckdb`), fsyncs it and renames it over the published file.
A reader that holds the old file keeps reading it (its open inode), a new
reader opens the new one, and no reader ever sees a failed or half-built
run. The build never opens the published file.

A run passed when dbt exited 0 and the run recorded itself as passed in
the working file's `credit_ledger_build_runs` (macros/build_runs.sql:
every model built, nothing failed or skipped, not `--empty`). So a
`dbt test`, a `--select` of a few models or a failed build publishes
nothing. Relative paths start from the directory this runs in, as dbt's.

Exit code: dbt's; 1 when dbt passed but publishing failed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

import duckdb

from credit_ledger.dbt_runner import dbt_executable

WORKING_DEFAULT = "credits.build.duckdb"
PUBLISHED_DEFAULT = "credits.duckdb"
BUILD_RUNS_TABLE = "credit_ledger_build_runs"


@dataclass(frozen=True)
class Paths:
    """The file dbt writes and the file readers open."""

    working: Path
    published: Path

    @classmethod
    def from_env(cls, env: Mapping[str, str], cwd: Path) -> Paths:
        working = cwd / env.get("CREDITS_DB_PATH", WORKING_DEFAULT)
        published = cwd / env.get("CREDITS_PUBLISH_PATH", PUBLISHED_DEFAULT)
        return cls(working.resolve(), published.resolve())


@dataclass(frozen=True)
class Outcome:
    """What this invocation did with the published file, as one line."""

    published: bool
    message: str


def wal_of(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def latest_run(db_path: Path) -> tuple[int, bool] | None:
    """(run_number, passed) of the latest recorded build run, None if none."""
    if not db_path.exists():
        return None
    with duckdb.connect(str(db_path), read_only=True) as con:
        found = con.execute(
            "select count(*) from information_schema.tables where table_name = ?",
            [BUILD_RUNS_TABLE],
        ).fetchone()
        if not found or not found[0]:
            return None
        row = con.execute(
            f"select run_number, passed from {BUILD_RUNS_TABLE}"
            " order by run_number desc limit 1"
        ).fetchone()
    return None if row is None else (int(row[0]), bool(row[1]))


def checkpoint(db_path: Path) -> None:
    """Fold a leftover write-ahead log into the file, so the file alone is the database.

    dbt exits cleanly after a run, which checkpoints; a `.wal` left here means
    another writer or a killed process, and copying the file without it would
    lose committed data.
    """
    if wal_of(db_path).exists():
        with duckdb.connect(str(db_path)) as con:
            con.execute("checkpoint")
    if wal_of(db_path).exists():
        raise RuntimeError(f"{wal_of(db_path)} remains after a checkpoint")


def publish(working: Path, published: Path) -> int:
    """Copy `working` over `published` atomically; return the bytes copied.

    The copy goes to a temporary file in the published file's directory (same
    file system, so the rename is atomic), is fsynced, then renamed over the
    published file; the directory is fsynced so the rename survives a crash.
    On any error the temporary file is removed and the published file is
    untouched.
    """
    if working == published:
        raise ValueError(f"the working and published files are the same: {working}")
    if wal_of(published).exists():
        # A writer has (or had) the published file open: its log would be
        # replayed into the new file by the next reader.
        raise RuntimeError(
            f"{wal_of(published)} exists: something writes to the published file;"
            " readers must open it read-only (remove the .wal once nothing holds it)"
        )
    checkpoint(working)
    published.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{published.name}.", suffix=".tmp", dir=published.parent
    )
    tmp = Path(tmp_name)
    os.close(fd)
    try:
        shutil.copyfile(working, tmp)  # os.sendfile on Linux
        with tmp.open("rb") as copied:
            os.fsync(copied.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, published)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(published.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return published.stat().st_size


# runs `dbt <args>` with this environment in this folder; returns the exit code
DbtCall = Callable[[Sequence[str], Mapping[str, str], Path], int]


def dbt_args(args: Sequence[str]) -> list[str]:
    """`<args>`; with no subcommand first, `build <args>`."""
    if not args or args[0].startswith("-"):
        return ["build", *args]
    return list(args)


def dbt_subprocess(args: Sequence[str], env: Mapping[str, str], cwd: Path) -> int:
    return subprocess.run([dbt_executable(), *args], cwd=cwd, env=env).returncode


def build_and_publish(
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    call_dbt: DbtCall = dbt_subprocess,
) -> tuple[int, Outcome]:
    """Run dbt on the working file, publish it if the run passed."""
    cwd = cwd or Path.cwd()
    run_env = dict(os.environ if env is None else env)
    paths = Paths.from_env(run_env, cwd)
    if paths.working == paths.published:
        return 2, Outcome(False, f"not published: CREDITS_DB_PATH and CREDITS_PUBLISH_PATH"
                                 f" are the same file ({paths.working}); dbt not run")
    # as given (relative to cwd, where dbt runs too): the same profile as a
    # plain dbt command, so that one's partial parse serves the other
    run_env["CREDITS_DB_PATH"] = run_env.get("CREDITS_DB_PATH", WORKING_DEFAULT)
    try:
        before = latest_run(paths.working)
    except duckdb.Error:  # held by another build: dbt will say so
        before = None
    returncode = call_dbt(dbt_args(args), run_env, cwd)
    if returncode != 0:
        return returncode, Outcome(
            False, f"not published: dbt exited {returncode}; {paths.published} unchanged"
        )
    try:
        checkpoint(paths.working)
        after = latest_run(paths.working)
    except (duckdb.Error, RuntimeError) as error:
        return 1, Outcome(False, f"not published: {error}; {paths.published} unchanged")
    if after is None or after == before or not after[1]:
        return returncode, Outcome(
            False,
            "not published: this dbt command did not record a passed build run"
            f" (only a run or build of every model publishes); {paths.published} unchanged",
        )
    started = time.perf_counter()
    try:
        size = publish(paths.working, paths.published)
    except Exception as error:  # noqa: BLE001 - reported in the one line, exit 1
        return 1, Outcome(False, f"not published: {error}; {paths.published} unchanged")
    elapsed = time.perf_counter() - started
    return returncode, Outcome(
        True,
        f"published {paths.working} as {paths.published}"
        f" ({size / 1e6:,.1f} MB in {elapsed:.2f} s)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    returncode, outcome = build_and_publish(sys.argv[1:] if argv is None else argv)
    print(outcome.message, flush=True)
    return returncode


if __name__ == "__main__":
    sys.exit(main())
