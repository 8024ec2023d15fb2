{{
    config(
        materialized=keyed_incremental_materialization(),
        incremental_strategy=keyed_incremental_strategy(),
        unique_key=day_incremental_key('date_day', ['shop_id', 'product_id', 'date_day']),
        on_schema_change='fail'
    )
}}
-- Contribution margin per shop x product x business day (accrual; how each component is dated
-- and allocated: int_pnl_components__product_daily). product_id is null for ad spend on days
-- without GMV and for freight of waybills not found in the 3PL shipment files.
--   net_revenue = GMV + platform/creator-funded subsidies (paid back in settlement) - refunds
--   contribution_margin = net_revenue - platform fees - commissions - 招商服务费 - ad spend
--                         - freight - COGS (net of returns)
-- Incremental by day: the days int_pnl_components__product_daily rebuilt (pnl_touched_days_sql()).
{%- set cutoff = incremental_cutoff('date_day') %}
{%- set touched = incremental_touched_days(pnl_touched_days_sql(cutoff), cutoff) %}
with components as (

    select * from {{ ref('int_pnl_components__product_daily') }}
    where {{ incremental_days_filter('date_day', cutoff, touched) }}

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
