-- Integrity: per user, the mart of ledger rows holds exactly the clean
-- staging rows: same row count, same sum of milli-credits. An incremental
-- run checks the users it recomputed.

with staged as (
    select
        user_id,
        count(*) as row_count,
        sum(amount_milli) as amount_milli
    from {{ ref('stg_ledger__credit_histories') }}
    where {{ in_test_scope('user_id') }}
    group by user_id
),

mart as (
    select
        user_id,
        count(*) as row_count,
        sum(amount_milli) as amount_milli
    from {{ ref('fct_credit_transactions') }}
    where {{ in_test_scope('user_id') }}
    group by user_id
)

select
    coalesce(staged.user_id, mart.user_id) as user_id,
    staged.row_count as staged_rows,
    mart.row_count as mart_rows,
    staged.amount_milli as staged_milli,
    mart.amount_milli as mart_milli
from staged
full outer join mart
    on staged.user_id = mart.user_id
where
    staged.row_count is distinct from mart.row_count
    or staged.amount_milli is distinct from mart.amount_milli
