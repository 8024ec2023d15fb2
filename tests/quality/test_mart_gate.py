"""The mart gate: SQL over a small hand-built audit warehouse + lake, validated by GX."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pytest

from douyin_etl.entities import ENTITIES
from douyin_etl.quality.gates import reconciliation_counts, run_mart_gate
from douyin_etl.quality.suites import SuiteError, landing_suite, load_suite, mart_suites

AS_OF = date(2026, 10, 5)


def build_world(lake: Path, db: Path) -> None:
    """Two shops, three pay days, landed lines and settlements that the marts agree with."""
    con = duckdb.connect(str(db))
    for d in ("2026-10-03", "2026-10-04"):
        out = lake / "raw" / "doudian" / "sku_order" / f"dt={d}"
        out.mkdir(parents=True, exist_ok=True)
        # each dt holds the lines updated that day; line 'L5' was landed on both days (an update):
        # only its newest version counts
        con.execute(f"""COPY (
            SELECT * FROM (VALUES
              ('L1', '1001', epoch(TIMESTAMPTZ '2026-10-03 10:00:00+08')::BIGINT, 1990::BIGINT),
              ('L2', '1001', epoch(TIMESTAMPTZ '2026-10-03 23:59:59+08')::BIGINT, 1000::BIGINT),
              ('L3', '1002', epoch(TIMESTAMPTZ '2026-10-04 00:00:00+08')::BIGINT, 505::BIGINT),
              ('L4', '1002', 0::BIGINT, 700::BIGINT),
              ('L5', '1002', epoch(TIMESTAMPTZ '2026-10-04 08:00:00+08')::BIGINT,
                     CASE WHEN '{d}' = '2026-10-04' THEN 300 ELSE 999 END::BIGINT)
            ) t(order_id, shop_id, pay_time, pay_amount),
            LATERAL (SELECT epoch(TIMESTAMPTZ '{d} 12:00:00+08')::BIGINT AS update_time)
        ) TO '{out}/part-00000.parquet' (FORMAT parquet)""")
    out = lake / "raw" / "backoffice" / "settlement_bill" / "dt=2026-10-04"
    out.mkdir(parents=True, exist_ok=True)
    con.execute(f"""COPY (SELECT * FROM (VALUES
        ('R1', '1001', TIMESTAMPTZ '2026-10-04 09:00:00+08', 1800::BIGINT),
        ('R2', '1001', TIMESTAMPTZ '2026-10-04 10:00:00+08', -100::BIGINT),
        ('R3', '1002', TIMESTAMPTZ '2026-10-04 11:00:00+08', 480::BIGINT)
        ) t(request_no, shop_id, settle_time, settle_amount)) TO '{out}/part-00000.parquet' (FORMAT parquet)""")
    for schema in ("sales", "finance", "inventory"):
        con.execute(f"CREATE SCHEMA {schema}")
    con.execute("""CREATE TABLE sales.fct_order_lines AS SELECT * FROM (VALUES
        ('L1', '1001', 'P1', 'S1', DATE '2026-10-03', 19.90::DECIMAL(18,2), true, DATE '2026-10-03'),
        ('L2', '1001', 'P1', 'S1', DATE '2026-10-03', 10.00::DECIMAL(18,2), true, DATE '2026-10-03'),
        ('L3', '1002', 'P2', 'S2', DATE '2026-10-04', 5.05::DECIMAL(18,2), true, DATE '2026-10-04'),
        ('L4', '1002', 'P2', 'S2', NULL, 7.00::DECIMAL(18,2), false, DATE '2026-10-03'),
        ('L5', '1002', 'P2', 'S2', DATE '2026-10-04', 3.00::DECIMAL(18,2), true, DATE '2026-10-04')
        ) t(sku_order_id, shop_id, product_id, sku_id, pay_date, pay_yuan, is_paid, changed_dt)""")
    con.execute("CREATE TABLE sales.dim_products AS SELECT * FROM (VALUES ('P1'), ('P2')) t(product_id)")
    con.execute("CREATE TABLE sales.dim_skus AS SELECT * FROM (VALUES ('S1'), ('S2')) t(sku_id)")
    con.execute("CREATE TABLE sales.dim_shops AS SELECT * FROM (VALUES ('1001'), ('1002')) t(shop_id)")
    con.execute("""CREATE TABLE finance.fin_settlement_lines AS SELECT *, DATE '2026-10-04' AS source_dt FROM (VALUES
        ('R1', '1001', DATE '2026-10-04', 1800::BIGINT), ('R2', '1001', DATE '2026-10-04', -100::BIGINT),
        ('R3', '1002', DATE '2026-10-04', 480::BIGINT)) t(request_no, shop_id, settle_date, settle_fen)""")
    con.execute("""CREATE TABLE finance.fin_order_reconciliation AS SELECT * FROM (VALUES
        ('L1', 'settled', NULL), ('L2', 'pending', NULL), ('L3', 'discrepancy', 'fee_mismatch'),
        ('L5', 'settled', NULL), ('L6', 'settled', NULL), ('L7', 'settled', NULL), ('L8', 'settled', NULL),
        ('L9', 'settled', NULL), ('L10', 'settled', NULL), ('L11', 'refunded', NULL)) t(sku_order_id, status, reason)""")
    con.execute("""CREATE TABLE inventory.inv_stock_daily AS SELECT * FROM (VALUES
        (DATE '2026-10-03', 'WH01', 'S1', 10, 5, 0, 3, 0, 12, true, 0),
        (DATE '2026-10-04', 'WH01', 'S1', 12, 0, 1, 4, 0, 9, true, 0),
        (DATE '2026-10-05', 'WH01', 'S1', 9, 0, 0, 2, -1, 6, false, NULL)
        ) t(stock_date, warehouse_id, sku_id, opening_qty, receipt_qty, return_qty, shipment_qty,
            count_adjustment_qty, closing_qty, has_snapshot, closing_diff_qty)""")
    con.close()


@pytest.fixture
def audit(lake: Path, tmp_path: Path) -> Path:
    db = tmp_path / "audit.duckdb"
    build_world(lake, db)
    return db


def _by_suite(gate, name):
    return [c for c in gate.checks if c.suite == f"mart.{name}"]


def test_marts_that_agree_with_the_lake_pass(audit: Path):
    gate = run_mart_gate(audit, "m1", AS_OF)
    assert gate.ok, gate.summary()
    assert {c.suite for c in gate.checks} == {s.name for s in mart_suites()}
    gmv = next(c for c in _by_suite(gate, "sales_gmv_matches_landing") if c.column == "diff_fen")
    assert gmv.success and gmv.element_count == 2  # (1001, 10-03) and (1002, 10-04)
    assert reconciliation_counts(gate) == {"discrepancy/fee_mismatch": 1, "pending": 1, "refunded": 1, "settled": 7}
    share = _by_suite(gate, "reconciliation_discrepancy_share")[0]
    assert share.success and share.examples == []


def test_a_fen_off_in_the_mart_blocks_with_the_day_as_example(audit: Path):
    con = duckdb.connect(str(audit))
    con.execute("UPDATE sales.fct_order_lines SET pay_yuan = pay_yuan + 0.01 WHERE sku_order_id = 'L3'")
    con.execute("UPDATE inventory.inv_stock_daily SET closing_qty = 8 WHERE stock_date = DATE '2026-10-04'")
    con.close()
    gate = run_mart_gate(audit, "m2", AS_OF)
    assert not gate.ok
    gmv = [c for c in gate.blocking if c.suite == "mart.sales_gmv_matches_landing"]
    assert len(gmv) == 1 and gmv[0].unexpected_count == 1
    assert gmv[0].examples[0] == {
        "_row": 1,
        "shop_id": "1002",
        "pay_date": "2026-10-04",
        "landed_fen": 805,
        "mart_fen": 806,
        "diff_fen": 1,
    }
    ledger = {c.column: c for c in gate.blocking if c.suite == "mart.inventory_ledger_balances"}
    # closing 8 on 10-04 breaks that day's balance and the next day's carry-over
    assert set(ledger) == {"balance_diff", "carry_diff"}
    assert ledger["balance_diff"].observed_value["values"] == [-1] and ledger["carry_diff"].observed_value[
        "values"
    ] == [1]


def test_a_daily_gate_checks_the_window_on_both_sides_and_the_full_pass_everything(audit: Path, lake: Path):
    """issue 13: a daily run's gate reads rows from the first day of its window (``since``) in the marts
    and in the lake alike; what is wrong before it is found by the full pass (no ``since``)."""
    since = date(2026, 10, 4)
    con = duckdb.connect(str(audit))
    # before the window: line L1 (paid and changed 10-03) is a fen off and names an unknown product, and
    # the bill of file day 10-03 is 1 fen off in the mart
    con.execute(
        "UPDATE sales.fct_order_lines SET pay_yuan = pay_yuan + 0.01, product_id = 'P9' WHERE sku_order_id = 'L1'"
    )
    old_bills = lake / "raw" / "backoffice" / "settlement_bill" / "dt=2026-10-03"
    old_bills.mkdir(parents=True)
    con.execute(f"""COPY (SELECT 'R0' AS request_no, '1001' AS shop_id, TIMESTAMPTZ '2026-10-03 09:00:00+08' AS settle_time,
                        500::BIGINT AS settle_amount) TO '{old_bills}/part-00000.parquet' (FORMAT parquet)""")
    con.execute(
        "INSERT INTO finance.fin_settlement_lines VALUES ('R0', '1001', DATE '2026-10-03', 499, DATE '2026-10-03')"
    )
    con.close()

    daily = run_mart_gate(audit, "w1", AS_OF, since=since)
    assert daily.ok, daily.summary()  # main: run_mart_gate() got an unexpected keyword argument 'since'
    assert daily.since == "2026-10-04" and "window from 2026-10-04" in daily.summary()
    gmv = next(c for c in _by_suite(daily, "sales_gmv_matches_landing") if c.column == "diff_fen")
    assert gmv.element_count == 1  # only (1002, 10-04): both sides hold the window's pay days only
    settled = next(c for c in _by_suite(daily, "finance_settlement_matches_landing") if c.column == "diff_fen")
    assert settled.element_count == 2  # (1001, 10-04), (1002, 10-04): not the old file day's (1001, 10-03)
    full = run_mart_gate(audit, "w2", AS_OF)
    assert full.since is None
    assert {c.suite for c in full.blocking} == {
        "mart.sales_gmv_matches_landing",
        "mart.orphan_keys",
        "mart.finance_settlement_matches_landing",
    }

    con = duckdb.connect(str(audit))  # inside the window: the daily gate sees it
    con.execute("UPDATE sales.fct_order_lines SET pay_yuan = pay_yuan + 0.01 WHERE sku_order_id = 'L3'")
    con.close()
    daily = run_mart_gate(audit, "w3", AS_OF, since=since)
    [gmv] = [c for c in daily.blocking if c.column == "diff_fen"]
    assert gmv.suite == "mart.sales_gmv_matches_landing" and gmv.examples[0]["pay_date"] == "2026-10-04"


def test_discrepancy_share_threshold_is_configurable(audit: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DOUYIN_GATE_MAX_DISCREPANCY_SHARE", "0.05")
    gate = run_mart_gate(audit, "m3", AS_OF)
    [share] = _by_suite(gate, "reconciliation_discrepancy_share")
    assert not share.success and share.observed_value["values"] == [0.1] and not gate.ok


def test_a_missing_mart_names_the_check_file_to_fix(audit: Path):
    con = duckdb.connect(str(audit))
    con.execute("DROP TABLE finance.fin_settlement_lines")
    con.close()
    gate = run_mart_gate(audit, "m4", AS_OF)
    [missing] = [c for c in gate.blocking if c.expectation_type == "relation_exists"]
    assert "finance.fin_settlement_lines not found" in missing.exception
    assert "finance_settlement_matches_landing.json" in missing.exception


def test_every_landing_entity_has_a_loadable_suite_with_key_checks():
    for name, entity in ENTITIES.items():
        suite = landing_suite(name)
        rows = suite.configs("rows")
        types = {e["type"] for e in rows}
        assert {"expect_table_row_count_to_be_between", "expect_column_values_to_not_be_null"} <= types, name
        assert types & {"expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"}, name
        assert suite.configs("schema"), name
        assert all(e["meta"]["severity"] in ("error", "warning") for e in suite.expectations)
        if entity.partition_field:
            assert "_partition_day_offset" in suite.meta["derived_columns"], name
        suite.gx_suite("rows"), suite.gx_suite("schema")  # GX accepts every configuration


def test_a_non_additive_expectation_on_chunked_rows_is_rejected(tmp_path: Path):
    bad = tmp_path / "x.json"
    bad.write_text(
        json.dumps(
            {
                "name": "x",
                "expectations": [
                    {"type": "expect_column_mean_to_be_between", "kwargs": {"column": "a", "min_value": 0}}
                ],
            }
        )
    )
    with pytest.raises(SuiteError, match="cannot be combined across chunks"):
        load_suite(bad, chunked=True)
    bad.write_text(
        json.dumps(
            {
                "name": "x",
                "expectations": [
                    {
                        "type": "expect_column_values_to_be_between",
                        "kwargs": {"column": "a"},
                        "meta": {"severity": "fatal"},
                    }
                ],
            }
        )
    )
    with pytest.raises(SuiteError, match="severity"):
        load_suite(bad, chunked=True)
