{#-
  Data tests on daily runs look at the rows the run rebuilt, not at all of history.

  A model whose size grows with history names its window column in its yml:
      config: {meta: {window_column: changed_dt}}
  (the lake partition day a row comes from, or the row's own business day). When the run parameter
  tests_since is given (run_param(): the runner's DOUYIN_RUN_TESTS_SINCE, a YYYY-MM-DD day; the
  pipeline passes the first day of the run's incremental window on daily runs, nothing on a full
  refresh or the full-history pass `douyin-etl check`), every generic data test of such a model reads
      (select * from <model> where <window_column> >= tests_since or <window_column> is null)
  combined with the test's own `where:` config. Without tests_since (a plain `dbt build`, a full
  refresh, the weekly pass) every test reads the whole table.

  Which tests may be bounded (the rule, docs/architecture.md "Data tests on daily runs"):
  - row checks (not_null, accepted_values, accepted_range, expression_is_true) and the child side of
    relationships (the parent is read whole) mean the same on the window: bounded;
  - unique / unique_combination_of_columns only compare rows inside the window (a duplicate of an old row is
    found by the weekly full pass): bounded, knowingly weaker;
  - tests that compare the model with another relation (sums_match, equal_rowcount) would compare
    a window with a whole table: they set meta {test_window: full} in their definition and always
    read the whole table (one aggregate each). Any test instance can do the same in its config.
  - a test whose window cannot be cut before its model's work (a view that de-duplicates every landed
    version by a key, with the window column known only after) would pay for all of history on
    every run: its instance sets meta {test_window: full_pass}, reads no rows on daily runs (the
    condition `false`) and runs whole in the full pass only.
  Rows whose window column is null are always tested (they are not "older than the window").

  dbt calls get_where_subquery(relation) when a generic test compiles (at execution), with the
  test node as `model` and its config as `config`; this overrides dbt's default (which only applies
  `where:`). Nothing here reads run parameters while dbt parses (run_param returns none then), so
  the saved parse survives runs with different windows.
-#}
{% macro get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- do conditions.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- set window = test_window_condition() -%}
    {%- if window -%}
        {%- do conditions.append(window) -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ conditions | join(' and ') ~ ') dbt_subquery') -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{#- The window condition of the running test (SQL), or none: no tests_since, a test that needs the
    whole table (meta test_window: full), or a model without meta window_column; `false` for a test
    left to the full pass (meta test_window: full_pass). -#}
{% macro test_window_condition() -%}
    {%- set since = run_param('tests_since') -%}
    {%- if not execute or not since -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set test_meta = config.get('meta') or {} -%}
    {%- if test_meta.get('test_window') == 'full' -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- if test_meta.get('test_window') == 'full_pass' -%}
        {{- return('false') -}}
    {%- endif -%}
    {%- set column = test_window_column() -%}
    {%- if not column -%}
        {{- return(none) -}}
    {%- endif -%}
    {{- return('(' ~ column ~ " >= cast('" ~ since ~ "' as date) or " ~ column ~ ' is null)') -}}
{%- endmacro %}

{#- meta.window_column of what the running test reads: the model it is attached to, or the one lake
    source a source test reads (source meta, e.g. the partition column dt); none otherwise. -#}
{% macro test_window_column() -%}
    {%- set attached = model.get('attached_node') if model is mapping else model.attached_node -%}
    {%- set node = graph.nodes.get(attached) if attached else none -%}
    {%- if node is none -%}
        {%- set deps = (model.get('depends_on') if model is mapping else model.depends_on) or {} -%}
        {%- set sources = [] -%}
        {%- for dep in (deps.get('nodes') if deps is mapping else deps.nodes) or [] -%}
            {%- if dep.startswith('source.') -%}{%- do sources.append(dep) -%}{%- endif -%}
        {%- endfor -%}
        {%- set node = graph.sources.get(sources[0]) if sources | length == 1 else none -%}
    {%- endif -%}
    {%- if node is none -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- for meta in [(node.get('config') or {}).get('meta'), node.get('meta'), node.get('source_meta')] -%}
        {%- if meta and meta.get('window_column') -%}
            {{- return(meta.get('window_column')) -}}
        {%- endif -%}
    {%- endfor -%}
    {{- return(none) -}}
{%- endmacro %}
