{#
    `dbt source freshness` on the ledger (models/staging/ledger/_ledger__sources.yml,
    the `loaded_at_query` of credit_histories): the latest `updated_at`,
    read from the raw text. The age is measured at the run's clock: var
    `now` when set (e.g. the committed sample's export time), else the
    current time; a set `now` shifts the latest row by (current time - now),
    not the clock, since dbt compares with the warehouse's current time.
    dbt renders `loaded_at_query` at run time, so it can call this macro
    (a `loaded_at_field` is rendered while parsing, without macros).
#}
{% macro ledger_loaded_at(column) -%}
    {{ return(adapter.dispatch('ledger_loaded_at', 'credit_ledger')(column)) }}
{%- endmacro %}

{# parsed as staging parses it, shifted from the time the run started (UTC,
   macros/incremental.sql): nothing depends on the server's time zone #}
{% macro default__ledger_loaded_at(column) -%}
    {{ parse_utc_timestamp(column) }}
    {%- if var('now') is not none %}
        + ({{ this_run_loaded_at() }} - {{ parse_utc_timestamp("'" ~ var('now') ~ "'") }})
    {%- endif %}
{%- endmacro %}

{# the expression DuckDB has always used (its session time zone is UTC) #}
{% macro duckdb__ledger_loaded_at(column) -%}
    try_cast({{ column }} as timestamp)
    {%- if var('now') is not none %}
        + (current_timestamp::timestamp - timestamp '{{ var('now') }}')
    {%- endif %}
{%- endmacro %}
