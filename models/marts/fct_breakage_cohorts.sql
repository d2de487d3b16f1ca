-- Observed breakage: one row per credit type and grant month (cohort).
-- What became of the cohort's credits by as_of: used (consumed or repaying
-- debt), expired, or still open. Once nothing is open the cohort's
-- breakage is final: observed_breakage_rate = expired / granted, the
-- evidence for the breakage_rates seed (null while credits are open).

with lots as (
    select * from {{ ref('int_credit_lots') }}
),

breakage as (
    select * from {{ ref('fct_revenue_recognition') }}
    where recognition_kind = 'breakage'
),

cohorts as (
    select
        lots.credit_type,
        {{ month_start('lots.granted_at') }} as grant_month,
        count(*) as lot_count,
        sum(lots.granted_milli) as granted_milli,
        sum(lots.consumed_milli + lots.debt_repaid_milli) as used_milli,
        sum(lots.expired_milli) as expired_milli,
        sum(lots.remaining_milli) as open_milli,
        sum(lots.value_minor) as value_minor,
        sum(coalesce(breakage.revenue_minor, 0)) as breakage_minor
    from lots
    left join breakage
        on lots.lot_id = breakage.lot_id
    group by 1, 2
),

final as (
    select
        credit_type,
        grant_month,
        cast(lot_count as bigint) as lot_count,
        cast(granted_milli as bigint) as granted_milli,
        cast(used_milli as bigint) as used_milli,
        cast(expired_milli as bigint) as expired_milli,
        cast(open_milli as bigint) as open_milli,
        cast(value_minor as bigint) as value_minor,
        cast(breakage_minor as bigint) as breakage_minor,
        case
            when open_milli = 0
                then cast(expired_milli as {{ type_float() }}) / cast(granted_milli as {{ type_float() }})
        end as observed_breakage_rate
    from cohorts
)

select * from final
