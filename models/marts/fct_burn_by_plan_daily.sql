-- Burn per plan and day for dashboards: usage consumed, penalties, grants,
-- and how many users used credits. The plan is the plan at the time of each
-- row (fct_credit_transactions); -1 groups rows outside any subscription.
-- Summed from int_user_daily_burn_by_plan (one row per user, plan and day,
-- so a user with usage counts once).

with user_days as (
    select * from {{ ref('int_user_daily_burn_by_plan') }}
),

final as (
    select
        plan_id,
        activity_date,
        max(plan_tier) as plan_tier,
        cast(sum(consumed_milli) as bigint) as consumed_milli,
        cast(sum(penalty_milli) as bigint) as penalty_milli,
        cast(sum(granted_milli) as bigint) as granted_milli,
        {{ to_credits('sum(consumed_milli)') }} as consumed_credits,
        cast(sum(usage_count) as bigint) as usage_count,
        count(*) filter (where usage_count > 0) as active_user_count
    from user_days
    group by plan_id, activity_date
)

select * from final
