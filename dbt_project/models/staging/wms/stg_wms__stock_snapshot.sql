-- 库存日报: the 3PL's own daily stock per SKU x warehouse (latest file wins per day).
with source as (

    select * from {{ source('wms', 'stock_snapshot') }}

),

latest as (

    {{ latest_version('source', 'stock_date, warehouse_id, sku_id', 'dt desc, _source_ref desc') }}

),

renamed as (

    select
        cast(stock_date as date) as stock_date,
        cast(warehouse_id as {{ dbt.type_string() }}) as warehouse_id,
        cast(sku_id as {{ dbt.type_string() }}) as sku_id,
        cast(opening_qty as {{ dbt.type_bigint() }}) as opening_qty,
        cast(inbound_qty as {{ dbt.type_bigint() }}) as inbound_qty,
        cast(outbound_qty as {{ dbt.type_bigint() }}) as outbound_qty,
        cast(return_qty as {{ dbt.type_bigint() }}) as return_qty,
        cast(closing_qty as {{ dbt.type_bigint() }}) as closing_qty,
        cast(locked_qty as {{ dbt.type_bigint() }}) as locked_qty,
        cast(dt as date) as source_dt,
        cast(_source_ref as {{ dbt.type_string() }}) as source_ref
    from latest

)

select * from renamed
