"""A local Airflow for the demo and the tests: its own AIRFLOW_HOME, migrated DB, pool, connection.

``prepare(home)`` must run before ``airflow`` is imported in this process (Airflow reads its home and
configuration at import time); it raises a clear error otherwise.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil

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
    """The ``doudian_default`` connection (and the plain env fallback) pointing at ``base_url``, with the
    self-use grant for every shop (the demo's and the tests' setting; a real deployment sets its own).

    Environment only: the secret is never written to a file or the Airflow DB.
    """
    conn = {
        "conn_type": "http",
        "host": base_url,
        "login": app_key,
        "password": app_secret,
        "extra": {"grant_type": "authorization_self"},  # the mock's shops: the app is their own
    }
    return {
        f"AIRFLOW_CONN_{config.DOUDIAN_CONN_ID.upper()}": json.dumps(conn),
        "DOUYIN_API_BASE_URL": base_url,
        "DOUYIN_APP_KEY": app_key,
        "DOUYIN_APP_SECRET": app_secret,
        "DOUYIN_SHOP_GRANT": "authorization_self",
    }


def prepare(home: Path) -> float:
    """Point this process at a local Airflow in ``home``: env, ``airflow db migrate`` (once), the pool.

    Returns the seconds spent. Safe to call again (migration is skipped when the DB exists).
    """
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    env = airflow_env(home)
    if "airflow" in sys.modules:
        from airflow.configuration import AIRFLOW_HOME

        if Path(AIRFLOW_HOME).resolve() != home.resolve():
            raise RuntimeError(
                f"airflow was already imported with AIRFLOW_HOME={AIRFLOW_HOME}; call prepare({home}) before "
                f"anything imports airflow (or run in a fresh process)"
            )
    os.environ.update(env)
    t0 = time.monotonic()
    if not (home / "airflow.db").exists():
        cmd = [str(Path(sys.executable).parent / "airflow"), "db", "migrate"]
        proc = subprocess.run(cmd, env=config.tool_env() | env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(
                f"`airflow db migrate` failed in {home} (exit {proc.returncode}):\n{proc.stderr[-2000:]}"
            )
        log.info("migrated the Airflow DB in %s in %.1f s", home, time.monotonic() - t0)
    ensure_pool()
    return time.monotonic() - t0


def ensure_pool() -> None:
    """Create the single-slot ``warehouse_writer`` pool (one DuckDB writer at a time)."""
    from airflow.models.pool import Pool

    Pool.create_or_update_pool(WAREHOUSE_POOL, WAREHOUSE_POOL_SLOTS, WAREHOUSE_POOL_DESCRIPTION, include_deferred=False)


def load_dags() -> dict:
    """dag_id -> DAG of every file in dags/; raises when a file fails to import."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(config.DAGS_DIR))
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    return dict(bag.dags)


def run_dag(dag, logical_date, conf: dict | None = None, run_after=None):
    """``dag.test()`` one run at ``logical_date`` (in process, no scheduler); returns the DagRun.

    ``run_after`` (default: now) names the run: ``manual_run_id(run_after)``."""
    return dag.test(logical_date=logical_date, run_conf=conf, run_after=run_after)


def manual_run_id(run_after) -> str:
    """The run id ``run_dag(..., run_after=run_after)`` gives its run (Airflow's, before ``safe_run_id``)."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.types import DagRunType

    return DagRun.generate_run_id(run_type=DagRunType.MANUAL, logical_date=run_after, run_after=run_after)


# The components of a local Airflow, as `airflow standalone` starts them, but with every listener on
# 127.0.0.1: Airflow 3.3's log servers (scheduler/triggerer "serve-logs", ports 8793/8794) bind every
# interface with no host setting, so they are not started (--skip-serve-logs): with the LocalExecutor
# on one machine the api-server reads task logs from <home>/logs directly.
def components(port: int) -> dict[str, list[str]]:
    return {
        "scheduler": ["scheduler", "--skip-serve-logs"],
        "dag-processor": ["dag-processor"],
        "triggerer": ["triggerer", "--skip-serve-logs"],
        "api-server": ["api-server", "--host", LOCAL_HOST, "--port", str(port)],
    }


LOCAL_HOST = "127.0.0.1"
STOP_GRACE_SECONDS = 20.0


def standalone_env(home: Path, port: int) -> dict[str, str]:
    """Environment of the local Airflow's components: loopback only, LocalExecutor, simple auth."""
    return (
        config.tool_env()
        | airflow_env(home)
        | {
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": os.environ.get(
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "admin:admin"
            ),
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords_file(home)),
            # naive dates (CLI, DAG arguments) as Beijing time; the UI shows the browser's zone, see login_text
            "AIRFLOW__CORE__DEFAULT_TIMEZONE": config.BUSINESS_TZ,
            "AIRFLOW__API__HOST": LOCAL_HOST,
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__BASE_URL": f"http://{LOCAL_HOST}:{port}",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://{LOCAL_HOST}:{port}/execution/",
            # listeners that are off by default: on loopback should anyone turn them on
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST": LOCAL_HOST,
            # the components start `airflow …` children from PATH: put this venv first
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        }
    )


UI_USER = "admin"
PASSWORD_ENV = "DOUYIN_AIRFLOW_PASSWORD"


def passwords_file(home: Path) -> Path:
    """Where the simple auth manager of the local Airflow keeps its passwords (user -> password, JSON)."""
    return Path(home) / "simple_auth_manager_passwords.json.generated"


def ensure_login(home: Path) -> tuple[str, str, bool]:
    """The UI login, written where the api-server reads it: (user, password, chosen by the user).

    ``$DOUYIN_AIRFLOW_PASSWORD`` when set (it replaces the stored one), else the one stored by an
    earlier start, else a new random one. The file is written atomically, mode 0600.
    """
    import secrets

    path = passwords_file(home)
    try:
        stored = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except ValueError:
        stored = {}
    chosen = os.environ.get(PASSWORD_ENV, "").strip()
    password = chosen or str(stored.get(UI_USER) or "") or secrets.token_urlsafe(12)
    if stored.get(UI_USER) != password:
        stored[UI_USER] = password
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(stored) + "\n")
        os.replace(tmp, path)
    return UI_USER, password, bool(chosen)


def login_text(port: int, user: str, password: str, chosen: bool) -> str:
    """What ``douyin-etl airflow`` prints at every start: the URL, the login, the time zone."""
    shown = f"the password in ${PASSWORD_ENV}" if chosen else password
    return "\n".join(
        [
            f"Airflow UI  http://{LOCAL_HOST}:{port}/",
            f"  login     {user} / {shown}"
            + ("" if chosen else f"   (choose your own: {PASSWORD_ENV}=… make airflow)"),
            f"  times     business days and schedules are {config.BUSINESS_TZ}; the UI shows your browser's "
            f"zone: pick {config.BUSINESS_TZ} under User → Timezone if it is another",
            "  stop      Ctrl-C (stops every component)",
        ]
    )


class _Stop(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _tree(procs: list[subprocess.Popen]) -> list[psutil.Process]:
    import psutil

    out = []
    for p in procs:
        try:
            root = psutil.Process(p.pid)
            out += [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
    return out


def stop_components(procs: list[subprocess.Popen], grace: float = STOP_GRACE_SECONDS) -> list[int]:
    """SIGTERM every component's process group and every descendant (some start their own groups),
    wait up to ``grace`` seconds, then SIGKILL what is left. Returns the pids that had to be killed."""
    import psutil

    seen = {p.pid: p for p in _tree(procs)}
    for proc in procs:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)  # each component leads its own session/group
    for p in list(seen.values()):
        with contextlib.suppress(psutil.Error):
            p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        seen.update({p.pid: p for p in _tree(procs)})  # children started while stopping
        alive = [p for p in seen.values() if _alive(p)]
        if not alive:
            break
        time.sleep(0.2)
    killed = []
    for proc in procs:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    for p in seen.values():
        if _alive(p):
            with contextlib.suppress(psutil.Error):
                p.kill()
                killed.append(p.pid)
    for proc in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
    if killed:
        log.warning("killed %d Airflow process(es) that did not stop within %.0f s: %s", len(killed), grace, killed)
    return killed


def _alive(p) -> bool:
    import psutil

    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def standalone(home: Path | None = None, port: int = 8080) -> int:
    """Run a local Airflow (scheduler, dag-processor, triggerer, api-server) on 127.0.0.1 with this
    project's DAGs, pool and settings; blocks until SIGINT/SIGTERM or a component exits.

    Every listener binds 127.0.0.1 (see ``components``). Each component runs in its own session; on
    SIGINT or SIGTERM (or when one component dies) every component's process group and descendant gets
    SIGTERM, and whatever is still running after ``STOP_GRACE_SECONDS`` gets SIGKILL: nothing is left
    behind. Login ``admin`` with ``$DOUYIN_AIRFLOW_PASSWORD`` or a random password kept in
    ``<home>/simple_auth_manager_passwords.json.generated`` (``ensure_login``), printed at every start.
    Returns 0 after a requested stop, else the exit status of the component that died.
    """
    home = Path(home or config.state_dir() / "airflow")
    with socket.socket() as probe:  # a port in use: one clear error now, not a dying api-server later
        probe.bind((LOCAL_HOST, port))
    prepare(home)
    user, password, chosen = ensure_login(home)
    env = standalone_env(home, port)
    airflow_bin = str(Path(sys.executable).parent / "airflow")
    procs: list[subprocess.Popen] = []
    names: dict[int, str] = {}

    def on_signal(signum, frame):  # noqa: ARG001
        raise _Stop(signum)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    code = 0
    try:
        for name, args in components(port).items():
            proc = subprocess.Popen([airflow_bin, *args], env=env, start_new_session=True)
            procs.append(proc)
            names[proc.pid] = name
        log.info("Airflow home %s; Ctrl-C or SIGTERM stops every component", home)
        print(login_text(port, user, password, chosen), flush=True)  # the terminal, never the logs
        while True:
            for proc in procs:
                rc = proc.poll()
                if rc is not None:
                    log.error("Airflow %s exited with status %s; stopping the other components", names[proc.pid], rc)
                    code = rc or 1
                    raise _Stop(0)
            time.sleep(0.5)
    except _Stop as stop:
        if stop.signum:
            log.info("%s: stopping Airflow (%d components)", signal.Signals(stop.signum).name, len(procs))
    finally:
        with contextlib.suppress(_Stop):  # a second Ctrl-C does not interrupt the cleanup
            for sig in previous:
                signal.signal(sig, signal.SIG_IGN)
            stop_components(procs)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return code
