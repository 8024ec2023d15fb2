-- 商品成本表: unit cost per SKU from an effective date (the latest file's row per SKU x date).
with source as (

    select * from {{ source('merchant', 'product_cost') }}

),

latest as (

    {{ latest_version('source', 'sku_id, effective_date', 'dt desc') }}

),

renamed as (

    select
        cast(product_id as {{ dbt.type_string() }})                                       as product_id,
        cast(sku_id as {{ dbt.type_string() }})                                           as sku_id,
        cast(code as {{ dbt.type_string() }})                                             as sku_code,
        cast(unit_cost_fen as {{ dbt.type_bigint() }})                                    as unit_cost_fen,
        cast(effective_date as date)                                 as effective_date,
        cast(dt as date)                                             as source_dt
    from latest

)

select * from renamed
