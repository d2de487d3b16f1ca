"""Benchmark of the three engines on the same ledgers: load, whole build, FIFO.

    python -m credit_ledger.engine_benchmark [--engines duckdb,postgres,spark]
        [--sizes 1e5,1e6] [--skewed 3x1e5] [--work bench/engines]

For each ledger (generated Parquet, cached under --work; `--skewed KxN` is
the smallest generated ledger with at least K*N rows whose credit_histories
rows are given to K users, so each has about N events) and each engine:

* load: `python -m credit_ledger.load` into the `ledger` schema (PostgreSQL
  and Spark; DuckDB reads the files where they are);
* build: `dbt build --full-refresh` of the whole project, models and data
  tests (unit tests excluded, as the scheduled command does);
* FIFO: `dbt run` of int_fifo_events, int_credit_allocations and
  int_credit_lots, the three models' own seconds from run_results; on Spark
  once with one local core and once with two (CREDITS_SPARK_MASTER).

PostgreSQL is a throwaway server (credit_ledger/pg_server.py), Spark a
local session whose warehouse is under --work. It prints the figures and
asserts nothing (`make bench-engines`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import duckdb

from credit_ledger.benchmark import ROWS_PER_USER, ensure_ledger
from credit_ledger.dbt_runner import PROJECT_DIR, dbt_executable
from credit_ledger.pg_server import pg_server

FIFO_MODELS = ("int_fifo_events", "int_credit_allocations", "int_credit_lots")


def run(command: list[str], env: dict[str, str]) -> float:
    """Run a command in the project; its wall seconds (stops on failure)."""
    start = time.perf_counter()
    completed = subprocess.run(command, cwd=PROJECT_DIR, env=env,
                               capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n"
                           f"{(completed.stdout + completed.stderr)[-4000:]}")
    return time.perf_counter() - start


def model_seconds(target_dir: Path, names: tuple[str, ...]) -> float:
    results = json.loads((target_dir / "run_results.json").read_text())["results"]
    return sum(r["execution_time"] for r in results
               if r["unique_id"].split(".")[-1] in names)


def skewed_ledger(users: int, events_per_user: int, work: Path, python: str) -> Path:
    """A generated ledger whose credit_histories rows belong to `users` users."""
    source = ensure_ledger(max(10, round(users * events_per_user / ROWS_PER_USER)),
                           work, python)
    ledger = work / f"skewed_{users}x{events_per_user}"
    if not (ledger / "credit_histories.parquet").exists():
        ledger.mkdir(parents=True, exist_ok=True)
        for table in ("credit_events", "users", "plans", "subscriptions"):
            shutil.copyfile(source / f"{table}.parquet", ledger / f"{table}.parquet")
        with duckdb.connect() as con:
            con.execute(f"""
                copy (
                    select * replace (
                        -- the first `users` user ids take every row
                        cast((hash(user_id) % {users}) + 1 as varchar) as user_id
                    )
                    from read_parquet('{source}/credit_histories.parquet')
                ) to '{ledger}/credit_histories.parquet' (format parquet)
            """)
    return ledger


@contextlib.contextmanager
def engine_env(engine: str, work: Path) -> Iterator[dict[str, str]]:
    env = dict(os.environ, DO_NOT_TRACK="1", DBT_EXCLUDE_RESOURCE_TYPES="unit_test")
    if engine == "postgres":
        with pg_server() as pg_env:
            yield {**env, **pg_env}
    elif engine == "spark":
        spark_dir = work / "spark"
        shutil.rmtree(spark_dir, ignore_errors=True)
        spark_dir.mkdir(parents=True)
        yield {**env, "CREDITS_SPARK_DIR": str(spark_dir)}
    else:
        yield {**env, "CREDITS_DB_PATH": str(work / "bench.duckdb")}


def bench_engine(engine: str, ledger: Path, env: dict[str, str], work: Path) -> dict[str, float]:
    target_dir = work / f"target_{engine}"
    env = {**env, "DBT_TARGET_PATH": str(target_dir), "DBT_LOG_PATH": str(work / "logs"),
           "CREDITS_LEDGER_PATH": str(ledger)}
    dbt = [dbt_executable()]
    target = ["--target", "dev" if engine == "duckdb" else engine,
              "--vars", '{"ledger_format": "parquet"}']
    figures: dict[str, float] = {}
    if engine == "duckdb":
        Path(env["CREDITS_DB_PATH"]).unlink(missing_ok=True)
    else:
        figures["load_s"] = run([sys.executable, "-m", "credit_ledger.load", "--target",
                                 engine, "--ledger", str(ledger), "--format", "parquet"], env)
    figures["build_s"] = run([*dbt, "build", "--full-refresh", *target], env)
    masters = ["local[1]", "local[2]"] if engine == "spark" else [None]
    for master in masters:
        run_env = env if master is None else {**env, "CREDITS_SPARK_MASTER": master}
        wall = run([*dbt, "run", "--full-refresh", "--select", *FIFO_MODELS, *target], run_env)
        suffix = "" if master is None else f"_{master[6]}core"
        figures[f"fifo_s{suffix}"] = model_seconds(target_dir, FIFO_MODELS)
        figures[f"fifo_process_s{suffix}"] = wall
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engines", default="duckdb,postgres,spark")
    parser.add_argument("--sizes", default="1e5,1e6",
                        help="target credit_histories rows per ledger, comma separated")
    parser.add_argument("--skewed", default="3x1e5",
                        help="K users x N events each ('' to skip)")
    parser.add_argument("--work", type=Path, default=PROJECT_DIR / "bench" / "engines")
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    ledgers: list[tuple[str, Path]] = []
    for size in filter(None, args.sizes.split(",")):
        users = max(10, round(float(size) / ROWS_PER_USER))
        ledgers.append((f"{float(size):.0e} rows", ensure_ledger(users, args.work, sys.executable)))
    if args.skewed:
        users, per_user = args.skewed.split("x")
        ledgers.append((f"skewed {users}x{float(per_user):.0e}",
                        skewed_ledger(int(users), int(float(per_user)), args.work,
                                      sys.executable)))
    print(f"{'ledger':<16} {'engine':<9} {'rows':>10} {'load s':>7} {'build s':>8} "
          f"{'FIFO s':>7} {'FIFO dbt s':>10}  (Spark: FIFO with 1 core | 2 cores)", flush=True)
    for engine in filter(None, args.engines.split(",")):
        with engine_env(engine, args.work) as env:
            for name, ledger in ledgers:
                with duckdb.connect() as con:
                    rows = con.execute(f"select count(*) from read_parquet("
                                       f"'{ledger}/credit_histories.parquet')").fetchall()[0][0]
                f = bench_engine(engine, ledger, env, args.work)
                if engine == "spark":
                    fifo = f"{f['fifo_s_1core']:>7.2f} | {f['fifo_s_2core']:.2f}"
                    process = f"{f['fifo_process_s_1core']:>10.1f} | {f['fifo_process_s_2core']:.1f}"
                else:
                    fifo, process = f"{f['fifo_s']:>7.2f}", f"{f['fifo_process_s']:>10.1f}"
                load = f"{f['load_s']:>7.1f}" if "load_s" in f else f"{'-':>7}"
                print(f"{name:<16} {engine:<9} {rows:>10,} {load} {f['build_s']:>8.1f} "
                      f"{fifo} {process}", flush=True)


if __name__ == "__main__":
    main()
