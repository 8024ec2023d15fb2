{#- The marts' horizon: var('as_of_date') when given, else the latest pay date in the data.
    The runner passes the published horizon or the run's last day, whichever is later, so a rebuild
    of a past day never moves the marts back in time (douyin_etl.orchestration.steps.build_audit).
    Returns a SQL expression of type DATE. -#}
{% macro as_of_date() -%}
    {%- if var('as_of_date', none) -%}
        cast('{{ var("as_of_date") }}' as date)
    {%- else -%}
        (select max(pay_date) from {{ ref('int_order_lines__enriched') }})
    {%- endif -%}
{%- endmacro %}

{#- Incremental window: the first lake partition day (dt) an incremental run replaces.
    lookback_days before var('window_start') (the first day of the run's interval: a rebuild of day D
    replaces what changed from D - lookback onwards, later days included), else before
    var('as_of_date'), else before the newest change day already in the target.
    Always a DATE literal (computed once when dbt executes), so the window delete of the pre_hook
    (delete_incremental_window) and the model's selection use the same day. A null date when the
    model is not built incrementally. -#}
{% macro incremental_cutoff(change_dt_column='changed_dt') -%}
    {%- set anchor = var('window_start', none) or var('as_of_date', none) -%}
    {%- if not is_incremental() -%}
        cast(null as date)
    {%- elif anchor -%}
        cast({{ dbt.dateadd('day', -1 * var('lookback_days') | int, "cast('" ~ anchor ~ "' as date)") }} as date)
    {%- else -%}
        {{ query_date('select cast(' ~ dbt.dateadd('day', -1 * var('lookback_days') | int, 'max(' ~ change_dt_column ~ ')')
                      ~ ' as date) from ' ~ this, default='1970-01-01') }}
    {%- endif -%}
{%- endmacro %}

{#- The first value of a one-row query returning a date, as a DATE literal (at execution; a null
    literal while parsing). ``default`` (YYYY-MM-DD) when the query returns null. -#}
{% macro query_date(sql, default=none) -%}
    {%- set value = run_query(sql).columns[0].values()[0] if execute else none -%}
    {%- set value = default if value is none else value -%}
    {%- if value is none -%}
        cast(null as date)
    {%- else -%}
        cast('{{ (value.isoformat() if value.isoformat is defined else value | string)[:10] }}' as date)
    {%- endif -%}
{%- endmacro %}
