"""Session-wide test setup, one home for what several areas share.

1. At import time (before anything imports Airflow, which reads its home then): an isolated environment
   for the whole session under a temp base dir — Airflow home, lake, state, warehouse, world and drops all
   point there, telemetry is off — so no test can write into the checkout's lake/, warehouse/ or var/;
   and the tests' own buyer-key secret (``TEST_BUYER_KEY_SECRET``; outside the demo and the tests nothing
   has a default). Open API credentials and shops are set by each test that extracts (``pipeline_env``
   plus ``api_connection_env`` of its mock, or an explicit client).
2. ``airflow_home`` / ``dagbag``: a migrated Airflow home and the DagBag of <repo>/dags (once per session).
3. ``api_world`` / ``api_mock``: a simulated world for the Open API tests and the mock over it.
4. ``published_warehouse`` (session): one small published warehouse built the way a run builds it, for the
   access and dashboard tests (see ``build_published``); their conftests alias it as ``published``.
5. ``pipeline_env``: ``pipeline_env(world, base)`` points the DOUYIN_* pipeline variables at a generated
   world and a fresh base dir (a ``MonkeyPatch``; the caller undoes it), for the end-to-end run tests.
"""

from __future__ import annotations

import atexit
import dataclasses
import importlib.util
import json
import os
import shutil
import sys
import tempfile
from datetime import date
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SESSION_BASE = Path(tempfile.mkdtemp(prefix="douyin-tests-"))
_SESSION_PID = os.getpid()


@atexit.register
def _remove_session_base() -> None:
    if os.getpid() == _SESSION_PID:  # not in forked children (Airflow's task runners inherit atexit handlers)
        shutil.rmtree(SESSION_BASE, ignore_errors=True)


os.environ.update({
    "AIRFLOW_HOME": str(SESSION_BASE / "airflow"),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
    "DOUYIN_RETRY_DELAY_SECONDS": "1",
    "DOUYIN_LAKE_DIR": str(SESSION_BASE / "lake"),
    "DOUYIN_STATE_DIR": str(SESSION_BASE / "state"),
    "DOUYIN_WAREHOUSE": str(SESSION_BASE / "warehouse" / "douyin.duckdb"),
    "DOUYIN_WORLD_DIR": str(SESSION_BASE / "world"),
    "DOUYIN_DROPS_DIR": str(SESSION_BASE / "world" / "drops"),
    "DOUYIN_BUYER_KEY_SECRET": "tests-buyer-key-secret-5b1e0c7a",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "DBT_VERSION_CHECK": "false",
    "GX_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
})

TEST_BUYER_KEY_SECRET = os.environ["DOUYIN_BUYER_KEY_SECRET"]
for _name in ("AIRFLOW_CONN_DOUDIAN_DEFAULT", "AIRFLOW_CONN_DOUYIN_BUYER_KEY", "DOUYIN_API_BASE_URL", "DOUYIN_APP_KEY",
              "DOUYIN_APP_SECRET", "DOUYIN_SHOP_IDS"):  # never the caller's: each test sets its own
    os.environ.pop(_name, None)

# The Open API tests' world: 12 days so settlements and fund flows exist (they start ~9 days in), 2 shops,
# 300 orders/day across shops; every windowed endpoint then has multi-page results on 2026-10-11.
API_WORLD = {"seed": 1, "start": date(2026, 10, 1), "days": 12, "shops": 2, "orders_per_day": 300}

# The published warehouse's world (the dbt tests' seed and start): 14 days so settlements exist (they start
# ~9 days in) and the dashboard's sub-periods (first day + 2 .. last day - 3) are several days long; every
# day in one month, which the access tests export.
PUBLISHED_WORLD = {"days": 14, "shops": 2, "orders_per_day": 20}
PUBLISHED_RUN_ID = "test-run"
BLOCKED_RUN_ID = "test-run-blocked"
DBT_CONFTEST = REPO / "tests" / "dbt" / "conftest.py"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--scale", action="store_true", default=False,
                     help="run the scale-out suite (tests/scale; needs `make install-scale`): `make test-scale`")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The scale-out suite runs only when asked (``--scale``); the default suite stays one-machine and quick."""
    if config.getoption("--scale"):
        return
    skip = pytest.mark.skip(reason="scale-out suite: run `make test-scale` (pytest --scale tests/scale)")
    for item in items:
        if "scale" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def airflow_home() -> Path:
    from douyin_etl.orchestration import local_airflow

    home = Path(os.environ["AIRFLOW_HOME"])
    local_airflow.prepare(home)
    return home


@pytest.fixture(scope="session")
def dagbag(airflow_home: Path):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])


@pytest.fixture(scope="session")
def api_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The simulator's world (see API_WORLD) without the export-noise files, generated once per session."""
    from douyin_sim.simulator import generate_world
    from douyin_sim.simulator.behaviour import DEFAULT

    out = tmp_path_factory.mktemp("api") / "world"
    generate_world(out, **API_WORLD, behaviour=dataclasses.replace(DEFAULT, write_exports=False))
    return out


@pytest.fixture
def api_mock(api_world: Path):
    """A fault-free mock Open API over ``api_world`` (one per test: fresh tokens and stats)."""
    from douyin_sim.mock_api import MockServer

    with MockServer(api_world) as m:
        yield m


@dataclasses.dataclass(frozen=True)
class Published:
    """A published warehouse under ``base``: its lake, state dir (run reports), the published file and run."""

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

    def query(self, sql: str, params: dict | None = None) -> list[tuple]:
        """Rows of ``sql`` over the published warehouse, opened read-only."""
        import duckdb

        con = duckdb.connect(str(self.warehouse), read_only=True)
        try:
            return con.execute(sql, params or {}).fetchall()
        finally:
            con.close()


def _dbt_helpers():
    """tests/dbt/conftest.py's landing helpers, loaded by path (no test module imports a conftest by name)."""
    name = "_published_dbt_helpers"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, DBT_CONFTEST)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses need the module registered
    spec.loader.exec_module(module)
    return module


def build_published(base: Path) -> Published:
    """World (PUBLISHED_WORLD) -> lake -> ``dbt build`` into an audit copy -> report -> publish, under ``base``.

    The lake is landed by the dbt tests' helpers; models and seeds are built through the real runner
    (``douyin_etl.warehousing.dbt_runner.run_dbt``), then ``wap.publish`` and ``warehousing.report`` write the
    version and the run report, plus the report of a blocked run (``BLOCKED_RUN_ID``) that published nothing.
    The environment (``Published.env``) is set only while building. Also usable by hand.
    """
    from douyin_etl.warehousing import wap
    from douyin_etl.warehousing.dbt_runner import run_dbt
    from douyin_etl.warehousing.report import RunRecord, write_report

    helpers = _dbt_helpers()
    world = helpers.generate_world(base / "world", **PUBLISHED_WORLD)
    days = helpers.world_days(world)
    lake = helpers.build_lake(world, base / "lake")
    pub = Published(base, lake, base / "var", base / "warehouse" / "douyin.duckdb", PUBLISHED_RUN_ID,
                    days[0], days[-1])
    with pytest.MonkeyPatch.context() as mp:
        for k, v in pub.env().items():
            mp.setenv(k, v)
        audit = wap.prepare_audit(pub.run_id)
        record = RunRecord(pub.run_id, interval_start=days[0], interval_end=days[-1])
        with record.step("dbt build") as details:
            result = run_dbt(["build", "--exclude-resource-type", "test", "unit_test"], db_path=audit,
                             run_dir=wap.run_dir(pub.run_id) / "dbt")
            details["ok"] = result.ok
        if not result.ok:
            raise RuntimeError(f"dbt build for the published warehouse failed: {result.failures or result.error}")
        record.dbt = result.summary()
        record.gates["marts"] = {"ok": True, "checks": [{"success": True}, {"success": True}], "seconds": 0.1}
        version = wap.publish(audit, pub.run_id)
        record.status, record.published_path = "published", str(version.path)
        record.published_version = version.to_dict()
        write_report(record)
        blocked = RunRecord(BLOCKED_RUN_ID, interval_start=days[-1], interval_end=days[-1], status="blocked")
        blocked.gates["landing"] = {"ok": False, "checks": [{"success": False}, {"success": True}], "seconds": 0.1}
        write_report(blocked)
    return pub


@pytest.fixture(scope="session")
def published_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Published:
    """One published warehouse for the whole session (``build_published``); tests only read it."""
    return build_published(tmp_path_factory.mktemp("published"))


def _pipeline_env(world: Path, base: Path) -> pytest.MonkeyPatch:
    """Point a pipeline run at ``world`` (its drops and shops) with lake, state and warehouse under ``base``.

    Returns the ``MonkeyPatch`` holding the variables; the caller adds its own and calls ``undo()``.
    """
    mp = pytest.MonkeyPatch()
    shops = json.loads((world / "world.json").read_text(encoding="utf-8"))["shops"]
    for k, v in {
        "DOUYIN_LAKE_DIR": base / "lake", "DOUYIN_STATE_DIR": base / "state",
        "DOUYIN_WAREHOUSE": base / "warehouse" / "douyin.duckdb", "DOUYIN_WORLD_DIR": world,
        "DOUYIN_DROPS_DIR": world / "drops", "DOUYIN_SHOP_IDS": ",".join(str(s["shop_id"]) for s in shops),
    }.items():
        mp.setenv(k, str(v))
    return mp


@pytest.fixture(scope="session")
def pipeline_env():
    """``pipeline_env(world, base) -> MonkeyPatch``: the DOUYIN_* variables of a run over a generated world."""
    return _pipeline_env
