-- One row per lot: every ledger row that added credits up to as_of.
-- What happened to each lot comes from the FIFO pieces; what is left of it is
-- expired if the lot's expires_at has passed by as_of, else still open.
--   granted = consumed + debt_repaid + expired + remaining
-- Its value is what the customer paid for it (contract section 9): a
-- purchase's meta_data.price, an allocation's plan price pro rata, else the
-- credit type's list price (credit_prices); a purchase or allocation valued
-- at list price is flagged is_value_estimated.
--
-- Incremental: a rebuilt user's lots are deleted (pre-hook) and recomputed.
-- A resumed user keeps the lots nothing can change any more (used up, and
-- expired or not on both sides of the as_of move); the rest are rewritten
-- (delete+insert on lot_id): lots with credits left (new pieces may draw on
-- them), lots whose expiry as_of moved across, and the user's new lots.
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='lot_id',
        pre_hook="{{ delete_rebuilt_users() }}",
        on_schema_change='fail',
    )
}}
-- depends_on: {{ ref('int_affected_users') }}

with fifo_events as (
    select event_rows.* from {{ ref('int_fifo_events') }} as event_rows
    {{ join_rows_to_compute('event_rows') }}
),

allocations as (
    select * from {{ ref('int_credit_allocations') }}
    where {{ is_affected_user() }}
),

as_of as (
    select max(as_of) as as_of from {{ ref('int_fifo_events') }}
),

entries as (
    select * from {{ ref('int_ledger_entries') }}
    where amount_milli > 0 and {{ is_affected_user() }}
),

subscriptions as (
    select * from {{ ref('stg_ledger__subscriptions') }}
    where {{ is_affected_user() }}
),

plans as (
    select * from {{ ref('stg_ledger__plans') }}
),

credit_prices as (
    select
        credit_type,
        {{ to_millionths('price_per_credit') }} as price_per_credit_ppm
    from {{ ref('credit_prices') }}
),

new_lots as (
    select
        credit_history_id as lot_id,
        user_id,
        credit_type,
        occurred_at as granted_at,
        expires_at,
        amount_milli as granted_milli
    from fifo_events
    where amount_milli > 0
),

{% if is_incremental() %}
-- resumed users' earlier lots that may still change
reopened_lots as (
    select
        kept.lot_id,
        kept.user_id,
        kept.credit_type,
        kept.granted_at,
        kept.expires_at,
        kept.granted_milli
    from {{ this }} as kept
    inner join {{ ref('int_affected_users') }} as resumed
        on kept.user_id = resumed.user_id
    cross join as_of
    where
        not resumed.is_rebuilt
        and (
            -- new debits (after resume_after_at) may draw on it
            (
                kept.remaining_milli + kept.expired_milli > 0
                and coalesce(kept.expires_at > resumed.resume_after_at, true)
            )
            -- expired at one as_of and not at the other
            or kept.is_expired != coalesce(kept.expires_at <= as_of.as_of, false)
        )
),

lots as (
    select * from new_lots
    union all
    select * from reopened_lots
),
{% else %}
lots as (
    select * from new_lots
),
{% endif %}

drawn as (
    select
        lot_id,
        cast(sum(
            case when allocation_kind = 'consumption' then amount_milli else 0 end
        ) as bigint) as consumed_milli,
        cast(sum(
            case when allocation_kind = 'debt_repayment' then amount_milli else 0 end
        ) as bigint) as debt_repaid_milli
    from allocations
    where lot_id in (select lots.lot_id from lots)
    group by lot_id
),

-- the price paid, where it is known: null when missing
paid as (
    select
        lots.lot_id,
        plan_at_time.plan_id,
        case
            when lots.credit_type = 'purchase'
                then entries.meta_price_minor
            when
                lots.credit_type = 'allocation'
                and plans.price_minor_units >= 0
                and plans.monthly_credits_milli > 0
                and plans.billing_interval in ('month', 'year')
                -- the plan's monthly price x granted / monthly credits; a
                -- yearly price is for twelve months' credits
                then {{ round_ratio(
                    ['plans.price_minor_units', 'lots.granted_milli'],
                    ['plans.monthly_credits_milli',
                     "case when plans.billing_interval = 'year' then 12 else 1 end"]
                ) }}
        end as paid_minor
    from lots
    left join entries
        on lots.lot_id = entries.credit_history_id
    left join {{ plan_at_time('lots', 'lot_id', 'granted_at', 'subscriptions') }}
        as plan_at_time
        on lots.lot_id = plan_at_time.lot_id
    left join plans
        on plan_at_time.plan_id = plans.plan_id
),

valued as (
    select
        lots.lot_id,
        paid.plan_id,
        coalesce(
            paid.paid_minor,
            -- list price: currency units per credit (in millionths) x granted
            {{ round_ratio(
                ['coalesce(credit_prices.price_per_credit_ppm, 0)',
                 var('currency_minor_units'), 'lots.granted_milli'],
                [1000000, var('credit_scale')]
            ) }}
        ) as value_minor,
        case
            when paid.paid_minor is not null
                then
                    case when lots.credit_type = 'purchase' then 'meta_price' else 'plan_price' end
            else 'list_price'
        end as value_source,
        paid.paid_minor is null
        and lots.credit_type in ('purchase', 'allocation') as is_value_estimated
    from lots
    inner join paid
        on lots.lot_id = paid.lot_id
    left join credit_prices
        on lots.credit_type = credit_prices.credit_type
),

settled as (
    select
        lots.*,
        valued.plan_id,
        valued.value_minor,
        valued.value_source,
        valued.is_value_estimated,
        coalesce(drawn.consumed_milli, 0) as consumed_milli,
        coalesce(drawn.debt_repaid_milli, 0) as debt_repaid_milli,
        lots.granted_milli
        - coalesce(drawn.consumed_milli, 0)
        - coalesce(drawn.debt_repaid_milli, 0) as left_milli,
        coalesce(lots.expires_at <= as_of.as_of, false) as is_expired
    from lots
    cross join as_of
    inner join valued
        on lots.lot_id = valued.lot_id
    left join drawn
        on lots.lot_id = drawn.lot_id
),

final as (
    select
        lot_id,
        user_id,
        credit_type,
        granted_milli,
        consumed_milli,
        debt_repaid_milli,
        case when is_expired then left_milli else 0 end as expired_milli,
        case when is_expired then 0 else left_milli end as remaining_milli,
        is_expired,
        coalesce(expires_at <= granted_at, false) as is_expired_on_arrival,
        granted_at,
        expires_at,
        plan_id,
        value_minor,
        value_source,
        is_value_estimated
    from settled
)

select * from final
