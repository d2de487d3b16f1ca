{#
    Every non-null value of the column lies in [min_value, max_value]
    (either bound optional; `inclusive: false` makes them strict).
    Fails with the rows outside the range.
#}
{% test accepted_range(model, column_name, min_value=none, max_value=none, inclusive=true) %}
    {% if min_value is none and max_value is none %}
        {{ exceptions.raise_compiler_error(
            "accepted_range on " ~ model ~ "." ~ column_name
            ~ " needs min_value, max_value or both"
        ) }}
    {% endif %}
    {% set low_op = '>=' if inclusive else '>' %}
    {% set high_op = '<=' if inclusive else '<' %}

with checked as (
    select {{ column_name }} as value_checked
    from {{ model }}
    where {{ column_name }} is not null
)

select *
from checked
where not (
    true
    {% if min_value is not none %}and value_checked {{ low_op }} {{ min_value }}{% endif %}
    {% if max_value is not none %}and value_checked {{ high_op }} {{ max_value }}{% endif %}
)
{% endtest %}
