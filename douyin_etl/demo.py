"""The demo's wiring: the one product module that imports the simulated platform (``douyin_sim``).

``douyin-etl simulate`` (``simulate``) generates a world, ``douyin-etl serve-mock`` (``serve_mock``) serves
one through the mock Open API, and ``douyin-etl demo`` (``demo``) generates (or reuses) a world, serves
it, and runs the whole window through Airflow as one run of ``douyin_daily`` (``dag.test`` in this
process, no scheduler; conf start/end: every entity over every day, then one landing gate, one dbt
build, one mart gate, one publish and the run report), printing a line per step as the run records it,
then where the report is and the commands to try next. The demo sets every setting it needs itself; nothing else in ``douyin_etl`` (nor ``dags/``)
imports ``douyin_sim`` (``tests/test_package_boundaries.py``).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

from douyin_etl import config
from douyin_etl.orchestration import steps

DEMO_START = date(2026, 10, 1)
DEMO_API_QPS = "1000"  # client-side request limit against the mock (the real gateway's: DOUYIN_API_QPS, default 50)
SAMPLE_QUERY = (
    "select shop_id, date_day, sum(gmv_yuan) as gmv_yuan from sales.sales_daily group by all order by all limit 10"
)


def world_matches(world: Path, seed: int, start: date, days: int, shops: int, orders_per_day: int) -> bool:
    """``world`` is complete (``world.json``, ``platform/``, ``drops/``) and was generated with these parameters."""
    meta = world / "world.json"
    if not meta.exists() or not (world / "platform").is_dir() or not (world / "drops").is_dir():
        return False  # absent or partial (e.g. platform/ deleted): generate it again
    try:
        w = json.loads(meta.read_text(encoding="utf-8"))
    except ValueError:
        return False
    return (
        w.get("seed") == seed
        and w.get("start") == start.isoformat()
        and w.get("days") == days
        and len(w.get("shops", [])) == shops
        and w.get("orders_per_day") == orders_per_day
    )


def ensure_world(world: Path, seed: int, start: date, days: int, shops: int, orders_per_day: int) -> str:
    """Generate the world unless ``world/world.json`` already has these parameters."""
    if world_matches(world, seed, start, days, shops, orders_per_day):
        return f"world {world}: reused (same parameters)"
    return simulate(world, seed, start, days, shops, orders_per_day)


def demo_buyer_key_env() -> dict[str, str]:
    """The demo's own buyer key, as the ``douyin_buyer_key`` connection (wins over anything else set)."""
    from douyin_etl.connections import env_var

    return {
        env_var(config.BUYER_KEY_CONN_ID): json.dumps(
            {"conn_type": "generic", "password": config.DEMO_BUYER_KEY_SECRET}
        )
    }


def _free_port(preferred: int) -> int:
    with socket.socket() as s:
        try:
            s.bind((config.DEMO_API_HOST, preferred))
            return preferred
        except OSError:
            s.bind((config.DEMO_API_HOST, 0))
            return s.getsockname()[1]


@contextlib.contextmanager
def mock_api_process(world: Path, port: int, timeout: float = 120.0) -> Iterator[str]:
    """``douyin-etl serve-mock`` of ``world`` in a child process (it serves on the other core while this
    one extracts); yields its base URL once it accepts connections, stops it afterwards."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(config.PROJECT_DIR), os.environ.get("PYTHONPATH")])),
    }
    cmd = [sys.executable, "-m", "douyin_etl", "-q", "serve-mock", "--world", str(world)]
    proc = subprocess.Popen([*cmd, "--host", config.DEMO_API_HOST, "--port", str(port)], env=env)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the mock Open API ({' '.join(cmd)}) exited with status {proc.returncode}")
            with socket.socket() as probe:
                if probe.connect_ex((config.DEMO_API_HOST, port)) == 0:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the mock Open API did not listen on port {port} within {timeout:.0f} s")
            time.sleep(0.1)
        yield f"http://{config.DEMO_API_HOST}:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def simulate(out: Path, seed: int, start: date, days: int, shops: int, orders_per_day: int) -> str:
    """Generate a world into ``out``; returns its one-line summary."""
    from douyin_sim.simulator import generate_world

    return str(generate_world(out=out, seed=seed, start=start, days=days, shops=shops, orders_per_day=orders_per_day))


def serve_mock(world: Path, host: str, port: int, app_key: str, app_secret: str, faults: str) -> None:
    """Serve ``world`` through the mock Open API until interrupted (``faults``: a ``FaultConfig`` spec)."""
    from douyin_sim.mock_api import FaultConfig, serve

    serve(
        world=world, host=host, port=port, app_key=app_key, app_secret=app_secret, faults=FaultConfig.from_spec(faults)
    )


def _cli() -> str:
    """How to call the CLI from here: ``douyin-etl`` when it is this venv's on PATH, else its path."""
    import shutil

    exe = Path(sys.executable).parent / "douyin-etl"
    if not exe.exists():
        return f"{sys.executable} -m douyin_etl"
    found = shutil.which("douyin-etl")
    if found and Path(found).resolve() == exe.resolve():
        return "douyin-etl"
    try:
        return str(exe.relative_to(Path.cwd()))
    except ValueError:
        return str(exe)


def next_steps(cli: str, report_html: Path, warehouse: Path) -> str:
    """The demo's last words: where the report and the warehouse are, and the commands to try next."""
    query = f'{cli} query "{SAMPLE_QUERY}"'
    rows = [
        (query, "read-only SQL; --format csv|json|parquet, -f FILE, or SQL on stdin"),
        (f"{cli} status", "recent runs, gates, the published version, freshness per mart"),
        (f"{cli} export --period 2026-10", "finance workbook (reconciliation, settlements, fees, P&L)"),
        (f"{cli} docs", "dbt docs and the run reports on http://127.0.0.1:8081/"),
        (f"{cli} dashboard", "the operator dashboard on http://127.0.0.1:8501/"),
        ("make airflow", "the Airflow UI on http://127.0.0.1:8080/ (prints its login)"),
        (f"{cli} --help", "every command, its options and examples"),
    ]
    width = max(len(c) for c, _ in rows[1:])
    lines = [
        f"  report     {report_html}  (report.json beside it)",
        f"  warehouse  {warehouse}",
        "",
        "Next, try:",
        f"  {query}",
        f"  {'':{width}}  {rows[0][1]}",
    ]
    lines += [f"  {c:{width}}  {what}" for c, what in rows[1:]]
    return "\n".join(lines)


def demo(days: int = 30, shops: int = 2, orders_per_day: int = 300, seed: int = 7) -> int:
    """Generate/reuse a world, serve it, run the window through Airflow in one ``douyin_daily`` run
    (extract, gates, build, publish, report), print each step as it is recorded and what to do next."""
    from douyin_etl import entities
    from douyin_etl.orchestration import local_airflow
    from douyin_etl.orchestration.schedules import safe_run_id
    from douyin_etl.pipeline import daily_over_range_through_airflow
    from douyin_etl.progress import StepWatcher, heartbeat
    from douyin_etl.timeutil import utc_now

    t0 = time.monotonic()
    world = config.world_dir()
    start, end = DEMO_START, DEMO_START + timedelta(days=days - 1)
    print(f"[1/4] world: {days} days × {shops} shops × ~{orders_per_day} orders a day (seed {seed})", flush=True)
    with heartbeat("generating the world"):
        print(
            "      " + ensure_world(world, seed, start, days, shops, orders_per_day).replace("\n", "\n      "),
            flush=True,
        )
    # The demo sets every setting it needs itself (nothing has a default outside the demo and the tests):
    # the world is history (its last day is the platform's "now"): no late updates to look back for.
    os.environ["DOUYIN_LOOKBACK_DAYS"] = "0"
    os.environ["DOUYIN_START_DATE"] = start.isoformat()
    os.environ["DOUYIN_DROPS_DIR"] = str(world / "drops")
    os.environ["DOUYIN_API_QPS"] = DEMO_API_QPS  # the mock has no gateway limit (the real one: docs/deploy.md)
    os.environ.update(demo_buyer_key_env())
    airflow_home = config.state_dir() / "airflow"
    with mock_api_process(world, _free_port(config.DEMO_API_PORT)) as base_url:
        os.environ.update(local_airflow.api_connection_env(base_url, config.DEMO_APP_KEY, config.DEMO_APP_SECRET))
        os.environ["DOUYIN_SHOP_IDS"] = ",".join(
            str(s["shop_id"]) for s in json.loads((world / "world.json").read_text(encoding="utf-8"))["shops"]
        )
        print(f"[2/4] mock Open API at {base_url} (its own process); Airflow home {airflow_home}", flush=True)
        print(f"      settings: {', '.join(f'{k} {v}' for k, v in config.preflight().items())}", flush=True)
        with heartbeat("preparing Airflow (database migration on the first run)"):
            local_airflow.prepare(airflow_home)
        print(
            f"[3/4] Airflow: one douyin_daily run over {start}..{end} (every entity and day, then gates, "
            f"dbt build, publish)",
            flush=True,
        )
        t1 = time.monotonic()
        run_after = utc_now()
        run_id = safe_run_id(local_airflow.manual_run_id(run_after))
        with StepWatcher(steps.run_dir(run_id) / "steps", expected_extracts=len(entities.ENTITIES)):
            run = daily_over_range_through_airflow(start, end, run_after=run_after)
    run_id = safe_run_id(run.run_id)
    recorded = steps.read_steps(run_id)
    status = steps.run_status(recorded)
    ok = str(getattr(run, "state", "")).endswith("success") and status == "published"
    report_html = steps.run_dir(run_id) / "report.html"
    print(
        f"[4/4] {status.upper()}: the Airflow run took {_minutes(time.monotonic() - t1)}, "
        f"the demo {_minutes(time.monotonic() - t0)}",
        flush=True,
    )
    for name, rec in recorded.items():
        if rec.get("status") not in ("ok", None):
            details = rec.get("details") or {}
            print(f"  {name} {rec['status']}: {str(details.get('summary') or details.get('error') or '')[:1500]}")
    print(next_steps(_cli(), report_html, config.warehouse_path()), flush=True)
    return 0 if ok else 1


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{int(seconds // 60)} min {seconds % 60:.0f} s"
