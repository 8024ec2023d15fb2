"""``bench.run`` at the smoke scale, end to end: every step measured (wall, RSS) in a child process, the
ratios present and positive, the JSON written where the CLI says, the table rendered with the targets."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # `bench` is a top-level folder, not installed

from bench import run as bench_run  # noqa: E402
from bench import scales  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]

STEPS = (
    "generate",
    "extract",
    "landing_gate",
    "dbt_full",
    "dbt_direct",
    "mart_gate",
    "publish",
    "extract_incr",
    "landing_gate_incr",
    "dbt_incr",
    "mart_gate_incr",
    "publish_incr",
    "extract_rate_limited",
)


def test_scales_follow_the_issue() -> None:
    assert scales.get("1").expected_orders == 2 * 30 * 3_000
    assert scales.get("10").orders_per_day == 10 * scales.get("1").orders_per_day
    assert scales.get("100").expected_orders == 2 * 365 * 15_000
    assert scales.get("0.01") is scales.get("smoke")
    with pytest.raises(ValueError, match="unknown scale factor"):
        scales.get("3")


def test_smoke_scale_end_to_end(tmp_path: Path) -> None:
    results = tmp_path / "results"
    doc = bench_run.run("smoke", work=tmp_path / "work", results_dir=results, airflow=False, qps=20, latency_ms=50)

    written = sorted(results.glob("smoke-*.json"))
    assert [str(p) for p in written] == [doc["results_path"]]
    data = json.loads(written[0].read_text(encoding="utf-8"))
    assert set(STEPS) <= set(data["steps"])
    for name in STEPS:
        s = data["steps"][name]
        assert s["returncode"] == 0, name
        assert s["wall_s"] > 0 and s["peak_rss_mb"] > 20, (name, s)  # a Python child is never below ~20 MB
        assert 0 < s["result"]["own_s"] <= s["wall_s"], (name, s)
    # the dbt build's subprocess tree is measured too: more than a bare interpreter
    assert data["steps"]["dbt_full"]["tree_peak_rss_mb"] > data["steps"]["publish"]["tree_peak_rss_mb"]

    d = data["derived"]
    assert d["orders"] > 0 and d["rows_landed"] > d["orders"]  # order lines, items, drops … land too
    assert (
        d["rows_landed"] == data["steps"]["extract"]["result"]["rows"] + data["steps"]["extract_incr"]["result"]["rows"]
    )
    for key in (
        "dbt_overhead",
        "dbt_overhead_execution",
        "dbt_fixed_s",
        "orchestration_overhead_process",
        "incremental_over_full",
        "rows_per_s_total",
        "total_wall_s",
        "total_peak_rss_mb",
    ):
        assert d[key] is not None and d[key] > 0, key
    assert (
        abs(d["total_wall_s"] - sum(data["steps"][k]["wall_s"] for k in bench_run.PIPELINE_STEPS if k in data["steps"]))
        < 0.05
    )
    for name in ("extract", "extract_incr"):  # the mock ran in its own process: counted beside, not in, the step
        r = data["steps"][name]["result"]
        assert r["mock"] == "separate process" and r["api_requests"] > 0 and r["mock_peak_rss_mb"] > 20, (name, r)
    rl = d["extract_rate_limited"]
    assert rl["records"] > 0 and rl["requests"] > 0 and rl["latency_ms"] == 50 and rl["qps"] == 20
    # under a 20 QPS limit the client must not exceed it (small slack for the token bucket's first burst)
    assert 0 < rl["qps_utilisation"] <= 1.25
    direct = data["steps"]["dbt_direct"]["result"]
    assert direct["models"] > 10 and direct["tests"] > 10
    assert data["dbt_settings"]["threads"] and data["dbt_settings"]["memory_limit"]

    names = {t["target"] for t in data["targets"]}
    assert {
        "extraction QPS utilisation",
        "dbt overhead (build ÷ direct SQL)",
        "orchestration overhead",
        "dbt: incremental day ÷ full build",
        "one more day ÷ full rebuild (landed→published)",
    } <= names
    # the daily run, landed → published: its four steps, and the published file after it
    assert d["daily_landed_to_published_wall_s"] == pytest.approx(
        sum(data["steps"][k]["wall_s"] for k in bench_run.DAILY_LANDED_TO_PUBLISHED), abs=0.05
    )
    assert d["warehouse_mb_full"] > 0 and d["warehouse_mb_after_daily"] > 0
    assert d["history_landed_by"] == "extract (mock API)"
    table = bench_run.render(doc)
    assert "dbt_full" in table and "targets:" in table and ("✓" in table or "✗" in table)

    # the document's tables and chart come from the same JSON
    from bench import chart, tables

    md = tables.tables([data])
    assert f"| orders | {d['orders']:,} |" in md and "| `publish_incr` |" in md
    svg = chart.render(chart.load(written))
    assert svg.startswith("<svg") and svg.count("<circle") == 4  # 2 series × 2 panels × 1 scale


def _doc(name: str, orders: int, wall: float) -> dict:
    steps = {k: {"wall_s": wall} for k in ("generate", "extract")}
    return {
        "scale": {"name": name},
        "steps": steps,
        "derived": {
            "orders": orders,
            "total_wall_s": 2 * wall,
            "landed_to_published_wall_s": wall,
            "total_peak_rss_mb": 100.0 + orders / 1000,
        },
    }


def test_growth_fits_fixed_plus_per_order_cost() -> None:
    from bench.compare import growth

    # 10 s fixed + 1 s per 1,000 orders: 1,000 orders -> 11 s, 10,000 orders -> 20 s
    g = growth(_doc("0.1", 1_000, 11.0), _doc("1", 10_000, 20.0))
    e = g["steps"]["extract"]
    assert g["orders_ratio"] == 10.0
    assert e["time_ratio"] == round(20 / 11, 3) and e["per_row_ratio"] == round(20 / 11 / 10, 3)
    assert e["fixed_s"] == 10.0 and e["per_million_orders_s"] == 1000.0
    assert e["sf100_s"] == round(10 + 10_950_000 / 1000, 1)
