{#- Fails on every row of the model where `expression` is not true (null counts as a failure).
    Optional `where` narrows the rows checked. -#}
{% test expression_is_true(model, expression, column_name=none, where_sql=none) %}
select *
from {{ model }}
where not coalesce(({{ expression }}), false)
{%- if where_sql %} and ({{ where_sql }}){% endif %}
{% endtest %}
