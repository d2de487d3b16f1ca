{#
    The plan a user was on at a moment: the subscription running then
    (starts_at <= t < ends_at, an open one has no ends_at); when several
    overlap, the latest started, then the highest id. A subscription's
    status is not known as it was then, so a trial counts like any other.
    A FROM-clause subquery with one row per `key_column` of `rows` that has
    a plan: the key, subscription_id and plan_id.
#}
{% macro plan_at_time(rows, key_column, time_column, subscriptions) -%}
    (
        select
            ranked.{{ key_column }},
            ranked.subscription_id,
            ranked.plan_id
        from (
            select
                {{ rows }}.{{ key_column }},
                {{ subscriptions }}.subscription_id,
                {{ subscriptions }}.plan_id,
                row_number() over (
                    partition by {{ rows }}.{{ key_column }}
                    order by
                        {{ subscriptions }}.starts_at desc,
                        {{ subscriptions }}.subscription_id desc
                ) as subscription_rank
            from {{ rows }}
            inner join {{ subscriptions }}
                on
                    {{ rows }}.user_id = {{ subscriptions }}.user_id
                    and {{ rows }}.{{ time_column }} >= {{ subscriptions }}.starts_at
                    and (
                        {{ subscriptions }}.ends_at is null
                        or {{ rows }}.{{ time_column }} < {{ subscriptions }}.ends_at
                    )
        ) as ranked
        where ranked.subscription_rank = 1
    )
{%- endmacro %}
