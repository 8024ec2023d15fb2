{#- Fails when the model and compare_model (each optionally filtered) have different row counts. -#}
{% test equal_rowcount(model, compare_model, column_name=none, where_sql=none, compare_where_sql=none) %}
{#- compares with another relation: the whole table on every run (macros/test_window.sql) -#}
{{ config(meta={'test_window': 'full'}) }}
with left_side as (
    select count(*) as model_rows from {{ model }}
    {%- if where_sql %} where {{ where_sql }}{% endif %}
),
right_side as (
    select count(*) as compare_rows from {{ compare_model }}
    {%- if compare_where_sql %} where {{ compare_where_sql }}{% endif %}
)
select model_rows, compare_rows
from left_side cross join right_side
where model_rows <> compare_rows
{% endtest %}
