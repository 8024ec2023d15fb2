{#- A one-column relation `day` (DATE) of every day from start_day to end_day inclusive.
    start_day / end_day are SQL expressions of type DATE (scalar subqueries allowed).
    Engine-specific, so dispatched ('douyin'): default__ (PostgreSQL-like generate_series), duckdb__, spark__. -#}
{% macro ops_day_series(start_day, end_day) -%}
    {{ return(adapter.dispatch('ops_day_series', 'douyin')(start_day, end_day)) }}
{%- endmacro %}

{% macro default__ops_day_series(start_day, end_day) -%}
    select cast(series.day as date) as day
    from generate_series(cast({{ start_day }} as timestamp), cast({{ end_day }} as timestamp), interval '1 day') as series(day)
{%- endmacro %}

{% macro duckdb__ops_day_series(start_day, end_day) -%}
    select cast(series.day as date) as day
    from range(cast({{ start_day }} as timestamp), cast({{ end_day }} as timestamp) + interval 1 day, interval 1 day) as series(day)
{%- endmacro %}

{% macro spark__ops_day_series(start_day, end_day) -%}
    select series.day
    from (select explode(sequence(cast({{ start_day }} as date), cast({{ end_day }} as date), interval 1 day)) as day) as series
{%- endmacro %}

{#- Ratio of two numbers as DOUBLE, null when the denominator is 0 or null (rates in marts). -#}
{% macro ops_ratio(numerator, denominator) -%}
    (cast({{ numerator }} as {{ ops_type_double() }}) / nullif(cast({{ denominator }} as {{ ops_type_double() }}), 0))
{%- endmacro %}

{#- Reproducible aggregates. avg / stddev_samp / sum over DOUBLE add in the order threads deliver rows, so
    two runs over the same data can differ in the last bits. These take an INTEGER expression, aggregate it
    exactly (integer sums and counts) and divide once at the end: the same bits on every run and engine. -#}

{#- Mean of an integer expression divided by `unit` (e.g. seconds -> hours: 3600), DOUBLE; null without rows. -#}
{% macro ops_mean_exact(expr, unit=1) -%}
    {{ ops_ratio('sum(cast(' ~ expr ~ ' as ' ~ dbt.type_bigint() ~ '))',
                 'count(' ~ expr ~ ')' ~ (' * ' ~ unit if unit != 1 else '')) }}
{%- endmacro %}

{#- Sample standard deviation of an integer expression, DOUBLE; null with fewer than 2 rows.
    sqrt((n * sum(x^2) - sum(x)^2) / (n * (n - 1))): the numerator is an exact integer (no cancellation). -#}
{% macro ops_stddev_samp_exact(expr) -%}
    {%- set x = 'cast(' ~ expr ~ ' as ' ~ dbt.type_bigint() ~ ')' -%}
    case when count({{ expr }}) > 1
         then sqrt({{ ops_ratio('count(' ~ expr ~ ') * sum(' ~ x ~ ' * ' ~ x ~ ') - sum(' ~ x ~ ') * sum(' ~ x ~ ')',
                                'count(' ~ expr ~ ') * (count(' ~ expr ~ ') - 1)') }})
    end
{%- endmacro %}

{#- The 8-byte floating point type for rates and averages (dbt.type_float() is a 4-byte REAL on DuckDB). -#}
{% macro ops_type_double() -%}
    {{ return(adapter.dispatch('ops_type_double', 'douyin')()) }}
{%- endmacro %}

{% macro default__ops_type_double() -%}
    double precision
{%- endmacro %}

{% macro duckdb__ops_type_double() -%}
    double
{%- endmacro %}

{% macro spark__ops_type_double() -%}
    double
{%- endmacro %}
