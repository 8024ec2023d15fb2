-- Successful refunds (aftersale_status 12 and refund_status 3) as of the run's business day,
-- allocated to their SKU order line and split by timing against the line's first settlement:
-- before settlement (no settlement yet, or refunded before the first 已结算 row) or after it.
-- A return or refund (types 0/1/2) of every unit refunds the whole line; one of k of n units
-- (aftersale_num < item_num) and price protection (type 6) refund part of it (macros/refunds.sql).
-- Grain: sku_order_id (lines with at least one successful refund).
with refunds as (

    select * from {{ ref('stg_doudian__after_sale') }}
    where is_refund_success
      and refund_date <= {{ as_of_date() }}

),

settlements as (

    select sku_order_id, first_settle_at
    from {{ ref('int_settlements__matched_to_lines') }}

),

order_lines as (

    select sku_order_id, item_num
    from {{ ref('int_order_lines__enriched') }}

),

timed as (

    select
        refunds.*,
        {{ is_full_refund('refunds.aftersale_type', 'refunds.aftersale_num', 'order_lines.item_num') }} as is_full,
        settlements.first_settle_at is null
            or refunds.refunded_at < settlements.first_settle_at as is_before_settlement
    from refunds
    left join settlements
        on refunds.sku_order_id = settlements.sku_order_id
    left join order_lines
        on refunds.sku_order_id = order_lines.sku_order_id

),

allocated as (

    select
        sku_order_id,
        min(shop_id)                                                                      as shop_id,
        count(*)                                                                          as refund_count,
        sum(refund_fen)                                                                   as refund_fen,
        sum(case when is_before_settlement then refund_fen else 0 end)                    as refund_before_settle_fen,
        sum(case when is_before_settlement and not is_full then refund_fen else 0 end)
                                                                                          as partial_refund_before_settle_fen,
        sum(case when not is_before_settlement then refund_fen else 0 end)                as refund_after_settle_fen,
        max(case when is_before_settlement and is_full then 1 else 0 end) = 1
                                                                                          as is_fully_refunded_before_settlement,
        max(case when is_full then 1 else 0 end) = 1                                      as is_fully_refunded,
        min(refunded_at)                                                                  as first_refunded_at,
        max(refunded_at)                                                                  as last_refunded_at,
        max(refund_date)                                                                  as last_refund_date
    from timed
    group by sku_order_id

)

select * from allocated
