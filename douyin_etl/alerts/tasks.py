"""What Airflow calls: ``on_failure`` (every task's ``on_failure_callback``, via ``schedules.DEFAULT_ARGS``)
and ``notify_findings`` (the task after ``publish``). Only the standard library is imported at module
level: DAG files import this at parse time."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

GATES = {"landing_gate", "mart_gate", "full_check"}
MAX_REASON = 300


def _first_line(exc: BaseException | str | None) -> str:
    text = str(exc or "").strip().splitlines()
    line = text[0] if text else "(no message)"
    return line if len(line) <= MAX_REASON else line[: MAX_REASON - 1] + "…"


def _shops() -> str | None:
    try:
        from douyin_etl import config

        return ", ".join(config.doudian_shop_ids()) or None
    except Exception:  # not configured where the callback runs: the message says "all shops"
        return None


def failure_alert(context: dict[str, Any]):
    """The ``Alert`` for a failed task: which DAG/task/run, the business day, the first line of the error,
    and where to look (the task log in the Airflow UI, the run report)."""
    from douyin_etl import config
    from douyin_etl.alerts.message import Alert
    from douyin_etl.orchestration import schedules

    ti = context.get("ti") or context.get("task_instance")
    dag_id = getattr(ti, "dag_id", None) or getattr(context.get("dag"), "dag_id", "?")
    task_id = getattr(ti, "task_id", "?")
    run_id = str(context.get("run_id") or getattr(ti, "run_id", "") or "")
    try:
        day: date | None = schedules.business_day(context.get("data_interval_start"), context.get("logical_date"))
    except ValueError:
        day = None
    gate = task_id.rsplit(".", 1)[-1] in GATES
    safe = schedules.safe_run_id(run_id)
    report = (
        config.state_dir() / "checks" / safe / "report.json"
        if task_id == "full_check"
        else config.state_dir() / "runs" / safe / "report.json"
    )
    where = [f"Airflow: DAG {dag_id} → run {run_id} → task {task_id} (日志 log)"]
    log_url = getattr(ti, "log_url", None)
    if isinstance(log_url, str) and log_url:
        where.append(f"日志 log: {log_url}")
    where.append(f"运行报告 run report: {report}")
    if gate:
        where.append("已发布数据未改动 the published warehouse is unchanged (the gate stopped the run)")
    what = (f"{'质量闸门' if gate else '任务'} {task_id} 失败 failed: {_first_line(context.get('exception'))}",)
    return Alert("gate_failed" if gate else "run_failed", day, None, what, tuple(where), shop_name=_shops())


def on_failure(context: dict[str, Any]) -> None:
    """``on_failure_callback`` of every task: alert the configured channels; never raises."""
    try:
        from douyin_etl.alerts.notify import send

        send([failure_alert(context)])
    except Exception:  # a callback that raises hides the task's own error in the log
        log.exception("the failure alert could not be sent")


def notify_findings(day: date, warehouse: Path | None = None, notified: Path | None = None) -> dict[str, Any]:
    """Alert the findings of business day ``day`` in the published warehouse (new stock-out risks, new
    reconciliation discrepancies), then record the alerted discrepancies. Returns counts for the XCom."""
    from douyin_etl.access.query import connect_read_only
    from douyin_etl.alerts import findings
    from douyin_etl.alerts.notify import send

    con = connect_read_only(warehouse)
    try:
        alerts, updated = findings.for_day(con, day, notified)
    finally:
        con.close()
    deliveries = send(alerts)
    findings.record_notified(updated, notified)
    return {
        "day": day.isoformat(),
        "alerts": findings.kinds(alerts),
        "delivered": sum(d.ok for d in deliveries),
        "failed": [f"{d.conn_id}: {d.error}" for d in deliveries if not d.ok],
    }
