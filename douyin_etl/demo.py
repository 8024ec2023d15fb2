"""The demo's wiring: the one product module that imports the simulated platform (``douyin_sim``).

``douyin-etl simulate`` (``simulate``) generates a world, ``douyin-etl serve-mock`` (``serve_mock``) serves
one through the mock Open API, and ``douyin-etl demo`` (``demo``) generates (or reuses) a world, serves
it, lands every day through Airflow (``dag.test`` of the three extract DAGs per business day, in this
process, no scheduler), then runs ``transform_warehouse`` once over the whole window and prints where
to look. The demo sets every setting it needs itself; nothing else in ``douyin_etl`` (nor ``dags/``)
imports ``douyin_sim`` (``tests/test_package_boundaries.py``).
"""

from __future__ import annotations

import json
import os
import socket
import time
from datetime import date, timedelta
from pathlib import Path

from douyin_etl import config
from douyin_etl.orchestration import steps

DEMO_START = date(2026, 10, 1)
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


def demo(days: int = 30, shops: int = 2, orders_per_day: int = 300, seed: int = 7) -> int:
    """Generate/reuse a world, serve it, land it through Airflow, transform, publish, print where to look."""
    from douyin_etl.orchestration import local_airflow
    from douyin_etl.orchestration.schedules import safe_run_id
    from douyin_etl.pipeline import land_days_through_airflow, transform_through_airflow
    from douyin_sim.mock_api import MockServer

    t0 = time.monotonic()
    world = config.world_dir()
    start, end = DEMO_START, DEMO_START + timedelta(days=days - 1)
    print(ensure_world(world, seed, start, days, shops, orders_per_day), flush=True)
    # The demo sets every setting it needs itself (nothing has a default outside the demo and the tests):
    # the world is history (its last day is the platform's "now"): no late updates to look back for.
    os.environ["DOUYIN_LOOKBACK_DAYS"] = "0"
    os.environ["DOUYIN_START_DATE"] = start.isoformat()
    os.environ["DOUYIN_DROPS_DIR"] = str(world / "drops")
    os.environ.update(demo_buyer_key_env())
    airflow_home = config.state_dir() / "airflow"
    port = _free_port(config.DEMO_API_PORT)
    with MockServer(world, app_key=config.DEMO_APP_KEY, app_secret=config.DEMO_APP_SECRET, port=port) as mock:
        os.environ.update(local_airflow.api_connection_env(mock.base_url, config.DEMO_APP_KEY, config.DEMO_APP_SECRET))
        os.environ["DOUYIN_SHOP_IDS"] = ",".join(
            str(s["shop_id"]) for s in json.loads((world / "world.json").read_text(encoding="utf-8"))["shops"]
        )
        print(f"demo settings: {', '.join(f'{k} {v}' for k, v in config.preflight().items())}", flush=True)
        print(f"mock Open API at {mock.base_url}; Airflow home {airflow_home}", flush=True)
        local_airflow.prepare(airflow_home)
        t1 = time.monotonic()
        land_days_through_airflow([start + timedelta(days=i) for i in range(days)])
        t_extract = time.monotonic() - t1
        print(f"landed {days} business days through Airflow (3 extract DAGs per day) in {t_extract:.0f} s", flush=True)
    t2 = time.monotonic()
    run = transform_through_airflow(start, end)
    ok = str(getattr(run, "state", "")).endswith("success")
    run_id = safe_run_id(run.run_id)
    report = steps.run_dir(run_id) / "report.json"
    wh = config.warehouse_path()
    recorded = steps.read_steps(run_id)
    print(
        f"transform_warehouse {steps.run_status(recorded).upper()} in {time.monotonic() - t2:.0f} s "
        f"(total {time.monotonic() - t0:.0f} s)"
    )
    for name, rec in recorded.items():
        if rec.get("status") not in ("ok", None):
            details = rec.get("details") or {}
            print(f"  {name} {rec['status']}: {str(details.get('summary') or details.get('error') or '')[:1500]}")
    print(f"  warehouse: {wh}")
    print(f"  report:    {report}  (report.html beside it)")
    print(f"  sample:    {SAMPLE_QUERY}")
    print(
        f"  e.g.       .venv/bin/python -c \"import duckdb; duckdb.connect('{wh}', read_only=True)"
        f".sql('{SAMPLE_QUERY}').show()\""
    )
    return 0 if ok else 1
