"""Plausibility (hard caps, bounds learned from history) and cross-source identities in the landing gate.

Issue 12 point 2: one fund-flow row of 99,999,999.99 yuan passed every gate and moved ``fin_fund_flow``'s
net from ¥37,554.96 to ¥100,037,520.78. These tests fail on a gate without those checks.
"""

from __future__ import annotations

import json
from datetime import timedelta

import duckdb
import pytest
from gate_helpers import DT, fund_flow_columns, settlement_bill_columns, settlement_flow_columns  # type: ignore[import-not-found]

from douyin_etl import config
from douyin_etl.orchestration import steps
from douyin_etl.quality.gates import run_landing_gate

ABSURD_FEN = 9_999_999_999  # 99,999,999.99 yuan


def _failing(gate, suite=None, column=None):
    return [
        c
        for c in gate.checks
        if not c.success and (suite is None or c.suite == suite) and (column is None or c.column == column)
    ]


def test_an_absurd_fund_flow_amount_blocks_and_names_file_row_and_column(lake, write_partition):
    write_partition(
        "fund_flow",
        DT,
        fund_flow_columns(),
        rows=30,
        overrides={"account_amount": f"CASE WHEN i = 7 THEN {ABSURD_FEN} ELSE 100 + i END"},
    )
    with pytest.raises(steps.StepError) as raised:
        steps.landing_gate("absurd", {"fund_flow": [DT]})
    message = str(raised.value)
    # the file and row (drop/file.csv#9 is row i = 7), the column and the value
    assert "drop/file.csv#9" in message and "account_amount" in message and str(ABSURD_FEN) in message
    assert "Nothing was published" in message
    assert not config.warehouse_path().exists()  # the run stops before dbt: no warehouse was written
    record = json.loads((config.state_dir() / "runs" / "absurd" / "steps" / "landing_gate.json").read_text())
    assert record["status"] == "blocked"
    [cap] = [c for c in record["details"]["checks"] if not c["success"]]
    assert cap["column"] == "_order_flow_amount_fen" and cap["severity"] == "error" and cap["unexpected_count"] == 1
    assert cap["examples"][0]["_source_ref"] == "drop/file.csv#9" and cap["examples"][0]["account_amount"] == ABSURD_FEN
    # quarantined with the source column (not the derived one) and its value
    q = lake / "quarantine" / "backoffice" / "fund_flow" / f"dt={DT}" / "absurd-landing-gate.parquet"
    assert duckdb.sql(f"SELECT \"column\", value, source_ref FROM '{q}'").fetchall() == [
        ("account_amount", str(ABSURD_FEN), "drop/file.csv#9")
    ]


def test_a_withdrawal_may_exceed_the_order_cap_but_not_the_account_cap(lake, write_partition):
    # tag 11 (提现) moves the shop's balance: ¥5,000,000 is plausible; ¥2,000,000,000 is not
    write_partition(
        "fund_flow",
        DT,
        fund_flow_columns(),
        rows=4,
        overrides={
            "account_bill_desc_tag": "11",
            "fund_flow": "1",
            "account_amount": "CASE WHEN i = 2 THEN 200000000000 ELSE 500000000 END",
        },
    )
    gate = run_landing_gate("withdraw", {"fund_flow": [DT]})
    [cap] = gate.blocking
    assert cap.column == "account_amount" and cap.unexpected_count == 1
    assert cap.examples[0]["account_amount"] == 200_000_000_000


def _history(write_partition, days: int, rows: int = 60) -> None:
    """``days`` earlier partitions of fund_flow: settlement credits of 100..(100 + rows - 1) fen."""
    for k in range(1, days + 1):
        d = DT - timedelta(days=k)
        write_partition(
            "fund_flow",
            d,
            fund_flow_columns(d),
            rows=rows,
            overrides={"account_trade_no": f"'H{k}-' || i", "fund_flow": "0", "account_amount": "100 + i"},
        )


def test_amounts_far_above_history_warn_then_block(lake, write_partition, monkeypatch):
    _history(write_partition, days=7)  # 7 days × 60 rows: p99 = 158.41 fen
    # row 3: 20 × p99 (warning only); row 5: 200 × p99 (error); under every hard cap
    write_partition(
        "fund_flow",
        DT,
        fund_flow_columns(),
        rows=20,
        overrides={"fund_flow": "0", "account_amount": "CASE i WHEN 3 THEN 3200 WHEN 5 THEN 32000 ELSE 120 END"},
    )
    gate = run_landing_gate("hist", {"fund_flow": [DT]})
    ratio = "_history_ratio__account_amount"
    warn = next(c for c in gate.checks if c.column == ratio and c.severity == "warning")
    err = next(c for c in gate.checks if c.column == ratio and c.severity == "error")
    assert not warn.success and warn.unexpected_count == 2  # both rows are beyond 10 × p99
    assert not err.success and err.unexpected_count == 1 and err in gate.blocking
    assert err.examples[0]["_source_ref"] == "drop/file.csv#7" and err.examples[0]["account_amount"] == 32000
    assert round(err.examples[0][ratio]) == 201  # 32000 ÷ 159 (p99 of the 420 earlier values)
    # the ratios are suite parameters: an operator may loosen them per environment
    monkeypatch.setenv("DOUYIN_GATE_HISTORY_ERROR_RATIO", "500")
    assert run_landing_gate("hist2", {"fund_flow": [DT]}).ok


def test_a_thin_history_is_not_judged(lake, write_partition):
    _history(write_partition, days=6)  # < min_days (7): a fresh lake is not judged
    write_partition(
        "fund_flow",
        DT,
        fund_flow_columns(),
        rows=20,
        overrides={"fund_flow": "0", "account_amount": "CASE i WHEN 5 THEN 32000 ELSE 120 END"},
    )
    gate = run_landing_gate("thin", {"fund_flow": [DT]})
    assert gate.ok and gate.warnings == []
    judged = [c for c in gate.checks if c.column == "_history_ratio__account_amount"]
    assert len(judged) == 2 and all(c.success and str(c.observed_value).startswith("not judged") for c in judged)


def _settled(
    write_partition,
    rows: int = 12,
    flow_overrides: dict[str, str] | None = None,
    bill_overrides: dict[str, str] | None = None,
) -> None:
    write_partition("settlement_bill", DT, settlement_bill_columns(), rows=rows, overrides=bill_overrides)
    write_partition("fund_flow", DT, settlement_flow_columns(), rows=rows, overrides=flow_overrides)


def test_fund_flow_and_settlement_bills_that_agree_pass(lake, write_partition):
    _settled(write_partition)
    gate = run_landing_gate("agree", {"fund_flow": [DT], "settlement_bill": [DT]})
    checks = [c for c in gate.checks if c.suite == "cross.fund_flow_matches_settlement"]
    assert len(checks) == 4 and all(c.success for c in checks) and checks[0].element_count == 1  # one shop × day
    assert gate.ok and gate.warnings == [c for c in gate.warnings if c.suite == "cross.settlements_match_paid_lines"]


def test_a_fund_flow_that_disagrees_with_the_settlement_bill_blocks_naming_shop_and_day(lake, write_partition):
    # S3's 动账 credit is 1 yuan more than its bill row: under every cap, but the two sources disagree
    _settled(write_partition, flow_overrides={"account_amount": "CASE WHEN i = 3 THEN 9600 ELSE 9500 END"})
    with pytest.raises(steps.StepError) as raised:
        steps.landing_gate("disagree", {"fund_flow": [DT], "settlement_bill": [DT]})
    assert "cross.fund_flow_matches_settlement" in str(raised.value) and "shop_id=1001" in str(raised.value)
    assert f"day={DT}" in str(raised.value)
    gate = run_landing_gate("disagree2", {"fund_flow": [DT], "settlement_bill": [DT]})
    [unmatched] = [c for c in gate.blocking if c.column == "unmatched_abs_fen"]
    [example] = unmatched.examples
    assert (
        example["shop_id"],
        example["day"],
        example["bills_fen"],
        example["fund_flow_fen"],
        example["unmatched_fen"],
        example["unmatched_rows"],
        example["example_order_id"],
    ) == ("1001", DT.isoformat(), 114000, 114100, 100, 2, "S3")
    assert example["timing_diff_fen"] == 0 and gate.warnings == [  # all of the difference is unmatched money
        w for w in gate.warnings if w.suite == "cross.settlements_match_paid_lines"
    ]
    assert example["example_source_ref"].startswith("drop/file.csv#")


def test_an_entry_booked_across_midnight_only_warns_and_the_warning_reaches_the_run_report(lake, write_partition):
    # S0's 订单结算: the bill row at 23:59:50, its 动账 credit at 00:00:20 the next day
    nxt = DT + timedelta(days=1)
    _settled(
        write_partition,
        rows=5,
        bill_overrides={"settle_time": f"TIMESTAMPTZ '{DT} 23:59:50+08'"},
        flow_overrides={
            "bill_time": f"CASE WHEN i = 0 THEN TIMESTAMPTZ '{nxt} 00:00:20+08' ELSE TIMESTAMPTZ '{DT} 23:59:55+08' END"
        },
    )
    # the credit of S0 lands in the next day's partition (where its bill_time belongs)
    pdir = lake / "raw" / "backoffice" / "fund_flow"
    con = duckdb.connect()
    (pdir / f"dt={nxt}").mkdir()
    con.execute(
        f"COPY (SELECT * FROM '{pdir}/dt={DT}/part-00000.parquet' WHERE order_id = 'S0') "
        f"TO '{pdir}/dt={nxt}/part-00000.parquet' (FORMAT parquet)"
    )
    con.execute(
        f"COPY (SELECT * FROM '{pdir}/dt={DT}/part-00000.parquet' WHERE order_id <> 'S0') "
        f"TO '{pdir}/dt={DT}/part-00001.parquet' (FORMAT parquet)"
    )
    (pdir / f"dt={DT}" / "part-00000.parquet").unlink()
    con.close()
    run = "midnight"
    result = steps.landing_gate(run, {"fund_flow": [DT, nxt], "settlement_bill": [DT]})
    assert result.ok
    path = steps.report(run, DT, nxt)
    report = json.loads(open(path, encoding="utf-8").read())
    diff = [w for w in report["warnings"] if w["suite"] == "cross.fund_flow_matches_settlement"]
    assert [(w["column"], w["unexpected_count"]) for w in diff] == [
        ("timing_diff_fen", 2)
    ]  # −9500 on DT, +9500 on DT+1
    assert {e["day"]: e["timing_diff_fen"] for e in diff[0]["examples"]} == {
        DT.isoformat(): -9500,
        nxt.isoformat(): 9500,
    }
    assert all(e["unmatched_fen"] == 0 for e in diff[0]["examples"])
    html = open(path.replace("report.json", "report.html"), encoding="utf-8").read()
    assert "Warnings (" in html and "cross.fund_flow_matches_settlement" in html and "timing_diff_fen" in html


def test_a_bill_without_its_entry_on_the_last_day_is_in_flight_then_blocks_the_next_run(lake, write_partition):
    # S0's bill row at 23:59:50 on DT; its 动账 credit is not in DT's file: maybe tomorrow's, maybe never
    _settled(
        write_partition,
        rows=5,
        bill_overrides={"settle_time": f"TIMESTAMPTZ '{DT} 23:59:50+08'"},
        flow_overrides={"account_bill_desc_tag": "CASE WHEN i = 0 THEN 9 ELSE 3 END"},
    )  # S0: no 订单结算
    gate = run_landing_gate("flight", {"fund_flow": [DT], "settlement_bill": [DT]})
    [flight] = [c for c in gate.warnings if c.column == "in_flight_abs_fen"]
    assert gate.ok  # in flight: a warning, not a block
    assert not [c for c in gate.blocking if c.suite == "cross.fund_flow_matches_settlement"]
    assert (
        flight.examples[0]["in_flight_rows"],
        flight.examples[0]["in_flight_fen"],
        flight.examples[0]["unmatched_fen"],
        flight.examples[0]["example_order_id"],
    ) == (1, -9500, 0, "S0")
    # the next day arrives and S0's credit is still not there: the next run judges DT again, and blocks
    nxt = DT + timedelta(days=1)
    write_partition(
        "settlement_bill",
        nxt,
        settlement_bill_columns(nxt),
        rows=3,
        overrides={"request_no": "'N' || i", "order_id": "'T' || i"},
    )
    write_partition(
        "fund_flow",
        nxt,
        settlement_flow_columns(nxt),
        rows=3,
        overrides={"account_trade_no": "'NF' || i", "order_id": "'T' || i"},
    )
    with pytest.raises(steps.StepError) as raised:
        steps.landing_gate("flight-next", {"fund_flow": [nxt], "settlement_bill": [nxt]})
    assert "unmatched_abs_fen" in str(raised.value) and f"day={DT}" in str(raised.value)
