"""Helpers of the Spark engine tests: one child process (one JVM: a Derby
metastore admits one at a time, and a JVM start costs 10-40 s) runs a list
of steps against the local Spark whose warehouse and metastore are in
$CREDITS_SPARK_DIR:

* load: `credit_ledger.load`'s reading and writing of a ledger directory;
* dbt: `dbt <args> --target spark` in-process (dbtRunner; dbt-spark's
  session method finds the child's session), with its error messages; a
  step marked `fails` must fail;
* sql: Spark SQL statements (e.g. to break the ledger tables);
* dump: every table and view of some schemas copied out as Parquet, for
  DuckDB to compare.

The session is built from the `spark` output's settings (as a later
session, a notebook or the loader would build it), so the dumps also prove
that such a session sees what dbt built. This process never starts Spark.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable

import duckdb

PROJECT_DIR = Path(__file__).resolve().parents[2]
INSTALL_JAVA = ("java is not on PATH: install a JDK 17 (Debian: apt-get install "
                "openjdk-17-jdk-headless); the Spark engine tests need it")


def require_java() -> None:
    if shutil.which("java") is None or shutil.which("javac") is None:
        raise RuntimeError(INSTALL_JAVA)


def run_steps(steps: list[dict[str, Any]], work: Path) -> list[dict[str, Any]]:
    """Run the steps in one child process; one result per step (for dbt:
    `ok` and `results`, each node's unique_id and status). Raises with the
    child's output when a step fails."""
    plan = work / "steps.json"
    outcome = work / "steps_result.json"
    plan.write_text(json.dumps(steps))
    env = dict(os.environ, DBT_TARGET_PATH=str(work / "target"),
               DBT_LOG_PATH=str(work / "logs"), DO_NOT_TRACK="1")
    completed = subprocess.run(
        [sys.executable, __file__, "steps", str(plan), str(outcome)],
        cwd=PROJECT_DIR, env=env, capture_output=True, text=True,
    )
    results = json.loads(outcome.read_text()) if outcome.exists() else []
    if completed.returncode != 0 or len(results) != len(steps) or not all(
            r.get("ok", True) for r in results):
        raise RuntimeError(
            f"Spark steps failed after {len(results)} of {len(steps)}:\n"
            f"{(completed.stdout + completed.stderr)[-8000:]}")
    return results


def _run_steps_main(plan: Path, outcome: Path) -> None:
    from credit_ledger.load import load_spark, read_ledger, spark_session

    spark = spark_session()
    spark.sparkContext.setLogLevel("ERROR")
    results: list[dict[str, Any]] = []
    try:
        for step in json.loads(plan.read_text()):
            if "load" in step:
                load_spark(read_ledger(Path(step["load"]), step.get("format", "csv")), spark)
                results.append({})
            elif "sql" in step:
                for statement in step["sql"]:
                    spark.sql(statement)
                results.append({})
            elif "dbt" in step:
                results.append(_dbt_step(step))
            else:
                _dump(spark, Path(step["dump"]), step["schemas"])
                results.append({})
            outcome.write_text(json.dumps(results))
            if not results[-1].get("ok", True):
                break
    finally:
        spark.stop()


def _dbt_step(step: dict[str, Any]) -> dict[str, Any]:
    from dbt.cli.main import dbtRunner

    for name, value in step.get("env", {}).items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    args = [*step["dbt"], "--target", "spark", "--project-dir", str(PROJECT_DIR),
            "--profiles-dir", str(PROJECT_DIR), "--vars", json.dumps(step.get("vars", {}))]
    errors: list[str] = []

    def collect(event: Any) -> None:
        if event.info.level == "error":
            errors.append(event.info.msg)

    outcome = dbtRunner(callbacks=[collect]).invoke(args)
    if outcome.exception is not None:
        errors.append(str(outcome.exception))
    # run-operation's results have no node
    nodes = [{"unique_id": r.node.unique_id if hasattr(r, "node") else str(r.unique_id),
              "status": str(r.status)}
             for r in (getattr(outcome.result, "results", None) or [])]
    # a step that must fail (`fails`) is ok when dbt failed
    ok = bool(outcome.success) != bool(step.get("fails"))
    return {"ok": ok, "results": nodes, "errors": errors}


def _dump(spark: Any, out: Path, schemas: list[str]) -> None:
    spark.conf.set("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
    for schema in schemas:
        for row in spark.sql(f"show tables in {schema}").collect():
            if not row.isTemporary:
                spark.table(f"{schema}.{row.tableName}").coalesce(1).write.parquet(
                    str(out / f"{schema}.{row.tableName}"))


def dumped(out: Path) -> set[str]:
    return {p.name for p in out.iterdir() if p.is_dir()}


def read_dumped(out: Path, relation: str, sql: str = "select * from t") -> list[dict]:
    """Rows of a dumped relation (`t` in `sql`), timestamps as UTC instants."""
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        con.execute(f"create view t as select * from read_parquet('{out / relation}/*.parquet')")
        cursor = con.execute(sql)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, values)) for values in cursor.fetchall()]


def _canonical(value: Any) -> Any:
    """One spelling per value: instants in UTC, decimals without trailing
    zeros (an integral one as an int)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else value.normalize()
    return value


def _sort_key(row: tuple) -> str:
    # floats rounded for the order only; compared with a tolerance after
    return repr(tuple(float(f"{v:.6g}") if isinstance(v, float) else v for v in row))


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def compare_with_duckdb(
    out: Path, duck_db: Path, schemas: Iterable[str], skip_models: set[str],
    skip_columns: set[str],
) -> tuple[int, list[str]]:
    """Every relation of `schemas` in the DuckDB file against its dumped
    Spark copy: the same columns, the same rows as multisets (`skip_columns`
    left out), instants compared as instants, decimals and integers
    exactly, floats to a relative 1e-9. Returns how many relations were
    compared and one line per difference."""
    differences: list[str] = []
    compared = 0
    on_spark = dumped(out)
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        con.execute(f"attach '{duck_db}' as duck (read_only)")
        relations = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_catalog = 'duck' and table_schema in "
            f"({', '.join(repr(s) for s in schemas)}) order by 1, 2").fetchall()
        for schema, table in relations:
            if table in skip_models:
                continue
            if f"{schema}.{table}" not in on_spark:
                differences.append(f"{schema}.{table}: missing on Spark")
                continue
            compared += 1
            spark_sql = f"select * from read_parquet('{out / f'{schema}.{table}'}/*.parquet')"
            duck_sql = f'select * from duck."{schema}"."{table}"'
            duck_columns = [d[0] for d in con.execute(f"{duck_sql} limit 0").description]
            spark_columns = [d[0] for d in con.execute(f"{spark_sql} limit 0").description]
            if duck_columns != spark_columns:
                differences.append(f"{schema}.{table}: columns {spark_columns} != {duck_columns}")
                continue
            columns = [c for c in duck_columns if c not in skip_columns]
            select = ", ".join(f'"{c}"' for c in columns)
            rows = {}
            for side, sql in (("spark", spark_sql), ("duckdb", duck_sql)):
                rows[side] = sorted(
                    (tuple(_canonical(v) for v in row)
                     for row in con.execute(f"select {select} from ({sql})").fetchall()),
                    key=_sort_key)
            if len(rows["spark"]) != len(rows["duckdb"]):
                differences.append(f"{schema}.{table}: {len(rows['spark'])} rows on Spark, "
                                   f"{len(rows['duckdb'])} on DuckDB")
                continue
            for spark_row, duck_row in zip(rows["spark"], rows["duckdb"]):
                if not all(_same(a, b) for a, b in zip(spark_row, duck_row)):
                    differences.append(
                        f"{schema}.{table}: Spark {dict(zip(columns, spark_row))} "
                        f"!= DuckDB {dict(zip(columns, duck_row))}")
                    break
    return compared, differences


if __name__ == "__main__":
    if sys.argv[1] == "steps":
        sys.path.insert(0, str(PROJECT_DIR))
        _run_steps_main(Path(sys.argv[2]), Path(sys.argv[3]))
