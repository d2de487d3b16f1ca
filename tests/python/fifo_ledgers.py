"""Seeded random ledgers that stress the FIFO rules: many equal timestamps,
expiries that land exactly on later rows or before the grant, debt, zero rows,
never-expiring lots, ids out of time order."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from typing import Any

from ledgers import Row, entry
from reference_fifo import Event

BASE = datetime(2024, 1, 1)
ALLOCATION_EXPIRY = timedelta(days=31)  # credit_type_rules: monthly_allocation


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def random_user_ledger(
    rng: random.Random, user_id: int, first_row_id: int
) -> tuple[list[Row], list[Event]]:
    """One user's rows (for the CSV) and the same rows as reference events."""
    n_rows = rng.choice([1, 2, 3, 5, 8, 12, 20, 40, 120])
    hour_pool = sorted(rng.sample(range(0, 24 * 40), k=max(2, n_rows // 2)))
    ids = list(range(first_row_id, first_row_id + n_rows))
    rng.shuffle(ids)  # ids need not follow time: order is (time, id)
    rows: list[Row] = []
    events: list[Event] = []
    for row_id in ids:
        at = BASE + timedelta(hours=rng.choice(hour_pool))
        kind = rng.choices(
            ["expiring", "never", "allocation", "debit", "zero"],
            weights=[4, 2, 1, 7, 1],
        )[0]
        milli = rng.choice([1, 250, 1000, 3500, 10_000, rng.randint(1, 60_000)])
        expires: datetime | None = None
        if kind == "expiring":
            # land on the pool's hours so expiry often equals a later row's time
            offset = rng.choice([-5, 0, 1, 2, 3, 6, 24, 72, 400])
            expires = at + timedelta(hours=offset) if rng.random() < 0.5 else (
                BASE + timedelta(hours=rng.choice(hour_pool)))
            meta = json.dumps({"expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ")})
            rows.append(entry(row_id, user_id, "welcome_bonus", milli / 1000, _stamp(at),
                              meta_data=meta, previous_amount=0.0))
        elif kind == "never":
            rows.append(entry(row_id, user_id, "credit_purchase", milli / 1000, _stamp(at),
                              previous_amount=0.0))
        elif kind == "allocation":
            expires = at + ALLOCATION_EXPIRY
            rows.append(entry(row_id, user_id, "monthly_allocation", milli / 1000, _stamp(at),
                              previous_amount=0.0))
        elif kind == "debit":
            milli = -milli
            rows.append(entry(row_id, user_id, "video_generation", milli / 1000, _stamp(at),
                              creditable_type="video", previous_amount=0.0))
        else:
            milli = 0
            rows.append(entry(row_id, user_id, "video_generation", 0.0, _stamp(at),
                              previous_amount=0.0))
        events.append(Event(user_id, row_id, at, milli, expires))
    return rows, events


def random_ledgers(seed: int, count: int) -> tuple[list[Row], list[Event]]:
    """`count` independent one-user ledgers, concatenated (users never mix)."""
    rng = random.Random(seed)
    rows: list[Row] = []
    events: list[Event] = []
    next_id = 1
    for user_id in range(1, count + 1):
        user_rows, user_events = random_user_ledger(rng, user_id, next_id)
        next_id += len(user_rows)
        rows += user_rows
        events += user_events
    return rows, events


def as_tuples(values: list[dict[str, Any]], keys: tuple[str, ...]) -> list[tuple[Any, ...]]:
    return sorted((tuple(v[k] for k in keys) for v in values), key=repr)
