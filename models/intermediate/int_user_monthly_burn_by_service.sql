-- Usage debits of fct_credit_transactions rolled up per user, service and
-- calendar month: the building block of fct_burn_by_service_monthly, per
-- user so that an incremental run only rewrites the users it recomputes.
--
-- Incremental: a rebuilt user's rows are recomputed whole; a resumed user's
-- months from the month of resume_from_date on.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_user_periods_to_recompute('month_start', 'month') }}",
        on_schema_change='fail',
    )
}}
-- depends_on: {{ ref('int_affected_users') }}

with usage as (
    select transaction_rows.*
    from {{ ref('fct_credit_transactions') }} as transaction_rows
    {{ join_periods_to_compute('transaction_rows', 'occurred_date', 'month') }}
    where transaction_rows.transaction_kind = 'usage'
),

final as (
    select
        user_id,
        coalesce(creditable_type, 'unknown') as creditable_type,
        cast({{ dbt.date_trunc('month', 'occurred_date') }} as date) as month_start,
        max(service_name) as service_name,
        cast(sum(-amount_milli) as bigint) as consumed_milli,
        count(*) as usage_count
    from usage
    group by
        user_id,
        coalesce(creditable_type, 'unknown'),
        cast({{ dbt.date_trunc('month', 'occurred_date') }} as date)
)

select * from final
