{#
    Helpers of the incremental strategy (DECISIONLOG.md, "Incremental
    builds"): user-grained models delete the affected users' rows before the
    run (pre-hook) and append them rebuilt; every other user is untouched.
#}

{# Predicate: the row belongs to a user this run recomputes (always true on
   a full refresh). Models using it declare
   `-- depends_on: {{ ref('int_affected_users') }}`. #}
{% macro is_affected_user(column='user_id') -%}
    {%- if is_incremental() -%}
        {{ column }} in (select user_id from {{ ref('int_affected_users') }})
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{# Pre-hook: remove the affected users' rows before they are rebuilt. #}
{% macro delete_affected_users(column='user_id') -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where {{ column }} in (select user_id from {{ ref('int_affected_users') }})
    {%- endif -%}
{%- endmacro %}

{# Pre-hook of fct_burn_rate_daily: drop days after as_of (when as_of was
   moved back). #}
{% macro delete_days_after_as_of() -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where activity_date > (select cast({{ ledger_as_of() }} as date))
    {%- endif -%}
{%- endmacro %}

{# The timestamp stamped on the base rows this run (re)loaded. #}
{% macro this_run_loaded_at() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp)
{%- endmacro %}
