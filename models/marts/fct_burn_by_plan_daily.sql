-- Credits burned per plan (at the time of use) and calendar day: the
-- dashboard aggregate, so BI does not re-aggregate the whole ledger.
-- Rebuilt whole each run: a user's rebuild can move rows between plans.

with transactions as (
    select * from {{ ref('fct_credit_transactions') }}
),

final as (
    select
        coalesce(plan_id, -1) as plan_id,
        occurred_date as activity_date,
        max(plan_tier) as plan_tier,
        cast(sum(case when transaction_kind = 'usage' then -amount_milli else 0 end) as bigint)
            as consumed_milli,
        cast(sum(case when transaction_kind = 'penalty' then -amount_milli else 0 end) as bigint)
            as penalty_milli,
        cast(sum(case when transaction_kind = 'grant' then amount_milli else 0 end) as bigint)
            as granted_milli,
        {{ to_credits("sum(case when transaction_kind = 'usage' then -amount_milli else 0 end)") }}
            as consumed_credits,
        count(*) filter (where transaction_kind = 'usage') as usage_count,
        count(distinct user_id) filter (where transaction_kind = 'usage') as active_user_count
    from transactions
    group by coalesce(plan_id, -1), occurred_date
)

select * from final
