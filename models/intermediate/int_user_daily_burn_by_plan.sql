-- fct_credit_transactions rolled up per user, plan at the time and day: the
-- building block of fct_burn_by_plan_daily. Per user so that an incremental
-- run only rewrites the users it recomputes (a count of distinct users over
-- the whole ledger is the costly part of the plan mart otherwise); it reads
-- the mart because the plan at the time of a row is decided there.
--
-- Incremental: a rebuilt user's rows are recomputed whole; a resumed user's
-- days from resume_from_date on (their new rows lie there).
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_user_periods_to_recompute('activity_date', 'day') }}",
        on_schema_change='fail',
    )
}}
-- depends_on: {{ ref('int_affected_users') }}

with transactions as (
    select transaction_rows.*
    from {{ ref('fct_credit_transactions') }} as transaction_rows
    {{ join_periods_to_compute('transaction_rows', 'occurred_date', 'day') }}
),

final as (
    select
        user_id,
        coalesce(plan_id, -1) as plan_id,
        occurred_date as activity_date,
        max(plan_tier) as plan_tier,
        {{ transaction_sums() }}
    from transactions
    group by user_id, coalesce(plan_id, -1), occurred_date
)

select * from final
