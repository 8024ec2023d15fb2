"""inv_stock_daily is incremental (delete+insert with a lookback): a build over the first days of the
world followed by an incremental run over the whole world must equal the session's full build."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

pytestmark = pytest.mark.slow

LOOKBACK_DAYS = 3


def _table(db_path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_inv_stock_daily_incremental_equals_full_build(dbt_world: dict[str, Any], dbt_helpers, tmp_path: Path) -> None:
    h = dbt_helpers
    full_lake, full_db = dbt_world["lake_dir"], dbt_world["db_path"]
    days = h.world_days(dbt_world["world_dir"])
    early_day, last_day = days[-1 - LOOKBACK_DAYS], days[-1]
    early_lake = h.lake_as_of(full_lake, tmp_path / "lake_early", early_day)  # the lake as it stood then
    db = tmp_path / "incremental.duckdb"
    select = ["--select", "+inv_stock_daily"]

    first = h.run_dbt(
        ["run", *select], lake_dir=early_lake, db_path=db, run_dir=tmp_path / "t1", run_params={"as_of_date": early_day}
    )
    assert first.ok, first.failures or first.error
    (early_max,) = _table(db, "select max(stock_date) from inventory.inv_stock_daily")[0]
    assert early_max == early_day

    second = h.run_dbt(
        ["run", *select],
        lake_dir=full_lake,
        db_path=db,
        run_dir=tmp_path / "t2",
        run_params={"as_of_date": last_day},
        vars={"lookback_days": LOOKBACK_DAYS},
    )
    assert second.ok, second.failures or second.error
    assert any(n.unique_id.endswith("inv_stock_daily") and n.status == "success" for n in second.nodes)

    sql = "select * from inventory.inv_stock_daily order by stock_date, warehouse_id, sku_id"
    incremental, full = _table(db, sql), _table(full_db, sql)
    assert len(full) > 100
    assert incremental == full
