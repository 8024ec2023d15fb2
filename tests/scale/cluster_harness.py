"""The scale test's Airflow cluster harness: start and stop the components, talk to the REST API.

Test-only (the product's part is ``douyin_etl.orchestration.cluster``: the settings every component
shares, ``douyin-etl cluster-env``). ``Cluster`` starts scheduler, dag-processor, api-server and a
Celery worker as subprocesses of the test with logs to files and stops them (process groups);
``RestClient`` is a small client of Airflow 3's REST API (token, unpause, trigger, poll, task
instances, pools, connections); ``migrate`` and ``write_passwords_file`` prepare the metadata DB and
the simple auth manager's users. Secrets stay in environment variables and memory: nothing here writes
them to a file or a log, except the passwords file, which Airflow itself requires (mode 0600).
"""

from __future__ import annotations

import json
import logging
import os
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
FINISHED_STATES = frozenset({"success", "failed"})


def airflow_bin() -> Path:
    """The ``airflow`` executable of this venv."""
    return Path(sys.executable).parent / "airflow"


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
    proc = subprocess.run(
        [str(airflow_bin()), "db", "migrate"],
        env=config.tool_env() | env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"`airflow db migrate` failed (exit {proc.returncode}); check that PostgreSQL is up "
            f"and the URL in AIRFLOW__DATABASE__SQL_ALCHEMY_CONN is right:\n{proc.stderr[-2000:]}"
        )
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
        return [
            bin_,
            "api-server",
            "--host",
            env["AIRFLOW__API__HOST"],
            "--port",
            env["AIRFLOW__API__PORT"],
            "--workers",
            "1",
        ]
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

    def start(self, names: tuple[str, ...] = COMPONENTS) -> Cluster:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        # Components start their helpers as `airflow …` from PATH: put this venv first.
        env = (
            config.tool_env()
            | self.env
            | {"PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
        )
        for name in names:
            with open(self.log_file(name), "ab") as out:
                self.procs[name] = subprocess.Popen(
                    component_argv(name, self.env),
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            log.info("started %s (pid %d), log %s", name, self.procs[name].pid, self.log_file(name))
        return self

    def check_alive(self) -> None:
        """Raise (with the log tail) when a component has exited."""
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise RuntimeError(
                    f"Airflow {name} exited with {proc.returncode}; log {self.log_file(name)}:\n{self.tail(name)}"
                )

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

    def __enter__(self) -> RestClient:
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
            raise RuntimeError(
                f"POST /auth/token answered {r.status_code}: {r.text[:300]}; check the user in "
                f"AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS and its passwords file"
            )
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
        raise TimeoutError(
            f"DAG {dag_id} did not appear in {timeout:.0f} s: is the dag-processor running, "
            f"and does dags/ import (GET /api/v2/importErrors)?"
        )

    def set_paused(self, dag_id: str, paused: bool) -> dict:
        return self._json("PATCH", f"/dags/{dag_id}", json={"is_paused": paused})

    def trigger(
        self,
        dag_id: str,
        logical_date: datetime,
        *,
        data_interval: tuple[datetime, datetime] | None = None,
        run_after: datetime | None = None,
        run_id: str | None = None,
        conf: dict | None = None,
    ) -> dict:
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

    def wait_for_runs(
        self, dag_id: str, run_ids: list[str], timeout: float, poll: float = 3, alive=None
    ) -> dict[str, dict]:
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
            page = self._json(
                "GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 100, "offset": len(out)}
            )
            out.extend(page["task_instances"])
            if not page["task_instances"] or len(out) >= page["total_entries"]:
                return out

    def pool(self, name: str) -> dict | None:
        r = self.request("GET", f"/pools/{name}")
        return r.json() if r.status_code == 200 else None

    def ensure_connection(
        self,
        conn_id: str,
        *,
        conn_type: str,
        login: str | None = None,
        password: str | None = None,
        host: str | None = None,
        extra: dict | None = None,
    ) -> None:
        """Create or replace a connection in the metadata DB (e.g. ``douyin_lake``, ``doudian_default``),
        where every worker's tasks find it; the Fernet key encrypts the password at rest. Errors never
        show the request or response body (they would carry the password)."""
        self.request("DELETE", f"/connections/{conn_id}")  # 204, or 404 when new
        body = {
            "connection_id": conn_id,
            "conn_type": conn_type,
            "login": login,
            "password": password,
            "host": host,
            "extra": json.dumps(extra) if extra else None,
        }
        r = self.request("POST", "/connections", json=body)
        if r.status_code != 201:
            raise RuntimeError(
                f"POST /api/v2/connections ({conn_id}) answered {r.status_code}; check the "
                f"connection's fields (the body is not shown: it holds a password)"
            )

    def ensure_pool(
        self,
        name: str = WAREHOUSE_POOL,
        slots: int = WAREHOUSE_POOL_SLOTS,
        description: str = WAREHOUSE_POOL_DESCRIPTION,
    ) -> dict:
        """Create or update a pool (default: the single-slot ``warehouse_writer``)."""
        body = {"slots": slots, "description": description, "include_deferred": False}
        if self.pool(name) is None:
            return self._json("POST", "/pools", ok=(201,), json={"name": name, **body})
        return self._json("PATCH", f"/pools/{name}", json={"pool": name, **body})
