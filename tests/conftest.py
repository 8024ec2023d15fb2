"""Session-wide test setup, one home for what several areas share.

1. At import time (before anything imports Airflow, which reads its home then): an isolated environment
   for the whole session under a temp base dir — Airflow home, lake, state, warehouse, world and drops all
   point there, telemetry is off — so no test can write into the checkout's lake/, warehouse/ or var/;
   and the tests' own buyer-key secret (``TEST_BUYER_KEY_SECRET``; outside the demo and the tests nothing
   has a default). Open API credentials and shops are set by each test that extracts (``pipeline_env``
   plus ``api_connection_env`` of its mock, or an explicit client).
2. ``airflow_home`` / ``dagbag``: a migrated Airflow home and the DagBag of <repo>/dags (once per session).
3. ``api_world`` / ``api_mock``: a simulated world for the Open API tests and the mock over it.
4. ``published_warehouse`` (session): one published warehouse over ``worlds.SHARED_WORLD``, built by a real
   ``run_range`` (extractor against the mock API, gates, the product's dbt runner, publish, report; see
   ``worlds.build_published``). The dbt, access and dashboard tests all read it (their conftests alias it);
   its lake is the one landing of the shared world.
5. ``pipeline_env``: ``pipeline_env(world, base)`` points the DOUYIN_* pipeline variables at a generated
   world and a fresh base dir (a ``MonkeyPatch``; the caller undoes it), for the end-to-end run tests.
   tests/worlds.py holds the plain helpers behind these (landing through the real extraction, etc.).
"""

from __future__ import annotations

import atexit
import dataclasses
import os
import shutil
import tempfile
from datetime import date
from pathlib import Path

import pytest

from worlds import Published, build_published, pipeline_env_of  # tests/worlds.py: plain helpers

REPO = Path(__file__).resolve().parents[1]
SESSION_BASE = Path(tempfile.mkdtemp(prefix="douyin-tests-"))
_SESSION_PID = os.getpid()


@atexit.register
def _remove_session_base() -> None:
    if os.getpid() == _SESSION_PID:  # not in forked children (Airflow's task runners inherit atexit handlers)
        shutil.rmtree(SESSION_BASE, ignore_errors=True)


os.environ.update(
    {
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
    }
)

TEST_BUYER_KEY_SECRET = os.environ["DOUYIN_BUYER_KEY_SECRET"]
for _name in (
    "AIRFLOW_CONN_DOUDIAN_DEFAULT",
    "AIRFLOW_CONN_DOUYIN_BUYER_KEY",
    "DOUYIN_API_BASE_URL",
    "DOUYIN_APP_KEY",
    "DOUYIN_APP_SECRET",
    "DOUYIN_SHOP_IDS",
    "DOUYIN_SHOP_GRANT",
):  # never the caller's: each test sets its own
    os.environ.pop(_name, None)

# The Open API tests' world: 12 days so settlements and fund flows exist (they start ~9 days in), 2 shops,
# 300 orders/day across shops; every windowed endpoint then has multi-page results on 2026-10-11.
API_WORLD = {"seed": 1, "start": date(2026, 10, 1), "days": 12, "shops": 2, "orders_per_day": 300}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--scale",
        action="store_true",
        default=False,
        help="run the scale-out suite (tests/scale; needs `make install-scale`): `make test-scale`",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test that reads the session's published warehouse (a real run: extraction, gates, a dbt build
    over a world) is ``slow``, wherever it lives. The scale-out suite runs only when asked (``--scale``);
    the default suite stays one-machine."""
    for item in items:
        if "published_warehouse" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)
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


@pytest.fixture(scope="session")
def published_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Published:
    """One published warehouse for the whole session (``build_published``); tests only read it."""
    return build_published(tmp_path_factory.mktemp("published"))


@pytest.fixture(scope="session")
def pipeline_env():
    """``pipeline_env(world, base) -> MonkeyPatch``: the DOUYIN_* variables of a run over a generated world."""
    return pipeline_env_of
