"""PostgreSQL gives DuckDB's rows.

One throwaway server for the module (credit_ledger/pg_server.py: initdb as `postgres`,
127.0.0.1, a free port, timezone America/New_York so that nothing may
depend on the server's zone). Each ledger goes to its own database, loaded
by `python -m credit_ledger.load --target postgres`, then built with
`dbt build --target postgres`:

* the committed sample, built once with every data test and unit test;
  every intermediate model and mart equals DuckDB's sample build as a
  multiset of rows (run-specific columns aside);
* generated FIFO ledgers: lots and pieces equal the plain-Python reference;
* a crafted dirty ledger through staging: the same parsed values, flags and
  quarantine reasons as DuckDB;
* an incremental sequence equals a full refresh;
* the readers: `mf query` (the semantic layer), `dbt source freshness` and
  the dashboard (streamlit's AppTest, no browser) give on the PostgreSQL
  sample what they give on DuckDB's.

Missing PostgreSQL fails (pg_server.PostgresMissing), never skips.
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator, Sequence

import psycopg2
import pytest

from conftest import BuiltLedger
from credit_ledger.dbt_runner import PROJECT_DIR, call_dbt, run_dbt
from credit_ledger.ledger_files import COLUMNS, write_ledger
from fifo_ledgers import as_tuples, random_ledgers
from ledgers import (
    MODELS_ONLY, RUN_ONLY_COLUMNS, RUN_ONLY_MODELS, SCHEDULED, generated_ledger, ledger,
    write_rows,
)
from credit_ledger.pg_server import create_database, pg_server
from dirty_ledger import NOW, STAGING, STAGING_RELATIONS, dirty_tables
from reference_fifo import run_fifo

# columns that differ between runs (and engines) by design
RUN_SPECIFIC = RUN_ONLY_COLUMNS | {"invocation_id", "run_started_at", "finished_at"}


class Postgres:
    """The module's server: one database per ledger, dbt and the loader
    pointed at it through the CREDITS_PG_* variables."""

    def __init__(self, env: dict[str, str], work: Path) -> None:
        self.env = env
        self.work = work

    def environment(self, database: str) -> dict[str, str]:
        env = {**os.environ, **self.env, "CREDITS_PG_DATABASE": database,
               "DO_NOT_TRACK": "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(PROJECT_DIR), env.get("PYTHONPATH")) if p)
        return env

    def connect(self, database: str) -> Any:
        return psycopg2.connect(host=self.env["CREDITS_PG_HOST"],
                                port=int(self.env["CREDITS_PG_PORT"]),
                                user=self.env["CREDITS_PG_USER"], dbname=database)

    def create_database(self, database: str) -> None:
        create_database(self.env, database)

    def load(self, database: str, ledger_dir: Path) -> None:
        completed = subprocess.run(
            [sys.executable, "-m", "credit_ledger.load", "--target", "postgres",
             "--ledger", str(ledger_dir)],
            cwd=PROJECT_DIR, env=self.environment(database), capture_output=True, text=True)
        assert completed.returncode == 0, completed.stderr[-3000:]

    def dbt(self, database: str, args: Sequence[str], name: str,
            dbt_vars: dict[str, Any] | None = None, unit_tests: bool = False,
            fails: bool = False) -> str:
        # one target folder for the module: dbt's partial parsing then skips
        # most of the ~10 s parse on every call but the first (calls here
        # run one after another)
        env = self.environment(database)
        env.update(DBT_TARGET_PATH=str(self.work / "target"),
                   DBT_LOG_PATH=str(self.work / "logs" / name))
        if unit_tests:
            env.pop("DBT_EXCLUDE_RESOURCE_TYPES", None)
        command = [*args, "--target", "postgres",
                   "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR)]
        if dbt_vars:
            command += ["--vars", json.dumps(dbt_vars)]
        returncode, output = call_dbt(command, env, PROJECT_DIR)
        assert (returncode != 0) == fails, (
            f"dbt {' '.join(args)} on {database}:\n{output[-8000:]}")
        return output

    def execute(self, database: str, *statements: str) -> None:
        con = self.connect(database)
        try:
            with con, con.cursor() as cursor:
                for statement in statements:
                    cursor.execute(statement)
        finally:
            con.close()

    def dicts(self, database: str, sql: str) -> list[dict[str, Any]]:
        con = self.connect(database)
        try:
            with con.cursor() as cursor:
                cursor.execute(sql)
                names = [d[0] for d in cursor.description]
                return [dict(zip(names, row)) for row in cursor.fetchall()]
        finally:
            con.close()

    def relations(self, database: str) -> list[tuple[str, str]]:
        return [(r["table_schema"], r["table_name"]) for r in self.dicts(
            database,
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('staging', 'intermediate', 'marts') order by 1, 2")]


@pytest.fixture(scope="module")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Postgres]:
    with pg_server(force_parallel=True) as env:
        yield Postgres(env, tmp_path_factory.mktemp("pg"))


@pytest.fixture(scope="module")
def pg_sample(postgres: Postgres) -> str:
    """The committed sample on PostgreSQL, built once with every data test
    and unit test (the FIFO ones included)."""
    postgres.load("credits", PROJECT_DIR / "data" / "sample_ledger")
    postgres.dbt("credits", ["build"], "sample", unit_tests=True)
    # what `mf` reads, as this build wrote it (later runs here rewrite target/)
    shutil.copy(postgres.work / "target" / "semantic_manifest.json",
                postgres.work / "sample_semantic_manifest.json")
    return "credits"


# ------------------------------------------------------------- comparisons


def _value(value: Any) -> Any:
    """A hashable, engine-neutral form: exact numbers stay exact (int and
    Decimal hash alike), floats to ~1e-10 relative."""
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return repr(value)
        return float(f"{value:.10e}")
    if isinstance(value, Decimal):
        return value.normalize() if value == value.to_integral_value() else value
    return value


def _rows(dicts: list[dict[str, Any]], columns: Sequence[str]) -> Counter:
    return Counter(tuple(_value(d[c]) for c in columns) for d in dicts)


def assert_same_rows(name: str, expected: list[dict[str, Any]], got: list[dict[str, Any]],
                     skip: set[str] = RUN_SPECIFIC) -> None:
    if not expected and not got:
        return
    expected_columns = list(expected[0]) if expected else list(got[0])
    got_columns = list(got[0]) if got else expected_columns
    assert got_columns == expected_columns, f"{name}: columns differ"
    columns = [c for c in expected_columns if c not in skip]
    want, have = _rows(expected, columns), _rows(got, columns)
    if want != have:
        missing = list((want - have).elements())[:3]
        extra = list((have - want).elements())[:3]
        pytest.fail(f"{name}: {sum((want - have).values())} DuckDB rows missing on PostgreSQL, "
                    f"{sum((have - want).values())} extra\ncolumns {columns}\n"
                    f"DuckDB only: {missing}\nPostgreSQL only: {extra}")


def _duckdb_relations(built: BuiltLedger, schemas: tuple[str, ...]) -> list[tuple[str, str]]:
    placeholders = ", ".join("?" for _ in schemas)
    return built.rows(
        "select table_schema, table_name from information_schema.tables "
        f"where table_schema in ({placeholders}) order by 1, 2", list(schemas))


# ----------------------------------------------------------------- sample


def test_sample_builds_every_relation(postgres: Postgres, pg_sample: str,
                                      sample_build: BuiltLedger) -> None:
    expected = _duckdb_relations(sample_build, ("staging", "intermediate", "marts"))
    assert postgres.relations(pg_sample) == expected


@pytest.fixture(scope="module")
def sample_relations(sample_build: BuiltLedger) -> list[tuple[str, str]]:
    return _duckdb_relations(sample_build, ("intermediate", "marts"))


def test_sample_models_equal_duckdb(postgres: Postgres, pg_sample: str,
                                    sample_build: BuiltLedger,
                                    sample_relations: list[tuple[str, str]]) -> None:
    assert len(sample_relations) > 25
    assert sum(1 for schema, table in sample_relations
               if sample_build.scalar(f'select count(*) from {schema}."{table}"')) > 20
    failures = []
    # what one run recomputed differs between a first build and a rebuild
    # (the published sample may be either)
    for schema, table in sample_relations:
        if table in RUN_ONLY_MODELS:
            continue
        query = f'select * from {schema}."{table}"'
        try:
            assert_same_rows(f"{schema}.{table}", sample_build.dicts(query),
                             postgres.dicts(pg_sample, query))
        except pytest.fail.Exception as failure:
            failures.append(str(failure))
    assert not failures, "\n\n".join(failures)


def test_sample_timestamps_ignore_the_server_time_zone(postgres: Postgres, pg_sample: str,
                                                       sample_build: BuiltLedger) -> None:
    assert postgres.dicts(pg_sample, "show timezone")[0]["TimeZone"] == "America/New_York"
    query = ("select min(occurred_at) as first_at, max(occurred_at) as last_at "
             "from intermediate.int_ledger_entries")
    assert postgres.dicts(pg_sample, query) == sample_build.dicts(query)


# ---------------------------------------------------------------- readers

# `mf query` arguments: flows and month-end balances by month, the plan at
# the time under a filter, and the semi-additive balances of the whole
# period (tests/python/test_semantic_layer.py, the README's examples)
MF_QUERIES = [
    ["--metrics", "consumed_milli_credits,consumed_credits,expired_milli_credits,"
     "deferred_revenue_minor,billed_minor,recognised_revenue_minor",
     "--group-by", "metric_time__month"],
    ["--metrics", "consumed_milli_credits,granted_milli_credits,allocated_milli_credits,"
     "utilisation,recognised_revenue_minor",
     "--group-by", "plan__plan_name,plan__plan_tier",
     "--where", "{{ Dimension('plan__plan_tier') }} != 'basic'"],
    ["--metrics", "deferred_revenue_minor,opening_deferred_revenue_minor,billed_minor,"
     "consumed_milli_credits,spendable_balance"],
]
MF_MIN_ROWS = [13, 3, 1]  # rows at least: months, plans but basic, the period


def _mf_cell(value: str) -> Any:
    """A CSV cell, engine-neutral: numbers exactly when integral (PostgreSQL
    prints `8166550.0` where DuckDB prints `8166550`), else to ~1e-10."""
    try:
        number = Decimal(value)
    except ArithmeticError:
        return value
    if number == number.to_integral_value():
        return int(number)
    return float(f"{float(number):.10e}")


def _mf_query(project: Path, env: dict[str, str], args: Sequence[str],
              out: Path) -> Counter:
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "mf"), "query", *args, "--csv", str(out), "--quiet"],
        cwd=project, env=env, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0 and out.exists(), completed.stdout + completed.stderr
    with out.open(newline="") as handle:
        rows = list(csv.reader(handle))
    return Counter([tuple(rows[0])] + [tuple(_mf_cell(v) for v in row) for row in rows[1:]])


def test_mf_queries_equal_duckdb(postgres: Postgres, pg_sample: str,
                                 sample_build: BuiltLedger, tmp_path: Path) -> None:
    """`DBT_TARGET=postgres mf query` on the PostgreSQL sample gives the rows
    `DBT_TARGET=published mf query` gives on DuckDB's. `mf` reads
    target/semantic_manifest.json of the directory it runs in, so it runs in
    a copy of the project (links) whose target/ holds the manifest the
    PostgreSQL build wrote."""
    project = tmp_path / "project"
    (project / "target").mkdir(parents=True)
    for entry in PROJECT_DIR.iterdir():
        if entry.name not in ("target", "logs"):
            (project / entry.name).symlink_to(entry)
    manifest = project / "target" / "semantic_manifest.json"
    shutil.copy(postgres.work / "sample_semantic_manifest.json", manifest)
    # the relations are "credits"."marts"."...": the PostgreSQL database, and
    # the name the `published` output attaches DuckDB's file under
    assert {m["node_relation"]["database"] for m in json.loads(
        manifest.read_text())["semantic_models"]} == {pg_sample}
    pg_env = {**postgres.environment(pg_sample), "DBT_TARGET": "postgres"}
    duck_env = {**os.environ, "DBT_TARGET": "published", "DO_NOT_TRACK": "1",
                "CREDITS_PUBLISH_PATH": str(sample_build.db_path)}
    for env in (pg_env, duck_env):
        for name in ("DBT_TARGET_PATH", "DBT_LOG_PATH", "CREDITS_DB_PATH", "DBT_PROJECT_DIR",
                     "DBT_PROFILES_DIR"):
            env.pop(name, None)
    for number, args in enumerate(MF_QUERIES):
        duck = _mf_query(project, duck_env, args, tmp_path / f"duckdb{number}.csv")
        got = _mf_query(project, pg_env, args, tmp_path / f"postgres{number}.csv")
        assert sum(duck.values()) - 1 >= MF_MIN_ROWS[number], (args, duck)  # a header
        assert got == duck, f"mf query {' '.join(args)}:\nDuckDB only {duck - got}\n" \
            f"PostgreSQL only {got - duck}"


def test_source_freshness_at_the_samples_clock(postgres: Postgres, pg_sample: str) -> None:
    """The DuckDB check of test_sample_ledger.py at the sample's export time:
    PASS, and the age DuckDB measures: from the latest `updated_at`
    (2026-02-06 18:09 UTC) to var `now`, plus the seconds the command ran.
    (Its ERROR case differs only in `now`; each run costs a full parse.)"""
    output = postgres.dbt(pg_sample, ["source", "freshness"], "freshness",
                          dbt_vars={"now": "2026-02-07 00:00:00"})
    [result] = json.loads((postgres.work / "target" / "sources.json").read_text())["results"]
    assert result["status"] == "pass", output[-3000:]
    age = result["max_loaded_at_time_ago_in_s"]
    assert (5 * 3600 + 50 * 60) < age < (5 * 3600 + 51 * 60 + 300), age


DASHBOARD_PAGES = ["credit-burn", "plan-utilisation", "finance-reconciliation",
                   "finance-revenue", "credit-health"]


def _dashboard_page(url_path: str, plan_id: int | None) -> None:
    """One dashboard page as AppTest runs it (a function's source, run alone)."""
    from credit_ledger import dashboard

    filters = dashboard.sidebar_filters()
    if plan_id is not None:
        filters = dashboard.Filters(filters.start, filters.end, plan_id, None)
    render = next(page for page, _, url in dashboard.PAGES if url == url_path)
    render(filters)


def _dashboard_figures(plan_id: int | None = None) -> dict[str, Any]:
    from streamlit.testing.v1 import AppTest

    figures: dict[str, Any] = {}
    for url in DASHBOARD_PAGES:
        app = AppTest.from_function(_dashboard_page, args=(url, plan_id),
                                    default_timeout=120).run()
        assert not app.exception, [e.value for e in app.exception]
        figures[url] = ([(m.label, m.value) for m in app.metric],
                        [frame.value.reset_index(drop=True) for frame in app.dataframe])
    return figures


def test_dashboard_reads_postgres(postgres: Postgres, pg_sample: str, sample_build: BuiltLedger,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """With DBT_TARGET=postgres every page of the dashboard shows the figures
    and tables it shows over DuckDB's sample, unfiltered and for one plan."""
    import pandas as pd

    monkeypatch.delenv("DBT_TARGET", raising=False)
    monkeypatch.setenv("CREDITS_PUBLISH_PATH", str(sample_build.db_path))
    duckdb_figures = [_dashboard_figures(), _dashboard_figures(plan_id=2)]
    for name, value in postgres.environment(pg_sample).items():
        if name.startswith("CREDITS_PG_"):
            monkeypatch.setenv(name, value)
    monkeypatch.setenv("DBT_TARGET", "postgres")
    monkeypatch.setenv("CREDITS_PUBLISH_PATH", str(postgres.work / "no-such.duckdb"))
    pg_figures = [_dashboard_figures(), _dashboard_figures(plan_id=2)]
    headline = dict(duckdb_figures[0]["credit-burn"][0])
    assert headline["Consumed (credits)"] != "0.0"
    assert dict(pg_figures[0]["finance-revenue"][0]) == dict(
        duckdb_figures[0]["finance-revenue"][0])
    for expected, got in zip(duckdb_figures, pg_figures):
        for url in DASHBOARD_PAGES:
            assert got[url][0] == expected[url][0], url
            assert len(got[url][1]) == len(expected[url][1]) > 0, url
            for want, have in zip(expected[url][1], got[url][1]):
                pd.testing.assert_frame_equal(have, want, check_dtype=False, rtol=1e-9)


# ------------------------------------------------------------------- FIFO


def test_fifo_matches_the_reference(postgres: Postgres) -> None:
    rows, events = random_ledgers(seed=20241121, count=40)
    directory = postgres.work / "fifo_ledger"
    write_ledger(directory, ledger(rows))
    postgres.create_database("fifo")
    postgres.load("fifo", directory)
    postgres.dbt("fifo", ["build", "--select", "+int_credit_lots", "+int_credit_allocations",
                          "--indirect-selection", "cautious"], "fifo")
    reference = run_fifo(events, as_of=None)
    lot_keys = ("lot_id", "user_id", "granted_at", "expires_at", "granted_milli",
                "consumed_milli", "debt_repaid_milli", "expired_milli", "remaining_milli")
    piece_keys = ("debit_id", "lot_id", "user_id", "allocated_at", "allocation_kind",
                  "amount_milli")
    expected_pieces = sorted(reference.allocations, key=repr)
    assert {p[4] for p in expected_pieces} == {"consumption", "debt_repayment", "unfunded"}
    assert as_tuples(postgres.dicts("fifo", "select * from intermediate.int_credit_lots"),
                     lot_keys) == as_tuples([asdict(lot) for lot in reference.lots.values()],
                                            lot_keys)
    assert as_tuples(postgres.dicts("fifo", "select * from intermediate.int_credit_allocations"),
                     piece_keys) == expected_pieces


# ------------------------------------------------------------- bad inputs

def test_dirty_ledger_stages_alike(postgres: Postgres, tmp_path: Path) -> None:
    directory = tmp_path / "dirty"
    write_ledger(directory, dirty_tables())
    dbt_vars = {"max_quarantined_share": 1, "now": NOW}
    duck = tmp_path / "duck"
    duck.mkdir()
    result = run_dbt(STAGING, db_path=duck / "credits.duckdb", work_dir=duck,
                     dbt_vars={**dbt_vars, "ledger_path": str(directory)})
    assert result.ok, result.output[-8000:]
    duckdb_build = BuiltLedger(result, duck / "credits.duckdb")
    postgres.create_database("dirty")
    postgres.load("dirty", directory)
    postgres.dbt("dirty", STAGING, "dirty", dbt_vars=dbt_vars)
    reasons = {r["quarantine_reason"] for r in duckdb_build.dicts(
        "select quarantine_reason from staging.stg_ledger__quarantined_credit_histories")}
    assert {"unparseable_amount", "unparseable_created_at", "unparseable_id", "duplicate_id",
            "amount_out_of_range", "created_at_in_future"} <= reasons
    for relation, skip in STAGING_RELATIONS.items():
        query = f"select * from {relation}"
        assert_same_rows(relation, duckdb_build.dicts(query), postgres.dicts("dirty", query),
                         skip=RUN_SPECIFIC | skip)


# ------------------------------------------------------- bad-input stops


def _ledger_table(table: str, columns: Sequence[str], rows: int = 1) -> list[str]:
    quoted = ", ".join(f'"{c}" text' for c in columns)
    statements = [f"drop table if exists ledger.{table}",
                  f"create table ledger.{table} ({quoted}, _source_file text, _source_row bigint)"]
    if rows:
        statements.append(f"insert into ledger.{table} (_source_row) values (1)")
    return statements


def _flat(output: str) -> str:
    """dbt's output on one line (it may wrap a long message)."""
    return " ".join(output.split())


def test_source_check_stops_with_one_sentence(postgres: Postgres) -> None:
    """default__validate_ledger_source (the on-run-start check) on tables a
    loader left: a missing table, a missing documented column and an empty
    table each stop the run with one sentence saying what to do. A database
    of its own; `dbt run-operation` runs the check alone."""
    postgres.create_database("badinput")
    postgres.execute("badinput", "create schema ledger", *(
        statement for table, columns in COLUMNS.items()
        for statement in _ledger_table(table, columns)))
    check = ["run-operation", "validate_ledger_source"]
    # a table loaded without the documented column price
    postgres.execute("badinput", *_ledger_table(
        "plans", [c for c in COLUMNS["plans"] if c != "price"]))
    output = _flat(postgres.dbt("badinput", check, "missing_column", fails=True))
    assert "ledger table ledger.plans is missing required column(s) price (found: " in output, output[-3000:]
    assert ("): load the export again with python -m credit_ledger.load --target postgres "
            "--ledger DIR, or make your loader write every documented column" in output), output[-3000:]
    # an empty table
    postgres.execute("badinput", *_ledger_table("plans", COLUMNS["plans"], rows=0))
    output = _flat(postgres.dbt("badinput", check, "empty", fails=True))
    assert ("ledger table plans is empty ('ledger.plans' has no rows): check the export job "
            "that wrote it, an empty export is almost always a failed one." in output), output[-3000:]
    # no table at all
    postgres.execute("badinput", "drop table ledger.plans")
    output = _flat(postgres.dbt("badinput", check, "missing_table", fails=True))
    assert ("ledger table ledger.plans does not exist: load the export with python -m "
            "credit_ledger.load --target postgres --ledger DIR (README)." in output), output[-3000:]


def test_loader_stops_with_one_sentence(tmp_path: Path) -> None:
    """The loader checks the export before it connects: no server needed."""
    def load(ledger_dir: Path) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "CREDITS_PG_PORT": "1"}
        return subprocess.run(
            [sys.executable, "-m", "credit_ledger.load", "--target", "postgres",
             "--ledger", str(ledger_dir)],
            cwd=PROJECT_DIR, env=env, capture_output=True, text=True)

    missing = load(tmp_path / "nowhere")
    assert missing.returncode == 1
    assert missing.stderr == (f"credit_ledger.load: ledger directory '{tmp_path / 'nowhere'}' "
                              "does not exist.\n")
    write_ledger(tmp_path / "partial", dirty_tables())
    (tmp_path / "partial" / "plans.csv").unlink()
    partial = load(tmp_path / "partial")
    assert partial.returncode == 1
    plans = tmp_path / "partial" / "plans"
    assert partial.stderr == (
        f"credit_ledger.load: ledger file '{plans}.csv' is missing (nor is there a folder "
        f"'{plans}/' of .csv files): export table plans to one of them.\n")


# ------------------------------------------------------------ incremental


def test_incremental_sequence_equals_full_refresh(postgres: Postgres, tmp_path: Path) -> None:
    directory, header, rows = generated_ledger(tmp_path, users=10, months=3, seed=5)
    col = {name: i for i, name in enumerate(header)}
    n = len(rows)
    first, second = int(n * 0.6), int(n * 0.85)
    late = rows[first // 2: first // 2 + 10]
    initial = rows[: first // 2] + rows[first // 2 + 10: first]
    reexported = []
    for row in initial[:: max(1, len(initial) // 6)][:6]:
        copy = list(row)
        copy[col["updated_at"]] = "2099-01-01 00:00:00"
        copy[col["description"]] = "re-exported"
        reexported.append(copy)
    broken = list(rows[second])
    broken[col["id"]], broken[col["amount"]] = "90000001", "oops"
    # two scheduled runs (the second appends, loads late rows, re-exports
    # and a broken row), then the rest with a full refresh beside it
    steps = [initial,
             initial + rows[first:second] + late + reexported + [broken] + rows[second:]]
    postgres.create_database("incremental")
    for step, loaded in enumerate(steps):
        write_rows(directory / "credit_histories.csv", header, loaded)
        postgres.load("incremental", directory)
        postgres.dbt("incremental", SCHEDULED, f"step{step}")
        if step:
            affected = postgres.dicts(
                "incremental", "select count(*) as users, count(*) filter (where is_rebuilt) "
                "as rebuilt from intermediate.int_affected_users")[0]
            assert affected["users"] > affected["rebuilt"], affected
    postgres.create_database("rebuilt")
    postgres.load("rebuilt", directory)
    postgres.dbt("rebuilt", MODELS_ONLY + ["--full-refresh"], "rebuilt")
    relations = postgres.relations("rebuilt")
    assert postgres.relations("incremental") == relations and len(relations) > 20
    failures = []
    for schema, table in relations:
        if table in RUN_ONLY_MODELS:
            continue
        query = f'select * from {schema}."{table}"'
        try:
            assert_same_rows(f"{schema}.{table}", postgres.dicts("rebuilt", query),
                             postgres.dicts("incremental", query))
        except pytest.fail.Exception as failure:
            failures.append(str(failure))
    assert not failures, "\n\n".join(failures)
