-- Breakage of promotional credits by signup cohort: of the promotional lots
-- (welcome and referral bonuses) granted to the users who signed up in a
-- period, how much was used (consumed or used to repay debt), how much
-- expired unused (breakage) and how much is still open at as_of.
--
--   breakage_ratio          expired / granted
--   settled_breakage_ratio  expired / (used + expired): lots still open
--                           are left out, so young cohorts are not flattered
--
-- vars:
--   breakage_cohort_grain  signup cohort grain: day, week, month, quarter,
--                          year (default month)
--   breakage_credit_type   lot credit type analysed (default promotional)

with lots as (
    select * from {{ ref('int_credit_lots') }}
),

users as (
    select * from {{ ref('dim_users') }}
),

user_cohorts as (
    select
        user_id,
        cast(
            {{ dbt.date_trunc(var('breakage_cohort_grain', 'month'), 'signup_date') }}
            as date
        ) as signup_cohort
    from users
),

cohort_sizes as (
    select
        signup_cohort,
        count(*) as cohort_user_count
    from user_cohorts
    group by signup_cohort
),

cohort_lots as (
    select
        lots.lot_id,
        lots.user_id,
        user_cohorts.signup_cohort,
        lots.granted_milli,
        lots.consumed_milli + lots.debt_repaid_milli as used_milli,
        lots.expired_milli,
        lots.remaining_milli
    from lots
    left join user_cohorts
        on lots.user_id = user_cohorts.user_id
    where lots.credit_type = '{{ var("breakage_credit_type", "promotional") }}'
),

cohort_totals as (
    select
        signup_cohort,
        count(distinct user_id) as granted_user_count,
        count(*) as lot_count,
        sum(granted_milli) as granted_milli,
        sum(used_milli) as used_milli,
        sum(expired_milli) as expired_milli,
        sum(remaining_milli) as remaining_milli
    from cohort_lots
    group by signup_cohort
),

final as (
    select
        cohort_totals.signup_cohort,
        cohort_sizes.cohort_user_count,
        cohort_totals.granted_user_count,
        cohort_totals.lot_count,
        cast(cohort_totals.granted_milli as bigint) as granted_milli,
        cast(cohort_totals.used_milli as bigint) as used_milli,
        cast(cohort_totals.expired_milli as bigint) as expired_milli,
        cast(cohort_totals.remaining_milli as bigint) as remaining_milli,
        {{ to_credits('cohort_totals.granted_milli') }} as granted_credits,
        {{ to_credits('cohort_totals.expired_milli') }} as expired_credits,
        case
            when cohort_totals.granted_milli > 0
                then cast(cohort_totals.expired_milli as double) / cohort_totals.granted_milli
        end as breakage_ratio,
        case
            when cohort_totals.used_milli + cohort_totals.expired_milli > 0
                then
                    cast(cohort_totals.expired_milli as double)
                    / (cohort_totals.used_milli + cohort_totals.expired_milli)
        end as settled_breakage_ratio
    from cohort_totals
    left join cohort_sizes
        on cohort_totals.signup_cohort = cohort_sizes.signup_cohort
)

select * from final
order by signup_cohort nulls last
