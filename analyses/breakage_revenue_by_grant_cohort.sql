-- Breakage in money by grant cohort: the lots of each promotion (the event
-- that granted them: welcome_bonus, referral_bonus, ...), purchases and plan
-- allocations, grouped by the period they were granted in, and what became
-- of them by as_of, in credits and in minor units:
--
--   value = usage revenue + breakage revenue + deferred (still open)
--
-- revenue as fct_revenue_recognition recognises it under the configured
-- breakage_method. Free credits (promotional: price 0 in the credit_prices
-- seed) carry no value, so their breakage is in credits only.
--
--   observed_breakage_rate  expired / granted, once nothing is open
--   expected_breakage_rate  the type's rate in the breakage_rates seed
--
-- vars:
--   breakage_revenue_cohort_grain   grant cohort grain: day, week, month,
--                                   quarter, year (default month)
--   breakage_revenue_credit_types   lot credit types analysed (default
--                                   promotional, purchase, allocation)

{%- set credit_types = var(
    'breakage_revenue_credit_types', ['promotional', 'purchase', 'allocation']
) %}

with lots as (
    select * from {{ ref('int_credit_lots') }}
),

transactions as (
    select * from {{ ref('fct_credit_transactions') }}
),

recognition as (
    select * from {{ ref('fct_revenue_recognition') }}
),

breakage_rates as (
    select * from {{ ref('breakage_rates') }}
),

lot_revenue as (
    select
        lot_id,
        sum(
            case when recognition_kind = 'breakage' then 0 else revenue_minor end
        ) as usage_revenue_minor,
        sum(
            case when recognition_kind = 'breakage' then revenue_minor else 0 end
        ) as breakage_revenue_minor
    from recognition
    group by lot_id
),

-- a lot is the ledger row that granted it: its event names the promotion
cohort_lots as (
    select
        lots.lot_id,
        lots.credit_type,
        coalesce(transactions.event_name, 'unknown') as grant_event_name,
        cast(
            {{ dbt.date_trunc(
                var('breakage_revenue_cohort_grain', 'month'), 'lots.granted_at'
            ) }} as date
        ) as grant_cohort,
        lots.granted_milli,
        lots.consumed_milli + lots.debt_repaid_milli as used_milli,
        lots.expired_milli,
        lots.remaining_milli,
        lots.value_minor,
        coalesce(lot_revenue.usage_revenue_minor, 0) as usage_revenue_minor,
        coalesce(lot_revenue.breakage_revenue_minor, 0) as breakage_revenue_minor,
        lots.is_value_estimated
    from lots
    left join transactions
        on lots.lot_id = transactions.credit_history_id
    left join lot_revenue
        on lots.lot_id = lot_revenue.lot_id
    where lots.credit_type in (
        {%- for credit_type in credit_types %}
        '{{ credit_type }}'{% if not loop.last %},{% endif %}
        {%- endfor %}
    )
),

cohort_totals as (
    select
        credit_type,
        grant_event_name,
        grant_cohort,
        count(*) as lot_count,
        sum(granted_milli) as granted_milli,
        sum(used_milli) as used_milli,
        sum(expired_milli) as expired_milli,
        sum(remaining_milli) as open_milli,
        sum(value_minor) as value_minor,
        sum(usage_revenue_minor) as usage_revenue_minor,
        sum(breakage_revenue_minor) as breakage_revenue_minor,
        sum(case when is_value_estimated then 1 else 0 end) as estimated_value_lot_count
    from cohort_lots
    group by credit_type, grant_event_name, grant_cohort
),

final as (
    select
        cohort_totals.credit_type,
        cohort_totals.grant_event_name,
        cohort_totals.grant_cohort,
        cohort_totals.lot_count,
        cast(cohort_totals.granted_milli as bigint) as granted_milli,
        cast(cohort_totals.used_milli as bigint) as used_milli,
        cast(cohort_totals.expired_milli as bigint) as expired_milli,
        cast(cohort_totals.open_milli as bigint) as open_milli,
        {{ to_credits('cohort_totals.granted_milli') }} as granted_credits,
        {{ to_credits('cohort_totals.expired_milli') }} as expired_credits,
        cast(cohort_totals.value_minor as bigint) as value_minor,
        cast(cohort_totals.usage_revenue_minor as bigint) as usage_revenue_minor,
        cast(cohort_totals.breakage_revenue_minor as bigint) as breakage_revenue_minor,
        cast(
            cohort_totals.value_minor
            - cohort_totals.usage_revenue_minor
            - cohort_totals.breakage_revenue_minor
            as bigint
        ) as deferred_minor,
        cohort_totals.estimated_value_lot_count,
        -- final only once nothing is open, like fct_breakage_cohorts
        case
            when cohort_totals.open_milli = 0
                then cast(cohort_totals.expired_milli as double) / cohort_totals.granted_milli
        end as observed_breakage_rate,
        -- what expired so far, open credits counted in the denominator
        cast(cohort_totals.expired_milli as double)
        / cohort_totals.granted_milli as expired_share_to_date,
        coalesce(breakage_rates.breakage_rate, 0) as expected_breakage_rate,
        case
            when cohort_totals.value_minor > 0
                then
                    cast(cohort_totals.breakage_revenue_minor as double)
                    / cohort_totals.value_minor
        end as breakage_share_of_value
    from cohort_totals
    left join breakage_rates
        on cohort_totals.credit_type = breakage_rates.credit_type
)

select * from final
order by credit_type asc, grant_event_name asc, grant_cohort asc
