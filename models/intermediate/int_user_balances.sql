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

-- incremental: every affected user's row is recomputed; a resumed user's
-- counts continue from the previous run's (int_affected_users.prev_*), so
-- only their new ledger rows are read
with users as (
    select * from {{ ref('stg_ledger__users') }}
    where {{ is_affected_user() }}
),

balances as (
    select balance_rows.* from {{ ref('int_ledger_balances') }} as balance_rows
    {{ join_rows_to_compute('balance_rows') }}
),

entries as (
    select entry_rows.* from {{ ref('int_ledger_entries') }} as entry_rows
    {{ join_rows_to_compute('entry_rows') }}
),

-- (a full refresh lists every user as rebuilt, with zero prev_* figures)
carried as (
    select
        user_id,
        prev_row_count,
        prev_balance_milli,
        prev_previous_amount_milli,
        prev_amount_milli,
        prev_sub_milli_row_count,
        prev_concurrent_write_count,
        prev_gap_count,
        resume_after_at,
        resume_after_id
    from {{ ref('int_affected_users') }}
    where not is_rebuilt
),

all_users as (
    select user_id from users
    union
    select user_id from balances
    union
    select user_id from carried
),

new_last_rows as (
    select
        user_id,
        credit_history_id as last_credit_history_id,
        balance_after_milli as ledger_balance_milli,
        app_balance_after_milli as app_chain_balance_milli,
        previous_amount_milli as last_previous_amount_milli,
        amount_milli as last_amount_milli,
        occurred_at as last_occurred_at
    from (
        select
            *,
            row_number() over (
                partition by user_id order by user_row_number desc
            ) as row_from_last
        from balances
    ) as ranked
    where row_from_last = 1
),

-- the last row: the newest processed row, else the one carried over
last_rows as (
    select
        all_users.user_id,
        coalesce(new_last_rows.last_credit_history_id, carried.resume_after_id)
            as last_credit_history_id,
        coalesce(new_last_rows.ledger_balance_milli, carried.prev_balance_milli)
            as ledger_balance_milli,
        case
            when new_last_rows.user_id is not null
                then new_last_rows.app_chain_balance_milli
            else carried.prev_previous_amount_milli + carried.prev_amount_milli
        end as app_chain_balance_milli,
        case
            when new_last_rows.user_id is not null
                then new_last_rows.last_previous_amount_milli
            else carried.prev_previous_amount_milli
        end as last_previous_amount_milli,
        case
            when new_last_rows.user_id is not null
                then new_last_rows.last_amount_milli
            else carried.prev_amount_milli
        end as last_amount_milli,
        coalesce(new_last_rows.last_occurred_at, carried.resume_after_at)
            as last_occurred_at
    from all_users
    left join new_last_rows
        on all_users.user_id = new_last_rows.user_id
    left join carried
        on all_users.user_id = carried.user_id
    where new_last_rows.user_id is not null or carried.user_id is not null
),

new_breaks as (
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

breaks as (
    select
        all_users.user_id,
        coalesce(carried.prev_row_count, 0)
        + coalesce(new_breaks.ledger_row_count, 0) as ledger_row_count,
        coalesce(carried.prev_sub_milli_row_count, 0)
        + coalesce(new_breaks.sub_milli_row_count, 0) as sub_milli_row_count,
        coalesce(carried.prev_concurrent_write_count, 0)
        + coalesce(new_breaks.concurrent_write_count, 0) as concurrent_write_count,
        coalesce(carried.prev_gap_count, 0)
        + coalesce(new_breaks.gap_count, 0) as gap_count
    from all_users
    left join carried
        on all_users.user_id = carried.user_id
    left join new_breaks
        on all_users.user_id = new_breaks.user_id
),

final as (
    select
        all_users.user_id,
        users.user_id is not null as is_known_user,
        cast(breaks.ledger_row_count as bigint) as ledger_row_count,
        cast(breaks.sub_milli_row_count as bigint) as sub_milli_row_count,
        cast(breaks.concurrent_write_count as bigint) as concurrent_write_count,
        cast(breaks.gap_count as bigint) as gap_count,
        coalesce(last_rows.ledger_balance_milli, 0) as ledger_balance_milli,
        last_rows.app_chain_balance_milli,
        users.credits_snapshot_milli,
        -- the app's snapshot against the ledger rebuilt from zero; each
        -- sub-milli amount may leave half a milli-credit of rounding (the
        -- differences in HUGEINT: an absurd snapshot must not overflow)
        coalesce(
            2 * abs(
                cast(users.credits_snapshot_milli as {{ wide_integer() }})
                - coalesce(last_rows.ledger_balance_milli, 0)
            ) > breaks.sub_milli_row_count + 1,
            true
        ) as has_snapshot_ledger_mismatch,
        -- the app's snapshot against the app's own chain: the two should
        -- never differ, whatever the ledger holds
        coalesce(
            abs(
                cast(users.credits_snapshot_milli as {{ wide_integer() }})
                - coalesce(last_rows.app_chain_balance_milli, 0)
            ) > case when breaks.sub_milli_row_count > 0 then 1 else 0 end,
            true
        ) as has_snapshot_chain_mismatch,
        last_rows.last_occurred_at,
        -- the last row's key and chain terms: where the next incremental
        -- run resumes this user
        last_rows.last_credit_history_id,
        last_rows.last_previous_amount_milli,
        last_rows.last_amount_milli
    from all_users
    left join users
        on all_users.user_id = users.user_id
    left join last_rows
        on all_users.user_id = last_rows.user_id
    inner join breaks
        on all_users.user_id = breaks.user_id
)

select * from final
