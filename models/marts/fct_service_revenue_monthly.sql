-- Revenue and efficiency by service: one row per service and month of
-- recognition. Consumption and debt repayment pieces (fct_revenue_recognition)
-- are attributed to the service of the debit they paid for; penalties and
-- debits with no known service are `unattributed`. An item is one thing the
-- user made (creditable_type, creditable_id); per-item figures are rounded
-- half away from zero.

with recognition as (
    select * from {{ ref('fct_revenue_recognition') }}
    where recognition_kind != 'breakage'
),

monthly as (
    select
        coalesce(service_name, 'unattributed') as service_name,
        {{ month_start('recognised_at') }} as month_start,
        count(
            distinct
            case
                when creditable_id is not null
                    then concat(coalesce(creditable_type, ''), ':', cast(creditable_id as {{ type_text() }}))
            end
        ) as item_count,
        cast(count(*) as bigint) as piece_count,
        cast(sum(credits_milli) as bigint) as consumed_milli,
        cast(sum(revenue_minor) as bigint) as revenue_minor
    from recognition
    group by 1, 2
),

final as (
    select
        service_name,
        month_start,
        cast(item_count as bigint) as item_count,
        piece_count,
        consumed_milli,
        revenue_minor,
        case
            when item_count > 0
                then {{ round_ratio(['consumed_milli'], ['item_count']) }}
        end as credits_per_item_milli,
        case
            when item_count > 0 and revenue_minor >= 0
                then {{ round_ratio(['revenue_minor'], ['item_count']) }}
        end as revenue_per_item_minor
    from monthly
)

select * from final
