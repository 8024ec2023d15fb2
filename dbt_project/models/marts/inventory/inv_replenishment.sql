-- Replenishment suggestion per SKU x warehouse as of the run's business day (docs/metrics.md):
--   safety_stock_units = z x stddev(daily units sold) x sqrt(lead_time_days)
--   reorder_point_units = avg_daily_units x lead_time_days + safety_stock_units
--   target_stock_units  = reorder_point_units + avg_daily_units x target_cover_days
--   suggested_order_qty = ceil(target_stock_units - available_qty) when available_qty <= the
--                         reorder point (and the SKU sells), else 0
-- z = var('inv_service_level_z', 1.65) (about 95 % cycle service level); target_cover_days =
-- var('inv_target_cover_days', 30): once the order arrives, stock covers that many days beyond the
-- reorder point. Stock already on order is not known (no purchase-order feed): the suggestion
-- assumes none.
{%- set z = var('inv_service_level_z', 1.65) %}
{%- set target_cover_days = var('inv_target_cover_days', 30) %}
with position as (

    select * from {{ ref('int_inventory__position') }}

),

policy as (

    select
        position.*,
        cast({{ z }} as {{ type_double() }})                            as service_level_z,
        cast({{ target_cover_days }} as {{ type_double() }})            as target_cover_days,
        {{ z }} * stddev_daily_units * sqrt(coalesce(lead_time_days, 0))   as safety_stock_units
    from position

),

points as (

    select
        policy.*,
        avg_daily_units * coalesce(lead_time_days, 0) + safety_stock_units as reorder_point_units
    from policy

),

suggestion as (

    select
        points.*,
        reorder_point_units + avg_daily_units * target_cover_days          as target_stock_units,
        avg_daily_units > 0 and available_qty <= reorder_point_units       as needs_reorder
    from points

),

named as (

    select
        suggestion.*,
        products.product_name
    from suggestion
    left join {{ ref('dim_products') }} as products
        on suggestion.product_id = products.product_id

)

select
    cast(as_of_date as date)                                          as as_of_date,
    cast(warehouse_id as {{ dbt.type_string() }})                     as warehouse_id,
    cast(sku_id as {{ dbt.type_string() }})                           as sku_id,
    cast(product_id as {{ dbt.type_string() }})                       as product_id,
    cast(product_name as {{ dbt.type_string() }})                     as product_name,
    cast(shop_id as {{ dbt.type_string() }})                          as shop_id,
    cast(available_qty as {{ dbt.type_bigint() }})                    as available_qty,
    cast(lead_time_days as integer)                                   as lead_time_days,
    cast(demand_days as {{ dbt.type_bigint() }})                      as demand_days,
    cast(avg_daily_units as {{ type_double() }})                   as avg_daily_units,
    cast(stddev_daily_units as {{ type_double() }})                as stddev_daily_units,
    cast(service_level_z as {{ type_double() }})                   as service_level_z,
    cast(safety_stock_units as {{ type_double() }})                as safety_stock_units,
    cast(reorder_point_units as {{ type_double() }})               as reorder_point_units,
    cast(target_cover_days as {{ type_double() }})                 as target_cover_days,
    cast(target_stock_units as {{ type_double() }})                as target_stock_units,
    needs_reorder                                                     as needs_reorder,
    cast(case when needs_reorder then ceil(round(target_stock_units - available_qty, 6)) else 0 end
         as {{ dbt.type_bigint() }})                                  as suggested_order_qty
from named
