{{
    config(
        materialized=keyed_incremental_materialization(),
        incremental_strategy=keyed_incremental_strategy(),
        unique_key='movement_id',
        on_schema_change='fail',
        pre_hook="{{ delete_incremental_window('movement_date', incremental_cutoff('movement_date')) }}"
    )
}}
-- One row per stock movement: purchase receipts (入库单, +), shipments (发货明细, -) and returns to
-- stock (库存日报 退货入库, +; the 3PL reports returns only as a daily quantity per SKU x warehouse,
-- so a return row is a day's total and has no instant).
-- Incremental (macros/incremental.sql): every file lands in the partition of its movement's day
-- (receipt, ship and stock day), so a run replaces the movement days from incremental_cutoff() on.
{%- set cutoff = incremental_cutoff('movement_date') %}
with receipts as (

    select * from {{ ref('stg_wms__purchase_receipt') }}
    {%- if is_incremental() %}
    where receipt_date >= {{ cutoff }}
    {%- endif %}

),

shipments as (

    select * from {{ ref('stg_wms__shipment') }}
    {%- if is_incremental() %}
    where ship_date >= {{ cutoff }}
    {%- endif %}

),

returns as (

    select * from {{ ref('stg_wms__stock_snapshot') }}
    where return_qty <> 0
    {%- if is_incremental() %}
      and stock_date >= {{ cutoff }}
    {%- endif %}

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

),

movements as (

    select
        {{ dbt.concat(["'receipt:'", 'receipt_id', "':'", 'sku_id']) }}        as movement_id,
        'receipt'                                                           as movement_type,
        receipt_date                                                        as movement_date,
        receipt_at                                                          as movement_at,
        warehouse_id,
        sku_id,
        quantity,
        quantity                                                            as signed_quantity,
        receipt_id                                                          as reference_id,
        cast(null as {{ dbt.type_string() }})                               as shop_order_id,
        cast(null as {{ dbt.type_string() }})                               as sku_order_id,
        cast(null as {{ dbt.type_string() }})                               as carrier,
        cast(null as {{ dbt.type_string() }})                               as tracking_no,
        supplier,
        unit_cost_fen
    from receipts

    union all

    select
        {{ dbt.concat(["'shipment:'", 'outbound_id', "':'", 'sku_order_id']) }},
        'shipment',
        ship_date,
        ship_at,
        warehouse_id,
        sku_id,
        quantity,
        -1 * quantity,
        outbound_id,
        shop_order_id,
        sku_order_id,
        carrier,
        tracking_no,
        cast(null as {{ dbt.type_string() }}),
        cast(null as {{ dbt.type_bigint() }})
    from shipments

    union all

    select
        {{ dbt.concat(["'return:'", 'warehouse_id', "':'", 'sku_id', "':'", dbt.cast('stock_date', dbt.type_string())]) }},
        'return',
        stock_date,
        cast(null as {{ type_instant() }}),
        warehouse_id,
        sku_id,
        return_qty,
        return_qty,
        cast(null as {{ dbt.type_string() }}),
        cast(null as {{ dbt.type_string() }}),
        cast(null as {{ dbt.type_string() }}),
        cast(null as {{ dbt.type_string() }}),
        cast(null as {{ dbt.type_string() }}),
        cast(null as {{ dbt.type_string() }}),
        cast(null as {{ dbt.type_bigint() }})
    from returns

)

select
    cast(movements.movement_id as {{ dbt.type_string() }})            as movement_id,
    cast(movements.movement_type as {{ dbt.type_string() }})          as movement_type,
    cast(movements.movement_date as date)                             as movement_date,
    cast(movements.movement_at as {{ type_instant() }})               as movement_at,
    cast(movements.warehouse_id as {{ dbt.type_string() }})           as warehouse_id,
    cast(movements.sku_id as {{ dbt.type_string() }})                 as sku_id,
    cast(skus.product_id as {{ dbt.type_string() }})                  as product_id,
    cast(skus.product_name as {{ dbt.type_string() }})                as product_name,
    cast(skus.shop_id as {{ dbt.type_string() }})                     as shop_id,
    cast(movements.quantity as {{ dbt.type_bigint() }})               as quantity,
    cast(movements.signed_quantity as {{ dbt.type_bigint() }})        as signed_quantity,
    cast(movements.reference_id as {{ dbt.type_string() }})           as reference_id,
    cast(movements.shop_order_id as {{ dbt.type_string() }})          as shop_order_id,
    cast(movements.sku_order_id as {{ dbt.type_string() }})           as sku_order_id,
    cast(movements.carrier as {{ dbt.type_string() }})                as carrier,
    cast(movements.tracking_no as {{ dbt.type_string() }})            as tracking_no,
    cast(movements.supplier as {{ dbt.type_string() }})               as supplier,
    {{ fen_to_yuan('movements.unit_cost_fen') }}                      as unit_cost_yuan
from movements
left join skus
    on movements.sku_id = skus.sku_id
