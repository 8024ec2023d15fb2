"""The client against the mock with each fault mode: it retries, backs off, refreshes and de-duplicates."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import duckdb
import pytest

from douyin_etl.config import DEMO_APP_KEY, DoudianCredentials
from douyin_etl.sources.doudian.client import DoudianApiError, DoudianClient
from douyin_etl.timeutil import day_start
from douyin_sim.mock_api import FaultConfig, MockServer
from douyin_sim.mock_api.testing import make_client

D = date(2026, 10, 11)  # an api_world day with rows of every windowed entity for both shops
START, END = day_start(D), day_start(D + timedelta(days=1))


def by_key(records, key="order_id"):
    return {r[key]: r for r in records}


@pytest.fixture(scope="module")
def reference(api_world):
    """Fault-free orders and alliance orders of shop 1000001 on D."""
    with MockServer(api_world) as m:
        c = make_client(m)
        return {
            "orders": c.fetch("order.searchList", start=START, end=END, size=50).records,
            "alliance": c.fetch("alliance.getOrderList", start=START, end=END, size=50).records,
        }


def shop_products(world, shop_id):
    return sorted(
        r[0]
        for r in duckdb.sql(
            f"SELECT product_id FROM read_parquet('{world}/platform/product/*.parquet') WHERE shop_id = '{shop_id}'"
        ).fetchall()
    )


def faulty(api_world, spec):
    return MockServer(api_world, faults=FaultConfig.from_spec(spec))


def test_rate_limit_errors_back_off_and_succeed(api_world, reference):
    with faulty(api_world, "rate_limit=0.4,seed=2") as m:
        c = make_client(m)
        got = c.fetch("order.searchList", start=START, end=END, size=50).records
        assert got == reference["orders"]
        assert m.stats["faults"]["rate_limit"] > 0
        assert (
            c.stats["rate_limited"] == m.stats["faults"]["rate_limit"] and c.stats["retries"] >= c.stats["rate_limited"]
        )


def test_server_errors_are_retried(api_world, reference):
    with faulty(api_world, "server_error=0.4,seed=3") as m:
        c = make_client(m)
        assert c.fetch("alliance.getOrderList", start=START, end=END, size=50).records == reference["alliance"]
        assert m.stats["faults"]["server_error"] > 0 and c.stats["server_errors"] == m.stats["faults"]["server_error"]


def test_retries_run_out_with_a_clear_error(api_world):
    with faulty(api_world, "server_error=1") as m:
        c = make_client(m, max_retries=2)
        with pytest.raises(DoudianApiError, match="gave up after 2 retries"):
            c.call("sku.list", {"page": 0, "size": 10})


def test_slow_responses_within_timeout_succeed(api_world):
    with faulty(api_world, "slow=1,slow_ms=150,seed=4") as m:
        c = make_client(m, timeout=3)
        t = time.perf_counter()
        data = c.call("sku.list", {"page": 0, "size": 10})
        assert len(data["data"]) == 10 and time.perf_counter() - t >= 0.15
        assert c.stats.get("timeouts", 0) == 0 and m.stats["faults"]["slow"] >= 1


def test_slow_responses_beyond_timeout_are_retried(api_world):
    with faulty(api_world, "slow=0.5,slow_ms=700,seed=5") as m:
        c = make_client(m, timeout=0.25)
        got = c.fetch("product.listV2", size=6).records  # 6 pages of shop 1000001
        assert sorted(p["product_id"] for p in got) == shop_products(api_world, "1000001")
        assert c.stats["timeouts"] >= 1 and c.stats["timeouts"] == m.stats["faults"]["slow"]


def test_duplicates_and_mutations_deduplicate_to_the_fault_free_result(api_world, reference):
    with faulty(api_world, "duplicates=0.6,mutate=0.6,seed=6") as m:
        c = make_client(m)
        fetched = c.fetch("order.searchList", start=START, end=END, size=50)
        assert m.stats["faults"]["duplicates"] > 0 and m.stats["faults"]["mutations"] > 0
        assert (
            fetched.fetched
            == len(reference["orders"]) + m.stats["faults"]["duplicates"] + m.stats["faults"]["mutations"]
        )
        assert by_key(fetched.records) == by_key(reference["orders"])  # stale versions lost to the latest
        cursor = c.fetch("alliance.getOrderList", start=START, end=END, size=50)
        assert by_key(cursor.records) == by_key(reference["alliance"])


def test_faults_are_deterministic_given_the_seed(api_world):
    counts = []
    for _ in range(2):
        with faulty(api_world, "duplicates=0.5,mutate=0.5,rate_limit=0.3,seed=9") as m:
            make_client(m).fetch("order.searchList", start=START, end=END, size=30)
            counts.append(m.stats["faults"])
    assert counts[0] == counts[1] and counts[0]


def test_expired_token_is_refreshed_once_and_the_call_succeeds(api_mock):
    c = make_client(api_mock)
    c.call("sku.list", {"page": 0, "size": 1})
    before = c.token_fingerprint
    api_mock.expire_tokens()
    assert len(c.call("sku.list", {"page": 0, "size": 3})["data"]) == 3
    assert c.stats["token_errors"] == 1 and c.stats["token_refreshes"] == 1 and c.token_fingerprint != before
    assert api_mock.stats["errors"]["isv.access-token-expired"] == 1


def test_short_lived_tokens_are_refreshed_proactively(api_world):
    with faulty(api_world, "token_ttl=2") as m:
        c = make_client(m)
        c.call("sku.list", {"page": 0, "size": 1})
        time.sleep(1.1)  # < half the lifetime left -> refresh before the call, no error round trip
        c.call("sku.list", {"page": 0, "size": 1})
        assert c.stats["token_refreshes"] == 1 and c.stats.get("token_errors", 0) == 0


def test_non_retryable_errors_name_the_cause(api_mock):
    c = make_client(api_mock)
    with pytest.raises(DoudianApiError, match="isv.parameter-invalid") as exc:
        c.call(
            "order.searchList", {"page": 0, "size": 500, "update_time_start": 1790784000, "update_time_end": 1790784100}
        )
    assert exc.value.sub_code == "isv.parameter-invalid:20008" and c.stats.get("retries", 0) == 0  # size > 100
    bad = DoudianClient(DoudianCredentials(api_mock.base_url, DEMO_APP_KEY, "wrong_secret_123"), qps=1000)
    with pytest.raises(DoudianApiError, match="DOUYIN_APP_SECRET"):
        bad.call("sku.list", {"page": 0, "size": 1})


def test_mock_qps_limit_is_answered_with_rate_limit_errors_and_the_client_recovers(api_world):
    with faulty(api_world, "qps=20") as m:
        c = make_client(m, qps=1000, backoff_base=0.05, backoff_max=1.0)  # limiter far above the gateway limit
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(lambda i: c.call("sku.list", {"page": i % 3, "size": 5}), range(40)))
        assert all(len(r["data"]) == 5 for r in results)
        assert m.stats["faults"]["qps_limited"] > 0 and c.stats["rate_limited"] == m.stats["faults"]["qps_limited"]


def test_client_limiter_holds_the_rate(api_mock):
    c = make_client(api_mock, qps=25)
    c.call("sku.list", {"page": 0, "size": 1})  # token first
    n, lock, stamps = 40, threading.Lock(), []

    def one(i):
        c.call("sku.list", {"page": 0, "size": 1})
        with lock:
            stamps.append(time.perf_counter())

    t0 = time.perf_counter()
    with ThreadPoolExecutor(6) as pool:
        list(pool.map(one, range(n)))
    elapsed = time.perf_counter() - t0
    rate = n / elapsed
    assert elapsed >= (n - 2) / 25  # cannot go faster than the bucket allows
    assert rate <= 25 * 1.1
