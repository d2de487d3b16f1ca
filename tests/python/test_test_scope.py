"""The data tests of an incremental run check only what the run could have
rewritten (macros/test_scope.sql); `--full-refresh` and `test_scope: all`
check everything.

One build of the sample ledger, then an incremental build after appending
rows for two users; the checks plant violations in copies of that database
and run `dbt test` / `dbt compile` on them.
"""

from __future__ import annotations

import csv
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pytest

from credit_ledger.dbt_runner import PROJECT_DIR, DbtResult, run_dbt

UNIQUE_TEST = "unique_int_ledger_balances_credit_history_id"
DAILY_TEST = "assert_daily_balance_identity"
COMPILED_UNIQUE = Path(
    "target/compiled/credit_ledger/models/intermediate/_intermediate__models.yml"
) / f"{UNIQUE_TEST}.sql"
AFFECTED_FILTER = "user_id in (select unnest(list(user_id)) from "
NEW_USERS = (3, 5)
NEW_DAY = date(2026, 2, 1)  # the sample ends on 2026-01-31


@dataclass
class Incremental:
    """The database after a first and an incremental build."""

    db_path: Path
    work: Path
    dbt_vars: dict[str, str]
    build: DbtResult
    affected: set[int]

    def copy(self, tmp_path: Path) -> Path:
        # the built file's name: dbt's saved parse serves calls on the same name
        db_path = tmp_path / "planted" / self.db_path.name
        db_path.parent.mkdir(exist_ok=True)
        shutil.copy(self.db_path, db_path)
        return db_path


def result_of(result: DbtResult, test_name: str) -> dict:
    [row] = [r for r in result.results if r["unique_id"].split(".")[2] == test_name]
    return row


def append_rows(path: Path) -> None:
    """New usage rows for NEW_USERS after the sample's last row, and one row
    without a user (quarantined)."""
    rows = [
        [str(9_000_000 + i), str(user_id), "7", "", "", "-1.5", "", "appended", "",
         f"{NEW_DAY} 10:00:0{i}", f"{NEW_DAY} 10:00:0{i}"]
        for i, user_id in enumerate(NEW_USERS)
    ]
    rows.append(["9000009", "", "7", "", "", "-1.0", "", "no user", "",
                 f"{NEW_DAY} 10:00:09", f"{NEW_DAY} 10:00:09"])
    with path.open("a", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


@pytest.fixture(scope="module")
def incremental(tmp_path_factory: pytest.TempPathFactory) -> Incremental:
    work = tmp_path_factory.mktemp("test_scope")
    ledger = work / "ledger"
    shutil.copytree(PROJECT_DIR / "data" / "sample_ledger", ledger)
    db_path = work / "credits.duckdb"
    dbt_vars = {"ledger_path": str(ledger)}
    first = run_dbt(["build"], db_path=db_path, work_dir=work / "first", dbt_vars=dbt_vars)
    assert first.ok, first.output[-6000:]
    append_rows(ledger / "credit_histories.csv")
    second = run_dbt(["build"], db_path=db_path, work_dir=work / "second", dbt_vars=dbt_vars)
    assert second.ok, second.output[-6000:]
    with duckdb.connect(str(db_path), read_only=True) as con:
        affected = {u for (u,) in con.execute(
            "select user_id from intermediate.int_affected_users").fetchall()}
    return Incremental(db_path, work, dbt_vars, second, affected)


def test_incremental_run_scopes_its_tests(incremental: Incremental) -> None:
    # the appended users are recomputed, most users are not
    assert set(NEW_USERS) <= incremental.affected
    assert len(incremental.affected) < 100
    # the scoped tests ran, and passed, in the incremental build
    assert result_of(incremental.build, UNIQUE_TEST)["status"] == "pass"
    assert result_of(incremental.build, DAILY_TEST)["status"] == "pass"
    compiled = (incremental.work / "second" / COMPILED_UNIQUE).read_text()
    assert AFFECTED_FILTER in compiled
    assert "int_affected_users" in compiled


def test_as_of_keeps_the_previous_one(incremental: Incremental) -> None:
    with duckdb.connect(str(incremental.db_path), read_only=True) as con:
        as_of, previous = con.execute(
            "select as_of, previous_as_of from intermediate.int_ledger_as_of").fetchone()
    assert as_of.date() == NEW_DAY
    assert previous.date() == date(2026, 1, 31)


def test_full_refresh_compiles_unscoped_tests(incremental: Incremental,
                                              tmp_path: Path) -> None:
    result = run_dbt(["compile", "--full-refresh", "--select", UNIQUE_TEST],
                     db_path=incremental.copy(tmp_path), work_dir=tmp_path,
                     dbt_vars=incremental.dbt_vars)
    assert result.ok, result.output[-6000:]
    compiled = (tmp_path / COMPILED_UNIQUE).read_text()
    assert "int_affected_users" not in compiled


def test_scoped_tests_catch_violations_of_rewritten_rows_only(
    incremental: Incremental, tmp_path: Path
) -> None:
    """A duplicate ledger row and a broken day, each planted once for an
    affected user (or a day the run carried forward) and once for a user the
    run left alone: the scoped tests see the first, `test_scope: all` sees
    both."""
    affected = NEW_USERS[0]
    db_path = incremental.copy(tmp_path)
    with duckdb.connect(str(db_path)) as con:
        [untouched] = con.execute(
            "select min(user_id) from intermediate.int_ledger_balances "
            "where user_id not in (select user_id from intermediate.int_affected_users)"
        ).fetchone()
        for user_id in (affected, untouched):
            con.execute(
                "insert into intermediate.int_ledger_balances "
                "select * from intermediate.int_ledger_balances where credit_history_id = "
                "(select min(credit_history_id) from intermediate.int_ledger_balances "
                "where user_id = ?)", [user_id])
        # a day carried forward by this run, and the user's first day (written
        # by the first build), both of a user the run did not recompute
        for day in (NEW_DAY, None):
            con.execute(
                "update marts.fct_burn_rate_daily set expired_milli = expired_milli + 5 "
                "where user_id = $1 and activity_date = coalesce($2, (select "
                "min(activity_date) from marts.fct_burn_rate_daily where user_id = $1))",
                [untouched, day])

    def failures(result: DbtResult, test_name: str) -> int:
        row = result_of(result, test_name)
        assert row["status"] == "fail", row
        return int(row["failures"])

    scoped = run_dbt(["test", "--select", UNIQUE_TEST, DAILY_TEST], db_path=db_path,
                     work_dir=tmp_path / "scoped", dbt_vars=incremental.dbt_vars)
    assert failures(scoped, UNIQUE_TEST) == 1
    assert failures(scoped, DAILY_TEST) == 1
    compiled = (tmp_path / "scoped" / COMPILED_UNIQUE).read_text()
    assert AFFECTED_FILTER in compiled

    everything = run_dbt(["test", "--select", UNIQUE_TEST, DAILY_TEST], db_path=db_path,
                         work_dir=tmp_path / "all",
                         dbt_vars={**incremental.dbt_vars, "test_scope": "all"})
    assert failures(everything, UNIQUE_TEST) == 2
    assert failures(everything, DAILY_TEST) == 2
    compiled = (tmp_path / "all" / COMPILED_UNIQUE).read_text()
    assert "int_affected_users" not in compiled
