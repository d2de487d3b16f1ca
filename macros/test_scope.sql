{#
    Test scope (DECISIONLOG.md, "Incremental builds"): the data tests of an
    incremental run check only the rows the run could have rewritten; a
    `--full-refresh` run (or var `test_scope: all`) checks everything.

    Why this is sound: an incremental run deletes and rebuilds whole users
    (int_affected_users) in the user-grained models and leaves every other
    user's rows as they were, and those rows were tested by the run that
    wrote them. The checks are per row or per user, and a unique key of these
    models never spans two users, so a duplicate or a broken identity among
    rewritten rows shows up within the scope. The models and what each keeps
    in scope are listed in `test_scope_models()`; everything else (seeds,
    sources, dimensions, small aggregates rebuilt whole) is tested whole.
#}

{# The scoped models and the rows of theirs a run can rewrite:
   users             rows of the users the run recomputed (int_affected_users);
   base_rows         base_ledger__credit_histories and the two views over it:
   clean_rows        the same, plus the rows (re)loaded since the last run
   quarantined_rows  that passed (macros/build_runs.sql), that run's included:
                     their tests can run before int_affected_users is rebuilt
                     (it is downstream of base), a run that did not pass may
                     have loaded rows no later model saw, and a quarantined
                     row may have no user;
   user_days         fct_burn_rate_daily: the same as users, plus the days
                     carried forward for every other user (from the earlier
                     of the previous and the new as_of, int_ledger_as_of).
   A row with a null user_id is always in scope, so that not_null tests on
   user_id keep their meaning. #}
{% macro test_scope_models() -%}
    {{ return({
        'base_ledger__credit_histories': 'base_rows',
        'stg_ledger__credit_histories': 'clean_rows',
        'stg_ledger__quarantined_credit_histories': 'quarantined_rows',
        'int_ledger_entries': 'users',
        'int_ledger_balances': 'users',
        'int_fifo_events': 'users',
        'int_credit_allocations': 'users',
        'int_credit_lots': 'users',
        'int_user_balances': 'users',
        'fct_credit_transactions': 'users',
        'fct_ledger_reconciliation': 'users',
        'fct_burn_rate_daily': 'user_days',
        'int_user_daily_burn_by_plan': 'users',
        'int_user_monthly_burn_by_service': 'users',
    }) }}
{%- endmacro %}

{# The relation of a model of this project where a ref would put it, if it
   exists in the database (read without a ref: a test must not depend on
   int_affected_users, which is downstream of base). #}
{% macro test_scope_existing_relation(model_name) -%}
    {{ return(adapter.dispatch('test_scope_existing_relation', 'credit_ledger')(model_name)) }}
{%- endmacro %}

{#- Asked of the database, not only of dbt's relation cache: a model that
    another thread is creating is in the cache before its transaction
    commits, and a test reading it then fails (a first build's
    int_affected_users while staging is tested). -#}
{% macro default__test_scope_existing_relation(model_name) -%}
    {%- set relation = existing_relation_of(model_name) -%}
    {%- if relation is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set committed = run_query(
        "select count(*) from information_schema.tables where table_catalog = '"
        ~ relation.database ~ "' and table_schema = '" ~ relation.schema
        ~ "' and table_name = '" ~ relation.identifier ~ "'") -%}
    {{ return(relation if committed.rows[0][0] > 0 else none) }}
{%- endmacro %}

{#- Spark has no transactions: the cache is what the metastore holds. -#}
{% macro spark__test_scope_existing_relation(model_name) -%}
    {{ return(existing_relation_of(model_name)) }}
{%- endmacro %}

{# True when the current test is to be scoped: not --full-refresh, var
   test_scope = changed, int_affected_users exists (tests that run before a
   first build creates it are whole; after that it lists every user), and
   the test reads no source (a source cannot be cut to what a run rewrote,
   so a test comparing with one, e.g. rows in = rows loaded, needs the
   whole model). #}
{% macro test_scope_is_active() -%}
    {%- set mode = var('test_scope', 'changed') -%}
    {%- if mode not in ('changed', 'all') -%}
        {{ exceptions.raise_compiler_error(
            "var test_scope must be 'changed' or 'all', not '" ~ mode ~ "'") }}
    {%- endif -%}
    {%- if not execute or is_full_refresh() or mode == 'all' -%}
        {{ return(false) }}
    {%- endif -%}
    {%- if model is mapping and model.get('sources') -%}
        {{ return(false) }}
    {%- endif -%}
    {{ return(test_scope_existing_relation('int_affected_users') is not none) }}
{%- endmacro %}

{# The rows of users the last run recomputed (and rows without a user). #}
{% macro test_scope_users(column='user_id') -%}
    {%- set affected = test_scope_existing_relation('int_affected_users') -%}
    ({{ column }} is null or {{ column }} in ({{ test_scope_user_ids(affected) }}))
{%- endmacro %}

{# The query listing the affected users' ids. #}
{% macro test_scope_user_ids(affected) -%}
    {{ return(adapter.dispatch('test_scope_user_ids')(affected)) }}
{%- endmacro %}

{% macro default__test_scope_user_ids(affected) -%}
    select user_id from {{ affected }}
{%- endmacro %}

{# DuckDB: ids gathered into a list and unnested, so that the join planner
   builds its hash table on them. With the plain subquery it builds it on
   the tested side when that is a view with an inequality join it
   underestimates (int_fifo_events, as_of cross joins): 10^7 rows hashed,
   0.95 s instead of 0.26 s per test at 10^7 rows. #}
{% macro duckdb__test_scope_user_ids(affected) -%}
    select unnest(list(user_id)) from {{ affected }}
{%- endmacro %}

{# The predicate that keeps the rows of model `model_name` the last run
   could have rewritten; none when the model is not scoped (or the test
   is not). `days_before` widens the carried-forward days of
   fct_burn_rate_daily, for checks that compare a day with the day before. #}
{% macro test_scope_predicate(model_name, days_before=0) -%}
    {%- set kind = test_scope_models().get(model_name) -%}
    {%- if kind is none or not test_scope_is_active() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set users = test_scope_users() -%}
    {%- if kind == 'users' -%}
        {{ return(users) }}
    {%- endif -%}

    {%- if kind in ('base_rows', 'clean_rows', 'quarantined_rows') -%}
        {%- set base = test_scope_existing_relation('base_ledger__credit_histories') -%}
        {%- if base is none -%}
            {{ return(none) }}
        {%- endif -%}
        {#- the rows loaded since the last run that passed (that run's
            included); every row when no run is recorded -#}
        {%- set runs = build_runs_relation() -%}
        {%- if adapter.get_relation(database=runs.database, schema=runs.schema,
            identifier=runs.identifier) is none -%}
            {{ return(none) }}
        {%- endif -%}
        {%- set latest_load -%}
            loaded_at >= coalesce(
                (
                    select max(run_started_at) from {{ runs }}
                    where passed and invocation_id != '{{ invocation_id }}'
                ),
                (select min(loaded_at) from {{ base }})
            )
        {%- endset -%}
        {%- if kind == 'base_rows' -%}
            {{ return(users ~ ' or ' ~ latest_load) }}
        {%- elif kind == 'clean_rows' -%}
            {{ return(users ~ ' or credit_history_id in (select credit_history_id from '
                ~ base ~ ' where quarantine_reason is null and ' ~ latest_load ~ ')') }}
        {%- else -%}
            {{ return(users ~ ' or source_row_hash in (select source_row_hash from '
                ~ base ~ ' where ' ~ latest_load ~ ')') }}
        {%- endif -%}
    {%- endif -%}

    {#- user_days: an as_of row written before previous_as_of existed
        cannot bound the carried days: test the whole model -#}
    {%- set as_of = test_scope_existing_relation('int_ledger_as_of') -%}
    {%- if as_of is none
        or 'previous_as_of' not in adapter.get_columns_in_relation(as_of)
        | map(attribute='name') | map('lower') | list -%}
        {{ return(none) }}
    {%- endif -%}
    {#- without a previous as_of (first build) the new as_of bounds them;
        so does the previous build's row if this one is not rebuilt yet -#}
    {%- set first_day -%}
        cast(least(coalesce(previous_as_of, as_of), as_of) as date)
    {%- endset -%}
    {%- if days_before -%}
        {%- set first_day = dbt.dateadd('day', -days_before, first_day) -%}
    {%- endif -%}
    {{ return(users ~ ' or activity_date >= (select ' ~ first_day ~ ' from ' ~ as_of ~ ')') }}
{%- endmacro %}

{# `relation` cut to the rows in scope of model `scope_of` (default: its
   own), as a subquery; the relation itself when unscoped. #}
{% macro test_scope_subquery(relation, scope_of=none) -%}
    {%- set predicate = test_scope_predicate(scope_of or relation.identifier) -%}
    {%- if predicate is none -%}
        {{ return(relation) }}
    {%- endif -%}
    {{ return('(select * from ' ~ relation ~ ' where ' ~ predicate ~ ') as test_scoped') }}
{%- endmacro %}

{# The identifier of the model the current generic test is attached to (a
   test macro's `model` argument hides the test node of the context). #}
{% macro test_scope_tested_model() -%}
    {%- if not execute or model is not mapping or not model.get('attached_node') -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set node = graph.nodes.get(model.attached_node) -%}
    {{ return(node.alias if node is not none else none) }}
{%- endmacro %}

{# dbt's macro that renders the `model` argument of every generic test:
   honours the test's `where` config, as dbt's default does, and adds the
   test scope. #}
{% macro get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set where = config.get('where') -%}
    {%- if where -%}
        {%- do conditions.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- set scope = test_scope_predicate(relation.identifier) -%}
    {%- if scope is not none -%}
        {%- do conditions.append('(' ~ scope ~ ')') -%}
    {%- endif -%}
    {%- if not conditions -%}
        {{ return(relation) }}
    {%- endif -%}
    {{ return('(select * from ' ~ relation ~ ' where ' ~ conditions | join(' and ')
        ~ ') dbt_subquery') }}
{%- endmacro %}

{# For singular tests: the row belongs to a user the last run recomputed
   (or has no user); `true` when the test is not scoped. #}
{% macro in_test_scope(column='user_id') -%}
    {%- if test_scope_is_active() -%}
        {{ test_scope_users(column) }}
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{# For singular tests: the row of model `model_name` is in its scope (see
   test_scope_predicate); `true` when unscoped. #}
{% macro in_test_scope_of(model_name, days_before=0) -%}
    {%- set predicate = test_scope_predicate(model_name, days_before) -%}
    {%- if predicate is none -%}
        true
    {%- else -%}
        ({{ predicate }})
    {%- endif -%}
{%- endmacro %}
