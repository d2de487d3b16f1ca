"""The five source tables of the app's ledger: their columns and a small writer.

Used by tests to write crafted ledgers (CSV or Parquet) that dbt reads
through `--vars '{ledger_path: DIR}'`.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Mapping, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

COLUMNS: dict[str, tuple[str, ...]] = {
    "credit_events": (
        "id", "name", "event_type", "calculation_type", "value", "min_amount",
        "created_at", "updated_at",
    ),
    "credit_histories": (
        "id", "user_id", "credit_event_id", "creditable_type", "creditable_id",
        "amount", "previous_amount", "description", "meta_data", "created_at",
        "updated_at",
    ),
    "users": (
        "id", "email", "plan_id", "credits", "monthly_credits", "created_at",
        "updated_at", "deleted_at",
    ),
    "plans": (
        "id", "name", "tier", "monthly_credits", "price", "billing_interval",
        "created_at",
    ),
    "subscriptions": (
        "id", "user_id", "plan_id", "status", "starts_at", "ends_at",
        "canceled_at", "created_at",
    ),
}

Row = Mapping[str, Any]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def write_ledger(
    out_dir: Path,
    tables: Mapping[str, Sequence[Row]],
    fmt: str = "csv",
) -> None:
    """Write each table to `out_dir/<table>.<fmt>`; absent columns are null.

    CSV values are written as text (floats with repr, so float noise shows);
    Parquet columns are all strings, like a text export.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    for table, rows in tables.items():
        columns = COLUMNS[table]
        unknown = {key for row in rows for key in row} - set(columns)
        if unknown:
            raise ValueError(f"{table}: unknown columns {sorted(unknown)}")
        if fmt == "csv":
            with (out_dir / f"{table}.csv").open("w", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(columns)
                for row in rows:
                    writer.writerow([_text(row.get(c)) for c in columns])
        elif fmt == "parquet":
            data = {
                c: pa.array(
                    [None if row.get(c) is None else _text(row.get(c)) for row in rows],
                    type=pa.string(),
                )
                for c in columns
            }
            pq.write_table(pa.table(data), out_dir / f"{table}.parquet")
        else:
            raise ValueError(f"unknown format {fmt!r}: use csv or parquet")
