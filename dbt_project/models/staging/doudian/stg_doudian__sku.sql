-- SKUs: the latest snapshot row per SKU (current price and platform stock).
with source as (

    select * from {{ ref('stg_doudian__sku_daily') }}

),

latest as (

    {{ latest_version('source', 'sku_id', 'snapshot_date desc') }}

),

renamed as (

    select
        sku_id,
        product_id,
        shop_id,
        price_fen,
        stock_num,
        prehold_stock_num,
        prom_stock_num,
        sku_code,
        spec_detail_name1,
        spec_detail_name2,
        spec_detail_name3,
        sku_type,
        snapshot_date
    from latest

)

select * from renamed
