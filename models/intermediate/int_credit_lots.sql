-- One row per lot: every ledger row that added credits up to as_of.
-- What happened to each lot comes from the FIFO pieces; what is left of it is
-- expired if the lot's expires_at has passed by as_of, else still open.
--   granted = consumed + debt_repaid + expired + remaining
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_affected_users() }}",
        on_schema_change='fail',
    )
}}
-- depends_on: {{ ref('int_affected_users') }}

with fifo_events as (
    select * from {{ ref('int_fifo_events') }}
    where {{ is_affected_user() }}
),

allocations as (
    select * from {{ ref('int_credit_allocations') }}
    where {{ is_affected_user() }}
),

lots as (
    select
        credit_history_id as lot_id,
        user_id,
        credit_type,
        occurred_at as granted_at,
        expires_at,
        amount_milli as granted_milli,
        as_of
    from fifo_events
    where amount_milli > 0
),

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
    where lot_id is not null
    group by lot_id
),

settled as (
    select
        lots.*,
        coalesce(drawn.consumed_milli, 0) as consumed_milli,
        coalesce(drawn.debt_repaid_milli, 0) as debt_repaid_milli,
        lots.granted_milli
        - coalesce(drawn.consumed_milli, 0)
        - coalesce(drawn.debt_repaid_milli, 0) as left_milli,
        coalesce(lots.expires_at <= lots.as_of, false) as is_expired
    from lots
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
        expires_at
    from settled
)

select * from final
