{#- dbt_utils.equal_rowcount, same name and arguments (kept local: no hub packages), without its
    group_by_columns. Fails when the model and compare_model have different row counts. The model's
    rows can be narrowed with dbt's `config: {where: ...}`; `compare_where` (not in dbt_utils)
    narrows compare_model's. Compares with another relation: reads both whole on every run
    (meta test_window: full, macros/test_window.sql). -#}
{% test equal_rowcount(model, compare_model, compare_where=none) %}
{{ config(meta={'test_window': 'full'}) }}
with left_side as (
    select count(*) as model_rows from {{ model }}
),
right_side as (
    select count(*) as compare_rows from {{ compare_model }}
    {%- if compare_where %} where {{ compare_where }}{% endif %}
)
select model_rows, compare_rows
from left_side cross join right_side
where model_rows <> compare_rows
{% endtest %}
