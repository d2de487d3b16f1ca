-- Projected use and expiry of every lot still open at as_of (contract
-- section 10). The user keeps using credits as a steady stream at their
-- 30-day average daily consumption (fct_burn_rate_daily on the as_of day),
-- drawn soonest-expiring first like FIFO. A lot that expires before the
-- stream reaches it expires whole; a lot the stream reaches is used until it
-- runs out or expires.
--
-- Set-based and exact: U(t) = S x (t - as_of) / 30 days is what the stream
-- has used by t (S = the 30-day consumption in milli-credits). Walking the
-- lots in order with D = credits used so far, a lot with R credits left and
-- expiry cap = U(expires_at), rounded to the milli-credit, ends at
--   D_k = min(D_{k-1} + R_k, cap_k)
-- and as caps never decrease along the order this unrolls to
--   D_k = P_k + min(0, min over j <= k of (cap_j - P_j)),  P = running sum of R
-- a running minimum: no recursion, partitioned by user. The time works the
-- same way: the stream reaches the end of lot k at
--   t_k = min(t_{k-1} + R_k x 30 days / S, expires_at_k)
--       = min(as_of + P_k x 30d / S, min over j <= k of (expires_at_j + (P_k - P_j) x 30d / S))
-- computed exactly (scaled by S) and rounded once, to the microsecond. A
-- fractional daily rate is never rounded: only each lot's cumulative credits
-- (to the milli-credit) and times (to the microsecond) are.

with lots as (
    select * from {{ ref('int_credit_lots') }}
    where not is_expired and remaining_milli > 0
),

as_of as (
    select {{ ledger_as_of() }} as as_of
),

usage_rates as (
    select
        burn.user_id,
        burn.consumed_30d_milli
    from {{ ref('fct_burn_rate_daily') }} as burn
    inner join as_of
        on burn.activity_date = cast(as_of.as_of as date)
),

breakage_rates as (
    select
        credit_type,
        {{ to_millionths('breakage_rate') }} as breakage_rate_ppm
    from {{ ref('breakage_rates') }}
),

{%- set stream_microseconds = 30 * 86400 * 1000000 %}

capped as (
    select
        lots.*,
        as_of.as_of,
        coalesce(usage_rates.consumed_30d_milli, 0) as usage_30d_milli,
        coalesce(breakage_rates.breakage_rate_ppm, 0) as breakage_rate_ppm,
        -- credits the stream has used by the lot's expiry (null: never
        -- expires, no cap)
        case
            when coalesce(usage_rates.consumed_30d_milli, 0) = 0 then 0
            when lots.expires_at is not null
                then {{ round_ratio(
                    ['usage_rates.consumed_30d_milli',
                     epoch_microseconds('lots.expires_at') ~ ' - ' ~ epoch_microseconds('as_of.as_of')],
                    [stream_microseconds]
                ) }}
        end as cap_milli,
        sum(lots.remaining_milli) over fifo_order as running_remaining_milli
    from lots
    cross join as_of
    left join usage_rates
        on lots.user_id = usage_rates.user_id
    left join breakage_rates
        on lots.credit_type = breakage_rates.credit_type
    window fifo_order as (
        partition by lots.user_id
        -- section 6's order: soonest expiry first, never-expiring last
        order by
            lots.expires_at asc nulls last,
            lots.granted_at asc,
            lots.lot_id asc
        rows between unbounded preceding and current row
    )
),

walked as (
    select
        *,
        cast(
            running_remaining_milli
            + least(0, coalesce(min(cap_milli - running_remaining_milli) over fifo_order, 0))
            as bigint
        ) as used_through_milli,
        -- the running minimum of S x expires_at_j - P_j x 30 days (in
        -- microseconds): t_k above, scaled by S, less P_k x 30 days
        min(
            cast({{ epoch_microseconds('expires_at') }} as {{ wide_integer() }})
            * usage_30d_milli
            - cast(running_remaining_milli as {{ wide_integer() }}) * {{ stream_microseconds }}
        ) over fifo_order as expiry_bound_scaled
    from capped
    window fifo_order as (
        partition by user_id
        order by expires_at asc nulls last, granted_at asc, lot_id asc
        rows between unbounded preceding and current row
    )
),

projected as (
    select
        *,
        -- S x t_k in microseconds
        cast(running_remaining_milli as {{ wide_integer() }}) * {{ stream_microseconds }}
        + least(
            cast({{ epoch_microseconds('as_of') }} as {{ wide_integer() }})
            * usage_30d_milli,
            coalesce(
                expiry_bound_scaled,
                cast({{ epoch_microseconds('as_of') }} as {{ wide_integer() }})
                * usage_30d_milli
            )
        ) as exhausted_scaled,
        used_through_milli - coalesce(lag(used_through_milli) over (
            partition by user_id
            order by expires_at asc nulls last, granted_at asc, lot_id asc
        ), 0) as projected_used_milli
    from walked
),

final as (
    select
        lot_id,
        user_id,
        credit_type,
        granted_at,
        expires_at,
        remaining_milli,
        value_minor,
        usage_30d_milli,
        projected_used_milli,
        -- a never-expiring lot the stream does not reach stays open
        case
            when expires_at is not null then remaining_milli - projected_used_milli
            else 0
        end as projected_expired_milli,
        -- what the configured method recognises as breakage at expiry: the
        -- value not recognised by the credits used by then
        case
            when expires_at is not null and remaining_milli > projected_used_milli
                then value_minor - {{ usage_revenue_minor(
                    'value_minor',
                    'consumed_milli + debt_repaid_milli + projected_used_milli',
                    'granted_milli', 'breakage_rate_ppm'
                ) }}
            else 0
        end as projected_expired_minor,
        -- used up: when the stream reaches the end of the lot (t_k above)
        case
            when projected_used_milli = remaining_milli and usage_30d_milli > 0
                then {{ from_epoch_microseconds(
                    round_ratio(['exhausted_scaled'], ['usage_30d_milli'])
                ) }}
        end as projected_exhausted_at,
        case
            when expires_at is not null and remaining_milli > projected_used_milli
                then expires_at
        end as projected_expires_at,
        as_of
    from projected
)

select * from final
