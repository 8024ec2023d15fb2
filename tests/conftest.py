"""Session-wide test setup, one home for what several areas share.

1. At import time (before anything imports Airflow, which reads its home then): an isolated environment
   for the whole session under a temp base dir — Airflow home, lake, state, warehouse and world all point
   there, telemetry is off — so no test can write into the checkout's lake/, warehouse/ or var/.
2. ``airflow_home`` / ``dagbag``: a migrated Airflow home and the DagBag of <repo>/dags (once per session).
3. ``api_world`` / ``api_mock``: a simulated world for the Open API tests and the mock over it.
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
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "DBT_VERSION_CHECK": "false",
    "GX_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
})

# The Open API tests' world: 12 days so settlements and fund flows exist (they start ~9 days in), 2 shops,
# 300 orders/day across shops; every windowed endpoint then has multi-page results on 2026-10-11.
API_WORLD = {"seed": 1, "start": date(2026, 10, 1), "days": 12, "shops": 2, "orders_per_day": 300}


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
    from douyin_etl.simulator import generate_world
    from douyin_etl.simulator.behaviour import DEFAULT

    out = tmp_path_factory.mktemp("api") / "world"
    generate_world(out, **API_WORLD, behaviour=dataclasses.replace(DEFAULT, write_exports=False))
    return out


@pytest.fixture
def api_mock(api_world: Path):
    """A fault-free mock Open API over ``api_world`` (one per test: fresh tokens and stats)."""
    from douyin_etl.mock_api import MockServer

    with MockServer(api_world) as m:
        yield m
