-- The as_of of this build, kept for the next one: int_affected_users reads
-- the previous value before this model is rebuilt (it runs after it).
-- previous_as_of is the as_of of the build before (null on a full refresh or
-- the first build): fct_burn_rate_daily recomputes, and its data tests check,
-- the days from the earlier of the two on (macros/test_scope.sql).
-- depends_on: {{ ref('int_affected_users') }}

{%- set previous = adapter.get_relation(
    database=this.database, schema=this.schema, identifier=this.identifier) %}

with as_of as (
    select {{ ledger_as_of() }} as as_of
),

{% if previous is not none and not is_full_refresh() %}
previous as (
    select max(as_of) as previous_as_of from {{ previous }}
),
{% else %}
previous as (
    select cast(null as timestamp) as previous_as_of
),
{% endif %}

final as (
    select
        as_of.as_of,
        previous.previous_as_of
    from as_of
    cross join previous
)

select * from final
