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
        -- exact decimal arithmetic; staging keeps prices below 1e12
        cast(
            cast(price_minor_units as decimal(38, 0))
            * {{ 1 / var("currency_minor_units") }}
            as decimal(18, 2)
        ) as price,
        created_at
    from plans
)

select * from final
