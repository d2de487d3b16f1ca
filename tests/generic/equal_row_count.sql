{#
    The model has exactly as many rows as `compare_model` (each optionally
    filtered). Fails with one row giving both counts when they differ.
#}
{% test equal_row_count(model, compare_model, where_condition='true', compare_where_condition='true') %}

with counts as (
    select
        (select count(*) from {{ model }} where {{ where_condition }}) as model_rows,
        (select count(*) from {{ compare_model }} where {{ compare_where_condition }}) as compare_rows
)

select *
from counts
where model_rows != compare_rows
{% endtest %}
