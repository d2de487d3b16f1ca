{#
    The guarantee behind every BIGINT milli-credit column downstream of
    staging: each running balance, daily, monthly, per-plan and per-user
    figure, lot figure and debt is a sum of clean amounts, so its absolute
    value is at most T = sum(|amount_milli|) over the clean ledger. While
    T < 2^62, each of them, and the difference of any two of them or of one
    and a value read from the export (itself below 2^62, `to_milli`), fits in
    a BIGINT; so every cast of a HUGEINT sum to BIGINT is safe. A post-hook
    of stg_ledger__credit_histories (the only door to the clean ledger)
    stops the run, before any of those sums is taken, when T reaches 2^62.
    Unreachable with the default per-row bound (4.6 million rows at 10^9
    credits), it guards a raised `max_abs_amount_credits`. DECISIONLOG.md, 8.
#}
{% macro check_ledger_total_fits() %}
    {% if execute %}
        {% set limit = milli_value_limit() | trim %}
        {% set total_sql %}
            select cast(coalesce(sum(abs(cast(amount_milli as {{ wide_integer() }}))), 0) as {{ type_text() }})
            from {{ this }}
        {% endset %}
        {% set total = run_query(total_sql).columns[0].values()[0] %}
        {% if total | int >= limit | int %}
            {% set largest_sql %}
                select
                    string_agg(
                        'id ' || credit_history_id || ' (user ' || user_id || ', '
                        || cast(cast(amount_milli as decimal(38, 0)) * 0.001 as {{ type_text() }})
                        || ' credits)',
                        ', ' order by abs(amount_milli) desc, credit_history_id
                    )
                from (
                    select credit_history_id, user_id, amount_milli
                    from {{ this }}
                    order by abs(amount_milli) desc, credit_history_id
                    limit 3
                )
            {% endset %}
            {% set largest = run_query(largest_sql).columns[0].values()[0] %}
            {% do exceptions.raise_compiler_error(
                "The clean ledger's amounts add up to " ~ total
                ~ " milli-credits in absolute value, at or beyond the " ~ limit
                ~ " that every running balance and total must stay under, so the"
                ~ " marts cannot be built exactly; the largest rows are " ~ largest
                ~ ": correct them in the export, or lower max_abs_amount_credits"
                ~ " (now " ~ var('max_abs_amount_credits')
                ~ " credits per row) so that they are quarantined as amount_out_of_range."
            ) %}
        {% endif %}
    {% endif %}
{% endmacro %}
