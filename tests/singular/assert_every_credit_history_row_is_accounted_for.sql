-- Nothing is dropped silently: every row of the export is either in the clean
-- ledger or in the quarantine, never both, never neither.

with source_rows as (
    select count(*) as row_count
    from {{ source('ledger', 'credit_histories') }}
),

clean_rows as (
    select count(*) as row_count
    from {{ ref('stg_ledger__credit_histories') }}
),

quarantined_rows as (
    select count(*) as row_count
    from {{ ref('stg_ledger__quarantined_credit_histories') }}
),

accounting as (
    select
        source_rows.row_count as source_row_count,
        clean_rows.row_count as clean_row_count,
        quarantined_rows.row_count as quarantined_row_count
    from source_rows
    cross join clean_rows
    cross join quarantined_rows
)

select *
from accounting
where
    source_row_count != clean_row_count + quarantined_row_count
    or source_row_count = 0
