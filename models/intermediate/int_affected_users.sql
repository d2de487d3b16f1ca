-- Which users this run recomputes, and why (DECISIONLOG.md, "Incremental
-- builds"). One row per affected user; every other user is left as the
-- previous run wrote them.
--
-- `reason` (the first that applies) decides how:
--   rebuilt (is_rebuilt) every user-grained model deletes the user's rows
--            and recomputes them from the user's first row:
--     full_refresh, first_build, previous_run_did_not_pass  everyone;
--     as_of_not_default  the as_of var is set, or as_of moved back;
--     new_user           new in `users`, or no state of theirs to resume;
--     rows_after_as_of   the previous build's explicit as_of left rows of
--                        theirs out of FIFO;
--     rows_edited_or_removed  a row of theirs was edited, re-exported,
--                        deleted, reclassified or moved to another user
--                        (a changed key that was loaded before);
--     late_rows          a new row comes before their last processed row;
--   resumed  the run continues from the state the previous run left
--            (resume_after_*: their last processed row; prev_*: the
--            previous int_user_balances figures): only later rows are
--            processed:
--     new_rows           new ids after their last processed row (the
--                        daily case);
--     as_of_crossed      no new row, but as_of moved across one of their
--                        lots' expiry or rows.
-- depends_on: {{ ref('base_ledger__credit_history_changes') }}

with base as (
    select * from {{ ref('base_ledger__credit_histories') }}
),

users as (
    select * from {{ ref('stg_ledger__users') }}
),

{#- the state of the previous run, read without a ref: these models are
    downstream of this one -#}
{%- set previous_lots = adapter.get_relation(
    database=this.database, schema=this.schema, identifier='int_credit_lots') %}
{%- set previous_as_of = adapter.get_relation(
    database=this.database, schema=this.schema, identifier='int_ledger_as_of') %}
{%- set previous_balances = adapter.get_relation(
    database=this.database, schema=this.schema, identifier='int_user_balances') %}
{%- set has_state = previous_lots is not none
    and previous_as_of is not none
    and previous_balances is not none %}
{%- if var('as_of') is none %}
{%- set as_of_expression = 'max(occurred_at)' %}
{%- else %}
{%- set as_of_expression = 'max(' ~ parse_utc_timestamp("'" ~ var('as_of') ~ "'") ~ ')' %}
{%- endif %}
{%- if is_full_refresh() %}
{%- set everyone_because = 'full_refresh' %}
{%- elif not has_state %}
{%- set everyone_because = 'first_build' %}
{#- state is resumed from only if the run that wrote it passed
    (macros/build_runs.sql) #}
{%- elif not previous_build_run_passed() %}
{%- set everyone_because = 'previous_run_did_not_pass' %}
{%- else %}
{%- set everyone_because = none %}
{%- endif %}

{% if everyone_because is none %}
changes as (
    select * from {{ ref('base_ledger__credit_history_changes') }}
),

as_of_now as (
    select {{ as_of_expression }} as as_of
    from base
    where quarantine_reason is null
),

as_of_then as (
    select max(as_of) as as_of from {{ previous_as_of }}
),

as_of_window as (
    select
        as_of_then.as_of as previous_as_of,
        least(as_of_then.as_of, as_of_now.as_of) as window_start,
        greatest(as_of_then.as_of, as_of_now.as_of) as window_end,
        -- resuming needs the default as_of, moving forward
        {{ 'true' if var('as_of') is none else 'false' }}
        and as_of_now.as_of >= as_of_then.as_of as can_resume
    from as_of_then
    cross join as_of_now
),

-- keys that were loaded before and changed: their users are rebuilt
edited_keys as (
    select distinct source_row_key
    from changes
    where change_kind = 'drop'
),

-- this run's rows (base stamps them), each against its user's last
-- processed row
loaded_rows as (
    select
        base.user_id,
        base.quarantine_reason,
        base.occurred_at,
        base.source_row_key in (
            select edited_keys.source_row_key from edited_keys
        ) as is_edited,
        base.quarantine_reason is null
        and (
            base.occurred_at < previous_balances.last_occurred_at
            or (
                base.occurred_at = previous_balances.last_occurred_at
                and base.credit_history_id <= previous_balances.last_credit_history_id
            )
        ) as is_late
    from base
    left join {{ previous_balances }} as previous_balances
        on base.user_id = previous_balances.user_id
    where
        base.loaded_at = {{ this_run_loaded_at() }}
        and base.user_id is not null
),

changed_users as (
    select
        user_id,
        bool_or(is_edited) as has_edited_rows,
        bool_or(is_late) as has_late_rows,
        min(occurred_at) filter (where quarantine_reason is null) as first_new_at
    from loaded_rows
    group by user_id
    union all
    -- the previous owners of changed or deleted rows
    select
        dropped_user_id as user_id,
        true as has_edited_rows,
        false as has_late_rows,
        cast(null as timestamp) as first_new_at
    from changes
    where change_kind = 'drop' and dropped_user_id is not null
),

crossed_by_as_of as (
    select lots.user_id
    from {{ previous_lots }} as lots
    cross join as_of_window
    where
        lots.expires_at > as_of_window.window_start
        and lots.expires_at <= as_of_window.window_end
    union
    select base.user_id
    from base
    cross join as_of_window
    where
        base.quarantine_reason is null
        and base.occurred_at > as_of_window.window_start
        and base.occurred_at <= as_of_window.window_end
),

new_users as (
    select users.user_id
    from users
    where users.user_id not in (
        select previous_known.user_id
        from {{ previous_balances }} as previous_known
        where previous_known.is_known_user
    )
),

affected_ids as (
    select user_id from changed_users
    union
    select user_id from crossed_by_as_of
    union
    select user_id from new_users
),

affected as (
    select
        affected_ids.user_id,
        coalesce(bool_or(changed_users.has_edited_rows), false) as has_edited_rows,
        coalesce(bool_or(changed_users.has_late_rows), false) as has_late_rows,
        min(changed_users.first_new_at) as first_new_at,
        affected_ids.user_id in (select new_users.user_id from new_users) as is_new_user
    from affected_ids
    left join changed_users
        on affected_ids.user_id = changed_users.user_id
    group by affected_ids.user_id
),

classified as (
    select
        affected.user_id,
        previous_balances.ledger_row_count,
        previous_balances.ledger_balance_milli,
        previous_balances.last_occurred_at,
        previous_balances.last_credit_history_id,
        previous_balances.last_previous_amount_milli,
        previous_balances.last_amount_milli,
        previous_balances.sub_milli_row_count,
        previous_balances.concurrent_write_count,
        previous_balances.gap_count,
        case
            when not as_of_window.can_resume then 'as_of_not_default'
            when affected.is_new_user or previous_balances.last_occurred_at is null
                then 'new_user'
            -- rows after an explicit as_of of the previous build never
            -- reached FIFO: there is no state to resume from
            when previous_balances.last_occurred_at > as_of_window.previous_as_of
                then 'rows_after_as_of'
            when affected.has_edited_rows then 'rows_edited_or_removed'
            when affected.has_late_rows then 'late_rows'
            when affected.first_new_at is not null then 'new_rows'
            when as_of_window.can_resume is not null then 'as_of_crossed'
            -- unknown (no as_of to compare): rebuild, the safe way
            else 'as_of_not_default'
        end as reason,
        -- the daily mart is recomputed from this day on
        cast(
            least(
                coalesce(affected.first_new_at, as_of_window.window_start),
                as_of_window.window_start
            ) as date
        ) as resume_from_date
    from affected
    cross join as_of_window
    left join {{ previous_balances }} as previous_balances
        on affected.user_id = previous_balances.user_id
),

final as (
    select
        user_id,
        reason,
        is_rebuilt,
        case when not is_rebuilt then last_occurred_at end as resume_after_at,
        case when not is_rebuilt then last_credit_history_id end as resume_after_id,
        case when not is_rebuilt then resume_from_date end as resume_from_date,
        -- the previous run's figures a resumed user continues from (zero
        -- for a rebuilt user, who starts from nothing)
        case when is_rebuilt then 0 else ledger_row_count end as prev_row_count,
        case when is_rebuilt then 0 else ledger_balance_milli end as prev_balance_milli,
        case when not is_rebuilt then last_previous_amount_milli end
            as prev_previous_amount_milli,
        case when not is_rebuilt then last_amount_milli end as prev_amount_milli,
        case when is_rebuilt then 0 else sub_milli_row_count end as prev_sub_milli_row_count,
        case when is_rebuilt then 0 else concurrent_write_count end
            as prev_concurrent_write_count,
        case when is_rebuilt then 0 else gap_count end as prev_gap_count
    from (
        select
            *,
            reason not in ('new_rows', 'as_of_crossed') as is_rebuilt
        from classified
    ) as decided
)
{% else %}
-- (users whose rows a run that did not pass already deleted from base are
-- still in the previous per-user models: they are rebuilt to nothing)
{%- set previous_reconciliation = existing_relation_of('fct_ledger_reconciliation') %}
everyone as (
    select base.user_id from base
    where base.user_id is not null
    union
    select users.user_id from users
    {%- for previous in [previous_balances, previous_reconciliation]
        if previous is not none and everyone_because != 'full_refresh' %}
    union
    select previous_users.user_id from {{ previous }} as previous_users
    {%- endfor %}
),

final as (
    select
        user_id,
        '{{ everyone_because }}' as reason,
        true as is_rebuilt,
        cast(null as timestamp) as resume_after_at,
        cast(null as bigint) as resume_after_id,
        cast(null as date) as resume_from_date,
        cast(0 as bigint) as prev_row_count,
        cast(0 as bigint) as prev_balance_milli,
        cast(null as bigint) as prev_previous_amount_milli,
        cast(null as bigint) as prev_amount_milli,
        cast(0 as bigint) as prev_sub_milli_row_count,
        cast(0 as bigint) as prev_concurrent_write_count,
        cast(0 as bigint) as prev_gap_count
    from everyone
)
{% endif %}

select * from final
