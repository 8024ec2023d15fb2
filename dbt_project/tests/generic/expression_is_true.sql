{#- dbt_utils.expression_is_true, same name and arguments (kept local: no hub packages).
    Fails on every row where `expression` is not true. On a column (column_name given, as dbt_utils)
    the expression is applied to it: `expression: '>= 0'` checks `<column> >= 0`. One difference,
    on purpose: a null result counts as a failure here (dbt_utils lets it pass). Narrow the rows
    checked with dbt's `config: {where: ...}`. -#}
{% test expression_is_true(model, expression, column_name=none) %}
select *
from {{ model }}
where not coalesce(({{ column_name ~ ' ' if column_name }}{{ expression }}), false)
{% endtest %}
