-- Per user in the reconciliation mart: lot balance + credits expired by rule
-- = ledger balance at as_of, with the ledger balance recomputed from the
-- transactions mart and the lot figures from the lots model. An incremental
-- run checks the users it recomputed.

with reconciliation as (
    select * from {{ ref('fct_ledger_reconciliation') }}
    where {{ in_test_scope('user_id') }}
),

as_of as (
    select {{ ledger_as_of() }} as as_of
),

ledger as (
    select
        ledger_rows.user_id,
        sum(ledger_rows.amount_milli) as ledger_milli
    from {{ ref('fct_credit_transactions') }} as ledger_rows
    cross join as_of
    where
        ledger_rows.occurred_at <= as_of.as_of
        and {{ in_test_scope('ledger_rows.user_id') }}
    group by ledger_rows.user_id
),

lots as (
    select
        user_id,
        sum(expired_milli) as expired_milli
    from {{ ref('int_credit_lots') }}
    where {{ in_test_scope('user_id') }}
    group by user_id
)

select
    reconciliation.user_id,
    reconciliation.lot_balance_milli,
    reconciliation.expired_milli,
    ledger.ledger_milli
from reconciliation
left join ledger
    on reconciliation.user_id = ledger.user_id
left join lots
    on reconciliation.user_id = lots.user_id
where
    reconciliation.lot_balance_milli + coalesce(lots.expired_milli, 0)
    != coalesce(ledger.ledger_milli, 0)
    or reconciliation.expired_milli != coalesce(lots.expired_milli, 0)
