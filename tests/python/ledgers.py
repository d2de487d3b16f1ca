"""Small crafted ledgers for tests: a fixed catalog and row builders."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import duckdb

from credit_ledger.generate import generate

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


# --- generated ledgers written step by step, and database comparison ---

# the scheduled command (unit tests check the SQL, not the data; the dbt
# build of `make test` runs them), and a build of models and seeds only,
# for reference builds whose rows are compared
SCHEDULED = ["build", "--exclude-resource-type", "unit_test"]
MODELS_ONLY = ["build", "--exclude-resource-type", "test", "unit_test"]

# differ by design between an incremental run and a full refresh
RUN_ONLY_COLUMNS = {"loaded_at", "previous_as_of"}
# what one run recomputes or compares
RUN_ONLY_MODELS = {"int_affected_users", "int_fifo_carryover",
                   "base_ledger__credit_history_changes"}


def read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        return header, list(reader)


def write_rows(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def generated_ledger(tmp_path: Path, users: int, months: int,
                     seed: int) -> tuple[Path, list[str], list[list[str]]]:
    """A generated ledger: the folder dbt reads, holding every table but
    credit_histories (the test writes it, step by step), and that table's
    header and rows."""
    generated = tmp_path / "generated"
    generate(generated, users=users, months=months, seed=seed)
    header, rows = read_rows(generated / "credit_histories.csv")
    ledger = tmp_path / "ledger"
    ledger.mkdir()
    for table in ("credit_events", "users", "plans", "subscriptions"):
        (ledger / f"{table}.csv").write_text((generated / f"{table}.csv").read_text())
    return ledger, header, rows


def database_in(folder: Path) -> Path:
    """The DuckDB file of the builds in `folder`. Every test's file has this
    name: dbt's saved parse is keyed by the profile, which holds the name,
    so one parse serves them all (credit_ledger/dbt_runner.py)."""
    return folder / "credits.duckdb"


def relations(con: duckdb.DuckDBPyConnection, catalog: str) -> list[tuple[str, str]]:
    return con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_catalog = ? and table_schema in ('staging', 'intermediate', 'marts') "
        "order by 1, 2", [catalog]).fetchall()


def assert_same_tables(inc_db: Path, full_db: Path) -> None:
    """Every table and view of staging, intermediate and marts holds the same
    rows in both databases (run-specific columns and models aside)."""
    with duckdb.connect() as con:
        con.execute(f"attach '{inc_db}' as incremental (read_only)")
        con.execute(f"attach '{full_db}' as rebuilt (read_only)")
        inc_relations, full_relations = relations(con, "incremental"), relations(con, "rebuilt")
        assert inc_relations == full_relations
        assert len(full_relations) > 20
        for schema, table in full_relations:
            if table in RUN_ONLY_MODELS:
                continue
            columns = [
                c for (c,) in con.execute(
                    "select column_name from information_schema.columns "
                    "where table_catalog = 'rebuilt' and table_schema = ? and table_name = ? "
                    "order by ordinal_position", [schema, table]).fetchall()
                if c not in RUN_ONLY_COLUMNS
            ]
            select = ", ".join(f'"{c}"' for c in columns)
            for a, b in (("incremental", "rebuilt"), ("rebuilt", "incremental")):
                extra = con.execute(
                    f'select count(*) from (select {select} from {a}."{schema}"."{table}" '
                    f'except all select {select} from {b}."{schema}"."{table}")').fetchone()[0]
                assert extra == 0, f"{schema}.{table}: {extra} rows in {a} not in {b}"
