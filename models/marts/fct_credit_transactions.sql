-- The clean ledger for BI: one row per ledger row, with its event, credit
-- type, service, the plan the user was on at that moment, and the running
-- ledger balance.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_rebuilt_users() }}",
        on_schema_change='fail',
    )
}}
-- depends_on: {{ ref('int_affected_users') }}

-- incremental: rows of rebuilt users, and resumed users' new rows
with entries as (
    select entry_rows.* from {{ ref('int_ledger_entries') }} as entry_rows
    {{ join_rows_to_compute('entry_rows') }}
),

balances as (
    select balance_rows.* from {{ ref('int_ledger_balances') }} as balance_rows
    {{ join_rows_to_compute('balance_rows') }}
),

subscriptions as (
    select * from {{ ref('stg_ledger__subscriptions') }}
    where {{ is_affected_user() }}
),

plans as (
    select * from {{ ref('stg_ledger__plans') }}
),

services as (
    select * from {{ ref('services') }}
),

final as (
    select
        entries.credit_history_id,
        entries.user_id,
        entries.credit_event_id,
        plan_at_time.plan_id,
        plan_at_time.subscription_id,
        entries.creditable_id,
        entries.event_name,
        entries.event_type,
        entries.credit_type,
        entries.creditable_type,
        services.service_name,
        plans.tier as plan_tier,
        balances.chain_break_kind,
        case
            when entries.amount_milli > 0 then 'grant'
            when entries.amount_milli < 0 and entries.event_type = 'usage' then 'usage'
            when entries.amount_milli < 0 then 'penalty'
            else 'zero'
        end as transaction_kind,
        entries.amount_milli,
        {{ to_credits('entries.amount_milli') }} as amount_credits,
        balances.balance_before_milli,
        balances.balance_after_milli,
        {{ to_credits('balances.balance_after_milli') }} as balance_after_credits,
        balances.previous_amount_milli,
        balances.user_row_number,
        entries.is_known_event,
        entries.has_sign_mismatch,
        entries.has_sub_milli_precision,
        entries.has_malformed_meta_data,
        cast(entries.occurred_at as date) as occurred_date,
        entries.occurred_at,
        entries.expires_at
    from entries
    inner join balances
        on entries.credit_history_id = balances.credit_history_id
    -- the plan at the time of the row (macros/plan_at_time.sql)
    left join {{ plan_at_time('entries', 'credit_history_id', 'occurred_at', 'subscriptions') }}
        as plan_at_time
        on entries.credit_history_id = plan_at_time.credit_history_id
    left join plans
        on plan_at_time.plan_id = plans.plan_id
    left join services
        on entries.creditable_type = services.creditable_type
)

select * from final
