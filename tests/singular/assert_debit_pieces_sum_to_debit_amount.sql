-- Every debit is fully accounted for by its FIFO pieces (consumption, debt
-- repayment, unfunded): the pieces sum to exactly -amount_milli, and no
-- piece belongs to a row that is not a debit. A debit and its pieces
-- belong to one user: an incremental run checks the users it recomputed.

with debits as (
    select
        credit_history_id as debit_id,
        -amount_milli as debit_milli
    from {{ ref('int_fifo_events') }}
    where
        amount_milli < 0
        and {{ in_test_scope('user_id') }}
),

pieces as (
    select
        debit_id,
        sum(amount_milli) as allocated_milli
    from {{ ref('int_credit_allocations') }}
    where {{ in_test_scope('user_id') }}
    group by debit_id
)

select
    coalesce(debits.debit_id, pieces.debit_id) as debit_id,
    debits.debit_milli,
    pieces.allocated_milli
from debits
full outer join pieces
    on debits.debit_id = pieces.debit_id
where debits.debit_milli is distinct from pieces.allocated_milli
