-- Contribution margin per shop x product x business day (accrual; how each component is dated
-- and allocated: int_pnl_components__product_daily). product_id is null for ad spend on days
-- without GMV and for freight of waybills not found in the 3PL shipment files.
--   net_revenue = GMV + platform/creator-funded subsidies (paid back in settlement) - refunds
--   contribution_margin = net_revenue - platform fees - commissions - 招商服务费 - ad spend
--                         - freight - COGS (net of returns)
-- A table rebuilt every run from int_pnl_components__product_daily (incremental by day): one row per
-- shop x (product x) day, small next to the order facts, so a daily run pays for the touched days once
-- (there) instead of finding them again here.
with components as (

    select * from {{ ref('int_pnl_components__product_daily') }}

),

products as (

    select product_id, product_name from {{ ref('dim_products') }}

),

final as (

    select
        components.shop_id,
        components.product_id,
        products.product_name,
        components.date_day,
{{ pnl_measures() }}
    from components
    left join products
        on components.product_id = products.product_id

)

select * from final
