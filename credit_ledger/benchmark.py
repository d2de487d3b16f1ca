"""Benchmark of the FIFO models against two references, per ledger size.

    python -m credit_ledger.benchmark [--sizes 1e5,1e6,1e7] [--build-size 1e7] [--work bench]

For each size it generates a Parquet ledger (cached under --work), builds the
staging and intermediate inputs once, then measures in separate processes:

* FIFO: `dbt run` of int_fifo_events, int_credit_allocations, int_credit_lots
  (the models' own execution times from run_results, and the dbt process);
* floor: a DuckDB scan of the same rows with a window running sum per user,
  written to a table;
* reference: the plain-Python reference (tests/python/reference_fifo.py) on
  the same rows, loaded into Python first (loading not timed).

Then, on the --build-size ledger, it times whole builds: a full
`dbt build --full-refresh` (models and tests) of the ledger without its last
day, then, after that day is appended to the export (about 0.3% of the
rows), an incremental build from the same database three ways (`dbt build`;
the scheduled command, which skips unit tests; models only), then a
`dbt build` with nothing new and a one-view `dbt run` (the fixed cost of any
dbt invocation), each with its peak RSS and, for builds, the thread seconds
of models and tests.

It prints wall times, events per second and peak memory (max RSS) and exits;
it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from credit_ledger.dbt_runner import PROJECT_DIR, dbt_executable

MONTHS = 12
ROWS_PER_USER = 8.0 * MONTHS  # a little under what the generator yields


@dataclass
class Measured:
    wall_s: float
    peak_rss_mib: float
    output: str


def measure(command: list[str], env: dict[str, str] | None = None) -> Measured:
    """Run a command; its wall time and its own peak RSS (via wait4)."""
    start = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=PROJECT_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    assert process.stdout is not None
    output = process.stdout.read().decode(errors="replace")
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{output[-4000:]}")
    return Measured(wall, usage.ru_maxrss / 1024, output)


def dbt_env(db_path: Path, work: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        CREDITS_DB_PATH=str(db_path),
        DBT_TARGET_PATH=str(work / "target"),
        DBT_LOG_PATH=str(work / "logs"),
        DO_NOT_TRACK="1",
    )
    return env


def dbt_command(*args: str, ledger: Path) -> list[str]:
    dbt_vars = json.dumps({"ledger_path": str(ledger), "ledger_format": "parquet"})
    return [dbt_executable(), *args, "--vars", dbt_vars]


# the money and forecast marts (contract sections 9-10), rebuilt whole each run
MONEY_MODELS = (
    "fct_revenue_recognition", "fct_deferred_revenue_monthly", "fct_service_revenue_monthly",
    "fct_breakage_cohorts", "fct_projected_expiry", "fct_user_credit_health",
    "fct_churn_signal_backtest",
)


def model_seconds(work: Path, names: tuple[str, ...], phase: str | None = None) -> float:
    """Seconds of the named models in the last dbt invocation, or in the
    run_results kept for `phase` (phase_seconds)."""
    path = work / (f"run_results_{phase}.json" if phase else "target/run_results.json")
    results = json.loads(path.read_text())["results"]
    return sum(r["execution_time"] for r in results
               if r["unique_id"].startswith("model.") and r["unique_id"].split(".")[-1] in names)


def per_model(work: Path, names: tuple[str, ...], phase: str) -> str:
    path = work / f"run_results_{phase}.json"
    results = json.loads(path.read_text())["results"]
    seconds = {r["unique_id"].split(".")[-1]: r["execution_time"] for r in results
               if r["unique_id"].startswith("model.")}
    return ", ".join(f"{name} {seconds.get(name, 0.0):.1f}" for name in names)


FLOOR_SCRIPT = """
import duckdb, sys, time
con = duckdb.connect(sys.argv[1])
start = time.perf_counter()
con.execute('''
    create or replace table main.benchmark_floor as
    select user_id, credit_history_id,
        sum(amount_milli) over (
            partition by user_id order by occurred_at, credit_history_id
        ) as balance_milli
    from intermediate.int_fifo_events
''')
print(time.perf_counter() - start)
"""

REFERENCE_SCRIPT = """
import duckdb, sys, time
sys.path.insert(0, sys.argv[2])
from reference_fifo import Event, run_fifo
con = duckdb.connect(sys.argv[1], read_only=True)
rows = con.execute(
    'select user_id, credit_history_id, occurred_at, amount_milli, expires_at, as_of '
    'from intermediate.int_fifo_events'
).fetchall()
as_of = rows[0][5]
events = [Event(u, i, t, a, e) for u, i, t, a, e, _ in rows]
del rows
start = time.perf_counter()
result = run_fifo(events, as_of=as_of)
print(time.perf_counter() - start, len(result.allocations))
"""


def bench_size(target_rows: int, work: Path, python: str) -> dict[str, float]:
    users = max(10, round(target_rows / ROWS_PER_USER))
    ledger = ensure_ledger(users, work, python)
    db_path = work / f"bench_{users}u.duckdb"
    db_path.unlink(missing_ok=True)
    env = dbt_env(db_path, work)
    measure(dbt_command("seed", ledger=ledger), env)
    measure(dbt_command("run", "--select", "+int_ledger_entries", ledger=ledger), env)

    fifo_models = ("int_fifo_events", "int_credit_allocations", "int_credit_lots")
    fifo = measure(dbt_command("run", "--select", *fifo_models, ledger=ledger), env)
    fifo_s = model_seconds(work, fifo_models)

    import duckdb

    with duckdb.connect(str(db_path), read_only=True) as con:
        events = con.execute("select count(*) from intermediate.int_fifo_events").fetchone()[0]
        pieces = con.execute(
            "select count(*) from intermediate.int_credit_allocations").fetchone()[0]

    floor = measure([python, "-c", FLOOR_SCRIPT, str(db_path)])
    floor_s = float(floor.output.split()[-1])
    reference = measure(
        [python, "-c", REFERENCE_SCRIPT, str(db_path), str(PROJECT_DIR / "tests" / "python")]
    )
    reference_s = float(reference.output.split()[-2])
    db_path.unlink(missing_ok=True)
    return {
        "events": events, "pieces": pieces,
        "fifo_s": fifo_s, "fifo_process_s": fifo.wall_s, "fifo_rss": fifo.peak_rss_mib,
        "floor_s": floor_s, "floor_rss": floor.peak_rss_mib,
        "reference_s": reference_s, "reference_rss": reference.peak_rss_mib,
    }


def ensure_ledger(users: int, work: Path, python: str) -> Path:
    ledger = work / f"ledger_{users}u"
    if not (ledger / "credit_histories.parquet").exists():
        print(f"  generating {users} users x {MONTHS} months ...", flush=True)
        subprocess.run(
            [python, "-m", "credit_ledger.generate", "--out", str(ledger), "--users",
             str(users), "--months", str(MONTHS), "--format", "parquet"],
            check=True, cwd=PROJECT_DIR, stdout=subprocess.DEVNULL,
        )
    return ledger


def link_other_tables(ledger: Path, folder: Path) -> None:
    """`folder` gets links to every table of `ledger` but credit_histories."""
    folder.mkdir(exist_ok=True)
    for table in ("credit_events", "users", "plans", "subscriptions"):
        target = folder / f"{table}.parquet"
        if not target.exists():
            target.symlink_to(ledger / f"{table}.parquet")


def without_last_day(ledger: Path) -> tuple[Path, int, int]:
    """A copy of the ledger whose export stops before its last day (the same
    rows in the same order, the tail cut off), and the two row counts."""
    import duckdb

    cut = ledger.with_name(ledger.name + "_minus_day")
    link_other_tables(ledger, cut)
    source = str(ledger / "credit_histories.parquet")
    with duckdb.connect() as con:
        total, first_of_last_day = con.execute(
            "select count(*), min(file_row_number) filter (where created_at >= "
            "(select date_trunc('day', max(created_at)) from read_parquet(?))) "
            "from read_parquet(?, file_row_number = true)", [source, source]).fetchone()
        if not (cut / "credit_histories.parquet").exists():
            con.execute(
                "copy (select * exclude (file_row_number) from read_parquet(?, "
                "file_row_number = true) where file_row_number < ? order by file_row_number) "
                "to '" + str(cut / "credit_histories.parquet") + "' (format parquet)",
                [source, first_of_last_day])
    return cut, int(first_of_last_day), int(total)


def redumped(ledger: Path) -> Path:
    """The same export re-dumped as a nightly job would: in another order
    (by user), one id in 10,000 edited in place (amount changed) and one in
    10,000 hard-deleted."""
    import duckdb

    out = ledger.with_name(ledger.name + "_redump")
    link_other_tables(ledger, out)
    target = out / "credit_histories.parquet"
    if not target.exists():
        with duckdb.connect() as con:
            con.execute(
                "copy (select * replace (case when hash(id) % 10000 = 0 then amount - 1 "
                "else amount end as amount) from read_parquet(?) "
                "where hash(id) % 10000 != 1 order by user_id, id) "
                "to '" + str(target) + "' (format parquet)",
                [str(ledger / "credit_histories.parquet")])
    return out


def affected_by_reason(db_path: Path) -> str:
    import duckdb

    with duckdb.connect(str(db_path), read_only=True) as con:
        rows = con.execute(
            "select reason, count(*) from intermediate.int_affected_users "
            "group by 1 order by 2 desc").fetchall()
    return ", ".join(f"{reason} {count:,}" for reason, count in rows) or "none"


def phase_seconds(work: Path, phase: str) -> dict[str, float]:
    """Thread seconds per node type (model, test, unit_test, ...) of the last
    dbt invocation, from run_results.json (kept as run_results_<phase>.json
    in the work folder, for a per-node look)."""
    kept = work / f"run_results_{phase}.json"
    shutil.copyfile(work / "target" / "run_results.json", kept)
    results = json.loads(kept.read_text())["results"]
    totals: dict[str, float] = {}
    for result in results:
        kind = result["unique_id"].split(".")[0]
        totals[kind] = totals.get(kind, 0.0) + result["execution_time"]
    return totals


def bench_builds(target_rows: int, work: Path, python: str) -> None:
    """Full build of the ledger without its last day, then, as on a schedule,
    the same export grown by that day (the file is swapped in place, so dbt
    sees the same vars and reuses its parse) and an incremental build. The
    incremental build is timed three ways from the same starting database
    (a copy taken after the full build): the plain `dbt build`, the
    scheduled command (unit tests skipped), and the models alone (no tests
    at all, the floor of any build). Then a `dbt build` with nothing new,
    and a `dbt run` of one view (what any dbt invocation costs here)."""
    users = max(10, round(target_rows / ROWS_PER_USER))
    ledger = ensure_ledger(users, work, python)
    before, rows_before, rows_after = without_last_day(ledger)
    live = work / "ledger_live"
    live.mkdir(exist_ok=True)
    for table in ("credit_events", "users", "plans", "subscriptions"):
        target = live / f"{table}.parquet"
        target.unlink(missing_ok=True)
        target.symlink_to((ledger / f"{table}.parquet").resolve())
    export = live / "credit_histories.parquet"

    def grow_export_to(source: Path) -> None:
        export.unlink(missing_ok=True)
        export.symlink_to((source / "credit_histories.parquet").resolve())

    db_path = work / f"build_{users}u.duckdb"
    snapshot = work / f"build_{users}u_after_full.duckdb"
    db_path.unlink(missing_ok=True)
    env = dbt_env(db_path, work)

    def restore_snapshot() -> None:
        shutil.copyfile(snapshot, db_path)
        os.sync()  # so that writing the copy back does not slow the timed build

    grow_export_to(before)
    full = measure(dbt_command("build", "--full-refresh", ledger=live), env)
    full_phases = phase_seconds(work, "full")
    shutil.copyfile(db_path, snapshot)
    os.sync()
    grow_export_to(ledger)
    incremental = measure(dbt_command("build", ledger=live), env)
    phases = phase_seconds(work, "incremental")
    restore_snapshot()
    scheduled = measure(
        dbt_command("build", "--exclude-resource-type", "unit_test", ledger=live), env)
    scheduled_phases = phase_seconds(work, "scheduled")
    restore_snapshot()
    models_only = measure(
        dbt_command("build", "--exclude-resource-type", "test", "unit_test", ledger=live), env)
    phase_seconds(work, "models_only")
    idle = measure(dbt_command("build", ledger=live), env)
    phase_seconds(work, "nothing_new")
    compare_s = model_seconds(work, ("base_ledger__credit_history_changes",))
    grow_export_to(redumped(ledger))
    redump = measure(
        dbt_command("build", "--exclude-resource-type", "unit_test", ledger=live), env)
    redump_phases = phase_seconds(work, "redump")
    redump_users = affected_by_reason(db_path)
    one_view = measure(dbt_command("run", "--select", "stg_ledger__plans", ledger=live), env)
    db_path.unlink(missing_ok=True)
    snapshot.unlink(missing_ok=True)
    appended = rows_after - rows_before

    def split(p: dict[str, float]) -> str:
        return (f"thread s: models {p.get('model', 0):.1f}, tests {p.get('test', 0):.1f}, "
                f"unit tests {p.get('unit_test', 0):.1f}")

    def share(m: Measured) -> str:
        return (f"{m.wall_s:.1f} s = {m.wall_s / full.wall_s:.1%} of full, "
                f"peak {m.peak_rss_mib:,.0f} MiB")

    print(f"  full build (models + tests) of {rows_before:,} rows: {full.wall_s:.1f} s, "
          f"peak {full.peak_rss_mib:,.0f} MiB ({split(full_phases)})")
    print(f"  after appending {appended:,} rows ({appended / rows_after:.2%}), "
          "from the same database:")
    print(f"    incremental dbt build: {share(incremental)} ({split(phases)})")
    print(f"    incremental dbt build --exclude-resource-type unit_test: "
          f"{share(scheduled)} ({split(scheduled_phases)})")
    print(f"    models only (no tests): {share(models_only)}")
    print(f"  dbt build with nothing new: {share(idle)}; comparing the export with "
          f"what is loaded (base_ledger__credit_history_changes): {compare_s:.1f} s")
    print(f"  re-dump of the whole export by user, 0.01% of ids edited, 0.01% deleted, "
          f"scheduled command: {share(redump)} ({split(redump_phases)}); "
          f"users recomputed: {redump_users}")
    print(f"  dbt run of one view (a dbt invocation's fixed cost): {share(one_view)}")
    for phase in ("full", "scheduled"):
        print(f"  money and forecast marts, {phase} build: "
              f"{model_seconds(work, MONEY_MODELS, phase):.1f} s "
              f"({per_model(work, MONEY_MODELS, phase)})")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1e5,1e6,1e7",
                        help="target credit_histories rows per ledger, comma separated")
    parser.add_argument("--build-size", default="1e7",
                        help="rows of the ledger for the full vs incremental build timing "
                        "(0 to skip)")
    parser.add_argument("--work", type=Path, default=PROJECT_DIR / "bench",
                        help="folder for generated ledgers and databases (git-ignored)")
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    python = sys.executable
    print(f"{'events':>11} {'FIFO s':>7} {'ev/s':>10} {'dbt s':>6} {'MiB':>6} | "
          f"{'floor s':>7} {'MiB':>6} {'FIFO/floor':>10} | {'python s':>8} {'MiB':>6} "
          f"{'speedup':>7}")
    for size in filter(None, args.sizes.split(",")):
        print(f"size {size}:", flush=True)
        r = bench_size(int(float(size)), args.work, python)
        print(
            f"{r['events']:>11,} {r['fifo_s']:>7.2f} {r['events'] / r['fifo_s']:>10,.0f} "
            f"{r['fifo_process_s']:>6.1f} {r['fifo_rss']:>6.0f} | "
            f"{r['floor_s']:>7.2f} {r['floor_rss']:>6.0f} {r['fifo_s'] / r['floor_s']:>10.2f} | "
            f"{r['reference_s']:>8.2f} {r['reference_rss']:>6.0f} "
            f"{r['reference_s'] / r['fifo_s']:>7.1f}x",
            flush=True,
        )
    if float(args.build_size) > 0:
        print(f"builds at {args.build_size} rows:", flush=True)
        bench_builds(int(float(args.build_size)), args.work, python)


if __name__ == "__main__":
    main()
