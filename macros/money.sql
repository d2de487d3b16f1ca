{#
    Exact integer arithmetic for money and projections (DECISIONLOG.md, 12).
    Products of credits, money and microseconds outgrow BIGINT, so the
    factors are widened before they are multiplied; results fit BIGINT again.
#}

{# An integer type wide enough for a product of two or three BIGINTs. #}
{% macro wide_integer() -%}
    {{ return(adapter.dispatch('wide_integer', 'credit_ledger')()) }}
{%- endmacro %}

{% macro default__wide_integer() -%}
    decimal(38, 0)
{%- endmacro %}

{% macro duckdb__wide_integer() -%}
    hugeint
{%- endmacro %}

{# Integer division of non-negative wide integers, rounded down. #}
{% macro floor_divide(numerator, denominator) -%}
    {{ return(adapter.dispatch('floor_divide', 'credit_ledger')(numerator, denominator)) }}
{%- endmacro %}

{% macro default__floor_divide(numerator, denominator) -%}
    floor(({{ numerator }}) / ({{ denominator }}))
{%- endmacro %}

{% macro duckdb__floor_divide(numerator, denominator) -%}
    (({{ numerator }}) // ({{ denominator }}))
{%- endmacro %}

{# product(numerator_factors) / product(denominator_factors), rounded half
   away from zero, as a BIGINT: floor((2n + d) / 2d). Every factor must be a
   non-negative integer and the denominator positive. #}
{% macro round_ratio(numerator_factors, denominator_factors) -%}
    {%- set n = [] -%}
    {%- for factor in numerator_factors -%}
        {%- do n.append('cast(' ~ factor ~ ' as ' ~ wide_integer() ~ ')') -%}
    {%- endfor -%}
    {%- set d = [] -%}
    {%- for factor in denominator_factors -%}
        {%- do d.append('cast(' ~ factor ~ ' as ' ~ wide_integer() ~ ')') -%}
    {%- endfor -%}
    cast({{ floor_divide(
        '2 * ' ~ (n | join(' * ')) ~ ' + ' ~ (d | join(' * ')),
        '2 * ' ~ (d | join(' * '))
    ) }} as bigint)
{%- endmacro %}

{# Currency units (a float) to integer minor units, rounding half away from
   zero; null when unparseable or a trillion units or more (not a price). #}
{% macro to_minor_units(units_expression) -%}
    case
        when abs({{ units_expression }}) < 1e12
            then cast({{ round_half_away(units_expression ~ ' * ' ~ var('currency_minor_units')) }} as bigint)
    end
{%- endmacro %}

{# Parts per million of a rate or price read from a seed, as an integer:
   seed decimals are read once, exactly, and every later step is integer. #}
{% macro to_millionths(expression) -%}
    cast(round(cast({{ expression }} as decimal(24, 6)) * 1000000) as bigint)
{%- endmacro %}

{# The revenue a lot has recognised once `used_milli` of its credits are
   used (consumed or repaid), cumulative (contract section 9):
     at_expiry     value * used / granted
     proportional  min(value, value * used / (granted * (1 - r)))
   with r the expected breakage rate of the lot's credit type in millionths.
   With r = 0 the two are the same figure. #}
{% macro usage_revenue_minor(value_minor, used_milli, granted_milli, breakage_rate_ppm) -%}
    {%- set method = var('breakage_method') -%}
    {%- if method == 'at_expiry' -%}
        {{ round_ratio([value_minor, used_milli], [granted_milli]) }}
    {%- elif method == 'proportional' -%}
        least(
            {{ value_minor }},
            {{ round_ratio(
                [value_minor, used_milli, 1000000],
                [granted_milli, '(1000000 - ' ~ breakage_rate_ppm ~ ')']
            ) }}
        )
    {%- else -%}
        {{ exceptions.raise_compiler_error(
            "var breakage_method is '" ~ method
            ~ "': set it to at_expiry or proportional (dbt_project.yml).") }}
    {%- endif -%}
{%- endmacro %}
