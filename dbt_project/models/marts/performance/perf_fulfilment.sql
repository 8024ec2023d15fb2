{{
    config(
        materialized=keyed_incremental_materialization(),
        incremental_strategy=keyed_incremental_strategy(),
        unique_key=day_incremental_key('pay_date', ['shop_id', 'pay_date', 'warehouse_id', 'carrier']),
        on_schema_change='fail'
    )
}}
-- Fulfilment per shop x pay date x warehouse x carrier (Asia/Shanghai business days), over paid
-- SKU order lines (int_fulfilment__lines). Rates are DOUBLE fractions (0-1).
--   ship_within_48h_rate (48小时发货率, as the 抖店 dashboard): lines shipped by their deadline
--       (pay + 48 h, or the promised ship time for presale) / lines due to ship
--   on_time_delivery_rate: lines delivered by the 3PL's promised time / delivered lines
--   avg_delivery_days: ship -> delivery (logistics_receipt_time), in days
--   averages = exact sum of integer seconds / count, one division (mean_exact): a rerun gives the
--   same bits (avg() over DOUBLE adds in thread order and differs in the last bits between runs)
-- Lines not shipped yet carry carrier 'unshipped'.
-- Incremental by day (macros/incremental.sql): every pay day from incremental_cutoff() on, the older pay
-- days of lines that changed or whose 3PL shipment re-landed since, and of unshipped lines whose ship
-- deadline is on or after the cutoff day (they become due as the horizon moves).
{%- set cutoff = incremental_cutoff('pay_date') %}
{%- set touched_days -%}
    select pay_date from {{ ref('int_order_lines__enriched') }} where is_paid and changed_dt >= {{ cutoff }}
    union all
    select lines.pay_date from {{ ref('int_order_lines__enriched') }} as lines
    where lines.is_paid and lines.sku_order_id in (
        select sku_order_id from {{ ref('stg_wms__shipment') }} where source_dt >= {{ cutoff }})
    union all
    select pay_date from {{ ref('int_fulfilment__lines') }}
    where ship_at is null and ship_deadline_at >= {{ business_day_start(cutoff) }}
{%- endset %}
{%- set touched = incremental_touched_days(touched_days, cutoff) %}
with lines as (

    select * from {{ ref('int_fulfilment__lines') }}
    where {{ incremental_days_filter('pay_date', cutoff, touched) }}

)

select
    cast(shop_id as {{ dbt.type_string() }})                                    as shop_id,
    cast(pay_date as date)                                                      as pay_date,
    cast(coalesce(warehouse_id, 'unknown') as {{ dbt.type_string() }})          as warehouse_id,
    cast(carrier as {{ dbt.type_string() }})                                    as carrier,
    cast(count(*) as {{ dbt.type_bigint() }})                                   as paid_lines,
    cast(sum(case when is_due_to_ship then 1 else 0 end) as {{ dbt.type_bigint() }})        as lines_due_to_ship,
    cast(sum(case when is_shipped_within_48h then 1 else 0 end) as {{ dbt.type_bigint() }}) as shipped_within_48h_lines,
    cast(sum(case when is_48h_miss then 1 else 0 end) as {{ dbt.type_bigint() }})           as missed_48h_lines,
    cast(sum(case when is_shipped_late then 1 else 0 end) as {{ dbt.type_bigint() }})       as shipped_late_lines,
    cast(sum(case when is_overdue_unshipped then 1 else 0 end) as {{ dbt.type_bigint() }})  as overdue_unshipped_lines,
    cast({{ safe_ratio('sum(case when is_shipped_within_48h then 1 else 0 end)',
                      'sum(case when is_due_to_ship then 1 else 0 end)') }} as {{ type_double() }}) as ship_within_48h_rate,
    cast(sum(case when ship_at is not null then 1 else 0 end) as {{ dbt.type_bigint() }})   as shipped_lines,
    cast(sum(case when is_delivered then 1 else 0 end) as {{ dbt.type_bigint() }})          as delivered_lines,
    cast(sum(case when is_delivered_on_time then 1 else 0 end) as {{ dbt.type_bigint() }})  as delivered_on_time_lines,
    cast({{ safe_ratio('sum(case when is_delivered_on_time then 1 else 0 end)',
                      'sum(case when is_delivered then 1 else 0 end)') }} as {{ type_double() }}) as on_time_delivery_rate,
    cast({{ mean_exact('ship_seconds', 3600) }} as {{ type_double() }})         as avg_ship_hours,
    cast({{ mean_exact('delivery_seconds', 86400) }} as {{ type_double() }})    as avg_delivery_days
from lines
group by shop_id, pay_date, coalesce(warehouse_id, 'unknown'), carrier
