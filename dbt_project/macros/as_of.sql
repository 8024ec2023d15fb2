{#- The run's business day: var('as_of_date') when given, else the latest pay date in the data.
    Returns a SQL expression of type DATE. -#}
{% macro as_of_date() -%}
    {%- if var('as_of_date', none) -%}
        cast('{{ var("as_of_date") }}' as date)
    {%- else -%}
        (select max(pay_date) from {{ ref('int_order_lines__enriched') }})
    {%- endif -%}
{%- endmacro %}

{#- Incremental window: the first lake partition day (dt) an incremental run reprocesses.
    lookback_days before var('as_of_date') when the runner passes it (so a backfill of day D
    reprocesses D - lookback onwards), else before the newest change day already in the target.
    Returns a SQL expression of type DATE; use only inside {% if is_incremental() %}. -#}
{% macro incremental_cutoff(change_dt_column='changed_dt') -%}
    {%- if var('as_of_date', none) -%}
        cast({{ dbt.dateadd('day', -1 * var('lookback_days') | int, "cast('" ~ var('as_of_date') ~ "' as date)") }} as date)
    {%- else -%}
        (select cast({{ dbt.dateadd('day', -1 * var('lookback_days') | int, 'max(' ~ change_dt_column ~ ')') }} as date) from {{ this }})
    {%- endif -%}
{%- endmacro %}
