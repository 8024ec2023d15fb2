"""Runs of the DAGs in this process (``dag.test``, no scheduler): the demo and the benchmark use them.

``daily_over_range_through_airflow`` runs ``douyin_daily`` once over a whole range (conf start/end: one
plan, every entity over every day, one gate, one build, one publish: what the demo does);
``land_days_through_airflow`` runs the extract DAGs per business day and ``transform_through_airflow``
runs ``transform_warehouse`` once over a window. Running a range without a scheduler (``douyin-etl run``)
is ``douyin_etl.orchestration.run.run_range``; the demo's wiring is ``douyin_etl.demo``.
"""

from __future__ import annotations

import logging
import os
import time
from datetime import date, datetime, timedelta

log = logging.getLogger(__name__)


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
                failed = [
                    f"{ti.task_id}[{ti.map_index}]"
                    for ti in run.get_task_instances()
                    if str(ti.state).endswith("failed")
                ]
                raise RuntimeError(
                    f"{dag.dag_id} for business day {d} ended {state}; failed tasks: {failed}. "
                    f"See the task logs under {os.environ.get('AIRFLOW_HOME')}/logs"
                )
            counts[dag.dag_id] = counts.get(dag.dag_id, 0) + 1
            log.info("%s %s: %s in %.1f s", dag.dag_id, d, state, time.monotonic() - t0)
    return counts


def transform_through_airflow(start: date, end: date):
    """``dag.test`` ``transform_warehouse`` once over ``[start, end]`` (manual conf); returns the DagRun."""
    from douyin_etl.orchestration import local_airflow
    from douyin_etl.timeutil import day_start

    dag = local_airflow.load_dags()["transform_warehouse"]
    return local_airflow.run_dag(
        dag, day_start(end + timedelta(days=1)), conf={"start": start.isoformat(), "end": end.isoformat()}
    )


def daily_over_range_through_airflow(start: date, end: date, run_after: datetime | None = None):
    """``dag.test`` ``douyin_daily`` once over ``[start, end]`` (manual conf): extract every entity over
    every day of the range, landing gate, dbt build, mart gate, publish, report. Returns the DagRun.

    Airflow must be prepared (``local_airflow.prepare``) first. ``run_after`` (default now) names the
    run: its id is ``local_airflow.manual_run_id(run_after)`` (the demo follows its step records).
    """
    from douyin_etl.orchestration import local_airflow
    from douyin_etl.timeutil import day_start

    dag = local_airflow.load_dags()["douyin_daily"]
    return local_airflow.run_dag(
        dag,
        day_start(end + timedelta(days=1)),
        conf={"start": start.isoformat(), "end": end.isoformat()},
        run_after=run_after,
    )
