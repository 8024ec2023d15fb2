{#-
  Registers the lake's sources with the engine before a run (dbt_project.yml on-run-start).
  DuckDB reads the lake directly through each source's external_location: nothing to do.
  Spark: source('doudian', 'shop_order') renders as `doudian.shop_order`, so every source table of
  the graph becomes an external Parquet table over <lake>/raw/<source>/<table>/ with its `dt=`
  partitions discovered and the part files' schemas merged (DuckDB's union_by_name). The tables
  are re-created on every run (dropping an external table leaves the lake's files alone), so
  partitions and columns landed since the last run are always seen.
-#}
{% macro register_lake_sources() -%}
    {{ return(adapter.dispatch('register_lake_sources', 'douyin')()) }}
{%- endmacro %}

{% macro default__register_lake_sources() -%}
{%- endmacro %}

{% macro spark__register_lake_sources() -%}
    {%- if execute -%}
        {%- set lake_dir = var('lake_dir', env_var('DOUYIN_LAKE_DIR', '../lake')) | string -%}
        {%- for source_node in graph.sources.values() | sort(attribute='unique_id') -%}
            {%- set relation = api.Relation.create(schema=source_node.schema, identifier=source_node.identifier) -%}
            {%- set location = lake_dir.rstrip('/') ~ '/raw/' ~ source_node.source_name ~ '/' ~ source_node.name -%}
            {%- do log('lake source ' ~ relation ~ ' <- ' ~ location, info=false) -%}
            {%- do run_query('create database if not exists ' ~ source_node.schema) -%}
            {%- do run_query('drop table if exists ' ~ relation) -%}
            {%- do run_query("create table " ~ relation ~ " using parquet options (path '" ~ location
                             ~ "', mergeSchema 'true')") -%}
            {%- do run_query('alter table ' ~ relation ~ ' recover partitions') -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
