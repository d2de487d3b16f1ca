-- The rows FIFO depletion sees: every clean ledger row that adds or removes
-- credits, up to as_of (var; default the latest occurred_at). Rows after
-- as_of are left out, so a past as_of shows the lots as they stood then.

{#- the default as_of is the latest occurred_at: every row is in the window,
    and the filter would only cost a join -#}
{%- set as_of_filter = 'entries.occurred_at <= as_of.as_of'
    if var('as_of') is not none else 'true' %}

with entries as (
    select * from {{ ref('int_ledger_entries') }}
),

as_of as (
    select {{ ledger_as_of() }} as as_of
),

final as (
    select
        entries.credit_history_id,
        entries.user_id,
        entries.credit_type,
        entries.amount_milli,
        entries.occurred_at,
        entries.expires_at,
        as_of.as_of
    from entries
    cross join as_of
    where
        entries.amount_milli != 0
        and {{ as_of_filter }}
)

select * from final
