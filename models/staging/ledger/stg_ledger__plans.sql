with source as (
    select * from {{ source('ledger', 'plans') }}
),

renamed as (
    select
        {{ parse_id('id') }} as plan_id,
        {{ zs_trim('name') }} as plan_name,
        {{ normalise_code('tier') }} as tier,
        {{ normalise_code('billing_interval') }} as billing_interval,
        {{ unparseable_columns({
            'id': parse_id('id'),
            'monthly_credits': to_milli(parse_float('monthly_credits')),
            'price': parse_float('price'),
            'created_at': parse_utc_timestamp('created_at'),
        }) }} as unparseable_columns,
        {{ to_milli(parse_float('monthly_credits')) }} as monthly_credits_milli,
        -- a price of a trillion or more (currency units) is not a plan
        -- price: null, like an unparseable one, rather than a failed cast
        {{ to_minor_units(parse_float('price')) }} as price_minor_units,
        {{ parse_utc_timestamp('created_at') }} as created_at
    from source
)

select * from renamed
