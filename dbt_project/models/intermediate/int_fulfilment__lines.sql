-- One row per paid SKU order line with its fulfilment facts (docs/metrics.md "Fulfilment").
--   ship_deadline_at: pay_at + 48 h; a presale / appointment-ship line whose promised ship time
--                     (exp_ship_at) is later is measured against that promise instead.
--   is_due_to_ship:   shipped, or its deadline has passed by the end of the run's business day,
--                     and not closed before shipping (cancelled / fully refunded before shipping).
--   is_shipped_within_48h / is_48h_miss: among lines due to ship, shipped by the deadline or not;
--                     a miss is either shipped late (is_shipped_late) or still not shipped after
--                     the deadline (is_overdue_unshipped).
-- Ship time: the platform's ship_time, else the 3PL outbound time. Delivery: the platform's
-- logistics_receipt_time, else the 3PL 签收时间; on time when delivered by the 3PL's promised time.
with lines as (

    select * from {{ ref('int_order_lines__enriched') }}
    where is_paid

),

shipments as (

    select * from {{ ref('stg_wms__shipment') }}

),

as_of as (

    select {{ business_day_start(dbt.dateadd('day', 1, as_of_date())) }} as as_of_end_at

),

joined as (

    select
        lines.sku_order_id,
        lines.shop_order_id,
        lines.shop_id,
        lines.product_id,
        lines.sku_id,
        lines.pay_at,
        lines.pay_date,
        coalesce(shipments.warehouse_id, lines.warehouse_id)              as warehouse_id,
        shipments.carrier,
        shipments.tracking_no,
        coalesce(lines.ship_at, shipments.ship_at)                        as ship_at,
        coalesce(lines.receipt_at, shipments.delivered_at)                as delivered_at,
        shipments.promised_delivery_at,
        case
            when lines.exp_ship_at > {{ dbt.dateadd('hour', 48, 'lines.pay_at') }} then lines.exp_ship_at
            else {{ dbt.dateadd('hour', 48, 'lines.pay_at') }}
        end                                                               as ship_deadline_at,
        lines.exp_ship_at,
        lines.order_status,
        as_of.as_of_end_at
    from lines
    cross join as_of
    left join shipments
        on lines.sku_order_id = shipments.sku_order_id

),

flagged as (

    select
        joined.*,
        (ship_at is not null
         or (order_status <> 4 and ship_deadline_at < as_of_end_at))       as is_due_to_ship
    from joined

)

select
    sku_order_id,
    shop_order_id,
    shop_id,
    product_id,
    sku_id,
    pay_at,
    pay_date,
    warehouse_id,
    coalesce(carrier, case when ship_at is null then 'unshipped' else 'unknown' end) as carrier,
    tracking_no,
    ship_at,
    ship_deadline_at,
    delivered_at,
    promised_delivery_at,
    is_due_to_ship,
    is_due_to_ship and ship_at is not null and ship_at <= ship_deadline_at as is_shipped_within_48h,
    is_due_to_ship and ship_at is not null and ship_at > ship_deadline_at as is_shipped_late,
    is_due_to_ship and ship_at is null                                    as is_overdue_unshipped,
    is_due_to_ship and (ship_at is null or ship_at > ship_deadline_at)   as is_48h_miss,
    delivered_at is not null                                              as is_delivered,
    delivered_at is not null and promised_delivery_at is not null
        and delivered_at <= promised_delivery_at                          as is_delivered_on_time,
    cast({{ dbt.datediff('pay_at', 'ship_at', 'second') }} as {{ dbt.type_bigint() }})                as ship_seconds,
    cast({{ dbt.datediff('ship_at', 'delivered_at', 'second') }} as {{ dbt.type_bigint() }})          as delivery_seconds,
    cast({{ dbt.datediff('pay_at', 'ship_at', 'second') }} as {{ type_double() }}) / 3600        as ship_hours,
    cast({{ dbt.datediff('ship_at', 'delivered_at', 'second') }} as {{ type_double() }}) / 86400 as delivery_days
from flagged
