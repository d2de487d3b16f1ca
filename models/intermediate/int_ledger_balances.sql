-- Running balances and the app's previous_amount chain, one row per clean
-- ledger row, per user in (occurred_at, credit_history_id) order.
--
-- The ledger balance is rebuilt from zero by summing amount_milli. The app's
-- chain says a row's previous_amount equals previous_amount + amount of the
-- user's row before it (0 for the first row). Where it does not hold:
--   concurrent_write  the row read the same balance as the row before it
--                     (two requests raced; one update was lost)
--   gap               anything else (a row is missing or the balance was edited)
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_rebuilt_users() }}",
        on_schema_change='fail',
    )
}}
-- depends_on: {{ ref('int_affected_users') }}

-- incremental: rows of rebuilt users, and resumed users' new rows; a
-- resumed user's running figures continue from int_affected_users' prev_*
-- (the previous run's last row), a rebuilt user's start from zero
with entries as (
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
        prev_sub_milli_row_count > 0 as prev_has_sub_milli
    from {{ ref('int_affected_users') }}
),

ordered as (
    select
        entries.credit_history_id,
        entries.user_id,
        entries.amount_milli,
        entries.previous_amount_milli,
        entries.has_sub_milli_precision,
        entries.occurred_at,
        row_number() over user_order as new_row_number,
        coalesce(carried.prev_row_count, 0) as prev_row_count,
        coalesce(carried.prev_balance_milli, 0)
        + sum(entries.amount_milli) over user_running as running_sum_milli,
        case
            when row_number() over user_order = 1
                then carried.prev_previous_amount_milli
            else lag(entries.previous_amount_milli) over user_order
        end as prior_previous_amount_milli,
        case
            when row_number() over user_order = 1 then carried.prev_amount_milli
            else lag(entries.amount_milli) over user_order
        end as prior_amount_milli,
        -- once a user has a sub-milli amount, the app's float balances carry
        -- sub-milli remainders and each rounded term may be off by half a milli
        coalesce(carried.prev_has_sub_milli, false)
        or bool_or(entries.has_sub_milli_precision) over user_running
            as has_sub_milli_history
    from entries
    left join carried
        on entries.user_id = carried.user_id
    -- lag() takes no frame (Spark refuses one): two windows
    window
        user_order as (
            partition by entries.user_id
            order by entries.occurred_at, entries.credit_history_id
        ),
        user_running as (
            partition by entries.user_id
            order by entries.occurred_at, entries.credit_history_id
            rows between unbounded preceding and current row
        )
),

chained as (
    select
        *,
        prev_row_count + new_row_number as user_row_number,
        case
            when prev_row_count + new_row_number = 1 then 0
            else prior_previous_amount_milli + prior_amount_milli
        end as expected_previous_amount_milli
    from ordered
),

final as (
    select
        credit_history_id,
        user_id,
        user_row_number,
        case
            when
                previous_amount_milli is null
                or expected_previous_amount_milli is null
                then null
            -- (in HUGEINT: each term fits a BIGINT, their difference may not)
            when
                abs(
                    cast(previous_amount_milli as {{ wide_integer() }})
                    - expected_previous_amount_milli
                )
                <= case when has_sub_milli_history then 1 else 0 end
                then 'none'
            when previous_amount_milli = prior_previous_amount_milli
                then 'concurrent_write'
            else 'gap'
        end as chain_break_kind,
        amount_milli,
        cast(running_sum_milli - amount_milli as bigint) as balance_before_milli,
        cast(running_sum_milli as bigint) as balance_after_milli,
        previous_amount_milli,
        expected_previous_amount_milli,
        previous_amount_milli + amount_milli as app_balance_after_milli,
        occurred_at
    from chained
)

select * from final
