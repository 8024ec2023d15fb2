"""Airflow cluster mode as code: PostgreSQL metadata, CeleryExecutor on Redis, separate components.

The embedded default (``local_airflow``) is one process tree on SQLite. A cluster runs the same DAGs
with four kinds of long-lived components, each its own process (on one machine or many):

- ``scheduler`` — creates runs, queues task instances to Celery;
- ``dag-processor`` — parses ``dags/`` and serializes the DAGs into the metadata DB;
- ``api-server`` — the UI, the public REST API (``/api/v2``) and the Execution API the workers call;
- ``celery-worker`` — runs task instances (and serves their logs on ``worker_log_server_port``).

``cluster_env`` gives the ``AIRFLOW__*`` variables every component shares (the same dict for all of
them: the JWT secret and the API secret key must match, or components reject each other's tokens);
``Cluster`` starts the components as subprocesses with logs to files and stops them; ``RestClient`` is
a small client of Airflow 3's REST API (token, unpause, trigger, poll, task instances, pools).
Secrets stay in environment variables and memory: nothing here writes them to a file or a log, except
the simple auth manager's passwords file, which Airflow itself requires (mode 0600).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from douyin_etl import config
from douyin_etl.orchestration.schedules import WAREHOUSE_POOL, WAREHOUSE_POOL_DESCRIPTION, WAREHOUSE_POOL_SLOTS

log = logging.getLogger(__name__)

COMPONENTS = ("scheduler", "dag-processor", "api-server", "celery-worker")
WORKER_LOG_SERVER_PORT = 8793  # Airflow's default; the api-server must not use it
FINISHED_STATES = frozenset({"success", "failed"})


def generate_secret() -> str:
    """A random secret for ``jwt_secret`` / ``api_secret_key`` (generate once, share with every component)."""
    return secrets.token_urlsafe(32)


def generate_fernet_key() -> str:
    """A Fernet key (encrypts connection passwords and variables in the metadata DB)."""
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def airflow_bin() -> Path:
    """The ``airflow`` executable of this venv."""
    return Path(sys.executable).parent / "airflow"


def cluster_env(*, sql_alchemy_conn: str, broker_url: str, result_backend: str, home: Path, api_port: int,
                jwt_secret: str, api_secret_key: str, fernet_key: str = "", api_host: str = "127.0.0.1",
                parallelism: int = 4, worker_concurrency: int = 2, max_active_tasks_per_dag: int = 4,
                worker_log_server_port: int = WORKER_LOG_SERVER_PORT, admin_user: str = "admin",
                passwords_file: Path | None = None, use_job_schedule: bool = True,
                dags_folder: Path = config.DAGS_DIR, logging_level: str = "INFO") -> dict[str, str]:
    """The ``AIRFLOW__*`` variables of a PostgreSQL + CeleryExecutor/Redis cluster rooted at ``home``.

    ``sql_alchemy_conn``: ``postgresql+psycopg2://user[:password]@host:port/db`` (the metadata DB);
    ``broker_url``: ``redis://host:port/0``; ``result_backend``: ``db+postgresql://…`` (Celery task
    results in the same Postgres). ``jwt_secret`` and ``api_secret_key`` must be identical for every
    component (``generate_secret()`` once). Sized for 2 cores by default: ``parallelism`` 4 task
    instances across the cluster, ``worker_concurrency`` 2 per Celery worker. ``api_port`` must differ
    from ``worker_log_server_port`` (8793: the worker's log server). ``use_job_schedule=False`` stops
    the scheduler from creating timetable runs (only triggered runs happen: the test profile).
    Users come from the simple auth manager (``admin_user`` with role admin, password in
    ``passwords_file``, see ``write_passwords_file``); production uses a real auth manager.
    """
    if api_port == worker_log_server_port:
        raise ValueError(f"api_port {api_port} is the Celery worker's log server port; pick another "
                         f"(or move the log server with worker_log_server_port=)")
    if not sql_alchemy_conn.startswith("postgresql"):
        raise ValueError("cluster mode needs PostgreSQL metadata: sql_alchemy_conn=postgresql+psycopg2://…")
    home = Path(home)
    api_url = f"http://{api_host}:{api_port}"
    env = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__PARALLELISM": str(parallelism),
        "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": str(max_active_tasks_per_dag),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api_url}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{admin_user}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords_file or home / "passwords.json"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sql_alchemy_conn,
        "AIRFLOW__CELERY__BROKER_URL": broker_url,
        "AIRFLOW__CELERY__RESULT_BACKEND": result_backend,
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(worker_concurrency),
        "AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER": "1",
        "AIRFLOW__CELERY__SYNC_PARALLELISM": "1",
        "AIRFLOW__SCHEDULER__STANDALONE_DAG_PROCESSOR": "True",
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": str(use_job_schedule),
        "AIRFLOW__API__HOST": api_host,
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API__BASE_URL": api_url,
        "AIRFLOW__API__SECRET_KEY": api_secret_key,
        "AIRFLOW__API_AUTH__JWT_SECRET": jwt_secret,
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(worker_log_server_port),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": logging_level,
    }
    if fernet_key:
        env["AIRFLOW__CORE__FERNET_KEY"] = fernet_key
    return env


def result_backend_for(sql_alchemy_conn: str) -> str:
    """Celery's result backend in the metadata DB: ``postgresql+psycopg2://…`` -> ``db+postgresql://…``."""
    scheme, sep, rest = sql_alchemy_conn.partition("://")
    if not sep or not scheme.startswith("postgresql"):
        raise ValueError("expected a PostgreSQL URL such as postgresql+psycopg2://user:pw@host:5432/airflow")
    return f"db+postgresql://{rest}"


def env_file(env: dict[str, str]) -> str:
    """``env`` as an environment file (systemd ``EnvironmentFile=``, ``docker --env-file``, a Kubernetes
    Secret via ``--from-env-file``): one ``KEY=value`` per line, sorted, secrets included."""
    header = ("# Airflow cluster settings for every component (scheduler, dag-processor, api-server, workers).\n"
              "# Contains secrets (JWT secret, API secret key, Fernet key, DB password): keep it mode 0600 or in\n"
              "# a secrets store; generate it once and give every component the same file. docs/deploy.md\n")
    return header + "".join(f"{k}={v}\n" for k, v in sorted(env.items()))


def write_passwords_file(env: dict[str, str], passwords: dict[str, str]) -> Path:
    """Write the simple auth manager's passwords file named in ``env`` (user -> password), mode 0600."""
    path = Path(env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{path.name}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(passwords, fh)
    os.replace(tmp, path)
    return path


def migrate(env: dict[str, str], timeout: float = 600) -> float:
    """``airflow db migrate`` against the cluster's metadata DB; returns the seconds it took."""
    t0 = time.monotonic()
    proc = subprocess.run([str(airflow_bin()), "db", "migrate"], env=config.tool_env() | env,
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"`airflow db migrate` failed (exit {proc.returncode}); check that PostgreSQL is up "
                           f"and the URL in AIRFLOW__DATABASE__SQL_ALCHEMY_CONN is right:\n{proc.stderr[-2000:]}")
    seconds = time.monotonic() - t0
    log.info("airflow db migrate: %.1f s", seconds)
    return seconds


def component_argv(name: str, env: dict[str, str]) -> list[str]:
    """The command line of one component (``COMPONENTS``)."""
    bin_ = str(airflow_bin())
    if name == "scheduler":
        return [bin_, "scheduler"]
    if name == "dag-processor":
        return [bin_, "dag-processor"]
    if name == "api-server":
        return [bin_, "api-server", "--host", env["AIRFLOW__API__HOST"], "--port", env["AIRFLOW__API__PORT"],
                "--workers", "1"]
    if name == "celery-worker":
        return [bin_, "celery", "worker", "--concurrency", env.get("AIRFLOW__CELERY__WORKER_CONCURRENCY", "2")]
    raise ValueError(f"unknown component {name!r}; one of {', '.join(COMPONENTS)}")


@dataclass
class Cluster:
    """The cluster's components as subprocesses of this process, each logging to ``<log_dir>/<name>.log``.

    Each component gets its own process group, so ``stop()`` reaches the children it forks (Celery's
    pool, task supervisors, uvicorn) and nothing else.
    """

    env: dict[str, str]
    log_dir: Path
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    def log_file(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def start(self, names: tuple[str, ...] = COMPONENTS) -> "Cluster":
        self.log_dir.mkdir(parents=True, exist_ok=True)
        # Components start their helpers as `airflow …` from PATH: put this venv first.
        env = config.tool_env() | self.env | {
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
        for name in names:
            with open(self.log_file(name), "ab") as out:
                self.procs[name] = subprocess.Popen(component_argv(name, self.env), env=env, stdout=out,
                                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                                    start_new_session=True)
            log.info("started %s (pid %d), log %s", name, self.procs[name].pid, self.log_file(name))
        return self

    def check_alive(self) -> None:
        """Raise (with the log tail) when a component has exited."""
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f"Airflow {name} exited with {proc.returncode}; log {self.log_file(name)}:\n"
                                   f"{self.tail(name)}")

    def tail(self, name: str, chars: int = 4000) -> str:
        try:
            return self.log_file(name).read_text(encoding="utf-8", errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM every component's process group, wait, then SIGKILL what is left."""
        for proc in self.procs.values():
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for name, proc in self.procs.items():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("%s (pid %d) did not stop in %.0f s: SIGKILL", name, proc.pid, timeout)
            _signal_group(proc, signal.SIGKILL)  # stragglers of the group (task supervisors, pool children)
            if proc.poll() is None:
                proc.wait(timeout=10)
        self.procs.clear()


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)  # the group we created with start_new_session (pgid == pid)
    except (ProcessLookupError, PermissionError):
        pass


class RestClient:
    """Airflow 3's public REST API (``/api/v2``) with a JWT from the simple auth manager (``/auth/token``)."""

    def __init__(self, base_url: str, username: str, password: str, timeout: float = 30) -> None:
        self.base_url = base_url.rstrip("/")
        self._credentials = {"username": username, "password": password}
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout)
        self._token: str | None = None

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "RestClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:  # never show the password or the token
        return f"RestClient({self.base_url!r}, user={self._credentials['username']!r})"

    def healthy(self) -> bool:
        """True when the api-server answers ``/api/v2/monitor/health``."""
        try:
            return self._http.get("/api/v2/monitor/health").status_code == 200
        except httpx.HTTPError:
            return False

    def token(self) -> str:
        """A JWT for the configured user (POST /auth/token)."""
        r = self._http.post("/auth/token", json=self._credentials)
        if r.status_code != 201:
            raise RuntimeError(f"POST /auth/token answered {r.status_code}: {r.text[:300]}; check the user in "
                               f"AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS and its passwords file")
        self._token = r.json()["access_token"]
        return self._token

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        """An authenticated request to ``/api/v2{path}``; renews the token once on 401."""
        for attempt in (1, 2):
            if self._token is None:
                self.token()
            r = self._http.request(method, f"/api/v2{path}", headers={"Authorization": f"Bearer {self._token}"}, **kw)
            if r.status_code == 401 and attempt == 1:
                self._token = None
                continue
            return r
        return r

    def _json(self, method: str, path: str, ok: tuple[int, ...] = (200,), **kw: Any) -> dict:
        r = self.request(method, path, **kw)
        if r.status_code not in ok:
            raise RuntimeError(f"{method} /api/v2{path} answered {r.status_code}: {r.text[:500]}")
        return r.json()

    def dag(self, dag_id: str) -> dict | None:
        r = self.request("GET", f"/dags/{dag_id}")
        return r.json() if r.status_code == 200 else None

    def wait_for_dag(self, dag_id: str, timeout: float = 180, poll: float = 2) -> dict:
        """Wait until the dag-processor has serialized ``dag_id`` into the metadata DB."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.dag(dag_id)
            if found is not None:
                return found
            time.sleep(poll)
        raise TimeoutError(f"DAG {dag_id} did not appear in {timeout:.0f} s: is the dag-processor running, "
                           f"and does dags/ import (GET /api/v2/importErrors)?")

    def set_paused(self, dag_id: str, paused: bool) -> dict:
        return self._json("PATCH", f"/dags/{dag_id}", json={"is_paused": paused})

    def trigger(self, dag_id: str, logical_date: datetime, *, data_interval: tuple[datetime, datetime] | None = None,
                run_after: datetime | None = None, run_id: str | None = None, conf: dict | None = None) -> dict:
        """Create a manual run at ``logical_date`` (aware datetime); returns the DagRun JSON."""
        body: dict[str, Any] = {"logical_date": logical_date.isoformat(), "conf": conf or {}}
        if data_interval is not None:
            body["data_interval_start"], body["data_interval_end"] = (d.isoformat() for d in data_interval)
        if run_after is not None:
            body["run_after"] = run_after.isoformat()
        if run_id is not None:
            body["dag_run_id"] = run_id
        return self._json("POST", f"/dags/{dag_id}/dagRuns", json=body)

    def dag_runs(self, dag_id: str) -> list[dict]:
        """Every run of ``dag_id`` (oldest first)."""
        return self._json("GET", f"/dags/{dag_id}/dagRuns", params={"limit": 100, "order_by": "run_after"})["dag_runs"]

    def dag_run(self, dag_id: str, run_id: str) -> dict:
        return self._json("GET", f"/dags/{dag_id}/dagRuns/{run_id}")

    def wait_for_runs(self, dag_id: str, run_ids: list[str], timeout: float, poll: float = 3,
                      alive=None) -> dict[str, dict]:
        """Poll until every run is finished (success/failed); ``alive()`` (optional) raises if a component died."""
        deadline = time.monotonic() + timeout
        while True:
            runs = {rid: self.dag_run(dag_id, rid) for rid in run_ids}
            if all(r["state"] in FINISHED_STATES for r in runs.values()):
                return runs
            if time.monotonic() > deadline:
                states = {rid: r["state"] for rid, r in runs.items()}
                raise TimeoutError(f"runs of {dag_id} not finished after {timeout:.0f} s: {states}")
            if alive is not None:
                alive()
            time.sleep(poll)

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        """Every task instance of a run (mapped ones included), paging through the API."""
        out: list[dict] = []
        while True:
            page = self._json("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances",
                              params={"limit": 100, "offset": len(out)})
            out.extend(page["task_instances"])
            if not page["task_instances"] or len(out) >= page["total_entries"]:
                return out

    def pool(self, name: str) -> dict | None:
        r = self.request("GET", f"/pools/{name}")
        return r.json() if r.status_code == 200 else None

    def ensure_connection(self, conn_id: str, *, conn_type: str, login: str | None = None,
                          password: str | None = None, host: str | None = None, extra: dict | None = None) -> None:
        """Create or replace a connection in the metadata DB (e.g. ``douyin_lake``, ``doudian_default``),
        where every worker's tasks find it; the Fernet key encrypts the password at rest. Errors never
        show the request or response body (they would carry the password)."""
        self.request("DELETE", f"/connections/{conn_id}")  # 204, or 404 when new
        body = {"connection_id": conn_id, "conn_type": conn_type, "login": login, "password": password,
                "host": host, "extra": json.dumps(extra) if extra else None}
        r = self.request("POST", "/connections", json=body)
        if r.status_code != 201:
            raise RuntimeError(f"POST /api/v2/connections ({conn_id}) answered {r.status_code}; check the "
                               f"connection's fields (the body is not shown: it holds a password)")

    def ensure_pool(self, name: str = WAREHOUSE_POOL, slots: int = WAREHOUSE_POOL_SLOTS,
                    description: str = WAREHOUSE_POOL_DESCRIPTION) -> dict:
        """Create or update a pool (default: the single-slot ``warehouse_writer``)."""
        body = {"slots": slots, "description": description, "include_deferred": False}
        if self.pool(name) is None:
            return self._json("POST", "/pools", ok=(201,), json={"name": name, **body})
        return self._json("PATCH", f"/pools/{name}", json={"pool": name, **body})
