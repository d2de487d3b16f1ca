"""Huge amounts: quarantined beyond the per-row bound, exact up to it, and a
run that would overflow a BIGINT total stops with a message (issue 10, 4)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from conftest import BuildLedger
from ledgers import PLANS, entry, ledger, with_app_chain

MARTS = ["build", "--select", "+marts", "--indirect-selection", "cautious"]
E15 = 10**15  # credits
E18 = 10**18  # milli-credits: 10^15 credits


def test_an_amount_beyond_the_bound_is_quarantined_and_a_price_is_nulled(build_ledger: BuildLedger) -> None:
    # default bound: 10^9 credits per row; 10^13 credits fit a BIGINT but
    # no real row is that large
    rows = with_app_chain([
        entry(1, 1, "credit_purchase", 100.0, "2024-03-01 08:00:00"),
        entry(2, 1, "credit_purchase", 1e13, "2024-03-01 09:00:00"),
        entry(3, 1, "video_generation", -10.0, "2024-03-02 09:00:00", creditable_type="video"),
    ])
    tables = ledger(rows)
    # an absurd plan price is null, not a failed cast
    tables["plans"] = [PLANS[0], {**PLANS[1], "price": 1e20}]
    built = build_ledger(tables, command=MARTS)
    assert built.rows(
        "select plan_id, price_minor_units, price from marts.dim_plans order by 1"
    ) == [(1, 900, Decimal("9.00")), (3, None, None)]
    assert built.rows(
        "select credit_history_id, quarantine_reason, amount_milli "
        "from staging.stg_ledger__quarantined_credit_histories"
    ) == [(2, "amount_out_of_range", 10**16)]
    user = built.dicts("select * from marts.fct_ledger_reconciliation")[0]
    assert (user["status"], user["unplaced_row_count"], user["ledger_balance_milli"]) == (
        "quarantined_rows", 1, 90_000)


def test_amounts_at_the_bound_give_exact_marts(build_ledger: BuildLedger) -> None:
    # bound raised to 10^15 credits (10^18 milli); the clean total is 4 * 10^18
    # milli, just under the 2^62 guard
    rows = with_app_chain([
        entry(1, 1, "credit_purchase", 1e15, "2024-03-01 08:00:00"),
        entry(2, 2, "credit_purchase", 1e15, "2024-03-01 09:00:00"),
        entry(3, 1, "credit_purchase", 1e15, "2024-03-02 08:00:00"),
        entry(4, 1, "video_generation", -1e15, "2024-03-03 08:00:00", creditable_type="video"),
    ])
    tables = ledger(rows)
    for user in tables["users"]:
        user["credits"] = 1e15
    built = build_ledger(tables, command=MARTS, extra_vars={"max_abs_amount_credits": 1e15})

    transactions = {
        row["credit_history_id"]: row
        for row in built.dicts("select * from marts.fct_credit_transactions")
    }
    assert [(transactions[i]["amount_milli"], transactions[i]["balance_after_milli"])
            for i in (1, 3, 4)] == [(E18, E18), (E18, 2 * E18), (-E18, E18)]
    assert transactions[3]["balance_after_credits"] == Decimal(2 * E15)
    assert transactions[4]["amount_credits"] == Decimal(-E15)

    reconciliation = {
        row["user_id"]: row
        for row in built.dicts("select * from marts.fct_ledger_reconciliation")
    }
    for user_id in (1, 2):
        row = reconciliation[user_id]
        assert row["status"] == "reconciled"
        assert (row["ledger_balance_milli"], row["app_chain_balance_milli"],
                row["lot_balance_milli"], row["snapshot_minus_ledger_milli"]) == (
            E18, E18, E18, 0)
        assert row["ledger_balance_credits"] == Decimal(E15)

    days = {
        row["activity_date"]: row
        for row in built.dicts("select * from marts.fct_burn_rate_daily where user_id = 1")
    }
    mar1, mar2, mar3 = (days[date(2024, 3, d)] for d in (1, 2, 3))
    assert (mar1["granted_milli"], mar1["closing_balance_milli"]) == (E18, E18)
    assert (mar2["opening_balance_milli"], mar2["closing_balance_milli"]) == (E18, 2 * E18)
    assert (mar3["consumed_milli"], mar3["closing_balance_milli"]) == (E18, E18)
    assert mar3["consumed_credits"] == Decimal(E15)
    assert mar3["closing_balance_credits"] == Decimal(E15)
    assert mar3["history_days"] == 3
    assert mar3["consumed_30d_avg_milli"] == pytest.approx(E18 / 3)
    assert mar3["consumed_30d_full_window_avg_milli"] == pytest.approx(E18 / 30)
    assert mar3["runway_days"] == pytest.approx(3.0)

    # two users' grants on one day, one plan
    assert built.rows(
        "select granted_milli from marts.fct_burn_by_plan_daily "
        "where plan_id = 1 and activity_date = date '2024-03-01'"
    ) == [(2 * E18,)]


def test_a_total_beyond_bigint_stops_the_run_with_a_message(build_ledger: BuildLedger) -> None:
    # with the bound raised out of the way, two rows of 4 * 10^15 credits add
    # up to 8 * 10^18 milli: the running balance would leave the safe range
    rows = with_app_chain([
        entry(1, 1, "credit_purchase", 4e15, "2024-03-01 08:00:00"),
        entry(2, 1, "credit_purchase", 4e15, "2024-03-02 08:00:00"),
        entry(3, 2, "credit_purchase", 5.0, "2024-03-02 08:00:00"),
    ])
    built = build_ledger(ledger(rows), command=MARTS, check=False,
                         extra_vars={"max_abs_amount_credits": 1e16})
    assert not built.result.ok
    assert built.result.status_of("model.credit_ledger.stg_ledger__credit_histories") == "error"
    output = " ".join(built.result.output.split())
    assert "amounts add up to 8000000000000005000 milli-credits in absolute value" in output
    assert "id 1 (user 1, 4000000000000000.000 credits)" in output
    assert "lower max_abs_amount_credits" in output
    assert "Conversion Error" not in output
