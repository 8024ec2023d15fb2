"""The pipeline without a scheduler (``run_range``) and runs of the DAGs in this process (``dag.test``).

``run_range(start, end)`` runs the same steps as the Airflow DAGs (``douyin_etl.orchestration.steps``)
over a range of Asia/Shanghai business days: extract every entity for every day of the range, one
landing gate over the range, one ``dbt build`` into an audit copy, the mart gate, publish, report.
Rerunning a range replaces exactly its partitions and rebuilds the same marts; a range in the past
publishes marts that keep every later day (as of the published horizon, ``steps.build_audit``).

``land_days_through_airflow`` / ``transform_through_airflow`` run the extract DAGs per business day and
``transform_warehouse`` once over a window through ``dag.test`` (in this process, no scheduler): the
demo (``douyin_etl.demo``) and the benchmark use them.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from douyin_etl import config, entities
from douyin_etl.errors import is_usage_error
from douyin_etl.orchestration import steps, windows

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    run_id: str
    start: date
    end: date
    status: str = "running"  # published | blocked | failed
    as_of: date | None = None  # the marts' horizon: end, or the published horizon when that is later
    rows: dict[str, dict[str, int]] = field(default_factory=dict)  # family -> entity -> rows landed
    quarantined: int = 0
    landing_gate: dict[str, Any] | None = None
    mart_gate: dict[str, Any] | None = None
    dbt: dict[str, Any] | None = None
    published: str | None = None
    report_path: str | None = None
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "published"

    def summary(self) -> str:
        """A few lines for a human: rows landed per family, gates, where the warehouse and report are."""
        lines = [f"run {self.run_id}: {self.start} .. {self.end} {self.status.upper()} in {self.seconds:.1f} s"]
        for family, per in self.rows.items():
            total = sum(per.values())
            top = ", ".join(f"{k} {v:,}" for k, v in per.items() if v)
            lines.append(f"  landed {family}: {total:,} rows ({top or 'nothing'})")
        if self.quarantined:
            lines.append(f"  quarantined: {self.quarantined:,} rows (see the report)")
        for name, gate in (("landing gate", self.landing_gate), ("mart gate", self.mart_gate)):
            if gate is not None:
                lines.append(f"  {name}: {'passed' if gate.get('ok') else 'BLOCKED'}"
                             f" ({len(gate.get('checks', []))} checks, {gate.get('blocking', 0)} blocking)")
        if self.as_of and self.as_of > self.end:
            lines.append(f"  marts as of {self.as_of} (the published horizon; {self.start} .. {self.end} rebuilt)")
        if self.dbt:
            lines.append(f"  dbt build: {'ok' if self.dbt.get('ok') else 'FAILED'} {self.dbt.get('counts', '')}")
        if self.published:
            lines.append(f"  published: {self.published}")
        if self.error:
            lines.append(f"  error: {self.error}")
        if self.report_path:
            lines.append(f"  report: {self.report_path} (and report.html beside it)")
        return "\n".join(lines)


def new_run_id(prefix: str, start: date, end: date) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
    return f"{prefix}_{start:%Y%m%d}_{end:%Y%m%d}_{stamp}"


def extract_range(start: date, end: date, run_id: str, drops_dir: Path | None = None,
                  names: list[str] | None = None) -> dict[str, dict]:
    """Land every (or the named) entities over ``[start, end]``, dependencies first (``windows.stages``)."""
    from douyin_etl.progress import track

    out: dict[str, dict] = {}
    ordered = [name for stage in windows.stages(names or list(entities.ENTITIES)) for name in stage]
    for name in track(ordered, f"extracting {start}..{end}", total=len(ordered)):
        out[name] = steps.extract_entity_days(name, windows.days_for_range(name, start, end), run_id,
                                              drops_dir=drops_dir)
    return out


def run_range(start: date, end: date, full_refresh: bool = False, *, run_id: str | None = None,
              drops_dir: Path | None = None) -> RunResult:
    """Run the whole pipeline over business days ``[start, end]`` without a scheduler."""
    if end < start:
        raise ValueError(f"end {end} is before start {start}; give --start <= --end")
    settings = config.preflight(drops=drops_dir)  # a missing/malformed setting: ConfigError, nothing done
    log.info("run %s..%s: %s", start, end, ", ".join(f"{k} {v}" for k, v in settings.items()))
    t0 = time.monotonic()
    run_id = run_id or new_run_id("range", start, end)
    result = RunResult(run_id, start, end)
    parts = windows.partitions_for_range(start, end)
    steps.begin_run(run_id, {"run_id": run_id, "start": start.isoformat(), "end": end.isoformat(),
                             "as_of": end.isoformat(), "source": "run_range", "full_refresh": full_refresh,
                             "started_at": datetime.now(timezone.utc).isoformat(),
                             "partitions": {k: [d.isoformat() for d in v] for k, v in parts.items()}})
    try:
        landed = extract_range(start, end, run_id, drops_dir=drops_dir)
        for name, r in landed.items():
            for other, n in (r.get("landed") or {}).items():
                fam = entities.get(other).family
                result.rows.setdefault(fam, {})[other] = result.rows.get(fam, {}).get(other, 0) + n
            result.quarantined += int(r.get("quarantined") or 0)
        result.landing_gate = steps.landing_gate(run_id, parts)
        build = steps.build_audit(run_id, end, full_refresh=full_refresh, window_start=start)
        result.dbt = build.get("dbt")
        result.as_of = date.fromisoformat(build["as_of"])
        result.mart_gate = steps.mart_gate(build["audit_path"], run_id, result.as_of, since=build.get("tests_since"))
        result.published = steps.publish(build["audit_path"], run_id, meta={
            "run_id": run_id, "start": start.isoformat(), "end": end.isoformat(), "as_of": build["as_of"],
            "source": "run_range"})["published"]
    except steps.StepError as exc:
        result.error = str(exc)
        log.error("%s", exc)
    except Exception as exc:  # noqa: BLE001 - reported, then re-raised below
        result.error = f"{type(exc).__name__}: {exc}"
        if is_usage_error(exc):  # a setting to fix: the CLI prints it as one line, no traceback
            log.error("run %s stopped: %s", run_id, exc)
        else:
            log.exception("run %s failed", run_id)
        raise
    finally:
        recorded = steps.read_steps(run_id)
        result.status = steps.run_status(recorded)
        if result.landing_gate is None and "landing_gate" in recorded:
            result.landing_gate = recorded["landing_gate"]["details"]
        if result.mart_gate is None and "mart_gate" in recorded:
            result.mart_gate = recorded["mart_gate"]["details"]
        if result.dbt is None and "build_audit" in recorded:
            result.dbt = recorded["build_audit"]["details"].get("dbt")
        try:
            result.report_path = steps.report(run_id, start, end, errors=[result.error] if result.error else None)
        except Exception:  # noqa: BLE001 - never hide the run's own outcome behind a report problem
            log.exception("could not write the report of run %s", run_id)
        result.seconds = time.monotonic() - t0
    return result


# -- local Airflow runs (the demo, the benchmark) --------------------------------------------
def land_days_through_airflow(days: list[date], families: tuple[str, ...] | None = None) -> dict[str, int]:
    """``dag.test`` the extract DAGs for each business day (the run at D+1 00:00+08 covers D).

    Airflow must be prepared (``local_airflow.prepare``) first. Raises when a DAG run fails.
    Returns ``{dag_id: runs}``.
    """
    from douyin_etl.orchestration import local_airflow
    from douyin_etl.orchestration.schedules import EXTRACT_FAMILIES
    from douyin_etl.timeutil import day_start

    dags = local_airflow.load_dags()
    counts: dict[str, int] = {}
    for d in days:
        for family in families or EXTRACT_FAMILIES:
            dag = dags[f"extract_{family}"]
            t0 = time.monotonic()
            run = local_airflow.run_dag(dag, day_start(d + timedelta(days=1)))
            state = str(getattr(run, "state", ""))
            if not state.endswith("success"):
                failed = [f"{ti.task_id}[{ti.map_index}]" for ti in run.get_task_instances()
                          if str(ti.state).endswith("failed")]
                raise RuntimeError(f"{dag.dag_id} for business day {d} ended {state}; failed tasks: {failed}. "
                                   f"See the task logs under {os.environ.get('AIRFLOW_HOME')}/logs")
            counts[dag.dag_id] = counts.get(dag.dag_id, 0) + 1
            log.info("%s %s: %s in %.1f s", dag.dag_id, d, state, time.monotonic() - t0)
    return counts


def transform_through_airflow(start: date, end: date):
    """``dag.test`` ``transform_warehouse`` once over ``[start, end]`` (manual conf); returns the DagRun."""
    from douyin_etl.orchestration import local_airflow
    from douyin_etl.timeutil import day_start

    dag = local_airflow.load_dags()["transform_warehouse"]
    return local_airflow.run_dag(dag, day_start(end + timedelta(days=1)),
                                 conf={"start": start.isoformat(), "end": end.isoformat()})
