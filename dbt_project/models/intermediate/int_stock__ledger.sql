-- Daily stock ledger per SKU x warehouse x day, rebuilt from the movements and checked against the
-- 3PL's own daily report (库存日报).
--   opening  = closing of the previous day (the first day: the report's opening stock)
--   closing  = opening + receipts (入库单) + returns (退货入库, the report's return_qty: no separate
--              return-receipt file exists) - shipments (发货明细 quantities by ship day)
--              + count adjustments (盘盈 +, 盘亏 -: the 3PL's count found a closing its own movements
--              do not explain, count_adjustment_qty = 期末 - (期初 + 入库 + 退货入库 - 出库) of its report;
--              the next day opens from the count)
-- closing_diff_qty = closing_qty - snapshot_closing_qty: 0 when the ledger and the 3PL agree
-- (null when the report for that day is missing). Dates are Asia/Shanghai business days.
with snapshots as (

    select * from {{ ref('stg_wms__stock_snapshot') }}

),

shipments as (

    select warehouse_id, sku_id, ship_date as ledger_date, cast(sum(quantity) as {{ dbt.type_bigint() }}) as shipment_qty
    from {{ ref('stg_wms__shipment') }}
    group by warehouse_id, sku_id, ship_date

),

receipts as (

    select warehouse_id, sku_id, receipt_date as ledger_date, cast(sum(quantity) as {{ dbt.type_bigint() }}) as receipt_qty
    from {{ ref('stg_wms__purchase_receipt') }}
    group by warehouse_id, sku_id, receipt_date

),

returns as (

    select
        warehouse_id,
        sku_id,
        stock_date                                                          as ledger_date,
        cast(sum(return_qty) as {{ dbt.type_bigint() }})                    as return_qty,
        cast(sum(closing_qty - (opening_qty + inbound_qty + return_qty - outbound_qty))
             as {{ dbt.type_bigint() }})                                    as count_adjustment_qty
    from snapshots
    group by warehouse_id, sku_id, stock_date

),

movement_days as (

    select warehouse_id, sku_id, ledger_date from shipments
    union all
    select warehouse_id, sku_id, ledger_date from receipts
    union all
    select warehouse_id, sku_id, stock_date as ledger_date from snapshots

),

stock_keys as (

    select warehouse_id, sku_id, min(ledger_date) as first_date
    from movement_days
    group by warehouse_id, sku_id

),

days as (

    {{ day_series(
        '(select min(ledger_date) from movement_days)',
        '(select max(ledger_date) from movement_days)'
    ) }}

),

grid as (

    select stock_keys.warehouse_id, stock_keys.sku_id, days.day as ledger_date, stock_keys.first_date
    from stock_keys
    inner join days
        on stock_keys.first_date <= days.day

),

movements as (

    select
        grid.warehouse_id,
        grid.sku_id,
        grid.ledger_date,
        grid.ledger_date = grid.first_date                                   as is_first_day,
        coalesce(receipts.receipt_qty, 0)                                   as receipt_qty,
        coalesce(returns.return_qty, 0)                                     as return_qty,
        coalesce(shipments.shipment_qty, 0)                                 as shipment_qty,
        coalesce(returns.count_adjustment_qty, 0)                           as count_adjustment_qty,
        coalesce(receipts.receipt_qty, 0) + coalesce(returns.return_qty, 0)
            - coalesce(shipments.shipment_qty, 0)
            + coalesce(returns.count_adjustment_qty, 0)                     as net_change_qty,
        case when grid.ledger_date = grid.first_date
             then coalesce(snapshots.opening_qty, 0) else 0 end             as initial_qty,
        snapshots.stock_date is not null                                    as has_snapshot,
        snapshots.opening_qty                                               as snapshot_opening_qty,
        snapshots.inbound_qty                                               as snapshot_inbound_qty,
        snapshots.outbound_qty                                              as snapshot_outbound_qty,
        snapshots.closing_qty                                               as snapshot_closing_qty,
        snapshots.locked_qty                                                as locked_qty
    from grid
    left join snapshots
        on grid.warehouse_id = snapshots.warehouse_id
        and grid.sku_id = snapshots.sku_id
        and grid.ledger_date = snapshots.stock_date
    left join receipts
        on grid.warehouse_id = receipts.warehouse_id
        and grid.sku_id = receipts.sku_id
        and grid.ledger_date = receipts.ledger_date
    left join returns
        on grid.warehouse_id = returns.warehouse_id
        and grid.sku_id = returns.sku_id
        and grid.ledger_date = returns.ledger_date
    left join shipments
        on grid.warehouse_id = shipments.warehouse_id
        and grid.sku_id = shipments.sku_id
        and grid.ledger_date = shipments.ledger_date

),

ledger as (

    select
        movements.*,
        cast(sum(initial_qty + net_change_qty) over (
            partition by warehouse_id, sku_id order by ledger_date rows between unbounded preceding and current row
        ) as {{ dbt.type_bigint() }}) as closing_qty
    from movements

)

select
    ledger_date,
    warehouse_id,
    sku_id,
    closing_qty - net_change_qty                          as opening_qty,
    receipt_qty,
    return_qty,
    shipment_qty,
    count_adjustment_qty,
    net_change_qty,
    closing_qty,
    locked_qty,
    closing_qty - coalesce(locked_qty, 0)                 as available_qty,
    has_snapshot,
    snapshot_opening_qty,
    snapshot_inbound_qty,
    snapshot_outbound_qty,
    snapshot_closing_qty,
    closing_qty - snapshot_closing_qty                    as closing_diff_qty,
    receipt_qty - snapshot_inbound_qty                    as receipt_diff_qty,
    shipment_qty - snapshot_outbound_qty                  as shipment_diff_qty
from ledger
