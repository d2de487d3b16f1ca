{#
    on-run-start check for the embedded (DuckDB) target: the ledger files the
    sources read exist and hold every column documented for them. A
    misconfigured run stops here with a message that says what to fix,
    instead of failing later inside a staging model.
#}
{% macro validate_ledger_source() %}
    {% if execute and target.type == 'duckdb' %}
        {% set ledger_path = var('ledger_path') %}
        {% set ledger_format = var('ledger_format') %}
        {% if ledger_format not in ['csv', 'parquet'] %}
            {{ exceptions.raise_compiler_error(
                "var ledger_format must be 'csv' or 'parquet', got '"
                ~ ledger_format ~ "'."
            ) }}
        {% endif %}
        {% set quoted_dir = ledger_path | replace("'", "''") %}
        {% set dir_files = run_query(
            "select count(*) from glob('" ~ quoted_dir ~ "/*')"
        ).columns[0].values()[0] %}
        {% if dir_files == 0 %}
            {{ exceptions.raise_compiler_error(
                "ledger_path '" ~ ledger_path ~ "' does not exist or is empty. "
                ~ "Pass --vars '{ledger_path: DIR}' with a directory holding "
                ~ "credit_events, credit_histories, users, plans and "
                ~ "subscriptions as ." ~ ledger_format ~ " files "
                ~ "(relative paths start from the directory dbt runs in)."
            ) }}
        {% endif %}
        {% for source_node in graph.sources.values()
            if source_node.source_name == 'ledger' %}
            {% set file_path = ledger_path ~ '/' ~ source_node.name ~ '.' ~ ledger_format %}
            {% set quoted_file = file_path | replace("'", "''") %}
            {% set file_count = run_query(
                "select count(*) from glob('" ~ quoted_file ~ "')"
            ).columns[0].values()[0] %}
            {% if file_count == 0 %}
                {{ exceptions.raise_compiler_error(
                    "ledger file '" ~ file_path ~ "' is missing: table '"
                    ~ source_node.name ~ "' is required (ledger_format is '"
                    ~ ledger_format ~ "')."
                ) }}
            {% endif %}
            {% if ledger_format == 'parquet' %}
                {% set reader = "read_parquet('" ~ quoted_file ~ "')" %}
            {% else %}
                {% set reader = "read_csv('" ~ quoted_file ~ "', header = true, all_varchar = true)" %}
            {% endif %}
            {% set found_columns = run_query(
                "select column_name from (describe select * from " ~ reader ~ ")"
            ).columns[0].values() | map('lower') | list %}
            {% set missing = [] %}
            {% for column_name in source_node.columns %}
                {% if column_name | lower not in found_columns %}
                    {% do missing.append(column_name) %}
                {% endif %}
            {% endfor %}
            {% if missing %}
                {{ exceptions.raise_compiler_error(
                    "ledger file '" ~ file_path ~ "' is missing required column(s): "
                    ~ missing | join(', ') ~ ". Found: "
                    ~ found_columns | join(', ') ~ "."
                ) }}
            {% endif %}
        {% endfor %}
    {% endif %}
{% endmacro %}
