"""Small crafted ledgers for tests: a fixed catalog and row builders."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterable, Mapping, Sequence

Row = dict[str, Any]

# (id, name, raw event_type) of the catalog; mirrors the sample generator's.
EVENTS: dict[str, tuple[int, str]] = {
    "monthly_allocation": (1, "bonus"),
    "welcome_bonus": (2, "Bonus"),
    "referral_bonus": (3, "bonus "),
    "credit_purchase": (4, "bonus"),
    "refund": (5, "BONUS"),
    "admin_credit": (6, "bonus"),
    "video_generation": (7, "usage"),
    "caption_generation": (8, "Usage"),
    "late_payment_penalty": (13, "penalty"),
    "admin_debit": (15, "penalty"),
}

PLANS: list[Row] = [
    {"id": 1, "name": "Basic Monthly", "tier": "basic", "monthly_credits": 100.0,
     "price": 9.0, "billing_interval": "month", "created_at": "2023-01-01 00:00:00"},
    {"id": 3, "name": "Pro Monthly", "tier": "pro", "monthly_credits": 500.0,
     "price": 29.0, "billing_interval": "month", "created_at": "2023-01-01 00:00:00"},
]


def event_id(name: str) -> int:
    return EVENTS[name][0]


def catalog(user_ids: Iterable[int], plan_id: int = 1) -> dict[str, list[Row]]:
    """Events, plans, users and one open subscription per user."""
    events = [
        {"id": eid, "name": name, "event_type": etype, "calculation_type": "fixed",
         "value": 1.0, "min_amount": 0.0, "created_at": "2023-01-01 00:00:00",
         "updated_at": "2023-01-01 00:00:00"}
        for name, (eid, etype) in EVENTS.items()
    ]
    users = [
        {"id": uid, "email": f"person{uid}@example.com", "plan_id": plan_id,
         "credits": 0.0, "monthly_credits": 100.0, "created_at": "2024-01-01 00:00:00",
         "updated_at": "2024-01-01 00:00:00"}
        for uid in user_ids
    ]
    subscriptions = [
        {"id": uid, "user_id": uid, "plan_id": plan_id, "status": "active",
         "starts_at": "2024-01-01 00:00:00", "created_at": "2024-01-01 00:00:00"}
        for uid in user_ids
    ]
    return {"credit_events": events, "plans": PLANS, "users": users,
            "subscriptions": subscriptions}


def entry(
    row_id: int | str | None,
    user_id: int | str | None,
    event: str | int,
    amount: Any,
    created_at: str | None,
    **extra: Any,
) -> Row:
    """One credit_histories row; `event` is a catalog name or a raw id."""
    row: Row = {
        "id": row_id,
        "user_id": user_id,
        "credit_event_id": event_id(event) if isinstance(event, str) else event,
        "amount": amount,
        "created_at": created_at,
        "updated_at": created_at,
    }
    row.update(extra)
    return row


def with_app_chain(rows: Sequence[Row]) -> list[Row]:
    """Fill `previous_amount` as the app would: per user, the running sum
    of float amounts in (created_at, id) order. Rows that already have one
    keep it."""
    balance: dict[Any, float] = defaultdict(float)
    ordered = sorted(rows, key=lambda r: (str(r["created_at"]), int(r["id"] or 0)))
    out: list[Row] = []
    for row in ordered:
        row = dict(row)
        row.setdefault("previous_amount", balance[row["user_id"]])
        try:
            balance[row["user_id"]] = row["previous_amount"] + float(row["amount"])
        except (TypeError, ValueError):
            pass
        out.append(row)
    return out


def ledger(rows: Sequence[Row], **tables: Sequence[Row]) -> dict[str, Sequence[Row]]:
    """A complete ledger: the catalog for the rows' users plus the rows."""
    user_ids = sorted({int(r["user_id"]) for r in rows if _is_int(r["user_id"])})
    result: dict[str, Sequence[Row]] = dict(catalog(user_ids or [1]))
    result["credit_histories"] = list(rows)
    result.update(tables)
    return result


def _is_int(value: Any) -> bool:
    try:
        int(value)
    except (TypeError, ValueError):
        return False
    return True


def merge(*parts: Mapping[str, Sequence[Row]]) -> dict[str, list[Row]]:
    merged: dict[str, list[Row]] = defaultdict(list)
    for part in parts:
        for table, rows in part.items():
            merged[table].extend(rows)
    return dict(merged)
