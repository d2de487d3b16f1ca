{#
    Parsing helpers used by staging. Each is dispatched so that a warehouse
    adapter can supply its own spelling; the default targets DuckDB.
#}

{# A UTC timestamp from any export spelling: `2024-03-01 10:00:00`,
   `2024-03-01T10:00:00Z`, with a fractional part or an explicit offset.
   Unparseable text gives null. #}
{% macro parse_utc_timestamp(expression) -%}
    {{ return(adapter.dispatch('parse_utc_timestamp', 'credit_ledger')(expression)) }}
{%- endmacro %}

{% macro default__parse_utc_timestamp(expression) -%}
    cast({{ expression }} as timestamp)
{%- endmacro %}

{% macro duckdb__parse_utc_timestamp(expression) -%}
    {# via timestamptz so that an offset (`Z`, `+02:00`) is honoured; the
       profile pins the session time zone to UTC for offset-less text #}
    timezone('UTC', try_cast({{ expression }} as timestamptz))
{%- endmacro %}

{# PostgreSQL: its own cast would raise on dirty text, drop an offset and
   round (not truncate) a 7th decimal. So the text must match DuckDB's
   spellings (date, optional time with 1-2 digit fields and a fraction,
   optional `Z` or `+hh[[:]mm]` offset), its fields must make a real date and
   time (24:00:00 is the next midnight), and the value is built from them:
   never from the server's time zone. #}
{% macro postgres__parse_utc_timestamp(expression) -%}
    {#- a capture-free regex checks the shape (PostgreSQL's regexes with
        many capture groups cost ~0.4 ms a row); string functions cut it -#}
    (
        select
            case
                when
                    y >= 1
                    and mo between 1 and 12
                    and d between 1 and extract(day from (
                        make_date(greatest(y, 1), least(greatest(mo, 1), 12), 1)
                        + interval '1 month' - interval '1 day'))
                    and mi <= 59
                    and s <= 59
                    and om <= 59
                    and (h <= 23 or (h = 24 and mi = 0 and s = 0 and us = 0))
                    then make_timestamp(y, mo, d, 0, 0, 0)
                        + make_interval(hours => h, mins => mi)
                        + (s * 1000000 + us) * interval '1 microsecond'
                        - offset_sign * make_interval(hours => oh, mins => om)
            end
        from (
            select
                cast(split_part(date_text, '-', 1) as int) as y,
                cast(split_part(date_text, '-', 2) as int) as mo,
                cast(split_part(date_text, '-', 3) as int) as d,
                coalesce(cast(nullif(split_part(clock, ':', 1), '') as int), 0) as h,
                coalesce(cast(nullif(split_part(clock, ':', 2), '') as int), 0) as mi,
                coalesce(cast(nullif(
                    split_part(split_part(clock, ':', 3), '.', 1), '') as int), 0) as s,
                -- a 7th decimal and beyond is cut, as DuckDB does
                cast(rpad(left(split_part(split_part(clock, ':', 3), '.', 2), 6), 6, '0')
                    as int) as us,
                case when left(zone, 1) = '-' then -1 else 1 end as offset_sign,
                coalesce(cast(nullif(substr(zone, 2, 2), '') as int), 0) as oh,
                coalesce(cast(nullif(replace(substr(zone, 4), ':', ''), '') as int), 0) as om
            from (
                select
                    split_part(stamp, ' ', 1) as date_text,
                    left(time_and_zone, length(time_and_zone) - length(zone)) as clock,
                    zone
                from (
                    select
                        stamp,
                        split_part(stamp, ' ', 2) as time_and_zone,
                        coalesce(substring(split_part(stamp, ' ', 2) from '[Z+-][0-9:]*$'), '')
                            as zone
                    from (
                        select translate(trim(cast({{ expression }} as text)), 'T', ' ') as stamp
                        where cast({{ expression }} as text)
                            ~ '^ *[0-9]{4}-[0-9][0-9]?-[0-9][0-9]?([T ][0-9][0-9]?:[0-9][0-9]?(:[0-9][0-9]?(\.[0-9]*)?)?(Z|[+-][0-9][0-9](:?[0-9][0-9])?)?)? *$'
                    ) as shaped
                ) as zoned
            ) as cut
        ) as fields
    )
{%- endmacro %}

{# A float from text or a number; null when unparseable or not finite. #}
{% macro parse_float(expression) -%}
    {{ return(adapter.dispatch('parse_float', 'credit_ledger')(expression)) }}
{%- endmacro %}

{% macro default__parse_float(expression) -%}
    cast({{ expression }} as double precision)
{%- endmacro %}

{% macro duckdb__parse_float(expression) -%}
    case
        when isfinite(try_cast({{ expression }} as double))
            then try_cast({{ expression }} as double)
    end
{%- endmacro %}

{# PostgreSQL: the numbers DuckDB reads (signs, `.5`, `5.`, exponents,
   `1_000`), as the float nearest to the text; null outside the float
   range (DuckDB: not finite) instead of an error. #}
{% macro postgres__parse_float(expression) -%}
    (
        select
            case
                when abs(number) < 1e-320 then cast(0 as double precision)
                when abs(number) <= 1.7976931348623157e308
                    then cast(replace(text_value, '_', '') as double precision)
            end
        from (
            select
                text_value,
                case
                    when text_value ~ {{ number_pattern() }}
                        then cast(replace(text_value, '_', '') as numeric)
                end as number
            from (select cast({{ expression }} as text) as text_value) as raw
        ) as parsed
    )
{%- endmacro %}

{# A number as DuckDB's casts read it, for a regex guard. #}
{% macro number_pattern() -%}
    '^\s*[+-]?(\d+(_\d+)*(\.(\d+(_\d+)*)?)?|\.\d+(_\d+)*)([eE][+-]?\d{1,3})?\s*$'
{%- endmacro %}

{# An exact decimal (up to 9 decimals, below 10^29) from text or a number;
   null when unparseable or out of range. For prices: no float rounding. #}
{% macro parse_decimal(expression) -%}
    {{ return(adapter.dispatch('parse_decimal', 'credit_ledger')(expression)) }}
{%- endmacro %}

{% macro default__parse_decimal(expression) -%}
    cast({{ expression }} as decimal(38, 9))
{%- endmacro %}

{% macro duckdb__parse_decimal(expression) -%}
    try_cast(trim(cast({{ expression }} as varchar)) as decimal(38, 9))
{%- endmacro %}

{% macro postgres__parse_decimal(expression) -%}
    (
        select
            case
                when abs(round(number, 9)) < 1e29 then cast(number as decimal(38, 9))
            end
        from (
            select
                case
                    when cast({{ expression }} as text) ~ {{ number_pattern() }}
                        then cast(replace(cast({{ expression }} as text), '_', '') as numeric)
                end as number
        ) as parsed
    )
{%- endmacro %}

{# An integer id; null when unparseable. #}
{% macro parse_id(expression) -%}
    {{ return(adapter.dispatch('parse_id', 'credit_ledger')(expression)) }}
{%- endmacro %}

{% macro default__parse_id(expression) -%}
    cast({{ expression }} as bigint)
{%- endmacro %}

{% macro duckdb__parse_id(expression) -%}
    {# whole numbers only ('12', '12.0'): a cast alone would round '12.6'
       and read '1e3' or '0x10' #}
    case
        when regexp_full_match(trim(cast({{ expression }} as varchar)), '[+-]?[0-9]+(\.0*)?')
            then try_cast(try_cast(trim(cast({{ expression }} as varchar)) as decimal(38, 0)) as bigint)
    end
{%- endmacro %}

{% macro postgres__parse_id(expression) -%}
    (
        select
            case
                when number between -9223372036854775808 and 9223372036854775807
                    then cast(number as bigint)
            end
        from (
            select
                case
                    when trim(cast({{ expression }} as text)) ~ '^[+-]?[0-9]+(\.0*)?$'
                        then cast(trim(cast({{ expression }} as text)) as numeric)
                end as number
        ) as parsed
    )
{%- endmacro %}

{# Credits (float) to integer milli-credits, rounding half away from zero.
   Null beyond +-2^62 milli-credits (4.6e15 credits): no real figure is that
   large, and the sum or difference of two values below 2^62 still fits in a
   BIGINT, so a snapshot or previous_amount can be compared with a balance
   without overflow (DECISIONLOG.md, 8). #}
{% macro to_milli(credits_expression) -%}
    case
        when
            abs({{ credits_expression }} * {{ var('credit_scale') }})
            < {{ milli_value_limit() }}
            then cast(
                {{ round_half_away(credits_expression ~ ' * ' ~ var('credit_scale')) }}
                as bigint
            )
    end
{%- endmacro %}

{# 2^62: the bound of every milli-credit value read from the export, and of
   the total of |amount_milli| over the clean ledger
   (check_ledger_total_fits). #}
{% macro milli_value_limit() -%}
    4611686018427387904
{%- endmacro %}

{# True when a parsed ledger amount is beyond the plausible bound
   `max_abs_amount_credits` per row (the bound itself is accepted), or so
   large that it has no milli value (null from to_milli). Such a row is
   quarantined as amount_out_of_range. Apply only to a parsed amount. #}
{% macro is_amount_out_of_range(milli_expression) -%}
    coalesce(
        abs({{ milli_expression }})
        > {{ ((var('max_abs_amount_credits') | float)
            * (var('credit_scale') | float)) | int }},
        true
    )
{%- endmacro %}

{# True when credits carry precision finer than one milli-credit
   (beyond float noise). #}
{% macro has_sub_milli_precision(credits_expression) -%}
    abs(
        {{ credits_expression }} * {{ var('credit_scale') }}
        - {{ round_half_away(credits_expression ~ ' * ' ~ var('credit_scale')) }}
    ) > {{ var('sub_milli_tolerance') }}
{%- endmacro %}

{# A float rounded to a whole number, half away from zero (DuckDB's
   round()). PostgreSQL's round(double precision) rounds half to even, and
   going through numeric keeps only 15 digits: take the integer part and
   add one when the (exactly computed) fraction is at least a half. #}
{% macro round_half_away(expression) -%}
    {{ return(adapter.dispatch('round_half_away', 'credit_ledger')(expression)) }}
{%- endmacro %}

{% macro default__round_half_away(expression) -%}
    round({{ expression }})
{%- endmacro %}

{% macro postgres__round_half_away(expression) -%}
    (
        select trunc(value) + case when abs(value - trunc(value)) >= 0.5 then sign(value) else 0 end
        from (select {{ expression }} as value) as rounded
    )
{%- endmacro %}

{# Free text to a normalised code: trimmed, lowercase, empty as null. #}
{% macro normalise_code(expression) -%}
    nullif(lower(trim({{ expression }})), '')
{%- endmacro %}

{# Is the text valid JSON? Null text gives null. #}
{% macro json_is_valid(expression) -%}
    {{ return(adapter.dispatch('json_is_valid', 'credit_ledger')(expression)) }}
{%- endmacro %}

{% macro default__json_is_valid(expression) -%}
    {{ not_supported_on_adapter('json_is_valid') }}
{%- endmacro %}

{% macro duckdb__json_is_valid(expression) -%}
    json_valid({{ expression }})
{%- endmacro %}

{# PostgreSQL 15 has no `is json`: a function created at run start
   (create_engine_functions) catches the cast's error. #}
{% macro postgres__json_is_valid(expression) -%}
    {{ engine_function('credit_ledger_json_is_valid') }}({{ expression }})
{%- endmacro %}

{# A top-level key of a JSON text, as text; the caller checks validity. #}
{% macro json_key_text(expression, key) -%}
    {{ return(adapter.dispatch('json_key_text', 'credit_ledger')(expression, key)) }}
{%- endmacro %}

{% macro default__json_key_text(expression, key) -%}
    {{ not_supported_on_adapter('json_key_text') }}
{%- endmacro %}

{% macro duckdb__json_key_text(expression, key) -%}
    json_extract_string({{ expression }}, '$.{{ key }}')
{%- endmacro %}

{% macro postgres__json_key_text(expression, key) -%}
    case
        when json_typeof(cast({{ expression }} as json)) = 'object'
            then cast({{ expression }} as json) ->> '{{ key }}'
    end
{%- endmacro %}

{# One-way hash of personal data (hex sha256). #}
{% macro hash_personal_data(expression) -%}
    {{ return(adapter.dispatch('hash_personal_data', 'credit_ledger')(expression)) }}
{%- endmacro %}

{% macro default__hash_personal_data(expression) -%}
    sha2({{ expression }}, 256)
{%- endmacro %}

{% macro duckdb__hash_personal_data(expression) -%}
    sha256({{ expression }})
{%- endmacro %}

{% macro postgres__hash_personal_data(expression) -%}
    encode(sha256(convert_to({{ expression }}, 'UTF8')), 'hex')
{%- endmacro %}

{# Milli-credits to credits, for dashboards: DECIMAL(38, 3), exact (decimal
   arithmetic, no float) and wide enough for any BIGINT milli value. #}
{% macro to_credits(milli_expression) -%}
    cast(
        cast({{ milli_expression }} as decimal(38, 0))
        * {{ 1 / var('credit_scale') }}
        as decimal(38, 3)
    )
{%- endmacro %}

{# `meta_data` as JSON text, whatever type the export gave it: text stays
   as it is; a Parquet STRUCT, MAP or JSON column is written as JSON. #}
{% macro meta_data_text(expression) -%}
    {{ return(adapter.dispatch('meta_data_text', 'credit_ledger')(expression)) }}
{%- endmacro %}

{% macro default__meta_data_text(expression) -%}
    cast({{ expression }} as {{ dbt.type_string() }})
{%- endmacro %}

{% macro duckdb__meta_data_text(expression) -%}
    {# typeof() is the column's type, fixed per query: one branch applies #}
    case
        when typeof({{ expression }}) = 'VARCHAR'
            then cast({{ expression }} as varchar)
        else cast(to_json({{ expression }}) as varchar)
    end
{%- endmacro %}

{# The source columns whose text is present but does not parse, as one text
   (`credits, created_at`), null when every present value parsed. Takes a
   mapping of source column -> its parsed expression. #}
{% macro unparseable_columns(parsed_by_column) -%}
    nullif(concat_ws(
        ', '
        {%- for column, parsed in parsed_by_column.items() %},
        case
            when nullif(trim(cast({{ column }} as {{ dbt.type_string() }})), '') is not null
                and ({{ parsed }}) is null
                then '{{ column }}'
        end
        {%- endfor %}
    ), '')
{%- endmacro %}
