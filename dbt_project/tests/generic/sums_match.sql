{#- No dbt_utils equivalent. Fails when sum(column) of the model differs from sum(compare_column) of
    compare_model by more than `tolerance` (default 0: exact); returns the one row with both sums.
    compare_column is any SQL expression over compare_model (`1` counts its rows). The model's rows
    can be narrowed with dbt's `config: {where: ...}`, compare_model's with `compare_where`.
    Compares with another relation: reads both whole on every run (meta test_window: full,
    macros/test_window.sql). -#}
{% test sums_match(model, column_name, compare_model, compare_column, compare_where=none, tolerance=0) %}
{{ config(meta={'test_window': 'full'}) }}
with left_side as (
    select coalesce(sum({{ column_name }}), 0) as model_sum
    from {{ model }}
),
right_side as (
    select coalesce(sum({{ compare_column }}), 0) as compare_sum
    from {{ compare_model }}
    {%- if compare_where %} where {{ compare_where }}{% endif %}
)
select model_sum, compare_sum
from left_side cross join right_side
where abs(model_sum - compare_sum) > {{ tolerance }}
{% endtest %}
