-- One row per user: where the ledger, the app's own chain and the app's
-- users.credits snapshot end up, and how many chain breaks lie in between.

with users as (
    select * from {{ ref('stg_ledger__users') }}
),

balances as (
    select * from {{ ref('int_ledger_balances') }}
),

last_rows as (
    select
        user_id,
        balance_after_milli as ledger_balance_milli,
        app_balance_after_milli as app_chain_balance_milli,
        occurred_at as last_occurred_at
    from balances
    qualify row_number() over (
        partition by user_id order by user_row_number desc
    ) = 1
),

breaks as (
    select
        user_id,
        count(*) as ledger_row_count,
        count(*) filter (
            where chain_break_kind = 'concurrent_write'
        ) as concurrent_write_count,
        count(*) filter (where chain_break_kind = 'gap') as gap_count
    from balances
    group by user_id
),

final as (
    select
        users.user_id,
        coalesce(breaks.ledger_row_count, 0) as ledger_row_count,
        coalesce(breaks.concurrent_write_count, 0) as concurrent_write_count,
        coalesce(breaks.gap_count, 0) as gap_count,
        coalesce(last_rows.ledger_balance_milli, 0) as ledger_balance_milli,
        last_rows.app_chain_balance_milli,
        users.credits_snapshot_milli,
        -- the app's snapshot against the ledger rebuilt from zero
        coalesce(
            users.credits_snapshot_milli
            != coalesce(last_rows.ledger_balance_milli, 0),
            true
        ) as has_snapshot_ledger_mismatch,
        -- the app's snapshot against the app's own chain: the two should
        -- never differ, whatever the ledger holds
        coalesce(
            users.credits_snapshot_milli
            != coalesce(last_rows.app_chain_balance_milli, 0),
            true
        ) as has_snapshot_chain_mismatch,
        last_rows.last_occurred_at
    from users
    left join last_rows
        on users.user_id = last_rows.user_id
    left join breaks
        on users.user_id = breaks.user_id
)

select * from final
