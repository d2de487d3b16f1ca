{#
    on-run-start check for the embedded (DuckDB) target. For each table of
    the export it finds the layout (`<ledger_path>/<table>.<format>`, one
    file, or `<ledger_path>/<table>/*.<format>`, a folder of files, e.g. one
    per day), checks that the files can be read and hold every documented
    column and at least one row, then (re)creates the view `ledger.<table>`
    over them that the source reads. A run over a broken export stops here
    with one sentence that says what to fix, instead of failing later on a
    test that has nothing to do with the cause.
#}
{% macro validate_ledger_source() %}
    {{ return(adapter.dispatch('validate_ledger_source', 'credit_ledger')()) }}
{% endmacro %}

{# A warehouse: the loader (python -m credit_ledger.load) left the five
   tables in the schema `ledger`. Each must exist, hold every documented
   column and (but subscriptions) at least one row. #}
{% macro default__validate_ledger_source() %}
    {% if execute %}
        {% for source_node in graph.sources.values()
            if source_node.source_name == 'ledger' %}
            {% set table = source_node.name %}
            {% set relation = adapter.get_relation(
                database=source_node.database, schema=source_node.schema,
                identifier=source_node.identifier) %}
            {% set location = source_node.schema ~ '.' ~ source_node.identifier %}
            {% if relation is none %}
                {{ exceptions.raise_compiler_error(
                    "ledger table " ~ location ~ " does not exist: load the export "
                    ~ "with python -m credit_ledger.load --target " ~ target.name
                    ~ " --ledger DIR (README)."
                ) }}
            {% endif %}
            {% set found_columns = adapter.get_columns_in_relation(relation)
                | map(attribute='name') | map('lower') | list %}
            {% set missing = [] %}
            {% for column_name in source_node.columns if column_name | lower not in found_columns %}
                {% do missing.append(column_name) %}
            {% endfor %}
            {% if missing %}
                {{ exceptions.raise_compiler_error(
                    "ledger table " ~ location ~ " is missing required column(s) "
                    ~ missing | join(', ') ~ " (found: " ~ found_columns | join(', ')
                    ~ "): load the export again with python -m credit_ledger.load --target "
                    ~ target.name ~ " --ledger DIR, or make your loader write every "
                    ~ "documented column (models/staging/ledger/_ledger__sources.yml)."
                ) }}
            {% endif %}
            {% set has_rows = run_query(
                "select count(*) from (select 1 from " ~ relation ~ " limit 1) as probe"
            ).columns[0].values()[0] %}
            {% do stop_if_table_empty(table, location, has_rows) %}
        {% endfor %}
    {% endif %}
{% endmacro %}

{# DuckDB, the embedded target: the files themselves. #}
{% macro duckdb__validate_ledger_source() %}
    {% if execute %}
        {% set ledger_path = ledger_directory() %}
        {% set ledger_format = var('ledger_format') %}
        {% if ledger_format not in ['csv', 'parquet'] %}
            {{ exceptions.raise_compiler_error(
                "var ledger_format must be 'csv' or 'parquet', got '"
                ~ ledger_format ~ "'."
            ) }}
        {% endif %}
        {# glob() lists files only: look one folder down too #}
        {% if ledger_file_count(ledger_path ~ '/*')
            + ledger_file_count(ledger_path ~ '/*/*') == 0 %}
            {{ exceptions.raise_compiler_error(
                "ledger_path '" ~ ledger_path ~ "' does not exist or is empty. "
                ~ "Pass --vars '{ledger_path: DIR}' (or set CREDITS_LEDGER_PATH) "
                ~ "with a directory holding "
                ~ "credit_events, credit_histories, users, plans and "
                ~ "subscriptions as ." ~ ledger_format ~ " files "
                ~ "(relative paths start from the directory dbt runs in)."
            ) }}
        {% endif %}
        {% set views = [] %}
        {% for source_node in graph.sources.values()
            if source_node.source_name == 'ledger' %}
            {% set table = source_node.name %}
            {% set location = ledger_location(ledger_path, table, ledger_format) %}
            {% if ledger_format == 'csv' %}
                {% set row_count = check_ledger_csv(table, location, source_node.columns) %}
            {% else %}
                {% set row_count = check_ledger_parquet(table, location, source_node.columns) %}
            {% endif %}
            {% do stop_if_table_empty(table, location, row_count) %}
            {% set relation = api.Relation.create(
                database=source_node.database, schema=source_node.schema,
                identifier=source_node.identifier) %}
            {# the view holds an absolute path, so that it reads the same
               files whichever directory the database is opened from #}
            {% do views.append(
                "create or replace view " ~ relation ~ " as select * from "
                ~ ledger_reader(absolute_ledger_path(location), ledger_format)
            ) %}
        {% endfor %}
        {% do run_query("create schema if not exists ledger") %}
        {% for view_sql in views %}
            {% do run_query(view_sql) %}
        {% endfor %}
    {% endif %}
{% endmacro %}

{# Where the export is: var `ledger_path` when it is set (--vars), else the
   environment variable CREDITS_LEDGER_PATH (handy for a scheduler, and it
   keeps dbt's partial parse: a changed --vars reparses the whole project),
   else the committed sample. Read at run time only. #}
{% macro ledger_directory() %}
    {{ return(var('ledger_path', none)
        or env_var('CREDITS_LEDGER_PATH', 'data/sample_ledger')) }}
{% endmacro %}

{# A path (or glob) resolved against dbt's working directory, by the
   function credit_ledger/duckdb_plugin.py registers. #}
{% macro absolute_ledger_path(path) %}
    {{ return(run_query(
        "select credit_ledger_absolute_path('" ~ path | replace("'", "''") ~ "')"
    ).columns[0].values()[0]) }}
{% endmacro %}

{% macro ledger_file_count(pattern) %}
    {{ return(run_query(
        "select count(*) from glob('" ~ pattern | replace("'", "''") ~ "')"
    ).columns[0].values()[0]) }}
{% endmacro %}

{# The one file, or the glob over the folder, that holds `table`. #}
{% macro ledger_location(ledger_path, table, ledger_format) %}
    {% set file_path = ledger_path ~ '/' ~ table ~ '.' ~ ledger_format %}
    {% set folder_glob = ledger_path ~ '/' ~ table ~ '/*.' ~ ledger_format %}
    {% set has_file = ledger_file_count(file_path) > 0 %}
    {% set has_folder = ledger_file_count(folder_glob) > 0 %}
    {% if has_file and has_folder %}
        {{ exceptions.raise_compiler_error(
            "ledger table " ~ table ~ " is exported twice, as '" ~ file_path
            ~ "' and as the folder '" ~ ledger_path ~ "/" ~ table
            ~ "/': keep one of them."
        ) }}
    {% elif not has_file and not has_folder %}
        {{ exceptions.raise_compiler_error(
            "ledger file '" ~ file_path ~ "' is missing (nor is there a folder '"
            ~ ledger_path ~ "/" ~ table ~ "/' of ." ~ ledger_format
            ~ " files): export table " ~ table ~ " to one of them (ledger_format is '"
            ~ ledger_format ~ "')."
        ) }}
    {% endif %}
    {{ return(file_path if has_file else folder_glob) }}
{% endmacro %}

{# Every CSV file of a table: its header names every column, comma-separated;
   then one scan of every line. Returns the row count. The header is read
   as a raw line, not strictly: a quoted value holding a bare line break in
   a file of CRLF lines stops a strict line reader. #}
{% macro check_ledger_csv(table, location, required_columns) %}
    {% set max_line_size = var('csv_max_line_size') | int %}
    {% set files = run_query(
        "select file from glob('" ~ location | replace("'", "''") ~ "') order by file"
    ).columns[0].values() %}
    {% set row_counts = [] %}
    {% for file in files %}
        {% set header_rows = run_query(
            "select line from read_csv('" ~ file | replace("'", "''") ~ "', "
            ~ "header = false, auto_detect = false, columns = {'line': 'VARCHAR'}, "
            ~ "delim = chr(1), quote = '', escape = '', max_line_size = "
            ~ max_line_size ~ ", ignore_errors = true, strict_mode = false) limit 1"
        ).columns[0].values() %}
        {% set header = (header_rows[0] if header_rows else '') or '' %}
        {% set header = header.replace('\ufeff', '').strip() %}
        {% set header_names = [] %}
        {% set found_columns = [] %}
        {% for name in header.split(',') %}
            {% do header_names.append(name.strip().strip('"').strip()) %}
            {% do found_columns.append(header_names[-1].lower()) %}
        {% endfor %}
        {% if found_columns | length == 1 and required_columns | length > 1 %}
            {% set guessed = [] %}
            {% for delimiter, label in [(';', "';'"), ('\t', 'tab'), ('|', "'|'")] %}
                {% if delimiter in header %}{% do guessed.append(label) %}{% endif %}
            {% endfor %}
            {{ exceptions.raise_compiler_error(
                "ledger file '" ~ file ~ "' has 1 column '" ~ header[:60]
                ~ ("…" if header | length > 60 else "") ~ "'"
                ~ (": is it " ~ guessed[0] ~ "-delimited? " if guessed else ": ")
                ~ "The export must be comma-separated with a header row."
            ) }}
        {% endif %}
        {% do stop_if_columns_missing(file, required_columns, found_columns) %}
        {# every line, parsed with the header's columns (no sniffing, which
           fails on a line over max_line_size): a truncated, mis-quoted or
           over-long line is recorded, not fatal #}
        {% set column_types = [] %}
        {% for name in header_names %}
            {% do column_types.append("'" ~ name | replace("'", "''") ~ "': 'VARCHAR'") %}
        {% endfor %}
        {% do run_query("drop table if exists ledger_csv_rejects") %}
        {% do run_query("drop table if exists ledger_csv_scans") %}
        {% set file_rows = run_query(
            "select count(*) from read_csv('" ~ file | replace("'", "''") ~ "', "
            ~ ledger_csv_options(union_by_name=false) ~ ", auto_detect = false, "
            ~ "columns = {" ~ column_types | join(', ') ~ "}, store_rejects = true, "
            ~ "rejects_table = 'ledger_csv_rejects', rejects_scan = 'ledger_csv_scans')"
        ).columns[0].values()[0] %}
        {% set rejects = run_query(
            "select scans.file_path, errors.line, errors.error_type, "
            ~ "left(errors.csv_line, 60), length(errors.csv_line) > 60, "
            ~ "errors.error_message "
            ~ "from ledger_csv_rejects as errors "
            ~ "inner join ledger_csv_scans as scans "
            ~ "on errors.scan_id = scans.scan_id and errors.file_id = scans.file_id "
            ~ "order by scans.file_path, errors.line limit 1"
        ) %}
        {% if rejects.rows | length > 0 %}
            {% set reject = rejects.rows[0] %}
            {% set where = "ledger file '" ~ reject[0] ~ "' line " ~ reject[1] %}
            {% set shown = "'" ~ reject[3] ~ ("…" if reject[4] else "") ~ "'" %}
            {% if reject[2] == 'MISSING COLUMNS' %}
                {% set message = where ~ " " ~ shown ~ " has fewer fields than the header: the file looks truncated, "
                    ~ "export it again" %}
            {% elif reject[2] == 'TOO MANY COLUMNS' %}
                {% set message = where ~ " " ~ shown ~ " has more fields than the header: "
                    ~ "a value holds an unquoted comma, make the export quote values" %}
            {% elif reject[2] == 'LINE SIZE OVER MAXIMUM' %}
                {% set message = where ~ " is longer than csv_max_line_size ("
                    ~ max_line_size ~ " bytes): raise it with --vars "
                    ~ "'{csv_max_line_size: N}' or shorten the value" %}
            {% elif reject[2] == 'UNQUOTED VALUE' %}
                {% set message = where ~ " " ~ shown ~ " has a quote inside an unquoted value: "
                    ~ "make the export quote values and double the quotes inside them" %}
            {% elif reject[2] == 'INVALID ENCODING' %}
                {% set message = where ~ " is not valid UTF-8: export the file as UTF-8" %}
            {% else %}
                {% set message = where ~ " cannot be read (" ~ reject[5].split('\n')[0]
                    ~ "): fix the export so that it writes standard comma-separated lines" %}
            {% endif %}
            {{ exceptions.raise_compiler_error(message ~ ".") }}
        {% endif %}
        {% do row_counts.append(file_rows) %}
    {% endfor %}
    {{ return(row_counts | sum) }}
{% endmacro %}

{# Parquet: every documented column is present (any type); the row count
   comes from the file metadata. #}
{% macro check_ledger_parquet(table, location, required_columns) %}
    {% set reader = ledger_reader(location, 'parquet') %}
    {% set found_columns = run_query(
        "select column_name from (describe select * from " ~ reader ~ ")"
    ).columns[0].values() | map('lower') | list %}
    {% do stop_if_columns_missing(location, required_columns, found_columns) %}
    {{ return(run_query("select count(*) from " ~ reader).columns[0].values()[0]) }}
{% endmacro %}

{# Stops the run when a ledger file lacks a documented column. #}
{# An empty table stops the run; a ledger without subscriptions is possible
   (credits sold without plans), so an empty subscriptions only warns. #}
{% macro stop_if_table_empty(table, location, row_count) %}
    {% if row_count == 0 %}
        {% set empty_message = "ledger table " ~ table ~ " is empty ('" ~ location
            ~ "' has no rows): check the export job that wrote it, "
            ~ "an empty export is almost always a failed one" %}
        {% if table == 'subscriptions' %}
            {{ log("Warning: " ~ empty_message ~ " (allowed for this table).", info=true) }}
        {% else %}
            {{ exceptions.raise_compiler_error(empty_message ~ ".") }}
        {% endif %}
    {% endif %}
{% endmacro %}

{% macro stop_if_columns_missing(location, required_columns, found_columns) %}
    {% set missing = [] %}
    {% for column_name in required_columns %}
        {% if column_name | lower not in found_columns %}
            {% do missing.append(column_name) %}
        {% endif %}
    {% endfor %}
    {% if missing %}
        {{ exceptions.raise_compiler_error(
            "ledger file '" ~ location ~ "' is missing required column(s): "
            ~ missing | join(', ') ~ ". Found: " ~ found_columns | join(', ') ~ "."
        ) }}
    {% endif %}
{% endmacro %}
