-- Breaks in the app's previous_amount chain that happened in a time window,
-- each shown with its neighbouring ledger rows (same user, ledger order), to
-- see what the app read and wrote around the break: a concurrent_write reads
-- the same balance as the row before it; a gap reads a balance no row
-- explains (a missing row, a quarantined row or an edited balance).
--
-- One row per (break, neighbouring row): relative_position 0 is the break
-- itself, -1 the row before it, +1 the row after it, and so on.
--
-- vars:
--   chain_breaks_from          window start, UTC, inclusive (default 2025-06-01)
--   chain_breaks_to            window end, UTC, exclusive (default 2025-07-01)
--   chain_break_context_rows   neighbouring rows shown on each side (default 1)

with transactions as (
    select * from {{ ref('fct_credit_transactions') }}
),

balances as (
    select * from {{ ref('int_ledger_balances') }}
),

user_rows as (
    select
        transactions.credit_history_id,
        transactions.user_id,
        transactions.event_name,
        transactions.transaction_kind,
        transactions.chain_break_kind,
        transactions.amount_milli,
        transactions.previous_amount_milli,
        balances.expected_previous_amount_milli,
        balances.app_balance_after_milli,
        transactions.balance_before_milli,
        transactions.balance_after_milli,
        transactions.user_row_number,
        {{ dbt.datediff(
            'lag(transactions.occurred_at) over (
                partition by transactions.user_id
                order by transactions.user_row_number
            )',
            'transactions.occurred_at',
            'millisecond'
        ) }} as millis_since_previous_row,
        transactions.occurred_at
    from transactions
    inner join balances
        on transactions.credit_history_id = balances.credit_history_id
),

breaks as (
    select
        credit_history_id as break_credit_history_id,
        user_id,
        chain_break_kind as break_kind,
        user_row_number as break_row_number,
        occurred_at as break_occurred_at
    from user_rows
    where
        chain_break_kind in ('concurrent_write', 'gap')
        and occurred_at >= cast('{{ var("chain_breaks_from", "2025-06-01") }}' as timestamp)
        and occurred_at < cast('{{ var("chain_breaks_to", "2025-07-01") }}' as timestamp)
),

final as (
    select
        breaks.break_credit_history_id,
        breaks.user_id,
        breaks.break_kind,
        user_rows.user_row_number - breaks.break_row_number as relative_position,
        user_rows.credit_history_id,
        user_rows.event_name,
        user_rows.transaction_kind,
        user_rows.chain_break_kind,
        user_rows.amount_milli,
        user_rows.previous_amount_milli,
        user_rows.expected_previous_amount_milli,
        user_rows.previous_amount_milli - user_rows.expected_previous_amount_milli
            as chain_difference_milli,
        user_rows.app_balance_after_milli,
        user_rows.balance_after_milli,
        user_rows.app_balance_after_milli - user_rows.balance_after_milli
            as app_minus_ledger_milli,
        user_rows.millis_since_previous_row,
        user_rows.user_row_number,
        user_rows.user_row_number = breaks.break_row_number as is_break_row,
        breaks.break_occurred_at,
        user_rows.occurred_at
    from breaks
    inner join user_rows
        on
            breaks.user_id = user_rows.user_id
            and user_rows.user_row_number
            between breaks.break_row_number - {{ var('chain_break_context_rows', 1) }}
            and breaks.break_row_number + {{ var('chain_break_context_rows', 1) }}
)

select * from final
order by break_occurred_at, break_credit_history_id, relative_position
