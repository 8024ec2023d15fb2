"""The step records and the run report, without running anything heavy."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from douyin_etl.orchestration import steps


@pytest.fixture()
def state(tmp_path, monkeypatch):
    monkeypatch.setenv("DOUYIN_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("DOUYIN_WAREHOUSE", str(tmp_path / "wh" / "douyin.duckdb"))
    return tmp_path / "state"


def _stub_extractors(monkeypatch, api: dict, file: dict) -> None:
    """The two extractors, returning the summaries they document (``rows`` a number, or per entity)."""
    import douyin_etl.sources.doudian.extract as api_extract
    import douyin_etl.sources.files.ingest as ingest

    monkeypatch.setattr(api_extract, "extract_api_entity", lambda entity, day, run_id: dict(api[entity]))
    monkeypatch.setattr(ingest, "ingest_entity", lambda entity, day, run_id, drops_dir=None: dict(file[entity]))


def test_rows_landed_are_read_from_each_extractors_own_summary(state, monkeypatch):
    """One call may land several entities (shop_order lands sku_order); an alias lands nothing itself."""
    from douyin_etl.sources.files import expected

    _stub_extractors(
        monkeypatch,
        {
            "shop_order": {"entity": "shop_order", "rows": {"shop_order": 10, "sku_order": 14}},
            "sku_order": {"entity": "sku_order", "rows": 0, "landed_by": "shop_order"},
            "after_sale": {"entity": "after_sale", "rows": 3},
        },
        {"settlement_bill": {"entity": "settlement_bill", "rows": 7, "quarantined": 1}},
    )
    monkeypatch.setattr(expected, "check_days", lambda *a, **k: [])  # after ingest imported the real one
    d1, d2 = date(2026, 10, 1), date(2026, 10, 2)
    shop = steps.extract_entity_days("shop_order", [d1, d2], "unit_rows")
    assert (shop.rows, shop.landed, shop.partitions) == (20, {"shop_order": 20, "sku_order": 28}, {d1: 10, d2: 10})
    alias = steps.extract_entity_days("sku_order", [d1], "unit_rows")
    assert (alias.rows, alias.landed) == (0, {})
    bill = steps.extract_entity_days("settlement_bill", [d1], "unit_rows")
    assert (bill.rows, bill.quarantined, bill.landed) == (7, 1, {"settlement_bill": 7})
    assert steps.extract_entity_days("after_sale", [d1], "unit_rows").landed == {"after_sale": 3}
    recorded = steps.read_extracts("unit_rows")
    assert recorded["shop_order"] == ("ok", shop) and recorded["settlement_bill"] == ("ok", bill)


def test_a_summary_without_its_row_count_is_an_error_not_zero_rows(state, monkeypatch):
    """No guessing at other spellings of a row count: a summary that lacks ``rows`` fails the step."""
    _stub_extractors(monkeypatch, {"after_sale": {"entity": "after_sale", "rows_landed": 5}}, {})
    with pytest.raises(steps.StepError, match="KeyError: 'rows'"):
        steps.extract_entity_days("after_sale", [date(2026, 10, 1)], "unit_norows")
    assert steps.read_steps("unit_norows")["extract.after_sale"]["status"] == "failed"


def _gate(run_id: str, gate: str, ok: bool, **kw):
    from douyin_etl.quality.results import CheckResult, GateResult

    return GateResult(
        gate,
        run_id,
        checks=[
            CheckResult(gate, "expect_x", "error", ok, entity="shop_order", dt="2026-10-01", description="a check")
        ],
        **kw,
    )


def test_report_of_a_blocked_run_names_the_gate_and_counts_rows(state):
    from douyin_etl.orchestration.contracts import ExtractResult

    run_id = "unit_blocked"
    d = date(2026, 10, 1)
    steps.begin_run(run_id, {"run_id": run_id, "start": "2026-10-01", "end": "2026-10-02"})
    steps._record(
        run_id,
        "extract.shop_order",
        "ok",
        1.5,
        ExtractResult(
            "shop_order", "platform", [d], 10, partitions={d: 10}, landed={"shop_order": 10, "sku_order": 14}
        ).to_dict(),
    )
    steps._record(
        run_id,
        "extract.settlement_bill",
        "ok",
        0.5,
        ExtractResult("settlement_bill", "finance", [d], 7, 2, {d: 7}, {"settlement_bill": 7}).to_dict(),
    )
    steps._record(run_id, "landing_gate", "blocked", 2.0, _gate(run_id, "landing", False).to_dict())
    assert steps.run_status(steps.read_steps(run_id)) == "blocked"
    path = steps.report(run_id, date(2026, 10, 1), date(2026, 10, 2))
    report = json.loads(open(path, encoding="utf-8").read())
    assert report["status"] == "blocked"
    assert report["rows"]["sku_order"]["landed"] == 14 and report["rows"]["shop_order"]["landed"] == 10
    assert report["rows"]["settlement_bill"]["quarantined"] == 2
    assert report["gates"]["landing"]["ok"] is False
    assert {s["name"]: s["status"] for s in report["steps"]} == {
        "extract": "ok",
        "landing_gate": "blocked",
        "build_audit": "skipped",
        "mart_gate": "skipped",
        "publish": "skipped",
    }
    # the same plan again (a plan without started_at, as the bench writes it) keeps the records
    steps.begin_run(run_id, {"run_id": run_id, "start": "2026-10-01", "end": "2026-10-02"})
    assert steps.run_status(steps.read_steps(run_id)) == "blocked"
    # a new attempt of the same run id starts clean
    steps.begin_run(run_id)
    assert steps.read_steps(run_id) == {}


def test_a_step_rerun_drops_the_stale_records_of_the_steps_after_it(state):
    """Airflow re-runs a DAG run's setup (the plan) when a task is cleared: the same plan keeps the
    records, and a gate that now blocks cannot leave an earlier attempt's publish saying "published"."""
    from douyin_etl.orchestration import run

    plan = run.plan_range("unit_rerun", date(2026, 10, 1), date(2026, 10, 1))
    run.begin(plan)
    steps._record(plan.run_id, "landing_gate", "ok", 1.0, _gate(plan.run_id, "landing", True).to_dict())
    steps._record(plan.run_id, "publish", "ok", 1.0, {"stale": True})
    run.begin(plan)  # the setup again, same plan: the records stay
    assert set(steps.read_steps(plan.run_id)) == {"plan", "landing_gate", "publish"}
    steps._record(plan.run_id, "landing_gate", "blocked", 1.0, _gate(plan.run_id, "landing", False).to_dict())
    assert set(steps.read_steps(plan.run_id)) == {"plan", "landing_gate"}
    assert steps.run_status(steps.read_steps(plan.run_id)) == "blocked"


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
    from douyin_etl.orchestration.run import run_range

    with pytest.raises(ValueError, match="before start"):
        run_range(date(2026, 10, 2), date(2026, 10, 1))


def _settlement_csv(path, request_no: str) -> None:
    from douyin_etl.sources.files.specs import SPECS

    headers = [c.header for c in SPECS["settlement_bill"].columns]
    row = (
        {
            "结算时间": "2026-10-03 10:00:00",
            "结算单号": request_no,
            "订单号": "691",
            "子订单号": "681",
            "商品ID": "36",
            "交易类型": "已结算",
        }
        | {h: "0.00" for h in headers[6:]}
        | {"其他分成说明": "", "备注": ""}
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(",".join(headers) + "\n" + ",".join(row[h] for h in headers) + "\n", encoding="utf-8")


def test_a_missing_drops_dir_stops_the_extraction_before_landing_and_is_retryable(state, tmp_path, monkeypatch):
    """Issue 12: an empty/missing DOUYIN_DROPS_DIR used to replace every file partition with an empty one."""
    from douyin_etl.landing import reader

    lake = tmp_path / "lake"
    monkeypatch.setenv("DOUYIN_LAKE_DIR", str(lake))
    monkeypatch.setenv("DOUYIN_SHOP_IDS", "1001")
    monkeypatch.setenv("DOUYIN_DROPS_DIR", str(tmp_path / "drops"))
    day = date(2026, 10, 3)
    _settlement_csv(tmp_path / "drops" / day.isoformat() / "结算账单_1001_20261003.csv", "R1")
    assert steps.extract_entity_days("settlement_bill", [day], "unit_ok").rows == 1
    part = lake / "raw" / "backoffice" / "settlement_bill" / f"dt={day}" / "part-00000.parquet"
    before = part.read_bytes()
    monkeypatch.setenv("DOUYIN_DROPS_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(steps.StepError) as err:
        steps.extract_entity_days("settlement_bill", [day, day + timedelta(days=1)], "unit_missing")
    msg = str(err.value)
    assert err.value.retryable  # a retry clears it once the files arrive
    assert str(tmp_path / "nowhere" / "2026-10-03") in msg and "结算账单_*_20261003.csv|xlsx" in msg, msg
    assert "2026-10-04" in msg and "check DOUYIN_DROPS_DIR" in msg and "rerun this day" in msg
    assert part.read_bytes() == before and reader.list_partitions("settlement_bill") == [day]
    rec = steps.read_steps("unit_missing")["extract.settlement_bill"]
    assert rec["status"] == "failed" and "结算账单" in rec["details"]["error"]


def test_a_fresh_lake_without_drops_lands_no_file_entity(state, tmp_path, monkeypatch):
    from douyin_etl.sources.files.specs import SPECS

    monkeypatch.setenv("DOUYIN_LAKE_DIR", str(tmp_path / "lake"))
    monkeypatch.setenv("DOUYIN_SHOP_IDS", "1001")
    monkeypatch.setenv("DOUYIN_DROPS_DIR", str(tmp_path / "no-drops"))
    for entity in SPECS:
        with pytest.raises(steps.StepError, match="does not exist"):
            steps.extract_entity_days(entity, [date(2026, 10, 3)], "unit_fresh")
    assert not (tmp_path / "lake" / "raw").exists()


def test_every_step_result_survives_its_xcom_json():
    """The one JSON form of each result (``to_dict``/``from_dict``) round-trips through json.dumps."""
    from pathlib import Path

    from douyin_etl.orchestration.contracts import BuildResult, ExtractResult, Plan
    from douyin_etl.quality.results import GateResult
    from douyin_etl.warehousing.wap import PublishResult

    d1, d2 = date(2026, 10, 1), date(2026, 10, 2)
    plan = Plan("r1", d2, d2, {"shop_order": [d1, d2], "product": [d2]}, "schedule", {"shop_order": 3})
    assert (plan.as_of, plan.window_start) == (d2, d1)  # a look-back partition widens the rebuilt window
    extract = ExtractResult(
        "shop_order", "platform", [d1], 10, 0, {d1: 10}, {"shop_order": 10, "sku_order": 14}, [{"requests": 3}], 1.5
    )
    build = BuildResult("/a.duckdb", d2, d1, d2, tests_since=d1, published_horizon=None, ok=True, dbt={"ok": True})
    published = PublishResult(
        "r1", Path("/w.duckdb"), Path("/w.version.json"), "2026-10-02T00:00:00+00:00", 9, "ab", 0.1
    )
    for result in (plan, extract, build, published):
        assert type(result).from_dict(json.loads(json.dumps(result.to_dict()))) == result
    blocked = _gate("r1", "landing", False, blocked_partitions=[{"entity": "shop_order", "dt": "2026-10-01"}])
    back = GateResult.from_dict(json.loads(json.dumps(blocked.to_dict())))
    assert back.ok is False and back.blocking == blocked.blocking and back.to_dict() == blocked.to_dict()
    assert "reconciliation" not in back.to_dict()  # only the mart gate reports reconciliation


def test_plans_of_a_day_of_events_and_of_a_manual_transform(monkeypatch):
    from douyin_etl import entities
    from douyin_etl.orchestration import run

    monkeypatch.setenv("DOUYIN_LOOKBACK_DAYS", "1")
    d = date(2026, 10, 5)
    day = run.plan_day("r", d)
    assert day.partitions["shop_order"] == [d - timedelta(days=1), d] and day.partitions["product"] == [d]
    assert set(day.partitions) == set(entities.ENTITIES) and day.window_start == d - timedelta(days=1)
    events = [
        {"entity": "shop_order", "dt": "2026-10-05", "days": ["2026-10-04", "2026-10-05"], "rows": 7},
        {"entity": "product", "dt": "2026-10-05", "rows": 2},
    ]
    assets = run.plan_from_events("r", events, {}, date(2026, 1, 1))
    assert (assets.source, assets.start, assets.end, assets.rows) == ("assets", d, d, {"shop_order": 7, "product": 2})
    assert assets.partitions == {"shop_order": [d - timedelta(days=1), d], "product": [d]}
    manual = run.plan_from_events("r", [], {"start": "2026-10-01", "end": "2026-10-02"}, date(2026, 1, 1))
    assert (manual.source, manual.start, manual.end) == ("manual", date(2026, 10, 1), date(2026, 10, 2))
    assert manual.partitions["product"] == [date(2026, 10, 1), date(2026, 10, 2)]


def test_each_report_step_starts_when_its_record_says_it_started(state):
    """Issue 16 point 4: the report gave every step its own time as its start. Each step now starts when its
    record says (finished minus its seconds); the extract step when its first entity started; a step that
    never ran has no start."""
    from datetime import datetime

    from douyin_etl.orchestration.contracts import ExtractResult

    run_id = "unit_starts"
    d = date(2026, 10, 1)
    steps.begin_run(run_id, {"run_id": run_id, "start": "2026-10-01", "end": "2026-10-01"})
    for entity, seconds in (("shop_order", 400.0), ("settlement_bill", 300.0)):
        result = ExtractResult(entity, "platform", [d], 1, partitions={d: 1}, landed={entity: 1})
        steps._record(run_id, f"extract.{entity}", "ok", seconds, result.to_dict())
    steps._record(run_id, "landing_gate", "blocked", 200.0, _gate(run_id, "landing", False).to_dict())
    recorded = steps.read_steps(run_id)
    for rec in recorded.values():  # the record says when the step started
        start, end = datetime.fromisoformat(rec["started_at"]), datetime.fromisoformat(rec["finished_at"])
        assert (end - start).total_seconds() == pytest.approx(rec["seconds"], abs=1e-3)
    report = json.loads(open(steps.report(run_id, d, d), encoding="utf-8").read())
    starts = {s["name"]: s["started_at"] for s in report["steps"]}
    assert starts["landing_gate"] == recorded["landing_gate"]["started_at"]
    assert starts["extract"] == min(recorded[f"extract.{e}"]["started_at"] for e in ("shop_order", "settlement_bill"))
    assert starts["extract"] < starts["landing_gate"] < report["finished_at"]  # each its own, in order
    assert starts["build_audit"] == starts["mart_gate"] == starts["publish"] == ""  # never ran
    assert "—" in open(str(steps.run_dir(run_id) / "report.html"), encoding="utf-8").read()
