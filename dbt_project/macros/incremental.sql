{#-
  Keyed incremental marts (fct_order_lines, fin_settlement_lines, inv_stock_daily) replace their
  rows by key. DuckDB: delete+insert. Spark on plain Parquet tables cannot delete or merge rows
  (dbt-spark offers only append and insert_overwrite of whole partitions there), so these marts are
  rebuilt in full on every Spark run. With var spark_file_format = 'delta' (Spark with Delta Lake,
  EMR with Delta) and on Databricks (dbt-databricks, Delta by default) they stay incremental with a
  merge on the same unique_key.
-#}
{% macro keyed_incremental_materialization() -%}
    {{- 'table' if target.type == 'spark' and var('spark_file_format', 'parquet') != 'delta' else 'incremental' -}}
{%- endmacro %}

{% macro keyed_incremental_strategy() -%}
    {{- 'merge' if target.type in ('spark', 'databricks') else 'delete+insert' -}}
{%- endmacro %}
