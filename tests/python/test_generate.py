"""Tests of the seeded ledger generator (credit_ledger.generate)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

from credit_ledger.generate import generate, generate_ledger

COLUMNS: dict[str, tuple[str, ...]] = {
    "credit_events": ("id", "name", "event_type", "calculation_type", "value",
                      "min_amount", "created_at", "updated_at"),
    "credit_histories": ("id", "user_id", "credit_event_id", "creditable_type",
                         "creditable_id", "amount", "previous_amount", "description",
                         "meta_data", "created_at", "updated_at"),
    "users": ("id", "email", "plan_id", "credits", "monthly_credits", "created_at",
              "updated_at", "deleted_at"),
    "plans": ("id", "name", "tier", "monthly_credits", "price", "billing_interval",
              "created_at"),
    "subscriptions": ("id", "user_id", "plan_id", "status", "starts_at", "ends_at",
                      "canceled_at", "created_at"),
}

USERS, MONTHS = 120, 8
USAGE = "('7', '8', '9', '10', '11', '12')"
BONUS = "('1', '2', '3', '4', '6')"


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def _con(directory: Path) -> duckdb.DuckDBPyConnection:
    """Views over the csv files (all text), plus parsed credit_histories `h`."""
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    for table in COLUMNS:
        path = directory / f"{table}.csv"
        con.execute(f"create view {table} as select * from "
                    f"read_csv('{path}', header = true, all_varchar = true)")
    # a table, not a view: DuckDB 2.0 pushes filters on try_cast(...) into the
    # csv scan as a plain cast, which then fails on text like 'abc'
    con.execute("""
        create table h as
        select *, row_number() over () as pos,
            try_cast(id as bigint) as rid, try_cast(amount as double) as amt,
            try_cast(previous_amount as double) as prev,
            timezone('UTC', try_cast(created_at as timestamptz)) as ts
        from credit_histories
    """)
    return con


def _row(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[Any, ...]:
    row = con.execute(sql).fetchone()
    assert row is not None
    return row


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    return _row(con, sql)[0]


@pytest.fixture(scope="module")
def dirty(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    out = tmp_path_factory.mktemp("dirty")
    stats = generate_ledger(out, USERS, MONTHS)
    return out, stats.dirt


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("clean")
    generate(out, USERS, MONTHS, dirty=False)
    return out


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_same_arguments_give_identical_files(tmp_path: Path, fmt: str) -> None:
    counts = [generate(tmp_path / name, 60, 6, seed=seed, fmt=fmt)
              for name, seed in (("a", 7), ("b", 7), ("c", 8))]
    assert counts[0] == counts[1]
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    assert _files(tmp_path / "a") != _files(tmp_path / "c")


def test_csv_tables_have_the_exact_columns(dirty: tuple[Path, dict[str, int]]) -> None:
    out, _ = dirty
    for table, columns in COLUMNS.items():
        with (out / f"{table}.csv").open(newline="") as handle:
            assert tuple(next(csv.reader(handle))) == columns


def test_parquet_tables_are_typed_with_the_exact_columns(tmp_path: Path) -> None:
    counts = generate(tmp_path, 60, 6, fmt="parquet")
    for table, columns in COLUMNS.items():
        parquet = pq.ParquetFile(tmp_path / f"{table}.parquet")
        schema = parquet.schema_arrow
        assert tuple(schema.names) == columns
        assert parquet.metadata.num_rows == counts[table]
    histories = pq.read_schema(tmp_path / "credit_histories.parquet")
    assert str(histories.field("id").type) == "int64"
    assert str(histories.field("amount").type) == "double"
    assert str(histories.field("created_at").type) == "timestamp[us]"
    assert str(histories.field("meta_data").type) == "string"


def test_row_counts_and_fixed_catalog(dirty: tuple[Path, dict[str, int]]) -> None:
    out, _ = dirty
    con = _con(out)
    assert _scalar(con, "select count(*) from users") == USERS
    assert con.execute("select id, name, event_type from credit_events").fetchall()[:3] == [
        ("1", "monthly_allocation", "bonus"), ("2", "welcome_bonus", "Bonus"),
        ("3", "referral_bonus", "bonus ")]
    assert _scalar(con, "select count(distinct tier) from plans") == 3
    assert _scalar(con, "select count(distinct plan_id) from subscriptions") == 6


def test_every_kind_of_dirt_is_present(dirty: tuple[Path, dict[str, int]]) -> None:
    out, stats = dirty
    assert all(count >= 3 for count in stats.values()), stats
    con = _con(out)
    text = (out / "credit_histories.csv").read_text()
    assert ",-0.30000000000000004," in text  # -(0.1 + 0.2)
    checks = {
        "sub_milli": "select count(*) from h where abs(amt * 1000 - round(amt * 1000)) > 1e-6",
        "repeated_id": "select count(*) from (select id from h where id is not null"
                       " group by id having count(*) > 1)",
        "null_amount": "select count(*) from h where amount is null",
        "non_numeric_amount": "select count(*) from h where amount in ('abc', '12,5', 'N/A')",
        "bad_created_at": "select count(*) from h where ts is null",
        "null_user_id": "select count(*) from h where user_id is null",
        "null_id": "select count(*) from h where id is null",
        "unknown_event": "select count(*) from h where credit_event_id in ('99', '1234')",
        "malformed_meta": "select count(*) from h where not json_valid(meta_data)",
        "empty_meta": f"select count(*) from h where credit_event_id in ('1', '2', '3', '4')"
                      f" and (meta_data is null or meta_data = '{{}}')",
        "usage_positive": f"select count(*) from h where credit_event_id in {USAGE}"
                          f" and amt > 0",
        "bonus_negative": f"select count(*) from h where credit_event_id in {BONUS}"
                          f" and amt < 0",
        # ids never exported: dropped rows (null-id rows hide some ids too)
        "dropped_row": "select max(rid) - count(distinct rid)"
                       " - (select count(*) from h where id is null) from h",
        "credits_snapshot": """
            with last as (
                select try_cast(user_id as bigint) as uid, arg_max(prev + amt, rid) as bal
                from h where rid is not null and amt is not null and ts is not null
                group by 1)
            select count(*) from last join users on try_cast(users.id as bigint) = uid
            where abs(try_cast(credits as double) - bal) between 1.4 and 10.1""",
    }
    found = {kind: _scalar(con, sql) for kind, sql in checks.items()}
    assert all(count >= 3 for count in found.values()), str(found)
    bad_times = {"empty": "created_at is null", "text": "created_at = 'not-a-date'",
                 "impossible day": "created_at similar to '\\d{4}-\\d\\d-\\d\\d .*'"
                                   " and ts is null"}
    for spelling, where in bad_times.items():
        assert _scalar(con, f"select count(*) from h where {where}"), spelling
    # chain breaks among rows that can be placed (first copy of each id)
    breaks = _row(con, """
        with placed as (
            select * from h
            where rid is not null and user_id is not null and amt is not null
              and ts is not null
            qualify row_number() over (partition by rid order by pos) = 1),
        chained as (
            select prev, lag(prev) over w as prev_before, lag(prev + amt) over w as expected
            from placed
            window w as (partition by user_id order by ts, rid))
        select
            count(*) filter (where prev = prev_before and abs(prev - expected) > 1e-6),
            count(*) filter (where abs(prev - expected - 5.0) < 1e-6
                              or abs(prev - expected - 10.0) < 1e-6
                              or abs(prev - expected + 2.5) < 1e-6)
        from chained
    """)
    assert breaks[0] >= 3, "concurrent-write breaks"
    assert breaks[1] >= 3, "balance edits"


def test_clean_run_has_an_unbroken_chain(clean: Path) -> None:
    con = _con(clean)
    assert _scalar(con, "select count(*) from h where rid is null or amt is null"
                        " or ts is null or user_id is null") == 0
    assert _scalar(con, "select count(*) - count(distinct rid) from h") == 0
    assert _scalar(con, "select count(*) from h where not json_valid(meta_data)") == 0
    assert _scalar(con, "select count(*) from h where abs(amt * 1000"
                        " - round(amt * 1000)) > 1e-6") == 0
    # ids increase with created_at over the whole export
    assert _scalar(con, "select count(*) from (select ts < lag(ts) over (order by rid)"
                        " as back from h) where back") == 0
    broken = _scalar(con, """
        with chained as (
            select user_id, prev, rid,
                lag(prev) over w + lag(amt) over w as expected,
                row_number() over w as n
            from h window w as (partition by user_id order by ts, rid))
        select count(*) from chained
        where (n = 1 and prev <> 0.0) or (n > 1 and abs(prev - expected) > 1e-6)
    """)
    assert broken == 0
    mismatched = _scalar(con, """
        with last as (
            select user_id, arg_max(prev + amt, (ts, rid)) as bal from h group by 1)
        select count(*) from users left join last on last.user_id = users.id
        where last.bal is null or abs(try_cast(users.credits as double) - last.bal) > 1e-6
    """)
    assert mismatched == 0


def test_clean_run_has_realistic_shape(clean: Path) -> None:
    con = _con(clean)
    spellings = dict(con.execute("""
        select case when created_at like '%Z' then 'iso'
                    when created_at like '%.%' then 'fraction' else 'plain' end, count(*)
        from h group by 1""").fetchall())
    assert set(spellings) == {"plain", "iso", "fraction"}
    assert spellings["plain"] > spellings["iso"] > spellings["fraction"]
    ties = _scalar(con, "select count(*) from (select user_id, ts from h"
                        " group by all having count(*) > 1)")
    assert ties >= 3
    statuses = {s for (s,) in con.execute("select distinct status from subscriptions").fetchall()}
    assert statuses == {"active", "canceled", "past_due", "trialing"}
    assert _scalar(con, "select count(*) from h where credit_event_id = '2'"
                        " and meta_data not like '%expires_at%'") == 0
    assert _scalar(con, "select count(distinct user_id) from h where prev + amt < 0") >= 1


def test_every_lot_value_case_is_present(clean: Path) -> None:
    # contract section 9: each way a purchase price or a plan can value a lot
    con = _con(clean)
    prices = dict(con.execute("""
        with purchases as (
            select json_extract(meta_data, '$.price') as price from h
            where credit_event_id = '4')
        select
            case
                when price is null then 'missing'
                when json_type(price) = 'VARCHAR' and try_cast(price ->> '$' as double)
                     is null then 'unparseable'
                when json_type(price) = 'VARCHAR' then 'text'
                when price::double < 0 then 'negative'
                when price::double = 0 then 'zero'
                else 'number'
            end,
            count(*)
        from purchases group by 1""").fetchall())
    assert set(prices) == {"number", "missing", "text", "zero", "negative", "unparseable"}
    assert prices["number"] > sum(prices.values()) / 2, prices
    assert _scalar(con, """
        select count(*) from h where credit_event_id = '4'
          and meta_data like '%"price": "%.__"%'""") >= 1  # numeric text like "12.50"
    # monthly and yearly plans, each with subscribers; a year costs ~10 months
    intervals = dict(con.execute("""
        select billing_interval, count(distinct s.id) from plans as p
        join subscriptions as s on s.plan_id = p.id group by 1""").fetchall())
    assert set(intervals) == {"month", "year"} and min(intervals.values()) >= 3
    ratios = [r for (r,) in con.execute("""
        select y.price::double / m.price::double from plans as y
        join plans as m on m.tier = y.tier and m.monthly_credits = y.monthly_credits
          and m.billing_interval = 'month'
        where y.billing_interval = 'year'""").fetchall()]
    assert ratios and all(8 <= r <= 12 for r in ratios)
    # a plan that grants no usable credits per month, with allocations
    assert _scalar(con, """
        select count(*) from h join subscriptions as s
          on s.id = json_extract_string(h.meta_data, '$.subscription_id')
        join plans as p on p.id = s.plan_id
        where h.credit_event_id = '1' and p.monthly_credits::double = 0""") >= 1
    # allocations while no subscription of the user runs
    assert _scalar(con, """
        select count(*) from h where credit_event_id = '1' and not exists (
            select 1 from subscriptions as s
            where s.user_id = h.user_id and s.starts_at::timestamp <= h.ts
              and (s.ends_at is null or h.ts < s.ends_at::timestamp))""") >= 1


def test_cancelling_users_usage_fades_more_often_than_not(clean: Path) -> None:
    con = _con(clean)
    # usage in the 30 days before each cancellation against the 30 before
    # those (plan changes end one subscription at its cancellation: not churn)
    declined, steady = _row(con, f"""
        with cancels as (
            select s.user_id, s.canceled_at::timestamp as canceled_at from subscriptions as s
            join users as u on u.id = s.user_id
            where s.canceled_at < s.ends_at
              and s.canceled_at::timestamp >= u.created_at::timestamp + interval 60 day),
        windows as (
            select c.user_id,
                coalesce(-sum(amt) filter (where ts >= c.canceled_at - interval 30 day), 0)
                    as last_30,
                coalesce(-sum(amt) filter (where ts < c.canceled_at - interval 30 day), 0)
                    as prior_30
            from cancels as c left join h
              on h.user_id = c.user_id and h.credit_event_id in {USAGE}
             and h.ts >= c.canceled_at - interval 60 day and h.ts < c.canceled_at
            group by c.user_id, c.canceled_at)
        select count(*) filter (where last_30 < prior_30),
            count(*) filter (where last_30 >= prior_30)
        from windows""")
    assert declined > 2 * steady, (declined, steady)
    assert steady >= 1  # some cancel abruptly while active
    # and usage fades for some who stay: a 60-day drop by more than half
    # while the subscription keeps running
    assert _scalar(con, f"""
        with months as (
            select unnest(generate_series(timestamp '2025-03-01', timestamp '2025-08-01',
                                          interval 1 month)) as month_start),
        stayers as (
            select user_id from subscriptions group by 1
            having count(*) filter (where canceled_at < ends_at) = 0),
        windows as (
            select m.month_start, h.user_id,
                -sum(amt) filter (where ts >= m.month_start - interval 30 day) as last_30,
                -sum(amt) filter (where ts < m.month_start - interval 30 day) as prior_30
            from months as m join h
              on h.ts >= m.month_start - interval 60 day and h.ts < m.month_start
            where h.credit_event_id in {USAGE}
              and h.user_id in (select user_id from stayers)
            group by all)
        select count(distinct user_id) from windows
        where coalesce(last_30, 0) < 0.3 * prior_30""") >= 1
