"""A crafted dirty ledger for the engine tests (PostgreSQL, Spark): every
row goes through staging on DuckDB and on the engine, and the flags and
quarantine reasons must be the same."""

from __future__ import annotations

from typing import Any, Sequence

from ledgers import Row, entry, ledger, with_app_chain

NOW = "2024-03-05 00:00:00"

STAGING = ["build", "--select", "+int_ledger_entries",
           "+stg_ledger__quarantined_credit_histories", "stg_ledger__users",
           "stg_ledger__plans", "stg_ledger__credit_events", "stg_ledger__subscriptions",
           "--indirect-selection", "cautious", "--exclude-resource-type", "test", "unit_test"]

DIRTY_ROWS = with_app_chain([
    entry(1, 1, "monthly_allocation", 100.0, "2024-03-01 10:00:00"),
    entry(2, 1, "video_generation", -(0.1 + 0.2), "2024-03-01T11:00:00Z"),
    entry(3, 1, "caption_generation", -1.5, "2024-03-01 12:00:00.123456"),
    entry(4, 1, "caption_generation", -1.0, "2024-03-01T13:00:00.5Z"),
    entry(5, 1, "video_generation", -1.2345, "2024-03-01 14:00:00+02:00"),
    entry(6, 1, 999, 2.0, "2024-03-01 15:00:00-0130"),
    entry(7, 1, "welcome_bonus", 20.0, "2024-03-01 16:00:00", meta_data='{"expires_at": "2024-03'),
    entry(8, 1, "video_generation", 4.0, "2024-03-01 17:00:00.1234567"),
    entry(9, 1, "welcome_bonus", -3.0, "2024-03-01 18:00"),
    entry(10, 1, "welcome_bonus", 20.0, "2024-03-01",
          meta_data='{"expires_at": "2024-03-15T00:00:00+01:00"}'),
    entry(11, 1, "credit_purchase", 50.0, "2024-02-29 24:00:00", meta_data=""),
    entry(12, 1, "credit_purchase", "1_000", "2024-03-01 20:00:00", meta_data="[1, 2]"),
    entry(13, 1, "video_generation", " .5 ", "2024-3-1 21:0:0"),
    entry(14, 1, "video_generation", "-2.0005", "2024-03-01 22:00:00"),
    entry(15, 1, "video_generation", "-1e-3", "2024-03-01 22:30:00",
          meta_data='{"expires_at": 5}'),
    entry(16, 1, "credit_purchase", "+2.5", "2024-03-01 23:00:00"),
    entry(17, 1, "credit_purchase", "2.4999999999999996", "2024-03-01 23:10:00"),
    entry(18, 1, "video_generation", "-0.0025", "2024-03-01 23:20:00"),
    entry(19, 1, "video_generation", "-0.0035", "2024-03-01 23:30:00"),
])
# rows only a dirty ledger has, each ending in a quarantine reason or a
# tie rule (test_staging.py checks each; the engine tests compare them)
DIRTY = [
    # a re-export of id 3 with a later updated_at wins over the original
    entry(3, 1, "caption_generation", -1.75, "2024-03-01 12:00:00.123456",
          updated_at="2024-03-02 00:00:00", description="re-exported"),
    # an identical re-export of id 4: the last seen wins
    entry(4, 1, "caption_generation", -1.0, "2024-03-01T13:00:00.5Z", description="last seen"),
    entry(None, 1, "video_generation", -1.0, "2024-03-02 10:00:00"),
    entry(20, None, "video_generation", -1.0, "2024-03-02 10:00:00"),
    entry(21, 1, "video_generation", None, "2024-03-02 10:00:00"),
    entry(22, 1, "video_generation", "abc", "2024-03-02 10:00:00"),
    entry(23, 1, "video_generation", "12,5", "2024-03-02 10:00:00"),
    entry(24, 1, "video_generation", -1.0, "not-a-date"),
    entry(25, 1, "video_generation", -1.0, "2024-02-30 10:00:00"),
    entry(26, 1, "video_generation", -1.0, None),
    entry("x1", 1, "video_generation", -1.0, "2024-03-02 10:00:00"),
    # ids must be whole numbers: a cast alone would round or read notations
    entry("2.4", 1, "video_generation", -1.0, "2024-03-02 10:00:00"),
    entry("1e3", 1, "video_generation", -1.0, "2024-03-02 10:00:00"),
    entry(27, "12.6", "video_generation", -1.0, "2024-03-02 10:00:00"),
]
DIRTY_ONLY = [
    *DIRTY,
    entry(28, 1, "video_generation", "inf", "2024-03-02 10:00:00"),
    entry(29, 1, "video_generation", "NaN", "2024-03-02 10:00:00"),
    entry(30, 1, "video_generation", "1e309", "2024-03-02 10:00:00"),
    entry(31, 1, "video_generation", "1e12", "2024-03-02 10:00:00"),
    entry(32, 1, "video_generation", -1.0, "2024-03-01 10:00:60"),
    entry(33, 1, "video_generation", -1.0, "2024-03-01 10:00:00 +02:00"),
    entry(34, 1, "video_generation", -1.0, "2030-01-01 00:00:00"),
    entry(35, 1, "video_generation", -1.0, "2023-02-29 00:00:00"),
    entry("9223372036854775808", 1, "video_generation", -1.0, "2024-03-02 10:00:00"),
    entry(36, 1, "video_generation", "0x10", "2024-03-02 10:00:00"),
    # ids with a sign, spaces or a zero fraction parse
    entry("+37.0", " 1 ", "credit_purchase", 1.0, "2024-03-02 11:00:00"),
]


# Spellings where the engines' own casts disagree (DuckDB is the reference,
# macros/parsing.sql and macros/spark/engine.sql say what each reads).
TS = "2024-03-02 12:00:00"
RARE_SPELLINGS = [
    # timestamps: zone names, 5-digit years, offsets with seconds, words,
    # other separators are unparseable everywhere; 24:00, far offsets and
    # `T..Z` without seconds parse
    entry(40, 1, "video_generation", -1.0, "2024-03-02 10:00:00 Europe/Paris"),
    entry(41, 1, "video_generation", -1.0, "2024-03-02 10:00:00 UTC"),
    entry(42, 1, "video_generation", -1.0, "2024-03-02 10:00:00 Z"),
    entry(43, 1, "video_generation", -1.0, "10000-01-01 00:00:00"),
    entry(44, 1, "video_generation", -1.0, "2024-03-02 10:00:00+05:30:15"),
    entry(45, 1, "video_generation", -1.0, "2024-03-02 24:00:00"),
    entry(46, 1, "video_generation", -1.0, "2024-03-02 10:00:00+23:59"),
    entry(47, 1, "video_generation", -1.0, "2024-03-02T10:00Z"),
    entry(48, 1, "video_generation", -1.0, "epoch"),
    entry(49, 1, "video_generation", -1.0, "2024/03/02"),
    entry(50, 1, "video_generation", -1.0, "2024-03-02\t10:00:00"),
    entry(51, 1, "video_generation", -1.0, "2024-03-02 10:00:00\n"),
    entry(52, 1, "video_generation", -1.0, TS, updated_at="10000-01-01"),
    # numbers: long exponents, the float range's edges, signs, spaces
    entry(53, 1, "video_generation", "1e-1000", TS),
    entry(54, 1, "credit_purchase", "1E+0005", TS),
    entry(55, 1, "video_generation", "-1e-0005", TS),
    entry(56, 1, "video_generation", "1e308", TS),
    entry(57, 1, "video_generation", "+-1", TS),
    entry(58, 1, "video_generation", "Infinity", TS),
    entry(59, 1, "video_generation", "-0", TS),
    entry(60, 1, "video_generation", "\t-2.5\t", TS),
    entry(61, 1, "video_generation", "\u0661\u0662", TS),
    entry(62, 1, "video_generation", "\u00a05", TS),
    entry(63, 1, "video_generation", "2.5e-324", TS),
    entry(64, 1, "video_generation", "1.7976931348623158e308", TS),
    entry("\u00a065\u3000", 1, "video_generation", -1.0, TS),
    entry("66\n", 1, "video_generation", -1.0, TS),
    entry(67, 1, "video_generation", -1.0, TS, creditable_id="-9223372036854775808"),
    # meta_data: repeated keys, DuckDB's lenient JSON, trailing text, a
    # \u0000 escape (PostgreSQL cannot hold it as text), number spellings
    entry(70, 1, "credit_purchase", 1.0, TS, meta_data='{"price": 1, "price": 2}'),
    entry(71, 1, "welcome_bonus", 1.0, TS,
          meta_data='{"expires_at": "2024-04-01", "expires_at": "2024-05-01"}'),
    entry(72, 1, "credit_purchase", 1.0, TS, meta_data='{"price": 1,}'),
    entry(73, 1, "credit_purchase", 1.0, TS, meta_data='{"price": NaN}'),
    entry(74, 1, "credit_purchase", 1.0, TS, meta_data='{"price": 1} x'),
    entry(75, 1, "credit_purchase", 1.0, TS, meta_data='{"price": "\\t2.5"}'),
    entry(76, 1, "credit_purchase", 1.0, TS, meta_data='{"note": "\\u0000", "price": 3}'),
    entry(77, 1, "credit_purchase", 1.0, TS, meta_data='{"price": 1e2}'),
    entry(78, 1, "welcome_bonus", 1.0, TS, meta_data='{"expires_at": "2024-04-01 00:00:00 UTC"}'),
]


def dirty_tables(extra_rows: Sequence[Row] = ()) -> dict[str, Any]:
    """The crafted ledger (plus `extra_rows`, e.g. generated users), with
    user 1's and the plans' dirty values."""
    tables = ledger([*extra_rows, *DIRTY_ROWS, *DIRTY_ONLY, *RARE_SPELLINGS])
    tables["users"] = [
        dict(user, credits="N/A", created_at="last tuesday", monthly_credits=" 1e2 ",
             deleted_at="2024-03-04T00:00:00+05:30")
        if user["id"] == 1 else user for user in tables["users"]]
    tables["plans"] = [dict(plan, price="free") if plan["id"] == 1 else plan
                       for plan in tables["plans"]] + [
        {"id": 7, "name": "Odd", "tier": "pro", "monthly_credits": "12.0005", "price": "19.995",
         "billing_interval": "month", "created_at": "2023-01-01T00:00:00Z"},
        {"id": 8, "name": "Rare", "tier": "pro", "monthly_credits": "1e-1000", "price": "\t1E+0002 ",
         "billing_interval": "month", "created_at": "2023-01-01 24:00:00"}]
    return tables


STAGING_RELATIONS = {
    "staging.base_ledger__credit_histories": {"loaded_at", "source_row_key", "source_row_hash"},
    "staging.stg_ledger__quarantined_credit_histories": {"loaded_at", "source_row_key",
                                                          "source_row_hash"},
    "staging.stg_ledger__users": set(),
    "staging.stg_ledger__plans": set(),
    "staging.stg_ledger__credit_events": set(),
    "staging.stg_ledger__subscriptions": set(),
    "intermediate.int_ledger_entries": {"loaded_at"},
}
