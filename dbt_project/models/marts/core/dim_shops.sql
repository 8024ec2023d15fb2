-- One row per shop seen in the lake (orders, products, settlements): activity span and size.
-- The platform gives no shop master data through the landed entities, so names are not here.
with shop_ids as (

    select shop_id from {{ ref('stg_doudian__shop_order') }}
    union
    select shop_id from {{ ref('stg_doudian__product') }}
    union
    select shop_id from {{ ref('stg_backoffice__settlement_bill') }}

),

orders as (

    select
        shop_id,
        min(pay_date) as first_pay_date,
        max(pay_date) as last_pay_date,
        count(*)      as paid_order_count
    from {{ ref('stg_doudian__shop_order') }}
    where pay_at is not null
    group by shop_id

),

products as (

    select shop_id, count(*) as product_count
    from {{ ref('stg_doudian__product') }}
    group by shop_id

),

advertisers as (

    select shop_id, min(advertiser_id) as advertiser_id
    from {{ ref('stg_doudian__ad_report') }}
    group by shop_id

),

final as (

    select
        shop_ids.shop_id,
        advertisers.advertiser_id,
        orders.first_pay_date,
        orders.last_pay_date,
        cast(coalesce(orders.paid_order_count, 0) as {{ dbt.type_bigint() }})  as paid_order_count,
        cast(coalesce(products.product_count, 0) as {{ dbt.type_bigint() }})   as product_count
    from shop_ids
    left join orders
        on shop_ids.shop_id = orders.shop_id
    left join products
        on shop_ids.shop_id = products.shop_id
    left join advertisers
        on shop_ids.shop_id = advertisers.shop_id

)

select * from final
