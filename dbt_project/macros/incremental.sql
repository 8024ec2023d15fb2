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
{#- The materialization and strategy per engine: keyed_incremental_materialization() and
    keyed_incremental_strategy() in macros/cross_db.sql (dispatched). -#}

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

{#- pre_hook of an incremental mart whose rows are not dated by a source partition: delete the rows
    matching ``condition`` (SQL over the mart's columns, e.g. the keys a change in the window touches,
    or rows whose source is gone). Nothing when the model is not built incrementally. -#}
{% macro delete_incremental_rows(condition) -%}
    {%- if is_incremental() -%}
        {{ return(adapter.dispatch('delete_incremental_rows', 'douyin')(this, condition)) }}
    {%- endif -%}
{%- endmacro %}

{#- runs as is on DuckDB and on Spark with Delta (DELETE with an IN / NOT IN subquery) -#}
{% macro default__delete_incremental_rows(relation, condition) -%}
    delete from {{ relation }} where {{ condition }}
{%- endmacro %}

{#- pre_hook of an incremental mart with a column that holds the run's horizon on every row (e.g.
    fin_order_reconciliation.as_of_date): set it on the rows kept from earlier runs, so they match
    what a full refresh gives. Nothing when the model is not built incrementally. -#}
{% macro update_incremental_column(column, value) -%}
    {%- if is_incremental() -%}
        {{ return(adapter.dispatch('update_incremental_column', 'douyin')(this, column, value)) }}
    {%- endif -%}
{%- endmacro %}

{#- runs as is on DuckDB and on Spark with Delta -#}
{% macro default__update_incremental_column(relation, column, value) -%}
    update {{ relation }} set {{ column }} = {{ value }} where {{ column }} <> {{ value }} or {{ column }} is null
{%- endmacro %}

{#- pre_hook of an incremental mart that carries a dimension's current attributes on every row (e.g.
    perf_creators: the creator's tier and followers as the latest 达人合作 file says): set
    ``assignments`` ({column: expression over ``latest_attrs``}) on the rows kept from earlier runs whose
    ``keys`` match a row of ``current_sql`` (a query, aliased ``latest_attrs``) and differ from it, and
    null them on rows whose key is no longer in it. Nothing when the model is not built incrementally. -#}
{% macro update_incremental_attributes(current_sql, keys, assignments) -%}
    {%- if is_incremental() -%}
        {{ return(adapter.dispatch('update_incremental_attributes', 'douyin')(this, current_sql, keys, assignments)) }}
    {%- endif -%}
{%- endmacro %}

{% macro default__update_incremental_attributes(relation, current_sql, keys, assignments) -%}
    {%- set join = [] -%}
    {%- for key in keys -%}{%- do join.append(relation.identifier ~ '.' ~ key ~ ' = latest_attrs.' ~ key) -%}{%- endfor -%}
    {%- set differs = [] -%}
    {%- for column, expression in assignments.items() -%}
        {%- do differs.append('not (' ~ null_safe_equal(relation.identifier ~ '.' ~ column, expression) ~ ')') -%}
    {%- endfor -%}
    update {{ relation }} set
    {%- for column, expression in assignments.items() %}
        {{ column }} = {{ expression }}{{ ',' if not loop.last }}
    {%- endfor %}
    from ({{ current_sql }}) as latest_attrs
    where {{ join | join(' and ') }} and ({{ differs | join(' or ') }});
    update {{ relation }} set
    {%- for column in assignments.keys() %}
        {{ column }} = null{{ ',' if not loop.last }}
    {%- endfor %}
    where ({{ keys | join(', ') }}) not in (select {{ keys | join(', ') }} from ({{ current_sql }}) as latest_attrs)
      and not ({% for column in assignments.keys() %}{{ column }} is null{{ ' and ' if not loop.last }}{% endfor %})
{%- endmacro %}

{#- Delta: a merge (UPDATE ... FROM is not Spark SQL); keys gone from ``current_sql`` keep their values -#}
{% macro spark__update_incremental_attributes(relation, current_sql, keys, assignments) -%}
    {%- set join = [] -%}
    {%- for key in keys -%}{%- do join.append('target.' ~ key ~ ' = latest_attrs.' ~ key) -%}{%- endfor -%}
    merge into {{ relation }} as target using ({{ current_sql }}) as latest_attrs
    on {{ join | join(' and ') }}
    when matched then update set
    {%- for column, expression in assignments.items() %}
        {{ column }} = {{ expression }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#- inv_stock_daily's window: incremental_cutoff(), extended back to the pay day of any paid order
    line whose sale figures changed (landed) since (sales_changed_dt), so units_sold stays right when a line lands late. A DATE
    literal (the pre_hook's delete and the model's selection agree). -#}
{% macro inv_stock_window_start() -%}
    {%- set cutoff = incremental_cutoff('stock_date') -%}
    {%- if not is_incremental() -%}
        cast(null as date)
    {%- else -%}
    {{ query_date('select least(' ~ cutoff ~ ', coalesce(min(pay_date), ' ~ cutoff ~ ')) from '
                  ~ ref('int_order_lines__enriched') ~ ' where is_paid and sales_changed_dt >= ' ~ cutoff) }}
    {%- endif -%}
{%- endmacro %}

{#- The unique_key of a mart rebuilt by whole days: day_incremental_key() in macros/cross_db.sql. -#}

{#- Marts rebuilt by day. An incremental run rebuilds every day on or after its cutoff
    (incremental_cutoff()) and every earlier day that a change in the window touches (a late refund
    or settlement touches an old pay day). incremental_touched_days(touched_days_sql, cutoff): the
    earlier days, as DATE literals, from a query of one DATE column (e.g. the pay days of the order
    lines whose changed_dt is on or after the cutoff); it runs once, when the model is compiled,
    after its upstream models were built in this run. [] when not incremental. -#}
{% macro incremental_touched_days(touched_days_sql, cutoff) -%}
    {%- if not is_incremental() -%}
        {{- return([]) -}}
    {%- endif -%}
    {{- return(query_date_list('select distinct touched_day from (' ~ touched_days_sql ~ ') as touched(touched_day)'
                               ~ ' where touched_day < ' ~ cutoff)) -}}
{%- endmacro %}

{#- The condition selecting the rebuilt days on ``column``: ``true`` when not incremental. -#}
{% macro incremental_days_filter(column, cutoff, touched_days) -%}
    {%- if not is_incremental() -%}
        true
    {%- else -%}
        ({{ column }} >= {{ cutoff }}{% if touched_days %} or {{ column }} in ({{ touched_days | join(', ') }}){% endif %})
    {%- endif -%}
{%- endmacro %}

{#- The rows of a one-DATE-column query as DATE literals (at execution; [] while parsing), sorted. -#}
{% macro query_date_list(sql) -%}
    {%- set literals = [] -%}
    {%- if execute -%}
        {%- for value in run_query(sql).columns[0].values() | reject('none') | list -%}
            {%- do literals.append("cast('" ~ (value.isoformat() if value.isoformat is defined else value | string)[:10] ~ "' as date)") -%}
        {%- endfor -%}
    {%- endif -%}
    {{- return(literals | unique | sort) -}}
{%- endmacro %}

{#- Keys of an incremental model that its window delete (delete_incremental_window on
    ``change_column`` >= ``cutoff``) removes and that the window does not bring back: a re-dropped
    file or a re-extracted day with fewer rows; their newest version, if any, is now in an older
    partition. ``key`` is the key expression in the model's table, ``window_keys_sql`` a query of the
    keys (same type, as text) the window brings back. Asked once, at compile time, before the
    pre_hook deletes anything: a list of quoted text literals (usually empty), [] when the model is
    not built incrementally. -#}
{% macro lost_keys(key, change_column, cutoff, window_keys_sql) -%}
    {%- set keys = [] -%}
    {%- if execute and is_incremental() -%}
        {%- set sql -%}
            select distinct cast({{ key }} as {{ dbt.type_string() }}) as lost_key from {{ this }}
            where {{ change_column }} >= {{ cutoff }}
              and cast({{ key }} as {{ dbt.type_string() }}) not in (
                  select cast(window_key as {{ dbt.type_string() }}) from ({{ window_keys_sql }}) as w(window_key)
                  where window_key is not null)
        {%- endset -%}
        {%- for value in run_query(sql).columns[0].values() -%}
            {%- do keys.append("'" ~ (value | string).replace("'", "''") ~ "'") -%}
        {%- endfor -%}
    {%- endif -%}
    {{- return(keys | sort) -}}
{%- endmacro %}

{#- The lake rows an incremental staging model reads (the FROM of its source CTE, with its WHERE):
    the whole source when the model is not built incrementally; else the window's partitions only
    (dt >= incremental_cutoff('source_dt'): lake_window_relation() names their files, so older
    partitions are not even opened), plus every version of the keys the window delete removes and
    the window does not bring back (lost_keys(): they fall back to their newest older version; the
    scan then reads every partition, which happens only after a file was re-dropped with fewer
    rows). ``source_key`` is the key expression over the raw source, ``staged_key`` the same key in
    the staging table. Past ``lost_key_limit`` lost keys every partition is read (all keys come back:
    a full rebuild by delete+insert). dt is the day of the entity's partition field (update_time for
    orders and after-sales), so a version in the window is newer than any version before it. -#}
{% macro lake_window_source(source_name, table_name, source_key, staged_key, lost_key_limit=10000) -%}
    {%- set whole = source(source_name, table_name) -%}
    {%- if not is_incremental() -%}
        {{ return(whole) }}
    {%- endif -%}
    {%- set cutoff = incremental_cutoff('source_dt') -%}
    {%- set window = lake_window_relation(whole, source_name, table_name, cutoff) -%}
    {%- set lost = lost_keys(staged_key, 'source_dt', cutoff,
                             'select ' ~ source_key ~ ' from ' ~ window ~ ' where dt >= ' ~ cutoff) -%}
    {%- if lost | length > lost_key_limit -%}
        {{ return(whole) }}
    {%- elif lost -%}
        {{ return(whole ~ ' where dt >= ' ~ cutoff ~ ' or cast(' ~ source_key ~ ' as ' ~ dbt.type_string() ~ ') in ('
                  ~ lost | join(', ') ~ ')') }}
    {%- else -%}
        {{ return(window ~ ' where dt >= ' ~ cutoff) }}
    {%- endif -%}
{%- endmacro %}

{#- The window's partitions of a lake source as a relation. DuckDB: read_parquet over the files of the
    partitions dt >= ``cutoff``, listed with glob() (a listing, no file is opened), so neither the
    data nor the footers of older partitions are read (union_by_name reads every footer of the
    source's own glob); the source itself when no partition is in the window. Elsewhere (Spark: an
    external table partitioned by dt, pruned by the filter) the source. -#}
{% macro lake_window_relation(whole, source_name, table_name, cutoff) -%}
    {{ return(adapter.dispatch('lake_window_relation', 'douyin')(whole, source_name, table_name, cutoff)) }}
{%- endmacro %}

{% macro default__lake_window_relation(whole, source_name, table_name, cutoff) -%}
    {{ return(whole) }}
{%- endmacro %}

{% macro duckdb__lake_window_relation(whole, source_name, table_name, cutoff) -%}
    {%- if not execute -%}
        {{ return(whole) }}
    {%- endif -%}
    {%- set lake_dir = var('lake_dir', env_var('DOUYIN_LAKE_DIR', '../lake')) | string -%}
    {%- set pattern = lake_dir.rstrip('/') ~ '/raw/' ~ source_name ~ '/' ~ table_name ~ '/dt=*/*.parquet' -%}
    {%- set listing -%}
        select file from glob('{{ pattern }}')
        where try_cast(regexp_extract(file, 'dt=([0-9]{4}-[0-9]{2}-[0-9]{2})', 1) as date) >= {{ cutoff }}
        order by file
    {%- endset -%}
    {%- set files = run_query(listing).columns[0].values() -%}
    {%- if files | length == 0 -%}
        {{ return(whole) }}
    {%- endif -%}
    {%- set quoted = [] -%}
    {%- for f in files -%}{%- do quoted.append("'" ~ f.replace("'", "''") ~ "'") -%}{%- endfor -%}
    {{ return('read_parquet([' ~ quoted | join(', ') ~ '], hive_partitioning = true, union_by_name = true)') }}
{%- endmacro %}

{#- The buyers (shop_id, buyer_key; a shop's orders without a buyer as one buyer, keyed by the shop
    id) with an order line that changed (changed_dt: the line, its after-sales or its alliance order)
    on or after ``cutoff``, plus ``stale`` (row literals from stale_buyers()): the buyers whose order
    sequence and lifetime figures an incremental run rebuilds. By-buyer marts carry changed_dt (the
    newest change among their rows), so a buyer is rebuilt whenever that day moves: the marts equal a
    full build. -#}
{% macro touched_buyers_sql(cutoff, stale=[]) -%}
    select distinct shop_id, coalesce(buyer_key, shop_id) as buyer from {{ ref('int_order_lines__enriched') }}
    where changed_dt >= {{ cutoff }}
    {%- for row in stale %}
    union select {{ row }}
    {%- endfor %}
{%- endmacro %}

{#- The buyers of an incremental by-buyer mart (``this``: shop_id, buyer_key, changed_dt) whose stored
    rows changed on or after ``cutoff`` and no longer match upstream: a stored row whose
    ``count_column`` differs from the number of ``upstream_sql`` rows (key_columns + changed_dt) with
    its ``key_columns``, or whose changed_dt differs from their newest changed_dt. That is a line or
    an order re-landed away, or fallen back to an older version, by a re-extracted day with fewer
    rows: nothing in the window touches the buyer any more, so touched_buyers_sql() alone misses
    them. Buyers touched in the window are left out (touched_buyers_sql() has them already: at SF100
    a day touches ~27,000, which as literals made a 2.5 MB statement DuckDB took minutes to plan).
    Asked once, at compile time, before the pre_hook deletes anything (like lost_keys()): a list of
    row literals ('shop', 'buyer'), usually empty; [] when not built incrementally. -#}
{% macro stale_buyers(key_columns, count_column, upstream_sql, cutoff) -%}
    {%- set rows = [] -%}
    {%- if execute and is_incremental() -%}
        {%- set keys = key_columns | join(', ') -%}
        {%- set sql -%}
            with stored as (
                select {{ keys }}, shop_id as stale_shop_id, coalesce(buyer_key, shop_id) as stale_buyer,
                       {{ count_column }} as stored_rows, changed_dt as stored_dt
                from {{ this }} where changed_dt >= {{ cutoff }}
            ),
            upstream as (
                select {{ keys }}, count(*) as upstream_rows, max(changed_dt) as upstream_dt
                from ({{ upstream_sql }}) as u
                where ({{ keys }}) in (select {{ keys }} from stored)
                group by {{ keys }}
            ),
            -- the buyers touched_buyers_sql() rebuilds anyway: listed there, not here (a busy day touches
            -- tens of thousands of buyers, and each listed one is a row literal in the compiled SQL)
            touched as (
                select distinct shop_id as touched_shop_id, coalesce(buyer_key, shop_id) as touched_buyer
                from {{ ref('int_order_lines__enriched') }}
                where changed_dt >= {{ cutoff }}
            )
            select distinct stored.stale_shop_id, stored.stale_buyer
            from stored left join upstream
                on {% for k in key_columns %}stored.{{ k }} = upstream.{{ k }}{{ ' and ' if not loop.last }}{% endfor %}
            left join touched
                on stored.stale_shop_id = touched.touched_shop_id and stored.stale_buyer = touched.touched_buyer
            where (coalesce(upstream.upstream_rows, 0) <> stored.stored_rows
                   or upstream.upstream_dt is distinct from stored.stored_dt)
              and touched.touched_shop_id is null
            order by 1, 2
        {%- endset -%}
        {%- for r in run_query(sql).rows -%}
            {%- do rows.append("'" ~ (r[0] | string).replace("'", "''") ~ "', '" ~ (r[1] | string).replace("'", "''") ~ "'") -%}
        {%- endfor -%}
    {%- endif -%}
    {{- return(rows) -}}
{%- endmacro %}

{#- The orders (shop_order_id) with a line that changed (changed_dt) on or after ``cutoff``: the rows
    of fct_orders an incremental run rebuilds whatever their place in the buyer's sequence. -#}
{% macro changed_orders_sql(cutoff) -%}
    select shop_order_id from {{ ref('int_order_lines__enriched') }} where changed_dt >= {{ cutoff }}
{%- endmacro %}

{#- fct_orders' pre_hook condition: its stored orders that go before the insert. The changed orders
    that have no paid line any more, and every order of the ``stale`` buyers (stale_buyers(): they come
    back whole). -#}
{% macro gone_orders_sql(cutoff, stale=[]) -%}
    (shop_order_id in ({{ changed_orders_sql(cutoff) }})
     and shop_order_id not in (select shop_order_id from {{ ref('fct_order_lines') }}
                               where is_paid and shop_order_id in ({{ changed_orders_sql(cutoff) }})))
    {%- if stale %}
    or (shop_id, coalesce(buyer_key, shop_id)) in ({% for row in stale %}{{ ' union ' if not loop.first }}select {{ row }}{% endfor %})
    {%- endif %}
{%- endmacro %}
