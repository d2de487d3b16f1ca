-- Per user, at as_of: ledger balance - lot balance = credits expired by rule
-- (never recorded in the ledger), where
--   ledger balance = sum of amount_milli of the rows up to as_of
--   lot balance    = remaining of open lots - unfunded debt
-- An incremental run checks the users it recomputed.

with ledger as (
    select
        user_id,
        sum(amount_milli) as ledger_balance_milli
    from {{ ref('int_fifo_events') }}
    where {{ in_test_scope('user_id') }}
    group by user_id
),

lots as (
    select
        user_id,
        sum(remaining_milli) as remaining_milli,
        sum(expired_milli) as expired_milli
    from {{ ref('int_credit_lots') }}
    where {{ in_test_scope('user_id') }}
    group by user_id
),

unfunded as (
    select
        user_id,
        sum(amount_milli) as unfunded_milli
    from {{ ref('int_credit_allocations') }}
    where
        allocation_kind = 'unfunded'
        and {{ in_test_scope('user_id') }}
    group by user_id
),

per_user as (
    select
        ledger.user_id,
        ledger.ledger_balance_milli,
        coalesce(lots.remaining_milli, 0)
        - coalesce(unfunded.unfunded_milli, 0) as lot_balance_milli,
        coalesce(lots.expired_milli, 0) as expired_milli
    from ledger
    left join lots on ledger.user_id = lots.user_id
    left join unfunded on ledger.user_id = unfunded.user_id
)

select *
from per_user
where ledger_balance_milli - lot_balance_milli != expired_milli
