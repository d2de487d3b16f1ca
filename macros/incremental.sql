{#
    Helpers of the incremental strategy (DECISIONLOG.md, "Incremental
    builds"). int_affected_users lists the users a run recomputes: a rebuilt
    user's rows are deleted (pre-hook) and recomputed from the first row; a
    resumed user keeps their rows and only gains rows after their last
    processed one. Every other user is untouched.
#}

{# Predicate: the row belongs to a user this run recomputes, rebuilt or
   resumed (always true on a full refresh). Models using it declare
   `-- depends_on: {{ ref('int_affected_users') }}`. #}
{% macro is_affected_user(column='user_id') -%}
    {%- if is_incremental() -%}
        {{ column }} in (select user_id from {{ ref('int_affected_users') }})
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{# Join clause (after `from <model> as <alias>`): keeps the rows this run
   (re)computes: every row of a rebuilt user, and a resumed user's rows after
   their last processed (occurred_at, id). Nothing on a full refresh. (A join
   on the unique user_id, not an EXISTS: DuckDB runs it as a hash join.) #}
{% macro join_rows_to_compute(
    relation_alias, at_column='occurred_at', id_column='credit_history_id'
) -%}
    {%- if is_incremental() -%}
        inner join {{ ref('int_affected_users') }} as {{ relation_alias }}_affected
            on
                {{ relation_alias }}_affected.user_id = {{ relation_alias }}.user_id
                and (
                    {{ relation_alias }}_affected.is_rebuilt
                    or {{ relation_alias }}.{{ at_column }}
                    > {{ relation_alias }}_affected.resume_after_at
                    or (
                        {{ relation_alias }}.{{ at_column }}
                        = {{ relation_alias }}_affected.resume_after_at
                        and {{ relation_alias }}.{{ id_column }}
                        > {{ relation_alias }}_affected.resume_after_id
                    )
                )
    {%- endif -%}
{%- endmacro %}

{# Pre-hook: remove the rebuilt users' rows before they are recomputed. #}
{% macro delete_rebuilt_users(column='user_id') -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where {{ column }} in (
            select user_id from {{ ref('int_affected_users') }} where is_rebuilt
        )
    {%- endif -%}
{%- endmacro %}

{# Pre-hook: remove every affected user's rows (models with one row per
   user, recomputed whole). #}
{% macro delete_affected_users(column='user_id') -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where {{ column }} in (select user_id from {{ ref('int_affected_users') }})
    {%- endif -%}
{%- endmacro %}

{# The timestamp stamped on the base rows this run (re)loaded. #}
{% macro this_run_loaded_at() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp)
{%- endmacro %}

{# Pre-hook of int_credit_allocations: the rebuilt users' pieces, and the
   resumed users' unfunded pieces (int_fifo_carryover replays those debts). #}
{% macro delete_rebuilt_users_and_unpaid_debts() -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where
            user_id in (
                select user_id from {{ ref('int_affected_users') }} where is_rebuilt
            )
            or (
                allocation_kind = 'unfunded'
                and user_id in (
                    select user_id from {{ ref('int_affected_users') }}
                    where not is_rebuilt
                )
            )
    {%- endif -%}
{%- endmacro %}

{# Pre-hook of fct_burn_rate_daily: the rows it recomputes. A rebuilt
   user's rows; every user's days from the earlier of the two as_of dates
   (the previous build's last day may have been partial; days after a new,
   earlier as_of go); a resumed user's days from their first new row.
   Three statements, each a plain filter or hash join on the big table. #}
{% macro delete_daily_rows_to_recompute() -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where user_id in (
            select user_id from {{ ref('int_affected_users') }} where is_rebuilt
        );
        delete from {{ this }}
        where activity_date >= (
            select cast(least(coalesce(previous_as_of, as_of), as_of) as date)
            from {{ ref('int_ledger_as_of') }}
        );
        delete from {{ this }}
        using {{ ref('int_affected_users') }} as resumed
        where
            resumed.user_id = {{ this }}.user_id
            and not resumed.is_rebuilt
            and {{ this }}.activity_date >= resumed.resume_from_date
    {%- endif -%}
{%- endmacro %}

{# Join clause (after `from <model> as <alias>`) for per-user rollups by
   period: every row of a rebuilt user, and a resumed user's rows in the
   periods from their resume_from_date on (`period`: 'day' or 'month').
   Nothing on a full refresh. #}
{% macro join_periods_to_compute(relation_alias, date_column, period) -%}
    {%- if is_incremental() -%}
        inner join {{ ref('int_affected_users') }} as {{ relation_alias }}_affected
            on
                {{ relation_alias }}_affected.user_id = {{ relation_alias }}.user_id
                and (
                    {{ relation_alias }}_affected.is_rebuilt
                    or {{ relation_alias }}.{{ date_column }}
                    >= cast({{ dbt.date_trunc(
                        period, relation_alias ~ '_affected.resume_from_date') }} as date)
                )
    {%- endif -%}
{%- endmacro %}

{# Pre-hook of the per-user rollups: the rows join_periods_to_compute
   recomputes (`period_column` holds the period's first day). #}
{% macro delete_user_periods_to_recompute(period_column, period) -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where user_id in (
            select user_id from {{ ref('int_affected_users') }} where is_rebuilt
        );
        delete from {{ this }}
        using {{ ref('int_affected_users') }} as resumed
        where
            resumed.user_id = {{ this }}.user_id
            and not resumed.is_rebuilt
            and {{ this }}.{{ period_column }}
            >= cast({{ dbt.date_trunc(period, 'resumed.resume_from_date') }} as date)
    {%- endif -%}
{%- endmacro %}
