"""extract_api_entity against the mock over a simulated world: every entity lands exactly the world's rows, faults or not."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from douyin_etl.sources.doudian.extract import extract_api_entity
from douyin_etl.storage import Storage
from douyin_sim.mock_api import FaultConfig, MockServer
from douyin_sim.mock_api.testing import make_client

D = date(2026, 10, 11)  # an api_world day with rows of every windowed entity for both shops
SHOPS = ["1000001", "1000002"]
DAYS = [D - timedelta(days=1), D, D + timedelta(days=1)]  # D + 1 is api_world's last day: every later update is in


def landed(lake: Path, entity: str, dt: date = D) -> str:
    return f"read_parquet('{lake}/raw/doudian/{entity}/dt={dt.isoformat()}/*.parquet')"


def world_part(world: Path, entity: str, dt: date = D) -> str:
    return f"read_parquet('{world}/platform/{entity}/dt={dt.isoformat()}/*.parquet', hive_partitioning=false)"


def count(sql: str) -> int:
    return duckdb.sql(sql).fetchall()[0][0]


def run(mock: MockServer, lake: Path, entity: str, dt: date = D, **kw) -> dict:
    return extract_api_entity(
        entity,
        dt,
        "test-run",
        client_factory=lambda shop: make_client(mock, shop),
        storage=Storage(str(lake)),
        shops=SHOPS,
        **kw,
    )


@pytest.fixture(scope="module")
def clean_lake(api_world, tmp_path_factory):
    """Every API entity of D landed from a fault-free mock (shop_order for all days: logistics needs them)."""
    lake = tmp_path_factory.mktemp("lake_clean")
    summaries = {}
    with MockServer(api_world) as m:
        for d in DAYS:
            summaries[("shop_order", d)] = run(m, lake, "shop_order", d)
        for e in ("after_sale", "product", "sku", "alliance_order", "ad_report", "logistics_track", "sku_order"):
            summaries[(e, D)] = run(m, lake, e)
    return lake, summaries


def test_orders_and_lines_land_exactly_the_worlds_partition(api_world, clean_lake):
    lake, s = clean_lake
    assert s[("shop_order", D)]["rows"]["shop_order"] == count(
        f"SELECT count(*) FROM {world_part(api_world, 'shop_order')}"
    )
    for entity in ("shop_order", "sku_order"):
        diff = count(
            f"SELECT count(*) FROM ((SELECT order_id FROM {landed(lake, entity)}) "
            f"EXCEPT (SELECT order_id FROM {world_part(api_world, entity)}))"
        )
        n = count(f"SELECT count(*) FROM {landed(lake, entity)}")
        assert diff == 0 and n == count(f"SELECT count(*) FROM {world_part(api_world, entity)}") > 100
    # sku_order rows carry the parent's shop id and the same money as the world
    bad = count(f"""SELECT count(*) FROM {landed(lake, "sku_order")} l JOIN {landed(lake, "shop_order")} o
                    ON l.parent_order_id = o.order_id WHERE l.shop_id IS DISTINCT FROM o.shop_id""")
    assert bad == 0
    assert (
        duckdb.sql(f"SELECT sum(pay_amount) FROM {landed(lake, 'sku_order')}").fetchall()
        == duckdb.sql(f"SELECT sum(pay_amount) FROM {world_part(api_world, 'sku_order')}").fetchall()
    )
    assert s[("sku_order", D)]["landed_by"] == "shop_order"


def test_landed_types_and_json_text(clean_lake):
    lake, _ = clean_lake
    cols = {r[0]: r[1] for r in duckdb.sql(f"DESCRIBE SELECT * FROM {landed(lake, 'shop_order')}").fetchall()}
    assert cols["order_id"] == "VARCHAR" and cols["update_time"] == "BIGINT" and cols["order_status"] == "INTEGER"
    assert cols["post_addr"] == "VARCHAR" and "_source_ref" in cols
    addr, refs = duckdb.sql(f"SELECT post_addr, _source_ref FROM {landed(lake, 'shop_order')} LIMIT 1").fetchall()[0]
    assert json.loads(addr)["province"]["name"].endswith(("省", "市")) and addr == json.dumps(
        json.loads(addr), sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    assert refs.startswith("order.searchList shop=") and "page=" in refs


def test_after_sales_alliance_snapshots(api_world, clean_lake):
    lake, _ = clean_lake
    assert (
        count(
            f"SELECT count(*) FROM {landed(lake, 'after_sale')} WHERE shop_order_id IS NOT NULL AND shop_id IS NOT NULL"
        )
        == count(f"SELECT count(*) FROM {world_part(api_world, 'after_sale')}")
        > 0
    )
    assert (
        count(f"""SELECT count(*) FROM {landed(lake, "after_sale")} a JOIN {world_part(api_world, "after_sale")} w
                     USING (aftersale_id) WHERE a.shop_order_id = w.shop_order_id AND a.shop_id = w.shop_id""")
        == count(f"SELECT count(*) FROM {world_part(api_world, 'after_sale')}")
    )
    assert count(f"SELECT count(*) FROM {landed(lake, 'alliance_order')}") == count(
        f"SELECT count(*) FROM {world_part(api_world, 'alliance_order')}"
    )
    for entity, key in (("product", "product_id"), ("sku", "id")):  # snapshots: both shops' whole catalogue
        world_keys = keys(f"read_parquet('{api_world}/platform/{entity}/*.parquet')", key)
        assert keys(landed(lake, entity), key) == world_keys and len(world_keys) > 2 * 20


def test_ad_report_yuan_become_exact_fen(api_world, clean_lake):
    lake, _ = clean_lake
    rows = duckdb.sql(f"""SELECT count(*), count(*) FILTER (WHERE l.stat_cost = CAST(w.stat_cost * 100 AS BIGINT)
                              AND l.pay_order_amount = CAST(w.pay_order_amount * 100 AS BIGINT)
                              AND l.create_order_amount = CAST(w.create_order_amount * 100 AS BIGINT)
                              AND l.stat_cost % 100 <> 0)
                          FROM {landed(lake, "ad_report")} l JOIN {world_part(api_world, "ad_report")} w
                          USING (advertiser_id, marketing_goal, stat_date)""").fetchall()[0]
    assert rows == (4, 4)  # 2 shops × 2 goals, every amount exact (and the cost has fen, not whole yuan)


def test_logistics_track_covers_every_waybill_shipped_that_day(api_world, clean_lake):
    lake, s = clean_lake
    assert (
        count(f"SELECT count(*) FROM {landed(lake, 'logistics_track')} WHERE ship_time IS NOT NULL")
        == count(f"SELECT count(*) FROM {world_part(api_world, 'logistics_track')}")
        > 0
    )
    assert s[("logistics_track", D)]["requests"] >= count(
        f"SELECT count(DISTINCT track_no) FROM {world_part(api_world, 'logistics_track')}"
    )


KEYS = {
    "shop_order": "order_id",
    "sku_order": "order_id",
    "after_sale": "aftersale_id",
    "alliance_order": "order_id",
    "logistics_track": "track_no || '#' || node_seq",
    "ad_report": "advertiser_id || marketing_goal || stat_date",
}


def keys(sql_from: str, key: str) -> list[str]:
    return sorted(r[0] for r in duckdb.sql(f"SELECT CAST({key} AS VARCHAR) FROM {sql_from}").fetchall())


@pytest.mark.parametrize("entity", list(KEYS))
def test_partition_keys_equal_the_worlds(api_world, clean_lake, entity):
    lake, _ = clean_lake
    expected = keys(world_part(api_world, entity), KEYS[entity])
    assert keys(landed(lake, entity), KEYS[entity]) == expected and expected


def test_money_is_identical(api_world, clean_lake):
    lake, _ = clean_lake
    for entity, col in (("sku_order", "pay_amount"), ("shop_order", "pay_amount"), ("after_sale", "refund_amount")):
        world_sum = duckdb.sql(f"SELECT sum({col}) FROM {world_part(api_world, entity)}").fetchall()
        assert duckdb.sql(f"SELECT sum({col}) FROM {landed(lake, entity)}").fetchall() == world_sum
        assert world_sum[0][0] > 0


def test_manifest_records_the_requests(clean_lake):
    lake, _ = clean_lake
    manifest = json.loads((lake / f"raw/doudian/shop_order/dt={D}/_manifest.json").read_text())
    assert manifest["rows"] > 0 and {src["shop_id"] for src in manifest["sources"]} == set(SHOPS)
    assert all(src["method"] == "order.searchList" and src["pages"] >= 1 for src in manifest["sources"])


def test_rerun_is_idempotent(api_world, clean_lake, tmp_path):
    lake, _ = clean_lake
    with MockServer(api_world) as m:
        run(m, tmp_path, "alliance_order")
    assert (tmp_path / f"raw/doudian/alliance_order/dt={D}/part-00000.parquet").read_bytes() == (
        lake / f"raw/doudian/alliance_order/dt={D}/part-00000.parquet"
    ).read_bytes()


def test_faults_land_exactly_the_fault_free_result(api_world, clean_lake, tmp_path):
    lake, _ = clean_lake
    spec = "duplicates=0.5,mutate=0.5,rate_limit=0.15,server_error=0.1,seed=11"
    with MockServer(api_world, faults=FaultConfig.from_spec(spec)) as m:
        s = run(m, tmp_path, "shop_order")
        run(m, tmp_path, "alliance_order")
        stats = m.stats["faults"]
    assert stats["duplicates"] > 0 and stats["mutations"] > 0 and s["retries"] > 0 and s["repeats_removed"] > 0
    for entity in ("shop_order", "sku_order", "alliance_order"):
        cols = [
            r[0]
            for r in duckdb.sql(f"DESCRIBE SELECT * FROM {landed(lake, entity)}").fetchall()
            if r[0] != "_source_ref"
        ]
        sel = ", ".join(cols)
        a, b = landed(lake, entity), landed(tmp_path, entity)
        assert count(f"SELECT count(*) FROM ((SELECT {sel} FROM {a}) EXCEPT (SELECT {sel} FROM {b}))") == 0
        assert count(f"SELECT count(*) FROM ((SELECT {sel} FROM {b}) EXCEPT (SELECT {sel} FROM {a}))") == 0
        assert count(f"SELECT count(*) FROM {a}") == count(f"SELECT count(*) FROM {b}")


def test_unknown_entity_is_a_clear_error():
    with pytest.raises(ValueError, match="not an Open API entity"):
        extract_api_entity("settlement_bill", D, "r")
