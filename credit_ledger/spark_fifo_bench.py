"""Time the Spark FIFO function (credit_ledger/spark_fifo.py) with plain pyspark.

    python -m credit_ledger.spark_fifo_bench [--events 1e5,1e6] [--skewed 3x1e5]
        [--cores 1,2] [--work bench/spark-fifo]

For each ledger (uniform: about 96 events per user; skewed: a few users with
10^5 events each) it writes the events as Parquet, then, in one local Spark
session per core count, times the FIFO query for each grouping key (--keys:
64 user buckets as macros/spark/fifo.sql does, and one group per user; one
fifo_allocate call per group, pieces written to a noop sink; best of 3) and
checks the pieces equal the DuckDB kernel's (credit_ledger.fifo.deplete)
exactly. It prints the wall times; it asserts nothing but the equality.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from credit_ledger.fifo import NEVER, deplete
from credit_ledger.spark_fifo import CLASS_NAME, build_jar

DAY_US = 86_400 * 10**6


def synthetic_events(n_events: int, n_users: int, seed: int) -> pa.Table:
    """Events of n_users users over a year: grants (some expiring, some
    expiring on arrival), debits, equal times; ids not in time order."""
    rng = np.random.default_rng(seed)
    user = rng.integers(1, n_users + 1, n_events, dtype=np.int64)
    at = 1_704_067_200 * 10**6 + rng.integers(0, 365 * 24, n_events) * 3_600 * 10**6
    ident = rng.permutation(n_events).astype(np.int64) + 1
    kind = rng.random(n_events)
    grant = kind < 0.35
    amount = np.where(
        grant, rng.integers(1, 50_000, n_events), -rng.integers(1, 12_000, n_events)
    ).astype(np.int64)
    expiry_draw = rng.random(n_events)
    expires = np.full(n_events, NEVER, np.int64)
    expiring = grant & (expiry_draw < 0.7)
    offset_days = rng.choice([-1, 0, 1, 7, 31, 90], n_events)
    expires[expiring] = at[expiring] + offset_days[expiring] * DAY_US
    return pa.table(
        {"user_id": user, "credit_history_id": ident, "occurred_us": at,
         "amount_milli": amount, "expires_us": expires}
    )


def kernel_pieces(events: pa.Table) -> np.ndarray:
    columns = [events.column(name).to_numpy() for name in
               ("user_id", "credit_history_id", "occurred_us", "amount_milli", "expires_us")]
    pieces = deplete(*columns)
    lot = np.where(pieces["kind"] == 2, -1, pieces["lot_id"])
    return _sorted_rows(pieces["user_id"], pieces["debit_id"], lot,
                        pieces["kind"].astype(np.int64), pieces["amount_milli"],
                        pieces["allocated_us"])


def _sorted_rows(*columns: np.ndarray) -> np.ndarray:
    rows = np.stack(columns, axis=1)
    return rows[np.lexsort(rows.T[::-1])]


FIFO_SQL = """
select inline(fifo_allocate(events))
from (
    select
        {key} as user_key,
        collect_list(named_struct(
            'user_id', user_id, 'credit_history_id', credit_history_id,
            'occurred_us', occurred_us, 'amount_milli', amount_milli,
            'expires_us', expires_us
        )) as events
    from fifo_events
    group by 1
)
"""


def run_session(ledgers: list[Path], cores: int, jar: Path, out: Path, keys: list[str]) -> None:
    """Child process: one local[cores] session, every ledger, every key."""
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master(f"local[{cores}]")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.warehouse.dir", str(out / "warehouse"))
        .config("spark.driver.memory", "4g")
        .config("spark.hadoop.javax.jdo.option.ConnectionURL",
                f"jdbc:derby:;databaseName={out}/metastore_db;create=true")
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={out}")
        .enableHiveSupport()
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    spark.sql(f"create or replace temporary function fifo_allocate as '{CLASS_NAME}' "
              f"using jar '{jar}'")
    for ledger in ledgers:
        spark.read.parquet(str(ledger)).createOrReplaceTempView("fifo_events")
        spark.sql("cache table fifo_events")
        for key in keys:
            sql = FIFO_SQL.format(key=key)
            times = []
            for _ in range(3):
                start = time.perf_counter()
                spark.sql(sql).write.format("noop").mode("overwrite").save()
                times.append(time.perf_counter() - start)
            target = out / f"{ledger.stem}-{cores}-{key.split('(')[0]}.parquet"
            spark.sql(sql).write.mode("overwrite").parquet(str(target))
            print("\t".join([
                "RESULT", ledger.stem, f"cores={cores}", f"key={key}",
                f"best={min(times):.2f}s", f"runs={'/'.join(f'{t:.2f}' for t in times)}",
                f"pieces={target}"]), flush=True)
        spark.sql("uncache table fifo_events")
    spark.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", default="1e5,1e6")
    parser.add_argument("--skewed", default="3x1e5", help="USERSxEVENTS, '' for none")
    parser.add_argument("--cores", default="1,2")
    parser.add_argument("--keys", default="pmod(hash(user_id), 64);user_id",
                        help="grouping keys, ';'-separated (64 buckets, as the model)")
    parser.add_argument("--work", default=None)
    parser.add_argument("--child", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    jar = build_jar()
    keys = args.keys.split(";")
    if args.child is not None:
        cores, out, *ledgers = args.child
        run_session([Path(p) for p in ledgers], int(cores), jar, Path(out), keys)
        return
    work = Path(args.work or tempfile.mkdtemp(prefix="spark-fifo-"))
    work.mkdir(parents=True, exist_ok=True)
    ledgers: dict[Path, pa.Table] = {}
    for size in filter(None, args.events.split(",")):
        n = int(float(size))
        ledgers[work / f"uniform-{n}.parquet"] = synthetic_events(n, max(1, n // 96), seed=n)
    if args.skewed:
        users, per_user = args.skewed.split("x")
        n = int(users) * int(float(per_user))
        ledgers[work / f"skewed-{n}.parquet"] = synthetic_events(n, int(users), seed=7)
    for path, table in ledgers.items():
        pq.write_table(table, path)
    for cores in args.cores.split(","):
        start = time.perf_counter()
        completed = subprocess.run(
            [sys.executable, "-m", "credit_ledger.spark_fifo_bench", "--keys", args.keys,
             "--child", cores, str(work), *map(str, ledgers)],
            capture_output=True, text=True, env=dict(os.environ),
        )
        if completed.returncode != 0:
            raise SystemExit(completed.stderr[-4000:])
        print(f"session local[{cores}]: {time.perf_counter() - start:.1f}s in all")
        for line in completed.stdout.splitlines():
            if not line.startswith("RESULT\t"):
                continue
            _, stem, *parts = line.split("\t")
            fields = dict(part.split("=", 1) for part in parts)
            ledger = work / f"{stem}.parquet"
            got = pq.read_table(fields["pieces"])
            got_rows = _sorted_rows(*(
                np.nan_to_num(got.column(name).to_numpy(zero_copy_only=False), nan=-1)
                .astype(np.int64)
                for name in ("user_id", "debit_id", "lot_id", "piece_kind", "amount_milli",
                             "allocated_us")))
            expected = kernel_pieces(ledgers[ledger])
            same = got_rows.shape == expected.shape and bool((got_rows == expected).all())
            print(f"  {stem:>16} {fields['key']:<28} best {fields['best']:>7}"
                  f"  ({fields['runs']})  {len(expected):,} pieces, "
                  f"{'equal to the kernel' if same else 'DIFFERENT FROM THE KERNEL'}")


if __name__ == "__main__":
    main()
