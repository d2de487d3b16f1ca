{#
    The day's (or period's) movements of fct_credit_transactions rows, as
    select columns for a query grouped by user and period: credits granted,
    consumed by usage debits, removed by other debits (all positive,
    milli-credits), and the number of usage debits.
#}
{% macro transaction_sums() -%}
    cast(sum(case when transaction_kind = 'grant' then amount_milli else 0 end) as bigint)
        as granted_milli,
    cast(sum(case when transaction_kind = 'usage' then -amount_milli else 0 end) as bigint)
        as consumed_milli,
    cast(sum(case when transaction_kind = 'penalty' then -amount_milli else 0 end) as bigint)
        as penalty_milli,
    count(*) filter (where transaction_kind = 'usage') as usage_count
{%- endmacro %}
