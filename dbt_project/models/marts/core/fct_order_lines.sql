{{
    config(
        materialized=keyed_incremental_materialization(),
        incremental_strategy=keyed_incremental_strategy(),
        unique_key='sku_order_id',
        on_schema_change='fail',
        pre_hook="{{ delete_incremental_window('changed_dt', incremental_cutoff('changed_dt')) }}"
    )
}}
-- One row per SKU order line (paid or not). Incremental: each run replaces the window of lines
-- whose changed_dt (newest lake partition touching the line: the line itself, its after-sales, its
-- alliance order) is on or after incremental_cutoff() (lookback_days before the first day of the
-- run, var window_start): the pre_hook deletes them, the lines of the window come back from the
-- lake (with the lines the delete removes and the window does not bring back, lost_keys(): their
-- newest partition moved back before the window), by sku_order_id. A line gone from the lake goes from the mart; reruns, late updates and
-- rebuilds of a past day converge on what a full refresh gives.
with order_lines as (

    select enriched.* from {{ ref('int_order_lines__enriched') }} as enriched
    {% if is_incremental() %}
    {%- set cutoff = incremental_cutoff('changed_dt') %}
    {%- set lost = lost_keys('sku_order_id', 'changed_dt', cutoff,
                             'select sku_order_id from ' ~ ref('int_order_lines__enriched') ~ ' where changed_dt >= ' ~ cutoff) %}
    where enriched.changed_dt >= {{ cutoff }}
    {%- if lost %}
       or enriched.sku_order_id in ({{ lost | join(', ') }})
    {%- endif %}
    {% endif %}

),

refunds as (

    select * from {{ ref('int_refunds__allocated_to_lines') }}

),

costed as (

    select * from {{ ref('int_order_lines__costed') }}
    {%- if is_incremental() %}
    -- only the window's lines: joining a year of costed lines built a hash table of all of them (1.3 GB
    -- at 11 M orders)
    where sku_order_id in (select sku_order_id from order_lines)
    {%- endif %}

),

final as (

    select
        order_lines.sku_order_id,
        order_lines.shop_order_id,
        order_lines.shop_id,
        order_lines.product_id,
        order_lines.sku_id,
        order_lines.buyer_key,
        order_lines.channel,
        order_lines.author_id,
        order_lines.room_id,
        order_lines.video_id,
        order_lines.warehouse_id,
        order_lines.first_cid,
        order_lines.order_status,
        order_lines.is_paid,
        order_lines.created_at,
        order_lines.pay_at,
        order_lines.pay_date,
        order_lines.ship_at,
        order_lines.receipt_at,
        order_lines.confirm_receipt_date,
        cast(order_lines.item_num as {{ dbt.type_bigint() }})                        as item_num,
        {{ fen_to_yuan('order_lines.origin_fen') }}                                   as origin_yuan,
        case when order_lines.item_num > 0
             then {{ fen_to_yuan(divide_round_half_up('order_lines.origin_fen', 'order_lines.item_num')) }} end as unit_price_yuan,
        {{ fen_to_yuan('order_lines.pay_fen') }}                                      as pay_yuan,
        {{ fen_to_yuan('order_lines.promo_shop_fen') }}                               as promo_shop_yuan,
        {{ fen_to_yuan('order_lines.promo_platform_fen') }}                           as promo_platform_yuan,
        {{ fen_to_yuan('order_lines.promo_talent_fen') }}                             as promo_talent_yuan,
        {{ fen_to_yuan('coalesce(refunds.refund_fen, 0)') }}                          as refund_yuan,
        cast(coalesce(refunds.refund_count, 0) as {{ dbt.type_bigint() }})           as refund_count,
        coalesce(refunds.is_fully_refunded, false)                                   as is_fully_refunded,
        refunds.last_refund_date,
        {{ fen_to_yuan('costed.unit_cost_fen') }}                                     as unit_cost_yuan,
        cast(coalesce(costed.returned_units, 0) as {{ dbt.type_bigint() }})          as returned_units,
        order_lines.changed_dt
    from order_lines
    left join refunds
        on order_lines.sku_order_id = refunds.sku_order_id
    left join costed
        on order_lines.sku_order_id = costed.sku_order_id

)

select * from final
