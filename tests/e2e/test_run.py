"""``run_range`` end to end over a small generated world served by the mock Open API.

Extract (API + file drops) -> landing gate -> dbt build into the audit copy -> mart gate -> publish ->
report; the published marts must equal the simulator's truth, and a rerun must change nothing.
"""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.slow

START = date(2026, 10, 1)
DAYS = 2


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    from douyin_sim.simulator import generate_world

    out = tmp_path_factory.mktemp("world") / "world"
    generate_world(out=out, seed=5, start=START, days=DAYS, shops=2, orders_per_day=40)
    return out


@pytest.fixture(scope="module")
def env(world, tmp_path_factory, pipeline_env):
    base = tmp_path_factory.mktemp("run")
    mp = pipeline_env(world, base)
    yield base
    mp.undo()


def _run(world: Path):
    from douyin_etl.orchestration.local_airflow import api_connection_env
    from douyin_etl.orchestration.run import run_range
    from douyin_sim.mock_api import MockServer

    mp = pytest.MonkeyPatch()
    with MockServer(world) as mock:
        for k, v in api_connection_env(mock.base_url, "demo_app_key", "demo_app_secret_change_me").items():
            mp.setenv(k, v)
        try:
            return run_range(START, START + timedelta(days=DAYS - 1))
        finally:
            mp.undo()


def _gmv_by_shop_day(warehouse: Path) -> dict[tuple[str, str], int]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute("""
            SELECT shop_id::VARCHAR, date_day::VARCHAR, CAST(round(sum(gmv_yuan) * 100) AS BIGINT)
            FROM sales.sales_daily GROUP BY ALL""").fetchall()
    finally:
        con.close()
    return {(s, d): int(g) for s, d, g in rows if g}


def _truth_gmv(world: Path) -> dict[tuple[str, str], int]:
    with open(world / "truth" / "daily_sales.csv", encoding="utf-8") as fh:
        return {(r["shop_id"], r["date"]): int(r["gmv_fen"]) for r in csv.DictReader(fh) if int(r["gmv_fen"])}


@pytest.fixture(scope="module")
def first_run(world, env):
    return _run(world)


def test_run_range_publishes_marts_equal_to_truth(first_run, world, env):
    from douyin_etl import config

    r = first_run
    assert r.ok, r.summary()
    assert r.published == str(config.warehouse_path())
    assert r.landing_gate.ok and r.mart_gate.ok
    assert sum(r.rows["platform"].values()) > 100 and r.rows["platform"]["sku_order"] > 0
    truth = _truth_gmv(world)
    assert len(truth) == 2 * DAYS
    assert _gmv_by_shop_day(config.warehouse_path()) == truth
    report = json.loads(Path(r.report_path).read_text(encoding="utf-8"))
    assert report["status"] == "published" and report["run_id"] == r.run_id
    assert report["rows"]["sku_order"]["landed"] == r.rows["platform"]["sku_order"]
    assert "report:" in r.summary() and "published:" in r.summary()


def test_rerunning_the_range_changes_nothing(first_run, world, env):
    from douyin_etl import config

    assert first_run.ok, first_run.summary()
    lake = Path(config.lake_root())

    def hashes() -> dict[str, str]:
        return {
            str(p.relative_to(lake)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((lake / "raw").rglob("*.parquet"))
        }

    before, gmv_before = hashes(), _gmv_by_shop_day(config.warehouse_path())
    again = _run(world)
    assert again.ok, again.summary()
    assert again.run_id != first_run.run_id
    assert hashes() == before
    assert _gmv_by_shop_day(config.warehouse_path()) == gmv_before == _truth_gmv(world)


def test_the_buyer_key_secret_is_in_no_file_of_the_run(first_run, env):
    """Issue 12 point 10: buyer_key is an HMAC with a secret key that no state, dbt target/log, lake or
    warehouse file holds (nor its HMAC pads); the published buyer_keys are not md5s of the open ids."""
    import os

    from douyin_etl import buyer_key, config

    assert first_run.ok, first_run.summary()
    secret = os.environ["DOUYIN_BUYER_KEY_SECRET"]
    ipad, opad = buyer_key.hmac_pads(secret)
    needles = [secret.encode(), ipad.hex().encode(), opad.hex().encode(), ipad, opad]
    roots = [config.state_dir(), Path(config.lake_root()), config.warehouse_path().parent]
    files = [p for root in roots for p in root.rglob("*") if p.is_file()]
    assert any(p.name == "manifest.json" for p in files) and any(p.name == "dbt.log" for p in files)
    assert [str(p) for p in files for n in needles if n in p.read_bytes()] == []
    con = duckdb.connect(str(config.warehouse_path()), read_only=True)
    try:
        keys = {k for (k,) in con.execute("SELECT DISTINCT buyer_key FROM sales.fct_orders").fetchall() if k}
    finally:
        con.close()
    open_ids = {
        i
        for (i,) in duckdb.sql(
            f"SELECT DISTINCT doudian_open_id FROM read_parquet("
            f"'{config.lake_root()}/raw/doudian/shop_order/*/*.parquet')"
        ).fetchall()
        if i
    }
    assert len(keys) > 10 and keys <= {buyer_key.buyer_key(secret, i) for i in open_ids}


# The keys of report.json of a published run, as main wrote them before the step results became typed
# (issue 14: no report field may disappear). Extract details are keyed by entity: every entity is there.
REPORT_KEYS = {
    "top": [
        "dbt",
        "errors",
        "finished_at",
        "gates",
        "interval_end",
        "interval_start",
        "published_path",
        "published_version",
        "quarantine",
        "reconciliation",
        "rows",
        "run_id",
        "started_at",
        "status",
        "steps",
        "warnings",
    ],
    "step_keys": ["details", "name", "seconds", "started_at", "status"],
    "step_details": {
        "build_audit": [
            "as_of",
            "audit_path",
            "interval_end",
            "ok",
            "published_horizon",
            "tests_since",
            "window_start",
        ],
        "landing_gate": ["ok"],
        "mart_gate": ["ok"],
        "publish": ["published"],
    },
    "gates": {
        "landing": [
            "blocking",
            "checks",
            "gate",
            "ok",
            "partitions",
            "quarantined",
            "rows_validated",
            "run_id",
            "seconds",
            "since",
            "summary",
            "tables",
            "warnings",
        ],
        "mart": [
            "blocking",
            "checks",
            "gate",
            "ok",
            "partitions",
            "quarantined",
            "reconciliation",
            "rows_validated",
            "run_id",
            "seconds",
            "since",
            "summary",
            "tables",
            "warnings",
        ],
    },
    "dbt": [
        "command",
        "counts",
        "elapsed",
        "error",
        "failures",
        "log",
        "ok",
        "parse",
        "returncode",
        "run_results",
        "warnings",
    ],
    "published_version": ["path", "published_at", "run_id", "seconds", "sha256", "size", "version_path", "visible_s"],
}


def test_the_report_keeps_its_fields(first_run):
    from douyin_etl import entities

    report = json.loads(Path(first_run.report_path).read_text(encoding="utf-8"))
    assert sorted(report) == REPORT_KEYS["top"]
    assert [s["name"] for s in report["steps"]] == ["extract", "landing_gate", "build_audit", "mart_gate", "publish"]
    for step in report["steps"]:
        assert sorted(step) == REPORT_KEYS["step_keys"], step["name"]
        if step["name"] == "extract":
            assert sorted(step["details"]) == sorted(entities.ENTITIES)
            assert all(sorted(v) == ["days", "rows"] for v in step["details"].values())
        else:
            assert sorted(step["details"]) == REPORT_KEYS["step_details"][step["name"]], step["name"]
    assert {k: sorted(v) for k, v in report["gates"].items()} == REPORT_KEYS["gates"]
    assert sorted(report["dbt"]) == REPORT_KEYS["dbt"]
    assert sorted(report["published_version"]) == REPORT_KEYS["published_version"]
    assert {layer for v in report["rows"].values() for layer in v} == {"landed", "mart"}
