{{
    config(
        materialized=keyed_incremental_materialization(),
        incremental_strategy=keyed_incremental_strategy(),
        unique_key=day_incremental_key('stat_date', ['advertiser_id', 'stat_date', 'marketing_goal']),
        on_schema_change='fail'
    )
}}
-- Qianchuan (巨量千川) per advertiser x stat date x marketing goal, with two views of the GMV the
-- spend bought (docs/metrics.md "Qianchuan ROI" = attributed pay GMV / spend):
--   platform_*:   what Qianchuan itself reports (pay_order_count, pay_order_amount): its own
--                 attribution, the figure the Qianchuan dashboard shows
--   attributed_*: our attribution from order lines: the shop's paid SKU order lines of that day
--                 (Asia/Shanghai pay date) in the goal's channel (LIVE_PROM_GOODS -> live,
--                 VIDEO_PROM_GOODS -> video). Organic and paid traffic are not separated, so this is
--                 an upper bound; when a shop has several advertisers of the same goal the same
--                 lines count for each (the simulated shops have one).
-- ROIs are DOUBLE (yuan of GMV per yuan of spend), null when nothing was spent.
-- Incremental by day (macros/incremental.sql): every stat day from incremental_cutoff() on, the older
-- stat days of re-landed report rows and the older pay days of lines whose sale figures changed.
{%- set cutoff = incremental_cutoff('stat_date') %}
{%- set touched_days -%}
    select stat_date from {{ ref('stg_doudian__ad_report') }} where source_dt >= {{ cutoff }}
    union all
    select pay_date from {{ ref('int_order_lines__enriched') }} where sales_changed_dt >= {{ cutoff }}
{%- endset %}
{%- set touched = incremental_touched_days(touched_days, cutoff) %}
with ads as (

    select * from {{ ref('stg_doudian__ad_report') }}
    where {{ incremental_days_filter('stat_date', cutoff, touched) }}

),

channel_sales as (

    select
        shop_id,
        pay_date,
        channel,
        sum(pay_fen)                                          as gmv_fen,
        count(*)                                              as paid_lines,
        count(distinct shop_order_id)                         as paid_orders
    from {{ ref('int_order_lines__enriched') }}
    where is_paid and channel in ('live', 'video')
      and {{ incremental_days_filter('pay_date', cutoff, touched) }}
    group by shop_id, pay_date, channel

),

joined as (

    select
        ads.*,
        case ads.marketing_goal
            when 'LIVE_PROM_GOODS' then 'live'
            when 'VIDEO_PROM_GOODS' then 'video'
        end                                                   as attributed_channel,
        coalesce(channel_sales.gmv_fen, 0)                    as attributed_gmv_fen,
        coalesce(channel_sales.paid_lines, 0)                 as attributed_paid_lines,
        coalesce(channel_sales.paid_orders, 0)                as attributed_paid_orders
    from ads
    left join channel_sales
        on ads.shop_id = channel_sales.shop_id
        and ads.stat_date = channel_sales.pay_date
        and channel_sales.channel = case ads.marketing_goal
            when 'LIVE_PROM_GOODS' then 'live'
            when 'VIDEO_PROM_GOODS' then 'video'
        end

)

select
    cast(advertiser_id as {{ dbt.type_string() }})                              as advertiser_id,
    cast(shop_id as {{ dbt.type_string() }})                                    as shop_id,
    cast(stat_date as date)                                                     as stat_date,
    cast(marketing_goal as {{ dbt.type_string() }})                             as marketing_goal,
    cast(attributed_channel as {{ dbt.type_string() }})                         as attributed_channel,
    {{ fen_to_yuan('stat_cost_fen') }}                                          as spend_yuan,
    cast(show_cnt as {{ dbt.type_bigint() }})                                   as show_cnt,
    cast(click_cnt as {{ dbt.type_bigint() }})                                  as click_cnt,
    cast({{ safe_ratio('click_cnt', 'show_cnt') }} as {{ type_double() }})     as ctr,
    cast(pay_order_count as {{ dbt.type_bigint() }})                            as platform_pay_order_count,
    {{ fen_to_yuan('pay_order_amount_fen') }}                                   as platform_pay_order_yuan,
    cast({{ safe_ratio('pay_order_amount_fen', 'stat_cost_fen') }} as {{ type_double() }}) as platform_roi,
    cast(attributed_paid_lines as {{ dbt.type_bigint() }})                      as attributed_paid_lines,
    cast(attributed_paid_orders as {{ dbt.type_bigint() }})                     as attributed_paid_orders,
    {{ fen_to_yuan('attributed_gmv_fen') }}                                     as attributed_gmv_yuan,
    cast({{ safe_ratio('attributed_gmv_fen', 'stat_cost_fen') }} as {{ type_double() }}) as attributed_roi
from joined
