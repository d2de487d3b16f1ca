"""Empty, unreadable or odd inputs stop the run with one sentence that says
what to fix, or are read and flagged (issue 10, item 5)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from conftest import BuildLedger
from credit_ledger.ledger_files import COLUMNS, write_ledger
from ledgers import PLANS, entry, ledger, with_app_chain

LOTS = ["build", "--select", "+int_credit_lots", "--indirect-selection", "cautious"]

ROWS = with_app_chain([
    entry(1, 1, "monthly_allocation", 100.0, "2024-03-01 10:00:00"),
    entry(2, 1, "video_generation", -1.5, "2024-03-02 10:00:00"),
    entry(3, 1, "video_generation", -2.5, "2024-03-03 10:00:00"),
    entry(4, 1, "caption_generation", -0.5, "2024-03-04 10:00:00"),
])


def test_empty_credit_histories_stops_at_the_start(build_ledger: BuildLedger,
                                                  tmp_path: Path) -> None:
    ledger_dir = tmp_path / "empty_ledger"
    write_ledger(ledger_dir, ledger([], credit_histories=[]))
    run = build_ledger(ledger_dir=ledger_dir, check=False)
    assert not run.result.ok
    assert (f"ledger table credit_histories is empty ('{ledger_dir}/credit_histories.csv' "
            "has no rows): check the export job that wrote it, an empty "
            "export is almost always a failed one.") in run.result.output
    assert run.result.results == []  # no node ran


def test_empty_users_stops_at_the_start(build_ledger: BuildLedger, tmp_path: Path) -> None:
    ledger_dir = tmp_path / "no_users"
    write_ledger(ledger_dir, ledger(ROWS, users=[]))
    run = build_ledger(ledger_dir=ledger_dir, check=False)
    assert not run.result.ok
    assert f"ledger table users is empty ('{ledger_dir}/users.csv' has no rows)" \
        in run.result.output


def test_semicolon_file_with_decimal_commas_is_named(build_ledger: BuildLedger,
                                                     tmp_path: Path) -> None:
    ledger_dir = tmp_path / "semicolons"
    write_ledger(ledger_dir, ledger(ROWS))
    lines = [";".join(COLUMNS["credit_histories"])]
    for row in ROWS:
        lines.append(";".join(
            str(row.get(c, "")).replace(".", ",") if c in ("amount", "previous_amount")
            else str(row.get(c) or "") for c in COLUMNS["credit_histories"]))
    path = ledger_dir / "credit_histories.csv"
    path.write_text("\n".join(lines) + "\n")
    run = build_ledger(ledger_dir=ledger_dir, check=False)
    assert not run.result.ok
    assert (f"ledger file '{path}' has 1 column 'id;user_id;credit_event_id;creditable_type;"
            "creditable_id;amo…': is it ';'-delimited? The export must be "
            "comma-separated with a header row.") in run.result.output


def test_truncated_csv_names_the_line(build_ledger: BuildLedger, tmp_path: Path) -> None:
    ledger_dir = tmp_path / "truncated"
    write_ledger(ledger_dir, ledger(ROWS))
    path = ledger_dir / "credit_histories.csv"
    text = path.read_text()
    path.write_text(text[: text.rindex("\n", 0, len(text) - 1) + 12])  # cut the last row
    last_line = path.read_text().splitlines()[-1]
    run = build_ledger(ledger_dir=ledger_dir, check=False)
    assert not run.result.ok
    assert (f"ledger file '{path}' line 5 '{last_line}' has fewer fields than the header: "
            "the file looks truncated, export it again.") in run.result.output


def _struct_meta_ledger(ledger_dir: Path) -> None:
    rows = ROWS + [entry(5, 1, "welcome_bonus", 20.0, "2024-03-05 10:00:00",
                         previous_amount=95.5)]
    write_ledger(ledger_dir, ledger(rows), fmt="parquet")
    meta = [{"expires_at": "2024-03-06T00:00:00Z"} if r["id"] == 5 else None for r in rows]
    data = {c: pa.array([None if r.get(c) is None else str(r[c]) for r in rows], pa.string())
            for c in COLUMNS["credit_histories"] if c != "meta_data"}
    data["meta_data"] = pa.array(meta, pa.struct([("expires_at", pa.string())]))
    pq.write_table(pa.table(data), ledger_dir / "credit_histories.parquet")


def test_struct_meta_data_in_parquet_is_read_as_json(build_ledger: BuildLedger,
                                                     tmp_path: Path) -> None:
    ledger_dir = tmp_path / "struct_meta"
    _struct_meta_ledger(ledger_dir)
    run = build_ledger(ledger_dir=ledger_dir, fmt="parquet",
                       command=LOTS)
    assert str(run.scalar("select expires_at from intermediate.int_credit_lots "
                          "where lot_id = 5")) == "2024-03-06 00:00:00"
    assert json.loads(run.scalar("select meta_data from staging.stg_ledger__credit_histories "
                                 "where credit_history_id = 5")) == \
        {"expires_at": "2024-03-06T00:00:00Z"}


def test_a_3_mb_meta_data_cell_is_read(build_ledger: BuildLedger) -> None:
    meta = json.dumps({"expires_at": "2024-03-06T00:00:00Z", "log": "x" * 3_000_000})
    rows = ROWS + [entry(5, 1, "welcome_bonus", 20.0, "2024-03-05 10:00:00",
                         previous_amount=95.5, meta_data=meta)]
    run = build_ledger(ledger(rows), command=LOTS)
    assert run.scalar("select length(meta_data) from staging.stg_ledger__credit_histories "
                      "where credit_history_id = 5") == len(meta)
    assert str(run.scalar("select expires_at from intermediate.int_credit_lots "
                          "where lot_id = 5")) == "2024-03-06 00:00:00"


def test_a_line_longer_than_csv_max_line_size_is_named(build_ledger: BuildLedger) -> None:
    rows = ROWS + [entry(5, 1, "welcome_bonus", 20.0, "2024-03-05 10:00:00",
                         meta_data="y" * 5000)]
    run = build_ledger(ledger(rows), check=False, extra_vars={"csv_max_line_size": 4096})
    assert not run.result.ok
    assert ("credit_histories.csv' line 6 is longer than csv_max_line_size (4096 bytes): "
            "raise it with --vars '{csv_max_line_size: N}' or shorten the value.") \
        in run.result.output


def test_unparseable_dimension_values_are_flagged(build_ledger: BuildLedger) -> None:
    tables = ledger(ROWS)
    tables["users"] = [dict(tables["users"][0], credits="N/A", created_at="last tuesday")]
    tables["plans"] = [dict(PLANS[0], price="free"), PLANS[1]]
    run = build_ledger(tables)
    assert run.rows("select user_id, unparseable_columns, credits_snapshot_milli "
                    "from marts.dim_users") == [(1, "credits, created_at", None)]
    assert run.rows("select plan_id, unparseable_columns, price_minor_units "
                    "from marts.dim_plans order by 1") == [(1, "price", None), (3, None, 2900)]
    # the snapshot is not a number: not the app contradicting itself
    assert run.rows("select status, has_unparseable_snapshot "
                    "from marts.fct_ledger_reconciliation") == [("unparseable_snapshot", True)]
    warned = {r["unique_id"].split(".")[2] for r in run.result.results if r["status"] == "warn"}
    assert {"expression_is_true_stg_ledger__users_unparseable_columns_is_null",
            "expression_is_true_stg_ledger__plans_unparseable_columns_is_null"} <= warned


def test_mostly_quarantined_ledger_stops_before_the_marts(build_ledger: BuildLedger) -> None:
    rows = ROWS[:1] + [entry(i, 1, "video_generation", "12,5", "2024-03-02 10:00:00")
                       for i in (2, 3)]
    run = build_ledger(ledger(rows), check=False)
    assert not run.result.ok
    assert ("67% of credit_histories rows are quarantined as unparseable_amount (67% "
            "quarantined in all, above max_quarantined_share 0.5): make the export write "
            "amounts with a decimal point, like 12.5 (is the decimal separator a comma?), "
            "then build again.") in run.result.output
    assert run.result.status_of("model.credit_ledger.fct_credit_transactions") == "skipped"


def _split_into_days(ledger_dir: Path, table: str, fmt: str) -> None:
    """Replace <table>.<fmt> by <table>/day_N.<fmt>, one file per row."""
    path = ledger_dir / f"{table}.{fmt}"
    whole = pq.read_table(path) if fmt == "parquet" else None
    folder = ledger_dir / table
    folder.mkdir()
    if fmt == "parquet":
        for i in range(whole.num_rows):
            pq.write_table(whole.slice(i, 1), folder / f"day_{i}.parquet")
    else:
        header, *lines = path.read_text().splitlines(keepends=True)
        for i, line in enumerate(lines):
            (folder / f"day_{i}.csv").write_text(header + line)
    path.unlink()


def _same_rows_from_a_folder(build_ledger: BuildLedger, tmp_path: Path, fmt: str) -> None:
    command = ["build", "--select", "staging", "--indirect-selection", "cautious"]
    one = tmp_path / f"one_{fmt}"
    write_ledger(one, ledger(ROWS), fmt=fmt)
    folder = tmp_path / f"folder_{fmt}"
    write_ledger(folder, ledger(ROWS), fmt=fmt)
    for table in COLUMNS:
        _split_into_days(folder, table, fmt)
    query = ("select * exclude (loaded_at) from staging.base_ledger__credit_histories "
             "order by source_row_hash, source_row_copy")
    columns = "select column_name from (describe ledger.credit_histories)"
    first = build_ledger(ledger_dir=one, fmt=fmt, command=command)
    expected, expected_users = first.rows(query), first.rows(
        "select * from staging.stg_ledger__users order by user_id")
    second = build_ledger(ledger_dir=folder, fmt=fmt, command=command)
    assert second.rows(query) == expected
    assert second.rows("select * from staging.stg_ledger__users order by user_id") \
        == expected_users
    assert [c for (c,) in second.rows(columns)] == list(COLUMNS["credit_histories"])


def test_a_folder_of_daily_csv_files_gives_the_same_rows(build_ledger: BuildLedger,
                                                         tmp_path: Path) -> None:
    _same_rows_from_a_folder(build_ledger, tmp_path, "csv")


def test_a_folder_of_daily_parquet_files_gives_the_same_rows(build_ledger: BuildLedger,
                                                             tmp_path: Path) -> None:
    _same_rows_from_a_folder(build_ledger, tmp_path, "parquet")


def test_a_table_both_as_file_and_folder_is_named(build_ledger: BuildLedger,
                                                  tmp_path: Path) -> None:
    ledger_dir = tmp_path / "both"
    write_ledger(ledger_dir, ledger(ROWS))
    write_ledger(ledger_dir / "users", {"users": ledger(ROWS)["users"]})
    run = build_ledger(ledger_dir=ledger_dir, check=False)
    assert not run.result.ok
    assert (f"ledger table users is exported twice, as '{ledger_dir}/users.csv' and as the "
            f"folder '{ledger_dir}/users/': keep one of them.") in run.result.output


def test_a_broken_daily_file_stops_even_in_a_large_ledger(build_ledger: BuildLedger) -> None:
    """300 good rows, then a day of 150 rows written with decimal commas:
    a third of the table, but every row this run loaded."""
    good = [entry(i, 1 + i % 5, "video_generation", -1.5, "2024-03-02 10:00:00")
            for i in range(1, 301)]
    build_ledger(ledger(ROWS[:1] + good))
    broken = [entry(i, 1 + i % 5, "video_generation", "-1,5", "2024-03-03 10:00:00")
              for i in range(301, 451)]
    run = build_ledger(ledger(ROWS[:1] + good + broken), check=False)
    assert not run.result.ok
    assert ("100% of the credit_histories rows this run loaded are quarantined as "
            "unparseable_amount (100% quarantined in all, above max_quarantined_share "
            "0.5)") in run.result.output
