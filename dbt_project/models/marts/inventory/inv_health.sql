-- Stock health per SKU x warehouse as of the run's business day (docs/metrics.md "Inventory"):
--   days_of_cover  = available_qty / avg_daily_units   (null when nothing sold in the window)
--   turnover_days  = avg_stock_units / avg_daily_units (库存周转天数)
--   warehouse_sell_through_rate (动销率) = SKUs of the warehouse with a sale in the window / SKUs
--                    of the warehouse with stock in the window
-- The demand window is var('inv_demand_window_days', 28) days (see int_inventory__position).
with position as (

    select * from {{ ref('int_inventory__position') }}

),

health as (

    select
        position.*,
        units_sold_window > 0                                              as has_sale_in_window,
        {{ safe_ratio('available_qty', 'avg_daily_units') }}                as days_of_cover,
        {{ safe_ratio('avg_stock_units', 'avg_daily_units') }}              as turnover_days,
        {{ safe_ratio('units_sold_window', 'units_sold_window + available_qty') }} as unit_sell_through_rate
    from position

),

sell_through as (

    select
        warehouse_id,
        {{ safe_ratio(
            'sum(case when has_sale_in_window and had_stock_in_window then 1 else 0 end)',
            'sum(case when had_stock_in_window then 1 else 0 end)'
        ) }}                                                               as warehouse_sell_through_rate
    from health
    group by warehouse_id

),

products as (

    select product_id, product_name from {{ ref('dim_products') }}

)

select
    cast(health.as_of_date as date)                                   as as_of_date,
    cast(health.warehouse_id as {{ dbt.type_string() }})              as warehouse_id,
    cast(health.sku_id as {{ dbt.type_string() }})                    as sku_id,
    cast(health.product_id as {{ dbt.type_string() }})                as product_id,
    cast(products.product_name as {{ dbt.type_string() }})            as product_name,
    cast(health.shop_id as {{ dbt.type_string() }})                   as shop_id,
    cast(health.closing_qty as {{ dbt.type_bigint() }})               as closing_qty,
    cast(health.available_qty as {{ dbt.type_bigint() }})             as available_qty,
    cast(health.lead_time_days as integer)                            as lead_time_days,
    cast(health.demand_days as {{ dbt.type_bigint() }})               as demand_days,
    cast(health.units_sold_window as {{ dbt.type_bigint() }})         as units_sold_window,
    cast(health.avg_daily_units as {{ type_double() }})            as avg_daily_units,
    cast(health.avg_stock_units as {{ type_double() }})            as avg_stock_units,
    cast(health.days_of_cover as {{ type_double() }})              as days_of_cover,
    cast(health.turnover_days as {{ type_double() }})              as turnover_days,
    cast(health.unit_sell_through_rate as {{ type_double() }})     as unit_sell_through_rate,
    health.has_sale_in_window                                         as has_sale_in_window,
    health.had_stock_in_window                                        as had_stock_in_window,
    cast(sell_through.warehouse_sell_through_rate as {{ type_double() }}) as warehouse_sell_through_rate,
    cast(health.last_sale_date as date)                               as last_sale_date,
    cast(health.shop_sales_rank as {{ dbt.type_bigint() }})           as shop_sales_rank
from health
left join products
    on health.product_id = products.product_id
left join sell_through
    on health.warehouse_id = sell_through.warehouse_id
