{#
    Guards for models and macros written for DuckDB: they parse on every
    adapter and stop a run elsewhere with a message naming the adapter.
#}

{# Fails the run (not the parse) with a message that names the adapter. #}
{% macro not_supported_on_adapter(what) -%}
    {%- if execute -%}
        {{ exceptions.raise_compiler_error(
            what ~ " is not supported on " ~ adapter.type()
            ~ ": add a `" ~ adapter.type() ~ "__" ~ what
            ~ "` macro to the project to run it there."
        ) }}
    {%- endif -%}
{%- endmacro %}

{# Stops a run (not a parse) on an adapter the model cannot run on. #}
{% macro require_adapter(adapter_type, what) -%}
    {%- if execute and target.type != adapter_type -%}
        {{ exceptions.raise_compiler_error(
            what ~ " is not supported on " ~ target.type ~ ": it needs the "
            ~ adapter_type ~ " adapter (see DECISIONLOG.md)."
        ) }}
    {%- endif -%}
{%- endmacro %}

{# A SQL expression that stops the query (and the run) with `message`, a SQL
   string expression, when it is evaluated: use it in a `case when`. #}
{% macro stop_run(message) -%}
    {{ return(adapter.dispatch('stop_run', 'credit_ledger')(message)) }}
{%- endmacro %}

{% macro default__stop_run(message) -%}
    error({{ message }})
{%- endmacro %}

{% macro postgres__stop_run(message) -%}
    {{ engine_function('credit_ledger_raise') }}({{ message }})
{%- endmacro %}
