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

{# The "now" of a run: var `now` when set (reproducible builds and tests),
   else the time the run started (UTC). #}
{% macro ledger_now() -%}
    {%- if var('now') is none -%}
        {{ this_run_loaded_at() }}
    {%- else -%}
        {{ parse_utc_timestamp("'" ~ var('now') ~ "'") }}
    {%- endif -%}
{%- endmacro %}

{# The latest created_at a row may carry: the run's now plus
   `future_tolerance_hours` (clocks that run a little ahead). A row after it
   is quarantined as created_at_in_future, so one bad date never moves
   as_of or expiry for everyone. #}
{% macro ledger_now_bound() -%}
    {{ dbt.dateadd('hour', var('future_tolerance_hours'), ledger_now()) }}
{%- endmacro %}
