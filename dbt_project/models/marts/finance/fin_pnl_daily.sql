-- Contribution margin per shop x business day: fin_pnl_product_daily summed over products
-- (including the rows without a product: unallocated ad spend and freight). Same definitions.
-- A table rebuilt every run from int_pnl_components__product_daily (incremental by day): one row per
-- shop x (product x) day, small next to the order facts, so a daily run pays for the touched days once
-- (there) instead of finding them again here.
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
{{ pnl_measures() }}
    from components

)

select * from final
