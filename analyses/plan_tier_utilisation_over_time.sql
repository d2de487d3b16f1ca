-- Utilisation of plan allocations by plan tier over time: of the credits
-- allocated under each tier in a period, the share that was used (consumed
-- or used to repay debt, followed through FIFO up to as_of), expired, or is
-- still open; with the change against the tier's previous period.
--
--   utilisation_ratio = sum(used) / sum(allocated), not a mean of the plans'
--   monthly ratios, so large plans weigh by their allocations.
--
-- vars:
--   utilisation_grain  period: month, quarter or year (default month)

with plan_utilisation as (
    select * from {{ ref('fct_plan_utilisation') }}
),

tier_months as (
    select
        coalesce(plan_tier, 'unknown') as plan_tier,
        cast(
            {{ dbt.date_trunc(var('utilisation_grain', 'month'), 'month_start') }}
            as date
        ) as period_start,
        month_start,
        plan_id,
        subscriber_count,
        allocation_count,
        allocated_milli,
        used_milli,
        expired_milli,
        remaining_milli
    from plan_utilisation
),

tier_periods as (
    select
        plan_tier,
        period_start,
        count(distinct plan_id) as plan_count,
        count(distinct month_start) as month_count,
        sum(subscriber_count) as subscriber_months,
        sum(allocation_count) as allocation_count,
        sum(allocated_milli) as allocated_milli,
        sum(used_milli) as used_milli,
        sum(expired_milli) as expired_milli,
        sum(remaining_milli) as remaining_milli
    from tier_months
    group by plan_tier, period_start
),

ratios as (
    select
        *,
        case
            when allocated_milli > 0
                then cast(used_milli as double) / allocated_milli
        end as utilisation_ratio,
        case
            when allocated_milli > 0
                then cast(expired_milli as double) / allocated_milli
        end as expiry_ratio
    from tier_periods
),

final as (
    select
        plan_tier,
        period_start,
        plan_count,
        cast(subscriber_months as double) / month_count as avg_monthly_subscribers,
        cast(allocation_count as bigint) as allocation_count,
        cast(allocated_milli as bigint) as allocated_milli,
        cast(used_milli as bigint) as used_milli,
        cast(expired_milli as bigint) as expired_milli,
        cast(remaining_milli as bigint) as remaining_milli,
        {{ to_credits('allocated_milli') }} as allocated_credits,
        {{ to_credits('used_milli') }} as used_credits,
        utilisation_ratio,
        expiry_ratio,
        utilisation_ratio - lag(utilisation_ratio) over (
            partition by plan_tier order by period_start
        ) as utilisation_ratio_change
    from ratios
)

select * from final
order by plan_tier, period_start
