"""Without faults, paging returns every record of the window exactly once (compared with DuckDB over the world)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from douyin_etl.timeutil import day_start
from douyin_sim.mock_api.testing import make_client

D = date(2026, 10, 11)  # api_world day on which every windowed endpoint has data for both shops
START, END = day_start(D), day_start(D + timedelta(days=1))


def world_keys(world: Path, entity: str, key: str, where: str, part: str = f"dt={D}/*.parquet") -> list[str]:
    rows = duckdb.sql(
        f"SELECT CAST({key} AS VARCHAR) FROM read_parquet('{world}/platform/{entity}/{part}', "
        f"hive_partitioning=false) WHERE {where}"
    ).fetchall()
    return sorted(r[0] for r in rows)


@pytest.mark.parametrize(
    "method,entity,key,paging",
    [
        ("order.searchList", "shop_order", "order_id", "page"),
        ("afterSale.List", "after_sale", "aftersale_id", "page"),
        ("alliance.getOrderList", "alliance_order", "order_id", "cursor"),
        ("order.getSettleBillDetailV3", "settlement_bill", "request_no", "cursor"),
        ("order.getShopAccountItem", "fund_flow", "account_trade_no", "cursor"),
    ],
)
def test_windowed_paging_is_complete_and_exact(api_world, api_mock, method, entity, key, paging):
    client = make_client(api_mock, "1000002")
    fetched = client.fetch(method, start=START, end=END, size=13)  # odd size: many pages, a partial last one
    got = sorted(str(r["aftersale_info"][key] if "aftersale_info" in r else r[key]) for r in fetched.records)
    expected = world_keys(api_world, entity, key, "shop_id = '1000002'")
    assert len(expected) > 2 * 13  # at least three pages
    assert got == expected
    assert fetched.fetched == len(expected)  # nothing repeated
    assert fetched.pages >= -(-len(expected) // 13)


def test_order_lines_nested_completely(api_world, api_mock):
    client = make_client(api_mock, "1000001")
    fetched = client.fetch("order.searchList", start=START, end=END)
    lines = sorted(l["order_id"] for o in fetched.records for l in o["sku_order_list"])
    assert len(lines) > len(fetched.records) > 100  # orders with several lines among many orders
    assert lines == world_keys(api_world, "sku_order", "order_id", "shop_id = '1000001'")


@pytest.mark.parametrize("method,entity,key", [("product.listV2", "product", "product_id"), ("sku.list", "sku", "id")])
def test_snapshot_paging_is_complete(api_world, api_mock, method, entity, key):
    client = make_client(api_mock, "1000001")
    fetched = client.fetch(method, size=5)
    assert len(fetched.records) > 2 * 5
    assert sorted(str(r[key]) for r in fetched.records) == world_keys(
        api_world, entity, key, "shop_id = '1000001'", part="*.parquet"
    )
    assert fetched.fetched == len(fetched.records) and fetched.pages == -(-len(fetched.records) // 5)


def test_client_splits_long_windows_to_the_endpoint_limit(api_world, api_mock):
    client = make_client(api_mock, "1000001")
    first = D - timedelta(days=2)
    start = day_start(first)
    fetched = client.fetch(
        "alliance.getOrderList", start=start, end=start + timedelta(days=3)
    )  # 12 h limit -> 6 windows
    expected = []
    for d in (first + timedelta(days=i) for i in range(3)):
        expected += world_keys(api_world, "alliance_order", "order_id", "shop_id = '1000001'", part=f"dt={d}/*.parquet")
    assert len(expected) > 100
    assert sorted(r["order_id"] for r in fetched.records) == sorted(expected)
    assert api_mock.stats["requests"]["alliance.getOrderList"] >= 6
