{#
    Functions a warehouse engine needs and does not have, created by the
    on-run-start hook `create_engine_functions()` (dbt_project.yml) in the
    target's own schema, so that every model, test and unit test of the run
    finds them. DuckDB needs none here (its FIFO kernel is registered by the
    dbt-duckdb plugin, credit_ledger/duckdb_plugin.py).
#}
{% macro create_engine_functions() -%}
    {{ return(adapter.dispatch('create_engine_functions', 'credit_ledger')()) }}
{%- endmacro %}

{% macro default__create_engine_functions() -%}
{%- endmacro %}

{# The schema-qualified name of a function created by create_engine_functions. #}
{% macro engine_function(name) -%}
    {{ adapter.quote(target.schema) }}.{{ name }}
{%- endmacro %}

{% macro postgres__create_engine_functions() -%}
    {%- if execute %}
    create schema if not exists {{ adapter.quote(target.schema) }};

    -- stops the statement with `message` (DuckDB's error())
    create or replace function {{ engine_function('credit_ledger_raise') }}(message text)
    returns text
    language plpgsql volatile
    as $function$
    begin
        raise exception '%', message;
    end
    $function$;

    -- is the text valid JSON? (PostgreSQL 15 has no `is json`). Parallel
    -- unsafe: its exception block is a subtransaction, which no process may
    -- start during a parallel query (a 10^6-row ledger got a parallel plan
    -- and failed; the test server forces parallel plans to catch this)
    create or replace function {{ engine_function('credit_ledger_json_is_valid') }}(document text)
    returns boolean
    language plpgsql immutable strict parallel unsafe
    as $function$
    begin
        if json_typeof(cast(document as json)) = 'object' then
            -- a repeated key counts as malformed (macros/parsing.sql)
            return (
                select count(*) = count(distinct key)
                -- `\u0000` cannot become text (the keys' reader raises)
                from json_object_keys(cast(replace(document, '\u0000', '\ufffd') as json))
                    as keys (key)
            );
        end if;
        return true;
    exception when others then
        return false;
    end
    $function$;

    {{ postgres__create_fifo_function() }}
    {%- endif %}
{%- endmacro %}

{# Pre-hook of every model (dbt_project.yml): settings for the session. On
   PostgreSQL JIT off: the staging expressions are large and its estimates
   over CTEs pass JIT's cost threshold, so it spent 17-170 s per model
   compiling them (the sample build took 4 min instead of 45 s). The
   session keeps the setting for the later nodes it runs (tests too). #}
{% macro engine_session_settings() -%}
    {{ return(adapter.dispatch('engine_session_settings', 'credit_ledger')()) }}
{%- endmacro %}

{% macro default__engine_session_settings() -%}
{%- endmacro %}

{% macro postgres__engine_session_settings() -%}
    set jit = off
{%- endmacro %}
