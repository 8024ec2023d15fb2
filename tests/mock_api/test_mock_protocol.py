"""The mock gateway's protocol: signature, tokens, envelope, limits, shop scoping — over raw HTTP."""

from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path

import duckdb
import httpx
import pytest

from douyin_etl.config import DEMO_APP_KEY, DEMO_APP_SECRET
from douyin_etl.sources.doudian.signing import canonical_json, sign
from douyin_etl.timeutil import day_bounds_unix
from douyin_sim.mock_api import FaultConfig, MockServer

HTTP = httpx.Client(timeout=10)
D = date(2026, 10, 11)  # an api_world day with orders and alliance orders for both shops
DAY = (day_bounds_unix(D)[0], day_bounds_unix(D)[1] - 1)  # 00:00:00 .. 23:59:59 Asia/Shanghai


def raw_call(
    base: str,
    method: str,
    params: dict,
    token: str | None = None,
    *,
    secret: str = DEMO_APP_SECRET,
    body: str | None = None,
    sign_override: str | None = None,
) -> dict:
    pj = canonical_json(params)
    ts = str(int(time.time()))
    q = {
        "app_key": DEMO_APP_KEY,
        "method": method,
        "timestamp": ts,
        "v": "2",
        "sign_method": "hmac-sha256",
        "sign": sign_override or sign(DEMO_APP_KEY, secret, method, pj, ts),
    }
    if token:
        q["access_token"] = token
    r = HTTP.post(f"{base}/{method.replace('.', '/')}", params=q, content=(body if body is not None else pj).encode())
    assert r.status_code == 200, r.text
    return r.json()


def token_for(base: str, shop_id: str | None = None) -> dict:
    params = {"grant_type": "authorization_self", **({"shop_id": shop_id} if shop_id else {})}
    env = raw_call(base, "token.create", params)
    assert env["code"] == 10000, env
    return env["data"]


def test_signed_request_is_accepted_and_envelope_is_the_platforms(api_mock):
    tok = token_for(api_mock.base_url)
    assert tok["shop_id"] == "1000001"  # first shop when shop_id is omitted
    assert tok["expires_in"] == 7 * 86400 and tok["refresh_token"]
    env = raw_call(
        api_mock.base_url,
        "order.searchList",
        {"update_time_start": DAY[0], "update_time_end": DAY[1], "page": 0, "size": 10},
        tok["access_token"],
    )
    assert env["code"] == 10000 and env["msg"] == "success" and env["sub_code"] == "" and env["log_id"]
    data = env["data"]
    assert data["page"] == 0 and data["size"] == 10 and data["total"] > 10 and len(data["shop_order_list"]) == 10
    order = data["shop_order_list"][0]
    assert order["shop_id"] == "1000001"
    assert isinstance(order["post_addr"], dict) and isinstance(order["logistics_info"], list)  # JSON text parsed back
    assert order["sku_order_list"] and all(l["parent_order_id"] == order["order_id"] for l in order["sku_order_list"])
    assert all(DAY[0] <= o["update_time"] <= DAY[1] for o in data["shop_order_list"])


def test_tampered_param_json_and_wrong_sign_are_rejected(api_mock):
    tok = token_for(api_mock.base_url)["access_token"]
    params = {"update_time_start": DAY[0], "update_time_end": DAY[1], "page": 0, "size": 10}
    tampered = canonical_json({**params, "size": 100})
    env = raw_call(api_mock.base_url, "order.searchList", params, tok, body=tampered)
    assert (env["code"], env["sub_code"]) == (40003, "isv.signature-invalid")
    env = raw_call(api_mock.base_url, "order.searchList", params, tok, sign_override="0" * 64)
    assert env["sub_code"] == "isv.signature-invalid"
    env = raw_call(api_mock.base_url, "order.searchList", params, tok, secret="not_the_secret")
    assert env["sub_code"] == "isv.signature-invalid"
    assert api_mock.stats["errors"]["isv.signature-invalid"] == 3


def test_expired_token_is_rejected_and_refresh_works(api_world: Path):
    with MockServer(api_world, faults=FaultConfig.from_spec("token_ttl=1")) as m:
        tok = token_for(m.base_url, "1000002")
        params = {"page": 1, "size": 5}
        assert raw_call(m.base_url, "product.listV2", params, tok["access_token"])["code"] == 10000
        time.sleep(1.1)
        env = raw_call(m.base_url, "product.listV2", params, tok["access_token"])
        assert (env["code"], env["sub_code"]) == (40003, "isv.access-token-expired")
        new = raw_call(
            m.base_url, "token.refresh", {"grant_type": "refresh_token", "refresh_token": tok["refresh_token"]}
        )
        assert new["code"] == 10000 and new["data"]["shop_id"] == "1000002"
        env = raw_call(m.base_url, "product.listV2", params, new["data"]["access_token"])
        assert env["code"] == 10000 and {p["shop_id"] for p in env["data"]["data"]} == {"1000002"}
        # a refresh token is single-use
        again = raw_call(
            m.base_url, "token.refresh", {"grant_type": "refresh_token", "refresh_token": tok["refresh_token"]}
        )
        assert (again["code"], again["sub_code"]) == (50001, "dop.token-generate-failed:token-invalid")


def test_unknown_token_and_unknown_shop(api_mock):
    env = raw_call(api_mock.base_url, "sku.list", {"page": 0, "size": 5}, "nope")
    assert (env["code"], env["sub_code"]) == (40003, "isv.access-token-no-existed")
    env = raw_call(api_mock.base_url, "token.create", {"grant_type": "authorization_self", "shop_id": "999"})
    assert (env["code"], env["sub_code"]) == (50001, "dop.token-generate-failed:no-authorization")
    assert "999" in env["sub_msg"]


@pytest.mark.parametrize(
    "params,needle",
    [
        ({"update_time_start": DAY[0], "update_time_end": DAY[0] + 90 * 86400, "page": 0, "size": 10}, "window"),
        ({"update_time_start": DAY[0], "update_time_end": DAY[1], "page": 0, "size": 101}, "size"),
        ({"update_time_start": DAY[0], "update_time_end": DAY[1], "page": -1, "size": 10}, "page"),
        ({"page": 0, "size": 10}, "create_time_start/create_time_end"),
    ],
)
def test_invalid_params(api_mock, params, needle):
    tok = token_for(api_mock.base_url)["access_token"]
    env = raw_call(api_mock.base_url, "order.searchList", params, tok)
    assert env["code"] == 40004 and env["sub_code"].startswith("isv.parameter-invalid") and needle in env["sub_msg"]


def test_settle_bill_window_limit_is_seven_days(api_mock):
    tok = token_for(api_mock.base_url)["access_token"]
    ok = raw_call(
        api_mock.base_url,
        "order.getSettleBillDetailV3",
        {"start_time": "2026-10-01 00:00:00", "end_time": "2026-10-07 23:59:59", "size": 10, "start_index": "0"},
        tok,
    )
    assert ok["code"] == 10000 and ok["data"]["is_end"] in (0, 1)
    bad = raw_call(
        api_mock.base_url,
        "order.getSettleBillDetailV3",
        {"start_time": "2026-10-01 00:00:00", "end_time": "2026-10-08 00:00:00", "size": 10, "start_index": "0"},
        tok,
    )
    assert bad["sub_code"] == "isv.parameter-invalid"


def test_data_belongs_to_the_tokens_shop(api_mock):
    for shop in ("1000001", "1000002"):
        tok = token_for(api_mock.base_url, shop)["access_token"]
        env = raw_call(
            api_mock.base_url,
            "alliance.getOrderList",
            {"start_time": DAY[0], "end_time": DAY[0] + 43199, "size": 100, "cursor": "0"},
            tok,
        )
        assert env["code"] == 10000 and env["data"]["orders"]
        assert {o["shop_id"] for o in env["data"]["orders"]} == {shop}


def test_qianchuan_envelope_and_token_header(api_world, api_mock):
    advertiser = {s["shop_id"]: s["advertiser_id"] for s in json.loads((api_world / "world.json").read_text())["shops"]}
    rows = duckdb.sql(f"""SELECT count(*) FROM read_parquet('{api_world}/platform/ad_report/*/*.parquet', hive_partitioning=false)
        WHERE advertiser_id = '{advertiser["1000002"]}' AND marketing_goal = 'LIVE_PROM_GOODS'
          AND stat_date BETWEEN '2026-10-01' AND '2026-10-03'""").fetchall()[0][0]
    assert rows == 3  # one row a day
    tok = token_for(api_mock.base_url, "1000002")["access_token"]
    r = HTTP.get(f"{api_mock.base_url}/qianchuan/shop/advertiser/list/", headers={"Access-Token": tok})
    body = r.json()
    assert body["code"] == 0 and [a["advertiser_id"] for a in body["data"]["list"]] == [advertiser["1000002"]]
    r = HTTP.get(
        f"{api_mock.base_url}/qianchuan/report/advertiser/get/",
        headers={"Access-Token": tok},
        params={
            "advertiser_id": advertiser["1000002"],
            "start_date": "2026-10-01",
            "end_date": "2026-10-03",
            "page": 1,
            "page_size": 10,
            "filtering": '{"marketing_goal":"LIVE_PROM_GOODS"}',
        },
    )
    body = r.json()
    assert body["code"] == 0 and body["data"]["page_info"]["total_number"] == rows
    assert r.text.count('"stat_cost":') == rows and isinstance(body["data"]["list"][0]["stat_cost"], float)
    r = HTTP.get(
        f"{api_mock.base_url}/qianchuan/report/advertiser/get/",
        headers={"Access-Token": tok},
        params={
            "advertiser_id": advertiser["1000001"],
            "start_date": "2026-10-01",
            "end_date": "2026-10-01",
            "filtering": '{"marketing_goal":"LIVE_PROM_GOODS"}',
        },
    )
    assert r.json()["code"] == 40002  # another shop's advertiser


def test_fault_spec_parsing():
    f = FaultConfig.from_spec(
        "rate_limit=0.1,server_error=0.05,slow_ms=200,latency_ms=50,qps=20,duplicates=0.1,mutate=0.05,seed=1"
    )
    assert (f.rate_limit, f.server_error, f.slow_ms, f.slow, f.latency_ms, f.qps, f.duplicates, f.mutate, f.seed) == (
        0.1,
        0.05,
        200,
        0.1,
        50,
        20.0,
        0.1,
        0.05,
        1,
    )
    assert FaultConfig.from_spec("") == FaultConfig() and not FaultConfig().any
    with pytest.raises(ValueError, match="keys"):
        FaultConfig.from_spec("ratelimit=0.1")
    with pytest.raises(ValueError, match="probability"):
        FaultConfig.from_spec("duplicates=2")
