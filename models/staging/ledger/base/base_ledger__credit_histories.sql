-- Every credit_histories row of the export, parsed, with the reason it is
-- quarantined (null when clean). Both stg_ledger__credit_histories and
-- stg_ledger__quarantined_credit_histories read this, so that
-- rows in = clean rows + quarantined rows by construction (and by test).
--
-- Incremental: the export only grows, new and late rows are appended to it.
-- A run parses the rows past the last loaded position, plus every version of
-- an id those rows repeat (which version wins may change). `loaded_at` marks
-- the rows (re)written by the run; int_affected_users starts from them.
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='source_row_number',
        on_schema_change='fail',
        post_hook="{{ check_quarantine_share() }}",
    )
}}

with source as (
    select
        *,
        -- position in the export: breaks ties between re-exported ids
        row_number() over () as source_row_number
    from {{ source('ledger', 'credit_histories') }}
),

{% if is_incremental() %}
loaded as (
    select
        coalesce(max(source_row_number), 0) as loaded_row_count,
        -- stops the run when rows already loaded have disappeared
        case
            when
                (select count(*) from {{ source('ledger', 'credit_histories') }})
                < coalesce(max(source_row_number), 0)
                then error(
                    'credit_histories has fewer rows than already loaded: the '
                    || 'export is not append-only; run dbt build --full-refresh'
                )
        end as shrunk_export
    from {{ this }}
),

-- the ids of the appended rows, from a scan of the id column only
appended_ids as (
    select {{ parse_id('positions.id') }} as credit_history_id
    from (
        select
            id,
            row_number() over () as source_row_number
        from {{ source('ledger', 'credit_histories') }}
    ) as positions
    cross join loaded
    where positions.source_row_number > loaded.loaded_row_count
),

-- earlier versions of the ids the appended rows repeat, found by their
-- parsed id in what is already loaded (no need to parse the export again)
earlier_versions as (
    select loaded_rows.source_row_number
    from {{ this }} as loaded_rows
    where loaded_rows.credit_history_id in (
        select appended_ids.credit_history_id from appended_ids
    )
),

-- (source is read in full once, here)
scoped as (
    select source.*
    from source
    cross join loaded
    where
        loaded.shrunk_export is null
        and (
            source.source_row_number > loaded.loaded_row_count
            or source.source_row_number in (
                select earlier_versions.source_row_number from earlier_versions
            )
        )
),
{% else %}
scoped as (
    select * from source
),
{% endif %}

parsed as (
    select
        source_row_number,
        {{ parse_id('id') }} as credit_history_id,
        {{ parse_id('user_id') }} as user_id,
        {{ parse_id('credit_event_id') }} as credit_event_id,
        {{ parse_id('creditable_id') }} as creditable_id,
        nullif(trim(cast(id as varchar)), '') as id_text,
        nullif(trim(cast(user_id as varchar)), '') as user_id_text,
        {{ normalise_code('creditable_type') }} as creditable_type,
        nullif(trim(cast(amount as varchar)), '') as amount_text,
        nullif(trim(cast(previous_amount as varchar)), '') as previous_amount_text,
        description,
        nullif(trim({{ meta_data_text('meta_data') }}), '') as meta_data,
        nullif(trim(cast(created_at as varchar)), '') as created_at_text,
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

-- a re-exported id keeps its latest version (then the last seen); ranking
-- only the repeated ids keeps the sort small
repeated_ids as (
    select credit_history_id
    from converted
    where credit_history_id is not null
    group by credit_history_id
    having count(*) > 1
),

id_versions as (
    select
        converted.source_row_number,
        row_number() over (
            partition by converted.credit_history_id
            order by
                converted.updated_at desc nulls last,
                converted.source_row_number desc
        ) as id_version_rank
    from converted
    inner join repeated_ids
        on converted.credit_history_id = repeated_ids.credit_history_id
),

deduplicated as (
    select
        converted.*,
        coalesce(id_versions.id_version_rank, 1) as id_version_rank
    from converted
    left join id_versions
        on converted.source_row_number = id_versions.source_row_number
),

classified as (
    select
        *,
        {{ parse_utc_timestamp('meta_expires_at_text') }} as meta_expires_at,
        case
            when id_text is null then 'missing_id'
            when credit_history_id is null then 'unparseable_id'
            when id_version_rank > 1 then 'duplicate_id'
            when user_id_text is null then 'missing_user_id'
            when user_id is null then 'unparseable_user_id'
            when amount_text is null then 'missing_amount'
            when amount_milli is null then 'unparseable_amount'
            when created_at_text is null then 'missing_created_at'
            when occurred_at is null then 'unparseable_created_at'
        end as quarantine_reason
    from deduplicated
),

final as (
    select
        source_row_number,
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
