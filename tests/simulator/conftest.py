from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from douyin_sim.simulator import generate_world

START = date(2026, 10, 1)


@pytest.fixture(scope="session")
def world(tmp_path_factory) -> Path:
    """The CI-sized world other tests rely on: 10 days × 2 shops × 200 orders/day, seed 7."""
    out = tmp_path_factory.mktemp("sim") / "world"
    generate_world(out, seed=7, start=START, days=10, shops=2, orders_per_day=200)
    return out


@pytest.fixture(scope="session")
def con(world: Path):
    c = duckdb.connect()
    c.execute("SET TimeZone='Asia/Shanghai'")
    for e in ("shop_order", "sku_order", "after_sale", "alliance_order", "settlement_bill", "fund_flow", "ad_report"):
        c.execute(
            f"CREATE VIEW {e} AS SELECT * FROM read_parquet('{world}/platform/{e}/*/*.parquet', hive_partitioning=true)"
        )
    c.execute(f"CREATE VIEW recon AS SELECT * FROM '{world}/truth/reconciliation.parquet'")
    yield c
    c.close()
