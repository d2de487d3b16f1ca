with source as (
    select * from {{ source('ledger', 'credit_events') }}
),

renamed as (
    select
        {{ parse_id('id') }} as credit_event_id,
        {{ zs_trim('name') }} as event_name,
        -- the app writes `usage`, `Usage`, ` usage`: compare normalised
        {{ normalise_code('event_type') }} as event_type,
        event_type as event_type_raw,
        {{ normalise_code('calculation_type') }} as calculation_type,
        {{ unparseable_columns({
            'id': parse_id('id'),
            'value': parse_float('value'),
            'min_amount': to_milli(parse_float('min_amount')),
            'created_at': parse_utc_timestamp('created_at'),
            'updated_at': parse_utc_timestamp('updated_at'),
        }) }} as unparseable_columns,
        case
            when {{ normalise_code('calculation_type') }} = 'fixed'
                then {{ to_milli(parse_float('value')) }}
        end as value_milli,
        case
            when {{ normalise_code('calculation_type') }} = 'percentage'
                then {{ parse_float('value') }}
        end as value_percent,
        {{ to_milli(parse_float('min_amount')) }} as min_amount_milli,
        {{ parse_utc_timestamp('created_at') }} as created_at,
        {{ parse_utc_timestamp('updated_at') }} as updated_at
    from source
)

select * from renamed
