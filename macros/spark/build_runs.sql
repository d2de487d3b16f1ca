{#
    The run log (macros/build_runs.sql) on Spark. A session runs one
    statement per call, knows no COMMIT, and a plain Parquet table takes no
    UPDATE: the table is created by separate calls, and a run is recorded
    by two appended rows, its start (passed false, no finished_at) and its
    end (passed as it ended, finished_at set). A run killed before its end
    keeps only the first. Readers take a run's latest row
    (previous_build_run_passed orders by passed desc) or its passed rows.
#}
{% macro spark__start_build_run() -%}
    {%- set runs = build_runs_relation() -%}
    {%- do run_query('create schema if not exists ' ~ runs.schema) -%}
    {%- call statement('create_build_runs') -%}
        create table if not exists {{ runs }} ({{ build_runs_columns() }}) using parquet
    {%- endcall %}
    insert into {{ runs }} {{ new_build_run_row(runs) }}
{%- endmacro %}

{% macro spark__finish_build_run(passed) %}
    insert into {{ build_runs_relation() }}
    select
        run_number,
        invocation_id,
        run_started_at,
        command,
        is_full_refresh,
        {{ passed | string | lower }},
        current_timestamp()
    from {{ build_runs_relation() }}
    where invocation_id = '{{ invocation_id }}' and finished_at is null
{%- endmacro %}
