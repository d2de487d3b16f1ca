-- The clean ledger: one row per credit_histories id that can be placed on a
-- user's balance. Amounts are integer milli-credits; data-quality flags are
-- kept on the row (nothing here is dropped for being odd, only for being
-- unplaceable, and those rows are in stg_ledger__quarantined_credit_histories).
--
-- The post-hook stops the run when the total of |amount_milli| here reaches
-- 2^62: every running figure downstream is bounded by that total, so below
-- it no BIGINT column can overflow (macros/ledger_total_guard.sql).
{{ config(post_hook="{{ check_ledger_total_fits() }}") }}

with base as (
    select * from {{ ref('base_ledger__credit_histories') }}
),

clean as (
    select
        credit_history_id,
        user_id,
        credit_event_id,
        creditable_id,
        creditable_type,
        description,
        meta_data,
        amount_milli,
        previous_amount_milli,
        has_sub_milli_precision,
        has_malformed_meta_data,
        has_id_collision,
        has_invalid_meta_expires_at,
        has_unparseable_previous_amount,
        occurred_at,
        updated_at,
        meta_expires_at,
        -- the price paid for the row's credits (meta_data.price, currency
        -- units, numeric text counts), in minor units, read exactly and
        -- rounded once; null when missing, negative, unparseable or a
        -- trillion or more (contract section 9)
        case
            when
                not has_malformed_meta_data
                and {{ parse_decimal(json_key_text('meta_data', 'price')) }} >= 0
                and {{ parse_decimal(json_key_text('meta_data', 'price')) }} < 1e12
                then cast(
                    round(
                        {{ parse_decimal(json_key_text('meta_data', 'price')) }}
                        * {{ var('currency_minor_units') }}
                    )
                    as bigint
                )
        end as meta_price_minor
    from base
    where quarantine_reason is null
)

select * from clean
