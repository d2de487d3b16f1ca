-- One row per user and calendar day (UTC), from the user's first ledger row
-- to as_of. Missing days are rows with zeros, so rolling averages count them.
--
--   closing = opening + granted - consumed - penalty - expired
--
-- The balance here is the spendable (lot) balance: the ledger balance less
-- credits that expired by rule. At as_of it equals the lot balance of
-- int_credit_lots (open lots - unfunded debt); both are tested.
--
-- Incremental: affected users (int_affected_users) are rebuilt whole; every
-- other user only gains the days as_of moved over, carried forward from
-- their last day (by definition nothing happened to them in between).
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook=[
            "{{ delete_affected_users() }}",
            "{{ delete_days_after_as_of() }}",
        ],
        on_schema_change='fail',
    )
}}
-- depends_on: {{ ref('int_affected_users') }}

with transactions as (
    select * from {{ ref('fct_credit_transactions') }}
    where {{ is_affected_user() }}
),

lots as (
    select * from {{ ref('int_credit_lots') }}
    where {{ is_affected_user() }}
),

as_of as (
    select {{ ledger_as_of() }} as as_of
),

in_window as (
    select transactions.*
    from transactions
    cross join as_of
    where transactions.occurred_at <= as_of.as_of
),

daily_activity as (
    select
        user_id,
        occurred_date as activity_date,
        sum(case when transaction_kind = 'grant' then amount_milli else 0 end)
            as granted_milli,
        sum(case when transaction_kind = 'usage' then -amount_milli else 0 end)
            as consumed_milli,
        sum(case when transaction_kind = 'penalty' then -amount_milli else 0 end)
            as penalty_milli,
        count(*) filter (where transaction_kind = 'usage') as usage_count
    from in_window
    group by user_id, occurred_date
),

-- a lot's left-over leaves the balance on the day it expires; a lot that
-- expired on arrival leaves on the day it arrived
expiring_lots as (
    select
        user_id,
        expired_milli,
        cast(greatest(expires_at, granted_at) as date) as activity_date
    from lots
    where expired_milli > 0
),

daily_expiry as (
    select
        user_id,
        activity_date,
        sum(expired_milli) as expired_milli
    from expiring_lots
    group by user_id, activity_date
),

user_spans as (
    select
        user_id,
        min(occurred_date) as first_activity_date
    from in_window
    group by user_id
),

calendar as (
    select date_day
    from {{ date_series(
        '(select min(occurred_date) from in_window)',
        '(select as_of from as_of)'
    ) }}
),

spine as (
    select
        user_spans.user_id,
        calendar.date_day as activity_date
    from user_spans
    inner join calendar
        on user_spans.first_activity_date <= calendar.date_day
),

filled as (
    select
        spine.user_id,
        spine.activity_date,
        coalesce(daily_activity.granted_milli, 0) as granted_milli,
        coalesce(daily_activity.consumed_milli, 0) as consumed_milli,
        coalesce(daily_activity.penalty_milli, 0) as penalty_milli,
        coalesce(daily_expiry.expired_milli, 0) as expired_milli,
        coalesce(daily_activity.usage_count, 0) as usage_count
    from spine
    left join daily_activity
        on
            spine.user_id = daily_activity.user_id
            and spine.activity_date = daily_activity.activity_date
    left join daily_expiry
        on
            spine.user_id = daily_expiry.user_id
            and spine.activity_date = daily_expiry.activity_date
),

rebuilt as (
    select
        user_id,
        activity_date,
        granted_milli,
        consumed_milli,
        penalty_milli,
        expired_milli,
        usage_count,
        sum(granted_milli - consumed_milli - penalty_milli - expired_milli)
            over (
                partition by user_id order by activity_date
                rows between unbounded preceding and current row
            ) as closing_balance_milli,
        {{ trailing_sum('consumed_milli', 7) }} as consumed_7d_milli,
        {{ trailing_sum('consumed_milli', 30) }} as consumed_30d_milli
    from filled
),

{% if is_incremental() %}
-- users not rebuilt: their rows so far stay; they gain the new days
kept_end as (
    select max(activity_date) as last_date from {{ this }}
),

new_days as (
    select date_day
    from {{ date_series(
        dbt.dateadd('day', 1, '(select last_date from kept_end)'),
        '(select as_of from as_of)'
    ) }}
),

recent_days as (
    select
        kept.user_id,
        kept.activity_date,
        kept.consumed_milli,
        kept.closing_balance_milli
    from {{ this }} as kept
    cross join kept_end
    where kept.activity_date > {{ dbt.dateadd('day', -30, 'kept_end.last_date') }}
),

carried_days as (
    select
        recent_days.user_id,
        new_days.date_day as activity_date,
        0 as consumed_milli,
        recent_days.closing_balance_milli
    from recent_days
    cross join kept_end
    cross join new_days
    where recent_days.activity_date = kept_end.last_date
),

carried_windows as (
    select
        user_id,
        activity_date,
        closing_balance_milli,
        {{ trailing_sum('consumed_milli', 7) }} as consumed_7d_milli,
        {{ trailing_sum('consumed_milli', 30) }} as consumed_30d_milli
    from (
        select * from recent_days
        union all
        select * from carried_days
    ) as history
),

carried as (
    select
        carried_windows.user_id,
        carried_windows.activity_date,
        0 as granted_milli,
        0 as consumed_milli,
        0 as penalty_milli,
        0 as expired_milli,
        0 as usage_count,
        carried_windows.closing_balance_milli,
        carried_windows.consumed_7d_milli,
        carried_windows.consumed_30d_milli
    from carried_windows
    cross join kept_end
    where carried_windows.activity_date > kept_end.last_date
),

daily as (
    select * from rebuilt
    union all
    select * from carried
),
{% else %}
daily as (
    select * from rebuilt
),
{% endif %}

final as (
    select
        user_id,
        cast(granted_milli as bigint) as granted_milli,
        cast(consumed_milli as bigint) as consumed_milli,
        cast(penalty_milli as bigint) as penalty_milli,
        cast(expired_milli as bigint) as expired_milli,
        cast(
            closing_balance_milli
            - (granted_milli - consumed_milli - penalty_milli - expired_milli)
            as bigint
        ) as opening_balance_milli,
        cast(closing_balance_milli as bigint) as closing_balance_milli,
        {{ to_credits('consumed_milli') }} as consumed_credits,
        {{ to_credits('closing_balance_milli') }} as closing_balance_credits,
        -- days before the user's first row, and days without usage, count
        -- as zero: the sums are always divided by the full window
        cast(consumed_7d_milli as double) / 7 as consumed_7d_avg_milli,
        cast(consumed_30d_milli as double) / 30 as consumed_30d_avg_milli,
        case
            when closing_balance_milli <= 0 then 0.0
            when consumed_30d_milli > 0
                then closing_balance_milli / (cast(consumed_30d_milli as double) / 30)
        end as runway_days,
        cast(usage_count as bigint) as usage_count,
        activity_date
    from daily
)

select * from final
