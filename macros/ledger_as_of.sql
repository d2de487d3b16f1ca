{#
    The UTC timestamp up to which lots expire and FIFO state is evaluated:
    var `as_of` when set, else the latest `occurred_at` of the clean ledger,
    so that a rebuild over the same ledger is reproducible.
#}
{% macro ledger_as_of() -%}
    {%- if var('as_of') is none -%}
        (select max(occurred_at) from {{ ref('int_ledger_entries') }})
    {%- else -%}
        {{ parse_utc_timestamp("'" ~ var('as_of') ~ "'") }}
    {%- endif -%}
{%- endmacro %}
