{#- The marts' horizon: the run parameter as_of_date when given (run_param(): var or the runner's
    run parameters), else the latest pay date in the data. The runner passes the published horizon
    or the run's last day, whichever is later, so a rebuild of a past day never moves the marts back
    in time (douyin_etl.orchestration.steps.build_audit). Returns a SQL expression of type DATE.
    The ref() is taken in every case: parsing (no run parameters) records the dependency. -#}
{% macro as_of_date() -%}
    {%- set enriched = ref('int_order_lines__enriched') -%}
    {%- set given = run_param('as_of_date') -%}
    {%- if given -%}
        cast('{{ given }}' as date)
    {%- else -%}
        (select max(pay_date) from {{ enriched }})
    {%- endif -%}
{%- endmacro %}

{#- Incremental window: the first lake partition day (dt) an incremental run replaces.
    lookback_days before the run parameter window_start (the first day of the run's interval: a
    rebuild of day D replaces what changed from D - lookback onwards, later days included), else
    before as_of_date (run_param()), else before the newest change day already in the target.
    Always a DATE literal (computed once when dbt executes), so the window delete of the pre_hook
    (delete_incremental_window) and the model's selection use the same day. A null date when the
    model is not built incrementally. -#}
{% macro incremental_cutoff(change_dt_column='changed_dt') -%}
    {%- set anchor = run_param('window_start') or run_param('as_of_date') -%}
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
