-- Contribution margin per shop x business day: fin_pnl_product_daily summed over products
-- (including the rows without a product: unallocated ad spend and freight). Same definitions.
with components as (

    select
        shop_id,
        date_day,
        sum(gmv_fen)            as gmv_fen,
        sum(subsidy_fen)        as subsidy_fen,
        sum(refund_fen)         as refund_fen,
        sum(platform_fee_fen)   as platform_fee_fen,
        sum(commission_fen)     as commission_fen,
        sum(colonel_fee_fen)    as colonel_fee_fen,
        sum(ad_spend_fen)       as ad_spend_fen,
        sum(freight_fen)        as freight_fen,
        sum(cogs_sold_fen)      as cogs_sold_fen,
        sum(cogs_returned_fen)  as cogs_returned_fen
    from {{ ref('int_pnl_components__product_daily') }}
    group by shop_id, date_day

),

final as (

    select
        shop_id,
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
