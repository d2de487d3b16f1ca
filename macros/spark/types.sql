{#
    Types and contracts on Spark (macros/types.sql). Spark has no `varchar`
    without a length and no `double precision`; its text type is `string`.
#}
{#- named so that dbt's own dispatch of type_float finds it before the
    project's default__type_float, which would call dbt.type_float again -#}
{% macro spark__type_float() -%}
    double
{%- endmacro %}

{% macro spark__type_text() -%}
    string
{%- endmacro %}

{% macro spark__contract_data_type(data_type) -%}
    {%- set translated = {
        'varchar': 'string',
        'text': 'string',
        'double precision': 'double',
        'hugeint': 'decimal(38, 0)',
    } -%}
    {{ return(translated.get(data_type | trim | lower, data_type)) }}
{%- endmacro %}

{#- the contract check of dbt-spark, over the translated YAML columns (the
    same check as on PostgreSQL) -#}
{% macro spark__get_assert_columns_equivalent(sql) -%}
    {{ return(postgres__get_assert_columns_equivalent(sql)) }}
{%- endmacro %}

{#- dbt-spark adds contract constraints with ALTER TABLE unless the file
    format is set to something other than delta; a Parquet table takes no
    constraint, so they are added only to a table configured as delta.
    Contracts still check every column's name and type. -#}
{% macro spark__persist_constraints(relation, model) -%}
    {%- set contract_config = config.get('contract') -%}
    {%- if contract_config.enforced and config.get('file_format') == 'delta' -%}
        {%- do alter_table_add_constraints(relation, model.constraints) -%}
        {%- do alter_column_set_constraints(relation, model.columns) -%}
    {%- endif -%}
{%- endmacro %}
