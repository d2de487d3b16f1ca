-- Every credit_histories row of the export, parsed, with the reason it is
-- quarantined (null when clean). Both stg_ledger__credit_histories and
-- stg_ledger__quarantined_credit_histories read this, so that
-- rows in = clean rows + quarantined rows by construction (and by test).
--
-- Incremental by key (base_ledger__credit_history_changes): a run deletes
-- the rows of every changed key (pre-hook) and parses the export's rows of
-- those keys, so the versions of an id are always ranked together.
-- `loaded_at` marks the rows the run (re)loaded; int_affected_users starts
-- from them.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{{ delete_changed_rows() }}",
        post_hook="{{ check_quarantine_share() }}",
    )
}}

with changes as (
    select * from {{ ref('base_ledger__credit_history_changes') }}
),

scoped as (
    select * from changes
    where change_kind = 'load'
),

parsed as (
    select
        source_row_key,
        source_row_hash,
        {{ parse_id('id') }} as credit_history_id,
        {{ parse_id('user_id') }} as user_id,
        {{ parse_id('credit_event_id') }} as credit_event_id,
        {{ parse_id('creditable_id') }} as creditable_id,
        nullif({{ zs_trim('cast(id as ' ~ type_text() ~ ')') }}, '') as id_text,
        nullif({{ zs_trim('cast(user_id as ' ~ type_text() ~ ')') }}, '') as user_id_text,
        {{ normalise_code('creditable_type') }} as creditable_type,
        nullif({{ zs_trim('cast(amount as ' ~ type_text() ~ ')') }}, '') as amount_text,
        nullif(
            {{ zs_trim('cast(previous_amount as ' ~ type_text() ~ ')') }}, ''
        ) as previous_amount_text,
        description,
        nullif({{ zs_trim(meta_data_text('meta_data')) }}, '') as meta_data,
        nullif({{ zs_trim('cast(created_at as ' ~ type_text() ~ ')') }}, '') as created_at_text,
        {{ parse_float('amount') }} as amount,
        {{ parse_float('previous_amount') }} as previous_amount,
        {{ parse_utc_timestamp('created_at') }} as occurred_at,
        {{ parse_utc_timestamp('updated_at') }} as updated_at
    from scoped
),

converted as (
    select
        *,
        {{ to_milli('amount') }} as amount_milli,
        {{ to_milli('previous_amount') }} as previous_amount_milli,
        coalesce({{ json_is_valid('meta_data') }}, true) as is_meta_data_valid,
        case
            when {{ json_is_valid('meta_data') }}
                then {{ json_key_text('meta_data', 'expires_at') }}
        end as meta_expires_at_text
    from parsed
),

-- a re-exported id keeps its latest version, then (same updated_at) the
-- larger version hash (ledger_version_hash: md5, the same on every engine):
-- an order-free tie rule, so that a re-dump in another order ranks alike.
-- Only keys that repeat are ranked, to keep the sort small; identical
-- copies are numbered apart (source_row_copy).
repeated_keys as (
    select source_row_key
    from converted
    group by source_row_key
    having count(*) > 1
),

-- identical copies are numbered first, so that copy 1 is the one kept
key_copies as (
    select
        converted.*,
        row_number() over (
            partition by converted.source_row_key, converted.source_row_hash
            -- copies are identical: any order (Spark requires one)
            order by converted.source_row_hash
        ) as source_row_copy
    from converted
    inner join repeated_keys
        on converted.source_row_key = repeated_keys.source_row_key
),

key_versions as (
    select
        *,
        row_number() over (
            partition by source_row_key
            order by
                updated_at desc nulls last,
                {{ ledger_version_hash() }} desc,
                source_row_hash desc,
                source_row_copy asc
        ) as id_version_rank
    from key_copies
),

-- an id whose versions belong to different users, or that carries two
-- amounts at the same updated_at, is a collision, not a re-export: its
-- losing versions are unplaced rows (id_collision), not spare copies
collided_keys as (
    select source_row_key
    from (
        select
            source_row_key,
            updated_at,
            min(user_id) as min_user_id,
            max(user_id) as max_user_id,
            count(distinct amount_milli) as amount_count
        from key_versions
        group by source_row_key, updated_at
    ) as same_time_versions
    group by source_row_key
    having
        max(amount_count) > 1
        or min(min_user_id) != max(max_user_id)
),

versioned as (
    select
        converted.*,
        1 as source_row_copy,
        1 as id_version_rank
    from converted
    left join repeated_keys
        on converted.source_row_key = repeated_keys.source_row_key
    where repeated_keys.source_row_key is null
    union all
    select * from key_versions
),

deduplicated as (
    select
        versioned.*,
        collided_keys.source_row_key is not null as has_id_collision
    from versioned
    left join collided_keys
        on versioned.source_row_key = collided_keys.source_row_key
),

classified as (
    select
        *,
        {{ parse_utc_timestamp('meta_expires_at_text') }} as meta_expires_at,
        case
            when id_text is null then 'missing_id'
            when credit_history_id is null then 'unparseable_id'
            when id_version_rank > 1 and has_id_collision then 'id_collision'
            when id_version_rank > 1 then 'duplicate_id'
            when user_id_text is null then 'missing_user_id'
            when user_id is null then 'unparseable_user_id'
            when amount_text is null then 'missing_amount'
            when amount is null then 'unparseable_amount'
            when {{ is_amount_out_of_range('amount_milli') }} then 'amount_out_of_range'
            when created_at_text is null then 'missing_created_at'
            when occurred_at is null then 'unparseable_created_at'
            when occurred_at > {{ ledger_now_bound() }} then 'created_at_in_future'
        end as quarantine_reason
    from deduplicated
),

final as (
    select
        source_row_key,
        source_row_hash,
        source_row_copy,
        credit_history_id,
        user_id,
        credit_event_id,
        creditable_id,
        quarantine_reason,
        -- raw text is kept for quarantined rows only, for investigation
        case when quarantine_reason is not null then id_text end as id_text,
        case when quarantine_reason is not null then user_id_text end as user_id_text,
        creditable_type,
        case when quarantine_reason is not null then amount_text end as amount_text,
        case
            when quarantine_reason is not null then previous_amount_text
        end as previous_amount_text,
        case when quarantine_reason is not null then created_at_text end as created_at_text,
        description,
        meta_data,
        amount_milli,
        previous_amount_milli,
        coalesce({{ has_sub_milli_precision('amount') }}, false)
            as has_sub_milli_precision,
        not is_meta_data_valid as has_malformed_meta_data,
        has_id_collision,
        meta_expires_at_text is not null and meta_expires_at is null
            as has_invalid_meta_expires_at,
        previous_amount_milli is null as has_unparseable_previous_amount,
        occurred_at,
        updated_at,
        meta_expires_at,
        {{ this_run_loaded_at() }} as loaded_at
    from classified
)

select * from final
