-- Burn per service (creditable_type) and calendar month for dashboards:
-- usage debits only. Summed from int_user_monthly_burn_by_service (one row
-- per user, service and month, so a user counts once).

with user_months as (
    select * from {{ ref('int_user_monthly_burn_by_service') }}
),

final as (
    select
        creditable_type,
        month_start,
        max(service_name) as service_name,
        cast(sum(consumed_milli) as bigint) as consumed_milli,
        {{ to_credits('sum(consumed_milli)') }} as consumed_credits,
        cast(sum(usage_count) as bigint) as usage_count,
        count(*) as active_user_count
    from user_months
    group by creditable_type, month_start
)

select * from final
