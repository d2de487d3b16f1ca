"""dbt-duckdb plugin: registers the project's functions on every connection.

Enabled in profiles.yml (`plugins: [{module: credit_ledger.duckdb_plugin}]`).
SQL models and their dbt unit tests then call `fifo_allocate(...)` like any
built-in function.
"""

from __future__ import annotations

import duckdb
from dbt.adapters.duckdb.plugins import BasePlugin

from credit_ledger.fifo import EVENT_FIELDS, PIECE_TYPE, allocate_lists

FUNCTION_NAME = "fifo_allocate"


def _struct_list(fields: dict[str, str]) -> str:
    """A DuckDB type name: a list of structs with these fields."""
    return "STRUCT(" + ", ".join(f"{name} {kind}" for name, kind in fields.items()) + ")[]"


EVENT_LIST_TYPE = _struct_list({name: "BIGINT" for name in EVENT_FIELDS})
PIECE_LIST_TYPE = _struct_list(
    {field.name: ("TINYINT" if field.name == "kind" else "BIGINT") for field in PIECE_TYPE}
)


def register(conn: duckdb.DuckDBPyConnection) -> None:
    """Register `fifo_allocate(list<struct(EVENT_FIELDS)>)` on a connection."""
    conn.create_function(
        FUNCTION_NAME,
        allocate_lists,
        [EVENT_LIST_TYPE],
        PIECE_LIST_TYPE,
        type="arrow",
        side_effects=False,
    )


class Plugin(BasePlugin):
    def configure_connection(self, conn: duckdb.DuckDBPyConnection) -> None:
        register(conn)
