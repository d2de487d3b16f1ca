{#
    Like `relationships`, restricted to the child rows matching
    `from_condition` (and the parent rows matching `to_condition`):
    every such non-null key must exist in the parent. Fails with orphans.
#}
{% test relationships_where(model, column_name, to, field, from_condition='true', to_condition='true') %}

with child as (
    select {{ column_name }} as child_key
    from {{ model }}
    where {{ column_name }} is not null
        and ({{ from_condition }})
),

parent as (
    select {{ field }} as parent_key
    from {{ to }}
    where {{ to_condition }}
)

select child.child_key
from child
left join parent
    on child.child_key = parent.parent_key
where parent.parent_key is null
{% endtest %}
