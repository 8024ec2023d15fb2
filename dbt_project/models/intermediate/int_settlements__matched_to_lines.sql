{{
    config(
        materialized=keyed_incremental_materialization(),
        incremental_strategy=keyed_incremental_strategy(),
        unique_key='sku_order_id',
        on_schema_change='fail',
        pre_hook="{{ delete_incremental_window('changed_dt', incremental_cutoff('changed_dt')) }}"
    )
}}
-- Settlement bill rows (结算账单) as of the run's business day, rolled up per SKU order line.
-- Grain: sku_order_id (lines with at least one settlement row, settled or reversed).
-- settled_fen is the line's net settled amount: Σ settle_fen over every row (reversals are negative).
-- A table, incremental by line (macros/incremental.sql): a run rebuilds the lines with a bill row
-- staged from a partition on or after incremental_cutoff() (changed_dt: the newest), the lines that
-- (re)landed since (is_matched_to_line) and the lines the window delete removes without bringing
-- them back (lost_keys()).
{%- set cutoff = incremental_cutoff('changed_dt') %}
{%- set window_keys -%}
    select sku_order_id from {{ ref('stg_backoffice__settlement_bill') }}
    where source_dt >= {{ cutoff }} and settle_date <= {{ as_of_date() }}
{%- endset %}
{%- set lost = lost_keys('sku_order_id', 'changed_dt', cutoff, window_keys) %}
with settlement_bills as (

    select * from {{ ref('stg_backoffice__settlement_bill') }}
    where settle_date <= {{ as_of_date() }}
    {%- if is_incremental() %}
      and (sku_order_id in ({{ window_keys }})
           or sku_order_id in (select sku_order_id from {{ ref('int_order_lines__enriched') }} where changed_dt >= {{ cutoff }})
           {%- if lost %}
           or sku_order_id in ({{ lost | join(', ') }})
           {%- endif %})
    {%- endif %}

),

order_lines as (

    select sku_order_id from {{ ref('int_order_lines__enriched') }}

),

per_line as (

    select
        sku_order_id,
        min(shop_id)                                                             as shop_id,
        count(*)                                                                 as settlement_rows,
        sum(case when trade_type = 0 then 1 else 0 end)                          as settle_rows,
        sum(case when trade_type = 1 then 1 else 0 end)                          as reversal_rows,
        min(case when trade_type = 0 then settle_at end)                         as first_settle_at,
        max(settle_at)                                                           as last_settle_at,
        min(case when trade_type = 0 then settle_date end)                       as first_settle_date,
        sum(settle_fen)                                                          as settled_fen,
        sum(case when trade_type = 0 then settle_fen else 0 end)                 as settle_fen,
        sum(case when trade_type = 1 then settle_fen else 0 end)                 as reversal_fen,
        sum(real_pay_fen)                                                        as real_pay_fen,
        sum(refund_before_settle_fen)                                            as refund_before_settle_fen,
        sum(platform_coupon_fen)                                                 as platform_coupon_fen,
        sum(author_coupon_fen)                                                   as author_coupon_fen,
        sum(zt_pay_promotion_fen + zr_pay_promotion_fen)                         as pay_promotion_fen,
        sum(platform_service_fee_fen)                                            as platform_service_fee_fen,
        sum(commission_fen)                                                      as commission_fen,
        sum(colonel_service_fee_fen)                                             as colonel_service_fee_fen,
        sum(channel_share_fee_fen + channel_promotion_fee_fen)                   as channel_fee_fen,
        sum(other_sharing_fen)                                                   as other_sharing_fen,
        max(source_dt)                                                           as changed_dt
    from settlement_bills
    group by sku_order_id

),

matched as (

    select
        per_line.*,
        order_lines.sku_order_id is not null as is_matched_to_line
    from per_line
    left join order_lines
        on per_line.sku_order_id = order_lines.sku_order_id

)

select * from matched
