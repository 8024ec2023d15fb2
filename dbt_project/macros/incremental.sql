{#-
  Keyed incremental marts (fct_order_lines, fin_settlement_lines, inv_stock_daily) replace a window:
  the pre_hook delete_incremental_window() deletes every row whose source partition day is in the
  rebuilt window (incremental_cutoff() onwards), then the model's rows for that window (plus rows
  whose key is no longer in the table: a row whose newest partition moved back before the window)
  are inserted by key. So a re-dropped file or a re-extracted day with fewer rows loses its removed
  rows in the mart too, not only those whose key comes back.
  DuckDB: delete+insert. Spark on plain Parquet tables cannot delete or merge rows (dbt-spark offers
  only append and insert_overwrite of whole partitions there), so these marts are rebuilt in full on
  every Spark run (materialized 'table': the pre_hook does nothing). With var spark_file_format =
  'delta' (Spark with Delta Lake, EMR with Delta) and on Databricks (dbt-databricks, Delta by
  default) they stay incremental: the same window DELETE (Delta supports it), then a merge on the
  same unique_key.
-#}
{% macro keyed_incremental_materialization() -%}
    {{- 'table' if target.type == 'spark' and var('spark_file_format', 'parquet') != 'delta' else 'incremental' -}}
{%- endmacro %}

{% macro keyed_incremental_strategy() -%}
    {{- 'merge' if target.type in ('spark', 'databricks') else 'delete+insert' -}}
{%- endmacro %}

{#- pre_hook of a keyed incremental mart: delete its rows whose ``column`` (the source partition day,
    or the row's own day) is on or after ``window_start`` (a DATE literal). Nothing when the model
    is not built incrementally (first build, --full-refresh, Spark on Parquet). -#}
{% macro delete_incremental_window(column, window_start) -%}
    {%- if is_incremental() -%}
        {{ return(adapter.dispatch('delete_incremental_window', 'douyin')(this, column, window_start)) }}
    {%- endif -%}
{%- endmacro %}

{#- runs as is on DuckDB and on Spark with Delta (DELETE with a literal condition) -#}
{% macro default__delete_incremental_window(relation, column, window_start) -%}
    delete from {{ relation }} where {{ column }} >= {{ window_start }}
{%- endmacro %}

{#- inv_stock_daily's window: incremental_cutoff(), extended back to the pay day of any paid order
    line that changed (landed) since, so units_sold stays right when a line lands late. A DATE
    literal (the pre_hook's delete and the model's selection agree). -#}
{% macro inv_stock_window_start() -%}
    {%- set cutoff = incremental_cutoff('stock_date') -%}
    {%- if not is_incremental() -%}
        cast(null as date)
    {%- else -%}
    {{ query_date('select least(' ~ cutoff ~ ', coalesce(min(pay_date), ' ~ cutoff ~ ')) from '
                  ~ ref('int_order_lines__enriched') ~ ' where is_paid and changed_dt >= ' ~ cutoff) }}
    {%- endif -%}
{%- endmacro %}
