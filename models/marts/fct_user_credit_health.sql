-- Credit health per user at as_of: usage recency and trend, balance and
-- runway, what the projection says will expire unused, the plan and
-- subscription, and a churn_risk level from the rule in
-- macros/churn_risk.sql (thresholds are vars). The rule is backtested month
-- by month in fct_churn_signal_backtest.

-- every user in `users` and every user only the ledger knows
with users as (
    select user_id from {{ ref('dim_users') }}
    union
    select user_id from {{ ref('int_user_balances') }}
),

burn as (
    select * from {{ ref('fct_burn_rate_daily') }}
),

projected as (
    select * from {{ ref('fct_projected_expiry') }}
),

subscriptions as (
    select * from {{ ref('stg_ledger__subscriptions') }}
),

plans as (
    select * from {{ ref('stg_ledger__plans') }}
),

as_of as (
    select {{ ledger_as_of() }} as as_of
),

as_of_day as (
    select cast(as_of as date) as as_of_date from as_of
),

usage_history as (
    select
        user_id,
        min(activity_date) as first_activity_date,
        max(case when consumed_milli > 0 then activity_date end) as last_usage_date
    from burn
    group by 1
),

today as (
    select burn.*
    from burn
    inner join as_of_day
        on burn.activity_date = as_of_day.as_of_date
),

month_before as (
    select burn.*
    from burn
    inner join as_of_day
        on burn.activity_date = {{ dbt.dateadd('day', -30, 'as_of_day.as_of_date') }}
),

user_projection as (
    select
        user_id,
        count(*) as open_lot_count,
        -- every open lot ends (used up or expired) at a known time
        case
            when count(*) = count(coalesce(projected_exhausted_at, projected_expires_at))
                then max(coalesce(projected_exhausted_at, projected_expires_at))
        end as projected_depleted_at,
        {%- for days in [30, 90] %}
        cast(sum(case
            when projected_expires_at <= {{ dbt.dateadd('day', days, 'as_of') }}
                then projected_expired_milli
            else 0
        end) as bigint) as projected_breakage_{{ days }}d_milli,
        cast(sum(case
            when projected_expires_at <= {{ dbt.dateadd('day', days, 'as_of') }}
                then projected_expired_minor
            else 0
        end) as bigint) as projected_breakage_{{ days }}d_minor
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from projected
    group by 1
),

-- the subscription running at as_of, else the user's latest one
user_subscription as (
    select
        ranked.user_id,
        ranked.plan_id,
        ranked.status,
        ranked.is_running
    from (
        select
            subscriptions.user_id,
            subscriptions.plan_id,
            subscriptions.status,
            subscriptions.starts_at <= as_of.as_of
            and coalesce(subscriptions.ends_at > as_of.as_of, true) as is_running,
            row_number() over (
                partition by subscriptions.user_id
                order by
                    subscriptions.starts_at <= as_of.as_of
                    and coalesce(subscriptions.ends_at > as_of.as_of, true) desc,
                    subscriptions.starts_at desc,
                    subscriptions.subscription_id desc
            ) as subscription_rank
        from subscriptions
        cross join as_of
        where subscriptions.starts_at <= as_of.as_of
    ) as ranked
    where ranked.subscription_rank = 1
),

signals as (
    select
        users.user_id,
        user_subscription.plan_id,
        plans.tier as plan_tier,
        coalesce(user_subscription.status, 'none') as subscription_status,
        coalesce(user_subscription.is_running, false) as has_running_subscription,
        usage_history.last_usage_date,
        {{ dbt.datediff(
            'coalesce(usage_history.last_usage_date, usage_history.first_activity_date)',
            'as_of_day.as_of_date', 'day') }} as idle_days,
        today.consumed_30d_milli as usage_30d_milli,
        coalesce(month_before.consumed_30d_milli, case when today.user_id is not null then 0 end)
            as usage_prior_30d_milli,
        today.closing_balance_milli as balance_milli,
        today.runway_days,
        coalesce(user_projection.open_lot_count, 0) as open_lot_count,
        user_projection.projected_depleted_at,
        coalesce(user_projection.projected_breakage_30d_milli, 0) as projected_breakage_30d_milli,
        coalesce(user_projection.projected_breakage_30d_minor, 0) as projected_breakage_30d_minor,
        coalesce(user_projection.projected_breakage_90d_milli, 0) as projected_breakage_90d_milli,
        coalesce(user_projection.projected_breakage_90d_minor, 0) as projected_breakage_90d_minor
    from users
    cross join as_of_day
    left join usage_history
        on users.user_id = usage_history.user_id
    left join today
        on users.user_id = today.user_id
    left join month_before
        on users.user_id = month_before.user_id
    left join user_projection
        on users.user_id = user_projection.user_id
    left join user_subscription
        on users.user_id = user_subscription.user_id
    left join plans
        on user_subscription.plan_id = plans.plan_id
),

final as (
    select
        user_id,
        plan_id,
        plan_tier,
        subscription_status,
        has_running_subscription,
        last_usage_date,
        cast(idle_days as bigint) as idle_days,
        cast(usage_30d_milli as bigint) as usage_30d_milli,
        cast(usage_prior_30d_milli as bigint) as usage_prior_30d_milli,
        balance_milli,
        runway_days,
        cast(open_lot_count as bigint) as open_lot_count,
        projected_depleted_at,
        projected_breakage_30d_milli,
        projected_breakage_30d_minor,
        projected_breakage_90d_milli,
        projected_breakage_90d_minor,
        {{ churn_risk('idle_days', 'usage_30d_milli', 'usage_prior_30d_milli') }} as churn_risk
    from signals
)

select * from final
