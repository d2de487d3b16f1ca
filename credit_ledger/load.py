"""Load a ledger export into a warehouse's `ledger` schema, as raw text.

    python -m credit_ledger.load --target {postgres|spark} --ledger DIR [--format csv|parquet]

On DuckDB the sources are views over the export files. On a warehouse they
are plain tables in the schema (Spark: database) `ledger`, as a loader job
would leave them; this command is that job for the project's tests and for
a first try. For each of the five tables it finds the files the DuckDB
target would read (`DIR/<table>.csv` or the folder `DIR/<table>/*.csv`,
likewise `.parquet`), reads them WITH DUCKDB with the options of
macros/ledger_reader.sql (an empty unquoted CSV cell is NULL, a quoted ""
is an empty text; quoted fields may hold commas, quotes, newlines and
UTF-8), every column as text, and adds two run-specific columns:
`_source_file` (the file's name) and `_source_row` (the row's 1-based
position in it: a warehouse table has no order, and the "last seen" tie
rule needs one). Staging ignores both. Each run recreates the tables.

Connection settings come from the same environment variables and defaults
as profiles.yml (CREDITS_PG_*; for Spark the `spark` output's
server_side_parameters, rendered from the profile). Exit code 0 when every
table was loaded, else 1 with one sentence on stderr.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import duckdb
import pyarrow as pa

from credit_ledger.ledger_files import COLUMNS

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

PROJECT_DIR = Path(__file__).resolve().parent.parent
SCHEMA = "ledger"
SOURCE_FILE = "_source_file"
SOURCE_ROW = "_source_row"
# dbt_project.yml var csv_max_line_size (the DuckDB target's default)
MAX_LINE_SIZE = 16777216


class LoadError(Exception):
    """A ledger that cannot be loaded; the message is one sentence."""


@dataclass(frozen=True)
class LoadedTable:
    """One source table read from the export: its text columns (lowercase,
    in file order, the documented ones included) and rows as Arrow."""

    name: str
    columns: tuple[str, ...]
    data: pa.Table


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def table_files(ledger_dir: Path, table: str, fmt: str) -> list[Path]:
    """The files of `table`: one file, or the sorted files of its folder."""
    single = ledger_dir / f"{table}.{fmt}"
    folder = ledger_dir / table
    in_folder = sorted(folder.glob(f"*.{fmt}")) if folder.is_dir() else []
    if single.is_file() and in_folder:
        raise LoadError(
            f"ledger table {table} is exported twice, as '{single}' and as the "
            f"folder '{folder}/': keep one of them."
        )
    if single.is_file():
        return [single]
    if in_folder:
        return in_folder
    raise LoadError(
        f"ledger file '{single}' is missing (nor is there a folder '{folder}/' "
        f"of .{fmt} files): export table {table} to one of them."
    )


def _text_select(con: duckdb.DuckDBPyConnection, reader: str) -> str:
    """A select over `reader` with every column as text, spelled the way the
    DuckDB staging reads it (macros/parsing.sql, meta_data_text): text
    stays as it is, nested and JSON values become JSON, others their cast."""
    described = con.execute(f"describe select * from {reader}").fetchall()
    parts = []
    for name, column_type, *_ in described:
        quoted = '"' + name.replace('"', '""') + '"'
        alias = '"' + name.strip().lower().replace('"', '""') + '"'
        if column_type == "VARCHAR":
            expression = quoted
        elif column_type.startswith(("STRUCT", "MAP", "JSON")) or column_type.endswith("]"):
            expression = f"cast(to_json({quoted}) as varchar)"
        else:
            expression = f"cast({quoted} as varchar)"
        parts.append(f"{expression} as {alias}")
    return f"select {', '.join(parts)} from {reader}"


def read_table(
    con: duckdb.DuckDBPyConnection, ledger_dir: Path, table: str, fmt: str
) -> LoadedTable:
    """Read every file of `table` as text, with each row's file and position."""
    pieces: list[pa.Table] = []
    for path in table_files(ledger_dir, table, fmt):
        if fmt == "csv":
            reader = (
                f"read_csv({_quoted(str(path))}, header = true, all_varchar = true, "
                "delim = ',', quote = '\"', escape = '\"', null_padding = false, "
                f"strict_mode = true, max_line_size = {MAX_LINE_SIZE})"
            )
        else:
            reader = f"read_parquet({_quoted(str(path))})"
        try:
            # one file at a time, in file order (DuckDB keeps insertion order
            # for a plain scan), so the position is the row's place in it
            data = con.sql(_text_select(con, reader)).to_arrow_table()
        except duckdb.Error as error:
            first_line = str(error).strip().splitlines()[0]
            raise LoadError(
                f"ledger file '{path}' cannot be read ({first_line}): fix the export."
            ) from None
        data = data.append_column(
            SOURCE_FILE, pa.array([path.name] * data.num_rows, type=pa.string())
        ).append_column(
            SOURCE_ROW, pa.array(range(1, data.num_rows + 1), type=pa.int64())
        )
        pieces.append(data)
    # columns matched by name across files; a column a file lacks is null
    merged = pa.concat_tables(pieces, promote_options="default")
    text_columns = tuple(c for c in merged.column_names if c not in (SOURCE_FILE, SOURCE_ROW))
    missing = [c for c in COLUMNS[table] if c not in text_columns]
    if missing:
        raise LoadError(
            f"ledger table {table} in '{ledger_dir}' is missing required column(s): "
            f"{', '.join(missing)}."
        )
    return LoadedTable(table, text_columns, merged)


def read_ledger(ledger_dir: Path, fmt: str) -> list[LoadedTable]:
    """The five source tables of the export in `ledger_dir`."""
    if fmt not in ("csv", "parquet"):
        raise LoadError(f"--format must be csv or parquet, got '{fmt}'.")
    if not ledger_dir.is_dir():
        raise LoadError(f"ledger directory '{ledger_dir}' does not exist.")
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        return [read_table(con, ledger_dir, table, fmt) for table in COLUMNS]


# --------------------------------------------------------------- PostgreSQL


def postgres_settings(env: dict[str, str] | os._Environ[str] = os.environ) -> dict[str, object]:
    """psycopg2 connection arguments, with profiles.yml's defaults."""
    return {
        "host": env.get("CREDITS_PG_HOST", "127.0.0.1"),
        "port": int(env.get("CREDITS_PG_PORT", "5432")),
        "user": env.get("CREDITS_PG_USER", "postgres"),
        "password": env.get("CREDITS_PG_PASSWORD", ""),
        "dbname": env.get("CREDITS_PG_DATABASE", "credits"),
    }


def load_postgres(tables: Sequence[LoadedTable]) -> None:
    """Recreate `ledger.<table>` (every column text) and COPY the rows in,
    all tables in one transaction."""
    import psycopg2

    try:
        con = psycopg2.connect(**postgres_settings())
    except psycopg2.Error as error:
        settings = postgres_settings()
        raise LoadError(
            f"cannot connect to PostgreSQL at {settings['host']}:{settings['port']} "
            f"database {settings['dbname']} ({str(error).strip().splitlines()[0]}): "
            "check the CREDITS_PG_* environment variables."
        ) from None
    try:
        with con, con.cursor() as cursor, tempfile.TemporaryDirectory() as work:
            cursor.execute(f"create schema if not exists {SCHEMA}")
            for table in tables:
                relation = f"{SCHEMA}.{table.name}"
                columns = [f'"{c}" text' for c in table.columns]
                columns += [f"{SOURCE_FILE} text", f"{SOURCE_ROW} bigint"]
                # cascade: the staging views over the table go too; dbt
                # recreates them on its next run
                cursor.execute(f"drop table if exists {relation} cascade")
                cursor.execute(f"create table {relation} ({', '.join(columns)})")
                # DuckDB writes NULL as an empty unquoted field and an empty
                # text as "", which is how COPY's CSV format reads them
                csv_path = Path(work) / f"{table.name}.csv"
                with duckdb.connect() as writer:
                    writer.register("loaded", table.data)
                    writer.execute(
                        f"copy loaded to {_quoted(str(csv_path))} "
                        "(format csv, header false, delim ',', quote '\"', escape '\"')"
                    )
                names = ", ".join(f'"{c}"' for c in (*table.columns, SOURCE_FILE, SOURCE_ROW))
                with csv_path.open("rb") as handle:
                    cursor.copy_expert(
                        f"copy {relation} ({names}) from stdin "
                        "with (format csv, header false, encoding 'UTF8')",
                        handle,
                    )
                cursor.execute(f"analyze {relation}")
    except psycopg2.Error as error:
        raise LoadError(
            f"loading into PostgreSQL failed ({str(error).strip().splitlines()[0]})."
        ) from None
    finally:
        con.close()


# -------------------------------------------------------------------- Spark


def spark_settings() -> dict[str, str]:
    """The `spark` output's server_side_parameters, rendered as dbt would
    (env_var with defaults) from profiles.yml."""
    import jinja2
    import yaml

    def env_var(name: str, default: str | None = None) -> str:
        if name in os.environ:
            return os.environ[name]
        if default is None:
            raise LoadError(f"environment variable {name} is not set.")
        return default

    profile = yaml.safe_load((PROJECT_DIR / "profiles.yml").read_text())
    output = profile["credit_ledger"]["outputs"]["spark"]
    environment = jinja2.Environment()
    return {
        key: environment.from_string(str(value)).render(env_var=env_var)
        for key, value in output.get("server_side_parameters", {}).items()
    }


def spark_session() -> "SparkSession":
    """A Spark session built from the `spark` output's settings, so that
    tables land in the same metastore and warehouse as dbt's."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("credit_ledger.load")
    for key, value in spark_settings().items():
        builder = builder.config(key, value)
    return builder.enableHiveSupport().getOrCreate()


def load_spark(tables: Sequence[LoadedTable], spark: "SparkSession | None" = None) -> None:
    """Recreate `ledger.<table>` in the Spark session's catalog (every column
    string) from the rows read by DuckDB: in `spark`, else in a session of
    its own (spark_session(), stopped at the end)."""
    session = spark or spark_session()
    try:
        session.sql(f"create database if not exists {SCHEMA}")
        for table in tables:
            frame = session.createDataFrame(table.data)
            frame.write.mode("overwrite").format("parquet").saveAsTable(
                f"{SCHEMA}.{table.name}"
            )
    finally:
        if spark is None:
            session.stop()


LOADERS = {"postgres": load_postgres, "spark": load_spark}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m credit_ledger.load", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--target", required=True, choices=sorted(LOADERS))
    parser.add_argument("--ledger", required=True, type=Path, help="the export directory")
    parser.add_argument("--format", default="csv", choices=("csv", "parquet"))
    args = parser.parse_args(argv)
    try:
        tables = read_ledger(args.ledger, args.format)
        LOADERS[args.target](tables)
    except LoadError as error:
        print(f"credit_ledger.load: {error}", file=sys.stderr)
        return 1
    rows = ", ".join(f"{t.name} {t.data.num_rows}" for t in tables)
    print(f"loaded {SCHEMA} on {args.target} from {args.ledger}: {rows} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
