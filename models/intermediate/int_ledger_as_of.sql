-- The as_of of this build, kept for the next one: int_affected_users reads
-- the previous value before this model is rebuilt (it runs after it).
-- depends_on: {{ ref('int_affected_users') }}

with as_of as (
    select {{ ledger_as_of() }} as as_of
)

select * from as_of
