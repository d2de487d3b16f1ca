-- Credits burned per service (creditable_type) and calendar month.
-- Incremental: the months holding rows this run (re)loaded are recomputed.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_reloaded_periods('month_start', 'month') }}",
        on_schema_change='fail',
    )
}}
-- depends_on: {{ ref('base_ledger__credit_histories') }}

with transactions as (
    select * from {{ ref('fct_credit_transactions') }}
    where
        transaction_kind = 'usage'
        and {{ is_reloaded_period(dbt.date_trunc('month', 'occurred_date'), 'month') }}
),

final as (
    select
        coalesce(creditable_type, 'unknown') as creditable_type,
        cast({{ dbt.date_trunc('month', 'occurred_date') }} as date) as month_start,
        max(service_name) as service_name,
        cast(sum(-amount_milli) as bigint) as consumed_milli,
        {{ to_credits('sum(-amount_milli)') }} as consumed_credits,
        count(*) as usage_count,
        count(distinct user_id) as active_user_count
    from transactions
    group by 1, 2
)

select * from final
