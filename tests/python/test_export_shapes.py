"""Incremental builds by key: every shape of export a real job writes gives
the rows of a `--full-refresh` over the same final export.

Each test builds a generated ledger, changes the export the way an export
job does (nightly re-dumps: in another order, with an edited row, with a
hard delete and new rows; a folder of daily files), builds again
incrementally, and compares every table and view with a full refresh. Also: an export of another ledger
into the same database stops; a future-dated row is quarantined and moves
nothing; an id shared by two users is a collision, not a spare copy.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any, Mapping

import duckdb

from credit_ledger.dbt_runner import DbtResult, run_dbt
from credit_ledger.ledger_files import write_ledger
from ledgers import (
    MODELS_ONLY, SCHEDULED, assert_same_tables, catalog, database_in, entry,
    generated_ledger, write_rows,
)


def build(db: Path, work: Path, dbt_vars: Mapping[str, Any],
          command: list[str] | None = None) -> DbtResult:
    return run_dbt(command or SCHEDULED, db_path=db, work_dir=work, dbt_vars=dict(dbt_vars))


def assert_equals_full_refresh(tmp_path: Path, inc_db: Path,
                               dbt_vars: Mapping[str, Any]) -> None:
    full_db = database_in(tmp_path / "rebuilt")
    result = build(full_db, tmp_path / "full", dbt_vars, MODELS_ONLY + ["--full-refresh"])
    assert result.ok, result.output[-6000:]
    assert_same_tables(inc_db, full_db)


def affected(db: Path) -> dict[int, str]:
    with duckdb.connect(str(db), read_only=True) as con:
        return dict(con.execute(
            "select user_id, reason from intermediate.int_affected_users").fetchall())


def test_nightly_redumps(tmp_path: Path) -> None:
    """Three nights of whole-table re-dumps into one database, then one
    comparison with a full refresh (one chain instead of three builds from
    scratch keeps the suite's time):

    1. the same rows in another order change nothing: no user is recomputed
       (position-based loading failed the unique test on every later run);
    2. a row the app edited in place (new amount, later updated_at) is loaded
       and its user rebuilt (it was ignored);
    3. a row deleted from the export disappears from every model, and the
       rows appended after the delete are loaded (position-based loading kept
       the deleted row and never loaded the new ones)."""
    ledger, header, rows = generated_ledger(tmp_path, users=10, months=3, seed=22)
    col = {name: i for i, name in enumerate(header)}
    inc_db = database_in(tmp_path / "incremental")
    dbt_vars = {"ledger_path": str(ledger)}
    night = [list(r) for r in rows[:-5]]
    write_rows(ledger / "credit_histories.csv", header, night)
    assert build(inc_db, tmp_path / "step0", dbt_vars, MODELS_ONLY).ok

    random.Random(3).shuffle(night)
    write_rows(ledger / "credit_histories.csv", header, night)
    result = build(inc_db, tmp_path / "step1", dbt_vars)
    assert result.ok, result.output[-6000:]
    assert affected(inc_db) == {}

    edited = next(r for r in night
                  if r[col["amount"]].startswith("-") and r[col["id"]]
                  and r[col["user_id"]] and len(r[col["created_at"]]) >= 19)
    edited[col["amount"]] = "-0.5"
    edited[col["updated_at"]] = "2099-01-01 00:00:00"
    write_rows(ledger / "credit_histories.csv", header, night)
    result = build(inc_db, tmp_path / "step2", dbt_vars)
    assert result.ok, result.output[-6000:]
    assert affected(inc_db) == {int(edited[col["user_id"]]): "rows_edited_or_removed"}
    with duckdb.connect(str(inc_db), read_only=True) as con:
        assert con.execute(
            "select amount_milli from staging.stg_ledger__credit_histories "
            "where credit_history_id = ?", [int(edited[col["id"]])]
        ).fetchall() == [(-500,)]

    deleted = next(r for r in night if r is not edited and r[col["id"]]
                   and r[col["user_id"]] and r[col["user_id"]] != edited[col["user_id"]])
    final = [r for r in night if r is not deleted] + [list(r) for r in rows[-5:]]
    write_rows(ledger / "credit_histories.csv", header, final)
    result = build(inc_db, tmp_path / "step3", dbt_vars)
    assert result.ok, result.output[-6000:]
    assert affected(inc_db)[int(deleted[col["user_id"]])] == "rows_edited_or_removed"
    with duckdb.connect(str(inc_db), read_only=True) as con:
        assert con.execute(
            "select count(*) from staging.base_ledger__credit_histories "
            "where credit_history_id = ?", [int(deleted[col["id"]])]).fetchone() == (0,)
        assert con.execute(
            "select count(*) from staging.base_ledger__credit_histories").fetchall() == [
            (len(final),)]
    assert_equals_full_refresh(tmp_path, inc_db, dbt_vars)


def test_folder_of_daily_files(tmp_path: Path) -> None:
    """credit_histories as a folder of one file per day, growing by a file a
    day (one of them re-exporting an edited row), builds like one file."""
    ledger, header, rows = generated_ledger(tmp_path, users=10, months=3, seed=24)
    col = {name: i for i, name in enumerate(header)}
    inc_db = database_in(tmp_path / "incremental")
    dbt_vars = {"ledger_path": str(ledger)}
    folder = ledger / "credit_histories"
    folder.mkdir()
    by_day: dict[str, list[list[str]]] = {}
    for row in rows:
        by_day.setdefault(row[col["created_at"]][:10] or "undated", []).append(row)
    days = sorted(by_day)
    cut = len(days) - 2
    for day in days[:cut]:
        write_rows(folder / f"{day}.csv", header, by_day[day])
    assert build(inc_db, tmp_path / "step0", dbt_vars, MODELS_ONLY).ok
    for step, day in enumerate(days[cut:], start=1):
        batch = list(by_day[day])
        if step == 1:  # the app re-exports an edited older row in today's file
            old = next(r for r in rows if r[col["id"]] and r[col["user_id"]]
                       and r[col["amount"]].startswith("-"))
            edit = list(old)
            edit[col["amount"]] = "-0.25"
            edit[col["updated_at"]] = "2099-01-01 00:00:00"
            batch.append(edit)
        write_rows(folder / f"{day}.csv", header, batch)
        result = build(inc_db, tmp_path / f"step{step}", dbt_vars)
        assert result.ok, f"step {step}:\n{result.output[-6000:]}"
    reasons = set(affected(inc_db).values())
    assert reasons <= {"new_rows", "as_of_crossed"}, reasons
    assert_equals_full_refresh(tmp_path, inc_db, dbt_vars)


def test_another_export_into_the_same_database_stops(tmp_path: Path) -> None:
    """Pointing a built database at another ledger stops with what to do;
    the database keeps the first ledger (the rows were mixed, every test
    passing)."""
    first, header, rows = generated_ledger(tmp_path / "a", users=8, months=2, seed=25)
    write_rows(first / "credit_histories.csv", header, rows)
    other, header, other_rows = generated_ledger(tmp_path / "b", users=8, months=2, seed=26)
    write_rows(other / "credit_histories.csv", header, other_rows)
    db = tmp_path / "credits.duckdb"
    assert build(db, tmp_path / "step0", {"ledger_path": str(first)}).ok
    with duckdb.connect(str(db), read_only=True) as con:
        before = con.execute("select count(*), sum(amount_milli) "
                             "from marts.fct_credit_transactions").fetchone()
    result = build(db, tmp_path / "step1", {"ledger_path": str(other)})
    assert not result.ok
    assert (f"credit_histories at {other} shares none of its rows with the {len(rows)} rows "
            "this database holds: it is another ledger (or every row was rewritten). "
            "Build it into its own file (CREDITS_DB_PATH=...) or replace this one with "
            "dbt build --full-refresh.") in result.output
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select count(*), sum(amount_milli) "
                           "from marts.fct_credit_transactions").fetchone() == before


def test_future_dated_row_is_quarantined(build_ledger: Any, tmp_path: Path) -> None:
    """A row dated 2031 or 9999 is quarantined as created_at_in_future: as_of,
    expiry and the daily mart stay where the real rows are. Once the run's
    now passes it, the row is clean, incrementally as in a full refresh."""
    rows = [
        entry(1, 1, "monthly_allocation", 100.0, "2024-05-01 00:00:00"),
        entry(2, 1, "video_generation", -10.0, "2024-05-20 00:00:00"),
        entry(3, 1, "video_generation", -5.0, "2031-01-01 00:00:00"),
        entry(4, 2, "credit_purchase", 5.0, "9999-12-31 00:00:00"),
        entry(5, 2, "credit_purchase", 7.0, "2024-06-01 12:00:00"),  # within 24 h
    ]
    tables = {**catalog([1, 2]), "credit_histories": rows}
    built = build_ledger(tables, extra_vars={"now": "2024-06-01 00:00:00"})
    assert built.rows(
        "select credit_history_id, quarantine_reason "
        "from staging.stg_ledger__quarantined_credit_histories order by 1"
    ) == [(3, "created_at_in_future"), (4, "created_at_in_future")]
    assert built.scalar("select as_of from intermediate.int_ledger_as_of") == (
        built.scalar("select timestamp '2024-06-01 12:00:00'"))
    assert built.scalar("select max(activity_date) from marts.fct_burn_rate_daily") == (
        built.scalar("select date '2024-06-01'"))

    ledger = tmp_path / "later"
    write_ledger(ledger, tables)
    later = {"ledger_path": str(ledger), "now": "2032-01-01 00:00:00"}
    result = build(built.db_path, tmp_path / "later_run", later)
    assert result.ok, result.output[-6000:]
    assert affected(built.db_path)[1] == "rows_edited_or_removed"
    assert_equals_full_refresh(tmp_path, built.db_path, later)


def test_id_shared_by_two_users_is_a_collision(build_ledger: Any) -> None:
    """Two users' rows share id 7: the losing user's row is unplaced
    (id_collision), its status says rows are in quarantine rather than
    blaming the app's snapshot, and both rows carry the flag."""
    rows = [
        entry(1, 1, "credit_purchase", 10.0, "2024-01-01 00:00:00", previous_amount=0.0),
        entry(7, 1, "video_generation", -4.0, "2024-01-02 00:00:00", previous_amount=10.0,
              updated_at="2024-01-02 00:00:00"),
        entry(2, 2, "credit_purchase", 20.0, "2024-01-01 00:00:00", previous_amount=0.0),
        entry(7, 2, "video_generation", -3.0, "2024-01-03 00:00:00", previous_amount=20.0,
              updated_at="2024-01-03 00:00:00"),
    ]
    tables = catalog([1, 2])
    tables["users"][0]["credits"] = 6.0
    tables["users"][1]["credits"] = 17.0
    built = build_ledger({**tables, "credit_histories": rows})
    assert built.rows(
        "select user_id, quarantine_reason from staging.stg_ledger__quarantined_credit_histories"
    ) == [(1, "id_collision")]
    assert built.rows(
        "select user_id, has_id_collision from staging.stg_ledger__credit_histories "
        "where credit_history_id = 7") == [(2, True)]
    assert built.rows(
        "select user_id, status from marts.fct_ledger_reconciliation order by 1"
    ) == [(1, "quarantined_rows"), (2, "reconciled")]
