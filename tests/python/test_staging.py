"""Staging over crafted ledgers: every dirt kind ends in the right flag or
quarantine reason, and every source row is accounted for."""

from __future__ import annotations

import hashlib
from datetime import datetime

import pytest

from conftest import BuildLedger, BuiltLedger
from dirty_ledger import DIRTY
from ledgers import entry, ledger, with_app_chain

SELECT = ["build", "--select", "+int_ledger_entries", "+stg_ledger__quarantined_credit_histories",
          "--indirect-selection", "cautious"]

CLEAN = with_app_chain([
    entry(1, 1, "monthly_allocation", 100.0, "2024-03-01 10:00:00"),
    # 0.1 + 0.2 as the app stores it
    entry(2, 1, "video_generation", -(0.1 + 0.2), "2024-03-01T11:00:00Z"),
    entry(3, 1, "caption_generation", -1.5, "2024-03-01 12:00:00.123456"),
    entry(4, 1, "caption_generation", -1.0, "2024-03-01T13:00:00.5Z"),
    entry(5, 1, "video_generation", -1.2345, "2024-03-01 14:00:00"),
    entry(6, 1, 999, 2.0, "2024-03-01 15:00:00"),
    entry(7, 1, "welcome_bonus", 20.0, "2024-03-01 16:00:00", meta_data='{"expires_at": "2024-03'),
    entry(8, 1, "video_generation", 4.0, "2024-03-01 17:00:00"),
    entry(9, 1, "welcome_bonus", -3.0, "2024-03-01 18:00:00"),
    entry(10, 1, "welcome_bonus", 20.0, "2024-03-01 19:00:00",
          meta_data='{"expires_at": "2024-03-15T00:00:00Z"}'),
    entry(11, 1, "credit_purchase", 50.0, "2024-03-01 20:00:00", meta_data=""),
])


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuiltLedger:
    # one build shared by the assertions below (module scope)
    from credit_ledger.dbt_runner import run_dbt
    from credit_ledger.ledger_files import write_ledger

    base = tmp_path_factory.mktemp("staging")
    write_ledger(base / "ledger", ledger(CLEAN + DIRTY))
    result = run_dbt(SELECT, db_path=base / "credits.duckdb", work_dir=base,
                     dbt_vars={"ledger_path": str(base / "ledger"),
                               # most rows here are dirt on purpose
                               "max_quarantined_share": 1})
    assert result.ok, result.output[-8000:]
    return BuiltLedger(result, base / "credits.duckdb")


def clean_row(built: BuiltLedger, row_id: int) -> dict:
    rows = built.dicts(
        f"select * from intermediate.int_ledger_entries where credit_history_id = {row_id}"
    )
    assert len(rows) == 1, f"id {row_id}: {rows}"
    return rows[0]


def test_float_noise_becomes_exact_milli_credits(built: BuiltLedger) -> None:
    assert clean_row(built, 2)["amount_milli"] == -300
    assert clean_row(built, 1)["amount_milli"] == 100_000


@pytest.mark.parametrize("row_id, expected", [
    (1, datetime(2024, 3, 1, 10, 0, 0)),
    (2, datetime(2024, 3, 1, 11, 0, 0)),
    (3, datetime(2024, 3, 1, 12, 0, 0, 123456)),
    (4, datetime(2024, 3, 1, 13, 0, 0, 500000)),
])
def test_every_timestamp_spelling_parses(built: BuiltLedger, row_id: int, expected: datetime) -> None:
    assert clean_row(built, row_id)["occurred_at"] == expected


def test_sub_milli_precision_is_kept_and_flagged(built: BuiltLedger) -> None:
    row = clean_row(built, 5)
    assert row["has_sub_milli_precision"] is True
    assert row["amount_milli"] == -1235  # half away from zero
    assert clean_row(built, 2)["has_sub_milli_precision"] is False


def test_unknown_event_is_kept_and_flagged(built: BuiltLedger) -> None:
    row = clean_row(built, 6)
    assert row["is_known_event"] is False
    assert row["credit_type"] == "other"
    assert row["expires_at"] is None


def test_malformed_meta_data_is_kept_and_flagged(built: BuiltLedger) -> None:
    row = clean_row(built, 7)
    assert row["has_malformed_meta_data"] is True
    # no usable expires_at: the rule's 30 days for welcome_bonus apply
    assert row["expires_at"] == datetime(2024, 3, 31, 16, 0, 0)
    assert clean_row(built, 11)["has_malformed_meta_data"] is False  # empty is fine


def test_meta_expires_at_wins_over_rule(built: BuiltLedger) -> None:
    assert clean_row(built, 10)["expires_at"] == datetime(2024, 3, 15)


def test_sign_mismatches_are_kept_and_flagged(built: BuiltLedger) -> None:
    assert clean_row(built, 8)["has_sign_mismatch"] is True  # usage adding credits
    assert clean_row(built, 8)["amount_milli"] == 4_000  # the sign decides
    assert clean_row(built, 9)["has_sign_mismatch"] is True  # bonus removing credits
    assert clean_row(built, 1)["has_sign_mismatch"] is False


def version_hash(row: dict) -> str:
    """macros/incremental.sql ledger_version_hash, for a row written by
    write_ledger: md5 of the values as staging reads them."""
    def text(value: object) -> str | None:
        if value is None:
            return None
        value = repr(value) if isinstance(value, float) else str(value)
        return value.strip() or None
    values = [text(row.get("id")), text(row.get("user_id")), text(row.get("credit_event_id")),
              (text(row.get("creditable_type")) or "").lower() or None,
              text(row.get("creditable_id")), text(row.get("amount")),
              text(row.get("previous_amount")), row.get("description") or None,
              text(row.get("meta_data")), text(row.get("created_at"))]
    joined = "|".join("" if v is None else v + "." for v in values)
    return hashlib.md5(joined.encode()).hexdigest()


def test_repeated_ids_keep_latest_then_larger_hash(built: BuiltLedger) -> None:
    """Latest updated_at wins; between versions written at the same time,
    the larger version hash (md5, the same on every engine; an order-free
    rule: a re-dump in another order keeps the same version)."""
    assert clean_row(built, 3)["description"] == "re-exported"
    assert clean_row(built, 3)["amount_milli"] == -1750
    versions = [row for row in CLEAN + DIRTY if row["id"] == 4]
    assert len(versions) == 2
    assert clean_row(built, 4)["description"] == max(versions, key=version_hash).get("description")
    duplicates = built.rows(
        "select credit_history_id from staging.stg_ledger__quarantined_credit_histories "
        "where quarantine_reason = 'duplicate_id' order by 1"
    )
    assert duplicates == [(3,), (4,)]


def test_each_unplaceable_row_is_quarantined_with_its_reason(built: BuiltLedger) -> None:
    reasons = dict(built.rows(
        "select coalesce(id_text, '<null>') || '/' || coalesce(amount_text, '') "
        "|| '/' || coalesce(created_at_text, ''), quarantine_reason "
        "from staging.stg_ledger__quarantined_credit_histories "
        "where quarantine_reason != 'duplicate_id'"
    ))
    assert reasons == {
        "<null>/-1.0/2024-03-02 10:00:00": "missing_id",
        "x1/-1.0/2024-03-02 10:00:00": "unparseable_id",
        "2.4/-1.0/2024-03-02 10:00:00": "unparseable_id",
        "1e3/-1.0/2024-03-02 10:00:00": "unparseable_id",
        "27/-1.0/2024-03-02 10:00:00": "unparseable_user_id",
        "20/-1.0/2024-03-02 10:00:00": "missing_user_id",
        "21//2024-03-02 10:00:00": "missing_amount",
        "22/abc/2024-03-02 10:00:00": "unparseable_amount",
        "23/12,5/2024-03-02 10:00:00": "unparseable_amount",
        "24/-1.0/not-a-date": "unparseable_created_at",
        "25/-1.0/2024-02-30 10:00:00": "unparseable_created_at",
        "26/-1.0/": "missing_created_at",
    }


def test_rows_in_equal_clean_plus_quarantined(built: BuiltLedger) -> None:
    clean = built.scalar("select count(*) from staging.stg_ledger__credit_histories")
    quarantined = built.scalar(
        "select count(*) from staging.stg_ledger__quarantined_credit_histories"
    )
    assert (clean, quarantined) == (len(CLEAN), len(DIRTY))
    assert built.result.status_of("assert_every_credit_history_row_is_accounted_for") == "pass"


def test_parquet_ledger_gives_the_same_staging(build_ledger: BuildLedger, built: BuiltLedger) -> None:
    parquet = build_ledger(ledger(CLEAN + DIRTY), command=SELECT, fmt="parquet",
                           extra_vars={"max_quarantined_share": 1})
    query = ("select * from intermediate.int_ledger_entries "
             "order by credit_history_id")
    assert parquet.rows(query) == built.rows(query)
