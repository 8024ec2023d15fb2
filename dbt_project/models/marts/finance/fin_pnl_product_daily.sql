-- Contribution margin per shop x product x business day (accrual; how each component is dated
-- and allocated: int_pnl_components__product_daily). product_id is null for ad spend on days
-- without GMV and for freight of waybills not found in the 3PL shipment files.
--   net_revenue = GMV + platform/creator-funded subsidies (paid back in settlement) - refunds
--   contribution_margin = net_revenue - platform fees - commissions - 招商服务费 - ad spend
--                         - freight - COGS (net of returns)
with components as (

    select * from {{ ref('int_pnl_components__product_daily') }}

),

final as (

    select
        shop_id,
        product_id,
        date_day,
{{ pnl_measures() }}
    from components

)

select * from final
