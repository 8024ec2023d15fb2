"""Incremental models: a sequence of daily runs over a growing lake ends where a full refresh ends.

Every model whose size grows with history is incremental (dbt_project/README.md "Incremental
models"). A warehouse is built in steps over the session's landed lake (``dbt_world``: landed by a real
run through the extractor; ``lake_as_of`` copies its partitions up to a day): the lake holds the days up
to D-4, then up to D-2 (run without run dates: the cutoff comes from the newest day already in each
target), then every day up to the last, D (run with as_of_date = window_start = D, as the runner passes
them), then the same run again (a rerun), then a rebuild of day 5 with the horizon kept at D
(window_start = day 5, as_of_date = the last day). After
each of the last three, every mart of every schema equals a full refresh of the same lake row for
row (EXCEPT ALL both ways). A daily run reads only its window's lake partitions: with every older
partition of the big entities unreadable it still builds, and still equals the full refresh.
"""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

pytestmark = pytest.mark.slow

INCREMENTAL_MARTS = ("sales.fct_order_lines", "finance.fin_settlement_lines")
LOOKBACK_DAYS = 3  # dbt_project.yml var lookback_days
SELECT = ["--select", "+fct_order_lines", "+fin_settlement_lines"]


def _diff(left_db: Path, right_db: Path, table: str) -> tuple[int, int, int]:
    """(rows in left, rows only in left, rows only in right) of ``table`` across two warehouses."""
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{left_db}' AS l (READ_ONLY)")
        con.execute(f"ATTACH '{right_db}' AS r (READ_ONLY)")
        rows = con.execute(f"SELECT count(*) FROM l.{table}").fetchall()[0][0]
        only_left = con.execute(
            f"SELECT count(*) FROM (SELECT * FROM l.{table} EXCEPT ALL SELECT * FROM r.{table})"
        ).fetchall()[0][0]
        only_right = con.execute(
            f"SELECT count(*) FROM (SELECT * FROM r.{table} EXCEPT ALL SELECT * FROM l.{table})"
        ).fetchall()[0][0]
        return rows, only_left, only_right
    finally:
        con.close()


BUILD = [
    "build",
    "--exclude-resource-type",
    "test",
    "--exclude-resource-type",
    "unit_test",
    "--exclude-resource-type",
    "snapshot",
]
# the entities whose staging is incremental and reads only the window's partitions
WINDOWED_ENTITIES = (
    "doudian/sku_order",
    "doudian/shop_order",
    "doudian/after_sale",
    "doudian/alliance_order",
    "backoffice/settlement_bill",
    "backoffice/fund_flow",
    "wms/shipment",
)


def _marts_equal(left: Path, right: Path) -> dict[str, Any]:
    """{table: MartDiff} of the mart tables that differ between two warehouses (every schema)."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scale"))
    from mart_compare import compare_marts

    diffs = compare_marts(left, right)
    assert len(diffs) >= 25, sorted(diffs)
    return {table: diff for table, diff in diffs.items() if not diff.equal}


def test_daily_runs_equal_a_full_refresh_in_every_mart(dbt_world: dict[str, Any], dbt_helpers, tmp_path: Path) -> None:
    h = dbt_helpers
    days = h.world_days(dbt_world["world_dir"])
    assert len(days) >= 10
    landed, lake, db = dbt_world["lake_dir"], tmp_path / "lake", tmp_path / "incremental.duckdb"
    runs = iter(range(100))

    def run(database: Path, run_params: dict | None = None, *extra: str) -> None:
        result = h.run_dbt(
            [*BUILD, *extra],
            lake_dir=lake,
            db_path=database,
            run_dir=tmp_path / f"t{next(runs)}",
            run_params=run_params,
        )
        assert result.ok, result.failures or result.error

    def full_refresh() -> Path:
        full_db = tmp_path / f"full{next(runs)}" / "full.duckdb"  # one file name: dbt keeps its saved parse
        run(full_db, {"as_of_date": days[-1]}, "--full-refresh")
        return full_db

    # the partitions landed up to day -5, then day -3 (run without dates), then the last day (run dated):
    # each step adds no more days than the lookback window of the next run rebuilds
    h.lake_as_of(landed, lake, days[-5])
    run(db)
    first_rows = h.query(db, "SELECT count(*) FROM sales.fct_order_lines")[0][0]

    h.lake_as_of(landed, lake, days[-3])
    run(db)

    h.lake_as_of(landed, lake, days[-1])
    day10 = {"as_of_date": days[-1], "window_start": days[-1]}
    run(db, day10)
    # the buyers the day touched are rebuilt through touched_buyers_sql(), not listed one literal each by
    # stale_buyers() (at SF100, 27,000 literals made a 2.5 MB statement: minutes to plan, 19 GB)
    compiled = tmp_path / "t2" / "target" / "compiled" / "douyin" / "models" / "marts"
    for model in (compiled / "core" / "fct_orders.sql", compiled / "sales" / "sales_customers.sql"):
        assert "union select '" not in model.read_text(encoding="utf-8"), model.name
    full_db = full_refresh()
    assert _marts_equal(db, full_db) == {}
    assert first_rows < h.query(db, "SELECT count(*) FROM sales.fct_order_lines")[0][0]

    run(db, day10)  # a rerun of the same day changes nothing
    assert _marts_equal(db, full_db) == {}

    # a rebuild of day 5 while days 6-10 are built: the horizon stays day 10, every later day stays
    run(db, {"as_of_date": days[-1], "window_start": days[4]})
    assert _marts_equal(db, full_db) == {}
    later = h.query(db, f"SELECT count(*) FROM sales.sales_daily WHERE date_day > DATE '{days[4]}'")[0][0]
    assert later > 0


def test_a_daily_run_reads_only_its_window_of_the_lake(dbt_world: dict[str, Any], dbt_helpers, tmp_path: Path) -> None:
    """Every partition of the big entities older than the window made unreadable: the daily run of the
    last day does not read them (partition pruning on dt), so it builds, and its marts equal a full
    refresh of the intact lake. (A run that scans the history fails on the first unreadable file.)"""
    h = dbt_helpers
    days = h.world_days(dbt_world["world_dir"])
    lake, db = tmp_path / "lake", tmp_path / "incremental.duckdb"
    shutil.copytree(dbt_world["lake_dir"], lake)
    day9 = {"as_of_date": days[-2], "window_start": days[-2]}
    day10 = {"as_of_date": days[-1], "window_start": days[-1]}
    first = h.run_dbt(BUILD, lake_dir=lake, db_path=db, run_dir=tmp_path / "t0", run_params=day9)
    assert first.ok, first.failures or first.error
    full_db = tmp_path / "full.duckdb"
    full = h.run_dbt(BUILD, lake_dir=lake, db_path=full_db, run_dir=tmp_path / "t1", run_params=day10)
    assert full.ok, full.failures or full.error

    cutoff = days[-1] - timedelta(days=LOOKBACK_DAYS)
    spoiled = 0
    for entity in WINDOWED_ENTITIES:
        for part in (lake / "raw" / entity).glob("dt=*/*.parquet"):
            if date.fromisoformat(part.parent.name.removeprefix("dt=")) < cutoff:
                part.write_bytes(b"not parquet: a daily run must not read this partition")
                spoiled += 1
    assert spoiled >= 3 * len(WINDOWED_ENTITIES)

    daily = h.run_dbt(BUILD, lake_dir=lake, db_path=db, run_dir=tmp_path / "t2", run_params=day10)
    assert daily.ok, daily.failures or daily.error
    assert _marts_equal(db, full_db) == {}


def test_late_updates_reach_the_incremental_mart(dbt_world: dict[str, Any]) -> None:
    """A line updated days after payment (truth anomaly late_update) is in fct_order_lines with its
    late change day, so the incremental window found it."""
    import csv

    with open(dbt_world["world_dir"] / "truth" / "anomalies.csv", newline="") as fh:
        late = [r["key"] for r in csv.DictReader(fh) if r["kind"] == "late_update"]
    assert late
    con = duckdb.connect(str(dbt_world["db_path"]), read_only=True)
    try:
        keys = ", ".join(f"'{k}'" for k in late)
        found = con.execute(f"""
            select count(*), count(*) filter (where changed_dt > pay_date)
            from sales.fct_order_lines where sku_order_id in ({keys}) or shop_order_id in ({keys})""").fetchall()[0]
    finally:
        con.close()
    assert found[0] >= len(late) and found[1] >= 1, found


def test_rebuild_as_of_an_earlier_day_while_later_days_are_landed(
    dbt_world: dict[str, Any], dbt_helpers, tmp_path: Path
) -> None:
    """Rebuilding as of day 7 over a lake that holds every day: the reconciliation covers the lines paid
    up to day 7 (its grain), fct_order_lines keeps every landed line, and the equal_rowcount test between
    them (bounded by as_of_date the same way) passes."""
    h = dbt_helpers
    days = h.world_days(dbt_world["world_dir"])
    as_of = days[6]
    db = tmp_path / "incremental.duckdb"
    result = h.run_dbt(
        [
            "build",
            "--select",
            "+fin_order_reconciliation",
            "+fct_order_lines",
            "--exclude-resource-type",
            "snapshot",
            "--indirect-selection",
            "cautious",
        ],
        lake_dir=dbt_world["lake_dir"],
        db_path=db,
        run_dir=tmp_path / "dbt",
        run_params={"as_of_date": as_of},
    )
    assert result.ok, result.failures or result.error
    ran = {n.unique_id for n in result.nodes}
    assert any(u.startswith("test.douyin.equal_rowcount_fin_order_reconciliation") for u in ran)
    later, reconciled_later, lines_upto, reconciled = h.query(
        db,
        f"""
        SELECT (SELECT count(*) FROM sales.fct_order_lines WHERE is_paid AND pay_date > DATE '{as_of}'),
               (SELECT count(*) FROM finance.fin_order_reconciliation WHERE pay_date > DATE '{as_of}'),
               (SELECT count(*) FROM sales.fct_order_lines WHERE is_paid AND pay_date <= DATE '{as_of}'),
               (SELECT count(*) FROM finance.fin_order_reconciliation)""",
    )[0]
    assert later > 0 and reconciled_later == 0 and reconciled == lines_upto > 0


def test_relanded_partitions_with_fewer_rows_equal_full_refresh(
    dbt_world: dict[str, Any], dbt_helpers, tmp_path: Path
) -> None:
    """A day re-landed with fewer rows (a re-dropped 结算账单, a re-extracted day of sku orders): the
    incremental run replaces exactly that day's rows in every incremental mart. Removed bills and
    lines disappear; a line whose newest version was removed falls back to its older version (its
    changed_dt moves before the window). The marts equal a full build of the same lake."""
    h = dbt_helpers
    days = h.world_days(dbt_world["world_dir"])
    day = days[-2].isoformat()
    lake = tmp_path / "lake"
    shutil.copytree(dbt_world["lake_dir"], lake)
    orders = lake / "raw" / "doudian" / "sku_order"
    bills_dir = lake / "raw" / "backoffice" / "settlement_bill"
    bill_day = sorted(p.name for p in bills_dir.iterdir() if p.name.startswith("dt="))[-1]
    select = BUILD[1:]  # every model
    as_of = {"as_of_date": days[-1]}

    def rewrite(con: duckdb.DuckDBPyConnection, folder: Path, sql: str) -> None:
        """Replace the partition's one part file by ``sql`` over it (``{part}``)."""
        (part,) = folder.glob("*.parquet")
        tmp = part.with_name("rewritten.tmp")
        con.execute(f"COPY ({sql.format(part=part)}) TO '{tmp}' (FORMAT parquet)")
        tmp.replace(part)

    con = duckdb.connect()
    try:
        day_lines = [
            r[0]
            for r in con.execute(
                f"SELECT order_id FROM read_parquet('{orders}/dt={day}/*.parquet') ORDER BY order_id LIMIT 4"
            ).fetchall()
        ]
        gone, moved = day_lines[:2], day_lines[2:]  # gone: landed only that day; moved: an older version too
        removed_bills = [
            r[0]
            for r in con.execute(
                f"SELECT request_no FROM read_parquet('{bills_dir}/{bill_day}/*.parquet') ORDER BY request_no LIMIT 2"
            ).fetchall()
        ]
        assert len(gone) == len(moved) == len(removed_bills) == 2, (gone, moved, removed_bills)
        moved_list = ", ".join(f"'{k}'" for k in moved)
        # the lake before the re-landing: the moved lines also have an older version, landed on day 1
        rewrite(
            con,
            orders / f"dt={days[0]}",
            f"SELECT * FROM read_parquet('{{part}}') UNION ALL BY NAME "
            f"SELECT * REPLACE (update_time - 86400 AS update_time) FROM read_parquet('{orders}/dt={day}/*.parquet') "
            f"WHERE order_id IN ({moved_list})",
        )
    finally:
        con.close()
    incremental_db = tmp_path / "incremental.duckdb"
    first = h.run_dbt(
        ["build", *select], lake_dir=lake, db_path=incremental_db, run_dir=tmp_path / "t0", run_params=as_of
    )
    assert first.ok, first.failures or first.error

    con = duckdb.connect()  # the re-landing: that day's orders and the last bills' day, with fewer rows
    try:
        for folder, column, keys in (
            (orders / f"dt={day}", "order_id", gone + moved),
            (bills_dir / bill_day, "request_no", removed_bills),
        ):
            in_list = ", ".join(f"'{k}'" for k in keys)
            rewrite(con, folder, f"SELECT * FROM read_parquet('{{part}}') WHERE {column} NOT IN ({in_list})")
    finally:
        con.close()

    tables = (*INCREMENTAL_MARTS, "inventory.inv_stock_daily")
    run = h.run_dbt(
        ["build", *select],
        lake_dir=lake,
        db_path=incremental_db,
        run_dir=tmp_path / "t1",
        run_params={**as_of, "window_start": day},
    )
    assert run.ok, run.failures or run.error
    full_db = tmp_path / "full.duckdb"
    full = h.run_dbt(["build", *select], lake_dir=lake, db_path=full_db, run_dir=tmp_path / "t2", run_params=as_of)
    assert full.ok, full.failures or full.error

    for table in tables:
        rows, only_incremental, only_full = _diff(incremental_db, full_db, table)
        assert rows > 0
        assert (only_incremental, only_full) == (0, 0), (
            f"{table}: {only_incremental} rows only incremental, {only_full} only full"
        )
    assert _marts_equal(incremental_db, full_db) == {}
    gone_list = ", ".join(f"'{k}'" for k in gone)
    bills = ", ".join(f"'{k}'" for k in removed_bills)
    assert h.query(
        incremental_db,
        f"""
        SELECT (SELECT count(*) FROM sales.fct_order_lines WHERE sku_order_id IN ({gone_list})),
               (SELECT count(*) FROM finance.fin_settlement_lines WHERE request_no IN ({bills})),
               (SELECT count(*) FROM sales.fct_order_lines WHERE sku_order_id IN ({moved_list}))""",
    )[0] == (0, 0, 2)


def test_an_earlier_order_landing_late_renumbers_its_buyers_later_orders(
    dbt_world: dict[str, Any], dbt_helpers, tmp_path: Path
) -> None:
    """fct_orders rebuilds the orders that changed and the orders whose place in their buyer's sequence
    moved, not every order of a touched buyer. A returning buyer's first order lands only on the last
    day (missing from the lake before): the daily run numbers it 1 and moves each later order of the
    buyer up by one, and fct_orders, sales_customers and sales_cohorts_monthly equal a full build."""
    h = dbt_helpers
    days = h.world_days(dbt_world["world_dir"])
    last = days[-1]
    lake = tmp_path / "lake"
    shutil.copytree(dbt_world["lake_dir"], lake)
    raw = lake / "raw" / "doudian"
    con = duckdb.connect()
    try:
        # a buyer with at least three paid orders, and their first one
        buyer_orders = con.execute(
            f"""
            WITH latest AS (
                SELECT order_id, shop_id, doudian_open_id, pay_time FROM read_parquet('{raw}/shop_order/dt=*/*.parquet')
                QUALIFY row_number() OVER (PARTITION BY order_id ORDER BY dt DESC) = 1
            ), paid AS (SELECT * FROM latest WHERE pay_time > 0 AND doudian_open_id IS NOT NULL)
            SELECT order_id FROM paid
            WHERE (shop_id, doudian_open_id) = (
                SELECT (shop_id, doudian_open_id) FROM paid GROUP BY ALL HAVING count(*) >= 3
                ORDER BY count(*) DESC, 1 LIMIT 1)
            ORDER BY pay_time, order_id"""
        ).fetchall()
        assert len(buyer_orders) >= 3
        first = buyer_orders[0][0]
        late: dict[str, str] = {}
        for entity, column in (("shop_order", "order_id"), ("sku_order", "parent_order_id")):
            rows = f"read_parquet('{raw}/{entity}/dt=*/*.parquet', hive_partitioning = true)"
            late[entity] = str(tmp_path / f"late_{entity}.parquet")  # its newest version of each row
            key = "order_id"
            con.execute(
                f"COPY (SELECT * EXCLUDE (dt) FROM {rows} WHERE {column} = '{first}' "
                f"QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY dt DESC) = 1) TO '{late[entity]}' (FORMAT parquet)"
            )
            for part in (raw / entity).glob("dt=*/*.parquet"):  # the lake before: the order is missing
                tmp = part.with_name("rewritten.tmp")
                con.execute(
                    f"COPY (SELECT * FROM read_parquet('{part}', hive_partitioning = false) "
                    f"WHERE {column} IS DISTINCT FROM '{first}') TO '{tmp}' (FORMAT parquet)"
                )
                tmp.replace(part)
    finally:
        con.close()
    as_of = {"as_of_date": last}
    incremental_db = tmp_path / "incremental.duckdb"
    built = h.run_dbt([*BUILD], lake_dir=lake, db_path=incremental_db, run_dir=tmp_path / "t0", run_params=as_of)
    assert built.ok, built.failures or built.error
    buyer_sql = f"""SELECT shop_order_id, buyer_order_seq FROM sales.fct_orders WHERE (shop_id, buyer_key) =
            (SELECT (shop_id, buyer_key) FROM staging.stg_doudian__shop_order WHERE shop_order_id = '{buyer_orders[-1][0]}')
            ORDER BY buyer_order_seq"""
    before = h.query(incremental_db, buyer_sql)
    assert len(before) >= 2 and before[0][1] == 1 and first not in {r[0] for r in before}

    con = duckdb.connect()  # the late landing: the order and its lines in the last day's partitions
    try:
        for entity in ("shop_order", "sku_order"):
            (part,) = (raw / entity / f"dt={last}").glob("*.parquet")
            tmp = part.with_name("rewritten.tmp")
            con.execute(
                f"COPY (SELECT * FROM read_parquet('{part}', hive_partitioning = false) UNION ALL BY NAME "
                f"SELECT * FROM read_parquet('{late[entity]}')) TO '{tmp}' (FORMAT parquet)"
            )
            tmp.replace(part)
    finally:
        con.close()
    daily = h.run_dbt(
        [*BUILD],
        lake_dir=lake,
        db_path=incremental_db,
        run_dir=tmp_path / "t1",
        run_params={**as_of, "window_start": last},
    )
    assert daily.ok, daily.failures or daily.error
    after = h.query(incremental_db, buyer_sql)
    assert after == [(first, 1)] + [(order, seq + 1) for order, seq in before]  # the later orders moved up
    full_db = tmp_path / "full.duckdb"
    full = h.run_dbt([*BUILD], lake_dir=lake, db_path=full_db, run_dir=tmp_path / "t2", run_params=as_of)
    assert full.ok, full.failures or full.error
    for table in ("sales.fct_orders", "sales.sales_customers", "sales.sales_cohorts_monthly"):
        rows, only_incremental, only_full = _diff(incremental_db, full_db, table)
        assert rows > 0 and (only_incremental, only_full) == (0, 0), (table, only_incremental, only_full)
