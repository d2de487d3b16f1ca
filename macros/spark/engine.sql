{#
    Spark's spelling of the project's dispatched macros (macros/parsing.sql,
    time_units.sql, money.sql, date_series.sql, incremental.sql,
    adapter_support.sql). dbt-spark runs with spark.sql.ansi.enabled=false,
    so a cast of dirty text gives null instead of raising; shapes the
    DuckDB casts refuse but Spark's accept (a bare year as a date, `1.5d` or
    `Infinity` as a number, a 24:00 hour) are kept out by a regex first.
#}

{#- Spark's regexes are Java's: `$` also matches before a final line break,
    so the shapes end with `\z`; Spark's string literals turn `\\z` into
    `\z`, `\t` into a tab and `\u000B` into that character. -#}

{% macro spark__parse_utc_timestamp(expression) -%}
    {#- the text is cut into date, clock and offset (lambdas over one-element
        arrays name the pieces); the offset is applied by hand (Spark's cast
        stops at +-18:00), 24:00:00 is the next midnight, as on DuckDB;
        offset-less text is read in the session time zone, UTC (profile) -#}
    case
        when cast({{ expression }} as string) rlike concat('^', {{ timestamp_shape() }}, '\\z')
            then element_at(transform(
                array(translate(trim(cast({{ expression }} as string)), 'T', ' ')), stamp ->
                element_at(transform(array(split_part(stamp, ' ', 2)), time_and_zone ->
                element_at(transform(
                    array(regexp_extract(time_and_zone, '(Z|[+-][0-9:]*)$', 1)), zone ->
                element_at(transform(
                    array(substr(time_and_zone, 1, length(time_and_zone) - length(zone))), clock ->
                element_at(transform(array(split_part(clock, ':', 1)), hour_text ->
                    case
                        when length(zone) > 3 and cast(substr(replace(zone, ':', ''), 4) as int) > 59
                            then null
                        when hour_text = '24'
                            and not substr(clock, 3) rlike '^:0?0(:0?0([.]0{0,6}[0-9]*)?)?$'
                            then null
                        else timestampadd(
                            MINUTE,
                            case
                                when zone in ('', 'Z') then 0
                                else (case when left(zone, 1) = '-' then 1 else -1 end) * (
                                    cast(substr(zone, 2, 2) as int) * 60
                                    + coalesce(cast(nullif(substr(replace(zone, ':', ''), 4), '')
                                        as int), 0))
                            end,
                            timestampadd(
                                DAY,
                                case when hour_text = '24' then 1 else 0 end,
                                cast(concat(
                                    split_part(stamp, ' ', 1), ' ',
                                    case
                                        when clock = '' then '00:00'
                                        when hour_text = '24' then concat('00', substr(clock, 3))
                                        else clock
                                    end
                                ) as timestamp)
                            )
                        )
                    end
                ), 1)), 1)), 1)), 1)), 1)
    end
{%- endmacro %}

{% macro spark__number_shape() -%}
    '^[ \t\n\u000B\u000C\r]*[+-]?([0-9]+(_[0-9]+)*([.]([0-9]+(_[0-9]+)*)?)?|[.][0-9]+(_[0-9]+)*)([eE][+-]?[0-9]+)?[ \t\n\u000B\u000C\r]*\\z'
{%- endmacro %}

{% macro spark__parse_float(expression) -%}
    {#- Java reads exponents of any length (to 0 or infinity) -#}
    case
        when cast({{ expression }} as string) rlike {{ number_shape() }}
            and abs(cast(replace(cast({{ expression }} as string), '_', '') as double))
            <= 1.7976931348623157e308
            then cast(replace(cast({{ expression }} as string), '_', '') as double)
    end
{%- endmacro %}

{% macro spark__parse_decimal(expression) -%}
    case
        when {{ zs_trim('cast(' ~ expression ~ ' as string)') }} rlike {{ number_shape() }}
            then cast(replace({{ zs_trim('cast(' ~ expression ~ ' as string)') }}, '_', '')
                as decimal(38, 9))
    end
{%- endmacro %}

{% macro spark__parse_id(expression) -%}
    case
        when {{ zs_trim('cast(' ~ expression ~ ' as string)') }} rlike '^[+-]?[0-9]+([.]0*)?\\z'
            and cast({{ zs_trim('cast(' ~ expression ~ ' as string)') }} as decimal(38, 0))
            between -9223372036854775808 and 9223372036854775807
            then cast(cast({{ zs_trim('cast(' ~ expression ~ ' as string)') }} as decimal(38, 0))
                as bigint)
    end
{%- endmacro %}

{#- DuckDB's trim() set (macros/parsing.sql, zs_trim), as \u escapes: Spark's
    chr() stops at 255 -#}
{% macro spark__zs_trim(expression) -%}
    trim(both '
        {%- for code_point in unicode_space_code_points() -%}
            \u{{ '%04X' % code_point }}
        {%- endfor -%}
    ' from {{ expression }})
{%- endmacro %}

{#- try_parse_json stops after the first value (`{} x` passes) and refuses
    a repeated key; inside brackets the rest of the text must parse too -#}
{% macro spark__json_is_valid(expression) -%}
    case
        when {{ expression }} is not null
            then try_parse_json({{ expression }}) is not null
            and coalesce(json_array_length(concat('[', {{ expression }}, ']')) = 1, false)
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
