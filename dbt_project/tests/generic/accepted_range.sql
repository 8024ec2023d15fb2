{#- dbt_utils.accepted_range, same name and arguments (kept local: no hub packages).
    Fails on rows whose column is outside [min_value, max_value] (either bound optional; `inclusive:
    false` excludes the bounds themselves); nulls pass (test them with not_null). -#}
{% test accepted_range(model, column_name, min_value=none, max_value=none, inclusive=true) %}
select *
from {{ model }}
where 1 = 2
{%- if min_value is not none %}
   or not {{ column_name }} >{{ '=' if inclusive }} {{ min_value }}
{%- endif %}
{%- if max_value is not none %}
   or not {{ column_name }} <{{ '=' if inclusive }} {{ max_value }}
{%- endif %}
{% endtest %}
