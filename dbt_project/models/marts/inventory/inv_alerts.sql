-- Inventory alerts as of the run's business day, one row per alert x SKU x warehouse:
--   stockout_risk: a best seller (top var('inv_best_seller_top_n', 20) SKUs of its shop by units
--                  sold in the demand window) whose days of cover < warehouse lead time + var('inv_safety_days', 7)
--   slow_mover:    stock > 0 and no sale in the last var('inv_slow_mover_days', 30) days
--                  (no sale since the data starts counts as none)
--   overstock:     days of cover > var('inv_overstock_cover_days', 120)
{%- set top_n = var('inv_best_seller_top_n', 20) | int %}
{%- set safety_days = var('inv_safety_days', 7) | int %}
{%- set slow_days = var('inv_slow_mover_days', 30) | int %}
{%- set overstock_days = var('inv_overstock_cover_days', 120) | int %}
with health as (

    select * from {{ ref('inv_health') }}

),

alerts as (

    select
        'stockout_risk'                                                    as alert_type,
        health.*,
        cast(coalesce(health.lead_time_days, 0) + {{ safety_days }} as {{ type_double() }}) as threshold_days
    from health
    where health.shop_sales_rank <= {{ top_n }}
      and health.units_sold_window > 0
      and health.days_of_cover < coalesce(health.lead_time_days, 0) + {{ safety_days }}

    union all

    select
        'slow_mover',
        health.*,
        cast({{ slow_days }} as {{ type_double() }})
    from health
    where health.closing_qty > 0
      and (health.last_sale_date is null
           or health.last_sale_date <= {{ dbt.dateadd('day', -1 * slow_days, 'health.as_of_date') }})

    union all

    select
        'overstock',
        health.*,
        cast({{ overstock_days }} as {{ type_double() }})
    from health
    where health.days_of_cover > {{ overstock_days }}

)

select
    cast(as_of_date as date)                                          as alert_date,
    cast(alert_type as {{ dbt.type_string() }})                       as alert_type,
    cast(warehouse_id as {{ dbt.type_string() }})                     as warehouse_id,
    cast(sku_id as {{ dbt.type_string() }})                           as sku_id,
    cast(product_id as {{ dbt.type_string() }})                       as product_id,
    cast(product_name as {{ dbt.type_string() }})                     as product_name,
    cast(shop_id as {{ dbt.type_string() }})                          as shop_id,
    cast(closing_qty as {{ dbt.type_bigint() }})                      as closing_qty,
    cast(available_qty as {{ dbt.type_bigint() }})                    as available_qty,
    cast(avg_daily_units as {{ type_double() }})                   as avg_daily_units,
    cast(days_of_cover as {{ type_double() }})                     as days_of_cover,
    cast(lead_time_days as integer)                                   as lead_time_days,
    cast(threshold_days as {{ type_double() }})                    as threshold_days,
    cast(last_sale_date as date)                                      as last_sale_date,
    cast(shop_sales_rank as {{ dbt.type_bigint() }})                  as shop_sales_rank
from alerts
