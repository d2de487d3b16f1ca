with source as (
    select * from {{ source('ledger', 'subscriptions') }}
),

renamed as (
    select
        {{ parse_id('id') }} as subscription_id,
        {{ parse_id('user_id') }} as user_id,
        {{ parse_id('plan_id') }} as plan_id,
        {{ normalise_code('status') }} as status,
        {{ unparseable_columns({
            'id': parse_id('id'),
            'user_id': parse_id('user_id'),
            'plan_id': parse_id('plan_id'),
            'starts_at': parse_utc_timestamp('starts_at'),
            'ends_at': parse_utc_timestamp('ends_at'),
            'canceled_at': parse_utc_timestamp('canceled_at'),
            'created_at': parse_utc_timestamp('created_at'),
        }) }} as unparseable_columns,
        {{ parse_utc_timestamp('ends_at') }} is null as is_open,
        {{ parse_utc_timestamp('starts_at') }} as starts_at,
        {{ parse_utc_timestamp('ends_at') }} as ends_at,
        {{ parse_utc_timestamp('canceled_at') }} as canceled_at,
        {{ parse_utc_timestamp('created_at') }} as created_at
    from source
)

select * from renamed
