-- Users for BI, without personal data in clear: the email is a hash and a
-- domain. Plan attributes are today's plan; use fct_credit_transactions for
-- the plan at the time of an event.

with users as (
    select * from {{ ref('stg_ledger__users') }}
),

plans as (
    select * from {{ ref('stg_ledger__plans') }}
),

user_balances as (
    select * from {{ ref('int_user_balances') }}
),

final as (
    select
        users.user_id,
        users.plan_id,
        users.email_hash,
        users.email_domain,
        plans.plan_name,
        plans.tier as plan_tier,
        users.unparseable_columns,
        users.monthly_credits_milli,
        users.credits_snapshot_milli,
        cast(coalesce(user_balances.ledger_row_count, 0) as bigint) as ledger_row_count,
        users.is_deleted,
        cast(users.created_at as date) as signup_date,
        users.created_at,
        users.deleted_at,
        user_balances.last_occurred_at as last_ledger_row_at
    from users
    left join plans
        on users.plan_id = plans.plan_id
    left join user_balances
        on users.user_id = user_balances.user_id
)

select * from final
