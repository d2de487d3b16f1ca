-- The event catalog with the credit type and expiry period a grant of each
-- event gets.

with credit_events as (
    select * from {{ ref('stg_ledger__credit_events') }}
),

event_rules as (
    select * from {{ ref('int_credit_event_rules') }}
),

final as (
    select
        credit_events.credit_event_id,
        credit_events.event_name,
        credit_events.event_type,
        credit_events.event_type_raw,
        credit_events.calculation_type,
        event_rules.credit_type,
        credit_events.value_milli,
        credit_events.value_percent,
        credit_events.min_amount_milli,
        event_rules.expiry_days,
        credit_events.created_at,
        credit_events.updated_at
    from credit_events
    left join event_rules
        on credit_events.credit_event_id = event_rules.credit_event_id
)

select * from final
