{#
    dbt-spark's dateadd goes through unix seconds and drops microseconds
    (engine-facts: 8 relations differed, every test passed). This override
    of dbt's macro (the dbt namespace looks in the root project first) uses
    timestampadd, which keeps them.
#}
{% macro spark__dateadd(datepart, interval, from_date_or_timestamp) -%}
    timestampadd({{ datepart }}, {{ interval }}, {{ from_date_or_timestamp }})
{%- endmacro %}
