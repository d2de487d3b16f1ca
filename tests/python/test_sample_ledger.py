"""The committed sample ledger: `dbt build` passes over it and every kind of
dirt the generator plants ends in its flag, quarantine reason, chain break
or snapshot mismatch; no clear-text email reaches a model after staging; the
docs site has its overview page and every source's columns."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap

import pytest

from conftest import BuiltLedger
from credit_ledger.dbt_runner import PROJECT_DIR, run_dbt

SAMPLE = PROJECT_DIR / "data" / "sample_ledger"


@pytest.fixture(scope="module")
def sample(sample_build: BuiltLedger) -> BuiltLedger:
    return sample_build


def test_views_read_the_ledger_from_any_directory(sample: BuiltLedger, tmp_path) -> None:
    """A BI tool opens the file from its own folder: every view still reads."""
    script = textwrap.dedent("""
        import sys, duckdb
        con = duckdb.connect(sys.argv[1], read_only=True)
        views = con.execute(
            "select schema_name, view_name from duckdb_views() where not internal"
        ).fetchall()
        for schema, view in views:
            con.execute(f'select count(*) from "{schema}"."{view}"').fetchone()
        print(len(views))
    """)
    done = subprocess.run([sys.executable, "-c", script, str(sample.db_path)],
                          cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout) >= 5  # the five ledger views at least


@pytest.mark.parametrize("now, status", [
    ("2026-02-07 00:00:00", "pass"),   # the sample's export: fresh
    ("2026-03-01 00:00:00", "error"),  # weeks later: more than 7 days old
])
def test_source_freshness_at_the_samples_clock(
    sample: BuiltLedger, tmp_path, now: str, status: str
) -> None:
    db_path = tmp_path / "credits.duckdb"  # the check's hooks write: a copy
    shutil.copy(sample.db_path, db_path)
    result = run_dbt(["source", "freshness"], db_path=db_path, work_dir=tmp_path,
                     dbt_vars={"ledger_path": str(SAMPLE), "now": now})
    sources = json.loads((tmp_path / "target" / "sources.json").read_text())["results"]
    assert [r["status"] for r in sources] == [status], result.output[-3000:]
    # dbt's log file never holds colour codes (dbt_project.yml flags)
    assert "\x1b[" not in (tmp_path / "logs" / "dbt.log").read_text()


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
    db_path = tmp_path / "credits.duckdb"  # compiling runs the hooks, which write: a copy
    shutil.copy(sample.db_path, db_path)
    result = run_dbt(["compile", "--select", "resource_type:analysis"],
                     db_path=db_path, work_dir=tmp_path,
                     dbt_vars={"ledger_path": str(SAMPLE)})
    assert result.ok, result.output[-4000:]
    compiled = sorted((tmp_path / "target" / "compiled").rglob("analyses/*.sql"))
    names = {path.stem for path in compiled}
    assert names == {path.stem for path in (PROJECT_DIR / "analyses").glob("*.sql")}
    assert len(names) >= 5
    for path in compiled:
        # (the compiled SQL names the copy's catalog, credits)
        copy = BuiltLedger(None, db_path)
        assert copy.rows(f"select count(*) from ({path.read_text()})")[0][0] > 0, path.stem


def test_docs_site_has_the_overview_and_every_source_with_its_columns(
        sample: BuiltLedger, tmp_path) -> None:
    # the catalog only (the build already created the views over the export
    # files that the sources read); its hooks write, so on a copy
    work = tmp_path
    db_path = work / "credits.duckdb"
    shutil.copy(sample.db_path, db_path)
    result = run_dbt(["docs", "generate"], db_path=db_path,
                     work_dir=work, dbt_vars={"ledger_path": str(SAMPLE)})
    assert result.ok, result.output[-4000:]
    manifest = json.loads((work / "target" / "manifest.json").read_text())
    catalog = json.loads((work / "target" / "catalog.json").read_text())

    overview = manifest["docs"]["doc.credit_ledger.__overview__"]["block_contents"]
    for words in ("make build", "make test", "staging", "intermediate", "marts",
                  "fct_burn_rate_daily", "fct_plan_utilisation", "fct_ledger_reconciliation"):
        assert words in overview

    sources = {key: node for key, node in manifest["sources"].items()
               if node["source_name"] == "ledger"}
    assert {node["name"] for node in sources.values()} == {
        "credit_events", "credit_histories", "users", "plans", "subscriptions"}
    for key, node in sources.items():
        declared = list(node["columns"])
        assert declared and all(column["description"] for column in node["columns"].values())
        assert key in catalog["sources"], f"{node['name']} is not in the catalog"
        # the catalog's columns are the view's: every declared one, nothing else
        assert set(catalog["sources"][key]["columns"]) == set(declared), node["name"]
