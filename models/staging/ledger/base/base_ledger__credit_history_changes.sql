-- What the export changed since the last run, by key: the only model that
-- reads the credit_histories source (DECISIONLOG.md, "Incremental builds").
--
-- A row's key is its id (when the id parses), else its content hash. The
-- export and what base_ledger__credit_histories holds are compared key by
-- key as multisets of row hashes (every column, updated_at included), so a
-- new, edited, re-exported, reordered or hard-deleted row is found whatever
-- the file order or the number of files. A changed key is replaced whole:
--   load  every export row of the key (base parses and re-ranks them);
--   drop  every loaded row of the key (base deletes them first; their
--         user_id tells int_affected_users whose rows changed).
-- A loaded row whose classification moved with the run's clock (a row
-- quarantined as created_at_in_future that is no longer ahead of it, or the
-- reverse under an earlier `now` var) is replaced too.
--
-- On a first build or a full refresh every export row is a `load`. A run
-- over an export that shares no row with a non-empty database stops: that
-- is another ledger, never mixed in. (A table, not a view: base deletes
-- and inserts by it, and int_affected_users reads it after that.)
{%- set loaded = adapter.get_relation(
    database=this.database, schema=this.schema,
    identifier='base_ledger__credit_histories') %}
{%- set compare = loaded is not none and not is_full_refresh() %}
{{ config(materialized='table') }}

with source as (
    select * from {{ source('ledger', 'credit_histories') }}
),

hashed as (
    select
        *,
        {{ ledger_row_hash() }} as source_row_hash
    from source
),

keyed as (
    select
        *,
        {{ ledger_row_key(parse_id('id'), 'source_row_hash') }} as source_row_key
    from hashed
),

{% if compare %}
loaded as (
    select
        source_row_key,
        source_row_hash,
        user_id,
        quarantine_reason,
        occurred_at
    from {{ loaded }}
),

-- every version of every key, counted in the export and in what is loaded
-- (one aggregation over both sides)
compared as (
    select
        source_row_key,
        count(*) filter (where is_exported) as export_count,
        count(*) filter (where not is_exported) as loaded_count
    from (
        select
            source_row_key,
            source_row_hash,
            true as is_exported
        from keyed
        union all
        select
            source_row_key,
            source_row_hash,
            false as is_exported
        from loaded
    ) as both_sides
    group by source_row_key, source_row_hash
),

-- another ledger: the database holds rows and the export none of them
overlap as (
    select
        case
            when
                sum(loaded_count) > 0
                and sum(least(export_count, loaded_count)) = 0
                then {{ stop_run(
                    "'credit_histories at " ~ (ledger_directory() | replace("'", "''"))
                    ~ " shares none of its rows with the '"
                    ~ " || cast(sum(loaded_count) as " ~ type_text() ~ ") || ' rows this"
                    ~ " database holds: it is another ledger (or every row was"
                    ~ " rewritten). Build it into its own file"
                    ~ " (CREDITS_DB_PATH=...) or replace this one with"
                    ~ " dbt build --full-refresh.'") }}
        end as another_ledger
    from compared
),

-- rows whose classification depends on the run's clock
reclassified as (
    select loaded.source_row_key
    from loaded
    where
        (
            loaded.quarantine_reason = 'created_at_in_future'
            and loaded.occurred_at <= {{ ledger_now_bound() }}
        )
        or (
            loaded.quarantine_reason is null
            and loaded.occurred_at > {{ ledger_now_bound() }}
        )
),

changed_keys as (
    select compared.source_row_key
    from compared
    cross join overlap
    where
        compared.export_count != compared.loaded_count
        and overlap.another_ledger is null
    union
    select reclassified.source_row_key from reclassified
),

to_load as (
    select
        'load' as change_kind,
        keyed.*
    from keyed
    where keyed.source_row_key in (select changed_keys.source_row_key from changed_keys)
),

to_drop as (
    select
        'drop' as change_kind,
        loaded.source_row_key,
        loaded.source_row_hash,
        loaded.user_id
    from loaded
    where loaded.source_row_key in (select changed_keys.source_row_key from changed_keys)
),

final as (
    select
        change_kind,
        source_row_key,
        source_row_hash,
        cast(null as bigint) as dropped_user_id,
        {{ ledger_source_columns() | join(',\n        ') }}
    from to_load
    union all
    select
        change_kind,
        source_row_key,
        source_row_hash,
        user_id as dropped_user_id,
        null as id,
        null as user_id,
        null as credit_event_id,
        null as creditable_type,
        null as creditable_id,
        null as amount,
        null as previous_amount,
        null as description,
        null as meta_data,
        null as created_at,
        null as updated_at
    from to_drop
)
{% else %}
final as (
    select
        'load' as change_kind,
        source_row_key,
        source_row_hash,
        cast(null as bigint) as dropped_user_id,
        {{ ledger_source_columns() | join(',\n        ') }}
    from keyed
)
{% endif %}

select * from final
