-- Every credit_histories row that cannot be placed on a user's balance, with
-- the first reason that rules it out and its raw values for investigation.

with base as (
    select * from {{ ref('base_ledger__credit_histories') }}
),

quarantined as (
    select
        source_row_hash,
        source_row_copy,
        credit_history_id,
        user_id,
        credit_event_id,
        quarantine_reason,
        id_text,
        user_id_text,
        amount_text,
        previous_amount_text,
        created_at_text,
        description,
        meta_data,
        amount_milli,
        occurred_at,
        updated_at
    from base
    where quarantine_reason is not null
)

select * from quarantined
