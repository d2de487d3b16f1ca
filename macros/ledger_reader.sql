{#
    How the embedded (DuckDB) target reads the ledger export: the one reader
    expression, used by validate_ledger_source to check the files and to
    create the views `ledger.<table>` that the sources read.

    `location` is one file (`<ledger_path>/<table>.csv`) or a glob over a
    folder (`<ledger_path>/<table>/*.csv`). CSV options are explicit so that
    sniffing cannot guess a wrong dialect: comma-separated, `"` quotes
    doubled inside a value, a header row, every column text, columns matched
    by name across files. No `filename` column is added.
#}
{% macro ledger_reader(location, ledger_format=none) -%}
    {%- set ledger_format = ledger_format or var('ledger_format') -%}
    {%- set quoted = location | replace("'", "''") -%}
    {%- if ledger_format == 'parquet' -%}
        read_parquet('{{ quoted }}', union_by_name = true)
    {%- else -%}
        read_csv('{{ quoted }}', {{ ledger_csv_options() }})
    {%- endif -%}
{%- endmacro %}

{# `union_by_name` is off only for the line-by-line check of one file
   (DuckDB cannot record rejected lines with it). #}
{% macro ledger_csv_options(union_by_name=true) -%}
    header = true, all_varchar = true, delim = ',', quote = '"', escape = '"',
    {% if union_by_name %}union_by_name = true, {% endif -%}
    null_padding = false, strict_mode = true,
    max_line_size = {{ var('csv_max_line_size') | int }}
{%- endmacro %}
