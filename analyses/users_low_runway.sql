-- Users about to run out of credits: each user's latest day in
-- fct_burn_rate_daily (as_of) where the runway at the 30-day average burn is
-- under a threshold. Users already at or below zero have a runway of 0 and
-- are listed as out_of_credits; users who consumed nothing in 30 days have no
-- runway (null) and are not listed.
--
-- vars:
--   runway_threshold_days  list users whose runway is below this many days
--                          (default 7)

with burn_rate as (
    select * from {{ ref('fct_burn_rate_daily') }}
),

users as (
    select * from {{ ref('dim_users') }}
),

latest_day as (
    select *
    from burn_rate
    qualify row_number() over (partition by user_id order by activity_date desc) = 1
),

final as (
    select
        latest_day.user_id,
        users.plan_name as current_plan_name,
        users.plan_tier as current_plan_tier,
        users.email_domain,
        case
            when latest_day.closing_balance_milli <= 0 then 'out_of_credits'
            else 'running_low'
        end as runway_status,
        latest_day.closing_balance_milli,
        latest_day.closing_balance_credits,
        latest_day.consumed_7d_avg_milli,
        latest_day.consumed_30d_avg_milli,
        latest_day.runway_days,
        -- > 1: the last week burned faster than the 30-day average
        case
            when latest_day.consumed_30d_avg_milli > 0
                then latest_day.consumed_7d_avg_milli / latest_day.consumed_30d_avg_milli
        end as burn_acceleration,
        users.is_deleted,
        latest_day.activity_date as as_of_date,
        cast(
            {{ dbt.dateadd(
                'day',
                'floor(latest_day.runway_days)',
                'latest_day.activity_date'
            ) }} as date
        ) as projected_run_out_date
    from latest_day
    left join users
        on latest_day.user_id = users.user_id
    where latest_day.runway_days < {{ var('runway_threshold_days', 7) }}
)

select * from final
order by runway_days asc, consumed_30d_avg_milli desc, user_id asc
