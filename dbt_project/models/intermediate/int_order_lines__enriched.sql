{{
    config(
        materialized=keyed_incremental_materialization(),
        incremental_strategy=keyed_incremental_strategy(),
        unique_key='sku_order_id',
        on_schema_change='fail',
        pre_hook="{{ delete_incremental_rows('changed_dt >= ' ~ incremental_cutoff('changed_dt')
                                            ~ ' and sku_order_id not in (select sku_order_id from '
                                            ~ ref('stg_doudian__sku_order') ~ ')') }}"
    )
}}
-- A table, not a view: a dozen models (and the default as_of_date) read it; computing the
-- latest versions of every line once per build is what keeps the build linear.
-- One row per SKU order line (paid or not), with its parent order's buyer, its channel and the
-- alliance (精选联盟) rates that settle it. Grain: sku_order_id.
--
-- Channel (docs/sources.md, one per line, this precedence): alliance if c_biz = 2; else live if
-- the line has a room id; else video if it has a video id; else search if send_pay = 1; else card.
--
-- changed_dt: the newest lake partition day (dt) among the line, its after-sales and its
-- alliance order: incremental marts reprocess lines whose changed_dt falls in their lookback.
-- Incremental (keyed, macros/incremental.sql): a run rebuilds the lines whose line, after-sale or
-- alliance order has a staged row from a partition on or after incremental_cutoff(), and the
-- lines whose change day is in the window but are no longer in it (lost_keys: their newest
-- partition moved back); the pre_hook deletes the lines gone from the lake.
-- sales_changed_dt: the change day from which the line's sale figures (everything but its
-- fulfilment status: ids, buyer, pay day, channel, creator, amounts, rates, warehouse) are as they
-- are. A full build: changed_dt. An incremental run keeps the stored value when the rebuilt line
-- has the same sale figures as the stored one (a line shipped, delivered or confirmed), else the
-- line's changed_dt (at least the cutoff): the daily sales marts rebuild the pay days of the lines
-- whose sales_changed_dt is in their window, not every pay day a status update touches.
{%- set sales_columns = ['shop_order_id', 'shop_id', 'product_id', 'product_name', 'sku_id', 'sku_code',
                         'first_cid', 'second_cid', 'buyer_key', 'receiver_province', 'pay_at', 'pay_date',
                         'is_paid', 'channel', 'author_id', 'author_name', 'room_id', 'video_id', 'item_num',
                         'origin_fen', 'pay_fen', 'promo_fen', 'promo_shop_fen', 'promo_platform_fen',
                         'promo_talent_fen', 'commission_rate_bp', 'colonel_service_rate_bp', 'warehouse_id'] %}
{%- if is_incremental() %}
{%- set cutoff = incremental_cutoff('changed_dt') %}
{%- set window_keys -%}
    select sku_order_id from {{ ref('stg_doudian__sku_order') }} where source_dt >= {{ cutoff }}
    union
    select sku_order_id from {{ ref('stg_doudian__alliance_order') }} where source_dt >= {{ cutoff }}
    union
    select sku_order_id from {{ ref('stg_doudian__after_sale') }} where source_dt >= {{ cutoff }}
{%- endset %}
{%- set lost = lost_keys('sku_order_id', 'changed_dt', cutoff, window_keys) %}
{%- endif %}
with {% if is_incremental() %}window_lines as (

    {{ window_keys }}
    {%- for key in lost %}
    union select {{ key }}
    {%- endfor %}

),

{% endif %}sku_orders as (

    select * from {{ ref('stg_doudian__sku_order') }}
    {%- if is_incremental() %}
    where sku_order_id in (select sku_order_id from window_lines)
    {%- endif %}

),

shop_orders as (

    select * from {{ ref('stg_doudian__shop_order') }}

),

alliance_orders as (

    select * from {{ ref('stg_doudian__alliance_order') }}

),

after_sale_changes as (

    select
        sku_order_id,
        max(source_dt) as last_after_sale_dt
    from {{ ref('stg_doudian__after_sale') }}
    {%- if is_incremental() %}
    where sku_order_id in (select sku_order_id from window_lines)
    {%- endif %}
    group by sku_order_id

),

enriched as (

    select
        sku_orders.sku_order_id,
        sku_orders.shop_order_id,
        sku_orders.shop_id,
        sku_orders.product_id,
        sku_orders.product_name,
        sku_orders.sku_id,
        sku_orders.sku_code,
        sku_orders.first_cid,
        sku_orders.second_cid,
        shop_orders.buyer_key,
        shop_orders.receiver_province,
        sku_orders.created_at,
        sku_orders.pay_at,
        sku_orders.pay_date,
        sku_orders.pay_at is not null                                  as is_paid,
        case
            when sku_orders.c_biz = 2 then 'alliance'
            when sku_orders.room_id is not null then 'live'
            when sku_orders.video_id is not null then 'video'
            when sku_orders.send_pay = 1 then 'search'
            else 'card'
        end                                                            as channel,
        sku_orders.c_biz,
        sku_orders.send_pay,
        sku_orders.theme_type,
        coalesce(sku_orders.author_id, alliance_orders.author_id)      as author_id,
        sku_orders.author_name,
        sku_orders.room_id,
        sku_orders.video_id,
        sku_orders.item_num,
        sku_orders.origin_fen,
        sku_orders.pay_fen,
        sku_orders.promo_fen,
        sku_orders.promo_shop_fen,
        sku_orders.promo_platform_fen,
        sku_orders.promo_talent_fen,
        coalesce(alliance_orders.commission_rate_bp, 0)                as commission_rate_bp,
        coalesce(alliance_orders.colonel_service_rate_bp, 0)           as colonel_service_rate_bp,
        alliance_orders.sku_order_id is not null                       as has_alliance_order,
        sku_orders.warehouse_id,
        sku_orders.ship_at,
        sku_orders.exp_ship_at,
        sku_orders.receipt_at,
        sku_orders.confirm_receipt_at,
        sku_orders.confirm_receipt_date,
        sku_orders.finish_at,
        sku_orders.updated_at,
        sku_orders.order_status,
        sku_orders.source_dt,
        greatest(
            sku_orders.source_dt,
            coalesce(after_sale_changes.last_after_sale_dt, sku_orders.source_dt),
            coalesce(alliance_orders.source_dt, sku_orders.source_dt)
        )                                                              as changed_dt

    from sku_orders
    left join shop_orders
        on sku_orders.shop_order_id = shop_orders.shop_order_id
    left join alliance_orders
        on sku_orders.sku_order_id = alliance_orders.sku_order_id
    left join after_sale_changes
        on sku_orders.sku_order_id = after_sale_changes.sku_order_id

)

{% if is_incremental() %}
select
    enriched.*,
    case
        when built.sku_order_id is not null
        {%- for column in sales_columns %}
             and {{ null_safe_equal('enriched.' ~ column, 'built.' ~ column) }}
        {%- endfor %}
        then built.sales_changed_dt
        else greatest(enriched.changed_dt, {{ cutoff }})
    end                                                                as sales_changed_dt
from enriched
left join {{ this }} as built
    on enriched.sku_order_id = built.sku_order_id
{% else %}
select
    enriched.*,
    enriched.changed_dt                                                as sales_changed_dt
from enriched
{% endif %}
