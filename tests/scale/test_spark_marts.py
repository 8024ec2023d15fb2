"""The marts on Apache Spark, from the same dbt models and the same landed lake, equal DuckDB's.

One small lake (2 shops × 12 days × 20 orders/day, so settlements exist) is landed as a run lands it
(``worlds.land_world``: the extractor against the mock API, the file ingestion); ``dbt build`` builds it with DuckDB (the default target) and ``build_marts_on_spark`` with
Spark (``dbt build --target spark``: seeds, models, data and unit tests; contracts enforced on both). Spark's tables are
read back as Parquet files from its warehouse directory with DuckDB and compared with DuckDB's marts
row for row: money (DECIMAL yuan, BIGINT fen), counts, dates and strings exactly; instants as UTC
epoch microseconds; DOUBLE rates within 1e-9 relative (the only floats; money never is one).

Every mart is compared except the documented non-portable ones (``NOT_ON_SPARK``); the test asserts
that the compared list is exactly DuckDB's marts minus those.
"""

from __future__ import annotations

import logging
import math
import time
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from douyin_etl.spark_build import build_marts_on_spark, mart_files
from douyin_etl.warehousing.dbt_runner import run_dbt
from douyin_sim.simulator import generate_world
from worlds import land_world  # tests/worlds.py

pytestmark = [pytest.mark.scale, pytest.mark.slow]

log = logging.getLogger(__name__)

WORLD = {"seed": 7, "start": date(2026, 3, 1), "days": 12, "shops": 2, "orders_per_day": 20}
MART_SCHEMAS = ("sales", "finance", "inventory", "performance", "snapshots")
# Built on DuckDB only: a dbt snapshot needs a Delta/Hudi table on Spark (docs/deploy.md, "Spark").
NOT_ON_SPARK = ("snapshots.snap_sku_prices",)
# Every mart both engines build: compared row for row.
COMPARED_MARTS = (
    "finance.fin_fee_breakdown_daily",
    "finance.fin_platform_fee_rates",
    "finance.fin_fund_flow",
    "finance.fin_order_reconciliation",
    "finance.fin_pnl_daily",
    "finance.fin_pnl_product_daily",
    "finance.fin_settlement_lines",
    "finance.fin_withdrawals",
    "inventory.inv_alerts",
    "inventory.inv_health",
    "inventory.inv_movements",
    "inventory.inv_replenishment",
    "inventory.inv_stock_daily",
    "performance.perf_ads",
    "performance.perf_creators",
    "performance.perf_fulfilment",
    "performance.perf_live_sessions",
    "performance.perf_videos",
    "sales.dim_creators",
    "sales.dim_date",
    "sales.dim_products",
    "sales.dim_shops",
    "sales.dim_sku_prices",
    "sales.dim_skus",
    "sales.fct_order_lines",
    "sales.fct_orders",
    "sales.fct_refunds",
    "sales.sales_cohorts_monthly",
    "sales.sales_customers",
    "sales.sales_daily",
    "sales.sales_funnel_daily",
)
REL_TOL = 1e-9


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The lake, DuckDB's warehouse and Spark's directory after both builds (with their wall times)."""
    base = tmp_path_factory.mktemp("spark_marts")
    world = base / "world"
    generate_world(world, **WORLD)
    lake = land_world(world, base)  # through the extractor against the mock API, as a run lands it
    db_path = base / "duckdb" / "douyin.duckdb"
    duck = run_dbt(
        ["build"], db_path=db_path, run_dir=base / "duckdb" / "dbt", extra_env={"DOUYIN_LAKE_DIR": str(lake)}
    )
    assert duck.ok, duck.failures or duck.error
    started = time.monotonic()
    spark = build_marts_on_spark(lake, base / "spark")
    spark_wall = time.monotonic() - started
    assert spark.ok, spark.failures or spark.error
    models = {
        kind: sum(1 for n in result.nodes if n.resource_type == "model")
        for kind, result in (("duckdb", duck), ("spark", spark))
    }
    log.info(
        "dbt build of %d models (seeds, data tests): DuckDB %.1f s, Spark %.1f s (JVM start included)",
        models["spark"],
        duck.elapsed,
        spark_wall,
    )
    assert models["spark"] == models["duckdb"]
    return {"db_path": db_path, "spark_dir": base / "spark", "duck": duck, "spark": spark, "lake": lake}


@pytest.fixture(scope="module")
def con(builds: dict[str, Any]):
    """DuckDB over both: DuckDB's warehouse attached read-only as ``duck``; Spark's files by glob."""
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    connection.execute(f"ATTACH '{builds['db_path']}' AS duck (READ_ONLY)")
    try:
        yield connection
    finally:
        connection.close()


def _spark_scan(spark_dir: Path, mart: str) -> str:
    schema, table = mart.split(".")
    return f"read_parquet('{mart_files(spark_dir, schema, table)}', hive_partitioning = true)"


def _rows(con: duckdb.DuckDBPyConnection, relation: str, columns: list[tuple[str, str]]) -> list[tuple]:
    """Rows in a comparable form: instants as epoch microseconds, sorted by every column."""
    exprs = [f"epoch_us({name})" if "TIME" in kind else name for name, kind in columns]
    order = ", ".join(f"round({name}, 6)" if kind == "DOUBLE" else e for (name, kind), e in zip(columns, exprs))
    return con.execute(f"SELECT {', '.join(exprs)} FROM {relation} ORDER BY {order}").fetchall()


def _same(left: Any, right: Any) -> bool:
    if isinstance(left, float) and isinstance(right, float):
        return math.isclose(left, right, rel_tol=REL_TOL, abs_tol=1e-12)
    return left == right


def test_spark_builds_and_tests_every_model_and_seed(builds: dict[str, Any]) -> None:
    """Same models, seeds, data and unit tests on both engines; only the snapshot is DuckDB's alone."""
    skip = ("operation.", "exposure.")  # hooks; exposures are documentation (status no-op)
    duck_nodes = {n.unique_id for n in builds["duck"].nodes if not n.unique_id.startswith(skip)}
    spark_nodes = {n.unique_id for n in builds["spark"].nodes if not n.unique_id.startswith(skip)}
    assert {uid.rsplit(".", 1)[-1] for uid in duck_nodes - spark_nodes} == {"snap_sku_prices"}
    assert spark_nodes < duck_nodes
    assert all(n.status in ("success", "pass") for n in builds["spark"].nodes if not n.unique_id.startswith(skip))


def test_compared_marts_are_every_mart_but_the_documented_ones(builds: dict[str, Any], con) -> None:
    duck_marts = {
        f"{s}.{t}"
        for s, t in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() "
            f"WHERE database_name = 'duck' AND schema_name IN {MART_SCHEMAS}"
        ).fetchall()
    }
    spark_marts = {
        f"{p.parent.name.removesuffix('.db')}.{p.name}"
        for schema in MART_SCHEMAS
        for p in (builds["spark_dir"] / "warehouse" / f"{schema}.db").glob("*")
        if p.is_dir()
    }
    assert duck_marts - set(NOT_ON_SPARK) == set(COMPARED_MARTS)
    assert spark_marts == set(COMPARED_MARTS)


@pytest.mark.parametrize("mart", COMPARED_MARTS)
def test_mart_equal_on_spark_and_duckdb(builds: dict[str, Any], con, mart: str) -> None:
    duck_columns = con.execute(f"DESCRIBE duck.{mart}").fetchall()
    spark_columns = {
        name: kind
        for name, kind, *_ in con.execute(f"DESCRIBE SELECT * FROM {_spark_scan(builds['spark_dir'], mart)}").fetchall()
    }
    columns = [(name, kind) for name, kind, *_ in duck_columns]
    # Same columns and types (Spark's partition columns come back from the directory names).
    assert {name: kind for name, kind in columns} == spark_columns
    for name, kind in columns:
        if name.endswith("_yuan"):
            assert kind == "DECIMAL(18,2)", f"{mart}.{name} is {kind}"
        if name.endswith("_fen"):
            assert kind == "BIGINT", f"{mart}.{name} is {kind}"
    duck_rows = _rows(con, f"duck.{mart}", columns)
    spark_rows = _rows(con, _spark_scan(builds["spark_dir"], mart), columns)
    assert duck_rows, f"{mart} is empty on DuckDB: the world is too small to compare it"
    assert len(spark_rows) == len(duck_rows), f"{mart}: {len(spark_rows)} rows on Spark, {len(duck_rows)} on DuckDB"
    names = [name for name, _ in columns]
    for duck_row, spark_row in zip(duck_rows, spark_rows):
        differing = {n: (d, s) for n, d, s in zip(names, duck_row, spark_row) if not _same(d, s)}
        assert not differing, f"{mart}: first differing row, (duckdb, spark) per column: {differing}"
