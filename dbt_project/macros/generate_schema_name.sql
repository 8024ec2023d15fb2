{#- Schemas are exactly the names the models ask for (staging, intermediate, sales, finance,
    inventory, performance, snapshots): no target-schema prefix, so analysts' SQL is stable. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
