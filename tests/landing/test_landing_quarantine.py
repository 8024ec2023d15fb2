from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pytest

from douyin_etl.landing.quarantine import Quarantine, summary, threshold

DT = date(2026, 3, 1)


def _row(reason: str, n: int) -> dict:
    return {
        "reason": reason,
        "column": "settle_amount",
        "value": "1.234",
        "source_ref": f"结算账单_1001_20260301.csv:{n}",
        "raw": {"结算金额": "1.234", "结算单号": f"R{n}"},
    }


def test_add_writes_parquet_with_columns(lake):
    q = Quarantine("run-1", lake)
    path = q.add("settlement_bill", DT, [_row("more than 2 decimals in a yuan amount", 5)])
    assert path.endswith("quarantine/backoffice/settlement_bill/dt=2026-03-01/run-1.parquet")
    con = duckdb.connect()
    desc = con.execute(f"DESCRIBE SELECT * FROM read_parquet('{path}', hive_partitioning=false)").fetchall()
    assert [(d[0], d[1]) for d in desc] == [
        ("raw", "VARCHAR"),
        ("reason", "VARCHAR"),
        ("column", "VARCHAR"),
        ("value", "VARCHAR"),
        ("source_ref", "VARCHAR"),
        ("run_id", "VARCHAR"),
        ("quarantined_at", "TIMESTAMP WITH TIME ZONE"),
    ]
    raw, reason, column, value, ref, run_id = con.execute(
        f"SELECT raw, reason, \"column\", value, source_ref, run_id FROM read_parquet('{path}', hive_partitioning=false)"
    ).fetchone()
    assert json.loads(raw) == {"结算单号": "R5", "结算金额": "1.234"}
    assert (reason, column, value, ref, run_id) == (
        "more than 2 decimals in a yuan amount",
        "settle_amount",
        "1.234",
        "结算账单_1001_20260301.csv:5",
        "run-1",
    )


def test_summary_counts_per_entity_and_reason(lake):
    q = Quarantine("run-1", lake)
    q.add("settlement_bill", DT, [_row("a", 2), _row("a", 3)])
    q.add("settlement_bill", DT, [_row("b", 4)])  # accumulates into the same file
    q.add("fund_flow", date(2026, 3, 2), [_row("a", 2)])
    Quarantine("run-2", lake).add("settlement_bill", DT, [_row("a", 9)])
    got = [(s["entity"], s["reason"], s["rows"]) for s in summary("run-1", lake)]
    assert got == [("fund_flow", "a", 1), ("settlement_bill", "a", 2), ("settlement_bill", "b", 1)]
    assert q.summary() == summary("run-1", lake)
    every = {(s["entity"], s["reason"]): s["rows"] for s in summary(None, lake)}
    assert every[("settlement_bill", "a")] == 3
    assert summary("no-such-run", lake) == []


def test_row_without_reason_is_refused(lake):
    with pytest.raises(ValueError, match="without a reason"):
        Quarantine("r", lake).add("settlement_bill", DT, [{"column": "x"}])
    assert not Path(lake.path("quarantine")).exists()


def test_threshold_env(monkeypatch):
    monkeypatch.delenv("DOUYIN_QUARANTINE_THRESHOLD", raising=False)
    monkeypatch.delenv("DOUYIN_QUARANTINE_THRESHOLD__FUND_FLOW", raising=False)
    assert threshold("fund_flow") == 0.01
    monkeypatch.setenv("DOUYIN_QUARANTINE_THRESHOLD", "0.05")
    assert threshold("fund_flow") == 0.05
    monkeypatch.setenv("DOUYIN_QUARANTINE_THRESHOLD__FUND_FLOW", "0.2")
    assert threshold("fund_flow") == 0.2 and threshold("settlement_bill") == 0.05
    monkeypatch.setenv("DOUYIN_QUARANTINE_THRESHOLD__FUND_FLOW", "2")
    with pytest.raises(ValueError, match="DOUYIN_QUARANTINE_THRESHOLD__FUND_FLOW"):
        threshold("fund_flow")
    with pytest.raises(KeyError):
        threshold("nope")


def test_same_run_from_two_steps_unions_without_repeats(lake):
    Quarantine("run-1", lake).add("settlement_bill", DT, [_row("a", 2), _row("a", 3)])  # e.g. ingestion
    Quarantine("run-1", lake).add("settlement_bill", DT, [_row("b", 2), _row("a", 3)])  # e.g. a gate / a retry
    got = [(s["reason"], s["rows"]) for s in summary("run-1", lake)]
    assert got == [("a", 2), ("b", 1)]
