"""The client and the extractor on the mock's real-gateway behaviours: per-shop grants and token rotation,
create- vs update-time windows, depth-limited windows halved, order.orderDetail, each error named."""

from __future__ import annotations

import json
import logging
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from douyin_etl import config
from douyin_etl.config import DEMO_APP_KEY, DEMO_APP_SECRET, ConfigError, DoudianCredentials, DoudianShopGrant
from douyin_etl.sources.doudian.client import DoudianApiError, DoudianClient
from douyin_etl.sources.doudian.extract import default_client_factory, extract_api_entity
from douyin_etl.storage import Storage
from douyin_etl.timeutil import day_bounds_unix, day_start
from douyin_sim.mock_api import FaultConfig, MockServer
from douyin_sim.mock_api.testing import make_client

D = date(2026, 10, 11)
START, END = day_start(D), day_start(D + timedelta(days=1))


def code_client(mock: MockServer, shop: str, code: str, **kw) -> DoudianClient:
    grant = DoudianShopGrant(shop, "authorization_code", code, "test")
    creds = DoudianCredentials(mock.base_url, DEMO_APP_KEY, DEMO_APP_SECRET)
    return DoudianClient(creds, shop_id=shop, grant=grant, qps=1000, backoff_base=0.01, backoff_max=0.1, **kw)


def world_ids(world: Path, where: str) -> set[str]:
    src = f"read_parquet('{world}/platform/shop_order/*/*.parquet', hive_partitioning=false)"
    return {str(r[0]) for r in duckdb.sql(f"SELECT order_id FROM {src} WHERE {where}").fetchall()}


def test_a_code_is_spent_once_per_process_and_tokens_rotate(api_mock, caplog):
    caplog.set_level(logging.DEBUG)
    code = api_mock.authorize("1000002")
    a = code_client(api_mock, "1000002", code)
    assert {p["shop_id"] for p in a.call("product.listV2", {"page": 1, "size": 5})["data"]} == {"1000002"}
    b = code_client(api_mock, "1000002", code)  # another client of the shop: the cached token, no second exchange
    b.call("sku.list", {"page": 0, "size": 1})
    assert api_mock.stats["requests"]["token.create"] == 1 and b.token_fingerprint == a.token_fingerprint
    api_mock.expire_tokens()
    b.call("sku.list", {"page": 0, "size": 1})  # expired -> token.refresh with the cached refresh token
    assert b.stats["token_refreshes"] == 1 and api_mock.stats["errors"]["isv.access-token-expired"] == 1
    assert a.token_fingerprint == b.token_fingerprint  # the rotated tokens are the shop's, for every client
    api_mock.expire_tokens()
    api_mock.expire_refresh_tokens()  # the merchant's authorisation ran out: the spent code cannot help
    with pytest.raises(DoudianApiError, match="authorise the app again.*doudian_shop_1000002"):
        a.call("sku.list", {"page": 0, "size": 1})
    assert code not in caplog.text


def test_a_refused_or_foreign_code_names_the_shop_and_the_setting(api_mock):
    with pytest.raises(DoudianApiError, match=r"shop 1000001.*doudian_shop_1000001.*code-invalid"):
        code_client(api_mock, "1000001", "not-a-code").call("sku.list", {"page": 0, "size": 1})
    with pytest.raises(DoudianApiError, match="opens shop 1000002"):
        code_client(api_mock, "1000001", api_mock.authorize("1000002")).call("sku.list", {"page": 0, "size": 1})


def test_a_withdrawn_authorisation_is_named(api_mock):
    c = make_client(api_mock, "1000001")
    c.call("sku.list", {"page": 0, "size": 1})
    api_mock.revoke("1000001")
    with pytest.raises(DoudianApiError, match="withdrew the app's authorisation") as exc:
        c.call("sku.list", {"page": 0, "size": 1})
    assert (exc.value.code, exc.value.sub_code) == (30001, "dop.authorization-no-existed")


def test_unknown_method_and_missing_parameter_are_named(api_mock):
    c = make_client(api_mock)
    with pytest.raises(DoudianApiError, match="off-line") as exc:
        c.call("order.noSuchThing", {})
    assert exc.value.code == 70000
    with pytest.raises(DoudianApiError, match="required parameter") as exc:
        c.call("order.orderDetail", {})
    assert exc.value.sub_code == "isv.missing-parameter:20000"


def test_rate_limit_code_is_retried(api_world):
    with MockServer(api_world, faults=FaultConfig.from_spec("rate_limit=0.5,seed=3")) as m:
        c = make_client(m)
        assert len(c.call("sku.list", {"page": 0, "size": 2})["data"]) == 2
        assert c.stats["rate_limited"] == m.stats["errors"]["isp.traffic-limited"] > 0


def test_create_time_window_fetches_the_orders_created_in_it(api_world, api_mock):
    c = make_client(api_mock, "1000001")
    lo, hi = day_bounds_unix(D)
    created = c.fetch("order.searchList", start=START, end=END, on="create_time")
    assert {o["order_id"] for o in created.records} == world_ids(
        api_world, f"shop_id = '1000001' AND create_time >= {lo} AND create_time < {hi}"
    )
    updated = c.fetch("order.searchList", start=START, end=END)
    assert {o["order_id"] for o in updated.records} == world_ids(
        api_world, f"shop_id = '1000001' AND update_time >= {lo} AND update_time < {hi}"
    )
    with pytest.raises(KeyError, match="pay_time"):
        c.fetch("order.searchList", start=START, end=END, on="pay_time")


def test_backfill_older_than_the_look_back_is_refused_with_the_platform_code(api_world):
    with MockServer(api_world, now=START.timestamp() + 200 * 86400) as m:  # the gateway's clock 200 days on
        with pytest.raises(DoudianApiError) as exc:
            make_client(m).fetch("order.searchList", start=START, end=END, on="create_time")
        assert exc.value.sub_code == "isv.parameter-invalid:20022"


def test_order_detail_refetches_one_order(api_mock):
    c = make_client(api_mock, "1000001")
    listed = c.fetch("order.searchList", start=START, end=END).records[0]
    assert c.order_detail(listed["order_id"]) == listed


def test_extractor_halves_windows_deeper_than_the_gateway_pages(api_world, tmp_path):
    """With a depth limit of 100 records the day's windows are halved until each fits; the landed rows are
    exactly those of the unlimited extraction (and of the world)."""
    shops = ["1000001", "1000002"]
    landed = {}
    for name, spec in (("free", ""), ("deep", "max_depth=100")):
        with MockServer(api_world, faults=FaultConfig.from_spec(spec)) as m:
            summary = extract_api_entity(
                "shop_order",
                D,
                "grants-run",
                client_factory=lambda shop: make_client(m, shop, max_depth=100 if spec else None),  # noqa: B023
                storage=Storage(str(tmp_path / name)),
                shops=shops,
            )
        pattern = f"{tmp_path / name}/raw/doudian/shop_order/dt={D.isoformat()}/*.parquet"
        landed[name] = (summary, duckdb.sql(f"SELECT order_id, update_time FROM read_parquet('{pattern}')").fetchall())
    assert sorted(landed["deep"][1]) == sorted(landed["free"][1]) and len(landed["free"][1]) > 200
    assert landed["deep"][0]["pages"] > landed["free"][0]["pages"]


def test_missing_per_shop_grant_is_a_one_line_error(monkeypatch):
    monkeypatch.setenv("DOUYIN_API_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("DOUYIN_APP_KEY", "k")
    monkeypatch.setenv("DOUYIN_APP_SECRET", "s")
    with pytest.raises(ConfigError) as exc:
        default_client_factory("1000001")
    msg = str(exc.value)
    assert "\n" not in msg and "doudian_shop_1000001" in msg and "AIRFLOW_CONN_DOUDIAN_SHOP_1000001" in msg
    conn = {"conn_type": "generic", "password": "the-code", "extra": {"grant_type": "authorization_code"}}
    monkeypatch.setenv("AIRFLOW_CONN_DOUDIAN_SHOP_1000001", json.dumps(conn))
    grant = config.doudian_shop_grant("1000001")
    assert (grant.grant_type, grant.secret) == ("authorization_code", "the-code") and "the-code" not in repr(grant)
    monkeypatch.setenv("AIRFLOW_CONN_DOUDIAN_SHOP_1000001", json.dumps({**conn, "extra": {}}))
    with pytest.raises(ConfigError, match="grant_type"):
        config.doudian_shop_grant("1000001")
    monkeypatch.delenv("AIRFLOW_CONN_DOUDIAN_SHOP_1000001")
    monkeypatch.setenv("DOUYIN_SHOP_GRANT", "authorization_self")
    assert config.doudian_shop_grant("1000002").grant_type == "authorization_self"
