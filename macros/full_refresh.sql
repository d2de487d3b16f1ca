{#
    Whether this run rebuilds every model from the export, as
    `--full-refresh` does. Models and macros ask this macro, never
    flags.FULL_REFRESH, so that an engine whose tables cannot be changed in
    place rebuilds whole on every run (Spark without Delta or Iceberg has no
    DELETE, UPDATE or MERGE: macros/spark/incremental.sql). There a
    scheduled run is a full refresh.
#}
{% macro is_full_refresh() -%}
    {{ return(adapter.dispatch('is_full_refresh', 'credit_ledger')()) }}
{%- endmacro %}

{% macro default__is_full_refresh() -%}
    {{ return(flags.FULL_REFRESH) }}
{%- endmacro %}

{#- dbt's own should_full_refresh (is_incremental and the incremental
    materializations ask it), overridden by the project: a model's
    `full_refresh` config first, else is_full_refresh() -#}
{% macro should_full_refresh() -%}
    {%- set config_full_refresh = config.get('full_refresh') -%}
    {%- if config_full_refresh is none -%}
        {%- set config_full_refresh = is_full_refresh() -%}
    {%- endif -%}
    {{ return(config_full_refresh) }}
{%- endmacro %}
