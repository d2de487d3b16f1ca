-- One row per user and calendar day (UTC), from the user's first ledger row
-- to as_of. Missing days are rows with zeros, so rolling averages count them.
-- The averages divide by the days the window covers since the user's first
-- day (history_days, capped at the window): a user with 3 days of history
-- has a 30-day average over those 3 days. consumed_30d_full_window_avg_milli
-- keeps the sum / 30 (days before the first row counted as zero).
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
-- The opening balance, history_days and the rolling windows continue from
-- the kept days (history_days: the last kept day's + the days since it, so
-- it does not depend on how far back the kept window reaches).
-- One pipeline serves both: a rebuilt user (every user on a full refresh)
-- has no restart day and no kept days.
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

with as_of as (
    select {{ ledger_as_of() }} as as_of
),

{% if is_incremental() %}
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
        kept.closing_balance_milli,
        kept.history_days
    from {{ this }} as kept
    where kept.activity_date >= (
        select {{ dbt.dateadd('day', -30, 'earliest_restart.restart_date') }}
        from earliest_restart
    )
),

-- every user with days to recompute and the first such day (null: from
-- their first activity): rebuilt users; users with kept days before the
-- restart; resumed users; users with rows since the restart (whose days
-- all lie after it)
recomputed_users as (
    select
        rebuilt_users.user_id,
        cast(null as date) as restart_date,
        false as has_kept_days
    from rebuilt_users
    union all
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

transactions as (
    select
        recent.*,
        recomputed_users.restart_date
    from {{ ref('fct_credit_transactions') }} as recent
    inner join recomputed_users
        on
            recent.user_id = recomputed_users.user_id
            and (
                recomputed_users.restart_date is null
                or recent.occurred_date >= recomputed_users.restart_date
            )
    -- (a cheap filter first: most rows are before every restart day)
    where
        recent.occurred_date
        >= (select earliest_restart.restart_date from earliest_restart)
        or recent.user_id in (select rebuilt_users.user_id from rebuilt_users)
),

lots as (
    select
        expiring.*,
        recomputed_users.restart_date
    from {{ ref('int_credit_lots') }} as expiring
    inner join recomputed_users
        on expiring.user_id = recomputed_users.user_id
    where expiring.expired_milli > 0
),

kept_users as (
    select
        recomputed_users.user_id,
        recomputed_users.restart_date
    from recomputed_users
    where recomputed_users.has_kept_days
),
{% else %}
kept_days as (
    select
        cast(null as bigint) as user_id,
        cast(null as date) as activity_date,
        cast(null as bigint) as consumed_milli,
        cast(null as bigint) as closing_balance_milli,
        cast(null as bigint) as history_days
    where false
),

transactions as (
    select
        *,
        cast(null as date) as restart_date
    from {{ ref('fct_credit_transactions') }}
),

lots as (
    select
        *,
        cast(null as date) as restart_date
    from {{ ref('int_credit_lots') }}
),

kept_users as (
    select
        cast(null as bigint) as user_id,
        cast(null as date) as restart_date
    where false
),
{% endif %}

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
        restart_date,
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
    where restart_date is null or activity_date >= restart_date
    group by user_id, activity_date
),

first_days as (
    select
        user_id,
        min(activity_date) as first_date
    from daily_activity
    group by user_id
),

-- each user's recomputed days: from the restart day when the user has kept
-- days before it, else from their first activity, to as_of
spans as (
    select
        coalesce(kept_users.user_id, first_days.user_id) as user_id,
        coalesce(kept_users.restart_date, first_days.first_date) as first_date
    from first_days
    full outer join kept_users
        on first_days.user_id = kept_users.user_id
),

calendar as (
    select date_day
    from {{ date_series(
        '(select min(spans.first_date) from spans)',
        '(select as_of from as_of)'
    ) }} as calendar_days
),

filled as (
    select
        spans.user_id,
        spans.first_date as span_start_date,
        calendar.date_day as activity_date,
        coalesce(daily_activity.granted_milli, 0) as granted_milli,
        coalesce(daily_activity.consumed_milli, 0) as consumed_milli,
        coalesce(daily_activity.penalty_milli, 0) as penalty_milli,
        coalesce(daily_expiry.expired_milli, 0) as expired_milli,
        coalesce(daily_activity.usage_count, 0) as usage_count
    from spans
    inner join calendar
        on spans.first_date <= calendar.date_day
    left join daily_activity
        on
            spans.user_id = daily_activity.user_id
            and calendar.date_day = daily_activity.activity_date
    left join daily_expiry
        on
            spans.user_id = daily_expiry.user_id
            and calendar.date_day = daily_expiry.activity_date
),

-- the last kept day of each user: the opening balance of the recomputed ones
-- and the count their history_days continue
carried_balances as (
    select
        user_id,
        activity_date,
        closing_balance_milli,
        history_days
    from (
        select
            *,
            row_number() over (
                partition by user_id order by activity_date desc
            ) as day_from_last
        from kept_days
    ) as ranked
    where day_from_last = 1
),

balances as (
    select
        filled.*,
        coalesce(carried_balances.closing_balance_milli, 0)
        + sum(
            filled.granted_milli - filled.consumed_milli
            - filled.penalty_milli - filled.expired_milli
        ) over (
            partition by filled.user_id order by filled.activity_date
            rows between unbounded preceding and current row
        ) as closing_balance_milli,
        coalesce(
            carried_balances.history_days
            + {{ dbt.datediff(
                'carried_balances.activity_date', 'filled.activity_date', 'day') }},
            {{ dbt.datediff(
                'filled.span_start_date', 'filled.activity_date', 'day') }} + 1
        ) as history_days
    from filled
    left join carried_balances
        on filled.user_id = carried_balances.user_id
),

-- the rolling windows run over the kept days' usage, then the recomputed days
windows as (
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
            history_days,
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
            history_days,
            true as is_recomputed
        from balances
    ) as history
),

daily as (
    select * from windows
    where is_recomputed
),

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
        cast(history_days as bigint) as history_days,
        -- days without usage count as zero; days before the user's first
        -- row do not exist: a window's sum is divided by the days of it
        -- the user has (history_days, capped at the window)
        cast(consumed_30d_milli as bigint) as consumed_30d_milli,
        cast(consumed_7d_milli as {{ type_float() }}) / least(7, history_days) as consumed_7d_avg_milli,
        cast(consumed_30d_milli as {{ type_float() }}) / least(30, history_days) as consumed_30d_avg_milli,
        cast(consumed_30d_milli as {{ type_float() }}) / 30 as consumed_30d_full_window_avg_milli,
        case
            when closing_balance_milli <= 0 then 0.0
            when consumed_30d_milli > 0
                then
                    cast(closing_balance_milli as {{ type_float() }}) * least(30, history_days)
                    / consumed_30d_milli
        end as runway_days,
        cast(usage_count as bigint) as usage_count,
        activity_date
    from daily
)

select * from final
