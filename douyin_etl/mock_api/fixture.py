"""A tiny, seeded world in the contract layout (docs/sources.md) for the mock's and the client's tests.

Not the simulator (``douyin_etl.simulator`` is): just enough coherent platform rows to exercise
paging, windows, shops, nested lines, after-sales, alliance, Qianchuan, settlements, fund flows and
tracking routes. ``build_fixture_world(out)`` writes ``out/world.json`` and ``out/platform/...``.
"""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from douyin_etl.sources.doudian.endpoints import LANDED_SCHEMAS
from douyin_etl.timeutil import day_bounds_unix, unix_to_business_date

EXTRA_SCHEMAS = {
    "ad_report": {**LANDED_SCHEMAS["ad_report"], "stat_cost": "DECIMAL(18,2)", "pay_order_amount": "DECIMAL(18,2)",
                  "create_order_amount": "DECIMAL(18,2)"},
    "settlement_bill": {"request_no": "VARCHAR", "shop_id": "VARCHAR", "settle_time": "BIGINT", "shop_order_id": "VARCHAR",
                        "order_id": "VARCHAR", "product_id": "VARCHAR", "trade_type": "INTEGER",
                        "settle_amount": "BIGINT", "real_pay_amount": "BIGINT", "remark": "VARCHAR"},
    "fund_flow": {"account_trade_no": "VARCHAR", "shop_id": "VARCHAR", "bill_time": "BIGINT", "fund_flow": "INTEGER",
                  "account_amount": "BIGINT", "account_bill_desc_tag": "INTEGER", "order_id": "VARCHAR",
                  "shop_order_id": "VARCHAR", "remark": "VARCHAR"},
    "sku_stock": {"sku_id": "VARCHAR", "shop_id": "VARCHAR", "code": "VARCHAR", "stock_num": "BIGINT",
                  "prehold_stock_num": "BIGINT", "stock_num_map": "VARCHAR", "prehold_stock_map": "VARCHAR"},
    "logistics_track": {k: v for k, v in LANDED_SCHEMAS["logistics_track"].items()},
}
CARRIERS = ("shunfeng", "zhongtong", "yuantong", "yunda", "jtexpress", "ems")


def _write(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]], schema: dict[str, str], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    df = pd.DataFrame([{c: (None if r.get(c) is None else str(r.get(c))) for c in schema} for r in rows],
                      columns=list(schema), dtype=object)
    select = ", ".join(f'CAST("{c}" AS {t}) AS "{c}"' for c, t in schema.items())
    con.register("df", df)
    con.execute(f"COPY (SELECT {select} FROM df) TO '{path}' (FORMAT parquet)")
    con.unregister("df")


def _by_day(rows: list[dict[str, Any]], field: str) -> dict[date, list[dict[str, Any]]]:
    out: dict[date, list[dict[str, Any]]] = {}
    for r in rows:
        v = r[field]
        d = date.fromisoformat(v) if isinstance(v, str) else unix_to_business_date(v)
        out.setdefault(d, []).append(r)
    return out


def build_fixture_world(out: Path, *, seed: int = 1, start: date = date(2026, 10, 1), days: int = 3, shops: int = 2,
                        orders_per_day: int = 230) -> dict[str, int]:
    rng = random.Random(seed)
    out = Path(out)
    shop_ids = [str(1000001 + i) for i in range(shops)]
    last_day = start + timedelta(days=days - 1)
    _, now = day_bounds_unix(last_day)
    now -= 1
    products, skus, stock = [], [], []
    for s in shop_ids:
        for p in range(12):
            pid = f"3{s}{p:04d}"
            products.append({"product_id": pid, "shop_id": s, "name": f"商品 {p} <&> \"{s}\"", "status": 0,
                             "check_status": 3, "market_price": 19900, "discount_price": 9900 + p * 100,
                             "first_cid": 20000 + p % 3, "second_cid": 21000 + p, "first_cid_cname": "美妆",
                             "second_cid_cname": "面膜", "create_time": day_bounds_unix(start)[0] - 86400 * 30,
                             "update_time": day_bounds_unix(start)[0] - 86400 * (p % 5), "outer_product_id": f"OP{p}",
                             "cos_ratio": 2000})
            for k in range(2):
                sid = f"{pid}{k}"
                skus.append({"id": sid, "product_id": pid, "shop_id": s, "price": 9900 + p * 100 + k * 500,
                             "stock_num": 100 + p, "prehold_stock_num": k, "prom_stock_num": 0, "code": f"C{sid}",
                             "spec_detail_name1": "颜色", "spec_detail_name2": None, "spec_detail_name3": None,
                             "sku_type": 0})
                stock.append({"sku_id": sid, "shop_id": s, "code": f"C{sid}", "stock_num": 100 + p,
                              "prehold_stock_num": k, "stock_num_map": json.dumps({"WH01": 60 + p, "WH02": 40}),
                              "prehold_stock_map": json.dumps({"WH01": k})})
    orders, lines, after_sales, alliance, settles, flows, tracks, ads = [], [], [], [], [], [], [], []
    seq = 0
    for i in range(days):
        d = start + timedelta(days=i)
        d0, _ = day_bounds_unix(d)
        for s in shop_ids:
            shop_skus = [k for k in skus if k["shop_id"] == s]
            for _ in range(orders_per_day):
                seq += 1
                oid = f"69{seq:017d}"
                create = d0 + rng.randrange(0, 86400 - 7200)
                paid = rng.random() > 0.05
                pay = create + rng.randrange(10, 600) if paid else 0
                ship = pay + rng.randrange(3600, 3 * 86400) if paid and rng.random() > 0.2 else 0
                ship = ship if ship and ship <= now else 0
                update = max(create, pay, ship) + rng.randrange(0, 300)
                if rng.random() < 0.1:
                    update += 86400 * rng.randrange(1, 3)  # late update
                update = min(update, now)
                carrier = rng.choice(CARRIERS)
                track_no = f"SF{seq:010d}" if ship else None
                order_lines = []
                for j in range(rng.randrange(1, 4)):
                    k = rng.choice(shop_skus)
                    n = rng.randrange(1, 3)
                    origin = k["price"] * n
                    promo = rng.choice([0, 0, 500, 1000])
                    alliance_line = rng.random() < 0.2
                    lid = f"{oid}{j}"
                    order_lines.append({
                        "order_id": lid, "parent_order_id": oid, "shop_id": s, "product_id": k["product_id"],
                        "product_name": "商品", "sku_id": k["id"], "out_sku_id": "", "code": k["code"],
                        "spec": json.dumps([{"name": "颜色", "value": "红"}], ensure_ascii=False), "item_num": n,
                        "origin_amount": origin, "sum_amount": origin, "pay_amount": origin - promo, "post_amount": 0,
                        "promotion_amount": promo, "promotion_shop_amount": promo, "promotion_platform_amount": 0,
                        "promotion_talent_amount": 0, "first_cid": 20000, "second_cid": 21000,
                        "order_status": 3 if ship else (2 if paid else 1), "create_time": create, "pay_time": pay,
                        "finish_time": 0, "update_time": update, "ship_time": ship, "exp_ship_time": pay + 172800 if pay else 0,
                        "logistics_receipt_time": 0, "confirm_receipt_time": 0,
                        "author_id": "A1" if alliance_line else "", "author_name": "达人" if alliance_line else "",
                        "room_id_str": "", "video_id": "", "content_id": "", "theme_type": 0,
                        "c_biz": 2 if alliance_line else 8, "ad_env_type": "", "send_pay": rng.choice([0, 1, 2]),
                        "trade_type": 0, "inventory_list": json.dumps([{"warehouse_id": "WH01", "out_warehouse_id": "WH01",
                                                                        "warehouse_type": 0}]),
                        "after_sale_info": json.dumps({"after_sale_status": 0, "after_sale_type": 0, "refund_status": 1}),
                    })
                    if alliance_line and paid:
                        alliance.append({"order_id": lid, "shop_id": s, "product_id": k["product_id"], "author_id": "A1",
                                         "author_account": "达人一号", "short_id": "123", "total_pay_amount": origin - promo,
                                         "commission_rate_bp": 2000, "colonel_service_rate_bp": 0,
                                         "estimated_comission": (origin - promo) // 5, "real_comission": 0,
                                         "order_status": "PAY_SUCC", "alliance_biz_type": 1, "create_time": create,
                                         "update_time": update, "settle_time": 0})
                lines.extend(order_lines)
                pay_amount = sum(l["pay_amount"] for l in order_lines)
                orders.append({
                    "order_id": oid, "shop_id": s, "order_status": order_lines[0]["order_status"], "main_status": 0,
                    "create_time": create, "pay_time": pay, "update_time": update, "finish_time": 0, "ship_time": ship,
                    "exp_ship_time": pay + 172800 if pay else 0, "b_type": 2, "pay_type": 1, "trade_type": 0,
                    "order_amount": sum(l["origin_amount"] for l in order_lines), "pay_amount": pay_amount,
                    "post_amount": 0, "promotion_amount": sum(l["promotion_amount"] for l in order_lines),
                    "promotion_shop_amount": sum(l["promotion_amount"] for l in order_lines),
                    "promotion_platform_amount": 0, "promotion_talent_amount": 0, "modify_amount": 0,
                    "post_insurance_amount": 0, "tax_amount": 0, "doudian_open_id": f"buyer{rng.randrange(500)}",
                    "encrypt_post_tel": "#enc#tel", "encrypt_post_receiver": "#enc#name", "mask_post_receiver": "张*",
                    "mask_post_tel": "138****0000",
                    "post_addr": json.dumps({"province": {"id": "31", "name": "上海"}, "encrypt_detail": "#enc#"},
                                            ensure_ascii=False),
                    "logistics_info": json.dumps([{"tracking_no": track_no, "company": carrier, "ship_time": ship,
                                                   "product_info": [{"sku_order_id": l["order_id"]} for l in order_lines]}]
                                                 if ship else []),
                })
                if paid and rng.random() < 0.08:
                    l0 = order_lines[0]
                    ap = min(now - 60, pay + rng.randrange(3600, 86400))
                    after_sales.append({"aftersale_id": f"7{seq:017d}", "related_id": l0["order_id"], "shop_order_id": oid,
                                        "shop_id": s, "aftersale_type": 2, "aftersale_status": 12, "refund_status": 3,
                                        "refund_type": 1, "apply_time": ap, "create_time": ap, "update_time": ap + 60,
                                        "status_deadline": ap + 86400, "refund_time": ap + 60,
                                        "refund_amount": l0["pay_amount"], "refund_post_amount": 0, "refund_tax_amount": 0,
                                        "return_promotion_amount": 0, "aftersale_num": l0["item_num"],
                                        "return_logistics_code": "", "return_logistics_company_name": "", "got_pkg": 0,
                                        "arbitrate_status": 0,
                                        "reason_second_labels": json.dumps([{"code": 1, "name": "不想要了"}], ensure_ascii=False),
                                        "order_info": json.dumps({"related_order_info": [{"sku_order_id": l0["order_id"]}]})})
                if ship:
                    for n_seq, (st, txt) in enumerate([("1", "已揽收"), ("2", "运输中"), ("3", "派送中")]):
                        tracks.append({"track_no": track_no, "express": carrier, "node_seq": n_seq, "content": txt,
                                       "timestamp": ship + n_seq * 3600, "state": st, "state_description": txt,
                                       "site_name": "上海", "ship_time": ship})
                if paid and rng.random() < 0.3:
                    st_time = min(now, pay + rng.randrange(0, 86400 * 2))
                    settles.append({"request_no": f"R{seq}", "shop_id": s, "settle_time": st_time, "shop_order_id": oid,
                                    "order_id": order_lines[0]["order_id"], "product_id": order_lines[0]["product_id"],
                                    "trade_type": 0, "settle_amount": order_lines[0]["pay_amount"] * 95 // 100,
                                    "real_pay_amount": order_lines[0]["pay_amount"], "remark": ""})
                    flows.append({"account_trade_no": f"F{seq}", "shop_id": s, "bill_time": st_time, "fund_flow": 0,
                                  "account_amount": order_lines[0]["pay_amount"] * 95 // 100, "account_bill_desc_tag": 3,
                                  "order_id": order_lines[0]["order_id"], "shop_order_id": oid, "remark": ""})
            for goal in ("LIVE_PROM_GOODS", "VIDEO_PROM_GOODS"):
                cost = Decimal(rng.randrange(10000, 500000)) / 100
                ads.append({"advertiser_id": f"17{s}", "shop_id": s, "stat_date": d.isoformat(), "marketing_goal": goal,
                            "stat_cost": cost, "show_cnt": rng.randrange(1000, 9000), "click_cnt": rng.randrange(10, 900),
                            "pay_order_count": rng.randrange(0, 50), "pay_order_amount": Decimal("1234.56"),
                            "create_order_amount": Decimal("0.29"), "dy_follow": 3, "total_play": 400,
                            "play_over_rate": 0.25})
    con = duckdb.connect()
    con.execute("SET threads=1")
    plat = out / "platform"
    for name, rows in (("product", products), ("sku", skus), ("sku_stock", stock)):
        _write(con, rows, EXTRA_SCHEMAS.get(name) or LANDED_SCHEMAS[name], plat / name / "data.parquet")
    order_day = {o["order_id"]: unix_to_business_date(o["update_time"]) for o in orders}
    parts: list[tuple[str, dict[date, list[dict[str, Any]]]]] = [
        ("shop_order", _by_day(orders, "update_time")),
        ("sku_order", {}),
        ("after_sale", _by_day(after_sales, "update_time")),
        ("alliance_order", _by_day(alliance, "update_time")),
        ("settlement_bill", _by_day(settles, "settle_time")),
        ("fund_flow", _by_day(flows, "bill_time")),
        ("logistics_track", _by_day(tracks, "ship_time")),
        ("ad_report", _by_day(ads, "stat_date")),
    ]
    for l in lines:
        parts[1][1].setdefault(order_day[l["parent_order_id"]], []).append(l)
    counts = {"product": len(products), "sku": len(skus), "sku_stock": len(stock)}
    for name, by_day in parts:
        schema = EXTRA_SCHEMAS.get(name) or LANDED_SCHEMAS[name]
        counts[name] = sum(len(v) for v in by_day.values())
        for d, rows in sorted(by_day.items()):
            half = len(rows) // 2  # two files per partition, as the simulator may write
            _write(con, rows[:half], schema, plat / name / f"dt={d.isoformat()}" / "a.parquet")
            _write(con, rows[half:], schema, plat / name / f"dt={d.isoformat()}" / "b.parquet")
    con.close()
    (out / "world.json").write_text(json.dumps({"seed": seed, "start": start.isoformat(), "days": days,
                                                "shops": [{"shop_id": s, "shop_name": f"测试店铺{s}"} for s in shop_ids]},
                                               ensure_ascii=False, indent=2), encoding="utf-8")
    return counts


def make_client(mock: Any, shop_id: str | None = "1000001", **kw: Any):
    """A DoudianClient on ``mock`` with the demo credentials, fast backoff (tests and benchmarks)."""
    from douyin_etl.config import DEMO_APP_KEY, DEMO_APP_SECRET, DoudianCredentials
    from douyin_etl.sources.doudian.client import DoudianClient

    kw.setdefault("qps", 1000)
    kw.setdefault("backoff_base", 0.01)
    kw.setdefault("backoff_max", 0.1)
    return DoudianClient(DoudianCredentials(mock.base_url, DEMO_APP_KEY, DEMO_APP_SECRET), shop_id=shop_id, **kw)
