{#
    Timestamps as integer microseconds since the epoch and back, for the
    exact arithmetic of projections.
#}
{% macro epoch_microseconds(timestamp_expression) -%}
    {{ return(adapter.dispatch('epoch_microseconds', 'credit_ledger')(timestamp_expression)) }}
{%- endmacro %}

{% macro default__epoch_microseconds(timestamp_expression) -%}
    {{ not_supported_on_adapter('epoch_microseconds') }}
{%- endmacro %}

{% macro duckdb__epoch_microseconds(timestamp_expression) -%}
    epoch_us({{ timestamp_expression }})
{%- endmacro %}

{# extract(epoch) is numeric (exact) and reads a timestamp as UTC #}
{% macro postgres__epoch_microseconds(timestamp_expression) -%}
    cast(extract(epoch from {{ timestamp_expression }}) * 1000000 as bigint)
{%- endmacro %}

{% macro from_epoch_microseconds(microseconds_expression) -%}
    {{ return(adapter.dispatch('from_epoch_microseconds', 'credit_ledger')(microseconds_expression)) }}
{%- endmacro %}

{% macro default__from_epoch_microseconds(microseconds_expression) -%}
    {{ not_supported_on_adapter('from_epoch_microseconds') }}
{%- endmacro %}

{# whole days, then the microseconds of the day: both parts exact #}
{% macro postgres__from_epoch_microseconds(microseconds_expression) -%}
    (
        timestamp '1970-01-01'
        + make_interval(days => cast(({{ microseconds_expression }}) / 86400000000 as integer))
        + (({{ microseconds_expression }}) % 86400000000) * interval '1 microsecond'
    )
{%- endmacro %}

{% macro duckdb__from_epoch_microseconds(microseconds_expression) -%}
    make_timestamp(cast({{ microseconds_expression }} as bigint))
{%- endmacro %}

{# The first day of the month of a timestamp or date, as a date. #}
{% macro month_start(expression) -%}
    cast({{ dbt.date_trunc('month', expression) }} as date)
{%- endmacro %}
