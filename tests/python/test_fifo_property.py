"""The FIFO models equal an independent plain-Python reference, exactly.

* Kernel level (hypothesis, in-process): credit_ledger.fifo.deplete against
  reference_fifo.run_fifo on small integer-time ledgers.
* dbt level: 300 seeded random one-user ledgers, combined into one ledger (users
  are independent), built once with the default as_of and once with an as_of
  in the middle; int_credit_lots and int_credit_allocations are compared with
  the reference row for row.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import BuildLedger
from credit_ledger.fifo import KIND_NAMES, NEVER, deplete
from fifo_ledgers import as_tuples, random_ledgers
from ledgers import ledger
from reference_fifo import Event, run_fifo

LEDGER_COUNT = 300

event_strategy = st.lists(
    st.tuples(
        st.integers(1, 3),  # user
        st.integers(0, 12),  # time: few values, many ties
        st.sampled_from([-7000, -2500, -1000, -1, 0, 1, 999, 2500, 8000]),
        st.one_of(st.none(), st.integers(-2, 14)),  # expiry time
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=400, deadline=None)
@given(event_strategy)
def test_kernel_matches_reference(raw: list[tuple[int, int, int, int | None]]) -> None:
    events = [Event(u, i + 1, t, a, e) for i, (u, t, a, e) in enumerate(raw)]
    kernel = deplete(
        np.array([e.user_id for e in events], np.int64),
        np.array([e.row_id for e in events], np.int64),
        np.array([e.at for e in events], np.int64),
        np.array([e.amount_milli for e in events], np.int64),
        np.array([NEVER if e.expires_at is None else e.expires_at for e in events], np.int64),
    )
    got = [
        (int(d), None if KIND_NAMES[k] == "unfunded" else int(lot), int(u), int(at),
         KIND_NAMES[k], int(amount))
        for d, lot, u, at, k, amount in zip(
            kernel["debit_id"], kernel["lot_id"], kernel["user_id"],
            kernel["allocated_us"], kernel["kind"], kernel["amount_milli"])
    ]
    # the kernel sees every row: as_of is the end of time for it
    expected = sorted(run_fifo(events, as_of=10**9).allocations, key=repr)
    assert sorted(got, key=repr) == expected


LOT_KEYS = ("lot_id", "user_id", "granted_at", "expires_at", "granted_milli",
            "consumed_milli", "debt_repaid_milli", "expired_milli", "remaining_milli")
ALLOCATION_KEYS = ("debit_id", "lot_id", "user_id", "allocated_at", "allocation_kind",
                   "amount_milli")


@pytest.mark.parametrize("as_of", [None, datetime(2024, 1, 20, 7, 0, 0)])
def test_dbt_models_match_reference(build_ledger: BuildLedger, as_of: datetime | None) -> None:
    rows, events = random_ledgers(seed=20241121, count=LEDGER_COUNT)
    built = build_ledger(
        ledger(rows),
        command=["build", "--select", "+int_credit_lots", "+int_credit_allocations",
                 "--indirect-selection", "cautious"],
        extra_vars={"as_of": None if as_of is None else str(as_of)},
    )
    reference = run_fifo(events, as_of=as_of)
    expected_lots = as_tuples([asdict(lot) for lot in reference.lots.values()], LOT_KEYS)
    expected_allocations = sorted(reference.allocations, key=repr)

    got_lots = as_tuples(built.dicts("select * from intermediate.int_credit_lots"), LOT_KEYS)
    got_allocations = as_tuples(
        built.dicts("select * from intermediate.int_credit_allocations"), ALLOCATION_KEYS)

    # the generated ledgers really cover the rules
    kinds = {a[4] for a in expected_allocations}
    assert kinds == {"consumption", "debt_repayment", "unfunded"}
    assert any(lot.expires_at is not None and lot.expires_at <= lot.granted_at
               for lot in reference.lots.values())
    assert len(expected_lots) > 1000 and len(expected_allocations) > 1000

    assert got_lots == expected_lots
    assert got_allocations == expected_allocations




def test_kernel_handles_user_ids_far_apart() -> None:
    """Ids spanning most of BIGINT must not overflow the counting sort."""
    low, high = -(2**62) * 2, 2**63 - 1
    events = [Event(high, 1, 0, 5000), Event(low, 2, 1, -2000), Event(high, 3, 2, -1000)]
    kernel = deplete(
        np.array([e.user_id for e in events], np.int64),
        np.array([e.row_id for e in events], np.int64),
        np.array([e.at for e in events], np.int64),
        np.array([e.amount_milli for e in events], np.int64),
        np.full(3, NEVER, np.int64),
    )
    got = sorted(zip(kernel["user_id"].tolist(), kernel["debit_id"].tolist(),
                     kernel["amount_milli"].tolist(), kernel["kind"].tolist()))
    assert got == [(low, 2, 2000, 2), (high, 3, 1000, 0)]
