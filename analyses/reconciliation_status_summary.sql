-- Where the ledger does not add up: users per reconciliation status, with
-- the chain breaks and quarantined rows behind them and the size of the
-- difference between the app's users.credits snapshot and the ledger.
--
-- vars:
--   reconciliation_min_abs_difference_milli  only count users whose
--       |users.credits - ledger balance| is at least this many milli-credits
--       (default 0: every user)

with reconciliation as (
    select * from {{ ref('fct_ledger_reconciliation') }}
),

in_scope as (
    select *
    from reconciliation
    where
        abs(coalesce(snapshot_minus_ledger_milli, 0))
        >= {{ var('reconciliation_min_abs_difference_milli', 0) }}
),

by_status as (
    select
        status,
        count(*) as user_count,
        sum(ledger_row_count) as ledger_row_count,
        sum(quarantined_row_count) as quarantined_row_count,
        sum(concurrent_write_count) as concurrent_write_count,
        sum(gap_count) as gap_count,
        count(*) filter (where has_snapshot_ledger_mismatch) as snapshot_ledger_mismatch_users,
        sum(abs(coalesce(snapshot_minus_ledger_milli, 0))) as abs_snapshot_difference_milli,
        max(abs(coalesce(snapshot_minus_ledger_milli, 0))) as max_abs_snapshot_difference_milli,
        sum(ledger_balance_milli) as ledger_balance_milli,
        sum(lot_balance_milli) as lot_balance_milli,
        sum(expired_milli) as expired_milli
    from in_scope
    group by status
),

final as (
    select
        status,
        user_count,
        cast(user_count as double) / sum(user_count) over () as share_of_users,
        cast(ledger_row_count as bigint) as ledger_row_count,
        cast(quarantined_row_count as bigint) as quarantined_row_count,
        cast(concurrent_write_count as bigint) as concurrent_write_count,
        cast(gap_count as bigint) as gap_count,
        snapshot_ledger_mismatch_users,
        cast(abs_snapshot_difference_milli as bigint) as abs_snapshot_difference_milli,
        cast(max_abs_snapshot_difference_milli as bigint) as max_abs_snapshot_difference_milli,
        {{ to_credits('abs_snapshot_difference_milli') }} as abs_snapshot_difference_credits,
        cast(ledger_balance_milli as bigint) as ledger_balance_milli,
        cast(lot_balance_milli as bigint) as lot_balance_milli,
        cast(expired_milli as bigint) as expired_milli
    from by_status
)

select * from final
order by user_count desc, status asc
