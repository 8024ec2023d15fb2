"""Cross-source identities of the landing gate (expectations/cross): settlements and shipments against the
order lines, the 3PL stock report against the movement files. Each names the rows that break it."""

from __future__ import annotations

from datetime import timedelta

from gate_helpers import DT, file_columns, order_line_columns, settlement_bill_columns  # type: ignore[import-not-found]

from douyin_etl.quality.gates import run_landing_gate

EARLIER = DT - timedelta(days=8)


def _suite(gate, name):
    return {(c.column, c.severity): c for c in gate.checks if c.suite == f"cross.{name}"}


def test_a_settlement_of_an_unpaid_line_blocks_and_an_unknown_line_warns(lake, write_partition):
    write_partition("sku_order", EARLIER, order_line_columns(EARLIER), rows=10)  # S0..S9, S5 never paid
    # bill rows for S3 (paid), S5 (never paid) and S12 (not in the lake)
    write_partition(
        "settlement_bill", DT, settlement_bill_columns(), rows=3, overrides={"order_id": "['S3', 'S5', 'S12'][i + 1]"}
    )
    gate = run_landing_gate("settle", {"settlement_bill": [DT]})
    checks = _suite(gate, "settlements_match_paid_lines")
    unpaid, unknown = checks[("line_state", "error")], checks[("line_state", "warning")]
    assert not unpaid.success and unpaid in gate.blocking and unpaid.unexpected_count == 1
    assert unpaid.examples[0]["order_id"] == "S5" and unpaid.examples[0]["request_no"] == "R1"
    assert unpaid.examples[0]["source_ref"] == "drop/file.csv#3"
    assert not unknown.success and unknown.severity == "warning" and unknown.examples[0]["order_id"] == "S12"


def test_shipments_of_unpaid_or_over_ordered_lines_block(lake, write_partition):
    write_partition("sku_order", EARLIER, order_line_columns(EARLIER), rows=10)  # 3 units per line
    # S1 ships 2 + 2 units in two parcels (one of them a day earlier), S5 was never paid, S2 is fine
    write_partition(
        "shipment",
        DT - timedelta(days=1),
        file_columns("shipment", DT - timedelta(days=1), outbound_id="'OB-early'", sku_order_id="'S1'", quantity="2"),
        rows=1,
    )
    write_partition(
        "shipment",
        DT,
        file_columns("shipment", DT, outbound_id="'OB' || i", sku_order_id="['S1', 'S5', 'S2'][i + 1]", quantity="2"),
        rows=3,
    )
    gate = run_landing_gate("ship", {"shipment": [DT]})
    checks = _suite(gate, "shipments_match_orders")
    over = checks[("over_shipped_qty", "error")]
    assert not over.success and over.unexpected_count == 1
    assert (over.examples[0]["sku_order_id"], over.examples[0]["shipped_qty"], over.examples[0]["ordered_qty"]) == (
        "S1",
        4,
        3,
    )
    unpaid = checks[("line_state", "error")]
    assert not unpaid.success and unpaid.examples[0]["sku_order_id"] == "S5"
    assert checks[("line_state", "warning")].success  # every shipped line is known
    assert over in gate.blocking and unpaid in gate.blocking


def test_a_stock_report_that_disagrees_with_the_shipments_blocks_naming_the_day(lake, write_partition):
    # 3PL report: WH01/K<i> shipped 2 units each; 发货明细 lists 2 units for K0, K1 and 5 for K2; no receipts
    write_partition(
        "stock_snapshot",
        DT,
        file_columns(
            "stock_snapshot",
            DT,
            warehouse_id="'WH01'",
            sku_id="'K' || i",
            opening_qty="10",
            inbound_qty="0",
            outbound_qty="2",
            return_qty="0",
            closing_qty="8",
            locked_qty="0",
        ),
        rows=3,
    )
    write_partition(
        "shipment",
        DT,
        file_columns(
            "shipment",
            DT,
            warehouse_id="'WH01'",
            sku_id="'K' || i",
            sku_order_id="'S' || i",
            quantity="CASE WHEN i = 2 THEN 5 ELSE 2 END",
        ),
        rows=3,
    )
    write_partition("purchase_receipt", DT, file_columns("purchase_receipt", DT), rows=0)
    write_partition("sku_order", EARLIER, order_line_columns(EARLIER), rows=10)
    gate = run_landing_gate("stock", {"stock_snapshot": [DT], "shipment": [DT], "purchase_receipt": [DT]})
    checks = _suite(gate, "stock_snapshot_matches_movements")
    out = checks[("outbound_diff_qty", "error")]
    assert not out.success and out in gate.blocking and out.unexpected_count == 1
    ex = out.examples[0]
    assert (ex["stock_date"], ex["warehouse_id"], ex["sku_id"], ex["snapshot_outbound_qty"], ex["shipped_qty"]) == (
        DT.isoformat(),
        "WH01",
        "K2",
        2,
        5,
    )
    assert checks[("inbound_diff_qty", "error")].success
