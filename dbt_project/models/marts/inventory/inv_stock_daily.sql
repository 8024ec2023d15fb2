-- Stock per SKU x warehouse x business day (Asia/Shanghai), from the reconciled stock ledger.
-- Incremental: each run replaces the days from inv_stock_window_start() onwards (var lookback_days
-- before the first day of the run, var window_start; else before the newest day already built),
-- extended back to the pay day of any order line that landed (changed_dt) since, so units_sold
-- stays right when a line lands late: the pre_hook deletes those days, the ledger rebuilds them
-- (a SKU x warehouse gone from the files goes from the mart). Closing stock is cumulative, so a
-- 3PL file that arrives later than the lookback needs a --full-refresh.
{{
    config(
        materialized=keyed_incremental_materialization(),
        incremental_strategy=keyed_incremental_strategy(),
        unique_key=['stock_date', 'warehouse_id', 'sku_id'],
        on_schema_change='fail',
        pre_hook="{{ delete_incremental_window('stock_date', inv_stock_window_start()) }}"
    )
}}
-- depends_on: {{ ref('int_order_lines__enriched') }}
with ledger as (

    select * from {{ ref('int_stock__ledger') }}
    {% if is_incremental() %}
    where ledger_date >= {{ inv_stock_window_start() }}
    {% endif %}

),

demand as (

    select ledger_date, warehouse_id, sku_id, units_sold
    from {{ ref('int_inventory__daily_demand') }}

),

skus as (

    select
        sku.sku_id,
        sku.product_id,
        sku.shop_id,
        products.product_name
    from {{ ref('stg_doudian__sku') }} as sku
    left join {{ ref('stg_doudian__product') }} as products  -- the name sales.dim_products shows; no seed needed
        on sku.product_id = products.product_id

)

select
    cast(ledger.ledger_date as date)                                  as stock_date,
    cast(ledger.warehouse_id as {{ dbt.type_string() }})              as warehouse_id,
    cast(ledger.sku_id as {{ dbt.type_string() }})                    as sku_id,
    cast(skus.product_id as {{ dbt.type_string() }})                  as product_id,
    cast(skus.product_name as {{ dbt.type_string() }})                as product_name,
    cast(skus.shop_id as {{ dbt.type_string() }})                     as shop_id,
    cast(ledger.opening_qty as {{ dbt.type_bigint() }})               as opening_qty,
    cast(ledger.receipt_qty as {{ dbt.type_bigint() }})               as receipt_qty,
    cast(ledger.return_qty as {{ dbt.type_bigint() }})                as return_qty,
    cast(ledger.shipment_qty as {{ dbt.type_bigint() }})              as shipment_qty,
    cast(ledger.count_adjustment_qty as {{ dbt.type_bigint() }})      as count_adjustment_qty,
    cast(ledger.closing_qty as {{ dbt.type_bigint() }})               as closing_qty,
    cast(ledger.locked_qty as {{ dbt.type_bigint() }})                as locked_qty,
    cast(ledger.available_qty as {{ dbt.type_bigint() }})             as available_qty,
    cast(coalesce(demand.units_sold, 0) as {{ dbt.type_bigint() }})   as units_sold,
    cast(ledger.snapshot_closing_qty as {{ dbt.type_bigint() }})      as snapshot_closing_qty,
    cast(ledger.closing_diff_qty as {{ dbt.type_bigint() }})          as closing_diff_qty,
    ledger.has_snapshot                                               as has_snapshot
from ledger
left join demand
    on ledger.ledger_date = demand.ledger_date
    and ledger.warehouse_id = demand.warehouse_id
    and ledger.sku_id = demand.sku_id
left join skus
    on ledger.sku_id = skus.sku_id
