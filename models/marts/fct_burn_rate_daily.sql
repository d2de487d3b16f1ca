-- One row per user and calendar day (UTC), from the user's first ledger row
-- to as_of. Missing days are rows with zeros, so rolling averages count them.
--
--   closing = opening + granted - consumed - penalty - expired
--
-- The balance here is the spendable (lot) balance: the ledger balance less
-- credits that expired by rule. At as_of it equals the lot balance of
-- int_credit_lots (open lots - unfunded debt); both are tested.
--
-- Incremental: rebuilt users (int_affected_users) are recomputed from their
-- first day. Every other user keeps their days before a restart day and has
-- the rest recomputed from the kept days: the restart day is the earlier of
-- the two as_of dates (the previous build's last day, which may have been
-- partial), or for a resumed user the day of their first new row if earlier.
-- The opening balance and the rolling windows continue from the kept days.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_daily_rows_to_recompute() }}",
        on_schema_change='fail',
    )
}}
-- depends_on: {{ ref('int_affected_users') }}
-- depends_on: {{ ref('int_ledger_as_of') }}

with transactions as (
    select * from {{ ref('fct_credit_transactions') }}
    where {{ is_rebuilt_user() }}
),

lots as (
    select * from {{ ref('int_credit_lots') }}
    where {{ is_rebuilt_user() }}
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
        {{ transaction_sums() }}
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
-- users not rebuilt: their days from the restart day on are recomputed
window_start as (
    select cast(least(coalesce(previous_as_of, as_of), as_of) as date) as restart_date
    from {{ ref('int_ledger_as_of') }}
),

restarts as (
    select
        affected.user_id,
        affected.resume_from_date as restart_date
    from {{ ref('int_affected_users') }} as affected
    where not affected.is_rebuilt
),

rebuilt_users as (
    select rebuilt.user_id
    from {{ ref('int_affected_users') }} as rebuilt
    where rebuilt.is_rebuilt
),

earliest_restart as (
    select
        least(
            (select min(restarts.restart_date) from restarts),
            (select window_start.restart_date from window_start)
        ) as restart_date
),

-- the kept days the recomputed ones continue from (after the pre-hook
-- deleted the days to recompute, a user's kept days end the day before
-- their restart day)
kept_days as (
    select
        kept.user_id,
        kept.activity_date,
        kept.consumed_milli,
        kept.closing_balance_milli
    from {{ this }} as kept
    where kept.activity_date >= (
        select {{ dbt.dateadd('day', -30, 'earliest_restart.restart_date') }}
        from earliest_restart
    )
),

-- every user with days to recompute: kept days before the restart, a
-- resumed user, or rows since the restart (a user whose days all lie after
-- it); rebuilt users are done above
user_restarts as (
    select
        candidates.user_id,
        coalesce(restarts.restart_date, window_start.restart_date) as restart_date,
        candidates.user_id in (select kept_days.user_id from kept_days) as has_kept_days
    from (
        select kept_days.user_id from kept_days
        union
        select resumed.user_id from restarts as resumed
        union
        select since_restart.user_id
        from {{ ref('fct_credit_transactions') }} as since_restart
        where
            since_restart.occurred_date
            >= (select window_start.restart_date from window_start)
            and since_restart.user_id
            not in (select rebuilt_users.user_id from rebuilt_users)
    ) as candidates
    cross join window_start
    left join restarts
        on candidates.user_id = restarts.user_id
),

recent_transactions as (
    select recent.*
    from {{ ref('fct_credit_transactions') }} as recent
    inner join user_restarts
        on recent.user_id = user_restarts.user_id
    cross join as_of
    where
        recent.occurred_date
        >= (select earliest_restart.restart_date from earliest_restart)
        and recent.occurred_date >= user_restarts.restart_date
        and recent.occurred_at <= as_of.as_of
),

recent_activity as (
    select
        user_id,
        occurred_date as activity_date,
        {{ transaction_sums() }}
    from recent_transactions
    group by user_id, occurred_date
),

recent_expiry as (
    select
        expiring.user_id,
        cast(greatest(expiring.expires_at, expiring.granted_at) as date) as activity_date,
        sum(expiring.expired_milli) as expired_milli
    from {{ ref('int_credit_lots') }} as expiring
    inner join user_restarts
        on expiring.user_id = user_restarts.user_id
    where
        expiring.expired_milli > 0
        and cast(greatest(expiring.expires_at, expiring.granted_at) as date)
        >= user_restarts.restart_date
    group by
        expiring.user_id,
        cast(greatest(expiring.expires_at, expiring.granted_at) as date)
),

-- each user's recomputed days: from the restart day (or their first
-- activity, for a user without kept days) to as_of
first_recent_days as (
    select
        user_id,
        min(activity_date) as first_date
    from recent_activity
    group by user_id
),

recent_spans as (
    select
        user_restarts.user_id,
        case
            when user_restarts.has_kept_days then user_restarts.restart_date
            else first_recent_days.first_date
        end as first_date
    from user_restarts
    left join first_recent_days
        on user_restarts.user_id = first_recent_days.user_id
),

recent_calendar as (
    select date_day
    from {{ date_series(
        '(select restart_date from earliest_restart)',
        '(select as_of from as_of)'
    ) }}
),

recent_filled as (
    select
        recent_spans.user_id,
        recent_calendar.date_day as activity_date,
        coalesce(recent_activity.granted_milli, 0) as granted_milli,
        coalesce(recent_activity.consumed_milli, 0) as consumed_milli,
        coalesce(recent_activity.penalty_milli, 0) as penalty_milli,
        coalesce(recent_expiry.expired_milli, 0) as expired_milli,
        coalesce(recent_activity.usage_count, 0) as usage_count
    from recent_spans
    inner join recent_calendar
        on recent_spans.first_date <= recent_calendar.date_day
    left join recent_activity
        on
            recent_spans.user_id = recent_activity.user_id
            and recent_calendar.date_day = recent_activity.activity_date
    left join recent_expiry
        on
            recent_spans.user_id = recent_expiry.user_id
            and recent_calendar.date_day = recent_expiry.activity_date
),

-- the kept day before each user's restart: the opening balance
carried_balances as (
    select
        kept_days.user_id,
        kept_days.closing_balance_milli
    from kept_days
    inner join user_restarts
        on
            kept_days.user_id = user_restarts.user_id
            and kept_days.activity_date
            = {{ dbt.dateadd('day', -1, 'user_restarts.restart_date') }}
),

recent_balances as (
    select
        recent_filled.*,
        coalesce(carried_balances.closing_balance_milli, 0)
        + sum(
            recent_filled.granted_milli - recent_filled.consumed_milli
            - recent_filled.penalty_milli - recent_filled.expired_milli
        ) over (
            partition by recent_filled.user_id order by recent_filled.activity_date
            rows between unbounded preceding and current row
        ) as closing_balance_milli
    from recent_filled
    left join carried_balances
        on recent_filled.user_id = carried_balances.user_id
),

-- the rolling windows run over the kept days' usage, then the recomputed days
recent_windows as (
    select
        history.*,
        {{ trailing_sum('consumed_milli', 7) }} as consumed_7d_milli,
        {{ trailing_sum('consumed_milli', 30) }} as consumed_30d_milli
    from (
        select
            user_id,
            activity_date,
            0 as granted_milli,
            consumed_milli,
            0 as penalty_milli,
            0 as expired_milli,
            0 as usage_count,
            closing_balance_milli,
            false as is_recomputed
        from kept_days
        union all
        select
            user_id,
            activity_date,
            granted_milli,
            consumed_milli,
            penalty_milli,
            expired_milli,
            usage_count,
            closing_balance_milli,
            true as is_recomputed
        from recent_balances
    ) as history
),

recomputed as (
    select
        user_id,
        activity_date,
        granted_milli,
        consumed_milli,
        penalty_milli,
        expired_milli,
        usage_count,
        closing_balance_milli,
        consumed_7d_milli,
        consumed_30d_milli
    from recent_windows
    where is_recomputed
),

daily as (
    select * from rebuilt
    union all
    select * from recomputed
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
