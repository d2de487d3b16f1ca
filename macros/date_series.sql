{#
    One row per calendar day from `start_expression` to `end_expression`
    (inclusive), as a column `date_day`: a FROM-clause fragment.
#}
{% macro date_series(start_expression, end_expression) -%}
    {{ return(adapter.dispatch('date_series', 'credit_ledger')(start_expression, end_expression)) }}
{%- endmacro %}

{% macro default__date_series(start_expression, end_expression) -%}
    {{ not_supported_on_adapter('date_series') }}
{%- endmacro %}

{% macro postgres__date_series(start_expression, end_expression) -%}
    (
        select cast(generate_series(
            cast(cast({{ start_expression }} as date) as timestamp),
            cast(cast({{ end_expression }} as date) as timestamp),
            interval '1 day'
        ) as date) as date_day
    )
{%- endmacro %}

{% macro duckdb__date_series(start_expression, end_expression) -%}
    (
        select cast(unnest(generate_series(
            cast({{ start_expression }} as date),
            cast({{ end_expression }} as date),
            interval 1 day
        )) as date) as date_day
    )
{%- endmacro %}
