-- Deferred revenue roll-forward: one row per month and credit type.
--   closing = opening + billed - usage revenue - breakage revenue
--   opening = the previous month's closing (0 before the first grant)
-- billed is the value of the lots granted in the month; usage revenue
-- counts consumption and debt repayment (fct_revenue_recognition). The last
-- closing is the value still deferred at as_of: the liability for credits
-- sold and not yet used or expired. Months run from the type's first grant
-- to the month of as_of; a month with nothing in it and nothing deferred
-- has no row.

with lots as (
    select * from {{ ref('int_credit_lots') }}
),

recognition as (
    select * from {{ ref('fct_revenue_recognition') }}
),

as_of as (
    select {{ ledger_as_of() }} as as_of
),

billed as (
    select
        credit_type,
        {{ month_start('granted_at') }} as month_start,
        cast(sum(value_minor) as bigint) as billed_minor
    from lots
    group by 1, 2
),

recognised as (
    select
        credit_type,
        {{ month_start('recognised_at') }} as month_start,
        cast(sum(
            case when recognition_kind = 'breakage' then 0 else revenue_minor end
        ) as bigint) as usage_revenue_minor,
        cast(sum(
            case when recognition_kind = 'breakage' then revenue_minor else 0 end
        ) as bigint) as breakage_revenue_minor
    from recognition
    group by 1, 2
),

first_months as (
    select
        credit_type,
        min(month_start) as first_month
    from billed
    group by 1
),

-- every month from the type's first grant to as_of
months as (
    select distinct
        first_months.credit_type,
        {{ month_start('calendar_days.date_day') }} as month_start
    from first_months
    cross join {{ date_series(
        '(select min(first_month) from first_months)',
        '(select as_of from as_of)'
    ) }} as calendar_days
    where calendar_days.date_day >= first_months.first_month
),

movements as (
    select
        months.credit_type,
        months.month_start,
        coalesce(billed.billed_minor, 0) as billed_minor,
        coalesce(recognised.usage_revenue_minor, 0) as usage_revenue_minor,
        coalesce(recognised.breakage_revenue_minor, 0) as breakage_revenue_minor
    from months
    left join billed
        on
            months.credit_type = billed.credit_type
            and months.month_start = billed.month_start
    left join recognised
        on
            months.credit_type = recognised.credit_type
            and months.month_start = recognised.month_start
),

rolled as (
    select
        *,
        cast(sum(billed_minor - usage_revenue_minor - breakage_revenue_minor) over (
            partition by credit_type
            order by month_start
            rows between unbounded preceding and current row
        ) as bigint) as closing_deferred_minor
    from movements
),

final as (
    select
        month_start,
        credit_type,
        closing_deferred_minor
        - (billed_minor - usage_revenue_minor - breakage_revenue_minor)
            as opening_deferred_minor,
        billed_minor,
        usage_revenue_minor,
        breakage_revenue_minor,
        closing_deferred_minor
    from rolled
)

select * from final
where
    opening_deferred_minor != 0
    or closing_deferred_minor != 0
    or billed_minor != 0
    or usage_revenue_minor != 0
    or breakage_revenue_minor != 0
