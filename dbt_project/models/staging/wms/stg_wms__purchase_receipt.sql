-- 入库单: purchase receipts per receipt x SKU (latest file wins); unit cost in fen.
with source as (

    select * from {{ source('wms', 'purchase_receipt') }}

),

latest as (

    {{ latest_version('source', 'receipt_id, sku_id', 'dt desc, _source_ref desc') }}

),

renamed as (

    select
        cast(receipt_id as {{ dbt.type_string() }}) as receipt_id,
        cast(sku_id as {{ dbt.type_string() }}) as sku_id,
        cast(warehouse_id as {{ dbt.type_string() }}) as warehouse_id,
        cast(quantity as {{ dbt.type_bigint() }}) as quantity,
        receipt_time as receipt_at,
        {{ business_date('receipt_time') }} as receipt_date,
        cast(unit_cost_fen as {{ dbt.type_bigint() }}) as unit_cost_fen,
        cast(supplier as {{ dbt.type_string() }}) as supplier,
        cast(dt as date) as source_dt,
        cast(_source_ref as {{ dbt.type_string() }}) as source_ref
    from latest

)

select * from renamed
