-- Top consumers per service: for each service (creditable_type), the users
-- who consumed the most credits through usage debits in a time window, with
-- their share of the service's consumption.
--
-- vars:
--   top_consumers_n      users listed per service (default 10)
--   top_consumers_from   first UTC day counted, inclusive (default: all history)
--   top_consumers_to     last UTC day counted, inclusive (default: all history)

with transactions as (
    select * from {{ ref('fct_credit_transactions') }}
),

users as (
    select * from {{ ref('dim_users') }}
),

usage_rows as (
    select
        user_id,
        coalesce(creditable_type, 'unknown') as creditable_type,
        service_name,
        -amount_milli as consumed_milli,
        occurred_at
    from transactions
    where
        transaction_kind = 'usage'
        and occurred_date >= cast('{{ var("top_consumers_from", "1970-01-01") }}' as date)
        and occurred_date <= cast('{{ var("top_consumers_to", "9999-12-31") }}' as date)
),

user_service_usage as (
    select
        user_id,
        creditable_type,
        max(service_name) as service_name,
        sum(consumed_milli) as consumed_milli,
        count(*) as usage_count,
        min(occurred_at) as first_used_at,
        max(occurred_at) as last_used_at
    from usage_rows
    group by user_id, creditable_type
),

ranked as (
    select
        user_id,
        creditable_type,
        service_name,
        consumed_milli,
        usage_count,
        first_used_at,
        last_used_at,
        row_number() over (
            partition by creditable_type
            order by consumed_milli desc, user_id asc
        ) as consumer_rank,
        sum(consumed_milli) over (partition by creditable_type) as service_consumed_milli,
        count(*) over (partition by creditable_type) as service_user_count
    from user_service_usage
),

final as (
    select
        ranked.creditable_type,
        ranked.service_name,
        ranked.consumer_rank,
        ranked.user_id,
        users.plan_tier as current_plan_tier,
        users.email_domain,
        cast(ranked.consumed_milli as bigint) as consumed_milli,
        {{ to_credits('ranked.consumed_milli') }} as consumed_credits,
        ranked.usage_count,
        ranked.service_user_count,
        cast(ranked.consumed_milli as double) / ranked.service_consumed_milli
            as share_of_service,
        ranked.first_used_at,
        ranked.last_used_at
    from ranked
    left join users
        on ranked.user_id = users.user_id
    where ranked.consumer_rank <= {{ var('top_consumers_n', 10) }}
)

select * from final
order by creditable_type, consumer_rank
