"""Every DAG file imports, and every DAG follows the house rules (owner, retries, docs, schedule)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from douyin_etl import entities

SH = ZoneInfo("Asia/Shanghai")
EXPECTED = {
    "extract_platform",
    "extract_logistics",
    "extract_finance",
    "transform_warehouse",
    "douyin_daily",
    "douyin_full_check",
}


def test_every_dag_file_imports_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert EXPECTED <= set(dagbag.dags)
    files = {Path(d.fileloc).name for d in dagbag.dags.values()}
    on_disk = {p.name for p in Path(dagbag.dag_folder).glob("*.py")}
    assert on_disk <= files, f"files without a DAG: {on_disk - files}"


@pytest.mark.parametrize("dag_id", sorted(EXPECTED))
def test_house_rules(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    assert dag.doc_md and len(dag.doc_md) > 200
    assert "douyin" in dag.tags and len(dag.tags) >= 2
    assert dag.max_active_runs == 1
    for t in dag.tasks:
        assert t.owner == "data-eng", t.task_id
        assert t.doc_md or t.doc, f"{dag_id}.{t.task_id} has no docstring"
        if t.task_id != "report":
            assert t.retries >= 2, t.task_id
            assert t.retry_exponential_backoff, t.task_id
            assert t.max_retry_delay is not None and t.max_retry_delay <= timedelta(hours=1)
    # acyclic: a topological sort covers every task
    assert len(dag.topological_sort()) == len(dag.tasks)


def _dagrun_state_tasks(dag) -> set[str]:
    """The tasks Airflow judges a DAG run's state by (``DagRun._tis_for_dagrun_state``): leaves, where a
    teardown that does not fail the run (``on_failure_fail_dagrun=False``) does not count as a downstream."""
    from airflow.models.dagrun import DagRun

    tis = [type("TI", (), {"task_id": t.task_id, "state": None})() for t in dag.tasks]
    return {ti.task_id for ti in DagRun._tis_for_dagrun_state(DagRun(), dag=dag, tis=tis)}


@pytest.mark.parametrize("dag_id", ["transform_warehouse", "douyin_daily"])
def test_warehouse_writers_share_the_single_slot_pool_and_report_is_the_plans_teardown(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    for tid in ("build_audit", "mart_gate", "publish"):
        assert dag.get_task(tid).pool == "warehouse_writer"
    report, plan = dag.get_task("report"), dag.get_task("plan")
    # the report runs once every task between plan and it is done, whatever their state (a teardown)
    assert report.is_teardown and plan.is_setup and report.trigger_rule == "all_done_setup_success"
    assert [t.task_id for t in dag.tasks if not t.downstream_list] == ["report"]
    assert report.upstream_task_ids == {"plan", "notify_findings"}  # the plan arrives as an XCom argument
    assert dag.get_task("notify_findings").upstream_task_ids == {"plan", "publish"}  # alerts on what was published
    assert set(dag.get_task("plan").get_flat_relative_ids(upstream=False)) == {t.task_id for t in dag.tasks} - {"plan"}
    # the run's state is the work tasks': a blocked gate (publish, then notify upstream_failed) fails it, the
    # report does not
    assert report.on_failure_fail_dagrun is False
    assert _dagrun_state_tasks(dag) == {"notify_findings"}


@pytest.mark.parametrize("dag_id", sorted(EXPECTED))
def test_every_task_alerts_the_configured_channels_when_it_fails(dagbag, dag_id):
    from douyin_etl.alerts.tasks import on_failure

    for t in dagbag.dags[dag_id].tasks:
        callbacks = t.on_failure_callback if isinstance(t.on_failure_callback, list) else [t.on_failure_callback]
        assert on_failure in callbacks, t.task_id


def test_daily_extracts_are_the_extract_dags_stages_in_one_group_per_family(dagbag):
    """douyin_daily lands with the same stage builder as extract_<family>: same task names, same entities."""
    daily = dagbag.dags["douyin_daily"]
    for family in ("platform", "logistics", "finance"):
        extract = dagbag.dags[f"extract_{family}"]
        stages = {
            tid: extract.get_task(tid)._get_specified_expand_input().value["entity"]
            for tid in ("extract_entity", "extract_dependent")
            if tid in extract.task_dict
        }
        in_daily = {
            tid.split(".", 1)[1]: daily.get_task(tid)._get_specified_expand_input().value["entity"]
            for tid in daily.task_dict
            if tid.startswith(f"{family}.")
        }
        assert in_daily == stages, family
    gate = daily.get_task("landing_gate")
    assert {t for t in daily.task_dict if "." in t} <= gate.upstream_task_ids
    # logistics_track waits for every family's first stage (the day's shipments and orders); every extract
    # task lands the plan's partitions (the day, or a manual run's whole range)
    assert daily.get_task("logistics.extract_dependent").upstream_task_ids == {
        "plan",
        "platform.extract_entity",
        "logistics.extract_entity",
        "finance.extract_entity",
    }


@pytest.mark.parametrize("family", ["platform", "logistics", "finance"])
def test_extract_dag_maps_one_task_per_entity_and_emits_its_assets(dagbag, family):
    dag = dagbag.dags[f"extract_{family}"]
    assert dag.catchup is True
    mapped: list[str] = []
    for tid in ("extract_entity", "extract_dependent"):
        if tid in dag.task_dict:
            mapped += dag.get_task(tid)._get_specified_expand_input().value["entity"]
    assert sorted(mapped) == sorted(e.name for e in entities.by_family(family))  # each entity exactly once
    if family == "logistics":  # logistics_track reads the day's landed shipments
        assert dag.get_task("extract_dependent")._get_specified_expand_input().value["entity"] == ["logistics_track"]
        assert "extract_entity" in dag.get_task("extract_dependent").upstream_task_ids
    announce = dag.get_task("announce_landed")
    assert sorted(a.uri for a in announce.outlets) == sorted(e.asset_uri for e in entities.by_family(family))


@pytest.mark.parametrize("dag_id", ["extract_platform", "extract_logistics", "extract_finance", "douyin_daily"])
def test_timetable_covers_one_shanghai_business_day(dagbag, dag_id):
    from airflow.serialization.encoders import coerce_to_core_timetable

    dag = dagbag.dags[dag_id]
    timetable = coerce_to_core_timetable(dag.timetable)
    # the run at 2026-10-02 00:00+08 covers business day 2026-10-01
    info = timetable.infer_manual_data_interval(run_after=datetime(2026, 10, 2, 0, 0, tzinfo=SH))
    assert info.start == datetime(2026, 10, 1, 0, 0, tzinfo=SH)
    assert info.end == datetime(2026, 10, 2, 0, 0, tzinfo=SH)
    assert dag.start_date == datetime(2026, 10, 2, tzinfo=SH)  # first trigger; covers DOUYIN_START_DATE
    first = timetable.next_dagrun_info(last_automated_data_interval=None, restriction=_restriction(dag))
    assert first.data_interval.start.astimezone(SH) == datetime(2026, 10, 1, tzinfo=SH)
    assert first.data_interval.end - first.data_interval.start == timedelta(days=1)


def test_full_check_runs_weekly_and_never_takes_the_writer_slot(dagbag):
    from airflow.serialization.encoders import coerce_to_core_timetable
    from airflow.timetables.base import TimeRestriction

    dag = dagbag.dags["douyin_full_check"]
    assert dag.catchup is False and [t.task_id for t in dag.tasks] == ["full_check"]
    assert dag.get_task("full_check").pool != "warehouse_writer"  # read-only: no writer waits for it
    assert dag.params["select"] == "" and dag.params["mart_gate"] is True
    timetable = coerce_to_core_timetable(dag.timetable)
    first = timetable.next_dagrun_info(
        last_automated_data_interval=None,
        restriction=TimeRestriction(earliest=dag.start_date, latest=None, catchup=True),
    )
    after = timetable.next_dagrun_info(
        last_automated_data_interval=first.data_interval,
        restriction=TimeRestriction(earliest=dag.start_date, latest=None, catchup=True),
    )
    assert first.run_after.astimezone(SH) == datetime(2026, 10, 4, 4, 0, tzinfo=SH)  # the first Sunday, 04:00+08
    assert after.run_after - first.run_after == timedelta(days=7)


def _restriction(dag):
    from airflow.timetables.base import TimeRestriction

    return TimeRestriction(earliest=dag.start_date, latest=None, catchup=True)


def test_transform_is_triggered_by_every_landed_entity(dagbag):
    dag = dagbag.dags["transform_warehouse"]
    uris = {a.uri for a in dag.timetable.asset_condition.objects}
    assert uris == {e.asset_uri for e in entities.ENTITIES.values()}


def test_business_day_of_a_run_is_its_interval_start_in_shanghai():
    from douyin_etl.orchestration.schedules import business_day, safe_run_id

    utc = ZoneInfo("UTC")
    assert business_day(datetime(2026, 10, 1, 16, 0, tzinfo=utc)).isoformat() == "2026-10-02"
    assert business_day(datetime(2026, 10, 1, 15, 59, tzinfo=utc)).isoformat() == "2026-10-01"
    assert safe_run_id("manual__2026-10-02T00:00:00+08:00") == "manual__2026-10-02T00_00_00_08_00"


def test_windows_lookback_for_event_api_entities_only(monkeypatch):
    from datetime import date

    from douyin_etl.orchestration import windows

    monkeypatch.setenv("DOUYIN_LOOKBACK_DAYS", "2")
    d = date(2026, 10, 5)
    assert windows.days_for("shop_order", d) == [date(2026, 10, 3), date(2026, 10, 4), d]
    assert windows.days_for("product", d) == [d]  # snapshot
    assert windows.days_for("settlement_bill", d) == [d]  # file
    assert windows.days_for_range("after_sale", d, date(2026, 10, 6)) == [d, date(2026, 10, 6)]
    assert windows.days_for_range("shipment", d, d) == [d]
    with pytest.raises(ValueError, match="before start"):
        windows.days_for_range("shipment", d, date(2026, 10, 4))
    names = [e.name for e in entities.by_family("logistics")]
    st = windows.stages(names)
    assert st[-1] == ["logistics_track"] and "shipment" in st[0]
    assert windows.stages(list(entities.ENTITIES))[-1] == ["logistics_track"]


def test_dag_files_import_no_heavy_module():
    """Heavy modules are imported inside tasks, never at parse time: none of them is loaded by parsing."""
    import subprocess
    import sys

    probe = (
        "import sys; from airflow.dag_processing.dagbag import DagBag; import os;"
        "b=DagBag(dag_folder=os.environ['AIRFLOW__CORE__DAGS_FOLDER']); assert not b.import_errors;"
        "heavy=[m for m in ('duckdb','great_expectations','dbt','pandas','douyin_etl.warehousing.wap',"
        "'douyin_etl.sources.doudian.extract','douyin_etl.quality.gates') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout.strip()
    assert out == "", f"imported while parsing the DAG files: {out}"


@pytest.mark.parametrize("dag_id", ["extract_platform", "douyin_daily"])
def test_backfill_window_yields_one_run_per_business_day(dagbag, dag_id):
    """What ``airflow backfill create --from-date A --to-date B+1`` schedules: business days A..B."""
    from airflow.serialization.serialized_objects import DagSerialization

    utc = ZoneInfo("UTC")
    dag = DagSerialization.from_dict(DagSerialization.to_dict(dagbag.dags[dag_id]))
    infos = list(dag.iter_dagrun_infos_between(datetime(2026, 10, 5, tzinfo=utc), datetime(2026, 10, 8, tzinfo=utc)))
    days = [i.data_interval.start.astimezone(SH).date().isoformat() for i in infos]
    assert days == ["2026-10-05", "2026-10-06", "2026-10-07"]
    for i in infos:
        assert i.data_interval.end - i.data_interval.start == timedelta(days=1)
        assert i.logical_date == i.data_interval.start  # logical date = the business day, 00:00+08
