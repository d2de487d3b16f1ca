{#
    Type names per adapter. Models and macros spell text and float columns
    through these, so that a cast or a contract means the same type on every
    engine (PostgreSQL has no `double`, and its `varchar` is a different type
    from the `text` its string functions return).
#}

{# Free text, any length. #}
{% macro type_text() -%}
    {{ return(adapter.dispatch('type_text', 'credit_ledger')()) }}
{%- endmacro %}

{% macro default__type_text() -%}
    {{ dbt.type_string() }}
{%- endmacro %}

{% macro duckdb__type_text() -%}
    varchar
{%- endmacro %}

{% macro postgres__type_text() -%}
    text
{%- endmacro %}

{# A 64-bit float. #}
{% macro type_float() -%}
    {{ return(adapter.dispatch('type_float', 'credit_ledger')()) }}
{%- endmacro %}

{% macro default__type_float() -%}
    {{ dbt.type_float() }}
{%- endmacro %}

{% macro duckdb__type_float() -%}
    double
{%- endmacro %}

{% macro postgres__type_float() -%}
    double precision
{%- endmacro %}

{#
    Contracts. The models' YAML names column types the DuckDB way (`varchar`,
    `double`, `bigint`, ...): properties files cannot call macros. On another
    adapter `contract_data_type` translates each name, and the adapter's
    contract macros below read the translated columns, for both the table
    DDL and the check that the model's SQL gives those types.
#}
{% macro contract_data_type(data_type) -%}
    {{ return(adapter.dispatch('contract_data_type', 'credit_ledger')(data_type)) }}
{%- endmacro %}

{% macro default__contract_data_type(data_type) -%}
    {{ return(data_type) }}
{%- endmacro %}

{% macro postgres__contract_data_type(data_type) -%}
    {%- set translated = {
        'varchar': 'text',
        'string': 'text',
        'double': 'double precision',
        'hugeint': 'numeric(38, 0)',
    } -%}
    {{ return(translated.get(data_type | trim | lower, data_type)) }}
{%- endmacro %}

{# The model's YAML columns with their types translated for this adapter. #}
{% macro contract_columns() -%}
    {%- set columns = {} -%}
    {%- for name, column in model['columns'].items() -%}
        {%- set translated = {} -%}
        {%- do translated.update(column) -%}
        {%- if column.get('data_type') -%}
            {%- do translated.update(
                {'data_type': contract_data_type(column['data_type'])}) -%}
        {%- endif -%}
        {%- do columns.update({name: translated}) -%}
    {%- endfor -%}
    {{ return(columns) }}
{%- endmacro %}

{# dbt's own macros (dbt namespace), for PostgreSQL: the same as dbt's
   defaults, over contract_columns(). #}
{% macro postgres__get_table_columns_and_constraints() -%}
    {%- set raw_column_constraints = adapter.render_raw_columns_constraints(
        raw_columns=contract_columns()) -%}
    {%- set raw_model_constraints = adapter.render_raw_model_constraints(
        raw_constraints=model['constraints']) -%}
    (
    {% for c in raw_column_constraints -%}
        {{ c }}{{ "," if not loop.last or raw_model_constraints }}
    {% endfor %}
    {% for c in raw_model_constraints -%}
        {{ c }}{{ "," if not loop.last }}
    {% endfor -%}
    )
{%- endmacro %}

{% macro postgres__get_assert_columns_equivalent(sql) -%}
    {%- set yaml_defined = contract_columns() -%}
    {%- if not yaml_defined -%}
        {{ exceptions.raise_contract_error([], []) }}
    {%- endif -%}
    {%- set sql_columns = format_columns(
        get_column_schema_from_query(sql, config.get('sql_header', none))) -%}
    {%- set yaml_columns = format_columns(
        get_column_schema_from_query(get_empty_schema_sql(yaml_defined))) -%}
    {%- if sql_columns | length != yaml_columns | length -%}
        {%- do exceptions.raise_contract_error(yaml_columns, sql_columns) -%}
    {%- endif -%}
    {%- for sql_col in sql_columns -%}
        {%- set yaml_col = yaml_columns | selectattr('name', 'equalto', sql_col['name']) | list -%}
        {%- if not yaml_col or sql_col['formatted'] != yaml_col[0]['formatted'] -%}
            {%- do exceptions.raise_contract_error(yaml_columns, sql_columns) -%}
        {%- endif -%}
    {%- endfor -%}
{%- endmacro %}
