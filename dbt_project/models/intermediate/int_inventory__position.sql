-- Stock position per SKU x warehouse as of the run's business day (macro as_of_date), with the
-- demand statistics the inventory marts need (window: the var('inv_demand_window_days', 28) days
-- ending on the as-of day, limited to days the ledger covers: a young SKU is not diluted by days
-- before its stock existed). Mean and standard deviation come from exact integer sums (mean_exact,
-- stddev_samp_exact), so a rerun gives the same bits.
{%- set window_days = var('inv_demand_window_days', 28) | int %}
with demand as (

    select * from {{ ref('int_inventory__daily_demand') }}

),

as_of as (

    select {{ as_of_date() }} as as_of_date

),

windowed as (

    select demand.*, as_of.as_of_date
    from demand
    cross join as_of
    where demand.ledger_date <= as_of.as_of_date
      and demand.ledger_date > {{ dbt.dateadd('day', -1 * window_days, 'as_of.as_of_date') }}

),

window_stats as (

    select
        warehouse_id,
        sku_id,
        max(as_of_date)                                                    as as_of_date,
        count(*)                                                           as demand_days,
        cast(sum(units_sold) as {{ dbt.type_bigint() }})                   as units_sold_window,
        cast({{ mean_exact('units_sold') }} as {{ type_double() }})           as avg_daily_units,
        cast(coalesce({{ stddev_samp_exact('units_sold') }}, 0) as {{ type_double() }}) as stddev_daily_units,
        cast({{ mean_exact('closing_qty') }} as {{ type_double() }})          as avg_stock_units,
        max(closing_qty) > 0                                               as had_stock_in_window
    from windowed
    group by warehouse_id, sku_id

),

last_sale as (

    select warehouse_id, sku_id, max(ledger_date) as last_sale_date
    from demand
    cross join as_of
    where units_sold > 0 and ledger_date <= as_of.as_of_date
    group by warehouse_id, sku_id

),

current_stock as (

    -- the latest ledger day on or before the as-of day (the as-of day itself once its files landed)
    select warehouse_id, sku_id, closing_qty, available_qty
    from (
        select
            demand.warehouse_id,
            demand.sku_id,
            demand.closing_qty,
            demand.available_qty,
            row_number() over (partition by demand.warehouse_id, demand.sku_id order by demand.ledger_date desc) as day_rank
        from demand
        cross join as_of
        where demand.ledger_date <= as_of.as_of_date
    ) as ranked
    where day_rank = 1

),

skus as (

    select sku_id, product_id, shop_id from {{ ref('stg_doudian__sku') }}

),

warehouses as (

    select warehouse_id, lead_time_days from {{ ref('stg_wms__warehouse') }}

),

sku_rank as (

    -- best sellers: rank of the SKU's units sold in the window within its shop (all warehouses)
    select
        window_stats.sku_id,
        rank() over (
            partition by skus.shop_id order by sum(window_stats.units_sold_window) desc
        )                                                                  as shop_sales_rank
    from window_stats
    left join skus
        on window_stats.sku_id = skus.sku_id
    group by window_stats.sku_id, skus.shop_id

)

select
    window_stats.as_of_date,
    window_stats.warehouse_id,
    window_stats.sku_id,
    skus.product_id,
    skus.shop_id,
    current_stock.closing_qty,
    current_stock.available_qty,
    warehouses.lead_time_days,
    window_stats.demand_days,
    window_stats.units_sold_window,
    window_stats.avg_daily_units,
    window_stats.stddev_daily_units,
    window_stats.avg_stock_units,
    window_stats.had_stock_in_window,
    last_sale.last_sale_date,
    sku_rank.shop_sales_rank
from window_stats
inner join current_stock
    on window_stats.warehouse_id = current_stock.warehouse_id
    and window_stats.sku_id = current_stock.sku_id
left join skus
    on window_stats.sku_id = skus.sku_id
left join warehouses
    on window_stats.warehouse_id = warehouses.warehouse_id
left join last_sale
    on window_stats.warehouse_id = last_sale.warehouse_id
    and window_stats.sku_id = last_sale.sku_id
left join sku_rank
    on window_stats.sku_id = sku_rank.sku_id
