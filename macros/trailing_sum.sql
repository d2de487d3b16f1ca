{#
    Sum of `column` over the `days` rows ending at the current one, per user
    in date order. On a dense daily spine (one row per user and day) rows
    are days, so this is the trailing `days`-day total.
#}
{% macro trailing_sum(column, days) -%}
    sum({{ column }}) over (
        partition by user_id order by activity_date
        rows between {{ days - 1 }} preceding and current row
    )
{%- endmacro %}
