"""Ten common analyst questions, answered in SQL over the published marts (the analyst guide's examples).

They live here, once: docs/analyst-guide.md embeds ``render_markdown()`` (refresh it with
``python -m douyin_etl.access.catalog --write docs/analyst-guide.md``) and tests/access runs every
query against a built warehouse. Run one yourself with ``douyin-etl query "$(python -c
'from douyin_etl.access.examples import sql; print(sql("daily_gmv_by_channel"))')"`` or paste it
into the DuckDB CLI.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Example:
    key: str
    question: str
    notes: str
    sql: str


EXAMPLES: tuple[Example, ...] = (
    Example(
        "daily_gmv_by_channel",
        "Daily GMV by channel (每日分渠道成交额)",
        "GMV by pay day as 抖店 支付成交金额 (refunded orders included); refunds by refund day (finance view). "
        "Money columns add up across channels; orders/buyers do not (an order can span two channels).",
        """\
select date_day, channel,
       sum(gmv_yuan)       as gmv_yuan,
       sum(refund_yuan)    as refund_yuan,
       sum(net_sales_yuan) as net_sales_yuan,
       sum(sku_orders)     as sku_orders
from sales.sales_daily
group by date_day, channel
order by date_day, gmv_yuan desc""",
    ),
    Example(
        "top_creators_by_net_gmv",
        "Top creators (达人) by net GMV",
        "Cohort view: refunds of the lines paid in the window, whenever they succeeded. roi = net GMV / net commission.",
        """\
select c.shop_id, c.author_id, any_value(d.author_name) as author_name, any_value(c.tier) as tier,
       sum(c.gmv_yuan)             as gmv_yuan,
       sum(c.net_gmv_yuan)         as net_gmv_yuan,
       sum(c.net_commission_yuan)  as net_commission_yuan,
       round(sum(c.net_gmv_yuan) / nullif(sum(c.net_commission_yuan), 0), 2) as roi
from performance.perf_creators c
left join sales.dim_creators d on d.shop_id = c.shop_id and d.author_id = c.author_id
group by c.shop_id, c.author_id
order by net_gmv_yuan desc
limit 20""",
    ),
    Example(
        "refund_rate_by_product",
        "Refund rate by product (商品退款率)",
        "Cohort view over paid SKU order lines: refunded amount / paid amount of the same lines.",
        """\
select l.product_id, any_value(p.product_name) as product_name,
       count(*)                  as paid_lines,
       sum(l.pay_yuan)           as gmv_yuan,
       sum(l.refund_yuan)        as refund_yuan,
       round(sum(l.refund_yuan) / nullif(sum(l.pay_yuan), 0), 4) as refund_rate
from sales.fct_order_lines l
left join sales.dim_products p using (product_id)
where l.is_paid
group by l.product_id
order by refund_rate desc nulls last, gmv_yuan desc""",
    ),
    Example(
        "live_session_gpm",
        "Live session GPM (直播千次观看成交金额)",
        "gpm_yuan = GMV / watch_pv (观看人次) x 1000, as 罗盘; GMV from the paid lines carrying the room id.",
        """\
select live_date, room_id, anchor_name, duration_minutes, viewers, watch_pv,
       gmv_yuan, gpm_yuan, conversion_rate
from performance.perf_live_sessions
order by gpm_yuan desc nulls last
limit 20""",
    ),
    Example(
        "funnel_conversion_by_channel",
        "Funnel conversion by channel (分渠道转化漏斗)",
        "Sum the counts first, then divide (averaging daily rates would weight quiet days like busy ones).",
        """\
select channel,
       sum(exposures) as exposures, sum(clicks) as clicks, sum(add_to_carts) as add_to_carts,
       sum(orders) as orders, sum(pays) as pays,
       round(sum(clicks)::double / nullif(sum(exposures), 0), 4)       as ctr,
       round(sum(add_to_carts)::double / nullif(sum(clicks), 0), 4)    as add_to_cart_rate,
       round(sum(orders)::double / nullif(sum(add_to_carts), 0), 4)    as order_rate,
       round(sum(pays)::double / nullif(sum(orders), 0), 4)            as pay_rate,
       round(sum(pays)::double / nullif(sum(exposures), 0), 4)         as exposure_to_pay_rate
from sales.sales_funnel_daily
group by channel
order by exposure_to_pay_rate desc""",
    ),
    Example(
        "repeat_buyer_share",
        "Repeat-buyer share per shop (复购买家占比)",
        "A repeat buyer has two or more paid orders in the shop; 30-day repurchase is null until the window has elapsed.",
        """\
select shop_id,
       count(*)                                        as buyers,
       count(*) filter (where is_repeat_buyer)         as repeat_buyers,
       round(avg(is_repeat_buyer::int), 4)             as repeat_buyer_share,
       round(avg(repurchased_within_30d::int), 4)      as repurchase_30d_rate,
       sum(gmv_yuan)                                   as gmv_yuan
from sales.sales_customers
group by shop_id
order by shop_id""",
    ),
    Example(
        "stockout_risk",
        "Stock-out risk list (断货风险)",
        "Best sellers whose days of cover < lead time + safety days, as of the latest run.",
        """\
select a.shop_id, a.warehouse_id, a.sku_id, p.product_name,
       a.available_qty, round(a.avg_daily_units, 2) as avg_daily_units,
       round(a.days_of_cover, 1) as days_of_cover, a.lead_time_days, a.threshold_days, a.shop_sales_rank
from inventory.inv_alerts a
left join sales.dim_products p using (product_id)
where a.alert_type = 'stockout_risk'
  and a.alert_date = (select max(alert_date) from inventory.inv_alerts)
order by a.days_of_cover, a.shop_sales_rank""",
    ),
    Example(
        "reorder_suggestions",
        "Reorder suggestions (补货建议)",
        "SKUs at or below their reorder point, with the quantity that tops them up to the target cover.",
        """\
select r.shop_id, r.warehouse_id, r.sku_id, p.product_name,
       r.available_qty, round(r.reorder_point_units, 1) as reorder_point_units,
       round(r.safety_stock_units, 1) as safety_stock_units, r.lead_time_days, r.suggested_order_qty
from inventory.inv_replenishment r
left join sales.dim_products p using (product_id)
where r.needs_reorder
  and r.as_of_date = (select max(as_of_date) from inventory.inv_replenishment)
order by r.suggested_order_qty desc""",
    ),
    Example(
        "settlement_discrepancies_by_reason",
        "Settlement discrepancies by reason (结算差异)",
        "Money in fen is exact; difference = settled - expected net (missing_settlement: minus the expected amount).",
        """\
select shop_id, reason,
       count(*)                        as sku_order_lines,
       sum(expected_net_fen)::decimal(18, 0) * 0.01 as expected_net_yuan,  -- exact fen -> yuan
       sum(settled_fen)::decimal(18, 0) * 0.01      as settled_yuan,
       sum(difference_fen)::decimal(18, 0) * 0.01   as difference_yuan
from finance.fin_order_reconciliation
where status = 'discrepancy'
group by shop_id, reason
order by shop_id, sku_order_lines desc""",
    ),
    Example(
        "contribution_margin_by_product",
        "Contribution margin by product (商品贡献毛利)",
        "Net revenue - platform fees - commission - 招商服务费 - ad spend - freight - COGS (accrual, per fin_pnl_product_daily).",
        """\
select m.shop_id, m.product_id, any_value(p.product_name) as product_name,
       sum(m.gmv_yuan)                 as gmv_yuan,
       sum(m.net_revenue_yuan)         as net_revenue_yuan,
       sum(m.cogs_yuan)                as cogs_yuan,
       sum(m.ad_spend_yuan)            as ad_spend_yuan,
       sum(m.contribution_margin_yuan) as contribution_margin_yuan,
       round(sum(m.contribution_margin_yuan) / nullif(sum(m.net_revenue_yuan), 0), 4) as margin_rate
from finance.fin_pnl_product_daily m
left join sales.dim_products p using (product_id)
group by m.shop_id, m.product_id
order by contribution_margin_yuan desc""",
    ),
)


def sql(key: str) -> str:
    for e in EXAMPLES:
        if e.key == key:
            return e.sql
    raise KeyError(f"no example {key!r}; choose from {', '.join(e.key for e in EXAMPLES)}")


def render_markdown() -> str:
    out = []
    for i, e in enumerate(EXAMPLES, start=1):
        out += [f"#### {i}. {e.question}", "", e.notes, "", f"```sql\n-- example: {e.key}\n{e.sql}\n```", ""]
    return "\n".join(out)
