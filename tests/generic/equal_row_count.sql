{#
    The model has exactly as many rows as `compare_model` (each optionally
    filtered). Fails with one row giving both counts when they differ.
    On an incremental run `model` is cut to the test scope of the tested
    model (macros/test_scope.sql) and `compare_model` gets the same cut, so
    both count the rows of the same users; the compare model needs the
    columns of that scope (user_id). A test comparing with a source is not
    scoped on either side.
#}
{% test equal_row_count(model, compare_model, where_condition='true', compare_where_condition='true') %}
    {% set compare_relation = test_scope_subquery(compare_model, test_scope_tested_model()) %}

with counts as (
    select
        (select count(*) from {{ model }} where {{ where_condition }}) as model_rows,
        (select count(*) from {{ compare_relation }} where {{ compare_where_condition }}) as compare_rows
)

select *
from counts
where model_rows != compare_rows
{% endtest %}
