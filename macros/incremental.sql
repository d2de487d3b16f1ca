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

{# The columns of the credit_histories source, in order. #}
{% macro ledger_source_columns() -%}
    {{ return(['id', 'user_id', 'credit_event_id', 'creditable_type',
        'creditable_id', 'amount', 'previous_amount', 'description',
        'meta_data', 'created_at', 'updated_at']) }}
{%- endmacro %}

{# A hash of a credit_histories row's whole content, as exported (NULL and
   empty text differ). Two versions of a row differ in it when any column,
   updated_at included, does. #}
{% macro ledger_row_hash() -%}
    {{ return(adapter.dispatch('ledger_row_hash', 'credit_ledger')()) }}
{%- endmacro %}

{% macro default__ledger_row_hash() -%}
    md5(concat_ws('|'
        {%- for column_name in ledger_source_columns() -%}
            , coalesce(cast({{ column_name }} as varchar) || '.', '')
        {%- endfor -%}
    ))
{%- endmacro %}

{# DuckDB's 64-bit hash of the columns: about 3x cheaper than md5 at 10^7
   rows. It is stable for a DuckDB version; a new version that hashed
   differently would make every row look new, and the run stop as "another
   ledger" (base_ledger__credit_history_changes) until a --full-refresh. #}
{% macro duckdb__ledger_row_hash() -%}
    hash({{ ledger_source_columns() | join(', ') }})
{%- endmacro %}

{# The tie rule between two versions of an id written at the same
   updated_at (base_ledger__credit_histories): the larger of this hash wins.
   md5 of the version's values as staging reads them (trimmed texts,
   parsed ids), the same on every engine: the engine's own row hash
   (ledger_row_hash) differs between engines. Versions that tie on it carry
   the same values downstream. Computed on repeated keys only. #}
{% macro ledger_version_hash() -%}
    md5(concat_ws('|'
        {%- for column_name in ['id_text', 'user_id_text', 'credit_event_id',
            'creditable_type', 'creditable_id', 'amount_text',
            'previous_amount_text', 'description', 'meta_data', 'created_at_text'] -%}
            , coalesce(cast({{ column_name }} as {{ type_text() }}) || '.', '')
        {%- endfor -%}
    ))
{%- endmacro %}

{# The key a row is compared and replaced by: its parsed id, else (no
   parseable id) its content hash. #}
{% macro ledger_row_key(id_expression, hash_expression) -%}
    {{ return(adapter.dispatch('ledger_row_key', 'credit_ledger')(
        id_expression, hash_expression)) }}
{%- endmacro %}

{% macro default__ledger_row_key(id_expression, hash_expression) -%}
    coalesce('id:' || cast({{ id_expression }} as varchar), {{ hash_expression }})
{%- endmacro %}

{% macro duckdb__ledger_row_key(id_expression, hash_expression) -%}
    case
        when {{ id_expression }} is not null then hash({{ id_expression }}, 'id')
        else {{ hash_expression }}
    end
{%- endmacro %}

{# Pre-hook of base_ledger__credit_histories: the loaded rows of every key
   the export changed (base_ledger__credit_history_changes) go before the
   export's rows of those keys are parsed in. #}
{% macro delete_changed_rows() -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where source_row_key in (
            select source_row_key
            from {{ ref('base_ledger__credit_history_changes') }}
            where change_kind = 'drop'
        )
    {%- endif -%}
{%- endmacro %}

{# The relation of a model of this project where a ref would put it, if it
   exists in the database (read without a ref, e.g. a model downstream). #}
{% macro existing_relation_of(model_name) -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set node = graph.nodes.get('model.' ~ project_name ~ '.' ~ model_name) -%}
    {%- if node is none -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(adapter.get_relation(
        database=node.database, schema=node.schema, identifier=node.alias)) }}
{%- endmacro %}

{# The time this run started (UTC): stamped on the base rows it (re)loaded,
   and its "now" unless the var sets one. #}
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
