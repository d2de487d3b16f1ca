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
       profile pins the session time zone to UTC for offset-less text. Only
       timestamp_shape() is read: DuckDB alone would also take zone names
       (ICU's database, which PostgreSQL's and Java's do not match), 5-digit
       years, offsets with seconds and words such as `epoch` (1970-01-01). #}
    case
        when regexp_full_match(cast({{ expression }} as varchar), {{ timestamp_shape() }})
            then timezone('UTC', try_cast({{ expression }} as timestamptz))
    end
{%- endmacro %}

{# The timestamp spellings every engine reads (a regex without anchors):
   `YYYY-M-D`, then optionally a `T` or space, `h:m`, `:s`, a fraction and
   `Z`, `+hh`, `+hhmm` or `+hh:mm`; spaces around. #}
{% macro timestamp_shape() -%}
    ' *[0-9]{4}-[0-9][0-9]?-[0-9][0-9]?([T ][0-9][0-9]?:[0-9][0-9]?(:[0-9][0-9]?([.][0-9]*)?)?(Z|[+-][0-9][0-9](:?[0-9][0-9])?)?)? *'
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
                    y >= 0
                    and mo between 1 and 12
                    and d between 1 and extract(day from (
                        make_date(year_bc, least(greatest(mo, 1), 12), 1)
                        + interval '1 month' - interval '1 day'))
                    and mi <= 59
                    and s <= 59
                    and om <= 59
                    and (h <= 23 or (h = 24 and mi = 0 and s = 0 and us = 0))
                    then make_timestamp(year_bc, mo, d, 0, 0, 0)
                        + make_interval(hours => h, mins => mi)
                        + (s * 1000000 + us) * interval '1 microsecond'
                        - offset_sign * make_interval(hours => oh, mins => om)
            end
        from (
            select
                cast(split_part(date_text, '-', 1) as int) as y,
                -- year 0 (DuckDB's, ISO 8601) is 1 BC for PostgreSQL
                case
                    when cast(split_part(date_text, '-', 1) as int) = 0 then -1
                    else cast(split_part(date_text, '-', 1) as int)
                end as year_bc,
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
                            ~ ('^' || {{ timestamp_shape() }} || '$')
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
    {#- the shape first: DuckDB's cast alone also reads `+-1` as -1 -#}
    case
        when regexp_full_match(cast({{ expression }} as varchar), {{ number_shape() }})
            and isfinite(try_cast({{ expression }} as double))
            then try_cast({{ expression }} as double)
    end
{%- endmacro %}

{# PostgreSQL: the numbers DuckDB reads (signs, `.5`, `5.`, exponents of any
   length, `1_000`, ASCII spaces around), as the float nearest to the text:
   what strtod gives, 0 below half the least denormal, null from the
   largest float's rounding limit up (DuckDB: not finite). Never raises:
   exponents past 4 digits are decided without a numeric. #}
{% macro postgres__parse_float(expression) -%}
    (
        select
            case
                when huge_exponent
                    then case when exponent_sign = '-' or mantissa !~ '[1-9]' then 0 end
                when abs(number) <= 1e-320
                    then case
                        when abs(number) * power(cast(2 as numeric), 1075) > 1
                            then cast(digits as double precision)
                        else 0
                    end
                when abs(number) >= 1.7e308
                    then case
                        when abs(number)
                            < power(cast(2 as numeric), 1024) - power(cast(2 as numeric), 970)
                            then cast(digits as double precision)
                    end
                else cast(digits as double precision)
            end
        from (
            select
                digits,
                mantissa,
                exponent_sign,
                length(exponent_digits) > 4 as huge_exponent,
                case
                    when length(exponent_digits) <= 4 then cast(digits as numeric)
                end as number
            from ({{ postgres_number_parts('cast(' ~ expression ~ ' as text)') }}) as cut
        ) as parsed
    )
{%- endmacro %}

{# A number as DuckDB's casts read it, for a regex guard: ASCII white space
   around (what the casts skip), a sign, digits with `_` between them, an
   optional fraction and exponent. #}
{% macro number_shape() -%}
    {{ return(adapter.dispatch('number_shape', 'credit_ledger')()) }}
{%- endmacro %}

{% macro default__number_shape() -%}
    '^[ \t\n\v\f\r]*[+-]?([0-9]+(_[0-9]+)*([.]([0-9]+(_[0-9]+)*)?)?|[.][0-9]+(_[0-9]+)*)([eE][+-]?[0-9]+)?[ \t\n\v\f\r]*$'
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

{# PostgreSQL: DuckDB trims Unicode spaces first (its trim()); an exponent
   past 4 digits is 0 (negative) or out of range, decided without a numeric. #}
{% macro postgres__parse_decimal(expression) -%}
    (
        select
            case
                when length(exponent_digits) > 4
                    then case when exponent_sign = '-' or mantissa !~ '[1-9]' then 0 end
                when abs(round(cast(digits as numeric), 9)) < 1e29
                    then cast(cast(digits as numeric) as decimal(38, 9))
            end
        from (
            {{ postgres_number_parts(zs_trim('cast(' ~ expression ~ ' as text)')) }}
        ) as parsed
    )
{%- endmacro %}

{# PostgreSQL: the one row of `text` when it has number_shape(), cut up:
   its digits without `_`, the mantissa, the exponent's sign and its digits
   without leading zeros (empty without an exponent); no row otherwise. #}
{% macro postgres_number_parts(text) -%}
    select
        digits,
        split_part(lower(digits), 'e', 1) as mantissa,
        substring(digits from '[eE]([+-]?)') as exponent_sign,
        coalesce(substring(digits from '[eE][+-]?0*([0-9]*)'), '') as exponent_digits
    from (
        select replace(number_text, '_', '') as digits
        from (select {{ text }} as number_text) as raw
        where number_text ~ {{ number_shape() }}
    ) as shaped
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
                    when {{ zs_trim('cast(' ~ expression ~ ' as text)') }} ~ '^[+-]?[0-9]+([.]0*)?$'
                        then cast({{ zs_trim('cast(' ~ expression ~ ' as text)') }} as numeric)
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
            abs({{ scaled_float(credits_expression, var('credit_scale')) }})
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
        {{ scaled_float(credits_expression, var('credit_scale')) }}
        - {{ round_half_away(scaled_float(credits_expression, var('credit_scale'))) }}
    ) > {{ var('sub_milli_tolerance') }}
{%- endmacro %}

{# A float times a number, infinite when the product is out of range (as in
   DuckDB and Spark; PostgreSQL raises instead). #}
{% macro scaled_float(expression, factor) -%}
    {{ return(adapter.dispatch('scaled_float', 'credit_ledger')(expression, factor)) }}
{%- endmacro %}

{% macro default__scaled_float(expression, factor) -%}
    {{ expression }} * {{ factor }}
{%- endmacro %}

{% macro postgres__scaled_float(expression, factor) -%}
    (
        select
            case
                when abs(value) < 1e300 then value * {{ factor }}
                -- the product's rounding limit, from the value's numeric
                when abs(cast(value as numeric)) * {{ factor }}
                    < power(cast(2 as numeric), 1024) - power(cast(2 as numeric), 970)
                    then value * {{ factor }}
                else value * cast('Infinity' as double precision)
            end
        from (select {{ expression }} as value) as scaled
    )
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
    nullif(lower({{ zs_trim(expression) }}), '')
{%- endmacro %}

{# Text without the Unicode space separators (category Zs: U+0020, U+00A0,
   U+1680, U+2000-U+200A, U+202F, U+205F, U+3000) at either end: what
   DuckDB's trim() removes, which ids and decimals are read after. #}
{% macro zs_trim(expression) -%}
    {{ return(adapter.dispatch('zs_trim', 'credit_ledger')(expression)) }}
{%- endmacro %}

{% macro unicode_space_code_points() -%}
    {{ return([32, 160, 5760] + range(8192, 8203) | list + [8239, 8287, 12288]) }}
{%- endmacro %}

{% macro default__zs_trim(expression) -%}
    trim({{ expression }})
{%- endmacro %}

{% macro postgres__zs_trim(expression) -%}
    trim(both {% for code_point in unicode_space_code_points() -%}
        chr({{ code_point }}){{ ' || ' if not loop.last }}
    {%- endfor %} from {{ expression }})
{%- endmacro %}

{# Is the text valid JSON? Null text gives null. #}
{% macro json_is_valid(expression) -%}
    {{ return(adapter.dispatch('json_is_valid', 'credit_ledger')(expression)) }}
{%- endmacro %}

{% macro default__json_is_valid(expression) -%}
    {{ not_supported_on_adapter('json_is_valid') }}
{%- endmacro %}

{# Strict JSON (RFC 8259), as PostgreSQL and Spark read it. DuckDB's reader
   also takes NaN, Infinity and trailing commas: outside the strings (each
   blanked first) they make the text malformed. An object with a repeated
   top-level key is malformed too: engines disagree on which value such a
   key has (DuckDB the first, PostgreSQL the last; Spark refuses it). #}
{% macro duckdb__json_is_valid(expression) -%}
    case
        when {{ expression }} is null then null
        when not json_valid({{ expression }}) then false
        when regexp_matches(
            regexp_replace({{ expression }}, '"([^"\\]|\\.)*"', '""', 'g'),
            '(?i)nan|inf|,[ \t\n\r]*[\]}]'
        ) then false
        when json_type({{ expression }}) = 'OBJECT'
            then len(json_keys({{ expression }}))
            = len(list_distinct(json_keys({{ expression }})))
        else true
    end
{%- endmacro %}

{# PostgreSQL 15 has no `is json`: a function created at run start
   (create_engine_functions) catches the cast's error and refuses a
   repeated top-level key. #}
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
            -- `\u0000` cannot become text: PostgreSQL raises reading any key
            then cast(replace({{ expression }}, '\u0000', '\ufffd') as json) ->> '{{ key }}'
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
            when nullif({{ zs_trim('cast(' ~ column ~ ' as ' ~ dbt.type_string() ~ ')') }}, '')
                is not null
                and ({{ parsed }}) is null
                then '{{ column }}'
        end
        {%- endfor %}
    ), '')
{%- endmacro %}
