-- One row per user: does the ledger add up? Side by side: the ledger
-- balance rebuilt from zero, the app's own previous_amount chain, the app's
-- users.credits snapshot, and the FIFO lot balance; the chain breaks and
-- quarantined rows that explain differences; one status.
--
-- status (the first that applies):
--   unknown_user        ledger rows for a user_id missing from `users`
--   quarantined_rows    some of the user's rows could not be placed on the
--                       balance (duplicates aside): the ledger is incomplete
--   unparseable_snapshot users.credits is present but not a number: the
--                       snapshot cannot be compared (not a mismatch)
--   snapshot_mismatch   users.credits differs from the app's own chain end:
--                       the app contradicts itself
--   chain_breaks        the app's chain breaks (concurrent writes, gaps), so
--                       the app's balance differs from the ledger's
--   ledger_mismatch     users.credits differs from the ledger balance with
--                       none of the above to explain it
--   reconciled          ledger, app chain and snapshot agree
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_affected_users() }}",
        on_schema_change='fail',
    )
}}
-- depends_on: {{ ref('int_affected_users') }}

with user_balances as (
    select * from {{ ref('int_user_balances') }}
    where {{ is_affected_user() }}
),

lots as (
    select * from {{ ref('int_credit_lots') }}
    where {{ is_affected_user() }}
),

allocations as (
    select * from {{ ref('int_credit_allocations') }}
    where {{ is_affected_user() }}
),

fifo_events as (
    select * from {{ ref('int_fifo_events') }}
    where {{ is_affected_user() }}
),

users as (
    select
        user_id,
        has_unparseable_credits
    from {{ ref('stg_ledger__users') }}
    where {{ is_affected_user() }}
),

quarantined as (
    select * from {{ ref('stg_ledger__quarantined_credit_histories') }}
    where {{ is_affected_user() }}
),

lot_totals as (
    select
        user_id,
        sum(remaining_milli) as open_lot_milli,
        sum(expired_milli) as expired_milli
    from lots
    group by user_id
),

unfunded as (
    select
        user_id,
        sum(amount_milli) as unfunded_debt_milli
    from allocations
    where allocation_kind = 'unfunded'
    group by user_id
),

ledger_at_as_of as (
    select
        user_id,
        sum(amount_milli) as ledger_balance_at_as_of_milli
    from fifo_events
    group by user_id
),

quarantine_counts as (
    select
        user_id,
        count(*) as quarantined_row_count,
        -- a duplicate_id row is a spare copy: the ledger is still complete
        count(*) filter (
            where quarantine_reason != 'duplicate_id'
        ) as unplaced_row_count
    from quarantined
    where user_id is not null
    group by user_id
),

all_users as (
    select user_id from user_balances
    union
    select user_id from quarantine_counts
),

combined as (
    select
        all_users.user_id,
        coalesce(user_balances.is_known_user, false) as is_known_user,
        coalesce(user_balances.ledger_row_count, 0) as ledger_row_count,
        coalesce(quarantine_counts.quarantined_row_count, 0) as quarantined_row_count,
        coalesce(quarantine_counts.unplaced_row_count, 0) as unplaced_row_count,
        coalesce(user_balances.concurrent_write_count, 0) as concurrent_write_count,
        coalesce(user_balances.gap_count, 0) as gap_count,
        coalesce(user_balances.ledger_balance_milli, 0) as ledger_balance_milli,
        user_balances.app_chain_balance_milli,
        user_balances.credits_snapshot_milli,
        coalesce(ledger_at_as_of.ledger_balance_at_as_of_milli, 0)
            as ledger_balance_at_as_of_milli,
        coalesce(lot_totals.open_lot_milli, 0) as open_lot_milli,
        coalesce(unfunded.unfunded_debt_milli, 0) as unfunded_debt_milli,
        coalesce(lot_totals.expired_milli, 0) as expired_milli,
        coalesce(user_balances.has_snapshot_chain_mismatch, false)
            as has_snapshot_chain_mismatch,
        coalesce(user_balances.has_snapshot_ledger_mismatch, false)
            as has_snapshot_ledger_mismatch,
        coalesce(users.has_unparseable_credits, false) as has_unparseable_snapshot
    from all_users
    left join user_balances
        on all_users.user_id = user_balances.user_id
    left join quarantine_counts
        on all_users.user_id = quarantine_counts.user_id
    left join lot_totals
        on all_users.user_id = lot_totals.user_id
    left join unfunded
        on all_users.user_id = unfunded.user_id
    left join ledger_at_as_of
        on all_users.user_id = ledger_at_as_of.user_id
    left join users
        on all_users.user_id = users.user_id
),

final as (
    select
        user_id,
        case
            when not is_known_user then 'unknown_user'
            when unplaced_row_count > 0 then 'quarantined_rows'
            when has_unparseable_snapshot then 'unparseable_snapshot'
            when has_snapshot_chain_mismatch then 'snapshot_mismatch'
            when concurrent_write_count + gap_count > 0 then 'chain_breaks'
            when has_snapshot_ledger_mismatch then 'ledger_mismatch'
            else 'reconciled'
        end as status,
        cast(ledger_row_count as bigint) as ledger_row_count,
        cast(quarantined_row_count as bigint) as quarantined_row_count,
        cast(unplaced_row_count as bigint) as unplaced_row_count,
        cast(concurrent_write_count as bigint) as concurrent_write_count,
        cast(gap_count as bigint) as gap_count,
        cast(ledger_balance_milli as bigint) as ledger_balance_milli,
        cast(app_chain_balance_milli as bigint) as app_chain_balance_milli,
        cast(credits_snapshot_milli as bigint) as credits_snapshot_milli,
        cast(credits_snapshot_milli - ledger_balance_milli as bigint)
            as snapshot_minus_ledger_milli,
        cast(ledger_balance_at_as_of_milli as bigint) as ledger_balance_at_as_of_milli,
        cast(open_lot_milli as bigint) as open_lot_milli,
        cast(unfunded_debt_milli as bigint) as unfunded_debt_milli,
        cast(open_lot_milli - unfunded_debt_milli as bigint) as lot_balance_milli,
        cast(expired_milli as bigint) as expired_milli,
        {{ to_credits('ledger_balance_milli') }} as ledger_balance_credits,
        {{ to_credits('open_lot_milli - unfunded_debt_milli') }} as lot_balance_credits,
        is_known_user,
        has_snapshot_chain_mismatch,
        has_snapshot_ledger_mismatch,
        has_unparseable_snapshot
    from combined
)

select * from final
