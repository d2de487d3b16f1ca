{#
    Build runs (DECISIONLOG.md, "Incremental builds"). An incremental run
    resumes users from state that several models hold (the state models:
    every incremental model, and int_ledger_as_of). That state is
    consistent only when the run that wrote it built every one of them and
    passed. A run that failed, stopped partway or built only some of them
    leaves state the next run cannot resume from.

    So every `dbt run` or `dbt build` that writes a state model is recorded
    in the table `credit_ledger_build_runs` (in the target's own schema):
    on-run-start adds it as not passed, on-run-end marks it passed when every
    model of the project was built and no node failed, errored or was
    skipped (and it was not an `--empty` run). A run killed before its end
    stays not passed; so does `dbt retry` (it is not recorded). If recording
    the start fails, no node runs (flag skip_nodes_if_on_run_start_fails).
    int_affected_users rebuilds every user (as a full refresh would, without
    re-reading the export) when the latest earlier recorded run did not
    pass, and the data tests of base and staging then check every row
    loaded since the last run that passed (macros/test_scope.sql).
#}

{% macro build_runs_relation() -%}
    {{ return(api.Relation.create(
        database=target.get('database'), schema=target.schema,
        identifier='credit_ledger_build_runs')) }}
{%- endmacro %}

{# The unique ids of the state models. #}
{% macro state_model_ids() -%}
    {%- set ids = [] -%}
    {%- for node in graph.nodes.values() -%}
        {%- if node.resource_type == 'model' and node.package_name == project_name
            and (node.config.materialized == 'incremental'
                 or node.name == 'int_ledger_as_of') -%}
            {%- do ids.append(node.unique_id) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(ids) }}
{%- endmacro %}

{# True when this invocation is a run or build that selects a state model. #}
{% macro writes_state_models() -%}
    {%- if not execute or flags.WHICH not in ('run', 'build') -%}
        {{ return(false) }}
    {%- endif -%}
    {%- for unique_id in state_model_ids() -%}
        {%- if unique_id in selected_resources -%}
            {{ return(true) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(false) }}
{%- endmacro %}

{# on-run-start: record this run as not passed (yet). #}
{% macro start_build_run() -%}
    {%- if writes_state_models() -%}
        {{ return(adapter.dispatch('start_build_run', 'credit_ledger')()) }}
    {%- endif -%}
{%- endmacro %}

{% macro default__start_build_run() -%}
    {%- set runs = build_runs_relation() %}
    create schema if not exists {{ adapter.quote(runs.schema) }};
    create table if not exists {{ runs }} ({{ build_runs_columns() }});
    insert into {{ runs }} {{ new_build_run_row(runs) }};
    {{ build_runs_commit() }}
{%- endmacro %}

{# The run log's columns (every engine). #}
{% macro build_runs_columns() -%}
    run_number bigint,
    invocation_id {{ type_text() }},
    run_started_at timestamp,
    command {{ type_text() }},
    is_full_refresh boolean,
    passed boolean,
    finished_at timestamp
{%- endmacro %}

{# This run's row, in the order of build_runs_columns(): the next run
   number, not passed (yet), not finished. #}
{% macro new_build_run_row(runs) -%}
    select
        coalesce(max(run_number), 0) + 1,
        '{{ invocation_id }}',
        {{ this_run_loaded_at() }},
        '{{ flags.WHICH }}',
        {{ is_full_refresh() | string | lower }},
        false,
        cast(null as timestamp)
    from {{ runs }}
{%- endmacro %}

{# on-run-end: mark this run passed when every model of the project was
   built (the state models and the tables they read in the same run) and no
   node failed, errored or was skipped; an --empty run never passes. #}
{% macro finish_build_run(results) -%}
    {%- if writes_state_models() -%}
        {{ return(adapter.dispatch('finish_build_run', 'credit_ledger')(
            build_run_passed(results))) }}
    {%- endif -%}
{%- endmacro %}

{# Whether every model of the project was built and no node failed. #}
{% macro build_run_passed(results) -%}
    {%- set statuses = {} -%}
    {%- for result in results -%}
        {%- do statuses.update({result.node.unique_id: result.status | string}) -%}
    {%- endfor -%}
    {%- set passed = namespace(value=not flags.EMPTY) -%}
    {%- for node in graph.nodes.values() -%}
        {%- if node.resource_type == 'model' and node.package_name == project_name
            and node.config.enabled
            and statuses.get(node.unique_id) != 'success' -%}
            {%- set passed.value = false -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for status in statuses.values() -%}
        {%- if status in ('error', 'fail', 'skipped', 'runtime error') -%}
            {%- set passed.value = false -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(passed.value) }}
{%- endmacro %}

{% macro default__finish_build_run(passed) %}
    update {{ build_runs_relation() }}
    set
        passed = {{ passed | string | lower }},
        finished_at = {{ dbt.current_timestamp() }}
    where invocation_id = '{{ invocation_id }}';
    {{ build_runs_commit() }}
{%- endmacro %}

{# Hooks run outside dbt's transactions; DuckDB commits each statement, other
   adapters may need an explicit commit. #}
{% macro build_runs_commit() -%}
    {{ return(adapter.dispatch('build_runs_commit')()) }}
{%- endmacro %}

{% macro default__build_runs_commit() -%}
    commit
{%- endmacro %}

{% macro duckdb__build_runs_commit() -%}
{%- endmacro %}

{# Whether the latest recorded run before this one passed (false when there
   is none: state written before runs were recorded is not trusted). Read
   when a model is executed. (`passed desc`: on Spark a run has two rows,
   its start and its end, macros/spark/build_runs.sql.) #}
{% macro previous_build_run_passed() -%}
    {%- if not execute -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set runs = build_runs_relation() -%}
    {%- if adapter.get_relation(
        database=runs.database, schema=runs.schema, identifier=runs.identifier) is none -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set latest = run_query(
        'select passed from ' ~ runs ~ " where invocation_id != '" ~ invocation_id
        ~ "' order by run_number desc, passed desc limit 1") -%}
    {{ return(latest.rows | length > 0 and latest.rows[0][0] == true) }}
{%- endmacro %}
