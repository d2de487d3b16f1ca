-- One row per lot: every ledger row that added credits up to as_of.
-- What happened to each lot comes from the FIFO pieces; what is left of it is
-- expired if the lot's expires_at has passed by as_of, else still open.
--   granted = consumed + debt_repaid + expired + remaining
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

settled as (
    select
        lots.*,
        coalesce(drawn.consumed_milli, 0) as consumed_milli,
        coalesce(drawn.debt_repaid_milli, 0) as debt_repaid_milli,
        lots.granted_milli
        - coalesce(drawn.consumed_milli, 0)
        - coalesce(drawn.debt_repaid_milli, 0) as left_milli,
        coalesce(lots.expires_at <= as_of.as_of, false) as is_expired
    from lots
    cross join as_of
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
