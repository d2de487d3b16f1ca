-- The users an incremental run recomputes: every user-grained model deletes
-- these users' rows and rebuilds them from scratch (so FIFO state stays
-- exact), and leaves every other user alone. A user is affected when
--   * a row of theirs was (re)loaded by this run: new rows, late rows, a
--     re-exported id (base_ledger__credit_histories.loaded_at);
--   * as_of moved across one of their lots' expiry, or across one of their
--     rows (lots expire, or rows enter or leave the FIFO window);
--   * they are new in `users` (or were known only from the ledger).
-- On a full refresh nothing reads this model.

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

reloaded as (
    select distinct user_id
    from base
    where
        loaded_at = {{ this_run_loaded_at() }}
        and user_id is not null
),

{% if previous_lots is not none and previous_as_of is not none %}
as_of_now as (
    select
        {% if var('as_of') is none -%}
            max(occurred_at)
        {%- else -%}
            {{ parse_utc_timestamp("'" ~ var('as_of') ~ "'") }}
        {%- endif %} as as_of
    from base
    where quarantine_reason is null
),

as_of_then as (
    select max(as_of) as as_of from {{ previous_as_of }}
),

as_of_window as (
    select
        least(as_of_then.as_of, as_of_now.as_of) as window_start,
        greatest(as_of_then.as_of, as_of_now.as_of) as window_end
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
{% else %}
-- first build: no previous as_of to cross
crossed_by_as_of as (
    select user_id
    from base
    where false
),
{% endif %}

new_users as (
    select users.user_id
    from users
    {% if previous_balances is not none %}
        where users.user_id not in (
            select user_id from {{ previous_balances }} where is_known_user
        )
    {% endif %}
),

final as (
    select user_id from reloaded
    union
    select user_id from crossed_by_as_of
    union
    select user_id from new_users
)

select * from final
