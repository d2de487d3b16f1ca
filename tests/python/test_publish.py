"""Builds and dashboards never block each other (credit_ledger/build.py).

dbt builds a working DuckDB file; a run that passed is copied over the
published file with an atomic rename. A reader holding the published file
keeps its version, a new reader gets the last passed build, and a failed
build leaves the published file as it was. The readers here are separate
processes, as a dashboard would be: DuckDB's file lock is per process.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from credit_ledger.build import publish, wal_of
from credit_ledger.dbt_runner import DbtResult, run_dbt
from credit_ledger.ledger_files import write_ledger
from ledgers import entry, ledger, with_app_chain

ROWS = with_app_chain([
    entry(1, 1, "monthly_allocation", 100.0, "2024-03-01 10:00:00"),
    entry(2, 1, "video_generation", -30.0, "2024-03-02 10:00:00"),
    entry(3, 2, "credit_purchase", 50.0, "2024-03-02 11:00:00"),
])
MORE_ROWS = with_app_chain([
    *ROWS,
    entry(4, 1, "video_generation", -20.0, "2024-03-03 10:00:00"),
    entry(5, 2, "video_generation", -10.0, "2024-03-03 11:00:00"),
])
COUNT_SQL = "select count(*) from marts.fct_credit_transactions"


@dataclass
class Files:
    working: Path
    published: Path
    ledger_dir: Path
    work_dir: Path

    def build(self, *args: str, **dbt_vars: Any) -> DbtResult:
        return run_dbt(
            list(args) or ["build"], db_path=self.working, work_dir=self.work_dir,
            dbt_vars={"ledger_path": str(self.ledger_dir), **dbt_vars},
            publish_path=self.published,
        )

    def append_rows(self) -> None:
        write_ledger(self.ledger_dir, ledger(MORE_ROWS))


def count(db_path: Path) -> int:
    with duckdb.connect(str(db_path), read_only=True) as con:
        row = con.execute(COUNT_SQL).fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture(scope="module")
def first_build(tmp_path_factory: pytest.TempPathFactory) -> Files:
    """One passed build of ROWS, published; each test starts from a copy."""
    base = tmp_path_factory.mktemp("first")
    files = Files(base / "work" / "credits.build.duckdb", base / "bi" / "credits.duckdb",
                  base / "ledger", base)
    files.working.parent.mkdir()
    write_ledger(files.ledger_dir, ledger(ROWS))
    result = files.build()  # the published file's directory does not exist yet
    assert result.ok, result.output[-6000:]
    assert "published " in result.output.splitlines()[-1]
    # a scheduler's log: the output is not a terminal, so no colour codes
    assert "\x1b[" not in result.output
    assert count(files.published) == len(ROWS)
    return files


@pytest.fixture
def files(first_build: Files, tmp_path: Path) -> Files:
    copy = Files(tmp_path / "credits.build.duckdb", tmp_path / "bi" / "credits.duckdb",
                 tmp_path / "ledger", tmp_path)
    copy.published.parent.mkdir()
    shutil.copy(first_build.working, copy.working)
    shutil.copy(first_build.published, copy.published)
    shutil.copytree(first_build.ledger_dir, copy.ledger_dir)
    return copy


# A dashboard: opens the file read-only once, prints what it reads, and on
# each line of stdin reads again through the same connection.
HOLDER = textwrap.dedent(f"""
    import sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    print(con.execute({COUNT_SQL!r}).fetchone()[0], flush=True)
    for _ in sys.stdin:
        print(con.execute({COUNT_SQL!r}).fetchone()[0], flush=True)
""")

# A dashboard refreshing: opens the file read-only again and again until
# the stop file exists, then once more; prints one line per open (the
# count, or the error).
POLLER = textwrap.dedent(f"""
    import os, sys, time, duckdb
    print("started", flush=True)
    while True:
        done = os.path.exists(sys.argv[2])
        try:
            with duckdb.connect(sys.argv[1], read_only=True) as con:
                print(con.execute({COUNT_SQL!r}).fetchone()[0], flush=True)
        except Exception as error:
            print("error", type(error).__name__, str(error).splitlines()[0], flush=True)
        if done:
            break
        time.sleep(0.05)
""")


def start_reader(script: str, *args: Path) -> subprocess.Popen[str]:
    reader = subprocess.Popen(
        [sys.executable, "-c", script, *map(str, args)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    assert reader.stdout is not None
    return reader


def test_build_publishes_while_a_dashboard_holds_the_published_file(files: Files) -> None:
    holder = start_reader(HOLDER, files.published)
    assert holder.stdin is not None and holder.stdout is not None
    try:
        assert int(holder.stdout.readline()) == len(ROWS)  # the file is held open
        files.append_rows()
        result = files.build()
        assert result.ok, result.output[-6000:]
        assert result.output.splitlines()[-1].startswith(f"published {files.working} as")
        holder.stdin.write("again\n")
        holder.stdin.flush()
        assert int(holder.stdout.readline()) == len(ROWS)  # its old version
    finally:
        holder.communicate(timeout=30)
    assert count(files.published) == len(MORE_ROWS)  # a new reader: the new build
    assert not files.working.with_name(files.working.name + ".wal").exists()
    assert list(files.published.parent.iterdir()) == [files.published]  # no temp file left


def test_failed_build_publishes_nothing(files: Files) -> None:
    before = files.published.read_bytes()
    files.append_rows()
    # An unparseable as_of: the models are written to the working file, then
    # a data test fails (not_null of int_ledger_as_of.as_of).
    failed = files.build(as_of="not a timestamp")
    assert not failed.ok
    assert failed.output.splitlines()[-1].startswith("not published: dbt exited")
    # Exits 0 but builds one model: not a passed build run, not published.
    partial = files.build("build", "--select", "stg_ledger__users")
    assert partial.ok, partial.output[-6000:]
    assert "not published: this dbt command did not record a passed build run" in (
        partial.output.splitlines()[-1])
    assert files.published.read_bytes() == before
    assert list(files.published.parent.iterdir()) == [files.published]


def test_dashboard_opening_the_published_file_during_a_build_is_not_blocked(
    files: Files,
) -> None:
    stop = files.work_dir / "stop"
    poller = start_reader(POLLER, files.published, stop)
    assert poller.stdout is not None
    assert poller.stdout.readline().strip() == "started"
    files.append_rows()
    result = files.build()
    stop.touch()
    lines = poller.communicate(timeout=30)[0].splitlines()
    assert result.ok, result.output[-6000:]
    assert not [line for line in lines if line.startswith("error")], lines
    # It kept opening the file throughout: the old rows during the build,
    # then the new ones once published.
    counts = [int(line) for line in lines]
    assert counts.count(len(ROWS)) > 10, counts
    assert counts[-1] == len(MORE_ROWS)
    assert counts == sorted(counts)


def write_with_leftover_wal(db_path: Path, rows: int) -> None:
    """A database whose last commit is only in its `.wal` (a killed writer)."""
    script = textwrap.dedent(f"""
        import os, duckdb
        con = duckdb.connect({str(db_path)!r})
        con.execute("set checkpoint_threshold = '1GB'")
        con.execute("create table t as select range as i from range({rows})")
        os._exit(0)  # no close, no checkpoint
    """)
    subprocess.run([sys.executable, "-c", script], check=True)


def test_publish_folds_a_leftover_wal_of_the_working_file_into_the_copy(
    tmp_path: Path,
) -> None:
    working, published = tmp_path / "work.duckdb", tmp_path / "new_dir" / "pub.duckdb"
    write_with_leftover_wal(working, 7)
    assert wal_of(working).exists()
    publish(working, published)
    assert not wal_of(working).exists()
    with duckdb.connect(str(published), read_only=True) as con:
        assert con.execute("select count(*) from t").fetchone() == (7,)


def test_publish_stops_when_the_published_file_has_a_wal(tmp_path: Path) -> None:
    working, published = tmp_path / "work.duckdb", tmp_path / "pub.duckdb"
    with duckdb.connect(str(working)) as con:
        con.execute("create table t as select 1 as i")
    write_with_leftover_wal(published, 3)  # someone wrote to the published file
    before = published.read_bytes()
    with pytest.raises(RuntimeError, match="something writes to the published file"):
        publish(working, published)
    assert published.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "pub.duckdb", "pub.duckdb.wal", "work.duckdb"]
