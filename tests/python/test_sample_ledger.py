"""The committed sample ledger: `dbt build` passes over it and every kind of
dirt the generator plants ends in its flag, quarantine reason, chain break
or snapshot mismatch; no clear-text email reaches a model after staging."""

from __future__ import annotations

import pytest

from conftest import SAMPLE_LEDGER as SAMPLE
from conftest import BuiltLedger
from credit_ledger.dbt_runner import PROJECT_DIR, run_dbt


@pytest.fixture(scope="module")
def sample(sample_ledger_build: BuiltLedger) -> BuiltLedger:
    return sample_ledger_build  # one build per worker (conftest.py)


@pytest.mark.parametrize("reason", [
    "duplicate_id", "missing_id", "missing_user_id", "missing_amount",
    "unparseable_amount", "missing_created_at", "unparseable_created_at",
])
def test_quarantine_reason_present(sample: BuiltLedger, reason: str) -> None:
    count = sample.scalar(
        "select count(*) from staging.stg_ledger__quarantined_credit_histories "
        "where quarantine_reason = ?", [reason])
    assert count >= 3


@pytest.mark.parametrize("condition", [
    "has_sub_milli_precision", "has_malformed_meta_data", "has_sign_mismatch",
    "not is_known_event",
])
def test_row_flag_present(sample: BuiltLedger, condition: str) -> None:
    count = sample.scalar(
        f"select count(*) from intermediate.int_ledger_entries where {condition}")
    assert count >= 3


@pytest.mark.parametrize("kind", ["concurrent_write", "gap"])
def test_chain_break_present(sample: BuiltLedger, kind: str) -> None:
    count = sample.scalar(
        "select count(*) from intermediate.int_ledger_balances where chain_break_kind = ?",
        [kind])
    assert count >= 3


def test_snapshot_disagreements_present(sample: BuiltLedger) -> None:
    assert sample.scalar(
        "select count(*) from intermediate.int_user_balances where has_snapshot_chain_mismatch"
    ) >= 3


def test_float_noise_is_exact(sample: BuiltLedger) -> None:
    # the generator writes -(0.1 + 0.2) as -0.30000000000000004
    noisy_ids = [i for (i,) in sample.rows(
        "select distinct id from read_csv(?, all_varchar = true) "
        "where amount = '-0.30000000000000004'", [str(SAMPLE / "credit_histories.csv")])]
    assert noisy_ids
    amounts = sample.rows(
        "select distinct amount_milli from intermediate.int_ledger_entries "
        "where credit_history_id in (select unnest(?::bigint[]))", [noisy_ids])
    assert amounts == [(-300,)]


def test_sample_covers_every_plan_tier_and_twelve_months(sample: BuiltLedger) -> None:
    tiers = sample.rows(
        "select distinct plans.tier from staging.stg_ledger__subscriptions as subscriptions "
        "join staging.stg_ledger__plans as plans using (plan_id) order by 1")
    assert tiers == [("basic",), ("enterprise",), ("pro",)]
    months = sample.scalar(
        "select count(distinct date_trunc('month', occurred_at)) "
        "from staging.stg_ledger__credit_histories")
    assert months >= 12
    assert sample.scalar("select count(*) from staging.stg_ledger__users") >= 200


def test_no_clear_text_email_after_staging(sample: BuiltLedger) -> None:
    relations = sample.rows(
        "select table_schema, table_name from information_schema.tables "
        # `ledger` holds the source views over the export files (the data
        # before staging, as the `ledger` schema on a warehouse)
        "where table_schema not in ('ledger', 'staging', 'config')")
    assert relations
    emails = [e for (e,) in sample.rows("select distinct email from read_csv(?, all_varchar=true)",
                                        [str(SAMPLE / "users.csv")])]
    for schema, table in relations:
        columns = sample.rows(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = ?", [schema, table])
        assert "email" not in {name for name, _ in columns}
        text_columns = [name for name, kind in columns if kind == "VARCHAR"]
        for column in text_columns:
            leaked = sample.scalar(
                f'select count(*) from "{schema}"."{table}" where "{column}" in '
                f"(select unnest(?::varchar[]))", [emails])
            assert leaked == 0, f"{schema}.{table}.{column} holds clear-text emails"


def test_every_analysis_compiles_and_returns_rows(sample: BuiltLedger, tmp_path) -> None:
    result = run_dbt(["compile", "--select", "resource_type:analysis"],
                     db_path=sample.db_path, work_dir=tmp_path,
                     dbt_vars={"ledger_path": str(SAMPLE)})
    assert result.ok, result.output[-4000:]
    compiled = sorted((tmp_path / "target" / "compiled").rglob("analyses/*.sql"))
    names = {path.stem for path in compiled}
    assert names == {path.stem for path in (PROJECT_DIR / "analyses").glob("*.sql")}
    assert len(names) >= 5
    for path in compiled:
        assert sample.rows(f"select count(*) from ({path.read_text()})")[0][0] > 0, path.stem
