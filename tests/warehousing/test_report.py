"""The run report: JSON for machines, one self-contained HTML page for people."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest

from douyin_etl.warehousing.report import RunRecord, write_report


def test_report_json_and_self_contained_html(wh_env):
    record = RunRecord("2026-10-05T00-00", interval_start=date(2026, 10, 4), interval_end=date(2026, 10, 5))
    with record.step("extract") as details:
        details["partitions"] = 12
    with pytest.raises(RuntimeError):
        with record.step("dbt build"):
            raise RuntimeError("model fct_orders failed <boom>")
    record.add_rows("settlement_bill", "landed", 1200)
    record.add_rows("settlement_bill", "quarantined", 3)
    record.gates["landing"] = {
        "ok": False,
        "rows_validated": 1203,
        "seconds": 1.2,
        "checks": [
            {
                "suite": "landing.settlement_bill",
                "dt": "2026-10-04",
                "expectation_type": "expect_column_values_to_be_between",
                "column": "account_amount",
                "severity": "error",
                "success": False,
                "unexpected_count": 1,
                "element_count": 1203,
                "observed_value": {"unexpected": 1},
                "description": "account_amount >= 0",
                "examples": [{"_row": 7, "account_trade_no": "T00000007", "account_amount": -1234}],
            },
            {
                "suite": "landing.settlement_bill",
                "dt": "2026-10-04",
                "expectation_type": "expect_table_row_count_to_be_between",
                "severity": "error",
                "success": True,
                "observed_value": 1203,
            },
        ],
    }
    record.quarantine = [{"entity": "settlement_bill", "reason": "bad fen", "rows": 3}]
    record.reconciliation = {"settled": 90, "discrepancy/fee_mismatch": 2}
    record.dbt = {
        "command": "build",
        "ok": False,
        "elapsed": 12.5,
        "counts": {"success": 40, "error": 1},
        "failures": [{"unique_id": "model.douyin.fct_orders", "status": "error", "message": "boom"}],
    }
    record.status = "blocked"
    jpath, hpath = write_report(record)

    assert jpath == wh_env["state"] / "runs" / "2026-10-05T00-00" / "report.json"
    data = json.loads(jpath.read_text())
    assert data["status"] == "blocked" and data["finished_at"]
    assert [(s["name"], s["status"]) for s in data["steps"]] == [("extract", "ok"), ("dbt build", "failed")]
    assert data["steps"][0]["details"] == {"partitions": 12}
    assert data["rows"] == {"settlement_bill": {"landed": 1200, "quarantined": 3}}
    assert "dbt build: RuntimeError: model fct_orders failed <boom>" in data["errors"][0]

    html = hpath.read_text()
    assert "<script" not in html and not re.search(r"(src|href)=", html)  # no external assets at all
    assert "<style>" in html
    assert "T00000007" in html and "-1234" in html  # the failing example is shown
    assert "&lt;boom&gt;" in html and "<boom>" not in html  # escaped
    assert "discrepancy/fee_mismatch" in html and "model.douyin.fct_orders" in html
