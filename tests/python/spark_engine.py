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

import os
import shutil
import subprocess
import sys
from pathlib import Path

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


if __name__ == "__main__":
    if sys.argv[1] == "dump":
        os.chdir(PROJECT_DIR)
        _dump_main(Path(sys.argv[2]), sys.argv[3:])
