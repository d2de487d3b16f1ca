-- The daily mart adds up: each day closing = opening + granted - consumed -
-- penalty - expired, each opening is the previous day's closing (0 on the
-- user's first day), history_days counts the days from the user's first (1
-- on it), no day is missing, and the last closing equals the user's lot
-- balance in the reconciliation mart.
--
-- An incremental run checks the days it could have rewritten
-- (macros/test_scope.sql): every day of the users it recomputed, and the
-- days carried forward for everyone else; the day before those is read as
-- their previous day, not checked itself.

with daily as (
    select
        *,
        {{ in_test_scope_of('fct_burn_rate_daily') }} as is_checked,
        lag(closing_balance_milli) over (
            partition by user_id order by activity_date
        ) as previous_closing_milli,
        lag(history_days) over (
            partition by user_id order by activity_date
        ) as previous_history_days,
        lag(activity_date) over (
            partition by user_id order by activity_date
        ) as previous_date,
        row_number() over (
            partition by user_id order by activity_date desc
        ) as days_from_end
    from {{ ref('fct_burn_rate_daily') }}
    where {{ in_test_scope_of('fct_burn_rate_daily', days_before=1) }}
),

-- read whole: the days carried forward for a user not recomputed must end
-- on that user's (unchanged) lot balance
reconciliation as (
    select * from {{ ref('fct_ledger_reconciliation') }}
),

broken_days as (
    select
        user_id,
        activity_date,
        'identity' as problem
    from daily
    where
        is_checked
        and (
            closing_balance_milli
            != opening_balance_milli + granted_milli - consumed_milli
            - penalty_milli - expired_milli
            or opening_balance_milli != coalesce(previous_closing_milli, 0)
            or history_days != coalesce(previous_history_days + 1, 1)
            or activity_date != coalesce(
                {{ dbt.dateadd('day', 1, 'previous_date') }}, activity_date
            )
        )
),

broken_ends as (
    select
        daily.user_id,
        daily.activity_date,
        'final balance' as problem
    from daily
    left join reconciliation
        on daily.user_id = reconciliation.user_id
    where
        daily.days_from_end = 1
        and daily.closing_balance_milli
        is distinct from reconciliation.lot_balance_milli
)

select * from broken_days
union all
select * from broken_ends
