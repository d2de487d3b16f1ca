"""dbt-duckdb plugin: registers the project's functions on every connection.

Enabled in profiles.yml (`plugins: [{module: credit_ledger.duckdb_plugin}]`).
SQL models and their dbt unit tests then call `fifo_allocate(...)` like any
built-in function; the on-run-start check calls `credit_ledger_absolute_path`
so that the views over the ledger files work from any directory.
"""

from __future__ import annotations

import os

import duckdb
from dbt.adapters.duckdb.plugins import BasePlugin

from credit_ledger.fifo import EVENT_FIELDS, PIECE_TYPE, allocate_lists

FUNCTION_NAME = "fifo_allocate"
PATH_FUNCTION_NAME = "credit_ledger_absolute_path"


def _struct_list(fields: dict[str, str]) -> str:
    """A DuckDB type name: a list of structs with these fields."""
    return "STRUCT(" + ", ".join(f"{name} {kind}" for name, kind in fields.items()) + ")[]"


EVENT_LIST_TYPE = _struct_list({name: "BIGINT" for name in EVENT_FIELDS})
PIECE_LIST_TYPE = _struct_list(
    {field.name: ("TINYINT" if field.name == "kind" else "BIGINT") for field in PIECE_TYPE}
)


def absolute_path(path: str) -> str:
    """`path` resolved against this process's working directory (a glob's
    wildcards are kept)."""
    return os.path.abspath(path)


def register(conn: duckdb.DuckDBPyConnection) -> None:
    """Register `fifo_allocate(list<struct(EVENT_FIELDS)>)` and
    `credit_ledger_absolute_path(varchar)` on a connection."""
    conn.create_function(
        FUNCTION_NAME,
        allocate_lists,
        [EVENT_LIST_TYPE],
        PIECE_LIST_TYPE,
        type="arrow",
        side_effects=False,
    )
    conn.create_function(
        PATH_FUNCTION_NAME, absolute_path, ["VARCHAR"], "VARCHAR", side_effects=False
    )


class Plugin(BasePlugin):
    def configure_connection(self, conn: duckdb.DuckDBPyConnection) -> None:
        register(conn)
