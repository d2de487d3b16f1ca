-- Every quarantined row that names a user is counted on that user in the
-- reconciliation mart, and nothing else is. An incremental run checks the
-- users it recomputed (a quarantined row it loaded makes its user one).

with quarantined as (
    select
        user_id,
        count(*) as quarantined_rows
    from {{ ref('stg_ledger__quarantined_credit_histories') }}
    where
        user_id is not null
        and {{ in_test_scope('user_id') }}
    group by user_id
),

reconciliation as (
    select * from {{ ref('fct_ledger_reconciliation') }}
    where {{ in_test_scope('user_id') }}
)

select
    coalesce(reconciliation.user_id, quarantined.user_id) as user_id,
    reconciliation.quarantined_row_count,
    quarantined.quarantined_rows
from reconciliation
full outer join quarantined
    on reconciliation.user_id = quarantined.user_id
where
    coalesce(reconciliation.quarantined_row_count, -1)
    != coalesce(quarantined.quarantined_rows, 0)
