-- Credits burned per service (creditable_type) and calendar month.
-- Rebuilt whole each run: cheap, and always in step with fct_credit_transactions.

with transactions as (
    select * from {{ ref('fct_credit_transactions') }}
    where transaction_kind = 'usage'
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
