-- The as_of of this build, kept for the next one: int_affected_users reads
-- the previous value before this model is rebuilt (it runs after it).
-- previous_as_of is the as_of of the build before this one (null on a first
-- build or a full refresh): the data tests of fct_burn_rate_daily check the
-- days from the earlier of the two on (macros/test_scope.sql).
-- depends_on: {{ ref('int_affected_users') }}

{#- the previous build's row, read before this model replaces it -#}
{%- set previous = none if flags.FULL_REFRESH else adapter.get_relation(
    database=this.database, schema=this.schema, identifier=this.identifier) %}

with as_of as (
    select
        {{ ledger_as_of() }} as as_of,
        {% if previous is not none -%}
        (select max(previous.as_of) from {{ previous }} as previous)
        {%- else -%}
        cast(null as timestamp)
        {%- endif %} as previous_as_of
)

select * from as_of
