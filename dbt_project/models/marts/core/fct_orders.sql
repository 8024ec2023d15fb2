{{
    config(
        materialized=keyed_incremental_materialization(),
        incremental_strategy=keyed_incremental_strategy(),
        unique_key='shop_order_id',
        on_schema_change='fail',
        pre_hook="{{ delete_incremental_rows(gone_orders_sql(incremental_cutoff('pay_date'),
                                                            stale_buyers(['shop_order_id'], 'sku_order_count', 'select shop_order_id, changed_dt from ' ~ ref('fct_order_lines') ~ ' where is_paid', incremental_cutoff('pay_date')))) }}"
    )
}}
-- depends_on: {{ ref('int_order_lines__enriched') }}
-- One row per paid shop (parent) order: its lines rolled up, its buyer's order sequence.
-- main_channel = the channel of the order's largest line by pay amount (ties: lowest line id).
-- Incremental by order (macros/incremental.sql): a run rebuilds the orders with a line that changed on
-- or after incremental_cutoff(), and the orders whose place in their buyer's sequence moved
-- (buyer_order_seq: an order paid earlier landed late, an order went). The sequence is numbered again
-- over a narrow projection of every paid order of the touched buyers (shop x buyer_key; orders
-- without a buyer count as one buyer per shop: touched_buyers_sql()) and compared with the stored one,
-- so only the orders whose number changed are rewritten: a new order of a returning buyer is one row.
-- The pre_hook deletes the changed orders no longer paid, and every order of a buyer whose stored rows
-- no longer match upstream (stale_buyers(): a day re-landed with fewer rows); those come back whole.
-- changed_dt: the newest changed_dt of the order's lines.
{%- set cutoff = incremental_cutoff('pay_date') %}
{%- set stale = stale_buyers(['shop_order_id'], 'sku_order_count',
                             'select shop_order_id, changed_dt from ' ~ ref('fct_order_lines') ~ ' where is_paid', cutoff) %}
{#- Each reader of the lines reads them with its own filter and columns: a CTE read twice would be
    materialized whole (a year of lines, every column). #}
with {% if is_incremental() -%}
buyer_orders as (

    -- narrow: every paid order of the touched buyers, with its buyer and pay instant, for the sequence
    select
        shop_order_id,
        min(shop_id)                                   as shop_id,
        min(buyer_key)                                 as buyer_key,
        min(pay_at)                                    as pay_at
    from {{ ref('fct_order_lines') }}
    where is_paid
      and (shop_id, coalesce(buyer_key, shop_id)) in ({{ touched_buyers_sql(cutoff, stale) }})
    group by shop_order_id

),

rebuilt as (

    -- new, moved in its buyer's sequence (or deleted by the pre_hook), or changed
    select sequenced.shop_order_id, sequenced.buyer_order_seq
    from (
        select
            shop_order_id,
            row_number() over (partition by shop_id, buyer_key order by pay_at, shop_order_id) as buyer_order_seq
        from buyer_orders
    ) as sequenced
    left join {{ this }} as stored
        on sequenced.shop_order_id = stored.shop_order_id
    where stored.buyer_order_seq is distinct from sequenced.buyer_order_seq
       or sequenced.shop_order_id in ({{ changed_orders_sql(cutoff) }})

),

order_lines as (

    select * from {{ ref('fct_order_lines') }}
    where is_paid
      and shop_order_id in (select shop_order_id from rebuilt)

),
{%- else -%}
order_lines as (

    select * from {{ ref('fct_order_lines') }}
    where is_paid

),
{%- endif %}

shop_orders as (

    select * from {{ ref('stg_doudian__shop_order') }}

),

main_lines as (

    select shop_order_id, channel as main_channel
    from (
        select
            shop_order_id,
            channel,
            row_number() over (partition by shop_order_id order by pay_yuan desc, sku_order_id asc) as line_rank
        from order_lines
    ) as ranked
    where line_rank = 1

),

rolled_up as (

    select
        shop_order_id,
        min(shop_id)                                   as shop_id,
        min(buyer_key)                                 as buyer_key,
        min(pay_at)                                    as pay_at,
        min(pay_date)                                  as pay_date,
        count(*)                                       as sku_order_count,
        sum(item_num)                                  as item_num,
        sum(origin_yuan)                               as origin_yuan,
        sum(pay_yuan)                                  as gmv_yuan,
        sum(promo_shop_yuan)                           as promo_shop_yuan,
        sum(promo_platform_yuan)                       as promo_platform_yuan,
        sum(promo_talent_yuan)                         as promo_talent_yuan,
        sum(refund_yuan)                               as refund_yuan,
        count(distinct channel)                        as channel_count,
        max(changed_dt)                                as changed_dt
    from order_lines
    group by shop_order_id

),

final as (

    select
        rolled_up.shop_order_id,
        rolled_up.shop_id,
        rolled_up.buyer_key,
        rolled_up.pay_at,
        rolled_up.pay_date,
        main_lines.main_channel,
        cast(rolled_up.channel_count as {{ dbt.type_bigint() }})        as channel_count,
        cast(rolled_up.sku_order_count as {{ dbt.type_bigint() }})      as sku_order_count,
        cast(rolled_up.item_num as {{ dbt.type_bigint() }})             as item_num,
        cast(rolled_up.origin_yuan as decimal(18, 2))                   as origin_yuan,
        cast(rolled_up.gmv_yuan as decimal(18, 2))                      as gmv_yuan,
        {{ fen_to_yuan('shop_orders.post_fen') }}                       as post_yuan,
        cast(rolled_up.promo_shop_yuan as decimal(18, 2))               as promo_shop_yuan,
        cast(rolled_up.promo_platform_yuan as decimal(18, 2))           as promo_platform_yuan,
        cast(rolled_up.promo_talent_yuan as decimal(18, 2))             as promo_talent_yuan,
        cast(rolled_up.refund_yuan as decimal(18, 2))                   as refund_yuan,
        shop_orders.receiver_province,
        {%- if is_incremental() %}
        cast(rebuilt.buyer_order_seq as {{ dbt.type_bigint() }})        as buyer_order_seq,
        {%- else %}
        cast(row_number() over (
            partition by rolled_up.shop_id, rolled_up.buyer_key
            order by rolled_up.pay_at, rolled_up.shop_order_id
        ) as {{ dbt.type_bigint() }})                                   as buyer_order_seq,
        {%- endif %}
        rolled_up.changed_dt
    from rolled_up
    {%- if is_incremental() %}
    inner join rebuilt
        on rolled_up.shop_order_id = rebuilt.shop_order_id
    {%- endif %}
    left join main_lines
        on rolled_up.shop_order_id = main_lines.shop_order_id
    left join shop_orders
        on rolled_up.shop_order_id = shop_orders.shop_order_id

)

select * from final
