-- Users. The email is personal data: it stops here. Downstream models get a
-- one-way hash (to join or count distinct people) and the domain.

with source as (
    select * from {{ source('ledger', 'users') }}
),

renamed as (
    select
        {{ parse_id('id') }} as user_id,
        {{ parse_id('plan_id') }} as plan_id,
        {{ hash_personal_data(normalise_code('email')) }} as email_hash,
        split_part({{ normalise_code('email') }}, '@', 2) as email_domain,
        -- present but unparseable values, by source column (null: none)
        {{ unparseable_columns({
            'id': parse_id('id'),
            'plan_id': parse_id('plan_id'),
            'credits': to_milli(parse_float('credits')),
            'monthly_credits': to_milli(parse_float('monthly_credits')),
            'created_at': parse_utc_timestamp('created_at'),
            'updated_at': parse_utc_timestamp('updated_at'),
            'deleted_at': parse_utc_timestamp('deleted_at'),
        }) }} as unparseable_columns,
        {{ to_milli(parse_float('credits')) }} as credits_snapshot_milli,
        {{ to_milli(parse_float('monthly_credits')) }} as monthly_credits_milli,
        -- the app's balance snapshot cannot be compared with the ledger
        nullif({{ zs_trim('cast(credits as ' ~ type_text() ~ ')') }}, '') is not null
        and {{ to_milli(parse_float('credits')) }} is null as has_unparseable_credits,
        {{ parse_utc_timestamp('deleted_at') }} is not null as is_deleted,
        {{ parse_utc_timestamp('created_at') }} as created_at,
        {{ parse_utc_timestamp('updated_at') }} as updated_at,
        {{ parse_utc_timestamp('deleted_at') }} as deleted_at
    from source
)

select * from renamed
