"""Fixtures for the dbt tests: a small simulated world, its lake, and a real dbt build over it.

``dbt_world_lake`` (session) -> ``(world_dir, lake_dir, db_path)`` after ``dbt build`` of the whole
project over a 10-day × 2-shop world (~200 shop orders/day):

- platform entities (Open API) are copied from the world's ``platform/<entity>/dt=*/`` into
  ``<lake>/raw/doudian/<entity>/dt=*/part-00000.parquet`` (the world holds the API column names, as
  landing does; a ``_source_ref`` column is added); the snapshot entities (product, sku) land once,
  under the world's last day;
- file entities are landed by ``douyin_etl.sources.files.ingest.ingest_entity`` over every day's drops.

dbt always runs as a subprocess (``run_dbt``), never in-process (it would keep the DuckDB file locked).
The helpers are plain functions; tests reach them through the ``dbt_helpers`` fixture (a namespace
with ``generate_world, build_lake, land_platform, land_files, run_dbt, query, world_days``) so that no
test module imports this conftest by name.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import duckdb
import pytest

from douyin_etl import config
from douyin_etl.entities import ENTITIES

log = logging.getLogger(__name__)

DBT = Path(sys.executable).parent / "dbt"
WORLD_SEED = 7
WORLD_START = date(2026, 3, 1)
WORLD_DAYS = 10
WORLD_SHOPS = 2
WORLD_ORDERS_PER_DAY = 200
SNAPSHOT_ENTITIES = ("product", "sku")
# The world stores Qianchuan money as the API speaks it (yuan decimals); landing holds fen.
YUAN_COLUMNS = {"ad_report": ("stat_cost", "pay_order_amount", "create_order_amount")}


@dataclass
class DbtRun:
    returncode: int
    stdout: str
    results: list[dict[str, Any]]
    seconds: float

    @property
    def failures(self) -> list[dict[str, Any]]:
        return [r for r in self.results if r["status"] in ("error", "fail", "runtime error")]

    def failures_in(self, unique_id_prefixes: tuple[str, ...] | None = None) -> list[str]:
        """Failing nodes (optionally only those whose unique_id starts with a prefix), with messages."""
        return [f"{r['unique_id']}: {r.get('message')}" for r in self.failures
                if unique_id_prefixes is None or r["unique_id"].startswith(unique_id_prefixes)]


def generate_world(world_dir: Path, *, days: int = WORLD_DAYS, shops: int = WORLD_SHOPS,
                   orders_per_day: int = WORLD_ORDERS_PER_DAY, seed: int = WORLD_SEED,
                   start: date = WORLD_START) -> Path:
    from douyin_sim.simulator import generate_world as _generate

    _generate(world_dir, seed, start, days, shops, orders_per_day)
    return world_dir


def world_days(world_dir: Path) -> list[date]:
    drops = sorted(p.name for p in (world_dir / "drops").iterdir() if p.is_dir())
    return [date.fromisoformat(d) for d in drops]


def land_platform(world_dir: Path, lake_dir: Path, upto: date | None = None) -> None:
    """Copy the world's API partitions with dt <= upto into the lake (one part file per dt)."""
    days = world_days(world_dir)
    last = upto or days[-1]
    con = duckdb.connect()
    try:
        con.execute("SET threads = 1")
        for entity in (e for e in ENTITIES.values() if e.kind == "api"):
            src = world_dir / "platform" / entity.name
            if not src.exists():
                continue
            if entity.name in SNAPSHOT_ENTITIES:
                parts = {last.isoformat(): sorted(src.glob("*.parquet"))}
            else:
                parts = {p.name.removeprefix("dt="): sorted(p.glob("*.parquet"))
                         for p in src.iterdir() if p.name.startswith("dt=")}
            for dt, files in sorted(parts.items()):
                if date.fromisoformat(dt) > last or not files:
                    continue
                out = lake_dir / "raw" / entity.source / entity.name / f"dt={dt}"
                out.mkdir(parents=True, exist_ok=True)
                file_list = ", ".join(f"'{f}'" for f in files)
                scan = f"read_parquet([{file_list}], filename = true, union_by_name = true)"
                columns = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()]
                exclude = ", ".join(c for c in ("filename", "dt") if c in columns)
                replace = ", ".join(f"CAST({c} * 100 AS BIGINT) AS {c}" for c in YUAN_COLUMNS.get(entity.name, ()))
                con.execute(
                    f"COPY (SELECT * EXCLUDE ({exclude}){f' REPLACE ({replace})' if replace else ''}, "
                    f"'world:' || parse_filename(filename) AS _source_ref FROM {scan}) "
                    f"TO '{out / 'part-00000.parquet'}' (FORMAT parquet)")
    finally:
        con.close()


def land_files(world_dir: Path, lake_dir: Path, days: list[date]) -> None:
    """Land every file entity's drops of ``days`` through the real ingestion."""
    from douyin_etl.sources.files.ingest import ingest_entity
    from douyin_etl.sources.files.specs import SPECS
    from douyin_etl.storage import Storage

    storage = Storage(str(lake_dir))
    shops = [str(s["shop_id"]) for s in json.loads((world_dir / "world.json").read_text(encoding="utf-8"))["shops"]]
    for day in days:
        for entity in SPECS:
            ingest_entity(entity, day, run_id=f"test-{day:%Y%m%d}", drops_dir=world_dir / "drops", storage=storage,
                          shops=shops)


def build_lake(world_dir: Path, lake_dir: Path, upto: date | None = None) -> Path:
    days = [d for d in world_days(world_dir) if upto is None or d <= upto]
    land_platform(world_dir, lake_dir, upto)
    land_files(world_dir, lake_dir, days)
    return lake_dir


def run_dbt(args: list[str], *, lake_dir: Path, db_path: Path, target_dir: Path,
            dbt_vars: dict[str, Any] | None = None) -> DbtRun:
    """Run dbt as a subprocess against ``db_path`` over ``lake_dir``; parse run_results.json."""
    import time

    from douyin_etl.buyer_key import dbt_env

    env = config.tool_env() | {"DOUYIN_LAKE_DIR": str(lake_dir), "DOUYIN_DBT_DB_PATH": str(db_path)} | dbt_env()
    # The lake reaches dbt through DOUYIN_LAKE_DIR only and the buyer key as its HMAC pads in the
    # environment (tests/conftest.py sets DOUYIN_BUYER_KEY_SECRET), as with the pipeline's runner.
    merged_vars = dict(dbt_vars or {})
    cmd = [str(DBT), *args, "--project-dir", str(config.DBT_PROJECT_DIR),
           "--profiles-dir", str(config.DBT_PROJECT_DIR), "--target-path", str(target_dir),
           "--log-path", str(target_dir / "logs"), "--vars", json.dumps(merged_vars)]
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=target_dir.parent)
    seconds = time.perf_counter() - started
    results_file = target_dir / "run_results.json"
    results = json.loads(results_file.read_text())["results"] if results_file.exists() else []
    if proc.returncode != 0:
        log.warning("dbt %s exited %s:\n%s", " ".join(args), proc.returncode, proc.stdout[-4000:])
    return DbtRun(proc.returncode, proc.stdout, results, seconds)


def query(db_path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="session")
def dbt_world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """World + lake + one full dbt build; the dict also carries the DbtRun of the build."""
    base = tmp_path_factory.mktemp("dbt_world")
    world_dir = generate_world(base / "world")
    lake_dir = build_lake(world_dir, base / "lake")
    db_path = base / "douyin.duckdb"
    run = run_dbt(["build"], lake_dir=lake_dir, db_path=db_path, target_dir=base / "target")
    if not db_path.exists():
        pytest.fail(f"dbt build produced no warehouse:\n{run.stdout[-4000:]}")
    return {"world_dir": world_dir, "lake_dir": lake_dir, "db_path": db_path, "run": run, "base": base}


@pytest.fixture(scope="session")
def dbt_world_lake(dbt_world: dict[str, Any]) -> tuple[Path, Path, Path]:
    """(world_dir, lake_dir, db_path) after a dbt build over a small generated world."""
    return dbt_world["world_dir"], dbt_world["lake_dir"], dbt_world["db_path"]


@pytest.fixture(scope="session")
def dbt_helpers() -> SimpleNamespace:
    """The helpers above, for tests that build their own lakes or run dbt again."""
    return SimpleNamespace(generate_world=generate_world, build_lake=build_lake, land_platform=land_platform,
                           land_files=land_files, run_dbt=run_dbt, query=query, world_days=world_days)
