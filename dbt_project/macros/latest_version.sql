{#- The latest version of each key of a CTE: rows ranked by order_by within key, rank 1 kept.
    Used by staging to collapse re-landed versions (an order updated on several days lands under
    several dt partitions; the latest update_time wins, then the latest dt). Leaves a
    version_rank column that the rename CTE does not select. -#}
{% macro latest_version(cte, key, order_by) -%}
    select *
    from (
        select
            {{ cte }}.*,
            row_number() over (partition by {{ key }} order by {{ order_by }}) as version_rank
        from {{ cte }}
    ) as ranked
    where version_rank = 1
{%- endmacro %}
