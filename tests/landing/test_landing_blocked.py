"""Issue 12: a partition the landing gate blocked is recorded; later runs refuse at their landing gate,
naming the entity, the day, the file and the fix, until a corrected file replaces the partition."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

from douyin_etl.landing import blocked
from douyin_etl.orchestration import steps
from douyin_etl.sources.files.ingest import ingest_entity

D1, D2 = date(2026, 3, 1), date(2026, 3, 2)
HEADERS = ["仓库编码", "仓库名称", "省", "市", "仓库类型", "补货周期(天)"]


def _warehouse_list(path: Path, lead_time: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADERS)
        w.writerow(["WH01", "杭州仓", "浙江", "杭州", "1", lead_time])


@pytest.fixture
def env(lake, tmp_path, monkeypatch):
    monkeypatch.setenv("DOUYIN_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("DOUYIN_DROPS_DIR", str(tmp_path / "drops"))
    monkeypatch.setenv("DOUYIN_WAREHOUSE", str(tmp_path / "wh" / "douyin.duckdb"))
    return tmp_path / "drops"


def test_a_blocked_partition_stops_later_runs_until_it_is_replaced(lake, env):
    name = "仓库列表_20260301.csv"
    _warehouse_list(env / D1.isoformat() / name, "-1")  # lands (an int), but the gate says lead_time_days >= 0
    ingest_entity("warehouse", D1, "run1")
    with pytest.raises(steps.StepError, match="landing gate failed"):
        steps.landing_gate("run1", {"warehouse": [D1]})
    [record] = blocked.blocked_partitions(lake)
    assert (record.entity, record.dt, record.files, record.run_id) == ("warehouse", "2026-03-01", [name], "run1")
    assert "lead_time_days" in record.reason

    (env / D2.isoformat()).mkdir()  # the next day: no new list (master data), an empty partition lands
    ingest_entity("warehouse", D2, "run2")
    with pytest.raises(steps.StepError) as err:
        steps.landing_gate("run2", {"warehouse": [D2]})
    msg = str(err.value)
    assert not err.value.retryable
    assert "warehouse dt=2026-03-01" in msg and name in msg and "lead_time_days" in msg and "run1" in msg, msg
    assert "rerun that day" in msg and "--start 2026-03-01 --end 2026-03-01" in msg
    assert steps.read_steps("run2")["landing_gate"]["status"] == "blocked"

    _warehouse_list(env / D1.isoformat() / name, "3")  # the corrected file, and that day rerun
    ingest_entity("warehouse", D1, "run3")
    assert blocked.blocked_partitions(lake) == []
    assert steps.landing_gate("run3", {"warehouse": [D1]}).ok
    assert steps.landing_gate("run4", {"warehouse": [D2]}).ok
