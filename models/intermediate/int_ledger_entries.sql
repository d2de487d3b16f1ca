-- The clean ledger joined to its event and credit-type rule: one row per
-- clean credit_histories row, with the flags that need the event catalog
-- and, for rows that add credits, the lot's credit type and expiry.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_rebuilt_users() }}",
        on_schema_change='fail',
    )
}}
-- depends_on: {{ ref('int_affected_users') }}

-- incremental: rows of rebuilt users, and resumed users' new rows
with ledger as (
    select ledger_rows.* from {{ ref('stg_ledger__credit_histories') }} as ledger_rows
    {{ join_rows_to_compute('ledger_rows') }}
),

credit_events as (
    select * from {{ ref('stg_ledger__credit_events') }}
),

event_rules as (
    select * from {{ ref('int_credit_event_rules') }}
),

-- the rule for events missing from the catalog
fallback_rule as (
    select
        credit_type,
        expiry_days
    from event_rules
    where credit_event_id is null
),

with_rule as (
    select
        ledger.*,
        credit_events.event_name,
        credit_events.event_type,
        credit_events.credit_event_id is not null as is_known_event,
        -- an event missing from the catalog gets the default rule
        coalesce(by_event.credit_type, fallback.credit_type) as credit_type,
        case
            when by_event.credit_event_id is not null then by_event.expiry_days
            else fallback.expiry_days
        end as expiry_days
    from ledger
    left join credit_events
        on ledger.credit_event_id = credit_events.credit_event_id
    left join event_rules as by_event
        on ledger.credit_event_id = by_event.credit_event_id
    cross join fallback_rule as fallback
),

final as (
    select
        credit_history_id,
        user_id,
        credit_event_id,
        creditable_id,
        event_name,
        event_type,
        creditable_type,
        case when amount_milli > 0 then credit_type end as credit_type,
        description,
        amount_milli,
        previous_amount_milli,
        case when amount_milli > 0 then expiry_days end as expiry_days,
        case when amount_milli > 0 then meta_price_minor end as meta_price_minor,
        is_known_event,
        -- the sign of amount decides direction; a disagreeing event is flagged
        coalesce(
            (event_type in ('usage', 'penalty') and amount_milli > 0)
            or (event_type = 'bonus' and amount_milli < 0),
            false
        ) as has_sign_mismatch,
        has_sub_milli_precision,
        has_malformed_meta_data,
        has_invalid_meta_expires_at,
        has_unparseable_previous_amount,
        occurred_at,
        updated_at,
        -- a lot's expiry: meta_data.expires_at, else the rule's period,
        -- else never (null)
        case
            when amount_milli > 0
                then coalesce(
                    meta_expires_at,
                    {{ dbt.dateadd('day', 'expiry_days', 'occurred_at') }}
                )
        end as expires_at
    from with_rule
)

select * from final
