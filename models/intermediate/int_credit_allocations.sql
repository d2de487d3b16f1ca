-- FIFO lot depletion: which lot paid for which debit.
--
-- One row per (debit, lot) piece:
--   consumption     a debit took credits from an open lot, at the debit's time
--   debt_repayment  a later lot paid back what an earlier debit could not
--                   cover, at the lot's time
--   unfunded        debt still owed at as_of (no lot: lot_id is null)
-- A debit's pieces sum to its amount.
--
-- Why not set-based SQL: the consumption order is by expiry, and a lot
-- granted later can expire sooner, so which lot a debit draws from depends on
-- every earlier debit. The walk is sequential per user; it runs in
-- fifo_pieces() (macros/fifo_pieces.sql), per engine: on DuckDB
-- fifo_allocate(), a compiled kernel (credit_ledger/fifo.py) that the
-- dbt-duckdb plugin registers on the connection; on PostgreSQL a PL/pgSQL
-- function created at run start. Per user the kernel:
--   1. orders the user's rows by (occurred_at, credit_history_id);
--   2. at a debit, drops open lots with expires_at <= its time, then consumes
--      open lots by (expires_at, never-expiring last, granted_at, lot_id);
--      what is not covered becomes debt owed by that debit;
--   3. at a grant, skips it if it expired on arrival (expires_at <= granted_at),
--      else repays debt oldest debit first and opens the rest as a lot.
-- Users are independent, so the work partitions by user.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_rebuilt_users_and_unpaid_debts() }}",
        on_schema_change='fail',
    )
}}
-- depends_on: {{ ref('int_affected_users') }}
-- depends_on: {{ ref('int_fifo_carryover') }}

-- incremental: the rows of rebuilt users, and for resumed users their new
-- rows after the state carried over from the previous run (open lots and
-- unpaid debts, int_fifo_carryover); the previous unfunded pieces of
-- resumed users are deleted first (pre-hook): the kernel emits them again,
-- or their repayments
with fifo_events as (
    select event_rows.* from {{ ref('int_fifo_events') }} as event_rows
    {{ join_rows_to_compute('event_rows') }}
),

{% if is_incremental() %}
events as (
    select * from fifo_events
    union all
    select
        carryover.credit_history_id,
        carryover.user_id,
        carryover.credit_type,
        carryover.amount_milli,
        carryover.occurred_at,
        carryover.expires_at,
        cast(null as timestamp) as as_of
    from {{ ref('int_fifo_carryover') }} as carryover
),
{% else %}
events as (
    select * from fifo_events
),
{% endif %}

pieces as (
    {{ fifo_pieces('events') }}
),

final as (
    select
        debit_id,
        lot_id,
        user_id,
        case piece_kind
            when 0 then 'consumption'
            when 1 then 'debt_repayment'
            when 2 then 'unfunded'
        end as allocation_kind,
        amount_milli,
        {{ from_epoch_microseconds('allocated_us') }} as allocated_at
    from pieces
)

select * from final
