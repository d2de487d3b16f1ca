-- The monthly deferred revenue roll-forward agrees with the lots and the
-- recognition rows: opening = the previous month's closing (0 in the first),
-- months are consecutive, billed is the value of the month's lots, usage and
-- breakage revenue are the month's recognition rows, and the last closing
-- of each credit type is the value its lots still defer at as_of.
-- (closing = opening + billed - usage - breakage is a generic test.)

with roll_forward as (
    select * from {{ ref('fct_deferred_revenue_monthly') }}
),

lots as (
    select * from {{ ref('int_credit_lots') }}
),

recognition as (
    select * from {{ ref('fct_revenue_recognition') }}
),

chained as (
    select
        month_start,
        credit_type,
        opening_deferred_minor,
        lag(closing_deferred_minor) over by_month as previous_closing_minor,
        lag(month_start) over by_month as previous_month_start
    from roll_forward
    window by_month as (partition by credit_type order by month_start)
),

-- rows may be left out only when nothing happened and nothing was deferred
broken_chain as (
    select
        'opening is not the previous closing' as problem,
        credit_type,
        month_start
    from chained
    where opening_deferred_minor != coalesce(previous_closing_minor, 0)
),

expected_months as (
    select
        credit_type,
        {{ month_start('granted_at') }} as month_start,
        sum(value_minor) as billed_minor,
        0 as usage_revenue_minor,
        0 as breakage_revenue_minor
    from lots
    group by 1, 2
    union all
    select
        credit_type,
        {{ month_start('recognised_at') }} as month_start,
        0 as billed_minor,
        sum(case when recognition_kind != 'breakage' then revenue_minor else 0 end)
            as usage_revenue_minor,
        sum(case when recognition_kind = 'breakage' then revenue_minor else 0 end)
            as breakage_revenue_minor
    from recognition
    group by 1, 2
),

expected as (
    select
        credit_type,
        month_start,
        sum(billed_minor) as billed_minor,
        sum(usage_revenue_minor) as usage_revenue_minor,
        sum(breakage_revenue_minor) as breakage_revenue_minor
    from expected_months
    group by 1, 2
),

different_totals as (
    select
        'month totals differ from lots and recognition' as problem,
        coalesce(expected.credit_type, roll_forward.credit_type) as credit_type,
        coalesce(expected.month_start, roll_forward.month_start) as month_start
    from expected
    full outer join roll_forward
        on
            expected.credit_type = roll_forward.credit_type
            and expected.month_start = roll_forward.month_start
    where
        coalesce(expected.billed_minor, 0) != coalesce(roll_forward.billed_minor, 0)
        or coalesce(expected.usage_revenue_minor, 0)
        != coalesce(roll_forward.usage_revenue_minor, 0)
        or coalesce(expected.breakage_revenue_minor, 0)
        != coalesce(roll_forward.breakage_revenue_minor, 0)
),

recognised as (
    select
        lot_id,
        sum(revenue_minor) as revenue_minor
    from recognition
    group by 1
),

deferred_at_as_of as (
    select
        lots.credit_type,
        sum(lots.value_minor - coalesce(recognised.revenue_minor, 0)) as deferred_minor
    from lots
    left join recognised
        on lots.lot_id = recognised.lot_id
    group by 1
),

last_closing as (
    select
        credit_type,
        month_start,
        closing_deferred_minor
    from roll_forward
    where month_start = (select max(last_rows.month_start) from roll_forward as last_rows)
),

different_closing as (
    select
        'last closing is not the lots'' deferred value' as problem,
        coalesce(deferred_at_as_of.credit_type, last_closing.credit_type) as credit_type,
        last_closing.month_start
    from deferred_at_as_of
    full outer join last_closing
        on deferred_at_as_of.credit_type = last_closing.credit_type
    where
        coalesce(deferred_at_as_of.deferred_minor, 0)
        != coalesce(last_closing.closing_deferred_minor, 0)
)

select * from broken_chain
union all
select * from different_totals
union all
select * from different_closing
