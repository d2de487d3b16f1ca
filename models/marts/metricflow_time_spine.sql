-- One row per day, for the semantic layer's time spine: from the first
-- ledger day to a year past as_of (metrics may be asked about the future).

with entries as (
    select * from {{ ref('int_ledger_entries') }}
),

days as (
    select date_day
    from {{ date_series(
        '(select min(occurred_at) from entries)',
        dbt.dateadd('day', 366, '(select ' ~ ledger_as_of() ~ ')'),
    ) }} as calendar_days
)

select * from days
