"""Ops marts (inventory, performance, sales funnel) checked against the simulated world.

Uses the session fixture ``dbt_world`` of tests/dbt/conftest.py: one ``dbt build`` of the whole
project over a 10-day x 2-shop world. Every expected figure here is computed from the world itself
(``platform/`` parquet as the Open API holds it, ``truth/``, and the landed 3PL files), independently
of the SQL under test.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

pytestmark = pytest.mark.slow

SHANGHAI = timezone(timedelta(hours=8))

# Nodes this area owns: a failure in any of them fails test_ops_nodes_build_and_pass.
OPS_NODE_MARKERS = (
    "stg_wms__", "stg_carrier__", "stg_doudian__ad_report", "stg_doudian__logistics_track",
    "stg_backoffice__live_session", "stg_backoffice__short_video", "stg_backoffice__traffic_funnel",
    "int_stock__ledger", "int_inventory__", "int_fulfilment__", "inv_", "perf_", "sales_funnel_daily",
)


def _rows(db_path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _world(world_dir: Path, sql: str) -> list[tuple]:
    """Query the world's platform parquet: `{p}/<entity>` in ``sql`` becomes a read_parquet glob."""
    con = duckdb.connect()
    try:
        return con.execute(sql.format(p=f"{world_dir}/platform")).fetchall()
    finally:
        con.close()


def _pay_day(unix_seconds: int) -> date:
    return datetime.fromtimestamp(unix_seconds, SHANGHAI).date()


def _channel(c_biz: int, room: str, video: str, send_pay: int) -> str:
    """docs/sources.md precedence, written again here so the test does not trust the SQL."""
    if c_biz == 2:
        return "alliance"
    if room:
        return "live"
    if video:
        return "video"
    return "search" if send_pay == 1 else "card"


@pytest.fixture(scope="module")
def world(dbt_world: dict[str, Any]) -> dict[str, Any]:
    return dbt_world


@pytest.fixture(scope="module")
def paid_lines(world: dict[str, Any]) -> list[dict[str, Any]]:
    """Paid SKU order lines of the world (final state), one dict per line."""
    rows = _world(world["world_dir"], """
        select order_id, parent_order_id, shop_id, product_id, sku_id, item_num, pay_amount, pay_time,
               c_biz, room_id_str, video_id, send_pay, author_id
        from read_parquet('{p}/sku_order/*/*.parquet')
        where pay_time > 0
    """)
    keys = ("order_id", "parent_order_id", "shop_id", "product_id", "sku_id", "item_num", "pay_amount",
            "pay_time", "c_biz", "room_id_str", "video_id", "send_pay", "author_id")
    return [dict(zip(keys, r)) for r in rows]


def test_ops_nodes_build_and_pass(world: dict[str, Any]) -> None:
    run = world["run"]
    ops = [r for r in run.results if any(m in r["unique_id"] for m in OPS_NODE_MARKERS)]
    assert len(ops) > 60, f"expected the ops models, tests and unit tests in the build, found {len(ops)}"
    failed = [f"{r['unique_id']}: {r.get('message')}" for r in ops if r["status"] not in ("success", "pass")]
    assert not failed, "ops nodes failed or were skipped:\n" + "\n".join(failed)
    unit_tests = {r["unique_id"].rsplit(".", 1)[-1] for r in ops if r["unique_id"].startswith("unit_test.")}
    assert {"test_int_fulfilment__lines_48h_rule", "test_inv_health_days_of_cover",
            "test_inv_replenishment_reorder_point"} <= unit_tests


def test_funnel_pays_equal_paid_lines_per_product_channel_day(world: dict[str, Any],
                                                              paid_lines: list[dict[str, Any]]) -> None:
    expected = Counter(
        (l["shop_id"], _pay_day(l["pay_time"]), l["product_id"],
         _channel(l["c_biz"], l["room_id_str"], l["video_id"], l["send_pay"]))
        for l in paid_lines)
    mart = _rows(world["db_path"], """
        select shop_id, stat_date, product_id, channel, pays, paid_lines, pays_minus_paid_lines, has_funnel_row
        from sales.sales_funnel_daily""")
    got_paid = {(s, d, p, c): n for s, d, p, c, _pays, n, _diff, _has in mart if n}
    got_pays = {(s, d, p, c): pays for s, d, p, c, pays, _n, _diff, _has in mart if pays}
    assert sum(expected.values()) > 1000
    assert got_paid == dict(expected)
    assert got_pays == dict(expected)  # the 罗盘 file agrees with the orders (a world invariant)
    assert all(diff == 0 and has for *_k, diff, has in mart)


def test_funnel_rates_are_later_over_earlier(world: dict[str, Any]) -> None:
    rows = _rows(world["db_path"], """
        select exposures, clicks, add_to_carts, orders, pays, ctr, add_to_cart_rate, order_rate, pay_rate
        from sales.sales_funnel_daily where exposures > 0 and clicks > 0 and add_to_carts > 0 and orders > 0""")
    assert rows
    for e, c, a, o, p, ctr, atc, orr, pr in rows:
        assert ctr == pytest.approx(c / e) and atc == pytest.approx(a / c)
        assert orr == pytest.approx(o / a) and pr == pytest.approx(p / o)


def test_stock_ledger_balances_and_matches_3pl_snapshots(world: dict[str, Any]) -> None:
    db = world["db_path"]
    snapshot_glob = f"{world['lake_dir']}/raw/wms/stock_snapshot/dt=*/*.parquet"
    con = duckdb.connect(str(db), read_only=True)
    try:
        landed = con.execute(f"""
            select stock_date, warehouse_id, sku_id, opening_qty, inbound_qty, outbound_qty, return_qty, closing_qty
            from read_parquet('{snapshot_glob}')""").fetchall()
        ledger = con.execute("""
            select ledger_date, warehouse_id, sku_id, opening_qty, receipt_qty, shipment_qty, return_qty, closing_qty,
                   has_snapshot, closing_diff_qty
            from intermediate.int_stock__ledger""").fetchall()
        shipped_units = con.execute(f"""
            select sum(quantity) from read_parquet('{world['lake_dir']}/raw/wms/shipment/dt=*/*.parquet')""").fetchone()[0]
        daily = con.execute("select count(*), sum(shipment_qty) from inventory.inv_stock_daily").fetchone()
    finally:
        con.close()
    assert len(landed) > 100
    by_key = {(r[0], r[1], r[2]): r for r in ledger}
    for d, wh, sku, opening, inbound, outbound, ret, closing in landed:
        row = by_key[(d, wh, sku)]
        assert row[3:8] == (opening, inbound, outbound, ret, closing), (d, wh, sku)
        assert row[8] is True and row[9] == 0
    # the ledger's own arithmetic: closing = previous closing + in - out, day after day
    for (d, wh, sku), row in by_key.items():
        prev = by_key.get((d - timedelta(days=1), wh, sku))
        if prev is not None:
            assert row[3] == prev[7]
        assert row[7] == row[3] + row[4] + row[6] - row[5]
    assert sum(r[5] for r in ledger) == shipped_units
    assert daily == (len(ledger), shipped_units)
    # the platform's own final stock (sku.stockNum: stock_num_map per warehouse) = the last day's closing
    last_day = max(k[0] for k in by_key)
    platform_stock = {(wh, sku): n
                      for sku, stock_map in _world(world["world_dir"], """
                          select sku_id, stock_num_map from read_parquet('{p}/sku_stock/*.parquet')""")
                      for wh, n in json.loads(stock_map).items()}
    ledger_last = {(wh, sku): row[7] for (d, wh, sku), row in by_key.items() if d == last_day}
    assert len(platform_stock) > 100
    assert ledger_last == platform_stock


def test_48h_misses_equal_the_worlds_sla_miss_anomalies(world: dict[str, Any]) -> None:
    truth = _world(world["world_dir"], f"""
        select key from read_csv('{world['world_dir']}/truth/anomalies.csv', all_varchar = true)
        where kind = 'sla_miss'""")
    sla_miss = {k for (k,) in truth}
    assert sla_miss, "the test world should carry sla_miss anomalies"
    late = {k for (k,) in _rows(world["db_path"],
                                "select sku_order_id from intermediate.int_fulfilment__lines where is_shipped_late")}
    assert late == sla_miss
    # The world's sla_miss lists shipped lines only; lines still unshipped when their 48 h ran out
    # (by the end of the world's last day) are misses too: compute them from the world.
    days = sorted(p.name for p in (world["world_dir"] / "drops").iterdir())
    end_unix = int(datetime.fromisoformat(days[-1]).replace(tzinfo=SHANGHAI).timestamp()) + 86400
    overdue = {k for (k,) in _world(world["world_dir"], f"""
        select order_id from read_parquet('{{p}}/sku_order/*/*.parquet')
        where pay_time > 0 and ship_time = 0 and order_status <> 4 and pay_time + 48 * 3600 < {end_unix}""")}
    got_overdue = {k for (k,) in _rows(world["db_path"], """
        select sku_order_id from intermediate.int_fulfilment__lines where is_overdue_unshipped""")}
    assert got_overdue == overdue
    (late_n, overdue_n, missed_n) = _rows(world["db_path"], """
        select sum(shipped_late_lines), sum(overdue_unshipped_lines), sum(missed_48h_lines)
        from performance.perf_fulfilment""")[0]
    assert (late_n, overdue_n, missed_n) == (len(sla_miss), len(overdue), len(sla_miss) + len(overdue))


def test_perf_ads_spend_equals_the_worlds_ad_report(world: dict[str, Any]) -> None:
    # The world holds Qianchuan money in yuan (as the API speaks); the extractor lands exact fen
    # (sources.doudian.endpoints: stat_cost BIGINT after yuan_to_fen).
    expected = {(a, d, g): (Decimal(cost), Decimal(pay))
                for a, d, g, cost, pay in _world(world["world_dir"], """
                    select advertiser_id, stat_date, marketing_goal, stat_cost, pay_order_amount
                    from read_parquet('{p}/ad_report/*/*.parquet')""")}
    got = {(a, d, g): (cost, pay) for a, d, g, cost, pay in _rows(world["db_path"], """
        select advertiser_id, stat_date, marketing_goal, spend_yuan, platform_pay_order_yuan from performance.perf_ads""")}
    assert len(expected) > 10
    assert got.keys() == expected.keys()
    wrong = {k: (got[k], v) for k, v in expected.items() if got[k] != v}
    assert not wrong, (
        f"{len(wrong)} ad rows differ (mart, world), e.g. {next(iter(wrong.items()))}; a factor of 100 "
        "means ad_report landed in yuan: the extractor lands fen (sources.doudian.endpoints.QIANCHUAN_MONEY)")
    assert sum(v[0] for v in got.values()) == sum(v[0] for v in expected.values())


def test_perf_ads_attributed_gmv_is_the_days_channel_lines(world: dict[str, Any],
                                                           paid_lines: list[dict[str, Any]]) -> None:
    gmv: Counter[tuple[str, date, str]] = Counter()
    for l in paid_lines:
        ch = _channel(l["c_biz"], l["room_id_str"], l["video_id"], l["send_pay"])
        if ch in ("live", "video"):
            gmv[(l["shop_id"], _pay_day(l["pay_time"]), ch)] += l["pay_amount"]
    rows = _rows(world["db_path"],
                 "select shop_id, stat_date, attributed_channel, attributed_gmv_yuan from performance.perf_ads")
    assert rows
    for shop, d, ch, yuan in rows:
        assert yuan == Decimal(gmv[(shop, d, ch)]) / 100


def test_gpm_of_one_live_session_by_hand(world: dict[str, Any], paid_lines: list[dict[str, Any]]) -> None:
    sessions = _rows(world["db_path"], """
        select room_id, watch_pv, viewers, gmv_yuan, gpm_yuan, buyers, conversion_rate
        from performance.perf_live_sessions where gmv_yuan > 0 order by gmv_yuan desc, room_id limit 1""")
    assert sessions, "the test world should have a live session with sales"
    room, watch_pv, viewers, gmv_yuan, gpm_yuan, buyers, conversion = sessions[0]
    # watch_pv straight from the landed 直播场次 file, GMV straight from the world's lines
    (landed_pv,) = _rows(world["db_path"], f"""
        select watch_pv from read_parquet('{world['lake_dir']}/raw/backoffice/live_session/dt=*/*.parquet')
        where room_id = '{room}'""")[0]
    gmv_fen = sum(l["pay_amount"] for l in paid_lines if l["room_id_str"] == room)
    assert watch_pv == landed_pv > 0
    assert gmv_yuan == Decimal(gmv_fen) / 100
    gpm_fen = (Decimal(gmv_fen) * 1000 / watch_pv).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    assert gpm_yuan == gpm_fen / 100
    assert conversion == pytest.approx(buyers / viewers)


def test_perf_videos_completion_and_gmv(world: dict[str, Any], paid_lines: list[dict[str, Any]]) -> None:
    gmv: Counter[tuple[str, date]] = Counter()
    for l in paid_lines:
        if l["video_id"]:
            gmv[(l["video_id"], _pay_day(l["pay_time"]))] += l["pay_amount"]
    rows = _rows(world["db_path"], """
        select video_id, stat_date, plays, completed_plays, likes, comments, shares, completion_rate,
               engagement_rate, gmv_yuan from performance.perf_videos""")
    assert rows
    assert sum(r[9] for r in rows) == Decimal(sum(gmv.values())) / 100
    for vid, d, plays, done, likes, comments, shares, completion, engagement, gmv_yuan in rows:
        assert gmv_yuan == Decimal(gmv[(vid, d)]) / 100
        if plays:
            assert completion == pytest.approx(done / plays)
            assert engagement == pytest.approx((likes + comments + shares) / plays)


def test_perf_creators_gmv_per_creator(world: dict[str, Any], paid_lines: list[dict[str, Any]]) -> None:
    gmv: Counter[tuple[str, str]] = Counter()
    for l in paid_lines:
        if l["author_id"]:
            gmv[(l["shop_id"], l["author_id"])] += l["pay_amount"]
    rows = _rows(world["db_path"], """
        select shop_id, author_id, sum(gmv_yuan), sum(net_commission_yuan), sum(net_gmv_yuan)
        from performance.perf_creators group by all""")
    assert {(s, a): g for s, a, g, _c, _n in rows} == {k: Decimal(v) / 100 for k, v in gmv.items()}
    assert any(c > 0 for *_x, c, _n in rows), "alliance lines should carry commission"


def test_inventory_health_and_replenishment_arithmetic(world: dict[str, Any]) -> None:
    db = world["db_path"]
    health = _rows(db, "select available_qty, avg_daily_units, days_of_cover from inventory.inv_health")
    assert health
    for available, avg, cover in health:
        assert cover == (pytest.approx(available / avg) if avg else None)
    repl = _rows(db, """
        select available_qty, lead_time_days, avg_daily_units, stddev_daily_units, service_level_z,
               reorder_point_units, target_cover_days, suggested_order_qty from inventory.inv_replenishment""")
    assert len(repl) == len(health)
    for available, lead, avg, sd, z, rop, cover_days, qty in repl:
        expected_rop = avg * lead + z * sd * lead ** 0.5
        assert rop == pytest.approx(expected_rop)
        if avg > 0 and available <= rop:
            assert qty == pytest.approx(expected_rop + avg * cover_days - available, abs=1)
            assert qty >= expected_rop + avg * cover_days - available - 1e-6
        else:
            assert qty == 0
    kinds = {k for (k,) in _rows(db, "select distinct alert_type from inventory.inv_alerts")}
    assert kinds <= {"stockout_risk", "slow_mover", "overstock"}
