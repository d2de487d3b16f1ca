-- The reconciliation mart counts exactly the chain breaks of
-- int_ledger_balances, per user and kind. An incremental run checks the
-- users it recomputed.

with breaks as (
    select
        user_id,
        count(*) filter (where chain_break_kind = 'concurrent_write') as concurrent_writes,
        count(*) filter (where chain_break_kind = 'gap') as gaps
    from {{ ref('int_ledger_balances') }}
    where {{ in_test_scope('user_id') }}
    group by user_id
),

reconciliation as (
    select * from {{ ref('fct_ledger_reconciliation') }}
    where {{ in_test_scope('user_id') }}
)

select
    reconciliation.user_id,
    reconciliation.concurrent_write_count,
    breaks.concurrent_writes,
    reconciliation.gap_count,
    breaks.gaps
from reconciliation
left join breaks
    on reconciliation.user_id = breaks.user_id
where
    reconciliation.concurrent_write_count != coalesce(breaks.concurrent_writes, 0)
    or reconciliation.gap_count != coalesce(breaks.gaps, 0)
