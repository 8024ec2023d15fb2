"""One small published warehouse for the dashboard tests, built the way a run builds it.

``published`` (session): a generated world (12 days x 2 shops x 20 orders/day) -> lake (the dbt
tests' landing helpers, loaded from tests/dbt/conftest.py by path) -> ``dbt build`` through the real
runner into an audit copy -> ``wap.publish``. Everything lives under a session tmp dir; the
environment is set only while building. ``dashboard_url`` starts the dashboard server on a free
loopback port in a thread for the whole session.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Iterator

import duckdb
import pytest

WORLD_DAYS = 12
WORLD_SHOPS = 2
WORLD_ORDERS_PER_DAY = 20
RUN_ID = "dashboard-test-run"
DBT_CONFTEST = Path(__file__).resolve().parents[1] / "dbt" / "conftest.py"


@dataclass(frozen=True)
class Published:
    base: Path
    warehouse: Path
    first_day: date
    last_day: date

    def query(self, sql: str, params: dict | None = None) -> list[tuple]:
        con = duckdb.connect(str(self.warehouse), read_only=True)
        try:
            return con.execute(sql, params or {}).fetchall()
        finally:
            con.close()


def _dbt_helpers():
    name = "_dashboard_dbt_helpers"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, DBT_CONFTEST)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses need the module registered
    spec.loader.exec_module(module)
    return module


def build_published(base: Path) -> Published:
    """World -> lake -> dbt build -> publish under ``base`` (also used by hand: see the module doc)."""
    from douyin_etl.warehouse import wap
    from douyin_etl.warehouse.dbt_runner import run_dbt

    helpers = _dbt_helpers()
    world = helpers.generate_world(base / "world", days=WORLD_DAYS, shops=WORLD_SHOPS,
                                   orders_per_day=WORLD_ORDERS_PER_DAY)
    days = helpers.world_days(world)
    lake = helpers.build_lake(world, base / "lake")
    env = {"DOUYIN_HOME": str(base), "DOUYIN_STATE_DIR": str(base / "var"),
           "DOUYIN_WAREHOUSE": str(base / "warehouse" / "douyin.duckdb"), "DOUYIN_LAKE_DIR": str(lake)}
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        audit = wap.prepare_audit(RUN_ID)
        result = run_dbt(["build", "--exclude-resource-type", "test", "unit_test"], db_path=audit,
                         run_dir=wap.run_dir(RUN_ID) / "dbt")
        if not result.ok:
            raise RuntimeError(f"dbt build for the dashboard tests failed: {result.failures or result.error}")
        version = wap.publish(audit, RUN_ID)
    return Published(base, Path(version.path), days[0], days[-1])


@pytest.fixture(scope="session")
def published(tmp_path_factory: pytest.TempPathFactory) -> Published:
    return build_published(tmp_path_factory.mktemp("dashboard"))


@pytest.fixture(scope="session")
def dashboard_url(published: Published) -> Iterator[str]:
    from douyin_etl.dashboard.server import make_server

    server = make_server(0, warehouse=published.warehouse)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
