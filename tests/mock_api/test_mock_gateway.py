"""The mock speaks the real gateway: per-shop grants (authorization_code, refresh_token) with expiry,
create- and update-time windows with the platform's limits, order.orderDetail, and the platform's error
code for every misuse — over raw HTTP on loopback."""

from __future__ import annotations

import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import httpx
import pytest

from douyin_etl.config import DEMO_APP_KEY, DEMO_APP_SECRET
from douyin_etl.sources.doudian.signing import canonical_json, sign
from douyin_etl.timeutil import day_bounds_unix
from douyin_sim.mock_api import FaultConfig, MockServer

HTTP = httpx.Client(timeout=10)
D = date(2026, 10, 11)  # an api_world day with orders and after-sales for both shops
DAY = (day_bounds_unix(D)[0], day_bounds_unix(D)[1] - 1)


def call(base: str, method: str, params: dict, token: str | None = None, **query) -> dict:
    pj = canonical_json(params)
    ts = str(int(time.time()))
    q = {
        "app_key": DEMO_APP_KEY,
        "method": method,
        "timestamp": ts,
        "v": "2",
        "sign_method": "hmac-sha256",
        "sign": sign(DEMO_APP_KEY, DEMO_APP_SECRET, method, pj, ts),
        **({"access_token": token} if token else {}),
        **query,
    }
    r = HTTP.post(f"{base}/{method.replace('.', '/')}", params=q, content=pj.encode())
    assert r.status_code == 200, r.text
    return r.json()


def err(env: dict) -> tuple[int, str]:
    assert env["data"] == {} and env["log_id"] and env["msg"] and env["sub_msg"]  # the real envelope
    return env["code"], env["sub_code"]


def code_token(mock: MockServer, shop: str) -> dict:
    env = call(mock.base_url, "token.create", {"grant_type": "authorization_code", "code": mock.authorize(shop)})
    assert env["code"] == 10000, env
    return env["data"]


def world_ids(world: Path, entity: str, key: str, where: str) -> set[str]:
    src = f"read_parquet('{world}/platform/{entity}/*/*.parquet', hive_partitioning=false)"
    return {str(r[0]) for r in duckdb.sql(f"SELECT {key} FROM {src} WHERE {where}").fetchall()}


def all_pages(base: str, method: str, params: dict, token: str, list_field: str) -> list[dict]:
    out, page = [], 0
    while True:
        env = call(base, method, {**params, "page": page, "size": 100}, token)
        assert env["code"] == 10000, env
        items = env["data"][list_field]
        out += items
        if len(out) >= env["data"]["total"] or not items:
            return out
        page += 1


# -- grants ----------------------------------------------------------------------------------------
def test_authorization_code_grant_is_single_use_and_opens_only_its_shop(api_mock):
    tok = code_token(api_mock, "1000002")
    assert tok["shop_id"] == "1000002" and tok["expires_in"] == 7 * 86400 and tok["refresh_token"]
    env = call(api_mock.base_url, "product.listV2", {"page": 1, "size": 5}, tok["access_token"])
    assert env["code"] == 10000 and {p["shop_id"] for p in env["data"]["data"]} == {"1000002"}
    code = api_mock.authorize("1000001")
    assert call(api_mock.base_url, "token.create", {"grant_type": "authorization_code", "code": code})["code"] == 10000
    again = call(api_mock.base_url, "token.create", {"grant_type": "authorization_code", "code": code})
    assert err(again) == (50001, "dop.token-generate-failed:code-invalid")
    assert err(call(api_mock.base_url, "token.create", {"grant_type": "authorization_code"})) == (
        40002,
        "isv.missing-parameter",
    )
    assert err(call(api_mock.base_url, "token.create", {"grant_type": "password"})) == (
        50001,
        "dop.token-generate-failed:grant-type-invalid",
    )


def test_codes_and_tokens_expire_and_refresh_rotates(api_world):
    with MockServer(api_world, faults=FaultConfig.from_spec("code_ttl=1,token_ttl=1,refresh_ttl=2")) as m:
        stale = m.authorize("1000001")
        tok = code_token(m, "1000001")
        time.sleep(1.1)
        expired = call(m.base_url, "token.create", {"grant_type": "authorization_code", "code": stale})
        assert err(expired) == (50001, "dop.token-generate-failed:code-expired")
        env = call(m.base_url, "sku.list", {"page": 0, "size": 1}, tok["access_token"])
        assert err(env) == (40003, "isv.access-token-expired")
        new = call(m.base_url, "token.refresh", {"grant_type": "refresh_token", "refresh_token": tok["refresh_token"]})
        assert new["code"] == 10000 and new["data"]["shop_id"] == "1000001"
        assert new["data"]["refresh_token"] != tok["refresh_token"]
        assert call(m.base_url, "sku.list", {"page": 0, "size": 1}, new["data"]["access_token"])["code"] == 10000
        used = call(m.base_url, "token.refresh", {"grant_type": "refresh_token", "refresh_token": tok["refresh_token"]})
        assert err(used) == (50001, "dop.token-generate-failed:token-invalid")  # the old one is void
        time.sleep(2.1)
        late = call(
            m.base_url, "token.refresh", {"grant_type": "refresh_token", "refresh_token": new["data"]["refresh_token"]}
        )
        assert err(late) == (50001, "dop.token-generate-failed:token-expired")


# -- every misuse: the platform's code -------------------------------------------------------------
def test_each_misuse_gets_the_platforms_error_code(api_world, api_mock):
    base = api_mock.base_url
    tok = code_token(api_mock, "1000001")["access_token"]
    window = {"update_time_start": DAY[0], "update_time_end": DAY[1]}
    orders = {**window, "page": 0, "size": 10}
    # bad sign
    assert err(call(base, "order.searchList", orders, tok, sign="0" * 64)) == (40003, "isv.signature-invalid")
    # token missing / unknown
    assert err(call(base, "order.searchList", orders)) == (40001, "isv.access-token-missing")
    assert err(call(base, "order.searchList", orders, "no-such-token")) == (40003, "isv.access-token-no-existed")
    # window too wide: over the 90-day span, too deep (page x size > 50,000), created before the 90-day look-back
    wide = {"update_time_start": DAY[0] - 90 * 86400, "update_time_end": DAY[1], "page": 0, "size": 10}
    assert err(call(base, "order.searchList", wide, tok)) == (40004, "isv.parameter-invalid")
    deep = {**window, "page": 500, "size": 100}
    assert err(call(base, "order.searchList", deep, tok)) == (40004, "isv.parameter-invalid:20013")
    old = {"create_time_start": DAY[0] - 200 * 86400, "create_time_end": DAY[0] - 150 * 86400, "page": 0, "size": 10}
    assert err(call(base, "order.searchList", old, tok)) == (40004, "isv.parameter-invalid:20022")
    # page size too big
    assert err(call(base, "order.searchList", {**orders, "size": 101}, tok)) == (40004, "isv.parameter-invalid:20008")
    after = {"update_start_time": DAY[0], "update_end_time": DAY[1], "page": 0, "size": 101}
    assert err(call(base, "afterSale.List", after, tok)) == (40004, "isv.parameter-invalid:11000")
    # unknown method
    assert err(call(base, "order.noSuchThing", {}, tok)) == (70000, "isp.api-service-off")
    # missing parameters: no time window, no order id
    assert err(call(base, "order.searchList", {"page": 0, "size": 10}, tok)) == (40004, "isv.parameter-invalid:20011")
    assert err(call(base, "order.orderDetail", {}, tok)) == (40002, "isv.missing-parameter:20000")
    # wrong shop: another shop's order; a shop that withdrew the authorisation
    other = sorted(world_ids(api_world, "shop_order", "order_id", "shop_id = '1000002'"))[0]
    assert err(call(base, "order.orderDetail", {"shop_order_id": other}, tok)) == (50002, "isv.business-failed:20015")
    assert err(call(base, "order.orderDetail", {"shop_order_id": "404"}, tok)) == (40004, "isv.parameter-invalid:20001")
    api_mock.revoke("1000001")
    assert err(call(base, "sku.list", {"page": 0, "size": 1}, tok)) == (30001, "dop.authorization-no-existed")
    self_grant = {"grant_type": "authorization_self", "shop_id": "1000001"}
    assert err(call(base, "token.create", self_grant)) == (50001, "dop.token-generate-failed:no-authorization")
    stats = api_mock.stats["errors"]
    assert stats["isv.parameter-invalid:20013"] == 1 and stats["dop.authorization-no-existed"] == 1


def test_rate_limit_is_the_platforms_60000(api_world):
    with MockServer(api_world, faults=FaultConfig.from_spec("rate_limit=1")) as m:
        env = call(m.base_url, "token.create", {"grant_type": "authorization_self"})
        assert err(env) == (60000, "isp.traffic-limited")


# -- windows ---------------------------------------------------------------------------------------
def test_create_and_update_time_windows_select_what_they_say(api_world, api_mock):
    tok = code_token(api_mock, "1000001")["access_token"]
    base = api_mock.base_url
    created = all_pages(
        base, "order.searchList", {"create_time_start": DAY[0], "create_time_end": DAY[1]}, tok, "shop_order_list"
    )
    want = world_ids(
        api_world, "shop_order", "order_id", f"shop_id = '1000001' AND create_time BETWEEN {DAY[0]} AND {DAY[1]}"
    )
    assert {o["order_id"] for o in created} == want and len(want) > 100
    assert all(o["sku_order_list"] for o in created)
    updated = all_pages(
        base, "order.searchList", {"update_time_start": DAY[0], "update_time_end": DAY[1]}, tok, "shop_order_list"
    )
    assert {o["order_id"] for o in updated} == world_ids(
        api_world, "shop_order", "order_id", f"shop_id = '1000001' AND update_time BETWEEN {DAY[0]} AND {DAY[1]}"
    )
    assert {o["order_id"] for o in created} != {o["order_id"] for o in updated}  # not the same question
    both = all_pages(
        base,
        "order.searchList",
        {
            "create_time_start": DAY[0],
            "create_time_end": DAY[1],
            "update_time_start": DAY[0],
            "update_time_end": DAY[1],
        },
        tok,
        "shop_order_list",
    )
    assert {o["order_id"] for o in both} == {o["order_id"] for o in created} & {o["order_id"] for o in updated}
    # after-sales by apply time: start_time inclusive, end_time exclusive (the platform's rule)
    applied = all_pages(base, "afterSale.List", {"start_time": DAY[0], "end_time": DAY[1] + 1}, tok, "items")
    assert {a["aftersale_info"]["aftersale_id"] for a in applied} == world_ids(
        api_world, "after_sale", "aftersale_id", f"shop_id = '1000001' AND apply_time BETWEEN {DAY[0]} AND {DAY[1]}"
    )
    assert applied


def test_order_detail_is_the_order_as_listed(api_world, api_mock):
    tok = code_token(api_mock, "1000001")["access_token"]
    env = call(
        api_mock.base_url,
        "order.searchList",
        {"update_time_start": DAY[0], "update_time_end": DAY[1], "page": 0, "size": 3},
        tok,
    )
    for listed in env["data"]["shop_order_list"]:
        detail = call(api_mock.base_url, "order.orderDetail", {"shop_order_id": listed["order_id"]}, tok)
        assert detail["code"] == 10000 and detail["data"]["shop_order_detail"] == listed


@pytest.mark.parametrize("day", [D - timedelta(days=1), D])
def test_depth_limit_is_configurable_for_small_worlds(api_world, day):
    lo, hi = day_bounds_unix(day)
    with MockServer(api_world, faults=FaultConfig.from_spec("max_depth=100")) as m:
        tok = code_token(m, "1000001")["access_token"]
        q = {"update_time_start": lo, "update_time_end": hi - 1, "size": 100}
        assert call(m.base_url, "order.searchList", {**q, "page": 0}, tok)["code"] == 10000
        assert err(call(m.base_url, "order.searchList", {**q, "page": 1}, tok)) == (
            40004,
            "isv.parameter-invalid:20013",
        )
