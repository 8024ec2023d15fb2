"""The tests' simulated worlds and how they land: plain helpers, imported by the conftests and tests.

- ``SHARED_WORLD`` / ``build_published(base)``: the one world of the dbt, access and dashboard tests and its
  published warehouse, built by a real ``run_range`` (the session fixture ``published_warehouse``).
- ``pipeline_env_of(world, base)``: the DOUYIN_* variables of a run over ``world`` with lake, state and
  warehouse under ``base`` (a ``MonkeyPatch``; the caller undoes it).
- ``mock_pipeline(world, base)``: the same plus the mock Open API serving ``world`` and its connection.
- ``land_world(world, base, start, end)``: land days as a run lands them (real extractor, real ingestion).
- ``lake_as_of(lake, out, day)``: a landed lake as it stood after ``day``; ``world_days(world)``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

# The one world of the dbt, access and dashboard tests (seed 7 from 2026-03-01): 14 days so settlements
# exist (they start ~9 days in) and the dashboard's sub-periods (first day + 2 .. last day - 3) are several
# days long; every day in one month, which the access tests export; 2 shops x 100 orders/day so every kind
# of anomaly the marts reconcile (truth/anomalies.csv) occurs. Landed once, through the real extractor.
SHARED_WORLD = {"seed": 7, "start": date(2026, 3, 1), "days": 14, "shops": 2, "orders_per_day": 100}
PUBLISHED_RUN_ID = "test-run"
MOCK_APP_KEY, MOCK_APP_SECRET = "demo_app_key", "demo_app_secret_change_me"


def pipeline_env_of(world: Path, base: Path) -> pytest.MonkeyPatch:
    """Point a pipeline run at ``world`` (its drops and shops) with lake, state and warehouse under ``base``.

    Returns the ``MonkeyPatch`` holding the variables; the caller adds its own and calls ``undo()``.
    """
    mp = pytest.MonkeyPatch()
    shops = json.loads((world / "world.json").read_text(encoding="utf-8"))["shops"]
    for k, v in {
        "DOUYIN_LAKE_DIR": base / "lake",
        "DOUYIN_STATE_DIR": base / "state",
        "DOUYIN_WAREHOUSE": base / "warehouse" / "douyin.duckdb",
        "DOUYIN_WORLD_DIR": world,
        "DOUYIN_DROPS_DIR": world / "drops",
        "DOUYIN_SHOP_IDS": ",".join(str(s["shop_id"]) for s in shops),
    }.items():
        mp.setenv(k, str(v))
    return mp


@dataclasses.dataclass(frozen=True)
class Published:
    """A published warehouse under ``base``: its world, lake, state dir (run reports), the published file and run."""

    base: Path
    world: Path
    lake: Path
    state_dir: Path
    warehouse: Path
    run_id: str
    first_day: date
    last_day: date

    def env(self) -> dict[str, str]:
        return {
            "DOUYIN_HOME": str(self.base),
            "DOUYIN_STATE_DIR": str(self.state_dir),
            "DOUYIN_WAREHOUSE": str(self.warehouse),
            "DOUYIN_LAKE_DIR": str(self.lake),
        }

    def report(self) -> dict:
        """The published run's report (``<state>/runs/<run_id>/report.json``)."""
        return json.loads((self.state_dir / "runs" / self.run_id / "report.json").read_text(encoding="utf-8"))

    def run_results(self) -> list[dict]:
        """dbt's ``run_results.json`` results of the published run's build (every model, seed, snapshot, test)."""
        path = self.state_dir / "runs" / self.run_id / "dbt" / "run_results.json"
        return json.loads(path.read_text(encoding="utf-8"))["results"]

    def query(self, sql: str, params: dict | None = None) -> list[tuple]:
        """Rows of ``sql`` over the published warehouse, opened read-only."""
        return query(self.warehouse, sql, params)


def world_days(world: Path) -> list[date]:
    """The business days of a generated world (one drops folder per day), oldest first."""
    return sorted(date.fromisoformat(p.name) for p in (world / "drops").iterdir() if p.is_dir())


@contextlib.contextmanager
def mock_pipeline(world: Path, base: Path) -> Iterator[pytest.MonkeyPatch]:
    """A run's environment over ``world`` (``pipeline_env``: lake, state, warehouse under ``base``) with the
    mock Open API serving ``world`` and its connection set; undone on exit."""
    from douyin_etl.orchestration.local_airflow import api_connection_env
    from douyin_sim.mock_api import MockServer

    mp = pipeline_env_of(world, base)
    try:
        with MockServer(world) as mock:
            for k, v in api_connection_env(mock.base_url, MOCK_APP_KEY, MOCK_APP_SECRET).items():
                mp.setenv(k, v)
            yield mp
    finally:
        mp.undo()


def land_world(
    world: Path, base: Path, start: date | None = None, end: date | None = None, run_id: str = "test-landing"
) -> Path:
    """Land the world's business days ``start..end`` (default: all) into ``<base>/lake`` as a run lands them
    (``orchestration.run.extract``): the Open API entities through the real extractor against the mock API
    over ``world``, the file drops through the real ingestion. Returns the lake."""
    from douyin_etl.orchestration import run

    days = world_days(world)
    with mock_pipeline(world, base):
        run.extract(run.begin(run.plan_range(run_id, start or days[0], end or days[-1])), drops_dir=world / "drops")
    return base / "lake"


def lake_as_of(lake: Path, out: Path, upto: date) -> Path:
    """A copy of the landed ``lake``'s raw partitions with ``dt <= upto``: the lake after landing ``upto``."""
    for part in sorted(lake.glob("raw/*/*/dt=*")):
        if date.fromisoformat(part.name.removeprefix("dt=")) <= upto:
            shutil.copytree(part, out / part.relative_to(lake), dirs_exist_ok=True)
    return out


def build_published(base: Path) -> Published:
    """World (SHARED_WORLD) -> ``run_range`` over every day -> published warehouse, all under ``base``.

    A real run: the Open API entities land through the extractor against the mock API, the file drops
    through the ingestion; the landing gate, the ``dbt build`` into the audit copy (the product's runner),
    the mart gate, ``publish`` and the run report (``PUBLISHED_RUN_ID``). The environment
    (``Published.env``) is set only while building. Also usable by hand.
    """
    from douyin_etl.orchestration.run import run_range
    from douyin_sim.simulator import generate_world

    world = base / "world"
    generate_world(world, **SHARED_WORLD)
    days = world_days(world)
    pub = Published(
        base,
        world,
        base / "lake",
        base / "state",
        base / "warehouse" / "douyin.duckdb",
        PUBLISHED_RUN_ID,
        days[0],
        days[-1],
    )
    with mock_pipeline(world, base):
        run = run_range(days[0], days[-1], run_id=PUBLISHED_RUN_ID)
        if not run.ok:
            raise RuntimeError(f"the run for the published warehouse failed:\n{run.summary()}")
    return pub


def query(db_path: Path, sql: str, params: dict | None = None) -> list[tuple]:
    """Rows of ``sql`` over a warehouse file, opened read-only."""
    import duckdb

    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return con.execute(sql, params or {}).fetchall()
    finally:
        con.close()
