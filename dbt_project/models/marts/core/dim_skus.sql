-- One row per SKU: its current listed price (latest sku.list snapshot) and current unit cost
-- (latest 商品成本表 effective date). History: dim_sku_prices (validity ranges).
with skus as (

    select * from {{ ref('stg_doudian__sku') }}

),

current_costs as (

    select sku_id, unit_cost_fen, valid_from
    from {{ ref('int_sku_costs__historized') }}
    where is_current

),

final as (

    select
        skus.sku_id,
        skus.product_id,
        skus.shop_id,
        skus.sku_code,
        skus.spec_detail_name1,
        skus.spec_detail_name2,
        skus.spec_detail_name3,
        skus.sku_type,
        {{ fen_to_yuan('skus.price_fen') }}                   as price_yuan,
        {{ fen_to_yuan('current_costs.unit_cost_fen') }}      as unit_cost_yuan,
        current_costs.valid_from                              as cost_effective_date,
        cast(skus.stock_num as {{ dbt.type_bigint() }})       as platform_stock_num,
        skus.snapshot_date
    from skus
    left join current_costs
        on skus.sku_id = current_costs.sku_id

)

select * from final
