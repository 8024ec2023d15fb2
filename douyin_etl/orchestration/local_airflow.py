"""A local Airflow for the demo and the tests: its own AIRFLOW_HOME, migrated DB, pool, connection.

``prepare(home)`` must run before ``airflow`` is imported in this process (Airflow reads its home and
configuration at import time); it raises a clear error otherwise.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

from douyin_etl import config
from douyin_etl.orchestration.schedules import WAREHOUSE_POOL, WAREHOUSE_POOL_DESCRIPTION, WAREHOUSE_POOL_SLOTS

log = logging.getLogger(__name__)


def airflow_env(home: Path) -> dict[str, str]:
    """Environment variables of a quiet, local, SQLite-backed Airflow rooted at ``home``."""
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(config.DAGS_DIR),
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": os.environ.get("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING"),
        "AIRFLOW__SCHEDULER__STANDALONE_DAG_PROCESSOR": "False",
    }


def api_connection_env(base_url: str, app_key: str, app_secret: str) -> dict[str, str]:
    """The ``doudian_default`` connection (and the plain env fallback) pointing at ``base_url``.

    Environment only: the secret is never written to a file or the Airflow DB.
    """
    conn = {"conn_type": "http", "host": base_url, "login": app_key, "password": app_secret}
    return {
        f"AIRFLOW_CONN_{config.DOUDIAN_CONN_ID.upper()}": json.dumps(conn),
        "DOUYIN_API_BASE_URL": base_url,
        "DOUYIN_APP_KEY": app_key,
        "DOUYIN_APP_SECRET": app_secret,
    }


def prepare(home: Path) -> float:
    """Point this process at a local Airflow in ``home``: env, ``airflow db migrate`` (once), the pool.

    Returns the seconds spent. Safe to call again (migration is skipped when the DB exists).
    """
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    env = airflow_env(home)
    if "airflow" in sys.modules:
        from airflow.configuration import AIRFLOW_HOME  # type: ignore

        if Path(AIRFLOW_HOME).resolve() != home.resolve():
            raise RuntimeError(
                f"airflow was already imported with AIRFLOW_HOME={AIRFLOW_HOME}; call prepare({home}) before "
                f"anything imports airflow (or run in a fresh process)")
    os.environ.update(env)
    t0 = time.monotonic()
    if not (home / "airflow.db").exists():
        cmd = [str(Path(sys.executable).parent / "airflow"), "db", "migrate"]
        proc = subprocess.run(cmd, env=config.tool_env() | env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"`airflow db migrate` failed in {home} (exit {proc.returncode}):\n"
                               f"{proc.stderr[-2000:]}")
        log.info("migrated the Airflow DB in %s in %.1f s", home, time.monotonic() - t0)
    ensure_pool()
    return time.monotonic() - t0


def ensure_pool() -> None:
    """Create the single-slot ``warehouse_writer`` pool (one DuckDB writer at a time)."""
    from airflow.models.pool import Pool

    Pool.create_or_update_pool(WAREHOUSE_POOL, WAREHOUSE_POOL_SLOTS, WAREHOUSE_POOL_DESCRIPTION,
                               include_deferred=False)


def load_dags() -> dict:
    """dag_id -> DAG of every file in dags/; raises when a file fails to import."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(config.DAGS_DIR))
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    return dict(bag.dags)


def run_dag(dag, logical_date, conf: dict | None = None):
    """``dag.test()`` one run at ``logical_date`` (in process, no scheduler); returns the DagRun."""
    return dag.test(logical_date=logical_date, run_conf=conf)


def standalone(home: Path | None = None, port: int = 8080) -> int:
    """Run ``airflow standalone`` on 127.0.0.1 with this project's DAGs, pool and settings (blocks).

    Login ``admin``; the password is in ``<home>/simple_auth_manager_passwords.json.generated``.
    Ctrl-C stops every component (SIGINT; SIGTERM would leave children running).
    """
    home = Path(home or config.state_dir() / "airflow")
    prepare(home)
    env = config.tool_env() | airflow_env(home) | {
        "AIRFLOW__API__HOST": "127.0.0.1", "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        # standalone starts its components as `airflow …` from PATH: put this venv first
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    }
    cmd = [str(Path(sys.executable).parent / "airflow"), "standalone"]
    log.info("airflow standalone on http://127.0.0.1:%d (home %s); Ctrl-C to stop", port, home)
    proc = subprocess.Popen(cmd, env=env)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        import signal

        proc.send_signal(signal.SIGINT)
        return proc.wait(timeout=30)
