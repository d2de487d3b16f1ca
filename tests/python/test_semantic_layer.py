"""The semantic layer (models/marts/_marts__semantic.yml) queried with `mf`
equals the marts it reads.

`mf` runs as a reader would: from the project root, on the `published`
profile output (the read-only published file) and the project's
target/semantic_manifest.json. It reuses what the test command's build made
(`make test` builds and publishes before pytest), so no extra dbt build: the
module is skipped when there is no published database or semantic manifest
(run `make build`). Each `mf` process takes 5-15 s, so the module makes four
queries, each checking several metrics against SQL over the same file.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any, Sequence

import duckdb
import pytest

from credit_ledger.dbt_runner import PROJECT_DIR

PUBLISHED = (PROJECT_DIR / os.environ.get("CREDITS_PUBLISH_PATH", "credits.duckdb")).resolve()
SEMANTIC_MANIFEST = PROJECT_DIR / "target" / "semantic_manifest.json"


def mf_executable() -> str:
    candidate = Path(sys.executable).parent / "mf"
    return str(candidate) if candidate.exists() else "mf"


@pytest.fixture(scope="module")
def published() -> Path:
    if not PUBLISHED.exists() or not SEMANTIC_MANIFEST.exists():
        message = f"no published build ({PUBLISHED}) or {SEMANTIC_MANIFEST}: run `make build`"
        if os.environ.get("CREDITS_TEST_SAMPLE_DB"):  # `make test` built them: never skip
            pytest.fail(message)
        pytest.skip(message)
    return PUBLISHED


def mf_query(args: Sequence[str], tmp_path: Path) -> list[dict[str, str]]:
    """Run `mf query <args> --csv` on the published file; the rows as dicts."""
    out = tmp_path / "mf.csv"
    env = dict(os.environ)
    for name in ("DBT_TARGET_PATH", "DBT_LOG_PATH", "CREDITS_DB_PATH"):
        env.pop(name, None)
    env.update(DBT_TARGET="published", CREDITS_PUBLISH_PATH=str(PUBLISHED), DO_NOT_TRACK="1")
    completed = subprocess.run(
        [mf_executable(), "query", *args, "--csv", str(out), "--quiet"],
        cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 0 and out.exists(), completed.stdout + completed.stderr
    with out.open(newline="") as handle:
        return list(csv.DictReader(handle))


def sql(db: Path, query: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(query).fetchall()


def day(value: str) -> str:
    """'2025-04-01 00:00:00' -> '2025-04-01'."""
    return value[:10]


def whole(value: str) -> int:
    """An integer metric as printed in the CSV (exactly; no float rounding)."""
    number = Decimal(value)
    assert number == number.to_integral_value(), value
    return int(number)


def milli(credits: str) -> int:
    """A credit-unit metric back in milli-credits, exactly."""
    return whole(str(Decimal(credits) * 1000))


def test_monthly_credits_and_deferred_revenue(published: Path, tmp_path: Path) -> None:
    rows = mf_query([
        "--metrics",
        "consumed_milli_credits,consumed_credits,expired_milli_credits,deferred_revenue_minor,billed_minor",
        "--group-by", "metric_time__month",
    ], tmp_path)
    burn = {
        str(month): (int(consumed), int(expired))
        for month, consumed, expired in sql(published, """
            select date_trunc('month', activity_date)::date, sum(consumed_milli), sum(expired_milli)
            from marts.fct_burn_rate_daily group by 1""")
    }
    deferred = {
        str(month): (int(closing), int(billed))
        for month, closing, billed in sql(published, """
            select month_start::date, sum(closing_deferred_minor), sum(billed_minor)
            from marts.fct_deferred_revenue_monthly group by 1""")
    }
    got_burn = {
        day(r["metric_time__month"]): (whole(r["consumed_milli_credits"] or "0"),
                                       whole(r["expired_milli_credits"] or "0"))
        for r in rows if r["consumed_milli_credits"] or r["expired_milli_credits"]
    }
    got_deferred = {
        day(r["metric_time__month"]): (whole(r["deferred_revenue_minor"]), whole(r["billed_minor"]))
        for r in rows if r["deferred_revenue_minor"]
    }
    assert len(burn) >= 6 and sum(c for c, _ in burn.values()) > 0
    assert got_burn == burn
    assert got_deferred == deferred
    for r in rows:
        if r["consumed_milli_credits"]:
            assert milli(r["consumed_credits"]) == whole(r["consumed_milli_credits"])


def test_balances_over_the_whole_period_take_the_last_month(published: Path, tmp_path: Path) -> None:
    """Semi-additive metrics: deferred revenue is the last month's closing
    balance (first month's opening), the spendable balance each user's last
    day; flows are the sums."""
    [row] = mf_query([
        "--metrics",
        "deferred_revenue_minor,opening_deferred_revenue_minor,billed_minor,"
        "consumed_milli_credits,spendable_balance",
    ], tmp_path)
    [(closing, opening, billed)] = sql(published, """
        select
            sum(closing_deferred_minor) filter (where month_start = (select max(month_start) from marts.fct_deferred_revenue_monthly)),
            sum(opening_deferred_minor) filter (where month_start = (select min(month_start) from marts.fct_deferred_revenue_monthly)),
            sum(billed_minor)
        from marts.fct_deferred_revenue_monthly""")
    [(consumed,)] = sql(published, "select sum(consumed_milli) from marts.fct_burn_rate_daily")
    [(balance,)] = sql(published, """
        select sum(closing_balance_milli) from marts.fct_burn_rate_daily
        where activity_date = (select max(activity_date) from marts.fct_burn_rate_daily)""")
    assert whole(row["deferred_revenue_minor"]) == closing
    assert whole(row["opening_deferred_revenue_minor"]) == opening
    assert whole(row["billed_minor"]) == billed
    assert whole(row["consumed_milli_credits"]) == consumed
    assert whole(row["spendable_balance"]) == balance
    assert closing != sum(r[0] for r in sql(
        published, "select sum(closing_deferred_minor) from marts.fct_deferred_revenue_monthly"))


def test_metrics_by_plan_at_the_time(published: Path, tmp_path: Path) -> None:
    """`plan` on a fact is the plan at the time of the row (or of the
    allocation's grant), not the user's plan today."""
    rows = mf_query([
        "--metrics", "consumed_milli_credits,granted_milli_credits,allocated_milli_credits,"
        "used_allocated_milli_credits,recognised_revenue_minor",
        "--group-by", "plan",
    ], tmp_path)

    def by_plan(query: str) -> dict[str, tuple[int, ...]]:
        return {
            "" if key is None else str(key): tuple(int(v or 0) for v in values)
            for key, *values in sql(published, query)
        }

    transactions = by_plan("""
        select plan_id,
            sum(case when transaction_kind = 'usage' then -amount_milli else 0 end),
            sum(case when transaction_kind = 'grant' then amount_milli else 0 end)
        from marts.fct_credit_transactions group by 1""")
    utilisation = by_plan("""
        select plan_id, sum(allocated_milli), sum(used_milli)
        from marts.fct_plan_utilisation group by 1""")
    revenue = by_plan("select plan_id, sum(revenue_minor) from marts.fct_revenue_recognition group by 1")

    def got(*metrics: str) -> dict[str, tuple[int, ...]]:
        return {
            r["plan"]: tuple(whole(r[m] or "0") for m in metrics)
            for r in rows if any(r[m] for m in metrics)
        }

    assert len([k for k in transactions if k]) >= 2
    assert got("consumed_milli_credits", "granted_milli_credits") == transactions
    assert got("allocated_milli_credits", "used_allocated_milli_credits") == utilisation
    assert got("recognised_revenue_minor") == revenue
    # the plan at the time differs from today's plan for some users' usage
    [(moved,)] = sql(published, """
        select count(*) from marts.fct_credit_transactions as t
        join marts.dim_users as u using (user_id)
        where t.transaction_kind = 'usage' and t.plan_id is distinct from u.plan_id""")
    assert moved > 0


def test_saved_query_monthly_recognised_revenue_by_kind(published: Path, tmp_path: Path) -> None:
    rows = mf_query(["--saved-query", "monthly_recognised_revenue_by_kind"], tmp_path)
    expected = {
        (str(month), kind): int(revenue)
        for month, kind, revenue in sql(published, """
            select date_trunc('month', recognised_at)::date, recognition_kind, sum(revenue_minor)
            from marts.fct_revenue_recognition group by 1, 2""")
    }
    got = {
        (day(r["metric_time__month"]), r["revenue_recognition_event__recognition_kind"]):
            whole(r["recognised_revenue_minor"])
        for r in rows
    }
    assert {kind for _, kind in expected} >= {"usage", "breakage"}
    assert got == expected
