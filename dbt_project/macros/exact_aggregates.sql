{#- Rates and averages in the marts: DOUBLE ratios that are null on a zero denominator, and means and
    standard deviations computed from exact integer sums (the same bits on every run and engine). -#}

{#- Ratio of two numbers as DOUBLE, null when the denominator is 0 or null (rates in marts). -#}
{% macro safe_ratio(numerator, denominator) -%}
    (cast({{ numerator }} as {{ type_double() }}) / nullif(cast({{ denominator }} as {{ type_double() }}), 0))
{%- endmacro %}

{#- Reproducible aggregates. avg / stddev_samp / sum over DOUBLE add in the order threads deliver rows, so
    two runs over the same data can differ in the last bits. These take an INTEGER expression, aggregate it
    exactly (integer sums and counts) and divide once at the end: the same bits on every run and engine. -#}

{#- Mean of an integer expression divided by `unit` (e.g. seconds -> hours: 3600), DOUBLE; null without rows. -#}
{% macro mean_exact(expr, unit=1) -%}
    {{ safe_ratio('sum(cast(' ~ expr ~ ' as ' ~ dbt.type_bigint() ~ '))',
                 'count(' ~ expr ~ ')' ~ (' * ' ~ unit if unit != 1 else '')) }}
{%- endmacro %}

{#- Sample standard deviation of an integer expression, DOUBLE; null with fewer than 2 rows.
    sqrt((n * sum(x^2) - sum(x)^2) / (n * (n - 1))): the numerator is an exact integer (no cancellation). -#}
{% macro stddev_samp_exact(expr) -%}
    {%- set x = 'cast(' ~ expr ~ ' as ' ~ dbt.type_bigint() ~ ')' -%}
    case when count({{ expr }}) > 1
         then sqrt({{ safe_ratio('count(' ~ expr ~ ') * sum(' ~ x ~ ' * ' ~ x ~ ') - sum(' ~ x ~ ') * sum(' ~ x ~ ')',
                                'count(' ~ expr ~ ') * (count(' ~ expr ~ ') - 1)') }})
    end
{%- endmacro %}
