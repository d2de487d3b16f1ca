"""The worked FIFO example of the README, built end to end through dbt."""

from __future__ import annotations

import json

from conftest import BuildLedger
from ledgers import entry, ledger, with_app_chain


def test_readme_worked_example(build_ledger: BuildLedger) -> None:
    rows = with_app_chain([
        entry(1, 1, "credit_purchase", 100.0, "2024-01-01 00:00:00"),
        entry(2, 1, "monthly_allocation", 50.0, "2024-01-05 00:00:00",
              meta_data=json.dumps({"expires_at": "2024-02-05T00:00:00Z"})),
        entry(3, 1, "video_generation", -70.0, "2024-01-10 00:00:00", creditable_type="video"),
        entry(4, 1, "video_generation", -100.0, "2024-01-12 00:00:00", creditable_type="video"),
        entry(5, 1, "welcome_bonus", 30.0, "2024-01-15 00:00:00",
              meta_data=json.dumps({"expires_at": "2024-01-15T00:00:00Z"})),
        entry(6, 1, "referral_bonus", 25.0, "2024-01-20 00:00:00",
              meta_data=json.dumps({"expires_at": "2024-02-03T00:00:00Z"})),
    ])
    built = build_ledger(
        ledger(rows),
        command=["build", "--select", "+int_credit_lots", "+int_credit_allocations",
                 "+int_ledger_balances", "--indirect-selection", "cautious"],
        extra_vars={"as_of": "2024-02-10 00:00:00"},
    )
    lots = built.rows(
        "select lot_id, consumed_milli, debt_repaid_milli, expired_milli, remaining_milli,"
        " is_expired_on_arrival from intermediate.int_credit_lots order by lot_id")
    assert lots == [
        (1, 100_000, 0, 0, 0, False),
        (2, 50_000, 0, 0, 0, False),
        (5, 0, 0, 30_000, 0, True),
        (6, 0, 20_000, 5_000, 0, False),
    ]
    pieces = built.rows(
        "select debit_id, lot_id, allocation_kind, amount_milli "
        "from intermediate.int_credit_allocations order by debit_id, lot_id")
    assert pieces == [
        (3, 1, "consumption", 20_000),  # after lot 2, which expires sooner
        (3, 2, "consumption", 50_000),
        (4, 1, "consumption", 80_000),
        (4, 6, "debt_repayment", 20_000),
    ]
    ledger_balance = built.scalar(
        "select balance_after_milli from intermediate.int_ledger_balances "
        "where credit_history_id = 6")
    assert ledger_balance == 35_000  # = expired 30 + 5; the lot balance is 0
