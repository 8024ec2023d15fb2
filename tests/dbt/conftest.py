"""Fixtures for the dbt tests: the session's one landed world and its published warehouse, and helpers.

``dbt_world`` (session) is the root conftest's ``published_warehouse`` seen from dbt: a ``SHARED_WORLD``
world (14 days x 2 shops) landed by a real ``run_range`` (the Open API entities through the extractor
against the mock API, the file drops through the ingestion) and built by the product's dbt runner
(``douyin_etl.warehousing.dbt_runner.run_dbt``, ``dbt build`` with every data and unit test). The dict
holds ``world_dir``, ``lake_dir``, ``db_path`` (the published warehouse: read it, never write it),
``results`` (dbt's run_results of that build) and ``base``.

dbt runs only through the product's runner. Tests that build warehouses of their own reach it through
``dbt_helpers.run_dbt``, which points the runner at a given lake (``DOUYIN_LAKE_DIR`` of the dbt process)
and nothing else. Helpers (``dbt_helpers``): ``run_dbt, lake_as_of, land_world, world_days, query``.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from douyin_etl.warehousing.dbt_runner import DbtResult
from douyin_etl.warehousing.dbt_runner import run_dbt as product_run_dbt
from worlds import lake_as_of, land_world, query, world_days  # tests/worlds.py


def run_dbt(
    args: list[str],
    *,
    lake_dir: Path,
    db_path: Path,
    run_dir: Path,
    run_params: dict[str, Any] | None = None,
    vars: dict[str, Any] | None = None,
    read_only: bool = False,
) -> DbtResult:
    """The product's runner over ``lake_dir`` (the dbt process's ``DOUYIN_LAKE_DIR``) into ``db_path``."""
    return product_run_dbt(
        args,
        db_path=db_path,
        run_dir=run_dir,
        run_params=run_params,
        vars=vars,
        read_only=read_only,
        extra_env={"DOUYIN_LAKE_DIR": str(lake_dir)},
    )


@pytest.fixture(scope="session")
def dbt_world(published_warehouse) -> dict[str, Any]:
    """The session's published warehouse, its world, lake and dbt build results (module docstring)."""
    pub = published_warehouse
    return {
        "world_dir": pub.world,
        "lake_dir": pub.lake,
        "db_path": pub.warehouse,
        "results": pub.run_results(),
        "base": pub.base,
    }


@pytest.fixture(scope="session")
def dbt_world_lake(dbt_world: dict[str, Any]) -> tuple[Path, Path, Path]:
    """(world_dir, lake_dir, db_path) of ``dbt_world``."""
    return dbt_world["world_dir"], dbt_world["lake_dir"], dbt_world["db_path"]


@pytest.fixture(scope="session")
def dbt_helpers() -> SimpleNamespace:
    """The helpers above, for tests that build their own lakes or run dbt again."""
    return SimpleNamespace(
        run_dbt=run_dbt, lake_as_of=lake_as_of, land_world=land_world, world_days=world_days, query=query
    )
