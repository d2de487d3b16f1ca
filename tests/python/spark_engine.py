"""Helpers of the Spark engine tests: run the loader and dbt against a
local Spark whose warehouse and metastore live in one folder, and copy
relations out as Parquet (a child process: a Derby metastore admits one JVM
at a time, so this process never starts Spark itself).

    python tests/python/spark_engine.py dump OUT SCHEMA...

writes every table and view of the schemas to OUT/<schema>.<name>/ with a
session built from the `spark` output's settings, i.e. a new session that
must see what dbt built.
"""

from __future__ import annotations

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


def load(ledger_dir: Path, fmt: str = "csv") -> None:
    """python -m credit_ledger.load --target spark (CREDITS_SPARK_DIR from
    the environment)."""
    completed = subprocess.run(
        [sys.executable, "-m", "credit_ledger.load", "--target", "spark",
         "--ledger", str(ledger_dir), "--format", fmt],
        cwd=PROJECT_DIR, capture_output=True, text=True,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"loading {ledger_dir} failed:\n{completed.stderr[-4000:]}")


def dump(out: Path, schemas: list[str]) -> None:
    completed = subprocess.run(
        [sys.executable, __file__, "dump", str(out), *schemas],
        cwd=PROJECT_DIR, capture_output=True, text=True,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"reading the Spark relations failed:\n{completed.stderr[-4000:]}")


def _dump_main(out: Path, schemas: list[str]) -> None:
    from pyspark.sql import SparkSession

    from credit_ledger.load import spark_settings

    builder = SparkSession.builder.appName("credit_ledger tests")
    for key, value in spark_settings().items():
        builder = builder.config(key, value)
    builder = builder.config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
    spark = builder.enableHiveSupport().getOrCreate()
    try:
        for schema in schemas:
            for row in spark.sql(f"show tables in {schema}").collect():
                if row.isTemporary:
                    continue
                spark.table(f"{schema}.{row.tableName}").coalesce(1).write.parquet(
                    str(out / f"{schema}.{row.tableName}"))
    finally:
        spark.stop()


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
    if sys.argv[1] == "dump":
        os.chdir(PROJECT_DIR)
        _dump_main(Path(sys.argv[2]), sys.argv[3:])
