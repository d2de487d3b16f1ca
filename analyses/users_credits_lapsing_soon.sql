-- Users whose credits will lapse soon: per user, the open lots that
-- fct_projected_expiry projects to expire (wholly or partly unused) within
-- the next N days after as_of, at the user's 30-day usage rate, with the
-- credits and the value (what the configured breakage_method would
-- recognise as breakage) projected to lapse, and the user's churn_risk and
-- signals from fct_user_credit_health. Candidates for a "use your credits"
-- reminder; a high churn_risk user with credits lapsing is a win-back case.
--
-- vars:
--   lapse_window_days  lots projected to expire within this many days after
--                      as_of (default 14)

{%- set window_days = var('lapse_window_days', 14) %}

with projected as (
    select * from {{ ref('fct_projected_expiry') }}
),

health as (
    select * from {{ ref('fct_user_credit_health') }}
),

users as (
    select * from {{ ref('dim_users') }}
),

lapsing_lots as (
    select *
    from projected
    where
        projected_expired_milli > 0
        and projected_expires_at
        <= {{ dbt.dateadd('day', window_days, 'as_of') }}
),

user_lapses as (
    select
        user_id,
        count(*) as lapsing_lot_count,
        sum(remaining_milli) as lapsing_lots_remaining_milli,
        sum(projected_used_milli) as projected_used_milli,
        sum(projected_expired_milli) as projected_expired_milli,
        sum(projected_expired_minor) as projected_expired_minor,
        min(projected_expires_at) as first_lapse_at,
        max(as_of) as as_of
    from lapsing_lots
    group by user_id
),

final as (
    select
        user_lapses.user_id,
        health.plan_id,
        health.plan_tier,
        health.subscription_status,
        health.churn_risk,
        users.email_domain,
        user_lapses.lapsing_lot_count,
        cast(user_lapses.lapsing_lots_remaining_milli as bigint)
            as lapsing_lots_remaining_milli,
        cast(user_lapses.projected_used_milli as bigint) as projected_used_milli,
        cast(user_lapses.projected_expired_milli as bigint) as projected_expired_milli,
        {{ to_credits('user_lapses.projected_expired_milli') }} as projected_expired_credits,
        cast(user_lapses.projected_expired_minor as bigint) as projected_expired_minor,
        health.balance_milli,
        health.usage_30d_milli,
        health.usage_prior_30d_milli,
        health.idle_days,
        health.runway_days,
        users.is_deleted,
        health.last_usage_date,
        user_lapses.first_lapse_at,
        user_lapses.as_of
    from user_lapses
    left join health
        on user_lapses.user_id = health.user_id
    left join users
        on user_lapses.user_id = users.user_id
)

select * from final
order by projected_expired_minor desc, projected_expired_milli desc, user_id asc
