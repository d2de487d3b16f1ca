-- One row per user (in `users`, or only in the ledger): where the ledger,
-- the app's own chain and the app's users.credits snapshot end up, and how
-- many chain breaks lie in between.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_affected_users() }}",
        on_schema_change='fail',
    )
}}
-- depends_on: {{ ref('int_affected_users') }}

with users as (
    select * from {{ ref('stg_ledger__users') }}
    where {{ is_affected_user() }}
),

balances as (
    select * from {{ ref('int_ledger_balances') }}
    where {{ is_affected_user() }}
),

entries as (
    select * from {{ ref('int_ledger_entries') }}
    where {{ is_affected_user() }}
),

all_users as (
    select user_id from users
    union
    select user_id from balances
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
        balances.user_id,
        count(*) as ledger_row_count,
        count(*) filter (
            where entries.has_sub_milli_precision
        ) as sub_milli_row_count,
        count(*) filter (
            where balances.chain_break_kind = 'concurrent_write'
        ) as concurrent_write_count,
        count(*) filter (where balances.chain_break_kind = 'gap') as gap_count
    from balances
    inner join entries
        on balances.credit_history_id = entries.credit_history_id
    group by balances.user_id
),

final as (
    select
        all_users.user_id,
        users.user_id is not null as is_known_user,
        coalesce(breaks.ledger_row_count, 0) as ledger_row_count,
        coalesce(breaks.concurrent_write_count, 0) as concurrent_write_count,
        coalesce(breaks.gap_count, 0) as gap_count,
        coalesce(last_rows.ledger_balance_milli, 0) as ledger_balance_milli,
        last_rows.app_chain_balance_milli,
        users.credits_snapshot_milli,
        -- the app's snapshot against the ledger rebuilt from zero; each
        -- sub-milli amount may leave half a milli-credit of rounding
        coalesce(
            2 * abs(
                users.credits_snapshot_milli
                - coalesce(last_rows.ledger_balance_milli, 0)
            ) > coalesce(breaks.sub_milli_row_count, 0) + 1,
            true
        ) as has_snapshot_ledger_mismatch,
        -- the app's snapshot against the app's own chain: the two should
        -- never differ, whatever the ledger holds
        coalesce(
            abs(
                users.credits_snapshot_milli
                - coalesce(last_rows.app_chain_balance_milli, 0)
            ) > case when breaks.sub_milli_row_count > 0 then 1 else 0 end,
            true
        ) as has_snapshot_chain_mismatch,
        last_rows.last_occurred_at
    from all_users
    left join users
        on all_users.user_id = users.user_id
    left join last_rows
        on all_users.user_id = last_rows.user_id
    left join breaks
        on all_users.user_id = breaks.user_id
)

select * from final
