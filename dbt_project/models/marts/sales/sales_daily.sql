{{
    config(
        materialized=keyed_incremental_materialization(),
        incremental_strategy=keyed_incremental_strategy(),
        unique_key=day_incremental_key('date_day', ['shop_id', 'date_day', 'channel']),
        on_schema_change='fail'
    )
}}
-- Shop x business day x channel: GMV, discounts by funder, refunds, net sales, orders, buyers, AOV.
-- GMV (支付成交金额) = Σ pay of lines paid that day (by pay_date), refunded or not, as in 抖店.
-- Refunds: the finance view, dated by the refund's success day (refund_date) and attributed to the
-- refunded line's channel; net_sales_yuan = gmv_yuan - refund_yuan in that view (the cohort view,
-- refunds back to the pay day, is fct_refunds grouped by pay_date).
-- orders / buyers are distinct within the row; an order or buyer with lines in two channels
-- counts in both channel rows, so add them up across channels only for GMV, discounts, refunds.
-- Incremental by day (macros/incremental.sql): a run rebuilds every day from incremental_cutoff() on
-- and the older pay and refund days of the lines whose sale figures changed since (sales_changed_dt: a
-- late line) and of the refunds staged since.
{%- set cutoff = incremental_cutoff('date_day') %}
{%- set touched_days -%}
    select pay_date from {{ ref('int_order_lines__enriched') }} where sales_changed_dt >= {{ cutoff }}
    union all
    select refund_date from {{ ref('fct_refunds') }}
    where sku_order_id in (select sku_order_id from {{ ref('int_order_lines__enriched') }} where sales_changed_dt >= {{ cutoff }})
    union all
    select refund_date from {{ ref('stg_doudian__after_sale') }} where source_dt >= {{ cutoff }}
{%- endset %}
{%- set touched = incremental_touched_days(touched_days, cutoff) %}
with paid_lines as (

    select * from {{ ref('fct_order_lines') }}
    where is_paid
      and {{ incremental_days_filter('pay_date', cutoff, touched) }}

),

refunds as (

    select * from {{ ref('fct_refunds') }}
    where {{ incremental_days_filter('refund_date', cutoff, touched) }}

),

sales as (

    select
        shop_id,
        pay_date                                   as date_day,
        channel,
        sum(pay_yuan)                              as gmv_yuan,
        sum(promo_shop_yuan)                       as promo_shop_yuan,
        sum(promo_platform_yuan)                   as promo_platform_yuan,
        sum(promo_talent_yuan)                     as promo_talent_yuan,
        count(distinct shop_order_id)              as orders,
        count(distinct buyer_key)                  as buyers,
        count(*)                                   as sku_orders,
        sum(item_num)                              as items
    from paid_lines
    group by shop_id, pay_date, channel

),

refunded as (

    select
        shop_id,
        refund_date                                as date_day,
        coalesce(channel, 'card')                  as channel,
        sum(refund_yuan)                           as refund_yuan,
        count(*)                                   as refunds
    from refunds
    group by shop_id, refund_date, coalesce(channel, 'card')

),

keys as (

    select shop_id, date_day, channel from sales
    union
    select shop_id, date_day, channel from refunded

),

final as (

    select
        keys.shop_id,
        keys.date_day,
        keys.channel,
        cast(coalesce(sales.gmv_yuan, 0) as decimal(18, 2))                       as gmv_yuan,
        cast(coalesce(sales.promo_shop_yuan, 0) as decimal(18, 2))                as promo_shop_yuan,
        cast(coalesce(sales.promo_platform_yuan, 0) as decimal(18, 2))            as promo_platform_yuan,
        cast(coalesce(sales.promo_talent_yuan, 0) as decimal(18, 2))              as promo_talent_yuan,
        cast(coalesce(refunded.refund_yuan, 0) as decimal(18, 2))                 as refund_yuan,
        cast(coalesce(sales.gmv_yuan, 0) - coalesce(refunded.refund_yuan, 0) as decimal(18, 2)) as net_sales_yuan,
        cast(coalesce(sales.orders, 0) as {{ dbt.type_bigint() }})                as orders,
        cast(coalesce(sales.buyers, 0) as {{ dbt.type_bigint() }})                as buyers,
        cast(coalesce(sales.sku_orders, 0) as {{ dbt.type_bigint() }})            as sku_orders,
        cast(coalesce(sales.items, 0) as {{ dbt.type_bigint() }})                 as items,
        cast(coalesce(refunded.refunds, 0) as {{ dbt.type_bigint() }})            as refunds,
        case when coalesce(sales.buyers, 0) > 0
             then {{ fen_to_yuan(divide_round_half_up('cast(sales.gmv_yuan * 100 as ' ~ dbt.type_bigint() ~ ')', 'sales.buyers')) }} end as aov_yuan
    from keys
    left join sales
        on keys.shop_id = sales.shop_id and keys.date_day = sales.date_day and keys.channel = sales.channel
    left join refunded
        on keys.shop_id = refunded.shop_id and keys.date_day = refunded.date_day and keys.channel = refunded.channel

)

select * from final
