"""inv_stock_daily is incremental (delete+insert with a lookback): a build over the first days of the
world followed by an incremental run over the whole world must equal the session's full build."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest

pytestmark = pytest.mark.slow

LOOKBACK_DAYS = 3


def _helpers() -> Any:
    """tests/dbt/conftest.py's plain helpers (run_dbt), loaded by path: several test folders have a
    conftest.py, so `import conftest` would be ambiguous."""
    spec = importlib.util.spec_from_file_location("dbt_conftest_helpers", Path(__file__).with_name("conftest.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _partial_lake(full_lake: Path, out: Path, upto: str) -> Path:
    """The lake as it stood on business day ``upto``: every partition with dt <= upto; the snapshot
    entities (landed once, under the last day) are moved to dt=upto."""
    for entity_dir in sorted(full_lake.glob("raw/*/*")):
        parts = sorted(p for p in entity_dir.iterdir() if p.name.startswith("dt="))
        kept = [p for p in parts if p.name <= f"dt={upto}"]
        if not kept and parts:  # snapshot entity: its one partition stands for the day
            shutil.copytree(parts[-1], out / entity_dir.relative_to(full_lake) / f"dt={upto}")
        for p in kept:
            shutil.copytree(p, out / p.relative_to(full_lake))
    return out


def _table(db_path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_inv_stock_daily_incremental_equals_full_build(dbt_world: dict[str, Any], tmp_path: Path) -> None:
    world_dir, full_lake, full_db = dbt_world["world_dir"], dbt_world["lake_dir"], dbt_world["db_path"]
    days = sorted(p.name for p in (world_dir / "drops").iterdir())
    early_day, last_day = days[-1 - LOOKBACK_DAYS], days[-1]
    early_lake = _partial_lake(full_lake, tmp_path / "lake_early", early_day)
    db = tmp_path / "inc.duckdb"
    select = ["--select", "+inv_stock_daily"]
    run_dbt = _helpers().run_dbt

    first = run_dbt(["run", *select], lake_dir=early_lake, db_path=db, target_dir=tmp_path / "t1",
                    dbt_vars={"as_of_date": early_day})
    assert first.returncode == 0, first.stdout[-3000:]
    (early_max,) = _table(db, "select max(stock_date) from inventory.inv_stock_daily")[0]
    assert str(early_max) == early_day

    second = run_dbt(["run", *select], lake_dir=full_lake, db_path=db, target_dir=tmp_path / "t2",
                     dbt_vars={"as_of_date": last_day, "lookback_days": LOOKBACK_DAYS})
    assert second.returncode == 0, second.stdout[-3000:]
    assert any(r["unique_id"].endswith("inv_stock_daily") and r["status"] == "success" for r in second.results)

    sql = "select * from inventory.inv_stock_daily order by stock_date, warehouse_id, sku_id"
    incremental, full = _table(db, sql), _table(full_db, sql)
    assert len(full) > 100
    assert incremental == full
