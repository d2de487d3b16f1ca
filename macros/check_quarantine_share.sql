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
        'id_collision': "make the export keep ids unique across users (were two databases merged?)",
        'amount_out_of_range': "check the unit of amount (are amounts written in milli-credits or cents?) or raise max_abs_amount_credits",
        'created_at_in_future': "check the clock and time zone of the export (or the now var of this run)",
    } -%}
    with scoped as (
        select
            'credit_histories rows' as scope,
            quarantine_reason
        from {{ this }}
        union all
        select
            'the credit_histories rows this run loaded' as scope,
            quarantine_reason
        from {{ this }}
        where loaded_at = {{ this_run_loaded_at() }}
    ),

    reasons as (
        select
            scope,
            quarantine_reason,
            count(*) as row_count
        from scoped
        group by scope, quarantine_reason
    ),

    -- the commonest reason per scope (ties: the first by name)
    ranked_reasons as (
        select
            *,
            row_number() over (
                partition by scope
                order by quarantine_reason is null, row_count desc, quarantine_reason
            ) as reason_rank
        from reasons
    ),

    shares as (
        select
            scope,
            sum(row_count) as total_rows,
            coalesce(sum(row_count) filter (where quarantine_reason is not null), 0)
                as quarantined_rows,
            max(quarantine_reason)
                filter (where reason_rank = 1 and quarantine_reason is not null)
                as top_reason,
            max(row_count) filter (where quarantine_reason is not null) as top_rows
        from ranked_reasons
        group by scope
    ),

    -- the whole table's verdict first
    over_threshold as (
        select
            *,
            row_number() over (
                order by scope = 'credit_histories rows' desc
            ) as verdict_rank
        from shares
        where
            quarantined_rows > total_rows * {{ var('max_quarantined_share') | float }}
            and (scope = 'credit_histories rows' or total_rows >= 100)
    )

    {%- set message -%}
        cast(round(100.0 * top_rows / total_rows) as bigint)
            || '% of ' || scope || ' are quarantined as ' || top_reason
            || ' (' || cast(round(100.0 * quarantined_rows / total_rows) as bigint)
            || '% quarantined in all, above max_quarantined_share '
            || '{{ var("max_quarantined_share") }}): '
            || case top_reason
                {%- for reason, hint in hints.items() %}
                when '{{ reason }}' then '{{ hint | replace("'", "''") }}'
                {%- endfor %}
            end
            || ', then build again.'
    {%- endset %}

    select {{ stop_run(message) }}
    from over_threshold
    where verdict_rank = 1
{% endmacro %}
