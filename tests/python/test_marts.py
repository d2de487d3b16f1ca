"""Mart figures over crafted ledgers, checked against values computed by hand."""

from __future__ import annotations

from datetime import date

import pytest

from conftest import BuildLedger
from ledgers import PLANS, catalog, entry, ledger, with_app_chain

MARTS = ["build", "--select", "+marts", "--indirect-selection", "cautious"]


def test_rolling_averages_count_missing_days_as_zero_and_runway(build_ledger: BuildLedger) -> None:
    rows = with_app_chain([
        entry(1, 1, "credit_purchase", 100.0, "2024-03-01 08:00:00"),
        entry(2, 1, "video_generation", -7.0, "2024-03-01 09:00:00", creditable_type="video"),
        # nothing on Mar 2
        entry(3, 1, "video_generation", -14.0, "2024-03-03 09:00:00", creditable_type="video"),
        entry(4, 1, "late_payment_penalty", -2.0, "2024-03-03 10:00:00"),
        entry(5, 1, "video_generation", -9.0, "2024-03-12 09:00:00", creditable_type="video"),
        # user 2 has more history than either window
        entry(6, 2, "credit_purchase", 100.0, "2024-01-01 08:00:00"),
        entry(7, 2, "video_generation", -60.0, "2024-03-03 09:00:00", creditable_type="video"),
    ])
    built = build_ledger(ledger(rows), command=MARTS)
    days = {
        row["activity_date"]: row
        for row in built.dicts("select * from marts.fct_burn_rate_daily where user_id = 1")
    }
    assert sorted(days) == [date(2024, 3, d) for d in range(1, 13)]  # every day to as_of
    assert [days[day]["history_days"] for day in sorted(days)] == list(range(1, 13))
    mar2, mar3, mar9, mar12 = (days[date(2024, 3, d)] for d in (2, 3, 9, 12))
    assert mar2["consumed_milli"] == 0 and mar2["closing_balance_milli"] == 93_000
    assert mar3["consumed_milli"] == 14_000 and mar3["penalty_milli"] == 2_000
    # Mar 3 is the user's 3rd day: both averages divide by 3 days of history
    # (Mar 2 counts as zero), the full-window figure by 30
    assert mar3["consumed_7d_avg_milli"] == pytest.approx(21_000 / 3)
    assert mar3["consumed_30d_avg_milli"] == pytest.approx(21_000 / 3)
    assert mar3["consumed_30d_full_window_avg_milli"] == pytest.approx(21_000 / 30)
    assert mar3["closing_balance_milli"] == 77_000
    assert mar3["runway_days"] == pytest.approx(77_000 / (21_000 / 3))
    # Mar 9: the 7-day window is Mar 3..9 -> only the 14 credits of Mar 3
    assert mar9["consumed_7d_avg_milli"] == pytest.approx(14_000 / 7)
    assert mar9["consumed_30d_avg_milli"] == pytest.approx(21_000 / 9)
    # Mar 12: Mar 1 and 3 left the 7-day window, the 30-day one keeps them
    assert mar12["consumed_7d_avg_milli"] == pytest.approx(9_000 / 7)
    assert mar12["consumed_30d_milli"] == 30_000
    assert mar12["consumed_30d_avg_milli"] == pytest.approx(30_000 / 12)
    assert mar12["consumed_30d_full_window_avg_milli"] == pytest.approx(30_000 / 30)
    assert mar12["runway_days"] == pytest.approx(68_000 / (30_000 / 12))
    # user 2 (first row Jan 1, 72 days by Mar 12): the windows are full, both
    # 30-day figures agree
    (user2,) = built.dicts(
        "select * from marts.fct_burn_rate_daily "
        "where user_id = 2 and activity_date = date '2024-03-12'")
    assert user2["history_days"] == 72
    assert user2["consumed_7d_avg_milli"] == 0
    assert user2["consumed_30d_avg_milli"] == pytest.approx(60_000 / 30)
    assert user2["consumed_30d_full_window_avg_milli"] == pytest.approx(60_000 / 30)
    assert user2["runway_days"] == pytest.approx(40_000 / 2_000)


def test_runway_is_zero_without_balance_and_null_without_usage(build_ledger: BuildLedger) -> None:
    rows = with_app_chain([
        entry(1, 1, "video_generation", -5.0, "2024-03-01 09:00:00", creditable_type="video"),
        entry(2, 2, "credit_purchase", 10.0, "2024-03-01 09:00:00"),
    ])
    built = build_ledger(ledger(rows), command=MARTS)
    runway = dict(built.rows(
        "select user_id, runway_days from marts.fct_burn_rate_daily"))
    assert runway == {1: 0.0, 2: None}


def test_utilisation_follows_each_allocation_across_a_plan_change(build_ledger: BuildLedger) -> None:
    # Basic (100/month) until Jan 15, then Pro (500/month). Allocations expire
    # after 31 days (credit_type_rules). as_of = Feb 20.
    rows = with_app_chain([
        entry(1, 1, "monthly_allocation", 100.0, "2024-01-01 00:00:00"),
        entry(2, 1, "video_generation", -30.0, "2024-01-10 00:00:00", creditable_type="video"),
        entry(3, 1, "monthly_allocation", 500.0, "2024-01-15 00:00:00"),
        # the Basic lot expires first (Feb 1 < Feb 15): 70 from it, 30 from Pro
        entry(4, 1, "video_generation", -100.0, "2024-01-20 00:00:00", creditable_type="video"),
        entry(5, 1, "video_generation", -1.0, "2024-02-20 00:00:00", creditable_type="video"),
    ])
    tables = ledger(rows)
    tables["plans"] = PLANS
    tables["subscriptions"] = [
        {"id": 1, "user_id": 1, "plan_id": 1, "status": "canceled",
         "starts_at": "2024-01-01 00:00:00", "ends_at": "2024-01-15 00:00:00",
         "canceled_at": "2024-01-15 00:00:00", "created_at": "2024-01-01 00:00:00"},
        {"id": 2, "user_id": 1, "plan_id": 3, "status": "active",
         "starts_at": "2024-01-15 00:00:00", "created_at": "2024-01-15 00:00:00"},
    ]
    built = build_ledger(tables, command=MARTS)
    plan_at = dict(built.rows(
        "select credit_history_id, plan_id from marts.fct_credit_transactions"))
    assert plan_at == {1: 1, 2: 1, 3: 3, 4: 3, 5: 3}
    utilisation = {
        (row["plan_id"], row["month_start"]): row
        for row in built.dicts("select * from marts.fct_plan_utilisation")
    }
    basic_jan = utilisation[(1, date(2024, 1, 1))]
    pro_jan = utilisation[(3, date(2024, 1, 1))]
    pro_feb = utilisation[(3, date(2024, 2, 1))]
    assert (basic_jan["subscriber_count"], basic_jan["allocated_milli"],
            basic_jan["used_milli"], basic_jan["expired_milli"]) == (1, 100_000, 100_000, 0)
    assert basic_jan["utilisation_ratio"] == pytest.approx(1.0)
    assert (pro_jan["subscriber_count"], pro_jan["allocated_milli"], pro_jan["used_milli"],
            pro_jan["expired_milli"], pro_jan["remaining_milli"]) == (1, 500_000, 30_000,
                                                                      470_000, 0)
    assert pro_jan["utilisation_ratio"] == pytest.approx(0.06)
    # both January lots are settled by as_of (used up; expired): the settled
    # figures are the current ones
    for row in (basic_jan, pro_jan):
        assert (row["settled_allocation_count"], row["settled_allocated_milli"],
                row["settled_used_milli"]) == (1, row["allocated_milli"], row["used_milli"])
        assert row["settled_utilisation_ratio"] == pytest.approx(row["utilisation_ratio"])
    assert pro_feb["settled_allocation_count"] == 0
    assert pro_feb["settled_utilisation_ratio"] is None
    assert (pro_feb["subscriber_count"], pro_feb["allocated_milli"]) == (1, 0)
    assert pro_feb["utilisation_ratio"] is None
    assert (1, date(2024, 2, 1)) not in utilisation  # Basic ended in January


def test_each_reconciliation_status(build_ledger: BuildLedger) -> None:
    rows = [
        # 1 reconciled
        entry(1, 1, "credit_purchase", 50.0, "2024-01-01 00:00:00", previous_amount=0.0),
        entry(2, 1, "video_generation", -10.0, "2024-01-02 00:00:00", previous_amount=50.0),
        # 2 quarantined_rows: one row's amount is not a number
        entry(3, 2, "credit_purchase", 50.0, "2024-01-01 00:00:00", previous_amount=0.0),
        entry(4, 2, "video_generation", "n/a", "2024-01-02 00:00:00", previous_amount=50.0),
        # 3 snapshot_mismatch: the chain is intact but users.credits says 45
        entry(5, 3, "credit_purchase", 50.0, "2024-01-01 00:00:00", previous_amount=0.0),
        entry(6, 3, "video_generation", -10.0, "2024-01-02 00:00:00", previous_amount=50.0),
        # 4 chain_breaks: a concurrent write
        entry(7, 4, "credit_purchase", 50.0, "2024-01-01 00:00:00", previous_amount=0.0),
        entry(8, 4, "video_generation", -10.0, "2024-01-02 00:00:00", previous_amount=50.0),
        entry(9, 4, "video_generation", -5.0, "2024-01-02 00:00:01", previous_amount=50.0),
        # 5 ledger_mismatch: an unreadable previous_amount hides the break
        entry(10, 5, "credit_purchase", 50.0, "2024-01-01 00:00:00", previous_amount=0.0),
        entry(11, 5, "video_generation", -10.0, "2024-01-02 00:00:00", previous_amount="?"),
        entry(12, 5, "video_generation", -5.0, "2024-01-03 00:00:00", previous_amount=50.0),
        # 99 unknown_user: not in users
        entry(13, 99, "credit_purchase", 5.0, "2024-01-01 00:00:00", previous_amount=0.0),
    ]
    tables = catalog([1, 2, 3, 4, 5])
    snapshots = {1: 40.0, 2: 50.0, 3: 45.0, 4: 45.0, 5: 45.0}
    for user in tables["users"]:
        user["credits"] = snapshots[user["id"]]
    tables["credit_histories"] = rows
    built = build_ledger(tables, command=MARTS)
    status = dict(built.rows("select user_id, status from marts.fct_ledger_reconciliation"))
    assert status == {1: "reconciled", 2: "quarantined_rows", 3: "snapshot_mismatch",
                      4: "chain_breaks", 5: "ledger_mismatch", 99: "unknown_user"}
    user4 = built.dicts(
        "select * from marts.fct_ledger_reconciliation where user_id = 4")[0]
    assert (user4["ledger_balance_milli"], user4["app_chain_balance_milli"],
            user4["credits_snapshot_milli"], user4["concurrent_write_count"]) == (
        35_000, 45_000, 45_000, 1)
