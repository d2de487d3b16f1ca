-- The service and cohort marts add up to the recognition rows and the lots:
-- per month, service revenue and credits equal the usage and debt repayment
-- rows; per credit type, cohort credits, value and breakage equal the lots'.

with recognition as (
    select * from {{ ref('fct_revenue_recognition') }}
),

lots as (
    select * from {{ ref('int_credit_lots') }}
),

services as (
    select
        month_start,
        sum(consumed_milli) as credits_milli,
        sum(revenue_minor) as revenue_minor
    from {{ ref('fct_service_revenue_monthly') }}
    group by 1
),

used as (
    select
        {{ month_start('recognised_at') }} as month_start,
        sum(credits_milli) as credits_milli,
        sum(revenue_minor) as revenue_minor
    from recognition
    where recognition_kind != 'breakage'
    group by 1
),

service_differences as (
    select
        'service revenue' as mart,
        cast(coalesce(used.month_start, services.month_start) as {{ type_text() }}) as grain
    from used
    full outer join services
        on used.month_start = services.month_start
    where
        coalesce(used.credits_milli, 0) != coalesce(services.credits_milli, 0)
        or coalesce(used.revenue_minor, 0) != coalesce(services.revenue_minor, 0)
),

cohorts as (
    select
        credit_type,
        sum(granted_milli) as granted_milli,
        sum(used_milli) as used_milli,
        sum(expired_milli) as expired_milli,
        sum(open_milli) as open_milli,
        sum(value_minor) as value_minor,
        sum(breakage_minor) as breakage_minor
    from {{ ref('fct_breakage_cohorts') }}
    group by 1
),

breakage as (
    select
        credit_type,
        sum(revenue_minor) as breakage_minor
    from recognition
    where recognition_kind = 'breakage'
    group by 1
),

lot_sums as (
    select
        credit_type,
        sum(granted_milli) as granted_milli,
        sum(consumed_milli + debt_repaid_milli) as used_milli,
        sum(expired_milli) as expired_milli,
        sum(remaining_milli) as open_milli,
        sum(value_minor) as value_minor
    from lots
    group by 1
),

lot_totals as (
    select
        lot_sums.*,
        coalesce(breakage.breakage_minor, 0) as breakage_minor
    from lot_sums
    left join breakage
        on lot_sums.credit_type = breakage.credit_type
),

cohort_differences as (
    select
        'breakage cohorts' as mart,
        coalesce(lot_totals.credit_type, cohorts.credit_type) as grain
    from lot_totals
    full outer join cohorts
        on lot_totals.credit_type = cohorts.credit_type
    where
        coalesce(lot_totals.granted_milli, 0) != coalesce(cohorts.granted_milli, 0)
        or coalesce(lot_totals.used_milli, 0) != coalesce(cohorts.used_milli, 0)
        or coalesce(lot_totals.expired_milli, 0) != coalesce(cohorts.expired_milli, 0)
        or coalesce(lot_totals.open_milli, 0) != coalesce(cohorts.open_milli, 0)
        or coalesce(lot_totals.value_minor, 0) != coalesce(cohorts.value_minor, 0)
        or coalesce(lot_totals.breakage_minor, 0) != coalesce(cohorts.breakage_minor, 0)
)

select * from service_differences
union all
select * from cohort_differences
