-- Per lot: value = recognised usage + debt repayment + breakage + deferred,
-- every part >= 0, an expired lot has nothing deferred, and the recognition
-- rows' credits are the lot's consumed, repaid and expired credits.

with lots as (
    select * from {{ ref('int_credit_lots') }}
),

recognition as (
    select
        lot_id,
        sum(revenue_minor) as revenue_minor,
        sum(case when recognition_kind = 'usage' then credits_milli else 0 end)
            as consumed_milli,
        sum(case when recognition_kind = 'debt_repayment' then credits_milli else 0 end)
            as debt_repaid_milli,
        sum(case when recognition_kind = 'breakage' then credits_milli else 0 end)
            as expired_milli,
        min(revenue_minor) as smallest_step_minor
    from {{ ref('fct_revenue_recognition') }}
    group by lot_id
),

checked as (
    select
        lots.lot_id,
        lots.value_minor,
        coalesce(recognition.revenue_minor, 0) as recognised_minor,
        lots.value_minor - coalesce(recognition.revenue_minor, 0) as deferred_minor,
        lots.is_expired,
        lots.consumed_milli != coalesce(recognition.consumed_milli, 0)
        or lots.debt_repaid_milli != coalesce(recognition.debt_repaid_milli, 0)
        or lots.expired_milli != coalesce(recognition.expired_milli, 0) as credits_differ,
        coalesce(recognition.smallest_step_minor, 0) as smallest_step_minor
    from lots
    left join recognition
        on lots.lot_id = recognition.lot_id
)

select * from checked
where
    deferred_minor < 0
    or (is_expired and deferred_minor != 0)
    or credits_differ
    or smallest_step_minor < 0
