{#
    A boolean SQL expression holds on every row (optionally only on the rows
    matching `where_condition`). Fails with the rows where it is false or null.
#}
{% test expression_is_true(model, expression, where_condition=none) %}

select *
from {{ model }}
where not coalesce(({{ expression }}), false)
{% if where_condition %}
    and ({{ where_condition }})
{% endif %}
{% endtest %}
