"""The alerts a published warehouse raises for a business day: new stock-out risks, new discrepancies.

- **New stock-out risk**: a (shop, warehouse, SKU) that ``inventory.inv_alerts`` flags ``stockout_risk``
  as of day D and that was not flagged at the previous notification (a risk that clears and comes back
  is new again).
- **New reconciliation discrepancy**: a SKU order whose status in ``finance.fin_order_reconciliation``
  is ``discrepancy`` and that no earlier alert has named (for that reason).

Both marts hold only the current state (alerts as of the last day, each line's current status), so what
was alerted is remembered in ``<state>/alerts/notified.json`` (``{"stockout_risk": {key: day},
"discrepancy": {key: day}}``, written whole through a temp file and a rename, after the sending).

One ``Alert`` per shop and kind: counts, amounts (too much and too little settled apart, never netted),
the products concerned by name, and where to look. No order ids or buyer data go into a message.
"""

from __future__ import annotations

import json
import logging
import os
from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from douyin_etl import config
from douyin_etl.alerts.message import Alert, dashboard_link
from douyin_etl.money import fen_to_yuan

log = logging.getLogger(__name__)

TOP = 5  # products named per message
REASONS_ZH = {
    "duplicate_settlement": "重复结算 duplicate settlement",
    "missing_settlement": "缺失结算 missing settlement",
    "refund_not_reversed": "退款未冲回 refund not reversed",
    "fee_mismatch": "费用不符 fee mismatch",
}


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    cur = con.execute(sql, params)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def shop_names(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Shop names where the warehouse has them (``sales.dim_shops.shop_name``), else none."""
    try:
        return {r[0]: r[1] for r in con.execute("SELECT shop_id, shop_name FROM sales.dim_shops").fetchall() if r[1]}
    except duckdb.Error:
        return {}


def _yuan(fen: int) -> str:
    v = fen_to_yuan(int(fen))
    return f"-¥{-v:,.2f}" if v < 0 else f"¥{v:,.2f}"


STOCKOUT_SQL = """
SELECT a.shop_id, a.warehouse_id, a.sku_id, a.product_id, a.available_qty, a.days_of_cover, a.lead_time_days,
       p.product_name
FROM inventory.inv_alerts AS a
LEFT JOIN sales.dim_products AS p ON p.shop_id = a.shop_id AND p.product_id = a.product_id
WHERE a.alert_type = 'stockout_risk' AND a.alert_date = $day
ORDER BY a.shop_id, a.days_of_cover NULLS LAST, a.warehouse_id, a.sku_id
"""


def new_stockout_risks(
    con: duckdb.DuckDBPyConnection, day: date, before: dict[str, str]
) -> tuple[list[Alert], dict[str, str]]:
    """One alert per shop with SKUs at risk of stock-out on ``day`` that were not at the last notification
    (``before``); and the set to remember now (today's risks)."""
    names = shop_names(con)
    by_shop: dict[str, list[dict[str, Any]]] = defaultdict(list)
    now: dict[str, str] = {}
    for r in _rows(con, STOCKOUT_SQL, {"day": day}):
        key = f"{r['shop_id']}|{r['warehouse_id']}|{r['sku_id']}"
        now[key] = before.get(key, day.isoformat())
        if key not in before:
            by_shop[r["shop_id"]].append(r)
    alerts = []
    for shop, rows in sorted(by_shop.items()):
        what = [
            f"{len(rows)} 个 SKU×仓 新进入缺货风险 SKU×warehouse newly at risk of stock-out (可售天数 < 补货周期 + 安全天数)"
        ]
        for r in rows[:TOP]:
            cover = "–" if r["days_of_cover"] is None else f"{r['days_of_cover']:.1f}"
            what.append(
                f"{r['product_name'] or r['product_id']} (SKU {r['sku_id']}, 仓 {r['warehouse_id']}): "
                f"可用 {r['available_qty']} 件, 可售 {cover} 天, 补货周期 {r['lead_time_days']} 天"
            )
        if len(rows) > TOP:
            what.append(f"… 另 {len(rows) - TOP} 个 and {len(rows) - TOP} more")
        alerts.append(
            Alert(
                "stockout_risk",
                day,
                shop,
                tuple(what),
                (
                    dashboard_link("inventory", shop, day),
                    f"douyin-etl query \"SELECT * FROM inventory.inv_replenishment WHERE shop_id = '{shop}' "
                    f"AND as_of_date = DATE '{day}' AND needs_reorder\"",
                ),
                names.get(shop),
            )
        )
    return alerts, now


DISCREPANCY_SQL = """
SELECT r.sku_order_id, r.shop_id, r.product_id, r.reason, r.difference_fen, r.as_of_date, p.product_name
FROM finance.fin_order_reconciliation AS r
LEFT JOIN sales.dim_products AS p ON p.shop_id = r.shop_id AND p.product_id = r.product_id
WHERE r.status = 'discrepancy'
ORDER BY r.shop_id, abs(r.difference_fen) DESC, r.sku_order_id
"""


def notified_path() -> Path:
    return config.state_dir() / "alerts" / "notified.json"


def read_notified(path: Path) -> dict[str, dict[str, str]]:
    """What was alerted: ``{"stockout_risk": {key: day}, "discrepancy": {key: day}}`` (empty when new)."""
    if not path.exists():
        return {"stockout_risk": {}, "discrepancy": {}}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {
            k: {str(a): str(b) for a, b in dict(data.get(k) or {}).items()} for k in ("stockout_risk", "discrepancy")
        }
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        raise RuntimeError(
            f"{path}: unreadable record of sent alerts ({exc}); delete it to alert every open finding again"
        ) from None


def record_notified(record: dict[str, dict[str, str]], notified: Path | None = None) -> None:
    path = notified or notified_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(record, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def _discrepancy_alert(shop: str, day: date, rows: list[dict[str, Any]], name: str | None) -> Alert:
    over = sum(r["difference_fen"] for r in rows if r["difference_fen"] > 0)
    under = sum(r["difference_fen"] for r in rows if r["difference_fen"] < 0)
    what = [
        f"{len(rows)} 个子订单新出现对账差异 SKU orders newly in discrepancy: 多结算 too much {_yuan(over)}, 少结算 too little {_yuan(under)} (不轧差 never netted)"
    ]
    by_reason: dict[str, list[int]] = defaultdict(list)
    for r in rows:
        by_reason[r["reason"] or "unknown"].append(r["difference_fen"])
    for reason, diffs in sorted(by_reason.items(), key=lambda kv: -len(kv[1])):
        plus, minus = sum(d for d in diffs if d > 0), sum(d for d in diffs if d < 0)
        what.append(f"{REASONS_ZH.get(reason, reason)}: {len(diffs)} 单, 多 {_yuan(plus)} / 少 {_yuan(minus)}")
    products: dict[str, int] = defaultdict(int)
    for r in rows:
        products[r["product_name"] or r["product_id"]] += abs(r["difference_fen"])
    top = sorted(products.items(), key=lambda kv: -kv[1])[:TOP]
    what.append("涉及商品 products: " + ", ".join(f"{p} ({_yuan(v)})" for p, v in top))
    return Alert(
        "discrepancy",
        day,
        shop,
        tuple(what),
        (
            dashboard_link("reconciliation", shop),
            f"douyin-etl query \"SELECT * FROM finance.fin_order_reconciliation WHERE shop_id = '{shop}' "
            f"AND status = 'discrepancy' ORDER BY abs(difference_fen) DESC\"",
        ),
        name,
    )


def new_discrepancies(
    con: duckdb.DuckDBPyConnection, day: date, before: dict[str, str]
) -> tuple[list[Alert], dict[str, str]]:
    """Alerts for discrepancy lines not alerted before (``before``), and the record with them added."""
    new: dict[str, list[dict[str, Any]]] = defaultdict(list)
    updated = dict(before)
    for r in _rows(con, DISCREPANCY_SQL, {}):
        key = f"{r['sku_order_id']}|{r['reason']}"
        if key not in before:
            new[r["shop_id"]].append(r)
            updated[key] = day.isoformat()
    names = shop_names(con)
    return [_discrepancy_alert(shop, day, rows, names.get(shop)) for shop, rows in sorted(new.items())], updated


def for_day(
    con: duckdb.DuckDBPyConnection, day: date, notified: Path | None = None
) -> tuple[list[Alert], dict[str, dict[str, str]]]:
    """Every finding of ``day`` (new stock-out risks, then new discrepancies) and the record to write
    once they are sent (``record_notified``)."""
    before = read_notified(notified or notified_path())
    stockouts, risks = new_stockout_risks(con, day, before["stockout_risk"])
    discrepancies, seen = new_discrepancies(con, day, before["discrepancy"])
    return stockouts + discrepancies, {"stockout_risk": risks, "discrepancy": seen}


def kinds(alerts: Iterable[Alert]) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for a in alerts:
        out[a.kind] += 1
    return dict(out)


__all__ = ["for_day", "kinds", "new_discrepancies", "new_stockout_risks", "read_notified", "record_notified"]
