"""The step records and the run report, without running anything heavy."""

from __future__ import annotations

import json
from datetime import date

import pytest

from douyin_etl.orchestration import steps


@pytest.fixture()
def state(tmp_path, monkeypatch):
    monkeypatch.setenv("DOUYIN_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("DOUYIN_WAREHOUSE", str(tmp_path / "wh" / "douyin.duckdb"))
    return tmp_path / "state"


def test_landed_rows_of_a_combined_extraction_are_split_by_entity():
    shop = {"entity": "shop_order", "rows": {"shop_order": 10, "sku_order": 14}}
    assert steps._landed_of("shop_order", shop) == (10, {"shop_order": 10, "sku_order": 14})
    assert steps._landed_of("sku_order", {"entity": "sku_order", "rows": 0, "landed_by": "shop_order"}) == (0, {})
    assert steps._landed_of("settlement_bill", {"rows": 7, "quarantined": 1}) == (7, {"settlement_bill": 7})


def test_report_of_a_blocked_run_names_the_gate_and_counts_rows(state):
    run_id = "unit_blocked"
    steps.begin_run(run_id, {"run_id": run_id, "start": "2026-10-01", "end": "2026-10-02"})
    steps._record(run_id, "extract.shop_order", "ok", 1.5,
                  {"rows": 10, "landed": {"shop_order": 10, "sku_order": 14}, "days": ["2026-10-01"]})
    steps._record(run_id, "extract.settlement_bill", "ok", 0.5,
                  {"rows": 7, "quarantined": 2, "landed": {"settlement_bill": 7}, "days": ["2026-10-01"]})
    steps._record(run_id, "landing_gate", "blocked", 2.0, {"ok": False, "summary": "landing gate BLOCKED"})
    assert steps.run_status(steps.read_steps(run_id)) == "blocked"
    path = steps.report(run_id, date(2026, 10, 1), date(2026, 10, 2))
    report = json.loads(open(path, encoding="utf-8").read())
    assert report["status"] == "blocked"
    assert report["rows"]["sku_order"]["landed"] == 14 and report["rows"]["shop_order"]["landed"] == 10
    assert report["rows"]["settlement_bill"]["quarantined"] == 2
    assert report["gates"]["landing"]["ok"] is False
    assert {s["name"]: s["status"] for s in report["steps"]} == {
        "extract": "ok", "landing_gate": "blocked", "build_audit": "skipped", "mart_gate": "skipped",
        "publish": "skipped"}
    # a new attempt of the same run id starts clean
    steps.begin_run(run_id)
    assert steps.read_steps(run_id) == {}


def test_a_failed_extraction_is_recorded_with_what_to_do(state, monkeypatch):
    def boom(entity, day, run_id, drops_dir):
        raise ConnectionError("gateway unreachable")

    monkeypatch.setattr(steps, "_extract_one", boom)
    with pytest.raises(steps.StepError, match=r"extract after_sale for business day 2026-10-03.*rerun") as err:
        steps.extract_entity_days("after_sale", [date(2026, 10, 3)], "unit_fail")
    assert err.value.retryable
    rec = steps.read_steps("unit_fail")["extract.after_sale"]
    assert rec["status"] == "failed" and "gateway unreachable" in rec["details"]["error"]
    assert steps.run_status(steps.read_steps("unit_fail")) == "failed"


def test_run_range_rejects_an_inverted_range():
    from douyin_etl.pipeline import run_range

    with pytest.raises(ValueError, match="before start"):
        run_range(date(2026, 10, 2), date(2026, 10, 1))
