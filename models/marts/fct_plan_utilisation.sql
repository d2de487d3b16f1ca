-- One row per plan and calendar month: how many users were subscribed, how
-- many credits the plan allocated that month, and what became of those
-- allocations (followed lot by lot through FIFO, whenever they were used).
-- An allocation belongs to the plan the user was on when it was granted.
--
-- Two ratios: utilisation_ratio is the current one (used / allocated over
-- every allocation, open ones included, so it still moves while lots are
-- open); settled_utilisation_ratio counts only the allocations that can no
-- longer change: nothing remains of them at as_of (used up or expired).

with transactions as (
    select * from {{ ref('fct_credit_transactions') }}
),

lots as (
    select * from {{ ref('int_credit_lots') }}
),

subscriptions as (
    select * from {{ ref('stg_ledger__subscriptions') }}
),

plans as (
    select * from {{ ref('stg_ledger__plans') }}
),

as_of as (
    select {{ ledger_as_of() }} as as_of
),

allocation_lots as (
    select
        transactions.plan_id,
        lots.user_id,
        lots.granted_milli,
        lots.consumed_milli,
        lots.debt_repaid_milli,
        lots.expired_milli,
        lots.remaining_milli,
        cast({{ dbt.date_trunc('month', 'lots.granted_at') }} as date) as month_start
    from lots
    inner join transactions
        on lots.lot_id = transactions.credit_history_id
    where
        lots.credit_type = 'allocation'
        and transactions.plan_id is not null
),

allocated as (
    select
        plan_id,
        month_start,
        count(*) as allocation_count,
        sum(granted_milli) as allocated_milli,
        sum(consumed_milli + debt_repaid_milli) as used_milli,
        sum(expired_milli) as expired_milli,
        sum(remaining_milli) as remaining_milli,
        count(*) filter (where remaining_milli = 0) as settled_allocation_count,
        sum(granted_milli) filter (where remaining_milli = 0) as settled_allocated_milli,
        sum(consumed_milli + debt_repaid_milli) filter (
            where remaining_milli = 0
        ) as settled_used_milli
    from allocation_lots
    group by plan_id, month_start
),

months as (
    select distinct cast({{ dbt.date_trunc('month', 'date_day') }} as date) as month_start
    from {{ date_series(
        '(select min(starts_at) from subscriptions)',
        '(select as_of from as_of)'
    ) }} as calendar_days
),

subscribers as (
    select
        subscriptions.plan_id,
        months.month_start,
        count(distinct subscriptions.user_id) as subscriber_count
    from subscriptions
    inner join months
        on
            subscriptions.starts_at
            < {{ dbt.dateadd('month', 1, 'months.month_start') }}
            and (
                subscriptions.ends_at is null
                or subscriptions.ends_at > months.month_start
            )
    group by subscriptions.plan_id, months.month_start
),

plan_months as (
    select
        plan_id,
        month_start
    from subscribers
    union
    select
        plan_id,
        month_start
    from allocated
),

final as (
    select
        plan_months.plan_id,
        plans.plan_name,
        plans.tier as plan_tier,
        cast(coalesce(subscribers.subscriber_count, 0) as bigint) as subscriber_count,
        cast(coalesce(allocated.allocation_count, 0) as bigint) as allocation_count,
        cast(coalesce(allocated.allocated_milli, 0) as bigint) as allocated_milli,
        cast(coalesce(allocated.used_milli, 0) as bigint) as used_milli,
        cast(coalesce(allocated.expired_milli, 0) as bigint) as expired_milli,
        cast(coalesce(allocated.remaining_milli, 0) as bigint) as remaining_milli,
        {{ to_credits('coalesce(allocated.allocated_milli, 0)') }} as allocated_credits,
        {{ to_credits('coalesce(allocated.used_milli, 0)') }} as used_credits,
        case
            when allocated.allocated_milli > 0
                then cast(allocated.used_milli as {{ type_float() }}) / allocated.allocated_milli
        end as utilisation_ratio,
        cast(coalesce(allocated.settled_allocation_count, 0) as bigint)
            as settled_allocation_count,
        cast(coalesce(allocated.settled_allocated_milli, 0) as bigint)
            as settled_allocated_milli,
        cast(coalesce(allocated.settled_used_milli, 0) as bigint) as settled_used_milli,
        case
            when allocated.settled_allocated_milli > 0
                then
                    cast(allocated.settled_used_milli as {{ type_float() }})
                    / allocated.settled_allocated_milli
        end as settled_utilisation_ratio,
        plan_months.month_start
    from plan_months
    left join plans
        on plan_months.plan_id = plans.plan_id
    left join subscribers
        on
            plan_months.plan_id = subscribers.plan_id
            and plan_months.month_start = subscribers.month_start
    left join allocated
        on
            plan_months.plan_id = allocated.plan_id
            and plan_months.month_start = allocated.month_start
)

select * from final
