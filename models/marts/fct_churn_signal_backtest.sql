-- Does the churn risk rule predict cancellations? One row per month start
-- and risk level: the users with a subscription running at the month start,
-- their risk by the rule of fct_user_credit_health evaluated with only the
-- days before the month start (no look-ahead), and how many of them cancelled
-- in the next 30 days (a plan change is not a cancellation). Months whose
-- next 30 days are not all before as_of are left out (their outcome is not
-- known yet).

with burn as (
    select * from {{ ref('fct_burn_rate_daily') }}
),

subscriptions as (
    select * from {{ ref('stg_ledger__subscriptions') }}
),

as_of as (
    select {{ ledger_as_of() }} as as_of
),

first_day as (
    select min(activity_date) as first_date from burn
),

month_starts as (
    select distinct {{ month_start('calendar_days.date_day') }} as month_start
    from {{ date_series(
        '(select first_day.first_date from first_day)',
        '(select as_of.as_of from as_of)'
    ) }} as calendar_days
),

evaluated_months as (
    select
        month_starts.month_start,
        -- the rule sees the days before the month start: the burn-rate
        -- windows of the day before it end at the month start
        {{ dbt.dateadd('day', -1, 'month_starts.month_start') }} as evaluated_on
    from month_starts
    cross join as_of
    cross join first_day
    where
        month_starts.month_start > first_day.first_date
        and {{ dbt.dateadd('day', 30, 'month_starts.month_start') }} <= as_of.as_of
),

-- per user: the days the rule reads (evaluation days and 30 days before)
-- and the days with usage, each with the latest day with usage so far;
-- the other days are never read, so the window skips them
usage_days as (
    select
        user_id,
        activity_date,
        consumed_30d_milli,
        max(case when consumed_milli > 0 then activity_date end) over (
            partition by user_id
            order by activity_date
            rows between unbounded preceding and current row
        ) as last_usage_date
    from burn
    where
        consumed_milli > 0
        or activity_date in (select evaluated_months.evaluated_on from evaluated_months)
        or activity_date in (
            select {{ dbt.dateadd('day', -30, 'evaluated_months.evaluated_on') }}
            from evaluated_months
        )
),

first_days as (
    select
        user_id,
        min(activity_date) as first_activity_date
    from burn
    group by 1
),

-- users with a subscription running at the month start
population as (
    select distinct
        evaluated_months.month_start,
        evaluated_months.evaluated_on,
        subscriptions.user_id
    from evaluated_months
    inner join subscriptions
        on
            evaluated_months.month_start >= subscriptions.starts_at
            and (
                subscriptions.ends_at is null
                or evaluated_months.month_start < subscriptions.ends_at
            )
            and (
                subscriptions.canceled_at is null
                or evaluated_months.month_start <= subscriptions.canceled_at
            )
),

-- a cancelled subscription the user did not replace: a plan change ends
-- the old one as cancelled and starts the next within a day
churned as (
    select
        cancelled.user_id,
        cancelled.canceled_at
    from subscriptions as cancelled
    where
        cancelled.canceled_at is not null
        and not exists (
            select 1
            from subscriptions as replacement
            where
                replacement.user_id = cancelled.user_id
                and replacement.subscription_id != cancelled.subscription_id
                and replacement.starts_at >= {{ dbt.dateadd(
                    'day', -1, 'coalesce(cancelled.ends_at, cancelled.canceled_at)'
                ) }}
                and replacement.starts_at <= {{ dbt.dateadd(
                    'day', 1, 'coalesce(cancelled.ends_at, cancelled.canceled_at)'
                ) }}
        )
),

cancellations as (
    select distinct
        evaluated_months.month_start,
        churned.user_id
    from evaluated_months
    inner join churned
        on
            evaluated_months.month_start <= churned.canceled_at
            and churned.canceled_at
            < {{ dbt.dateadd('day', 30, 'evaluated_months.month_start') }}
),

scored as (
    select
        population.month_start,
        population.user_id,
        {{ churn_risk(
            dbt.datediff(
                'coalesce(today.last_usage_date, first_days.first_activity_date)',
                'population.evaluated_on', 'day'),
            'today.consumed_30d_milli',
            'coalesce(month_before.consumed_30d_milli, 0)'
        ) }} as churn_risk,
        cancellations.user_id is not null as cancelled_next_30d
    from population
    left join usage_days as today
        on
            population.user_id = today.user_id
            and population.evaluated_on = today.activity_date
    left join usage_days as month_before
        on
            population.user_id = month_before.user_id
            and {{ dbt.dateadd('day', -30, 'population.evaluated_on') }}
            = month_before.activity_date
    left join first_days
        on
            population.user_id = first_days.user_id
            and today.user_id is not null
    left join cancellations
        on
            population.month_start = cancellations.month_start
            and population.user_id = cancellations.user_id
),

final as (
    select
        month_start,
        churn_risk,
        cast(count(*) as bigint) as users,  -- noqa: RF04
        cast(sum(case when cancelled_next_30d then 1 else 0 end) as bigint)
            as cancelled_next_30d,
        cast(sum(case when cancelled_next_30d then 1 else 0 end) as {{ type_float() }})
        / count(*) as cancellation_rate
    from scored
    group by 1, 2
)

select * from final
