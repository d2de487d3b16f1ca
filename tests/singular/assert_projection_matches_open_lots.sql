-- The projection covers exactly the lots open at as_of, and the per-user
-- health figures add up to it: open lots, and projected breakage in the
-- next 30 and 90 days (credits and value).

with projected as (
    select * from {{ ref('fct_projected_expiry') }}
),

open_lots as (
    select * from {{ ref('int_credit_lots') }}
    where not is_expired and remaining_milli > 0
),

health as (
    select * from {{ ref('fct_user_credit_health') }}
),

missing_or_extra as (
    select
        'projection does not cover the open lots' as problem,
        coalesce(open_lots.user_id, projected.user_id) as user_id
    from open_lots
    full outer join projected
        on open_lots.lot_id = projected.lot_id
    where
        open_lots.lot_id is null
        or projected.lot_id is null
        or open_lots.remaining_milli != projected.remaining_milli
),

per_user as (
    select
        projected.user_id,
        count(*) as open_lot_count,
        {%- for days in [30, 90] %}
        sum(case
            when
                projected.projected_expires_at
                <= {{ dbt.dateadd('day', days, 'projected.as_of') }}
                then projected.projected_expired_milli
            else 0
        end) as breakage_{{ days }}d_milli,
        sum(case
            when
                projected.projected_expires_at
                <= {{ dbt.dateadd('day', days, 'projected.as_of') }}
                then projected.projected_expired_minor
            else 0
        end) as breakage_{{ days }}d_minor
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from projected
    group by projected.user_id
),

health_differs as (
    select
        'health figures differ from the projection' as problem,
        coalesce(health.user_id, per_user.user_id) as user_id
    from health
    full outer join per_user
        on health.user_id = per_user.user_id
    where
        health.user_id is null
        or coalesce(per_user.open_lot_count, 0) != health.open_lot_count
        or coalesce(per_user.breakage_30d_milli, 0) != health.projected_breakage_30d_milli
        or coalesce(per_user.breakage_30d_minor, 0) != health.projected_breakage_30d_minor
        or coalesce(per_user.breakage_90d_milli, 0) != health.projected_breakage_90d_milli
        or coalesce(per_user.breakage_90d_minor, 0) != health.projected_breakage_90d_minor
)

select * from missing_or_extra
union all
select * from health_differs
