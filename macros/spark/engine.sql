{#
    Spark's spelling of the project's dispatched macros (macros/parsing.sql,
    time_units.sql, money.sql, date_series.sql, incremental.sql,
    adapter_support.sql). dbt-spark runs with spark.sql.ansi.enabled=false,
    so a cast of dirty text gives null instead of raising; shapes the
    DuckDB casts refuse but Spark's accept (a bare year as a date, `1.5d` or
    `Infinity` as a number, a 24:00 hour) are kept out by a regex first.
#}

{% macro spark__parse_utc_timestamp(expression) -%}
    {#- offset-less text is read in the session time zone, UTC (profile);
        `Z` and `+hh[:mm]` offsets are honoured -#}
    case
        when trim(cast({{ expression }} as string)) rlike
            '^[0-9]{4}-[0-9][0-9]?-[0-9][0-9]?([T ][0-9][0-9]?:[0-9][0-9]?(:[0-9][0-9]?([.][0-9]*)?)?(Z|[+-][0-9][0-9](:?[0-9][0-9])?)?)?$'
            then cast(trim(cast({{ expression }} as string)) as timestamp)
    end
{%- endmacro %}

{% macro spark_number_pattern() -%}
    '^[+-]?([0-9]+(_[0-9]+)*([.]([0-9]+(_[0-9]+)*)?)?|[.][0-9]+(_[0-9]+)*)([eE][+-]?[0-9]{1,3})?$'
{%- endmacro %}

{% macro spark__parse_float(expression) -%}
    case
        when trim(cast({{ expression }} as string)) rlike {{ spark_number_pattern() }}
            and abs(cast(replace(trim(cast({{ expression }} as string)), '_', '') as double))
            <= 1.7976931348623157e308
            then cast(replace(trim(cast({{ expression }} as string)), '_', '') as double)
    end
{%- endmacro %}

{% macro spark__parse_decimal(expression) -%}
    case
        when trim(cast({{ expression }} as string)) rlike {{ spark_number_pattern() }}
            then cast(replace(trim(cast({{ expression }} as string)), '_', '') as decimal(38, 9))
    end
{%- endmacro %}

{% macro spark__parse_id(expression) -%}
    case
        when trim(cast({{ expression }} as string)) rlike '^[+-]?[0-9]+([.]0*)?$'
            and abs(cast(trim(cast({{ expression }} as string)) as decimal(38, 0)))
            <= 9223372036854775807
            then cast(cast(trim(cast({{ expression }} as string)) as decimal(38, 0)) as bigint)
    end
{%- endmacro %}

{% macro spark__json_is_valid(expression) -%}
    case
        when {{ expression }} is not null
            then try_parse_json({{ expression }}) is not null
    end
{%- endmacro %}

{% macro spark__json_key_text(expression, key) -%}
    get_json_object({{ expression }}, '$.{{ key }}')
{%- endmacro %}

{% macro spark__epoch_microseconds(timestamp_expression) -%}
    unix_micros({{ timestamp_expression }})
{%- endmacro %}

{% macro spark__from_epoch_microseconds(microseconds_expression) -%}
    timestamp_micros(cast({{ microseconds_expression }} as bigint))
{%- endmacro %}

{#- exact: Spark's integral division of decimals gives a BIGINT -#}
{% macro spark__floor_divide(numerator, denominator) -%}
    (({{ numerator }}) div ({{ denominator }}))
{%- endmacro %}

{% macro spark__date_series(start_expression, end_expression) -%}
    (
        select explode(sequence(
            cast({{ start_expression }} as date),
            cast({{ end_expression }} as date),
            interval 1 day
        )) as date_day
    )
{%- endmacro %}

{% macro spark__stop_run(message) -%}
    raise_error({{ message }})
{%- endmacro %}

{% macro spark__ledger_row_hash() -%}
    md5(concat_ws('|'
        {%- for column_name in ledger_source_columns() -%}
            , coalesce(cast({{ column_name }} as string) || '.', '')
        {%- endfor -%}
    ))
{%- endmacro %}

{% macro spark__ledger_row_key(id_expression, hash_expression) -%}
    coalesce('id:' || cast({{ id_expression }} as string), {{ hash_expression }})
{%- endmacro %}
