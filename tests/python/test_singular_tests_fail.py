"""Every singular ledger test, and every identity written as a named generic
test, passes on the sample and fails when the discrepancy it guards against
is planted in the built tables.

The shared build of the sample ledger (tests/python/conftest.py) and each
test's SQL as dbt compiles it (manifest.json). For each test, the SQL returns
no row on a copy of the database, and rows once one row of the copy is
tampered with, which is what makes `dbt test` fail. Running the compiled SQL
directly instead of one `dbt test` per plant saves a dbt start per test.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from conftest import BuiltLedger
from credit_ledger.dbt_runner import PROJECT_DIR, run_dbt

SAMPLE = {"ledger_path": str(PROJECT_DIR / "data" / "sample_ledger")}

PLANTS = {
    "assert_every_credit_history_row_is_accounted_for":
        "delete from staging.base_ledger__credit_histories where source_row_hash = "
        "(select min(source_row_hash) from staging.base_ledger__credit_histories)",
    "assert_debit_pieces_sum_to_debit_amount":
        "update intermediate.int_credit_allocations set amount_milli = amount_milli + 1 "
        "where debit_id = (select min(debit_id) from intermediate.int_credit_allocations)",
    "assert_lot_balance_plus_expiry_equals_ledger_balance":
        "update intermediate.int_credit_lots set remaining_milli = remaining_milli + 1 "
        "where lot_id = (select min(lot_id) from intermediate.int_credit_lots)",
    "assert_marts_match_staging_per_user":
        "update marts.fct_credit_transactions set amount_milli = amount_milli - 1 "
        "where credit_history_id = (select max(credit_history_id) "
        "from marts.fct_credit_transactions)",
    "assert_daily_balance_identity":
        "update marts.fct_burn_rate_daily set expired_milli = expired_milli + 5 "
        "where user_id = 3 and activity_date = (select min(activity_date) "
        "from marts.fct_burn_rate_daily where user_id = 3)",
    "assert_reconciliation_balances_add_up":
        "update marts.fct_ledger_reconciliation set lot_balance_milli = lot_balance_milli - 1 "
        "where user_id = 5",
    "assert_reconciliation_chain_breaks_match_balances":
        "update marts.fct_ledger_reconciliation set gap_count = gap_count + 1 where user_id = 8",
    "assert_reconciliation_counts_quarantined_rows":
        "update marts.fct_ledger_reconciliation set quarantined_row_count = 0 "
        "where quarantined_row_count > 0",
    "assert_lot_value_is_recognised_or_deferred":
        "update intermediate.int_credit_lots set value_minor = value_minor + 1 "
        "where lot_id = (select min(lot_id) from marts.fct_revenue_recognition "
        "where recognition_kind = 'breakage')",
    "assert_deferred_revenue_rolls_forward":
        "update marts.fct_deferred_revenue_monthly "
        "set billed_minor = billed_minor + 1, closing_deferred_minor = closing_deferred_minor + 1 "
        "where credit_type = 'allocation' and month_start = "
        "(select min(month_start) from marts.fct_deferred_revenue_monthly)",
    "assert_revenue_marts_match_recognition":
        "update marts.fct_service_revenue_monthly set revenue_minor = revenue_minor + 1 "
        "where month_start = (select max(month_start) from marts.fct_service_revenue_monthly)",
    "assert_projection_matches_open_lots":
        "delete from marts.fct_projected_expiry "
        "where lot_id = (select min(lot_id) from marts.fct_projected_expiry)",
}

# tests that check several identities: a plant for each other one
MORE_PLANTS = [
    ("assert_lot_value_is_recognised_or_deferred",
     "update marts.fct_revenue_recognition set credits_milli = credits_milli + 1 "
     "where recognition_kind = 'usage' and lot_id = "
     "(select min(lot_id) from marts.fct_revenue_recognition where recognition_kind = 'usage')"),
    # the last month: the chain holds, its totals and the last closing do not
    ("assert_deferred_revenue_rolls_forward",
     "update marts.fct_deferred_revenue_monthly "
     "set billed_minor = billed_minor + 1, closing_deferred_minor = closing_deferred_minor + 1 "
     "where credit_type = 'allocation' and month_start = "
     "(select max(month_start) from marts.fct_deferred_revenue_monthly)"),
    # revenue moved to an earlier month: every figure of the mart still adds up
    ("assert_deferred_revenue_rolls_forward",
     "update marts.fct_revenue_recognition set recognised_at = recognised_at - interval 40 day "
     "where (lot_id, lot_step) = (select (lot_id, lot_step) from marts.fct_revenue_recognition "
     "where revenue_minor > 0 and credit_type = 'allocation' "
     "order by recognised_at desc, lot_id limit 1)"),
    ("assert_revenue_marts_match_recognition",
     "update marts.fct_breakage_cohorts set breakage_minor = breakage_minor + 1 "
     "where grant_month = (select min(grant_month) from marts.fct_breakage_cohorts)"),
    ("assert_projection_matches_open_lots",
     "update marts.fct_user_credit_health "
     "set projected_breakage_90d_milli = projected_breakage_90d_milli + 1 "
     "where user_id = (select min(user_id) from marts.fct_projected_expiry)"),
]

# identities written as generic tests (named in the YAML)
GENERIC_PLANTS = {
    "deferred_revenue_closing_identity":
        "update marts.fct_deferred_revenue_monthly set usage_revenue_minor = usage_revenue_minor + 1 "
        "where month_start = (select max(month_start) from marts.fct_deferred_revenue_monthly)",
    "breakage_cohort_credits_identity":
        "update marts.fct_breakage_cohorts set expired_milli = expired_milli + 1 "
        "where grant_month = (select min(grant_month) from marts.fct_breakage_cohorts)",
    "projected_expiry_credits_identity":
        "update marts.fct_projected_expiry set projected_used_milli = projected_used_milli + 1 "
        "where lot_id = (select min(lot_id) from marts.fct_projected_expiry "
        "where expires_at is not null)",
}


@dataclass(frozen=True)
class CompiledSample:
    db_path: Path
    compiled_sql: dict[str, str]  # test name -> its SQL as dbt compiles it


@pytest.fixture(scope="module")
def compiled_sample(sample_build: BuiltLedger,
                    tmp_path_factory: pytest.TempPathFactory) -> CompiledSample:
    """The shared sample build, and each planted test's SQL as dbt compiles it
    over everything (`test_scope: all`, as a full build runs it)."""
    work = tmp_path_factory.mktemp("singular")
    db_path = work / "credits.duckdb"  # compiling runs the hooks, which write: a copy
    shutil.copy(sample_build.db_path, db_path)
    tests = sorted(PLANTS | GENERIC_PLANTS)
    result = run_dbt(["compile", "--select", *tests], db_path=db_path, work_dir=work,
                     dbt_vars={**SAMPLE, "test_scope": "all"})
    assert result.ok, result.output[-6000:]
    manifest = json.loads((work / "target" / "manifest.json").read_text())
    compiled = {
        node["name"]: node["compiled_code"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "test" and node["name"] in tests
    }
    assert set(compiled) == set(tests)
    return CompiledSample(db_path, compiled)


def test_every_singular_test_has_a_plant() -> None:
    singular = {p.stem for p in (PROJECT_DIR / "tests" / "singular").glob("*.sql")}
    assert singular == set(PLANTS)


ALL_PLANTS = sorted([*(PLANTS | GENERIC_PLANTS).items(), *MORE_PLANTS])


@pytest.mark.parametrize(("test_name", "plant"), ALL_PLANTS,
                         ids=[f"{name}-{i}" for i, (name, _) in enumerate(ALL_PLANTS)])
def test_planted_discrepancy_fails(compiled_sample: CompiledSample, tmp_path: Path,
                                   test_name: str, plant: str) -> None:
    db_path = tmp_path / "planted.duckdb"
    shutil.copy(compiled_sample.db_path, db_path)
    # the compiled SQL names the catalog after the built file (credits.duckdb: credits)
    catalog = compiled_sample.db_path.name.split(".")[0]
    with duckdb.connect() as con:
        con.execute(f"attach '{db_path}' as {catalog}")
        failures = con.execute(
            f"select count(*) from ({compiled_sample.compiled_sql[test_name]}) as failing"
        ).fetchone()
        assert failures is not None and failures[0] == 0, "passes before the plant"
        con.execute(f"use {catalog}")
        con.execute(plant)
        failures = con.execute(
            f"select count(*) from ({compiled_sample.compiled_sql[test_name]}) as failing"
        ).fetchone()
    assert failures is not None and failures[0] > 0
