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
        pre_hook="{{ delete_affected_users() }}",
        on_schema_change='fail',
    )
}}
-- depends_on: {{ ref('int_affected_users') }}

with entries as (
    select * from {{ ref('int_ledger_entries') }}
    where {{ is_affected_user() }}
),

ordered as (
    select
        credit_history_id,
        user_id,
        amount_milli,
        previous_amount_milli,
        has_sub_milli_precision,
        occurred_at,
        row_number() over user_order as user_row_number,
        sum(amount_milli) over user_order as running_sum_milli,
        lag(previous_amount_milli) over user_order as prior_previous_amount_milli,
        lag(amount_milli) over user_order as prior_amount_milli,
        -- once a user has a sub-milli amount, the app's float balances carry
        -- sub-milli remainders and each rounded term may be off by half a milli
        bool_or(has_sub_milli_precision) over user_order as has_sub_milli_history
    from entries
    window user_order as (
        partition by user_id
        order by occurred_at, credit_history_id
        rows between unbounded preceding and current row
    )
),

chained as (
    select
        *,
        case
            when user_row_number = 1 then 0
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
            when
                abs(previous_amount_milli - expected_previous_amount_milli)
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
