-- The FIFO state a resumed user carries into this run (int_affected_users:
-- users who only gained rows after their last processed one), as events
-- for the FIFO kernel, read from the previous run's lots and pieces:
--   * each lot with credits left that can still be drawn after the user's
--     last processed row (not expired by then): a grant of what is left,
--     with the lot's own id, grant time and expiry, so that it keeps its
--     place in the consumption order;
--   * each debt still unpaid (an `unfunded` piece): a debit of what is
--     unpaid, with the debit's own id and time.
-- Replaying these before the new rows gives the same pieces as replaying
-- the user's whole history: an open lot and an unpaid debt never coexist
-- (a new lot repays debt before it opens), so the replayed grants repay
-- nothing and the replayed debits find no lot. The previous unfunded pieces
-- are deleted by int_credit_allocations and replaced by what the kernel
-- emits for these debits (repayments, and what is still unfunded).
-- Empty on a full refresh.
-- depends_on: {{ ref('int_affected_users') }}

{%- set previous_lots = adapter.get_relation(
    database=this.database, schema=this.schema, identifier='int_credit_lots') %}
{%- set previous_pieces = adapter.get_relation(
    database=this.database, schema=this.schema,
    identifier='int_credit_allocations') %}

{% if not is_full_refresh() and previous_lots is not none
    and previous_pieces is not none %}
with resumed as (
    select
        user_id,
        resume_after_at
    from {{ ref('int_affected_users') }}
    where not is_rebuilt
),

open_lots as (
    select
        lots.lot_id as credit_history_id,
        lots.user_id,
        lots.credit_type,
        lots.remaining_milli + lots.expired_milli as amount_milli,
        lots.granted_at as occurred_at,
        lots.expires_at
    from {{ previous_lots }} as lots
    inner join resumed
        on lots.user_id = resumed.user_id
    where
        lots.remaining_milli + lots.expired_milli > 0
        and (lots.expires_at is null or lots.expires_at > resumed.resume_after_at)
),

unpaid_debts as (
    select
        pieces.debit_id as credit_history_id,
        pieces.user_id,
        cast(null as {{ type_text() }}) as credit_type,
        -pieces.amount_milli as amount_milli,
        pieces.allocated_at as occurred_at,
        cast(null as timestamp) as expires_at
    from {{ previous_pieces }} as pieces
    inner join resumed
        on pieces.user_id = resumed.user_id
    where pieces.allocation_kind = 'unfunded'
),

final as (
    select * from open_lots
    union all
    select * from unpaid_debts
)
{% else %}
with final as (
    select
        cast(null as bigint) as credit_history_id,
        cast(null as bigint) as user_id,
        cast(null as {{ type_text() }}) as credit_type,
        cast(null as bigint) as amount_milli,
        cast(null as timestamp) as occurred_at,
        cast(null as timestamp) as expires_at
    where false
)
{% endif %}

select * from final
