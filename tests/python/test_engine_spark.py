"""The project on Apache Spark (dbt-spark, `method: session`, a local
session whose warehouse and metastore live in a temp folder) gives DuckDB's
rows.

One module fixture runs, in one child process (tests/python/spark_engine.py),
in order:

1. a ledger of seeded random FIFO users (tests/python/fifo_ledgers.py) plus
   the crafted dirty rows of test_staging.py, loaded by credit_ledger.load
   (`--target spark` does the same) and built up to the FIFO models and the
   quarantine, with the FIFO unit tests (the function is visible to dbt's
   unit tests too);
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
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest

import spark_engine
from conftest import BuiltLedger
from credit_ledger.dbt_runner import PROJECT_DIR, DbtResult
from credit_ledger.ledger_files import write_ledger
from credit_ledger.spark_fifo import build_jar
from fifo_ledgers import as_tuples, random_user_ledger
from ledgers import RUN_ONLY_COLUMNS, RUN_ONLY_MODELS, SCHEDULED, ledger
from reference_fifo import Event, run_fifo
from test_staging import CLEAN, DIRTY

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
               "+stg_ledger__quarantined_credit_histories", "--exclude-resource-type", "test",
               "--exclude", *(f"resource_type:unit_test,{m}" for m in OTHER_UNIT_TESTS)]

# compared with DuckDB (seeds too: an empty cell must be a null)
COMPARED_SCHEMAS = ("config", "intermediate", "marts")


@dataclass
class SparkRuns:
    fifo_run: DbtResult
    fifo_events: list[Event]
    fifo_dump: Path
    sample_run: DbtResult
    sample_dump: Path


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
        write_ledger(fifo_ledger, ledger(rows + CLEAN + DIRTY))
        steps = [
            {"load": str(fifo_ledger)},
            # the FIFO unit tests run here (conftest excludes unit tests by
            # default: its variable is unset for this step)
            {"dbt": FIFO_SELECT, "vars": {"as_of": str(FIFO_AS_OF), "max_quarantined_share": 1},
             "env": {"DBT_EXCLUDE_RESOURCE_TYPES": None}},
            {"dump": str(work / "fifo_dump"), "schemas": ["staging", "intermediate"]},
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
        yield SparkRuns(_dbt_result(results[1]), events, work / "fifo_dump",
                        _dbt_result(results[4]), work / "sample_dump")
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


# the crafted rows of test_staging.py, as its assertions expect them
EXPECTED_REASONS = {
    "<null>/-1.0/2024-03-02 10:00:00": "missing_id",
    "x1/-1.0/2024-03-02 10:00:00": "unparseable_id",
    "2.4/-1.0/2024-03-02 10:00:00": "unparseable_id",
    "1e3/-1.0/2024-03-02 10:00:00": "unparseable_id",
    "27/-1.0/2024-03-02 10:00:00": "unparseable_user_id",
    "20/-1.0/2024-03-02 10:00:00": "missing_user_id",
    "21//2024-03-02 10:00:00": "missing_amount",
    "22/abc/2024-03-02 10:00:00": "unparseable_amount",
    "23/12,5/2024-03-02 10:00:00": "unparseable_amount",
    "24/-1.0/not-a-date": "unparseable_created_at",
    "25/-1.0/2024-02-30 10:00:00": "unparseable_created_at",
    "26/-1.0/": "missing_created_at",
}
# id: (amount_milli, occurred_at, has_sub_milli_precision, is_known_event,
#      credit_type, expires_at, has_malformed_meta_data, has_sign_mismatch)
EXPECTED_CLEAN = {
    1: (100_000, datetime(2024, 3, 1, 10), False, True, "allocation",
        datetime(2024, 4, 1, 10), False, False),
    2: (-300, datetime(2024, 3, 1, 11), False, True, None, None, False, False),
    3: (-1750, datetime(2024, 3, 1, 12, 0, 0, 123456), False, True, None, None, False, False),
    4: (-1000, datetime(2024, 3, 1, 13, 0, 0, 500000), False, True, None, None, False, False),
    5: (-1235, datetime(2024, 3, 1, 14), True, True, None, None, False, False),
    6: (2000, datetime(2024, 3, 1, 15), False, False, "other", None, False, False),
    7: (20_000, datetime(2024, 3, 1, 16), False, True, "promotional",
        datetime(2024, 3, 31, 16), True, False),
    8: (4000, datetime(2024, 3, 1, 17), False, True, "refund", None, False, True),
    9: (-3000, datetime(2024, 3, 1, 18), False, True, None, None, False, True),
    10: (20_000, datetime(2024, 3, 1, 19), False, True, "promotional",
         datetime(2024, 3, 15), False, False),
    11: (50_000, datetime(2024, 3, 1, 20), False, True, "purchase", None, False, False),
}


def test_crafted_dirty_rows_get_the_same_reasons_and_flags(spark_runs: SparkRuns) -> None:
    quarantined = spark_engine.read_dumped(
        spark_runs.fifo_dump, "staging.stg_ledger__quarantined_credit_histories",
        "select coalesce(id_text, '<null>') || '/' || coalesce(amount_text, '') || '/' "
        "|| coalesce(created_at_text, '') as row_key, quarantine_reason from t "
        "where quarantine_reason != 'duplicate_id'")
    assert {r["row_key"]: r["quarantine_reason"] for r in quarantined} == EXPECTED_REASONS
    entries = _naive(spark_engine.read_dumped(
        spark_runs.fifo_dump, "intermediate.int_ledger_entries",
        "select * from t where user_id = 1"))
    got = {
        r["credit_history_id"]: (
            r["amount_milli"], r["occurred_at"], r["has_sub_milli_precision"],
            r["is_known_event"], r["credit_type"], r["expires_at"],
            r["has_malformed_meta_data"], r["has_sign_mismatch"])
        for r in entries
    }
    assert got == EXPECTED_CLEAN
