"""dbt's fixed cost (issue 13): a daily build reuses the saved parse of the previous run and still builds
the marts as of its own day. Through the pipeline's steps (build_audit -> dbt_runner.run_dbt), over the
dbt tests' small world."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow


def _dbt_log(run_id: str) -> str:
    from douyin_etl.warehousing import wap

    return (wap.run_dir(run_id) / "dbt" / "logs" / "dbt.log").read_text(errors="replace")


def test_a_daily_build_reuses_the_parse_and_builds_as_of_its_day(
    dbt_world: dict[str, Any], dbt_helpers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from douyin_etl.orchestration import steps
    from douyin_etl.warehousing import wap

    monkeypatch.setenv("DOUYIN_LAKE_DIR", str(dbt_world["lake_dir"]))
    monkeypatch.setenv("DOUYIN_STATE_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("DOUYIN_WAREHOUSE", str(tmp_path / "warehouse" / "douyin.duckdb"))
    days = dbt_helpers.world_days(dbt_world["world_dir"])
    first, daily = days[-4], days[-1]

    def reconciled(audit: str) -> tuple:
        return dbt_helpers.query(
            Path(audit), "select max(as_of_date), count(*), max(pay_date) from finance.fin_order_reconciliation"
        )[0]

    full = steps.build_audit("parse_full", first, full_refresh=True)
    assert full.ok, full.dbt
    assert full.tests_since is None  # a full refresh rebuilds and tests everything
    wap.publish(Path(full.audit_path), "parse_full", meta={"as_of": first.isoformat()})
    # the published file (a first build's audit file becomes the next run's audit copy: read what analysts read)
    as_of_1, lines_1, last_pay_1 = reconciled(str(tmp_path / "warehouse" / "douyin.duckdb"))
    assert as_of_1 == first and last_pay_1 <= first

    out = steps.build_audit("parse_daily", daily, window_start=daily)
    assert out.ok, out.dbt
    log = _dbt_log("parse_daily")
    assert "Unable to do partial parsing" not in log  # main: "... because saved manifest not found"
    assert "Partial parsing enabled, no changes found, skipping parsing" in log
    assert out.dbt["parse"] == "reused"
    # its data tests read the rebuilt window (lookback_days = 3 before the day); the value changes every run
    assert out.tests_since == daily - timedelta(days=3)
    as_of_2, lines_2, last_pay_2 = reconciled(out.audit_path)
    assert as_of_2 == daily and last_pay_2 > first and lines_2 > lines_1  # the marts moved to the new day
