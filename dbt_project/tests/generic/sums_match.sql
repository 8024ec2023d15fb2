{#- Fails when sum(column) of the model differs from sum(compare_column) of compare_model
    (each optionally filtered), by more than `tolerance` (default exact). Returns the one
    differing row with both sums. -#}
{% test sums_match(model, column_name, compare_model, compare_column, where_sql=none, compare_where_sql=none, tolerance=0) %}
{#- compares with another relation: the whole table on every run (macros/test_window.sql) -#}
{{ config(meta={'test_window': 'full'}) }}
with left_side as (
    select coalesce(sum({{ column_name }}), 0) as model_sum
    from {{ model }}
    {%- if where_sql %} where {{ where_sql }}{% endif %}
),
right_side as (
    select coalesce(sum({{ compare_column }}), 0) as compare_sum
    from {{ compare_model }}
    {%- if compare_where_sql %} where {{ compare_where_sql }}{% endif %}
)
select model_sum, compare_sum
from left_side cross join right_side
where abs(model_sum - compare_sum) > {{ tolerance }}
{% endtest %}
