"""One published warehouse for the access tests, built the way a run builds it.

``published`` (session): a small generated world (14 days x 2 shops x 20 orders/day) -> lake (the dbt
tests' landing helpers, imported from tests/dbt/conftest.py by path) -> ``dbt build`` of models and
seeds through the real runner (``douyin_etl.warehouse.dbt_runner.run_dbt``) into an audit copy ->
a run report (``warehouse.report``) -> ``wap.publish``. Everything lives under a session tmp dir;
the environment (DOUYIN_STATE_DIR, DOUYIN_WAREHOUSE, DOUYIN_LAKE_DIR) is set only while building and,
for the tests that need it, by the function-scoped ``access_env`` fixture.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

WORLD_DAYS = 14
WORLD_SHOPS = 2
WORLD_ORDERS_PER_DAY = 20
RUN_ID = "access-test-run"
DBT_CONFTEST = Path(__file__).resolve().parents[1] / "dbt" / "conftest.py"


@dataclass(frozen=True)
class Published:
    base: Path
    lake: Path
    state_dir: Path
    warehouse: Path
    run_id: str
    first_day: date
    last_day: date

    def env(self) -> dict[str, str]:
        return {"DOUYIN_HOME": str(self.base), "DOUYIN_STATE_DIR": str(self.state_dir),
                "DOUYIN_WAREHOUSE": str(self.warehouse), "DOUYIN_LAKE_DIR": str(self.lake)}


def _dbt_helpers():
    name = "_access_dbt_helpers"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, DBT_CONFTEST)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses need the module registered
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def published(tmp_path_factory: pytest.TempPathFactory) -> Published:
    from douyin_etl.warehouse import wap
    from douyin_etl.warehouse.dbt_runner import run_dbt
    from douyin_etl.warehouse.report import RunRecord, write_report

    helpers = _dbt_helpers()
    base = tmp_path_factory.mktemp("access")
    world = helpers.generate_world(base / "world", days=WORLD_DAYS, shops=WORLD_SHOPS,
                                   orders_per_day=WORLD_ORDERS_PER_DAY)
    days = helpers.world_days(world)
    lake = helpers.build_lake(world, base / "lake")
    pub = Published(base, lake, base / "var", base / "warehouse" / "douyin.duckdb", RUN_ID, days[0], days[-1])
    with pytest.MonkeyPatch.context() as mp:
        for k, v in pub.env().items():
            mp.setenv(k, v)
        audit = wap.prepare_audit(RUN_ID)
        record = RunRecord(RUN_ID, interval_start=days[0], interval_end=days[-1])
        with record.step("dbt build") as details:
            result = run_dbt(["build", "--exclude-resource-type", "test", "unit_test"], db_path=audit,
                             run_dir=wap.run_dir(RUN_ID) / "dbt")
            details["ok"] = result.ok
        if not result.ok:
            pytest.fail(f"dbt build for the access tests failed: {result.failures or result.error}")
        record.dbt = result.summary()
        record.gates["marts"] = {"ok": True, "checks": [{"success": True}, {"success": True}], "seconds": 0.1}
        version = wap.publish(audit, RUN_ID)
        record.status, record.published_path = "published", str(version.path)
        record.published_version = version.to_dict()
        write_report(record)
        blocked = RunRecord("access-test-blocked", interval_start=days[-1], interval_end=days[-1], status="blocked")
        blocked.gates["landing"] = {"ok": False, "checks": [{"success": False}, {"success": True}], "seconds": 0.1}
        write_report(blocked)
    return pub


@pytest.fixture
def access_env(published: Published, monkeypatch: pytest.MonkeyPatch) -> Published:
    for k, v in published.env().items():
        monkeypatch.setenv(k, v)
    return published


def mart_query(published: Published, sql: str) -> list[tuple]:
    import duckdb

    con = duckdb.connect(str(published.warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="session")
def mart():
    """``mart(published, sql)`` -> rows, read-only."""
    return mart_query
