{#- A per-run value of the build (the run's dates: as_of_date, window_start), or ``default``.

    var(name) when given (--vars, a unit test's ``overrides: vars:``); else the runner's environment
    variable DOUYIN_RUN_<NAME> (douyin_etl.warehousing.dbt_runner.RUN_PARAMS), read only while dbt
    executes. Never while it parses: the values change every run, and dbt throws its saved parse
    away when --vars change or re-parses a file whose parse read a changed environment variable.
    While parsing (execute is false) the result is ``default``, so a macro that branches on it must
    call ref() in the branch that parsing takes (see as_of_date()). The value is text (YYYY-MM-DD):
    Jinja-time, so compiled SQL holds a literal, the same on every engine. -#}
{% macro run_param(name, default=none) -%}
    {%- set given = var(name, none) -%}
    {%- if given is not none and given | string | length > 0 -%}
        {{- return(given | string) -}}
    {%- endif -%}
    {%- if execute -%}
        {%- set value = env_var('DOUYIN_RUN_' ~ (name | upper), '') -%}
        {%- if value | length > 0 -%}
            {{- return(value) -}}
        {%- endif -%}
    {%- endif -%}
    {{- return(default) -}}
{%- endmacro %}
