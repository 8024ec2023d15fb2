{{
    config(
        materialized=keyed_incremental_materialization(),
        incremental_strategy=keyed_incremental_strategy(),
        unique_key=day_incremental_key('date_day', ['shop_id', 'date_day']),
        on_schema_change='fail'
    )
}}
-- Contribution margin per shop x business day: fin_pnl_product_daily summed over products
-- (including the rows without a product: unallocated ad spend and freight). Same definitions.
-- Incremental by day: the days int_pnl_components__product_daily rebuilt (pnl_touched_days_sql()).
{%- set cutoff = incremental_cutoff('date_day') %}
{%- set touched = incremental_touched_days(pnl_touched_days_sql(cutoff), cutoff) %}
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
    where {{ incremental_days_filter('date_day', cutoff, touched) }}
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
