"""Ops marts (inventory, performance, sales funnel) checked against the simulated world.

Uses the session fixture ``dbt_world`` of tests/dbt/conftest.py: the session's published warehouse, one
real run (extraction against the mock API, ``dbt build`` of the whole project) over a 14-day x 2-shop
world. Every expected figure here is computed from the world itself (``platform/`` parquet as the Open
API holds it, ``truth/``, ``world.json``) or from the landed files (3PL, 罗盘), independently of the SQL
under test.
"""

from __future__ import annotations

import csv
import json
import math
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
    "stg_wms__",
    "stg_carrier__",
    "stg_doudian__ad_report",
    "stg_doudian__logistics_track",
    "stg_backoffice__live_session",
    "stg_backoffice__short_video",
    "stg_backoffice__traffic_funnel",
    "int_stock__ledger",
    "int_inventory__",
    "int_fulfilment__",
    "inv_",
    "perf_",
    "sales_funnel_daily",
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
    rows = _world(
        world["world_dir"],
        """
        select order_id, parent_order_id, shop_id, product_id, sku_id, item_num, pay_amount, pay_time,
               c_biz, room_id_str, video_id, send_pay, author_id,
               json_extract_string(inventory_list, '$[0].warehouse_id') as warehouse_id
        from read_parquet('{p}/sku_order/*/*.parquet')
        where pay_time > 0
    """,
    )
    keys = (
        "order_id",
        "parent_order_id",
        "shop_id",
        "product_id",
        "sku_id",
        "item_num",
        "pay_amount",
        "pay_time",
        "c_biz",
        "room_id_str",
        "video_id",
        "send_pay",
        "author_id",
        "warehouse_id",
    )
    return [dict(zip(keys, r)) for r in rows]


def test_ops_nodes_build_and_pass(world: dict[str, Any]) -> None:
    ops = [r for r in world["results"] if any(m in r["unique_id"] for m in OPS_NODE_MARKERS)]
    assert len(ops) > 60, f"expected the ops models, tests and unit tests in the build, found {len(ops)}"
    failed = [f"{r['unique_id']}: {r.get('message')}" for r in ops if r["status"] not in ("success", "pass")]
    assert not failed, "ops nodes failed or were skipped:\n" + "\n".join(failed)
    unit_tests = {r["unique_id"].rsplit(".", 1)[-1] for r in ops if r["unique_id"].startswith("unit_test.")}
    assert {
        "test_int_fulfilment__lines_48h_rule",
        "test_inv_health_days_of_cover",
        "test_inv_replenishment_reorder_point",
    } <= unit_tests


def test_funnel_pays_equal_paid_lines_per_product_channel_day(
    world: dict[str, Any], paid_lines: list[dict[str, Any]]
) -> None:
    expected = Counter(
        (
            l["shop_id"],
            _pay_day(l["pay_time"]),
            l["product_id"],
            _channel(l["c_biz"], l["room_id_str"], l["video_id"], l["send_pay"]),
        )
        for l in paid_lines
    )
    mart = _rows(
        world["db_path"],
        """
        select shop_id, stat_date, product_id, channel, pays, paid_lines, pays_minus_paid_lines, has_funnel_row
        from sales.sales_funnel_daily""",
    )
    got_paid = {(s, d, p, c): n for s, d, p, c, _pays, n, _diff, _has in mart if n}
    got_pays = {(s, d, p, c): pays for s, d, p, c, pays, _n, _diff, _has in mart if pays}
    assert sum(expected.values()) > 1000
    assert got_paid == dict(expected)
    assert got_pays == dict(expected)  # the 罗盘 file agrees with the orders (a world invariant)
    assert all(diff == 0 and has for *_k, diff, has in mart)


def _differing(got: dict, expected: dict) -> dict:
    """{key: (got, expected)} of the keys whose tuples differ (floats to 1e-9 relative, None only equals None)."""

    def same(a: Any, b: Any) -> bool:
        return a is None and b is None or a is not None and b is not None and a == pytest.approx(b, rel=1e-9)

    return {
        k: (got.get(k), v)
        for k, v in expected.items()
        if k not in got or len(got[k]) != len(v) or not all(same(a, b) for a, b in zip(got[k], v))
    }


def _rate(later: int, earlier: int) -> float | None:
    return later / earlier if earlier else None


def test_funnel_counts_and_rates_equal_the_landed_funnel_files(world: dict[str, Any]) -> None:
    """Counts straight from the landed 商品流量 files; every step rate recomputed here as later / earlier."""
    landed = _rows(
        world["db_path"],
        f"""
        select shop_id, stat_date, product_id, channel, exposures, clicks, add_to_carts, orders, pays
        from read_parquet('{world["lake_dir"]}/raw/backoffice/traffic_funnel/dt=*/*.parquet')""",
    )
    expected = {}
    for shop, d, product, channel, e, c, a, o, p in landed:
        expected[(shop, d, product, channel)] = (
            e,
            c,
            a,
            o,
            p,
            _rate(c, e),
            _rate(a, c),
            _rate(o, a),
            _rate(p, o),
            _rate(p, e),
        )
    mart = {
        (s, d, pr, ch): rest
        for s, d, pr, ch, *rest in _rows(
            world["db_path"],
            """
        select shop_id, stat_date, product_id, channel, exposures, clicks, add_to_carts, orders, pays,
               ctr, add_to_cart_rate, order_rate, pay_rate, exposure_to_pay_rate, has_funnel_row
        from sales.sales_funnel_daily""",
        )
    }
    assert len(expected) > 500 and sum(1 for v in expected.values() if v[5] is not None and 0 < v[5] < 1) > 100
    got = {k: tuple(v[:-1]) for k, v in mart.items() if v[-1]}  # the rows of a funnel file
    assert got.keys() == expected.keys()
    assert _differing(got, expected) == {}
    # the rest: paid lines without a funnel row, every count and rate empty
    assert all(tuple(v[:5]) == (0,) * 5 and v[5:10] == [None] * 5 for k, v in mart.items() if not v[-1])


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
                   has_snapshot, closing_diff_qty, count_adjustment_qty
            from intermediate.int_stock__ledger""").fetchall()
        shipped_units = con.execute(f"""
            select sum(quantity) from read_parquet('{world["lake_dir"]}/raw/wms/shipment/dt=*/*.parquet')""").fetchone()[
            0
        ]
        daily = con.execute("select count(*), sum(shipment_qty) from inventory.inv_stock_daily").fetchone()
    finally:
        con.close()
    assert len(landed) > 100
    by_key = {(r[0], r[1], r[2]): r for r in ledger}
    for d, wh, sku, opening, inbound, outbound, ret, closing in landed:
        row = by_key[(d, wh, sku)]
        assert row[3:8] == (opening, inbound, outbound, ret, closing), (d, wh, sku)
        assert row[8] is True and row[9] == 0
    # the ledger's own arithmetic: closing = previous closing + in - out + the 3PL count's 盘盈/盘亏, day after day
    for (d, wh, sku), row in by_key.items():
        prev = by_key.get((d - timedelta(days=1), wh, sku))
        if prev is not None:
            assert row[3] == prev[7]
        assert row[7] == row[3] + row[4] + row[6] - row[5] + row[10]
    # every count difference the world made (truth/stock_count_differences.csv), and no other
    with open(Path(world["world_dir"]) / "truth" / "stock_count_differences.csv", encoding="utf-8") as fh:
        counted = {
            (date.fromisoformat(r["stock_date"]), r["warehouse_id"], r["sku_id"]): int(r["difference_qty"])
            for r in csv.DictReader(fh)
        }
    assert counted, "the world's 3PL found stock count differences (盘盈/盘亏)"
    assert {k: r[10] for k, r in by_key.items() if r[10]} == counted
    assert sum(r[5] for r in ledger) == shipped_units
    assert daily == (len(ledger), shipped_units)
    # the platform's own final stock (sku.stockNum: stock_num_map per warehouse) = the last day's closing
    last_day = max(k[0] for k in by_key)
    platform_stock = {
        (wh, sku): n
        for sku, stock_map in _world(
            world["world_dir"],
            """
                          select sku_id, stock_num_map from read_parquet('{p}/sku_stock/*.parquet')""",
        )
        for wh, n in json.loads(stock_map).items()
    }
    ledger_last = {(wh, sku): row[7] for (d, wh, sku), row in by_key.items() if d == last_day}
    assert len(platform_stock) > 100
    assert ledger_last == platform_stock


def test_48h_misses_equal_the_worlds_sla_miss_anomalies(world: dict[str, Any]) -> None:
    truth = _world(
        world["world_dir"],
        f"""
        select key from read_csv('{world["world_dir"]}/truth/anomalies.csv', all_varchar = true)
        where kind = 'sla_miss'""",
    )
    sla_miss = {k for (k,) in truth}
    assert sla_miss, "the test world should carry sla_miss anomalies"
    late = {
        k
        for (k,) in _rows(
            world["db_path"], "select sku_order_id from intermediate.int_fulfilment__lines where is_shipped_late"
        )
    }
    assert late == sla_miss
    # The world's sla_miss lists shipped lines only; lines still unshipped when their 48 h (a presale
    # line: its promised ship time) ran out by the end of the world's last day are misses too.
    days = sorted(p.name for p in (world["world_dir"] / "drops").iterdir())
    end_unix = int(datetime.fromisoformat(days[-1]).replace(tzinfo=SHANGHAI).timestamp()) + 86400
    overdue = {
        k
        for (k,) in _world(
            world["world_dir"],
            f"""
        select order_id from read_parquet('{{p}}/sku_order/*/*.parquet')
        where pay_time > 0 and ship_time = 0 and order_status <> 4
          and greatest(pay_time + 48 * 3600, exp_ship_time) < {end_unix}""",
        )
    }
    got_overdue = {
        k
        for (k,) in _rows(
            world["db_path"],
            """
        select sku_order_id from intermediate.int_fulfilment__lines where is_overdue_unshipped""",
        )
    }
    assert got_overdue == overdue
    (late_n, overdue_n, missed_n) = _rows(
        world["db_path"],
        """
        select sum(shipped_late_lines), sum(overdue_unshipped_lines), sum(missed_48h_lines)
        from performance.perf_fulfilment""",
    )[0]
    assert (late_n, overdue_n, missed_n) == (len(sla_miss), len(overdue), len(sla_miss) + len(overdue))


def test_perf_ads_spend_equals_the_worlds_ad_report(world: dict[str, Any]) -> None:
    # The world holds Qianchuan money in yuan (as the API speaks); the extractor lands exact fen
    # (sources.doudian.endpoints: stat_cost BIGINT after yuan_to_fen).
    expected = {
        (a, d, g): (Decimal(cost), Decimal(pay))
        for a, d, g, cost, pay in _world(
            world["world_dir"],
            """
                    select advertiser_id, stat_date, marketing_goal, stat_cost, pay_order_amount
                    from read_parquet('{p}/ad_report/*/*.parquet', hive_partitioning = true)
                    -- a report restated the next day (delivered again in that day's partition): the newest wins
                    qualify row_number() over (partition by advertiser_id, stat_date, marketing_goal order by dt desc) = 1""",
        )
    }
    got = {
        (a, d, g): (cost, pay)
        for a, d, g, cost, pay in _rows(
            world["db_path"],
            """
        select advertiser_id, stat_date, marketing_goal, spend_yuan, platform_pay_order_yuan from performance.perf_ads""",
        )
    }
    assert len(expected) > 10
    assert got.keys() == expected.keys()
    wrong = {k: (got[k], v) for k, v in expected.items() if got[k] != v}
    assert not wrong, (
        f"{len(wrong)} ad rows differ (mart, world), e.g. {next(iter(wrong.items()))}; a factor of 100 "
        "means ad_report landed in yuan: the extractor lands fen (sources.doudian.endpoints.QIANCHUAN_MONEY)"
    )
    assert sum(v[0] for v in got.values()) == sum(v[0] for v in expected.values())


# Qianchuan marketing goal -> the sales channel whose GMV the ad row is credited with (docs/sources.md)
GOAL_CHANNEL = {"LIVE_PROM_GOODS": "live", "VIDEO_PROM_GOODS": "video"}


def test_perf_ads_attributed_gmv_is_the_days_channel_lines(
    world: dict[str, Any], paid_lines: list[dict[str, Any]]
) -> None:
    gmv: Counter[tuple[str, date, str]] = Counter()
    for l in paid_lines:
        ch = _channel(l["c_biz"], l["room_id_str"], l["video_id"], l["send_pay"])
        if ch in ("live", "video"):
            gmv[(l["shop_id"], _pay_day(l["pay_time"]), ch)] += l["pay_amount"]
    shops = json.loads((world["world_dir"] / "world.json").read_text(encoding="utf-8"))["shops"]
    shop_of = {s["advertiser_id"]: s["shop_id"] for s in shops}
    expected = {
        (a, d, g): Decimal(gmv[(shop_of[a], d, GOAL_CHANNEL[g])]) / 100
        for a, d, g in _world(
            world["world_dir"],
            """
                    select advertiser_id, stat_date, marketing_goal from read_parquet('{p}/ad_report/*/*.parquet')""",
        )
    }
    got = {
        (a, d, g): yuan
        for a, d, g, yuan in _rows(
            world["db_path"],
            """
        select advertiser_id, stat_date, marketing_goal, attributed_gmv_yuan from performance.perf_ads""",
        )
    }
    assert len(expected) > 10 and sum(1 for v in expected.values() if v > 0) > 10
    assert got == expected  # every ad row of the world, each with its shop's channel GMV of the day


def test_gpm_of_one_live_session_by_hand(world: dict[str, Any], paid_lines: list[dict[str, Any]]) -> None:
    sessions = _rows(
        world["db_path"],
        """
        select room_id, watch_pv, viewers, gmv_yuan, gpm_yuan, buyers, conversion_rate
        from performance.perf_live_sessions where gmv_yuan > 0 order by gmv_yuan desc, room_id limit 1""",
    )
    assert sessions, "the test world should have a live session with sales"
    room, watch_pv, viewers, gmv_yuan, gpm_yuan, buyers, conversion = sessions[0]
    # watch_pv straight from the landed 直播场次 file, GMV straight from the world's lines
    (landed_pv,) = _rows(
        world["db_path"],
        f"""
        select watch_pv from read_parquet('{world["lake_dir"]}/raw/backoffice/live_session/dt=*/*.parquet')
        where room_id = '{room}'""",
    )[0]
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
    rows = _rows(
        world["db_path"],
        """
        select video_id, stat_date, plays, completed_plays, likes, comments, shares, completion_rate,
               engagement_rate, gmv_yuan from performance.perf_videos""",
    )
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
    rows = _rows(
        world["db_path"],
        """
        select shop_id, author_id, sum(gmv_yuan), sum(net_commission_yuan), sum(net_gmv_yuan)
        from performance.perf_creators group by all""",
    )
    assert {(s, a): g for s, a, g, _c, _n in rows} == {k: Decimal(v) / 100 for k, v in gmv.items()}
    assert any(c > 0 for *_x, c, _n in rows), "alliance lines should carry commission"


def _stdev_samp(xs: list[int]) -> float:
    if len(xs) < 2:
        return 0.0
    mean = sum(xs) / len(xs)
    return math.sqrt(sum((x - mean) ** 2 for x in xs) / (len(xs) - 1))


def test_inventory_health_replenishment_and_alerts_from_the_inputs(
    world: dict[str, Any], paid_lines: list[dict[str, Any]]
) -> None:
    """Health, reorder suggestion and every alert recomputed from the landed 3PL files (stock, lead times)
    and the world's paid lines (units sold per warehouse), with the dbt vars' defaults (metrics in the SQL
    headers: demand window 28 days, z 1.65, target cover 30 days, top 20, safety 7, slow 30, overstock 120)."""
    lake = world["lake_dir"]
    stock = _rows(
        world["db_path"],
        f"""
        select stock_date, warehouse_id, sku_id, closing_qty, coalesce(locked_qty, 0)
        from read_parquet('{lake}/raw/wms/stock_snapshot/dt=*/*.parquet')""",
    )
    lead = dict(
        _rows(
            world["db_path"],
            f"""
        select warehouse_id, lead_time_days from read_parquet('{lake}/raw/wms/warehouse/dt=*/*.parquet', hive_partitioning = true)
        qualify row_number() over (partition by warehouse_id order by dt desc) = 1""",
        )
    )
    shop_of_sku = dict(_world(world["world_dir"], "select id, shop_id from read_parquet('{p}/sku/*.parquet')"))
    as_of = max(d for d, *_ in stock)
    sold: Counter[tuple[str, str, date]] = Counter()
    for l in paid_lines:
        sold[(l["warehouse_id"], l["sku_id"], _pay_day(l["pay_time"]))] += l["item_num"]
    grid: dict[tuple[str, str], dict[date, tuple[int, int]]] = {}
    for d, wh, sku, closing, locked in stock:
        if as_of - timedelta(days=28) < d <= as_of:
            grid.setdefault((wh, sku), {})[d] = (closing, closing - locked)
    expected_health, expected_repl, expected_alerts = {}, {}, set()
    units_window = {k: sum(sold[(*k, d)] for d in days) for k, days in grid.items()}
    shop_units: Counter[tuple[str, str]] = Counter()
    for (_wh, sku), n in units_window.items():
        shop_units[(shop_of_sku[sku], sku)] += n
    rank = {
        sku: 1 + sum(1 for (s2, _k), n2 in shop_units.items() if s2 == shop and n2 > n)
        for (shop, sku), n in shop_units.items()
    }
    for (wh, sku), days in grid.items():
        units = [sold[(wh, sku, d)] for d in sorted(days)]
        closing, available = days[max(days)]
        avg, sd = sum(units) / len(units), _stdev_samp(units)
        cover = available / avg if avg else None
        expected_health[(wh, sku)] = (available, avg, cover)
        rop = avg * lead[wh] + 1.65 * sd * math.sqrt(lead[wh])
        qty = math.ceil(round(rop + avg * 30 - available, 6)) if avg > 0 and available <= rop else 0
        expected_repl[(wh, sku)] = (rop, qty)
        last_sale = max((d for d in days if sold[(wh, sku, d)] > 0), default=None)
        if rank[sku] <= 20 and sum(units) > 0 and cover < lead[wh] + 7:
            expected_alerts.add(("stockout_risk", wh, sku))
        if closing > 0 and (last_sale is None or last_sale <= as_of - timedelta(days=30)):
            expected_alerts.add(("slow_mover", wh, sku))
        if cover is not None and cover > 120:
            expected_alerts.add(("overstock", wh, sku))
    db = world["db_path"]
    health = {
        (wh, sku): (a, avg, cover)
        for wh, sku, a, avg, cover in _rows(
            db,
            """
        select warehouse_id, sku_id, available_qty, avg_daily_units, days_of_cover from inventory.inv_health""",
        )
    }
    repl = {
        (wh, sku): (rop, qty)
        for wh, sku, rop, qty in _rows(
            db,
            """
        select warehouse_id, sku_id, reorder_point_units, suggested_order_qty from inventory.inv_replenishment""",
        )
    }
    alerts = set(_rows(db, "select alert_type, warehouse_id, sku_id from inventory.inv_alerts"))
    assert len(expected_health) > 100 and sum(1 for _r, q in expected_repl.values() if q > 0) >= 5
    assert health.keys() == expected_health.keys() and repl.keys() == expected_repl.keys()
    assert _differing(health, expected_health) == {}
    assert _differing(repl, expected_repl) == {}
    assert {k for k, *_ in expected_alerts} == {"stockout_risk", "slow_mover", "overstock"}
    assert alerts == expected_alerts
