"""The project on Apache Spark (dbt-spark, `method: session`, a local
session whose warehouse and metastore live in a temp folder) gives DuckDB's
rows.

One module fixture runs, in one child process (tests/python/spark_engine.py),
in order:

1. a ledger of seeded random FIFO users (tests/python/fifo_ledgers.py) plus
   the crafted dirty rows of tests/python/dirty_ledger.py, loaded by
   credit_ledger.load (`--target spark` does the same) and built up to the
   FIFO models, staging and dim_plans, with the FIFO unit tests (the
   function is visible to dbt's unit tests too) and dim_plans' (exact
   `_credits`); staging must equal DuckDB's build of the same ledger (run
   beside the Spark process);
   then the ledger tables are broken three ways and the on-run-start
   source check (`dbt run-operation validate_ledger_source`) must stop
   with its sentence each time;
2. the committed sample ledger, loaded over it, then the scheduled command
   (`dbt build` without unit tests, data tests included). The first run's
   tables are there, as after any earlier run; on Spark every run rebuilds
   whole (macros/spark/incremental.sql), so this run must equal a full
   refresh: DuckDB's build of the same ledger (fixture `sample_build`).

After each run the relations are copied out as Parquet; the sample's by a
new process whose session is built from the `spark` output's settings, so
it also proves that a later session sees what dbt built.
"""

from __future__ import annotations

import os
import random
import threading
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest

import spark_engine
from conftest import BuiltLedger
from credit_ledger.dbt_runner import PROJECT_DIR, DbtResult, run_dbt
from credit_ledger.ledger_files import COLUMNS, write_ledger
from dirty_ledger import NOW, STAGING, dirty_tables
from credit_ledger.spark_fifo import build_jar
from fifo_ledgers import as_tuples, random_user_ledger
from ledgers import RUN_ONLY_COLUMNS, RUN_ONLY_MODELS, SCHEDULED
from reference_fifo import Event, run_fifo

FIFO_USERS = 40
FIFO_FIRST_USER = 1001  # the crafted rows are user 1's
FIFO_AS_OF = datetime(2024, 1, 20, 7, 0, 0)
LOT_KEYS = ("lot_id", "user_id", "granted_at", "expires_at", "granted_milli",
            "consumed_milli", "debt_repaid_milli", "expired_milli", "remaining_milli")
ALLOCATION_KEYS = ("debit_id", "lot_id", "user_id", "allocated_at", "allocation_kind",
                   "amount_milli")
# models and the FIFO unit tests (int_credit_allocations, int_credit_lots);
# the sample build below runs the data tests. Spark takes 5-45 s per unit
# test, so the other models' unit tests are left to the DuckDB build.
OTHER_UNIT_TESTS = ("base_ledger__credit_histories", "int_credit_event_rules", "int_fifo_events",
                    "int_ledger_entries", "stg_ledger__plans", "stg_ledger__users")
FIFO_SELECT = ["build", "--select", "+int_credit_lots", "+int_credit_allocations",
               "+stg_ledger__quarantined_credit_histories", "stg_ledger__users",
               "stg_ledger__plans", "stg_ledger__credit_events", "stg_ledger__subscriptions",
               "dim_plans", "--exclude-resource-type", "test",
               "--exclude", *(f"resource_type:unit_test,{m}" for m in OTHER_UNIT_TESTS)]
FIFO_VARS = {"as_of": str(FIFO_AS_OF), "max_quarantined_share": 1, "now": NOW}
# the on-run-start source check over broken ledger tables: the Spark SQL
# that breaks them, then the sentence the check must stop with
SOURCE_CHECK = ["run-operation", "validate_ledger_source"]
_PLANS_COLUMNS = ", ".join(f"{c} string" for c in COLUMNS["plans"] if c != "price")
BROKEN_LEDGERS = [
    (["drop table ledger.plans",
      f"create table ledger.plans ({_PLANS_COLUMNS}) using parquet"],
     "ledger table ledger.plans is missing required column(s) price (found: "),
    (["drop table ledger.plans",
      f"create table ledger.plans ({_PLANS_COLUMNS}, price string, _source_file string, "
      "_source_row bigint) using parquet"],
     "ledger table plans is empty ('ledger.plans' has no rows): check the export job that "
     "wrote it, an empty export is almost always a failed one."),
    (["drop table ledger.plans"],
     "ledger table ledger.plans does not exist: load the export with python -m "
     "credit_ledger.load --target spark --ledger DIR (README)."),
]

# compared with DuckDB (seeds too: an empty cell must be a null)
COMPARED_SCHEMAS = ("config", "intermediate", "marts")


@dataclass
class SparkRuns:
    fifo_run: DbtResult
    fifo_events: list[Event]
    fifo_dump: Path
    sample_run: DbtResult
    sample_dump: Path
    duckdb_staging: Path
    source_check_errors: list[str]


def _fifo_ledger() -> tuple[list[dict[str, Any]], list[Event]]:
    rng = random.Random(20241201)
    rows: list[dict[str, Any]] = []
    events: list[Event] = []
    next_id = 100_001
    for user_id in range(FIFO_FIRST_USER, FIFO_FIRST_USER + FIFO_USERS):
        user_rows, user_events = random_user_ledger(rng, user_id, next_id)
        next_id += len(user_rows)
        rows += user_rows
        events += user_events
    return rows, events


def _dbt_result(step_result: dict[str, Any]) -> DbtResult:
    return DbtResult(0 if step_result["ok"] else 1, "", step_result["results"])


@pytest.fixture(scope="module")
def spark_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkRuns]:
    try:
        spark_engine.require_java()
    except RuntimeError as missing:
        pytest.fail(str(missing))
    build_jar()
    work = tmp_path_factory.mktemp("spark")
    saved = os.environ.get("CREDITS_SPARK_DIR")
    os.environ["CREDITS_SPARK_DIR"] = str(work / "warehouse")
    try:
        rows, events = _fifo_ledger()
        fifo_ledger = work / "fifo_ledger"
        write_ledger(fifo_ledger, dirty_tables(rows))
        # DuckDB's staging of the same ledger, built while Spark runs
        duck = work / "duck"
        duck.mkdir()
        duck_result: list[DbtResult] = []
        duck_build = threading.Thread(target=lambda: duck_result.append(run_dbt(
            STAGING, db_path=duck / "credits.duckdb", work_dir=duck,
            dbt_vars={**FIFO_VARS, "ledger_path": str(fifo_ledger)})))
        duck_build.start()
        steps: list[dict[str, Any]] = [
            {"load": str(fifo_ledger)},
            # the FIFO unit tests run here (conftest excludes unit tests by
            # default: its variable is unset for this step)
            {"dbt": FIFO_SELECT, "vars": FIFO_VARS, "env": {"DBT_EXCLUDE_RESOURCE_TYPES": None}},
            {"dump": str(work / "fifo_dump"), "schemas": ["staging", "intermediate"]},
        ]
        check_steps = []
        for statements, _ in BROKEN_LEDGERS:
            steps += [{"sql": statements}, {"dbt": SOURCE_CHECK, "fails": True}]
            check_steps.append(len(steps) - 1)
        steps += [
            {"load": str(PROJECT_DIR / "data" / "sample_ledger")},
            {"dbt": SCHEDULED, "env": {"DBT_EXCLUDE_RESOURCE_TYPES": "unit_test"}},
        ]
        # the sample's relations are read by a new process: the build
        # persists in CREDITS_SPARK_DIR
        dump = [{"dump": str(work / "sample_dump"), "schemas": [*COMPARED_SCHEMAS, "default"]}]
        try:
            results = spark_engine.run_steps(steps, work)
            spark_engine.run_steps(dump, work)
        except RuntimeError as failed:
            pytest.fail(str(failed))
        finally:
            duck_build.join()
        assert duck_result and duck_result[0].ok, duck_result[0].output[-8000:]
        checks = [" ".join(" ".join(results[i]["errors"]).split()) for i in check_steps]
        yield SparkRuns(_dbt_result(results[1]), events, work / "fifo_dump",
                        _dbt_result(results[-1]), work / "sample_dump", duck / "credits.duckdb",
                        checks)
    finally:
        if saved is None:
            os.environ.pop("CREDITS_SPARK_DIR", None)
        else:
            os.environ["CREDITS_SPARK_DIR"] = saved


def test_every_seed_intermediate_model_and_mart_equals_duckdb(
    spark_runs: SparkRuns, sample_build: BuiltLedger
) -> None:
    compared, differences = spark_engine.compare_with_duckdb(
        spark_runs.sample_dump, sample_build.db_path, COMPARED_SCHEMAS,
        RUN_ONLY_MODELS, RUN_ONLY_COLUMNS)
    assert compared > 30
    assert differences == []


def test_the_scheduled_run_passed_and_was_a_full_refresh(spark_runs: SparkRuns) -> None:
    runs = spark_engine.read_dumped(
        spark_runs.sample_dump, "default.credit_ledger_build_runs",
        "select run_number, command, is_full_refresh, passed, finished_at is not null as ended "
        "from t order by run_number, ended")
    # each run: its start, then its end; the first (partial) run did not pass
    assert [(r["run_number"], r["is_full_refresh"], r["passed"], r["ended"]) for r in runs] == [
        (1, True, False, False), (1, True, False, True),
        (2, True, False, False), (2, True, True, True)]
    statuses = {r["status"] for r in spark_runs.sample_run.results}
    assert statuses <= {"success", "pass", "no-op"}, statuses  # no-op: hooks
    assert any(r["unique_id"].startswith("test.") for r in spark_runs.sample_run.results)


def test_fifo_matches_the_reference_on_spark(spark_runs: SparkRuns) -> None:
    reference = run_fifo(spark_runs.fifo_events, as_of=FIFO_AS_OF)
    expected_lots = as_tuples([asdict(lot) for lot in reference.lots.values()], LOT_KEYS)
    expected_allocations = sorted(reference.allocations, key=repr)
    users = f"user_id >= {FIFO_FIRST_USER}"
    got_lots = as_tuples(_naive(spark_engine.read_dumped(
        spark_runs.fifo_dump, "intermediate.int_credit_lots", f"select * from t where {users}")),
        LOT_KEYS)
    got_allocations = as_tuples(_naive(spark_engine.read_dumped(
        spark_runs.fifo_dump, "intermediate.int_credit_allocations",
        f"select * from t where {users}")), ALLOCATION_KEYS)
    assert {a[4] for a in expected_allocations} == {"consumption", "debt_repayment", "unfunded"}
    assert len(expected_allocations) > 100
    assert got_lots == expected_lots
    assert got_allocations == expected_allocations
    unit_tests = [r for r in spark_runs.fifo_run.results
                  if r["unique_id"].startswith("unit_test.")]
    assert unit_tests and {r["status"] for r in unit_tests} == {"pass"}


def _naive(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """UTC instants as the reference's naive datetimes."""
    return [{k: v.astimezone(timezone.utc).replace(tzinfo=None)
             if isinstance(v, datetime) and v.tzinfo else v for k, v in row.items()}
            for row in rows]


def test_crafted_dirty_rows_stage_as_on_duckdb(spark_runs: SparkRuns) -> None:
    """tests/python/dirty_ledger.py's rows (and the generated FIFO users')
    through staging: the same parsed values, flags and quarantine reasons
    as DuckDB's build of the same ledger."""
    reasons = {r["quarantine_reason"] for r in spark_engine.read_dumped(
        spark_runs.fifo_dump, "staging.stg_ledger__quarantined_credit_histories")}
    assert {"unparseable_amount", "unparseable_created_at", "unparseable_id", "duplicate_id",
            "amount_out_of_range", "created_at_in_future"} <= reasons
    compared, differences = spark_engine.compare_with_duckdb(
        spark_runs.fifo_dump, spark_runs.duckdb_staging, ("staging", "intermediate"),
        RUN_ONLY_MODELS, RUN_ONLY_COLUMNS | {"source_row_key", "source_row_hash"})
    assert compared >= 7
    assert differences == []


def test_plan_credits_are_exact_on_spark(spark_runs: SparkRuns) -> None:
    """dim_plans' unit test: 9,499,999,999,999,997 milli-credits are
    9499999999999.997 credits (a decimal, never a double)."""
    statuses = {r["unique_id"].rsplit(".", 1)[-1]: r["status"]
                for r in spark_runs.fifo_run.results if r["unique_id"].startswith("unit_test.")}
    assert statuses.get("plan_credits_are_exact_decimals") == "pass", statuses


def test_source_check_stops_with_one_sentence(spark_runs: SparkRuns) -> None:
    """A missing documented column, an empty table and a missing table each
    stop the on-run-start check with the sentence that says what to do."""
    for errors, (_, sentence) in zip(spark_runs.source_check_errors, BROKEN_LEDGERS):
        assert sentence in errors, errors[-3000:]
