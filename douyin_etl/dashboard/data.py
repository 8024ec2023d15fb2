"""What the dashboard reads: filters, and one spec'd SQL query per panel over the published marts.

Every query takes the same named parameters: ``$shop`` (NULL = all shops), ``$start`` and ``$end``
(inclusive Asia/Shanghai business days, the marts' date columns). ``load_dashboard`` opens the
warehouse read-only, runs every query, and closes it again before returning: nothing is held open
between requests, so a publish (an atomic rename of the file) is picked up by the next page load.

A new panel = one more ``PanelQuery`` here and one renderer entry in ``render.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from douyin_etl import config
from douyin_etl.access.query import WarehouseMissing, connect_read_only
from douyin_etl.timeutil import SHANGHAI

log = logging.getLogger(__name__)

DEFAULT_PERIOD_DAYS = 30
SHOP_FILTER = "($shop IS NULL OR shop_id = $shop)"


class FilterError(ValueError):
    """A filter value the dashboard cannot use; the message says which parameter and what is expected."""


@dataclass(frozen=True)
class Bounds:
    """What is published: shops and the first/last business day with sales."""

    shops: tuple[str, ...]
    first_day: date | None
    last_day: date | None
    run_id: str | None = None
    published_at: datetime | None = None  # an instant, in Asia/Shanghai

    def covers(self, start: date, end: date) -> bool:
        """True when every day of [start, end] lies inside the published data (a comparison is complete)."""
        return (
            self.first_day is not None and self.last_day is not None and self.first_day <= start <= end <= self.last_day
        )


def _year_earlier(d: date) -> date:
    return d.replace(year=d.year - 1) if not (d.month == 2 and d.day == 29) else date(d.year - 1, 2, 28)


@dataclass(frozen=True)
class Filters:
    shop: str | None
    start: date
    end: date

    def params(self) -> dict[str, Any]:
        return {"shop": self.shop, "start": self.start, "end": self.end}

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Filters:
        """The period of the same length just before this one (环比)."""
        return Filters(self.shop, self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def last_year(self) -> Filters:
        """The same calendar days one year earlier (同比; 29 Feb -> 28 Feb)."""
        return Filters(self.shop, _year_earlier(self.start), _year_earlier(self.end))


@dataclass(frozen=True)
class Comparison:
    """A KPI comparison period: its filters, and its KPI row when the published data covers all of it."""

    key: str  # "prev" (环比) or "yoy" (同比)
    filters: Filters
    row: dict[str, Any] | None  # None: the period is not (fully) in the published data


@dataclass(frozen=True)
class PanelQuery:
    key: str
    sql: str


@dataclass
class DashboardData:
    bounds: Bounds
    filters: Filters
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    comparisons: tuple[Comparison, ...] = ()


def _where(date_col: str) -> str:
    return f"{SHOP_FILTER} AND {date_col} BETWEEN $start AND $end"


# The latest day of a snapshot-like mart inside the period (alerts and replenishment are per day).
def _latest(table: str, date_col: str) -> str:
    return f"(SELECT max({date_col}) FROM {table} WHERE {_where(date_col)})"


# Product names beside ids: the product's name and the SKU's spec, from the core dimensions.
_NAMES = (
    "p.product_name, "
    "nullif(trim(concat_ws(' ', k.spec_detail_name1, k.spec_detail_name2, k.spec_detail_name3)), '') AS sku_spec"
)
_NAME_JOINS = """LEFT JOIN sales.dim_products AS p ON p.shop_id = a.shop_id AND p.product_id = a.product_id
        LEFT JOIN sales.dim_skus AS k ON k.shop_id = a.shop_id AND k.sku_id = a.sku_id"""
# Discrepancies are never netted: money settled too much and too little are summed apart.
_SPLIT = (
    "coalesce(sum(difference_fen) FILTER (WHERE difference_fen > 0), 0) AS over_fen, "
    "coalesce(sum(difference_fen) FILTER (WHERE difference_fen < 0), 0) AS under_fen"
)

PANEL_QUERIES: tuple[PanelQuery, ...] = (
    PanelQuery(
        "kpis",
        f"""
        WITH s AS (
            SELECT sum(gmv_yuan) AS gmv_yuan, sum(net_sales_yuan) AS net_sales_yuan, sum(refund_yuan) AS refund_yuan
            FROM sales.sales_daily WHERE {_where("date_day")}),
        o AS (
            SELECT count(*) AS orders, count(DISTINCT buyer_key) AS buyers
            FROM sales.fct_orders WHERE {_where("pay_date")}),
        p AS (
            SELECT sum(contribution_margin_yuan) AS contribution_margin_yuan
            FROM finance.fin_pnl_daily WHERE {_where("date_day")})
        SELECT coalesce(s.gmv_yuan, 0) AS gmv_yuan, coalesce(s.net_sales_yuan, 0) AS net_sales_yuan,
               coalesce(s.refund_yuan, 0) AS refund_yuan, o.orders, o.buyers,
               round(s.gmv_yuan / nullif(o.buyers, 0), 2) AS aov_yuan,
               s.refund_yuan / nullif(s.gmv_yuan, 0) AS refund_rate,
               coalesce(p.contribution_margin_yuan, 0) AS contribution_margin_yuan
        FROM s, o, p""",
    ),
    PanelQuery(
        "daily_channel",
        f"""
        SELECT date_day, channel, sum(gmv_yuan) AS gmv_yuan, sum(net_sales_yuan) AS net_sales_yuan
        FROM sales.sales_daily WHERE {_where("date_day")}
        GROUP BY date_day, channel ORDER BY date_day, channel""",
    ),
    PanelQuery(
        "funnel",
        f"""
        SELECT coalesce(sum(exposures), 0) AS exposures, coalesce(sum(clicks), 0) AS clicks,
               coalesce(sum(add_to_carts), 0) AS add_to_carts, coalesce(sum(orders), 0) AS orders,
               coalesce(sum(pays), 0) AS pays, coalesce(sum(paid_lines), 0) AS paid_lines
        FROM sales.sales_funnel_daily WHERE {_where("stat_date")}""",
    ),
    PanelQuery(
        "creators",
        """
        SELECT c.shop_id, c.author_id, any_value(d.author_name) AS author_name, any_value(c.tier) AS tier,
               sum(c.paid_orders) AS orders, sum(c.gmv_yuan) AS gmv_yuan, sum(c.refund_yuan) AS refund_yuan,
               sum(c.refund_yuan) / nullif(sum(c.gmv_yuan), 0) AS refund_rate,
               sum(c.net_commission_yuan) AS commission_yuan,
               sum(c.net_gmv_yuan) / nullif(sum(c.net_commission_yuan), 0) AS roi
        FROM performance.perf_creators AS c
        LEFT JOIN sales.dim_creators AS d ON d.shop_id = c.shop_id AND d.author_id = c.author_id
        WHERE ($shop IS NULL OR c.shop_id = $shop) AND c.pay_date BETWEEN $start AND $end
        GROUP BY c.shop_id, c.author_id
        ORDER BY gmv_yuan DESC, c.author_id LIMIT 10""",
    ),
    PanelQuery(
        "live",
        f"""
        SELECT shop_id, anchor_id, any_value(anchor_name) AS anchor_name, count(*) AS sessions,
               sum(viewers) AS viewers, sum(watch_pv) AS watch_pv, sum(paid_orders) AS orders,
               sum(gmv_yuan) AS gmv_yuan,
               round(sum(gmv_yuan) * 1000 / nullif(sum(watch_pv), 0), 2) AS gpm_yuan
        FROM performance.perf_live_sessions WHERE {_where("live_date")}
        GROUP BY shop_id, anchor_id ORDER BY gmv_yuan DESC, anchor_id""",
    ),
    PanelQuery(
        "alert_counts",
        f"""
        SELECT alert_type, count(*) AS alerts, max(alert_date) AS alert_date
        FROM inventory.inv_alerts
        WHERE {SHOP_FILTER} AND alert_date = {_latest("inventory.inv_alerts", "alert_date")}
        GROUP BY alert_type ORDER BY alert_type""",
    ),
    PanelQuery(
        "alerts",
        f"""
        SELECT a.*, {_NAMES}
        FROM (SELECT alert_date, alert_type, shop_id, warehouse_id, sku_id, product_id, available_qty,
                     avg_daily_units, days_of_cover, lead_time_days, last_sale_date
              FROM inventory.inv_alerts
              WHERE {SHOP_FILTER} AND alert_date = {_latest("inventory.inv_alerts", "alert_date")}
              ORDER BY CASE alert_type WHEN 'stockout_risk' THEN 0 WHEN 'overstock' THEN 1 ELSE 2 END,
                       days_of_cover NULLS LAST, shop_id, warehouse_id, sku_id
              LIMIT 30) AS a
        {_NAME_JOINS}
        ORDER BY CASE a.alert_type WHEN 'stockout_risk' THEN 0 WHEN 'overstock' THEN 1 ELSE 2 END,
                 a.days_of_cover NULLS LAST, a.shop_id, a.warehouse_id, a.sku_id""",
    ),
    PanelQuery(
        "replenishment",
        f"""
        SELECT a.*, {_NAMES}
        FROM (SELECT as_of_date, shop_id, warehouse_id, sku_id, product_id, available_qty, avg_daily_units,
                     reorder_point_units, lead_time_days, suggested_order_qty,
                     count(*) OVER () AS total_rows
              FROM inventory.inv_replenishment
              WHERE {SHOP_FILTER} AND needs_reorder
                AND as_of_date = {_latest("inventory.inv_replenishment", "as_of_date")}
              ORDER BY suggested_order_qty DESC, shop_id, warehouse_id, sku_id
              LIMIT 30) AS a
        {_NAME_JOINS}
        ORDER BY a.suggested_order_qty DESC, a.shop_id, a.warehouse_id, a.sku_id""",
    ),
    PanelQuery(
        "recon_status",
        f"""
        SELECT status, count(*) AS lines, sum(pay_fen) AS pay_fen, {_SPLIT}, max(as_of_date) AS as_of_date
        FROM finance.fin_order_reconciliation WHERE {_where("pay_date")}
        GROUP BY status
        ORDER BY CASE status WHEN 'settled' THEN 0 WHEN 'pending' THEN 1 WHEN 'refunded' THEN 2 ELSE 3 END""",
    ),
    PanelQuery(
        "recon_reasons",
        f"""
        SELECT reason, count(*) AS lines, {_SPLIT}
        FROM finance.fin_order_reconciliation WHERE {_where("pay_date")} AND status = 'discrepancy'
        GROUP BY reason ORDER BY lines DESC, reason""",
    ),
    PanelQuery(
        "discrepancies",
        f"""
        SELECT a.*, {_NAMES}
        FROM (SELECT sku_order_id, shop_order_id, shop_id, product_id, sku_id, pay_date, reason, pay_fen,
                     expected_net_fen, settled_fen, difference_fen
              FROM finance.fin_order_reconciliation WHERE {_where("pay_date")} AND status = 'discrepancy'
              ORDER BY abs(difference_fen) DESC, sku_order_id
              LIMIT 50) AS a
        {_NAME_JOINS}
        ORDER BY abs(a.difference_fen) DESC, a.sku_order_id""",
    ),
    PanelQuery(
        "pnl",
        f"""
        SELECT date_day, sum(gmv_yuan) AS gmv_yuan, sum(subsidy_yuan) AS subsidy_yuan,
               sum(refund_yuan) AS refund_yuan, sum(net_revenue_yuan) AS net_revenue_yuan,
               sum(platform_fee_yuan) + sum(colonel_fee_yuan) AS fees_yuan,
               sum(commission_yuan) AS commission_yuan, sum(ad_spend_yuan) AS ad_spend_yuan,
               sum(freight_yuan) AS freight_yuan, sum(cogs_yuan) AS cogs_yuan,
               sum(contribution_margin_yuan) AS contribution_margin_yuan
        FROM finance.fin_pnl_daily WHERE {_where("date_day")}
        GROUP BY date_day ORDER BY date_day DESC""",
    ),
)


KPI_SQL = next(q.sql for q in PANEL_QUERIES if q.key == "kpis")


def _fetch(con: duckdb.DuckDBPyConnection, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    cur = con.execute(sql, dict(params) if params else None)
    columns = [d[0] for d in cur.description]
    return [dict(zip(columns, row)) for row in cur.fetchall()]


def read_bounds(con: duckdb.DuckDBPyConnection) -> Bounds:
    shops = tuple(r["shop_id"] for r in _fetch(con, "SELECT DISTINCT shop_id FROM sales.dim_shops ORDER BY shop_id"))
    span = _fetch(con, "SELECT min(date_day) AS first_day, max(date_day) AS last_day FROM sales.sales_daily")[0]
    run_id = published_at = None
    try:
        last = _fetch(
            con, "SELECT run_id, epoch_us(published_at) AS us FROM _meta.publish_log ORDER BY published_at DESC LIMIT 1"
        )
        if last:
            run_id = last[0]["run_id"]
            published_at = datetime.fromtimestamp(last[0]["us"] / 1_000_000, tz=SHANGHAI)
    except duckdb.Error:  # older warehouses have no publish log: the header just omits it
        pass
    return Bounds(shops, span["first_day"], span["last_day"], run_id, published_at)


def _one(query: Mapping[str, list[str]], name: str) -> str | None:
    values = [v.strip() for v in query.get(name, []) if v.strip()]
    return values[-1] if values else None


def _date_param(query: Mapping[str, list[str]], name: str) -> date | None:
    value = _one(query, name)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FilterError(f"parameter {name!r} must be a date as YYYY-MM-DD, got {value!r}") from None


def parse_filters(query: Mapping[str, list[str]], bounds: Bounds, *, today: date | None = None) -> Filters:
    """Filters from a parsed query string (``shop``, ``from``, ``to``); defaults: all shops, the last 30 days of data."""
    shop = _one(query, "shop")
    if shop in ("all", "*"):
        shop = None
    if shop is not None and shop not in bounds.shops:
        known = ", ".join(bounds.shops) or "none"
        raise FilterError(f"unknown shop {shop!r}; published shops: {known} (or 'all')")
    last = bounds.last_day or today or date.today()
    end = _date_param(query, "to") or last
    start = _date_param(query, "from")
    if start is None:
        start = end - timedelta(days=DEFAULT_PERIOD_DAYS - 1)
        if bounds.first_day is not None and bounds.first_day <= end:
            start = max(start, bounds.first_day)
    if start > end:
        raise FilterError(f"'from' ({start}) is after 'to' ({end}); pick a from date on or before the to date")
    return Filters(shop, start, end)


def _compare(con: duckdb.DuckDBPyConnection, key: str, f: Filters, bounds: Bounds, data: DashboardData) -> Comparison:
    """The KPI row of a comparison period, by the same SQL as the period's own; None unless fully published."""
    if not bounds.covers(f.start, f.end):
        return Comparison(key, f, None)
    try:
        return Comparison(key, f, _fetch(con, KPI_SQL, f.params())[0])
    except duckdb.Error as exc:
        log.error("dashboard comparison %s failed: %s", key, exc)
        data.errors["kpis"] = str(exc).splitlines()[0]
        return Comparison(key, f, None)


def load_dashboard(query: Mapping[str, list[str]], warehouse: Path | None = None) -> DashboardData:
    """Open the published warehouse read-only, run every panel query for the filters, close it.

    Raises ``WarehouseMissing`` (nothing published) or ``FilterError`` (bad parameter). A failing
    panel query does not fail the page: its error is kept in ``errors`` and logged.
    """
    con = connect_read_only(warehouse)
    try:
        try:
            bounds = read_bounds(con)
        except duckdb.CatalogException as exc:
            raise WarehouseMissing(
                f"the warehouse at {warehouse or config.warehouse_path()} holds no marts yet ({str(exc).splitlines()[0]}); "
                "run `make demo` or `douyin-etl run --start … --end …` to build and publish them"
            ) from None
        filters = parse_filters(query, bounds)
        data = DashboardData(bounds, filters)
        for panel in PANEL_QUERIES:
            try:
                data.rows[panel.key] = _fetch(con, panel.sql, filters.params())
            except duckdb.Error as exc:
                log.error("dashboard panel %s failed: %s", panel.key, exc)
                data.errors[panel.key] = str(exc).splitlines()[0]
                data.rows[panel.key] = []
        data.comparisons = tuple(
            _compare(con, key, f, bounds, data)
            for key, f in (("prev", filters.previous()), ("yoy", filters.last_year()))
        )
        return data
    finally:
        con.close()
