-- The users an incremental run recomputes, and how. A user is affected when
--   * a row of theirs was (re)loaded by this run: new rows, late rows, a
--     re-exported id (base_ledger__credit_histories.loaded_at);
--   * as_of moved across one of their lots' expiry, or across one of their
--     rows (lots expire, or rows enter or leave the FIFO window);
--   * they are new in `users` (or were known only from the ledger).
--
-- An affected user is either
--   rebuilt  (is_rebuilt) every user-grained model deletes the user's rows
--            and recomputes them from the user's first row;
--   resumed  the run continues from the state the previous run left
--            (resume_after_at / resume_after_id: the user's last processed
--            row, and the prev_* figures of int_user_balances): only rows
--            after it are processed. A user is resumed when every row of
--            theirs that this run loaded is a new id that comes after their
--            last processed row, as_of is the default and did not move back.
-- Late rows, re-exported ids, new users, an explicit as_of var or an as_of
-- that moved back make a user rebuilt. On a full refresh, the first build,
-- or after a run that did not pass (it failed, stopped partway or built only
-- some models: its state cannot be resumed from), every user is listed as
-- rebuilt (tests read this model to know what the run rewrote).

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
{%- if var('as_of') is none %}
{%- set as_of_expression = 'max(occurred_at)' %}
{%- else %}
{%- set as_of_expression = 'max(' ~ parse_utc_timestamp("'" ~ var('as_of') ~ "'") ~ ')' %}
{%- endif %}
{#- the previous run's state is resumed from only if that run built every
    state model and passed (macros/build_runs.sql) -#}
{%- set has_previous = not flags.FULL_REFRESH
    and previous_lots is not none
    and previous_as_of is not none
    and previous_balances is not none
    and previous_build_run_passed() %}

{% if has_previous %}
reloaded_rows as (
    select *
    from base
    where
        loaded_at = {{ this_run_loaded_at() }}
        and user_id is not null
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

-- ids loaded by this run that have more than one version in the export: a
-- re-export can change which version wins, and old rows with it
reexported_ids as (
    select base.credit_history_id
    from base
    where
        base.credit_history_id in (
            select reloaded_rows.credit_history_id from reloaded_rows
        )
    group by base.credit_history_id
    having count(*) > 1
),

affected as (
    select user_id from reloaded_rows
    union
    select user_id from crossed_by_as_of
    union
    select user_id from new_users
),

previous as (
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
        previous_balances.gap_count
    from affected
    left join {{ previous_balances }} as previous_balances
        on affected.user_id = previous_balances.user_id
),

-- what stops a user from resuming: an old or re-exported row among the
-- rows this run loaded
blockers as (
    select
        reloaded_rows.user_id,
        min(reloaded_rows.occurred_at) filter (
            where reloaded_rows.quarantine_reason is null
        ) as first_new_at,
        bool_or(
            reloaded_rows.credit_history_id in (
                select reexported_ids.credit_history_id from reexported_ids
            )
            or (
                reloaded_rows.quarantine_reason is null
                and (
                    reloaded_rows.occurred_at < previous.last_occurred_at
                    or (
                        reloaded_rows.occurred_at = previous.last_occurred_at
                        and reloaded_rows.credit_history_id
                        <= previous.last_credit_history_id
                    )
                )
            )
        ) as has_old_rows
    from reloaded_rows
    inner join previous
        on reloaded_rows.user_id = previous.user_id
    group by reloaded_rows.user_id
),

classified as (
    select
        previous.*,
        blockers.first_new_at,
        coalesce(
            not as_of_window.can_resume
            or previous.last_occurred_at is null
            -- rows after an explicit as_of of the previous build never
            -- reached FIFO: there is no state to resume from
            or previous.last_occurred_at > as_of_window.previous_as_of
            or previous.user_id in (select new_users.user_id from new_users)
            or coalesce(blockers.has_old_rows, false),
            -- unknown (no as_of to compare): rebuild, the safe way
            true
        ) as is_rebuilt,
        -- the daily mart is recomputed from this day on
        cast(
            least(
                coalesce(blockers.first_new_at, as_of_window.window_start),
                as_of_window.window_start
            ) as date
        ) as resume_from_date
    from previous
    cross join as_of_window
    left join blockers
        on previous.user_id = blockers.user_id
),

final as (
    select
        user_id,
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
    from classified
)
{% else %}
-- full refresh, first build, or after a run that did not pass: everyone,
-- from scratch
everyone as (
    select base.user_id from base
    where base.user_id is not null
    union
    select users.user_id from users
),

final as (
    select
        user_id,
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
