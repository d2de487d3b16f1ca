-- The credit type and expiry period a grant gets, per credit event: the
-- credit_type_rules seed resolved against the catalog. A rule for the
-- event's name wins over one for its event type; the `default` rule catches
-- the rest. One extra row with a null credit_event_id carries the default
-- rule, for ledger rows whose event is not in the catalog.

with credit_events as (
    select * from {{ ref('stg_ledger__credit_events') }}
),

credit_type_rules as (
    select * from {{ ref('credit_type_rules') }}
),

fallback as (
    select
        credit_type,
        expiry_days
    from credit_type_rules
    where match_on = 'default'
),

resolved as (
    select
        credit_events.credit_event_id,
        credit_events.event_name,
        credit_events.event_type,
        coalesce(
            by_name.credit_type, by_type.credit_type, fallback.credit_type
        ) as credit_type,
        case
            when by_name.match_value is not null then by_name.expiry_days
            when by_type.match_value is not null then by_type.expiry_days
            else fallback.expiry_days
        end as expiry_days
    from credit_events
    left join credit_type_rules as by_name
        on
            by_name.match_on = 'event_name'
            and credit_events.event_name = by_name.match_value
    left join credit_type_rules as by_type
        on
            by_type.match_on = 'event_type'
            and credit_events.event_type = by_type.match_value
    cross join fallback
),

final as (
    select * from resolved
    union all
    select
        null as credit_event_id,
        null as event_name,
        null as event_type,
        credit_type,
        expiry_days
    from fallback
)

select * from final
