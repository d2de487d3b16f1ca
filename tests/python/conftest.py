"""Shared pytest fixtures: build the dbt project over a ledger in a temp dir."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import duckdb
import pytest

from credit_ledger.dbt_runner import PROJECT_DIR, DbtResult, run_dbt
from credit_ledger.ledger_files import write_ledger

Row = Mapping[str, Any]

# dbt's YAML unit tests check model SQL on fixed rows, whatever the ledger:
# `make test` runs them once (its dbt build step), so the dbt builds of
# pytest skip them (dbt reads --exclude-resource-type from this variable; a
# command's own flag wins).
os.environ.setdefault("DBT_EXCLUDE_RESOURCE_TYPES", "unit_test")


@dataclass
class BuiltLedger:
    """A dbt run over one ledger, with its DuckDB file to query."""

    result: DbtResult
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

SAMPLE_LEDGER = PROJECT_DIR / "data" / "sample_ledger"


@dataclass
class SampleBuild(BuiltLedger):
    """The sample's build, with the manifest.json it wrote (read right away:
    a later dbt command in its folder, e.g. `docs generate`, rewrites target/)."""

    manifest: dict[str, Any]


@pytest.fixture(scope="session")
def sample_ledger_build(tmp_path_factory: pytest.TempPathFactory) -> SampleBuild:
    """One `dbt build` of the committed sample ledger per pytest worker.

    Shared by the modules that only read it (or copy it): with `--dist
    loadscope` the modules that use it on one worker pay for one build.
    Tests read the file (or a copy) and change nothing in it.
    """
    work = tmp_path_factory.mktemp("sample")
    db_path = work / "db.duckdb"
    result = run_dbt(["build"], db_path=db_path, work_dir=work,
                     dbt_vars={"ledger_path": str(SAMPLE_LEDGER)})
    assert result.ok, result.output[-8000:]
    manifest = json.loads((work / "target" / "manifest.json").read_text())
    return SampleBuild(result, db_path, manifest)


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
        dbt_vars: dict[str, Any] = {"ledger_path": str(ledger_dir), "ledger_format": fmt}
        dbt_vars.update(extra_vars or {})
        db_path = tmp_path / "credits.duckdb"
        result = run_dbt(
            list(command), db_path=db_path, work_dir=run_dir, dbt_vars=dbt_vars
        )
        if check and not result.ok:
            pytest.fail(f"dbt {' '.join(command)} failed:\n{result.output[-8000:]}")
        return BuiltLedger(result, db_path)

    return _build
