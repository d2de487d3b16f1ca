{#
    Use a folder's custom schema as-is (`staging`, `intermediate`, `marts`,
    `config`) instead of dbt's default `<target schema>_<custom>`, so BI tools
    and ad-hoc queries find the marts under a stable name.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
