"""``douyin_daily`` through Airflow (``dag.test``) for one business day: extract -> gates -> publish.

Also checks the failure path with bad data: a 3PL shipment of quantity 0 in the day's 发货明细 file makes
the landing gate block; the run fails at once (no retries burned on a data problem), builds and publishes
nothing (the published warehouse stays byte-identical) and still writes the report, which names the check.
"""

from __future__ import annotations

import csv
import json
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.slow

DAY = date(2026, 10, 1)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    from douyin_sim.simulator import generate_world

    out = tmp_path_factory.mktemp("world") / "world"
    generate_world(out=out, seed=9, start=DAY, days=1, shops=2, orders_per_day=25)
    return out


@pytest.fixture(scope="module")
def env(world, airflow_home, tmp_path_factory, pipeline_env):
    base = tmp_path_factory.mktemp("daily")
    mp = pipeline_env(world, base)
    mp.setenv("DOUYIN_LOOKBACK_DAYS", "0")
    mp.setenv("DOUYIN_START_DATE", DAY.isoformat())
    yield base
    mp.undo()


def _daily_run(world: Path):
    from douyin_etl.orchestration import local_airflow
    from douyin_etl.timeutil import day_start
    from douyin_sim.mock_api import MockServer

    dag = local_airflow.load_dags()["douyin_daily"]
    mp = pytest.MonkeyPatch()
    with MockServer(world) as mock:
        for k, v in local_airflow.api_connection_env(
            mock.base_url, "demo_app_key", "demo_app_secret_change_me"
        ).items():
            mp.setenv(k, v)
        try:
            return local_airflow.run_dag(dag, day_start(DAY + timedelta(days=1)))
        finally:
            mp.undo()


def test_daily_dag_publishes_one_business_day(world, env):
    from douyin_etl import config
    from douyin_etl.orchestration import steps
    from douyin_etl.orchestration.schedules import safe_run_id

    run = _daily_run(world)
    states = {(ti.task_id, ti.map_index): str(ti.state) for ti in run.get_task_instances()}
    assert str(run.state).endswith("success"), states
    assert run.data_interval_start.astimezone(config_tz()).date() == DAY
    assert sum(1 for (tid, _), _s in states.items() if tid.endswith("extract_entity")) >= 19
    con = duckdb.connect(str(config.warehouse_path()), read_only=True)
    try:
        got = dict(
            con.execute(
                "SELECT shop_id::VARCHAR, CAST(round(sum(gmv_yuan) * 100) AS BIGINT) "
                "FROM sales.sales_daily WHERE date_day = ? GROUP BY ALL",
                [DAY],
            ).fetchall()
        )
    finally:
        con.close()
    with open(world / "truth" / "daily_sales.csv", encoding="utf-8") as fh:
        truth = {r["shop_id"]: int(r["gmv_fen"]) for r in csv.DictReader(fh) if r["date"] == DAY.isoformat()}
    assert got == truth and sum(truth.values()) > 0
    report = json.loads((steps.run_dir(safe_run_id(run.run_id)) / "report.json").read_text(encoding="utf-8"))
    assert report["status"] == "published"
    assert [s["name"] for s in report["steps"]] == ["extract", "landing_gate", "build_audit", "mart_gate", "publish"]


def test_a_blocking_gate_publishes_nothing_fails_fast_and_reports(world, env):
    from bad_drops import bad_drop, shipment_csv  # tests/e2e/bad_drops.py

    from douyin_etl import config
    from douyin_etl.orchestration import steps
    from douyin_etl.orchestration.schedules import safe_run_id

    published = config.warehouse_path()
    before = published.read_bytes() if published.exists() else None
    bad = shipment_csv(world / "drops" / DAY.isoformat())

    def zero_quantity(rows: list[list[str]]) -> None:  # a shipment of nothing: the gate's quantity >= 1
        rows[1][rows[0].index("数量")] = "0"

    with bad_drop(bad, zero_quantity):
        run = _daily_run(world)
    states = {ti.task_id: ti for ti in run.get_task_instances() if ti.map_index < 0}
    assert str(run.state).endswith("failed")
    assert str(states["landing_gate"].state).endswith("failed")
    assert states["landing_gate"].try_number == 1  # a data problem is not retried
    for tid in ("build_audit", "mart_gate", "publish"):
        assert str(states[tid].state).endswith("upstream_failed"), tid
    # the report is the plan's teardown: it ran and wrote the report; the blocked gate failed the run
    assert str(states["report"].state).endswith("success")
    assert (published.read_bytes() if published.exists() else None) == before
    report = json.loads((steps.run_dir(safe_run_id(run.run_id)) / "report.json").read_text(encoding="utf-8"))
    assert report["status"] == "blocked" and report["gates"]["landing"]["ok"] is False
    failing = [c for c in report["gates"]["landing"]["checks"] if not c["success"] and c["severity"] == "error"]
    assert [(c["entity"], c["column"]) for c in failing if c["suite"] == "landing.shipment"] == [
        ("shipment", "quantity")
    ]
    assert any(bad.name in e["_source_ref"] for c in failing for e in c.get("examples", []) if "_source_ref" in e)
    assert report["rows"]["sku_order"]["landed"] > 0


def config_tz():
    from douyin_etl.timeutil import SHANGHAI

    return SHANGHAI
