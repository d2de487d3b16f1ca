"""FIFO on PostgreSQL: time the PL/pgSQL function and check it against the
DuckDB kernel (credit_ledger/fifo.py) on synthetic events.

    python -m credit_ledger.bench_postgres [--events 100000 1000000] [--skewed 100000]

Needs a server with the project's engine functions (any `dbt build
--target postgres` creates them in the target schema) reachable through
the CREDITS_PG_* variables. Each ledger: `--events` rows over users of 100
events each (a mix of expiring and never-expiring grants and debits), and a
skewed one: one user with `--skewed` events. Prints one line per ledger:
seconds for the whole query (aggregate per user, call, write), pieces, and
whether they equal the kernel's pieces exactly.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from credit_ledger.fifo import KIND_NAMES, NEVER, deplete
from credit_ledger.load import postgres_settings

FIFO_SQL = """
create temp table bench_pieces as
select
    pieces.debit_id,
    pieces.lot_id,
    user_events.user_id,
    pieces.piece_kind,
    pieces.amount_milli,
    pieces.allocated_us
from (
    select
        user_id,
        array_agg(
            row(
                credit_history_id,
                cast(extract(epoch from occurred_at) * 1000000 as bigint),
                amount_milli,
                coalesce(cast(extract(epoch from expires_at) * 1000000 as bigint),
                         9223372036854775807)
            )::{schema}.credit_ledger_fifo_event
            order by occurred_at, credit_history_id
        ) as events
    from bench_events
    group by user_id
) as user_events
cross join lateral {schema}.credit_ledger_fifo_user(user_events.events) as pieces
"""


def synthetic_events(n: int, users: int, seed: int) -> dict[str, np.ndarray]:
    """n events over `users` users: grants (some expiring in 1-60 days) and
    debits, at second resolution over a year."""
    rng = np.random.default_rng(seed)
    user = rng.integers(1, users + 1, n).astype(np.int64)
    ident = np.arange(1, n + 1, dtype=np.int64)
    at = (1_700_000_000 + rng.integers(0, 365 * 86400, n)) * 1_000_000
    is_grant = rng.random(n) < 0.3
    amount = np.where(is_grant, rng.integers(1, 50_000, n), -rng.integers(1, 12_000, n))
    expiring = is_grant & (rng.random(n) < 0.6)
    expires = np.where(expiring, at + rng.integers(1, 60 * 86400, n) * 1_000_000, NEVER)
    return {"user": user, "ident": ident, "at": at.astype(np.int64),
            "amount": amount.astype(np.int64), "expires": expires.astype(np.int64)}


def run(cursor, events: dict[str, np.ndarray], schema: str) -> tuple[float, set]:
    cursor.execute("drop table if exists bench_events; drop table if exists bench_pieces")
    cursor.execute(
        "create temp table bench_events (credit_history_id bigint, user_id bigint, "
        "amount_milli bigint, occurred_at timestamp, expires_at timestamp)")
    cursor.execute(
        """
        insert into bench_events
        select ident, usr, amount,
            timestamp '1970-01-01' + at_us * interval '1 microsecond',
            case when exp_us < 9223372036854775807
                then timestamp '1970-01-01' + exp_us * interval '1 microsecond' end
        from unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[])
            as t(ident, usr, amount, at_us, exp_us)
        """,
        [events["ident"].tolist(), events["user"].tolist(), events["amount"].tolist(),
         events["at"].tolist(), events["expires"].tolist()],
    )
    cursor.execute("analyze bench_events")
    started = time.perf_counter()
    cursor.execute(FIFO_SQL.format(schema=schema))
    elapsed = time.perf_counter() - started
    cursor.execute("select debit_id, lot_id, user_id, piece_kind, amount_milli, allocated_us "
                   "from bench_pieces")
    return elapsed, cursor.fetchall()


def kernel_pieces(events: dict[str, np.ndarray]) -> list:
    pieces = deplete(events["user"], events["ident"], events["at"], events["amount"],
                     events["expires"])
    return [
        (int(d), None if KIND_NAMES[k] == "unfunded" else int(lot), int(u), int(k), int(a),
         int(t))
        for d, lot, u, k, a, t in zip(pieces["debit_id"], pieces["lot_id"], pieces["user_id"],
                                      pieces["kind"], pieces["amount_milli"],
                                      pieces["allocated_us"])
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--skewed", type=int, nargs="*", default=[100_000])
    parser.add_argument("--schema", default="public")
    args = parser.parse_args()
    import psycopg2

    con = psycopg2.connect(**postgres_settings())
    con.autocommit = True
    with con.cursor() as cursor:
        cursor.execute("set jit = off")
        cursor.execute("set work_mem = '64MB'")
        ledgers = [(f"{n} events, {n // 100} users", synthetic_events(n, n // 100, n))
                   for n in args.events]
        ledgers += [(f"{n} events, 1 user", synthetic_events(n, 1, n + 1)) for n in args.skewed]
        for label, events in ledgers:
            elapsed, rows = run(cursor, events, args.schema)
            exact = sorted(rows, key=repr) == sorted(kernel_pieces(events), key=repr)
            print(f"postgres fifo {label}: {elapsed:.2f} s, {len(rows)} pieces, "
                  f"{'equal to' if exact else 'DIFFERENT from'} the DuckDB kernel", flush=True)
    con.close()


if __name__ == "__main__":
    main()
