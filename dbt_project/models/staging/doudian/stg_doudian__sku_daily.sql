-- SKUs, one row per SKU x snapshot day (dt): the raw material of price history
-- (int_sku_prices__historized). Stock numbers are the platform's, at snapshot time.
with source as (

    select * from {{ source('doudian', 'sku') }}

),

latest as (

    {{ latest_version('source', 'id, dt', 'dt desc') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }})                                               as sku_id,
        cast(product_id as {{ dbt.type_string() }})                                       as product_id,
        cast(shop_id as {{ dbt.type_string() }})                                          as shop_id,
        cast(price as {{ dbt.type_bigint() }})                                            as price_fen,
        cast(stock_num as {{ dbt.type_bigint() }})                                        as stock_num,
        cast(prehold_stock_num as {{ dbt.type_bigint() }})                                as prehold_stock_num,
        cast(prom_stock_num as {{ dbt.type_bigint() }})                                   as prom_stock_num,
        cast(code as {{ dbt.type_string() }})                                             as sku_code,
        spec_detail_name1,
        spec_detail_name2,
        spec_detail_name3,
        cast(sku_type as integer)                                    as sku_type,
        cast(dt as date)                                             as snapshot_date
    from latest

)

select * from renamed
