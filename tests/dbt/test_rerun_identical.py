"""A rerun of the same data builds bit-identical marts (issue 13, item 7).

The session's published warehouse (``dbt_world``: one real run over the shared world) is built again from
a copy of its lake that holds the very same rows, each file's rows in reverse order (a re-extraction may
land rows in another order, and DuckDB's threads deliver rows in no fixed order either), with the same
run dates, through the product's runner. Every table of every mart schema
must be identical: ``EXCEPT ALL`` both ways on every column, DOUBLE columns included, no rounding.
Before the fix, ``perf_fulfilment``'s averages (``avg()`` over DOUBLE hours) and the inventory marts'
standard deviation (``stddev_samp``) differed in the last bits.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import duckdb
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scale"))
from mart_compare import compare_marts, mart_tables  # noqa: E402

pytestmark = pytest.mark.slow


def _reverse_rows(lake: Path) -> int:
    """Rewrite every Parquet file of ``lake`` with its rows in reverse order (same rows, same schema)."""
    con = duckdb.connect()
    files = sorted(lake.rglob("*.parquet"))
    try:
        for f in files:
            tmp = f.with_name(f.name + ".reversed")
            con.execute(
                f"COPY (SELECT * EXCLUDE (_rn) FROM (SELECT *, row_number() OVER () AS _rn "
                f"FROM read_parquet('{f}')) ORDER BY _rn DESC) TO '{tmp}' (FORMAT parquet)"
            )
            tmp.replace(f)
    finally:
        con.close()
    return len(files)


def test_two_builds_of_the_same_rows_give_bit_identical_marts(dbt_world, dbt_helpers, tmp_path):
    days = dbt_helpers.world_days(dbt_world["world_dir"])
    lake_b = tmp_path / "lake_b"
    shutil.copytree(dbt_world["lake_dir"] / "raw", lake_b / "raw")
    assert _reverse_rows(lake_b) > 10
    db_b = tmp_path / "b" / "full.duckdb"
    run = dbt_helpers.run_dbt(
        ["build", "--exclude-resource-type", "test", "unit_test"],
        lake_dir=lake_b,
        db_path=db_b,
        run_dir=tmp_path / "dbt_b",
        run_params={"as_of_date": days[-1], "window_start": days[0]},
    )
    assert run.ok, run.failures or run.error
    dbs = [dbt_world["db_path"], db_b]
    tables = mart_tables(dbs[0])
    assert len(tables) >= 25 and "performance.perf_fulfilment" in tables
    with duckdb.connect(str(dbs[0]), read_only=True) as con:  # the columns this is about are really compared
        doubles = con.execute(
            "SELECT count(*) FROM duckdb_columns() WHERE schema_name IN "
            "('sales', 'finance', 'inventory', 'performance') AND data_type = 'DOUBLE'"
        ).fetchone()[0]
        filled = con.execute(
            "SELECT count(avg_ship_hours), count(avg_delivery_days) FROM performance.perf_fulfilment"
        ).fetchone()
    assert doubles >= 20 and min(filled) > 10
    diffs = compare_marts(dbs[0], dbs[1])  # exact: no rounding of any column
    different = {t: d for t, d in diffs.items() if not d.equal}
    assert different == {}, different
    assert all(d.left_rows > 0 for t, d in diffs.items() if t == "performance.perf_fulfilment")
