"""Shared pytest fixtures: build the dbt project over a ledger in a temp dir."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import duckdb
import pytest

from credit_ledger.dbt_runner import PARSE_CACHE_ENV, PROJECT_DIR, DbtResult, run_dbt
from credit_ledger.ledger_files import write_ledger

Row = Mapping[str, Any]

# How `make test` shares the suite between its two workers (pytest-xdist,
# `-n 2 --dist loadscope`): a module's tests go to one worker, so that its
# module fixtures (a PostgreSQL server, a Spark build, a dashboard) are made
# once, except in SPREAD_MODULES, whose tests each build their own ledger
# and are handed out one by one. Work is handed out in collection order,
# LONGEST_FIRST first (3-7 minutes each), so that the workers end together
# (xdist's default order, by number of tests, put the engine modules last
# and left one worker alone with them for minutes).
SPREAD_MODULES = {"test_bad_inputs", "test_chain_and_snapshot", "test_export_shapes",
                  "test_fifo_example", "test_fifo_property", "test_incremental",
                  "test_marts", "test_misconfiguration", "test_readme", "test_value_bounds"}
LONGEST_FIRST = ["test_engine_spark", "test_engine_postgres", "test_export_shapes",
                 "test_incremental", "test_bad_inputs"]


def _module(nodeid: str) -> str:
    return nodeid.split("::")[0].rsplit("/", 1)[-1].removesuffix(".py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = _module(item.nodeid)
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: the collection order within a rank


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """--dist loadscope with the scopes above, in collection order."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class Scheduling(LoadScopeScheduling):
        # xdist's own override point (its loadgroup mode replaces it too;
        # that mode cannot be used: it rewrites item._nodeid, which pytest
        # 9.2 ignores, so its groups are silently dropped)
        def _split_scope(self, nodeid: str) -> str:
            return nodeid if _module(nodeid) in SPREAD_MODULES else super()._split_scope(nodeid)

    config.option.loadscopereorder = False
    return Scheduling(config, log)


# The workers share dbt's saved parses (credit_ledger/dbt_runner.py): a
# folder made by the controlling process, which the workers inherit.
if PARSE_CACHE_ENV not in os.environ:
    os.environ[PARSE_CACHE_ENV] = tempfile.mkdtemp(prefix="credit-ledger-parse-")
    atexit.register(shutil.rmtree, os.environ[PARSE_CACHE_ENV], True)


# dbt's YAML unit tests check model SQL on fixed rows, whatever the ledger:
# `make test` runs them once (its dbt build step), so the dbt builds of
# pytest skip them (dbt reads --exclude-resource-type from this variable; a
# command's own flag wins).
os.environ.setdefault("DBT_EXCLUDE_RESOURCE_TYPES", "unit_test")


@dataclass
class BuiltLedger:
    """A dbt run over one ledger, with its DuckDB file to query (`result` is
    None for the shared sample build, which another process ran)."""

    result: DbtResult | None
    db_path: Path

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(self.db_path), read_only=True) as con:
            return con.execute(sql, list(params)).fetchall()

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.rows(sql, params)[0][0]

    def dicts(self, sql: str) -> list[dict[str, Any]]:
        with duckdb.connect(str(self.db_path), read_only=True) as con:
            cursor = con.execute(sql)
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]


BuildLedger = Callable[..., BuiltLedger]


@pytest.fixture
def build_ledger(tmp_path: Path) -> BuildLedger:
    """Write `tables` as a ledger and run `dbt <command>` over it.

    Returns the run and its database; `check=True` (default) fails the test
    when dbt fails.
    """
    counter = iter(range(1000))

    def _build(
        tables: Mapping[str, Sequence[Row]] | None = None,
        *,
        command: Sequence[str] = ("build",),
        ledger_dir: Path | None = None,
        fmt: str = "csv",
        extra_vars: Mapping[str, Any] | None = None,
        check: bool = True,
    ) -> BuiltLedger:
        run_dir = tmp_path / f"run{next(counter)}"
        run_dir.mkdir()
        if ledger_dir is None:
            ledger_dir = run_dir / "ledger"
            write_ledger(ledger_dir, tables or {}, fmt=fmt)
        # (csv, the default, is not passed: dbt's saved parse then serves
        # the runs that pass no vars too)
        dbt_vars: dict[str, Any] = {"ledger_path": str(ledger_dir)}
        if fmt != "csv":
            dbt_vars["ledger_format"] = fmt
        dbt_vars.update(extra_vars or {})
        db_path = tmp_path / "credits.duckdb"
        result = run_dbt(
            list(command), db_path=db_path, work_dir=run_dir, dbt_vars=dbt_vars
        )
        if check and not result.ok:
            pytest.fail(f"dbt {' '.join(command)} failed:\n{result.output[-8000:]}")
        return BuiltLedger(result, db_path)

    return _build


# `make test` builds and publishes the committed sample just before pytest
# and names the published file here, so that every module reading the sample
# shares that one build.
SAMPLE_DB_ENV = "CREDITS_TEST_SAMPLE_DB"


@pytest.fixture(scope="session")
def sample_build(tmp_path_factory: pytest.TempPathFactory) -> BuiltLedger:
    """The committed sample ledger, built with the project's defaults (read it
    only): the database `make test` published ($CREDITS_TEST_SAMPLE_DB), else
    a build of this worker's own."""
    shared = os.environ.get(SAMPLE_DB_ENV)
    if shared:
        if not Path(shared).exists():
            pytest.fail(f"{SAMPLE_DB_ENV}={shared} does not exist: run `make build`, or unset it")
        return BuiltLedger(None, Path(shared))
    work = tmp_path_factory.mktemp("sample")
    result = run_dbt(["build"], db_path=work / "credits.duckdb", work_dir=work,
                     dbt_vars={"ledger_path": "data/sample_ledger"})
    assert result.ok, result.output[-8000:]
    return BuiltLedger(result, work / "credits.duckdb")
