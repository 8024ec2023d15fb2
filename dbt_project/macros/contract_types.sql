{#-
  Model contracts on every engine from one set of declarations. The marts' .yml files declare the
  DuckDB type names (varchar, timestamptz, ...). dbt checks a contract by asking the engine for the
  types of `select cast(null as <data_type>) ...` (get_empty_schema_sql) and comparing them with the
  model query's types. On Spark, the DuckDB-only names are translated first, so the same contract
  holds there: varchar -> string, an instant (timestamptz) -> timestamp, a wall-clock time
  (timestamp) -> timestamp_ntz. Everything else (bigint, integer, boolean, date, double,
  decimal(p,s)) is spelt the same on both.
-#}
{% macro spark_data_type(data_type) -%}
    {%- set spark_names = {
        'varchar': 'string',
        'text': 'string',
        'timestamptz': 'timestamp',
        'timestamp with time zone': 'timestamp',
        'timestamp': 'timestamp_ntz',
    } -%}
    {%- set normalized = data_type | trim | lower -%}
    {{- spark_names.get(normalized, data_type) -}}
{%- endmacro %}

{#- dbt's contract check (namespace dbt): the yml's types, translated for Spark (root-project override) -#}
{% macro spark__get_empty_schema_sql(columns) -%}
    {%- set translated = {} -%}
    {%- for name, column in columns.items() -%}
        {%- set spark_column = {} -%}
        {%- do spark_column.update(column) -%}
        {%- if column.get('data_type') is not none -%}
            {%- do spark_column.update({'data_type': douyin.spark_data_type(column['data_type'])}) -%}
        {%- endif -%}
        {%- do translated.update({name: spark_column}) -%}
    {%- endfor -%}
    {{ dbt.default__get_empty_schema_sql(translated) }}
{%- endmacro %}
