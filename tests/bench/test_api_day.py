"""``bench.api_day``: every API entity of one day through the mock, then the same day again (the lookback
rerun): per-entity requests and requests per order, and the rerun does not ask for final routes again."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # `bench` is a top-level folder, not installed

from bench import child  # noqa: E402
from bench.api_day import API_ENTITIES, default_day, table  # noqa: E402


def test_api_day_first_run_and_rerun(api_world, tmp_path, monkeypatch):
    monkeypatch.setenv("DOUYIN_STATE_DIR", str(tmp_path / "state"))
    r = child.STEPS["extract_api_day"](
        {"world": str(api_world), "work": str(tmp_path), "qps": 1000, "latency_ms": 0, "workers": 4}
    )
    assert r["error"] is None and r["day"] == default_day(api_world).isoformat() and len(r["passes"]) == 2
    first, rerun = r["passes"]
    assert set(first["per_entity"]) == set(API_ENTITIES) and first["orders"] > 100
    assert first["requests"] == sum(v["requests"] for v in first["per_entity"].values())
    assert first["requests_per_order"] == round(first["requests"] / first["orders"], 4)
    tf, tr = first["per_entity"]["logistics_track"], rerun["per_entity"]["logistics_track"]
    assert tf["tracking"]["carried"] == 0 and tf["tracking"]["requested"] > 100  # 3PL shipments of the day found
    assert (
        tr["tracking"]["carried"] > 0
        and tr["tracking"]["carried"] + tr["tracking"]["requested"] == tf["tracking"]["requested"]
    )
    assert tr["records"] == tf["records"]  # the same routes landed either way
    assert first["requests"] - rerun["requests"] == tr["tracking"]["carried"]
    for entity in API_ENTITIES[:-1]:  # the other entities cost the same on a rerun
        assert rerun["per_entity"][entity]["requests"] == first["per_entity"][entity]["requests"]
    assert r["rerun"]["requests_per_order_after"] < r["rerun"]["requests_per_order_before"]
    assert "carried" in table(r) and json.dumps(r)
