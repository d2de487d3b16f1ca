with plans as (
    select * from {{ ref('stg_ledger__plans') }}
),

final as (
    select
        plan_id,
        plan_name,
        tier as plan_tier,
        billing_interval,
        unparseable_columns,
        monthly_credits_milli,
        {{ to_credits('monthly_credits_milli') }} as monthly_credits,
        price_minor_units,
        cast(
            cast(price_minor_units as double) / {{ var("currency_minor_units") }}
            as decimal(18, 2)
        ) as price,
        created_at
    from plans
)

select * from final
