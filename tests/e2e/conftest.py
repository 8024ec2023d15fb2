"""Airflow for the end-to-end tests: a temp AIRFLOW_HOME per session, migrated once, lake/state in tmp."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

# Airflow reads its home at import time: set it before anything imports airflow.
_HOME = Path(tempfile.mkdtemp(prefix="douyin-airflow-"))
os.environ.setdefault("AIRFLOW_HOME", str(_HOME / "airflow"))
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(Path(__file__).resolve().parents[2] / "dags")
os.environ["DOUYIN_RETRY_DELAY_SECONDS"] = "1"
os.environ.setdefault("DOUYIN_LAKE_DIR", str(_HOME / "lake"))
os.environ.setdefault("DOUYIN_STATE_DIR", str(_HOME / "state"))
os.environ.setdefault("DOUYIN_WAREHOUSE", str(_HOME / "warehouse" / "douyin.duckdb"))


@pytest.fixture(scope="session")
def airflow_home() -> Path:
    from douyin_etl.orchestration import local_airflow

    home = Path(os.environ["AIRFLOW_HOME"])
    local_airflow.prepare(home)
    return home


@pytest.fixture(scope="session")
def dagbag(airflow_home):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
