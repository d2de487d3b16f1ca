"""An independent, plain-Python reading of the FIFO rules (ledger semantics
section 6), written for clarity rather than speed, to check the dbt models.

Deliberately unlike the compiled kernel: no heap, the open lots are re-sorted
at every debit, and expiry is applied by scanning all lots.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable, TypeVar

T = TypeVar("T")  # a time: datetime or int, anything ordered


@dataclass(slots=True)
class Event:
    user_id: int
    row_id: int
    at: Any
    amount_milli: int
    expires_at: Any = None  # None: never expires


@dataclass(slots=True)
class Lot:
    lot_id: int
    user_id: int
    granted_at: Any
    expires_at: Any
    granted_milli: int
    consumed_milli: int = 0
    debt_repaid_milli: int = 0
    expired_milli: int = 0
    remaining_milli: int = 0
    open_milli: int = 0  # usable amount while walking


@dataclass(slots=True)
class Debt:
    debit_id: int
    at: Any
    owed_milli: int


@dataclass(slots=True)
class Result:
    lots: dict[int, Lot] = field(default_factory=dict)
    # (debit_id, lot_id or None, user_id, allocated_at, kind, amount_milli)
    allocations: list[tuple[Any, ...]] = field(default_factory=list)


def _expired_by(lot: Lot, moment: Any) -> bool:
    return lot.expires_at is not None and lot.expires_at <= moment


def _priority(lot: Lot) -> tuple[Any, ...]:
    # soonest expiry first, never-expiring last, then granted_at, then lot_id
    never = lot.expires_at is None
    return (never, lot.expires_at if not never else 0, lot.granted_at, lot.lot_id)


def run_fifo(events: Iterable[Event], as_of: Any = None) -> Result:
    """Lots and allocation pieces for all users, up to `as_of`
    (default: the latest event time)."""
    events = list(events)
    if as_of is None:
        as_of = max(e.at for e in events)
    by_user: dict[int, list[Event]] = defaultdict(list)
    for event in events:
        if event.at <= as_of and event.amount_milli != 0:
            by_user[event.user_id].append(event)
    result = Result()
    for user_id, user_events in by_user.items():
        user_events.sort(key=lambda e: (e.at, e.row_id))
        lots: list[Lot] = []
        debts: list[Debt] = []
        for event in user_events:
            if event.amount_milli > 0:
                lot = Lot(event.row_id, user_id, event.at, event.expires_at,
                          event.amount_milli)
                lots.append(lot)
                result.lots[lot.lot_id] = lot
                if _expired_by(lot, event.at):
                    continue  # expired on arrival: repays nothing
                available = event.amount_milli
                for debt in debts:
                    if available == 0:
                        break
                    pay = min(available, debt.owed_milli)
                    if pay == 0:
                        continue
                    debt.owed_milli -= pay
                    available -= pay
                    lot.debt_repaid_milli += pay
                    result.allocations.append(
                        (debt.debit_id, lot.lot_id, user_id, event.at, "debt_repayment", pay))
                lot.open_milli = available
            else:
                need = -event.amount_milli
                usable = sorted(
                    (lot for lot in lots if lot.open_milli > 0 and not _expired_by(lot, event.at)),
                    key=_priority,
                )
                for lot in usable:
                    if need == 0:
                        break
                    take = min(need, lot.open_milli)
                    lot.open_milli -= take
                    lot.consumed_milli += take
                    need -= take
                    result.allocations.append(
                        (event.row_id, lot.lot_id, user_id, event.at, "consumption", take))
                if need > 0:
                    debts.append(Debt(event.row_id, event.at, need))
        for debt in debts:
            if debt.owed_milli > 0:
                result.allocations.append(
                    (debt.debit_id, None, user_id, debt.at, "unfunded", debt.owed_milli))
        for lot in lots:
            left = lot.granted_milli - lot.consumed_milli - lot.debt_repaid_milli
            if _expired_by(lot, as_of):
                lot.expired_milli = left
            else:
                lot.remaining_milli = left
    return result
