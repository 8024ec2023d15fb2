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
        {{ fen_to_yuan('gmv_fen') }}                                        as gmv_yuan,
        {{ fen_to_yuan('subsidy_fen') }}                                    as subsidy_yuan,
        {{ fen_to_yuan('refund_fen') }}                                     as refund_yuan,
        {{ fen_to_yuan('gmv_fen + subsidy_fen - refund_fen') }}             as net_revenue_yuan,
        {{ fen_to_yuan('platform_fee_fen') }}                               as platform_fee_yuan,
        {{ fen_to_yuan('commission_fen') }}                                 as commission_yuan,
        {{ fen_to_yuan('colonel_fee_fen') }}                                as colonel_fee_yuan,
        {{ fen_to_yuan('ad_spend_fen') }}                                   as ad_spend_yuan,
        {{ fen_to_yuan('freight_fen') }}                                    as freight_yuan,
        {{ fen_to_yuan('cogs_sold_fen - cogs_returned_fen') }}              as cogs_yuan,
        {{ fen_to_yuan('gmv_fen + subsidy_fen - refund_fen - platform_fee_fen - commission_fen - colonel_fee_fen
                        - ad_spend_fen - freight_fen - cogs_sold_fen + cogs_returned_fen') }} as contribution_margin_yuan,
        cast(gmv_fen + subsidy_fen - refund_fen - platform_fee_fen - commission_fen - colonel_fee_fen
             - ad_spend_fen - freight_fen - cogs_sold_fen + cogs_returned_fen as {{ dbt.type_bigint() }}) as contribution_margin_fen
    from components

)

select * from final
