"""The app's previous_amount chain and users.credits snapshot, end to end:
concurrent writes, gaps (a dropped row, an edited balance) and a snapshot
that disagrees with the app's own chain."""

from __future__ import annotations

from conftest import BuildLedger
from ledgers import catalog, entry


def test_chain_breaks_and_snapshot_mismatch(build_ledger: BuildLedger) -> None:
    rows = [
        # user 1: clean chain
        entry(1, 1, "monthly_allocation", 100.0, "2024-01-01 00:00:00", previous_amount=0.0),
        entry(2, 1, "video_generation", -10.0, "2024-01-02 00:00:00", previous_amount=100.0),
        # user 2: rows 4 and 5 both read balance 50 (concurrent write)
        entry(3, 2, "monthly_allocation", 50.0, "2024-01-01 00:00:00", previous_amount=0.0),
        entry(4, 2, "video_generation", -5.0, "2024-01-02 00:00:00", previous_amount=50.0),
        entry(5, 2, "video_generation", -7.0, "2024-01-02 00:00:01", previous_amount=50.0),
        entry(6, 2, "video_generation", -1.0, "2024-01-03 00:00:00", previous_amount=43.0),
        # user 3: the app booked a -20 row that the export lost, then an edit
        entry(7, 3, "monthly_allocation", 100.0, "2024-01-01 00:00:00", previous_amount=0.0),
        entry(9, 3, "video_generation", -1.0, "2024-01-03 00:00:00", previous_amount=80.0),
        entry(10, 3, "video_generation", -1.0, "2024-01-04 00:00:00", previous_amount=84.0),
    ]
    tables = catalog([1, 2, 3])
    snapshots = {1: 90.0, 2: 42.0, 3: 80.0}  # user 3's app chain ends at 83.0
    for user in tables["users"]:
        user["credits"] = snapshots[user["id"]]
    tables["credit_histories"] = rows
    built = build_ledger(
        tables,
        command=["build", "--select", "+int_user_balances", "--indirect-selection", "cautious"],
    )
    kinds = dict(built.rows(
        "select credit_history_id, chain_break_kind from intermediate.int_ledger_balances"))
    assert kinds == {1: "none", 2: "none", 3: "none", 4: "none", 5: "concurrent_write",
                     6: "none", 7: "none", 9: "gap", 10: "gap"}
    users = {
        row["user_id"]: row for row in built.dicts(
            "select * from intermediate.int_user_balances")
    }
    assert [users[u]["ledger_balance_milli"] for u in (1, 2, 3)] == [90_000, 37_000, 98_000]
    assert [users[u]["app_chain_balance_milli"] for u in (1, 2, 3)] == [90_000, 42_000, 83_000]
    assert [users[u]["has_snapshot_ledger_mismatch"] for u in (1, 2, 3)] == [False, True, True]
    assert [users[u]["has_snapshot_chain_mismatch"] for u in (1, 2, 3)] == [False, False, True]
    assert (users[2]["concurrent_write_count"], users[3]["gap_count"]) == (1, 2)
