-- Revenue recognition (contract section 9): one row per event that turns
-- part of a lot's value into revenue.
--   usage           a debit consumed credits of the lot, at the debit's time
--   debt_repayment  the lot paid back an earlier debit's debt, at the lot's
--                   grant (it pays for service already delivered)
--   breakage        what was left of the lot expired, at its expiry (at its
--                   grant for a lot expired on arrival)
-- A lot's steps are walked in the order the FIFO walk took its credits:
-- repayments (oldest debit first), then consumptions in ledger order, expiry
-- last. Each step recognises the rounded cumulative revenue after it minus
-- the one before it, so a lot's rows never drift from its value:
--   value = usage + debt_repayment + breakage revenue + deferred (still open)
-- The usage revenue after `used` credits is value x used / granted, or under
-- `breakage_method: proportional` min(value, value x used / (granted x (1 -
-- r))) with r the type's expected breakage rate; breakage takes the rest.
-- Rebuilt whole each run: the method and the rates are read here, not
-- stored upstream.

with lots as (
    select * from {{ ref('int_credit_lots') }}
),

allocations as (
    select * from {{ ref('int_credit_allocations') }}
    where lot_id is not null
),

transactions as (
    select * from {{ ref('fct_credit_transactions') }}
),

subscriptions as (
    select * from {{ ref('stg_ledger__subscriptions') }}
),

breakage_rates as (
    select
        credit_type,
        {{ to_millionths('breakage_rate') }} as breakage_rate_ppm
    from {{ ref('breakage_rates') }}
),

usage_steps as (
    select
        allocations.lot_id,
        allocations.debit_id,
        case allocations.allocation_kind
            when 'consumption' then 'usage'
            else 'debt_repayment'
        end as recognition_kind,
        -- the debit's time for consumption, the lot's for a repayment
        allocations.allocated_at as recognised_at,
        allocations.amount_milli as credits_milli,
        -- repayments come first: they happen when the lot arrives
        case allocations.allocation_kind when 'debt_repayment' then 0 else 1 end
            as step_group,
        debits.occurred_at as debit_occurred_at,
        debits.service_name,
        debits.creditable_type,
        debits.creditable_id,
        debits.plan_id as debit_plan_id
    from allocations
    inner join transactions as debits
        on allocations.debit_id = debits.credit_history_id
),

breakage_steps as (
    select
        lot_id,
        cast(null as bigint) as debit_id,
        'breakage' as recognition_kind,
        -- a lot expired on arrival expires when it is granted
        case when is_expired_on_arrival then granted_at else expires_at end
            as recognised_at,
        expired_milli as credits_milli,
        2 as step_group,
        cast(null as timestamp) as debit_occurred_at,
        cast(null as {{ type_text() }}) as service_name,
        cast(null as {{ type_text() }}) as creditable_type,
        cast(null as bigint) as creditable_id,
        cast(null as bigint) as debit_plan_id
    from lots
    where expired_milli > 0
),

steps as (
    select * from usage_steps
    union all
    select * from breakage_steps
),

walked as (
    select
        steps.*,
        -- bigint on every engine (Spark counts in int)
        cast(row_number() over lot_walk as bigint) as lot_step,
        cast(sum(steps.credits_milli) over lot_walk as bigint) as cumulative_credits_milli,
        cast(sum(
            case when steps.recognition_kind = 'breakage' then 0 else steps.credits_milli end
        ) over lot_walk as bigint) as cumulative_used_milli
    from steps
    window lot_walk as (
        partition by steps.lot_id
        order by steps.step_group, steps.debit_occurred_at, steps.debit_id
        rows between unbounded preceding and current row
    )
),

recognised as (
    select
        walked.*,
        lots.user_id,
        lots.credit_type,
        lots.granted_at,
        lots.plan_id as lot_plan_id,
        lots.value_minor,
        coalesce(breakage_rates.breakage_rate_ppm, 0) as breakage_rate_ppm,
        case
            when walked.recognition_kind = 'breakage' then lots.value_minor
            else {{ usage_revenue_minor(
                'lots.value_minor', 'walked.cumulative_used_milli',
                'lots.granted_milli', 'coalesce(breakage_rates.breakage_rate_ppm, 0)'
            ) }}
        end as cumulative_revenue_minor,
        -- the cumulative figure before this step (no second window: the
        -- used credits before it are known)
        {{ usage_revenue_minor(
            'lots.value_minor',
            "walked.cumulative_used_milli - case when walked.recognition_kind = 'breakage' "
            ~ "then 0 else walked.credits_milli end",
            'lots.granted_milli', 'coalesce(breakage_rates.breakage_rate_ppm, 0)'
        ) }} as previous_revenue_minor
    from walked
    inner join lots
        on walked.lot_id = lots.lot_id
    left join breakage_rates
        on lots.credit_type = breakage_rates.credit_type
),

breakage_plans as (
    select
        lot_id,
        user_id,
        recognised_at
    from recognised
    where recognition_kind = 'breakage'
),

final as (
    select
        recognised.lot_id,
        recognised.lot_step,
        recognised.user_id,
        recognised.debit_id,
        recognised.recognised_at,
        cast(recognised.recognised_at as date) as recognised_date,
        recognised.recognition_kind,
        recognised.credits_milli,
        recognised.cumulative_revenue_minor - recognised.previous_revenue_minor
            as revenue_minor,
        recognised.cumulative_credits_milli,
        recognised.cumulative_revenue_minor,
        recognised.credit_type,
        recognised.service_name,
        recognised.creditable_type,
        recognised.creditable_id,
        -- the user's plan at the recognition time: the debit's for usage,
        -- the lot's grant for a repayment, looked up at expiry for breakage
        case recognised.recognition_kind
            when 'usage' then recognised.debit_plan_id
            when 'debt_repayment' then recognised.lot_plan_id
            else breakage_plan.plan_id
        end as plan_id
    from recognised
    left join {{ plan_at_time('breakage_plans', 'lot_id', 'recognised_at', 'subscriptions') }}
        as breakage_plan
        on
            recognised.lot_id = breakage_plan.lot_id
            and recognised.recognition_kind = 'breakage'
)

select * from final
