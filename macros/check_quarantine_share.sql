{#
    Post-hook of base_ledger__credit_histories: stops the build when more
    than `max_quarantined_share` of the credit_histories rows are
    quarantined. Most rows unplaceable means a broken export (a wrong number
    or date format, shifted columns), not dirty rows; the marts are not built
    on it. The message names the commonest reason, its share and a hint.
    (On DuckDB `error()` raises from inside the select; elsewhere the
    select fails the same way where the adapter has an equivalent.)
#}
{% macro check_quarantine_share() %}
    {%- set hints = {
        'missing_id': "make the export write every row's id (are the columns shifted?)",
        'unparseable_id': "make the export write ids as whole numbers (are the columns shifted?)",
        'duplicate_id': "make the export write each row once (was the same export appended twice?)",
        'missing_user_id': "make the export write every row's user_id (are the columns shifted?)",
        'unparseable_user_id': "make the export write user ids as whole numbers (are the columns shifted?)",
        'missing_amount': "make the export write every amount (are the columns shifted?)",
        'unparseable_amount': "make the export write amounts with a decimal point, like 12.5 (is the decimal separator a comma?)",
        'missing_created_at': "make the export write every created_at (are the columns shifted?)",
        'unparseable_created_at': "make the export write created_at like 2024-03-01 10:00:00 or 2024-03-01T10:00:00Z (is it a local date format such as 01/03/2024?)",
    } -%}
    with reasons as (
        select
            quarantine_reason,
            count(*) as row_count
        from {{ this }}
        group by quarantine_reason
    ),

    shares as (
        select
            sum(row_count) as total_rows,
            coalesce(sum(row_count) filter (where quarantine_reason is not null), 0)
                as quarantined_rows,
            arg_max(quarantine_reason, row_count)
                filter (where quarantine_reason is not null) as top_reason,
            max(row_count) filter (where quarantine_reason is not null) as top_rows
        from reasons
    )

    select
        error(
            cast(round(100.0 * top_rows / total_rows) as bigint)
            || '% of credit_histories rows are quarantined as ' || top_reason
            || ' (' || cast(round(100.0 * quarantined_rows / total_rows) as bigint)
            || '% quarantined in all, above max_quarantined_share '
            || '{{ var("max_quarantined_share") }}): '
            || case top_reason
                {%- for reason, hint in hints.items() %}
                when '{{ reason }}' then '{{ hint | replace("'", "''") }}'
                {%- endfor %}
            end
            || ', then run dbt build --full-refresh.'
        )
    from shares
    where quarantined_rows > total_rows * {{ var('max_quarantined_share') | float }}
{% endmacro %}
