"""``dag.test()`` of the three extract DAGs against the mock Open API over a small generated world.

One world (14 business days, 2 shops, so that settlements exist); its last two days are landed three
times: fault-free (lake A), with faults on the mock (lake B: 5xx, rate limits, repeated and mutated
records across pages), and the last day again into lake A (a rerun). Look-back is 1 day, so each run
re-lands the previous day's event partitions too.
"""

from __future__ import annotations

import json
import os
from datetime import date, timedelta
from pathlib import Path

import pytest
from lakecheck import data_rows, landed_days, part_hashes, sum_of, world_sum

from douyin_etl import entities
from douyin_etl.orchestration import windows

pytestmark = pytest.mark.slow

START = date(2026, 10, 1)
WORLD_DAYS = 14
DAYS = [START + timedelta(days=WORLD_DAYS - 2), START + timedelta(days=WORLD_DAYS - 1)]
FAULTS = "server_error=0.08,rate_limit=0.08,duplicates=0.3,mutate=0.3,seed=5"
API_FAMILIES = ("platform", "logistics")  # finance is files only: the mock's faults do not touch it


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    from douyin_sim.simulator import generate_world

    out = tmp_path_factory.mktemp("world") / "world"
    generate_world(out=out, seed=11, start=START, days=WORLD_DAYS, shops=2, orders_per_day=25)
    return out


@pytest.fixture(scope="module")
def env(world, airflow_home):
    shops = json.loads((world / "world.json").read_text(encoding="utf-8"))["shops"]
    saved = dict(os.environ)
    os.environ.update(
        {
            "DOUYIN_WORLD_DIR": str(world),
            "DOUYIN_DROPS_DIR": str(world / "drops"),
            "DOUYIN_SHOP_IDS": ",".join(str(s["shop_id"]) for s in shops),
            "DOUYIN_LOOKBACK_DAYS": "1",
            "DOUYIN_START_DATE": START.isoformat(),
        }
    )
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="module")
def dags(env):
    from douyin_etl.orchestration import local_airflow

    return local_airflow.load_dags()


def land(dags, world: Path, lake: Path, days: list[date], families, faults: str = "") -> dict:
    """Run ``extract_<family>`` for each business day into ``lake``, through the mock; return mock stats."""
    from douyin_etl.orchestration import local_airflow
    from douyin_etl.timeutil import day_start
    from douyin_sim.mock_api import FaultConfig, MockServer

    os.environ["DOUYIN_LAKE_DIR"] = str(lake)
    os.environ["DOUYIN_STATE_DIR"] = str(lake.parent / f"{lake.name}-state")
    with MockServer(world, faults=FaultConfig.from_spec(faults)) as mock:
        os.environ.update(local_airflow.api_connection_env(mock.base_url, "demo_app_key", "demo_app_secret_change_me"))
        for d in days:
            for family in families:
                run = local_airflow.run_dag(dags[f"extract_{family}"], day_start(d + timedelta(days=1)))
                bad = {
                    f"{ti.task_id}[{ti.map_index}]": str(ti.state)
                    for ti in run.get_task_instances()
                    if not str(ti.state).endswith("success")
                }
                assert str(run.state).endswith("success"), f"extract_{family} {d}: {run.state} {bad}"
        return mock.stats


@pytest.fixture(scope="module")
def lake_a(dags, world, tmp_path_factory) -> Path:
    lake = tmp_path_factory.mktemp("a") / "lake"
    land(dags, world, lake, DAYS, ("platform", "logistics", "finance"))
    return lake


def test_lands_the_expected_partitions(lake_a, world):
    for e in entities.ENTITIES.values():
        expected = {d for day in DAYS for d in windows.days_for(e.name, day, lookback=1)}
        got = landed_days(lake_a, e.name)
        if e.kind == "api":
            assert got == expected, e.name  # every partition of the window, empty ones too
        else:
            dropped = {d for d in DAYS if any((world / "drops" / d.isoformat()).glob("*"))}
            assert got <= expected and got, e.name
            assert dropped <= expected
    # one Asset event per landed entity, with the business day and rows in its extra
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        found = session.execute(
            select(AssetModel.uri, AssetEvent.extra).join(AssetEvent, AssetEvent.asset_id == AssetModel.id)
        ).all()
    by_uri: dict[str, list[dict]] = {}
    for uri, extra in found:
        by_uri.setdefault(uri, []).append(extra)
    assert set(by_uri) >= {e.asset_uri for e in entities.ENTITIES.values()}
    sku = [x for x in by_uri[entities.get("sku_order").asset_uri] if x.get("dt") == DAYS[1].isoformat()]
    assert sku and sku[0]["rows"] > 0 and sku[0]["days"] == [DAYS[0].isoformat(), DAYS[1].isoformat()]
    # the day's orders arrived: shop orders updated on day 2 landed in dt=day 2
    n, _ = sum_of(lake_a, "shop_order", "pay_amount", f"dt = DATE '{DAYS[1]}'")
    assert n > 0


def test_landed_totals_equal_the_world(lake_a, world):
    # The mock serves the world's final state, partitioned like the landing (docs/sources.md), so the
    # landed partitions must hold exactly the world's rows of the same business days.
    checks = [
        ("sku_order", "pay_amount"),
        ("shop_order", "pay_amount"),
        ("after_sale", "refund_amount"),
        ("alliance_order", "total_pay_amount"),
        ("settlement_bill", "settle_amount"),
    ]
    for entity, expr in checks:
        days = sorted(landed_days(lake_a, entity))
        assert days, entity
        in_window = "dt IN (" + ", ".join(f"DATE '{d}'" for d in days) + ")"
        landed = sum_of(lake_a, entity, expr)
        assert landed == world_sum(world, entity, expr, in_window), entity
    assert sum_of(lake_a, "sku_order", "1")[0] > 20
    assert sum_of(lake_a, "settlement_bill", "1")[0] > 0  # the window holds settlements


def test_faults_on_the_api_land_exactly_what_a_clean_run_lands(lake_a, dags, world, tmp_path_factory):
    lake_b = tmp_path_factory.mktemp("b") / "lake"
    stats = land(dags, world, lake_b, DAYS, API_FAMILIES, faults=FAULTS)
    faults = stats.get("faults", {})
    assert sum(faults.values()) > 0, f"the mock injected no faults: {stats}"
    for e in entities.ENTITIES.values():
        if e.family in API_FAMILIES and e.kind == "api":
            assert landed_days(lake_b, e.name) == landed_days(lake_a, e.name), e.name
            assert data_rows(lake_b, e.name) == data_rows(lake_a, e.name), e.name


def test_rerunning_a_day_leaves_identical_partitions(lake_a, dags, world):
    before = part_hashes(lake_a)
    assert len(before) > 20
    land(dags, world, lake_a, DAYS[1:], ("platform", "logistics", "finance"))
    after = part_hashes(lake_a)
    assert after == before
    assert not list(lake_a.rglob(".tmp-*")) and not list(lake_a.rglob(".old-*"))
