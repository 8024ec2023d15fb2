{#-
  Engine-specific SQL lives only here, behind adapter.dispatch(name, 'douyin').
  Each macro has a default__ (ANSI-ish / PostgreSQL-like), a duckdb__ and, where the default does
  not run on Spark SQL, a spark__ implementation. Spark notes: the session time zone is UTC (profile
  `spark`), TIMESTAMP is an instant (like DuckDB's TIMESTAMPTZ) and TIMESTAMP_NTZ a wall-clock time.
-#}

{#- unix seconds (BIGINT, 0 = not happened) -> TIMESTAMP WITH TIME ZONE (null when 0 or null) -#}
{% macro unix_to_timestamptz(unix_seconds) -%}
    {{ return(adapter.dispatch('unix_to_timestamptz', 'douyin')(unix_seconds)) }}
{%- endmacro %}

{% macro default__unix_to_timestamptz(unix_seconds) -%}
    case when {{ unix_seconds }} > 0
         then cast('1970-01-01 00:00:00+00' as timestamp with time zone) + {{ unix_seconds }} * interval '1 second' end
{%- endmacro %}

{% macro duckdb__unix_to_timestamptz(unix_seconds) -%}
    case when {{ unix_seconds }} > 0 then to_timestamp({{ unix_seconds }}) end
{%- endmacro %}

{% macro spark__unix_to_timestamptz(unix_seconds) -%}
    case when {{ unix_seconds }} > 0 then timestamp_seconds({{ unix_seconds }}) end
{%- endmacro %}

{#- the type of an instant: TIMESTAMP WITH TIME ZONE (Spark: TIMESTAMP, which is an instant there) -#}
{% macro type_instant() -%}
    {{ return(adapter.dispatch('type_instant', 'douyin')()) }}
{%- endmacro %}

{% macro default__type_instant() -%}
    timestamp with time zone
{%- endmacro %}

{% macro spark__type_instant() -%}
    timestamp
{%- endmacro %}

{#- an instant (TIMESTAMPTZ) -> its Asia/Shanghai business date (DATE) -#}
{% macro business_date(instant) -%}
    {{ return(adapter.dispatch('business_date', 'douyin')(instant)) }}
{%- endmacro %}

{% macro default__business_date(instant) -%}
    cast(({{ instant }}) at time zone 'Asia/Shanghai' as date)
{%- endmacro %}

{% macro duckdb__business_date(instant) -%}
    cast(timezone('Asia/Shanghai', {{ instant }}) as date)
{%- endmacro %}

{#- from_utc_timestamp shifts the instant to Shanghai wall-clock; to_date reads it in the UTC session -#}
{% macro spark__business_date(instant) -%}
    to_date(from_utc_timestamp({{ instant }}, 'Asia/Shanghai'))
{%- endmacro %}

{#- the Asia/Shanghai local wall-clock time of an instant (TIMESTAMP without zone) -#}
{% macro business_local_time(instant) -%}
    {{ return(adapter.dispatch('business_local_time', 'douyin')(instant)) }}
{%- endmacro %}

{% macro default__business_local_time(instant) -%}
    (({{ instant }}) at time zone 'Asia/Shanghai')
{%- endmacro %}

{% macro duckdb__business_local_time(instant) -%}
    timezone('Asia/Shanghai', {{ instant }})
{%- endmacro %}

{% macro spark__business_local_time(instant) -%}
    cast(from_utc_timestamp({{ instant }}, 'Asia/Shanghai') as timestamp_ntz)
{%- endmacro %}

{#- the instant 00:00 Asia/Shanghai of a business date -#}
{% macro business_day_start(day) -%}
    {{ return(adapter.dispatch('business_day_start', 'douyin')(day)) }}
{%- endmacro %}

{% macro default__business_day_start(day) -%}
    (cast({{ day }} as timestamp) at time zone 'Asia/Shanghai')
{%- endmacro %}

{% macro duckdb__business_day_start(day) -%}
    timezone('Asia/Shanghai', cast({{ day }} as timestamp))
{%- endmacro %}

{% macro spark__business_day_start(day) -%}
    to_utc_timestamp(cast(cast({{ day }} as date) as timestamp), 'Asia/Shanghai')
{%- endmacro %}

{#- a scalar field of a JSON text column, as text; path is a JSONPath like '$[0].warehouse_id' -#}
{% macro json_text(json_column, path) -%}
    {{ return(adapter.dispatch('json_text', 'douyin')(json_column, path)) }}
{%- endmacro %}

{% macro default__json_text(json_column, path) -%}
    json_value({{ json_column }}, '{{ path }}')
{%- endmacro %}

{% macro duckdb__json_text(json_column, path) -%}
    json_extract_string({{ json_column }}, '{{ path }}')
{%- endmacro %}

{% macro spark__json_text(json_column, path) -%}
    get_json_object({{ json_column }}, '{{ path }}')
{%- endmacro %}

{#- integer fen -> yuan DECIMAL(18,2), exact (no floating point on the way) -#}
{% macro fen_to_yuan(fen) -%}
    {{ return(adapter.dispatch('fen_to_yuan', 'douyin')(fen)) }}
{%- endmacro %}

{% macro default__fen_to_yuan(fen) -%}
    cast(cast({{ fen }} as decimal(20, 2)) * cast(0.01 as decimal(3, 2)) as decimal(18, 2))
{%- endmacro %}

{% macro duckdb__fen_to_yuan(fen) -%}
    cast(cast({{ fen }} as decimal(18, 0)) * 0.01::decimal(3, 2) as decimal(18, 2))
{%- endmacro %}

{#- round_half_up(amount_fen × rate_bp / 10000): exactly douyin_etl.money.rate_of (half away from zero) -#}
{% macro fee_of(amount_fen, rate_bp) -%}
    {{ return(adapter.dispatch('fee_of', 'douyin')(amount_fen, rate_bp)) }}
{%- endmacro %}

{% macro default__fee_of(amount_fen, rate_bp) -%}
    cast(sign({{ amount_fen }}) * sign({{ rate_bp }})
         * floor((abs(cast({{ amount_fen }} as decimal(38, 0)) * abs({{ rate_bp }})) + 5000) / 10000) as bigint)
{%- endmacro %}

{% macro duckdb__fee_of(amount_fen, rate_bp) -%}
    cast(sign({{ amount_fen }}) * sign({{ rate_bp }})
         * ((abs(cast({{ amount_fen }} as hugeint)) * abs({{ rate_bp }}) + 5000) // 10000) as bigint)
{%- endmacro %}

{#- Spark's sign() is DOUBLE and `/` is fractional: integer signs and `div` keep it integral. -#}
{% macro spark__fee_of(amount_fen, rate_bp) -%}
    cast(case when {{ amount_fen }} < 0 then -1 when {{ amount_fen }} > 0 then 1 else 0 end
         * case when {{ rate_bp }} < 0 then -1 when {{ rate_bp }} > 0 then 1 else 0 end
         * ((abs(cast({{ amount_fen }} as decimal(38, 0))) * abs({{ rate_bp }}) + 5000) div 10000) as bigint)
{%- endmacro %}

{#- round_half_up(numerator / denominator) of two integers, BIGINT, exact (half away from zero, as
    fee_of and douyin_etl.money): a per-unit amount in fen, e.g. a line's unit price (origin_fen /
    item_num) or a per-mille figure. Never floating point. Null when either is null; the caller keeps
    the denominator away from 0 (nullif(d, 0) gives null). -#}
{% macro divide_round_half_up(numerator, denominator) -%}
    {{ return(adapter.dispatch('divide_round_half_up', 'douyin')(numerator, denominator)) }}
{%- endmacro %}

{% macro default__divide_round_half_up(numerator, denominator) -%}
    cast(sign({{ numerator }}) * sign({{ denominator }})
         * floor((abs(cast({{ numerator }} as decimal(38, 0))) * 2 + abs({{ denominator }})) / (2 * abs(cast({{ denominator }} as decimal(38, 0))))) as bigint)
{%- endmacro %}

{% macro duckdb__divide_round_half_up(numerator, denominator) -%}
    cast(sign({{ numerator }}) * sign({{ denominator }})
         * ((abs(cast({{ numerator }} as hugeint)) * 2 + abs({{ denominator }})) // (2 * abs(cast({{ denominator }} as hugeint)))) as bigint)
{%- endmacro %}

{#- Spark's sign() is DOUBLE and `/` is fractional: integer signs and `div` keep it integral. -#}
{% macro spark__divide_round_half_up(numerator, denominator) -%}
    cast(case when {{ numerator }} < 0 then -1 when {{ numerator }} > 0 then 1 else 0 end
         * case when {{ denominator }} < 0 then -1 when {{ denominator }} > 0 then 1 else 0 end
         * ((abs(cast({{ numerator }} as decimal(38, 0))) * 2 + abs({{ denominator }})) div (2 * abs(cast({{ denominator }} as decimal(38, 0))))) as bigint)
{%- endmacro %}

{#- a = b where two nulls are equal -#}
{% macro null_safe_equal(left, right) -%}
    {{ return(adapter.dispatch('null_safe_equal', 'douyin')(left, right)) }}
{%- endmacro %}

{% macro default__null_safe_equal(left, right) -%}
    ({{ left }} is not distinct from {{ right }})
{%- endmacro %}

{% macro duckdb__null_safe_equal(left, right) -%}
    ({{ left }} is not distinct from {{ right }})
{%- endmacro %}

{% macro spark__null_safe_equal(left, right) -%}
    ({{ left }} <=> {{ right }})
{%- endmacro %}

{#- How a keyed incremental model (macros/incremental.sql) is materialized: incremental (delete+insert
    on DuckDB); on Spark over plain Parquet a table rebuilt in full (no row deletes or merges there),
    incremental with var spark_file_format: delta; on Databricks (Delta by default) incremental. -#}
{% macro keyed_incremental_materialization() -%}
    {{ return(adapter.dispatch('keyed_incremental_materialization', 'douyin')()) }}
{%- endmacro %}

{% macro default__keyed_incremental_materialization() -%}
    {{ return('incremental') }}
{%- endmacro %}

{% macro spark__keyed_incremental_materialization() -%}
    {{ return('incremental' if var('spark_file_format', 'parquet') == 'delta' else 'table') }}
{%- endmacro %}

{#- dbt-databricks dispatches to spark__ after databricks__: Delta is its default format -#}
{% macro databricks__keyed_incremental_materialization() -%}
    {{ return('incremental') }}
{%- endmacro %}

{#- The incremental strategy of a keyed incremental model: delete+insert; engines that merge (Spark
    with Delta, Databricks) merge on the unique_key. -#}
{% macro keyed_incremental_strategy() -%}
    {{ return(adapter.dispatch('keyed_incremental_strategy', 'douyin')()) }}
{%- endmacro %}

{% macro default__keyed_incremental_strategy() -%}
    {{ return('delete+insert') }}
{%- endmacro %}

{% macro spark__keyed_incremental_strategy() -%}
    {{ return('merge') }}
{%- endmacro %}

{#- The unique_key of a mart rebuilt by whole days (incremental_days_filter): with delete+insert the
    day column alone, so a rebuilt day's rows are all removed first (a shop x channel x day whose last
    row went away goes too; a null in a grain column cannot keep a stale row); engines that merge
    (Spark with Delta, Databricks) need the row's grain. -#}
{% macro day_incremental_key(day_column, grain) -%}
    {{ return(adapter.dispatch('day_incremental_key', 'douyin')(day_column, grain)) }}
{%- endmacro %}

{% macro default__day_incremental_key(day_column, grain) -%}
    {{ return(day_column) }}
{%- endmacro %}

{% macro spark__day_incremental_key(day_column, grain) -%}
    {{ return(grain) }}
{%- endmacro %}

{#- Whether the engine builds dbt snapshots (snapshots/*.yml `enabled`): dbt-spark needs a Delta (or
    Hudi) table to merge into, so on Spark only with var spark_file_format: delta. -#}
{% macro snapshots_supported() -%}
    {{ return(adapter.dispatch('snapshots_supported', 'douyin')()) }}
{%- endmacro %}

{% macro default__snapshots_supported() -%}
    {{ return(true) }}
{%- endmacro %}

{% macro spark__snapshots_supported() -%}
    {{ return(var('spark_file_format', 'parquet') == 'delta') }}
{%- endmacro %}

{% macro databricks__snapshots_supported() -%}
    {{ return(true) }}
{%- endmacro %}

{#- A one-column relation `day` (DATE) of every day from start_day to end_day inclusive.
    start_day / end_day are SQL expressions of type DATE (scalar subqueries allowed).
    Engine-specific, so dispatched ('douyin'): default__ (PostgreSQL-like generate_series), duckdb__, spark__. -#}
{% macro day_series(start_day, end_day) -%}
    {{ return(adapter.dispatch('day_series', 'douyin')(start_day, end_day)) }}
{%- endmacro %}

{% macro default__day_series(start_day, end_day) -%}
    select cast(series.day as date) as day
    from generate_series(cast({{ start_day }} as timestamp), cast({{ end_day }} as timestamp), interval '1 day') as series(day)
{%- endmacro %}

{% macro duckdb__day_series(start_day, end_day) -%}
    select cast(series.day as date) as day
    from range(cast({{ start_day }} as timestamp), cast({{ end_day }} as timestamp) + interval 1 day, interval 1 day) as series(day)
{%- endmacro %}

{% macro spark__day_series(start_day, end_day) -%}
    select series.day
    from (select explode(sequence(cast({{ start_day }} as date), cast({{ end_day }} as date), interval 1 day)) as day) as series
{%- endmacro %}

{#- The 8-byte floating point type for rates and averages (dbt.type_float() is a 4-byte REAL on DuckDB). -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'douyin')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double precision
{%- endmacro %}

{% macro duckdb__type_double() -%}
    double
{%- endmacro %}

{% macro spark__type_double() -%}
    double
{%- endmacro %}
