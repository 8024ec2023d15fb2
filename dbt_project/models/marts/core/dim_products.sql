-- One row per product (latest snapshot), with its category names and platform fee rate.
with products as (

    select * from {{ ref('stg_doudian__product') }}

),

fee_rates as (

    select
        cast(first_cid as {{ dbt.type_string() }}) as first_cid,
        first_cid_name                               as seed_first_cid_name,
        cast(platform_fee_rate_bp as integer)        as platform_fee_rate_bp
    from {{ ref('platform_fee_rates') }}

),

sku_counts as (

    select product_id, count(*) as sku_count
    from {{ ref('stg_doudian__sku') }}
    group by product_id

),

final as (

    select
        products.product_id,
        products.shop_id,
        products.product_name,
        products.first_cid,
        coalesce(products.first_cid_name, fee_rates.seed_first_cid_name) as first_cid_name,
        products.second_cid,
        products.second_cid_name,
        products.product_status,
        products.check_status,
        {{ fen_to_yuan('products.market_price_fen') }}                   as market_price_yuan,
        {{ fen_to_yuan('products.discount_price_fen') }}                 as discount_price_yuan,
        fee_rates.platform_fee_rate_bp,
        cast(coalesce(sku_counts.sku_count, 0) as {{ dbt.type_bigint() }}) as sku_count,
        products.outer_product_id,
        products.created_at,
        products.updated_at,
        products.snapshot_date
    from products
    left join fee_rates
        on products.first_cid = fee_rates.first_cid
    left join sku_counts
        on products.product_id = sku_counts.product_id

)

select * from final
