"""Fixtures of the quality-gate tests: a throwaway lake/state per test, and a partition builder."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb
import pytest

from douyin_etl.entities import get as get_entity
from douyin_etl.sources.files.specs import SPECS


@pytest.fixture
def lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DOUYIN_LAKE_DIR", str(tmp_path / "lake"))
    monkeypatch.setenv("DOUYIN_STATE_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("DOUYIN_WAREHOUSE", str(tmp_path / "warehouse" / "douyin.duckdb"))
    monkeypatch.setenv("GX_ANALYTICS_ENABLED", "false")
    return tmp_path / "lake"


WritePartition = Callable[..., Path]


@pytest.fixture
def write_partition(lake: Path) -> WritePartition:
    """write_partition(entity, dt, columns: {name: SQL over i}, rows, overrides={...}) -> the partition dir."""

    def _write(
        entity: str,
        dt: date,
        columns: dict[str, str],
        rows: int,
        overrides: dict[str, str] | None = None,
        part: str = "part-00000.parquet",
    ) -> Path:
        e = get_entity(entity)
        schema = SPECS[entity].landed_schema() if entity in SPECS else {}
        cols = {**columns, **(overrides or {})}
        select = ", ".join(
            f'CAST({expr} AS {schema[name]}) AS "{name}"' if name in schema else f'{expr} AS "{name}"'
            for name, expr in cols.items()
        )
        select += ", 'drop/file.csv#' || (i + 2) AS _source_ref"
        pdir = lake / e.landing_dir / f"dt={dt.isoformat()}"
        pdir.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect()
        con.execute(f"COPY (SELECT {select} FROM range({rows}) t(i)) TO '{pdir / part}' (FORMAT parquet)")
        con.close()
        return pdir

    return _write
