-- Units sold per SKU x warehouse x day on the stock ledger's grid (days without a sale are 0), so
-- averages and standard deviations of daily demand count the quiet days too.
-- Units sold = item_num of paid SKU order lines by pay date (Asia/Shanghai), attributed to the
-- warehouse the platform assigned to the line (inventory_list), later refunds included (demand).
with ledger as (

    select * from {{ ref('int_stock__ledger') }}

),

sales as (

    select
        warehouse_id,
        sku_id,
        pay_date,
        cast(sum(item_num) as {{ dbt.type_bigint() }})  as units_sold,
        count(*)                                        as paid_lines
    from {{ ref('int_order_lines__enriched') }}
    where is_paid
    group by warehouse_id, sku_id, pay_date

)

select
    ledger.ledger_date,
    ledger.warehouse_id,
    ledger.sku_id,
    ledger.closing_qty,
    ledger.available_qty,
    coalesce(sales.units_sold, 0)                       as units_sold,
    coalesce(sales.paid_lines, 0)                       as paid_lines
from ledger
left join sales
    on ledger.warehouse_id = sales.warehouse_id
    and ledger.sku_id = sales.sku_id
    and ledger.ledger_date = sales.pay_date
