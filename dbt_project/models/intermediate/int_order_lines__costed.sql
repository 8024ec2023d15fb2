-- Paid SKU order lines with the unit cost in force on the pay date (商品成本表 effective dates),
-- units returned to stock (successful type 0 return+refund and type 2 refund-before-shipping
-- after-sales: the goods are not gone) and the refunds of the line. Grain: sku_order_id (paid).
-- When a line was paid before the SKU's first effective date, the earliest known cost is used
-- (is_cost_backfilled); unit_cost_fen is null only for SKUs missing from every cost sheet.
with order_lines as (

    select * from {{ ref('int_order_lines__enriched') }}
    where is_paid

),

costs as (

    select * from {{ ref('int_sku_costs__historized') }}

),

first_costs as (

    select sku_id, unit_cost_fen
    from costs
    where cost_version = 1

),

returns as (

    select
        sku_order_id,
        sum(case when aftersale_type in (0, 2) then coalesce(aftersale_num, 0) else 0 end) as returned_units,
        max(case when aftersale_type in (0, 2) then refund_date end)                        as last_return_date
    from {{ ref('stg_doudian__after_sale') }}
    where is_refund_success
    group by sku_order_id

),

costed as (

    select
        order_lines.sku_order_id,
        order_lines.shop_id,
        order_lines.product_id,
        order_lines.sku_id,
        order_lines.pay_date,
        order_lines.item_num,
        coalesce(costs.unit_cost_fen, first_costs.unit_cost_fen)            as unit_cost_fen,
        costs.sku_id is null and first_costs.sku_id is not null             as is_cost_backfilled,
        case
            when coalesce(returns.returned_units, 0) > order_lines.item_num then order_lines.item_num
            else coalesce(returns.returned_units, 0)
        end                                                                  as returned_units,
        returns.last_return_date
    from order_lines
    left join costs
        on order_lines.sku_id = costs.sku_id
        and order_lines.pay_date >= costs.valid_from
        and (costs.valid_to is null or order_lines.pay_date <= costs.valid_to)
    left join first_costs
        on order_lines.sku_id = first_costs.sku_id
    left join returns
        on order_lines.sku_order_id = returns.sku_order_id

)

select * from costed
