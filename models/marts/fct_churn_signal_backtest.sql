-- Does the churn risk rule predict cancellations? One row per month start
-- and risk level: the users with a subscription running at the month start,
-- their risk by the rule of fct_user_credit_health evaluated with only the
-- days before the month start (no look-ahead), and how many of them cancelled
-- in the next 30 days. Months whose next 30 days are not all before as_of
-- are left out (their outcome is not known yet).

with burn as (
    select * from {{ ref('fct_burn_rate_daily') }}
),

subscriptions as (
    select * from {{ ref('stg_ledger__subscriptions') }}
),

as_of as (
    select {{ ledger_as_of() }} as as_of
),

month_starts as (
    select distinct {{ month_start('days.date_day') }} as month_start
    from {{ date_series('(select min(activity_date) from burn)', '(select as_of from as_of)') }}
        as days
),

evaluated_months as (
    select
        month_starts.month_start,
        -- the rule sees the days before the month start: the burn-rate
        -- windows of the day before it end at the month start
        {{ dbt.dateadd('day', -1, 'month_starts.month_start') }} as evaluated_on
    from month_starts
    cross join as_of
    where
        month_starts.month_start > (select min(activity_date) from burn)
        and {{ dbt.dateadd('day', 30, 'month_starts.month_start') }} <= as_of.as_of
),

-- per user and day: the latest day with usage so far
usage_days as (
    select
        user_id,
        activity_date,
        consumed_30d_milli,
        max(case when consumed_milli > 0 then activity_date end) over (
            partition by user_id
            order by activity_date
            rows between unbounded preceding and current row
        ) as last_usage_date,
        min(activity_date) over (partition by user_id) as first_activity_date
    from burn
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
            subscriptions.starts_at <= evaluated_months.month_start
            and (
                subscriptions.ends_at is null
                or subscriptions.ends_at > evaluated_months.month_start
            )
            and (
                subscriptions.canceled_at is null
                or subscriptions.canceled_at >= evaluated_months.month_start
            )
),

cancellations as (
    select distinct
        evaluated_months.month_start,
        subscriptions.user_id
    from evaluated_months
    inner join subscriptions
        on
            subscriptions.canceled_at >= evaluated_months.month_start
            and subscriptions.canceled_at
            < {{ dbt.dateadd('day', 30, 'evaluated_months.month_start') }}
),

scored as (
    select
        population.month_start,
        population.user_id,
        {{ churn_risk(
            dbt.datediff(
                'coalesce(today.last_usage_date, today.first_activity_date)',
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
    left join cancellations
        on
            population.month_start = cancellations.month_start
            and population.user_id = cancellations.user_id
),

final as (
    select
        month_start,
        churn_risk,
        cast(count(*) as bigint) as users,
        cast(sum(case when cancelled_next_30d then 1 else 0 end) as bigint)
            as cancelled_next_30d,
        cast(sum(case when cancelled_next_30d then 1 else 0 end) as double)
        / count(*) as cancellation_rate
    from scored
    group by 1, 2
)

select * from final
