"""The Airflow tasks the DAG files wire together. Each is a thin wrapper over ``steps``.

Imports of heavy modules (extractors, dbt runner, GX gates) happen inside ``steps`` when a task runs,
so importing this module (at DAG parse time) stays fast and cannot fail on a collaborator's bug.
Tasks exchange small JSON dicts through XCom: a *plan* (run id, business days, partitions) and the
results of each step.
"""

from __future__ import annotations

import functools
import inspect
import logging
from datetime import date, timedelta
from typing import Any

from airflow.sdk import task as _airflow_task

from douyin_etl import entities
from douyin_etl.orchestration import schedules as s
from douyin_etl.timeutil import SHANGHAI, utc_now

log = logging.getLogger(__name__)


def task(fn=None, **kwargs: Any):
    """``airflow.sdk.task`` with the function's docstring as the task's ``doc_md`` (mapped tasks too).

    A ``StepError`` that retrying cannot fix (``retryable=False``: a gate or dbt test failed) fails the
    task at once (``AirflowFailException``) instead of using up its retries; a retryable one (a missing
    source file, an unreachable API) is logged as one line and retried with the DAG's backoff.
    """
    def wrap(f):
        @functools.wraps(f)
        def run(*args: Any, **kw: Any):
            from douyin_etl.orchestration.steps import StepError

            try:
                return f(*args, **kw)
            except StepError as exc:
                log.error("%s", exc)  # the one line that says what failed and what to do, atop the task log
                if exc.retryable:  # e.g. a missing source: a retry succeeds once the file has arrived
                    raise
                from airflow.sdk.exceptions import AirflowFailException

                raise AirflowFailException(str(exc)) from exc

        return _airflow_task(doc_md=inspect.cleandoc(f.__doc__ or ""), **kwargs)(run)

    return wrap(fn) if fn is not None else wrap


def _plan(run_id: str, start: date, end: date, partitions: dict[str, list[str]], source: str,
          rows: dict[str, int] | None = None) -> dict:
    """A run's plan, recorded as its first step (``steps.begin_run``) and passed on through XCom."""
    from douyin_etl.orchestration import steps

    plan = {"run_id": run_id, "start": start.isoformat(), "end": end.isoformat(), "as_of": end.isoformat(),
            "partitions": {k: sorted(set(v)) for k, v in sorted(partitions.items())}, "source": source,
            "rows": rows or {}, "started_at": utc_now().isoformat()}
    steps.begin_run(run_id, plan)
    return plan


@task
def extract_entity(entity: str, **context: Any) -> dict:
    """Land one entity for this run's Asia/Shanghai business day D.

    Event-partitioned API entities re-land dt in [D - lookback, D] (late updates move rows between
    partitions); snapshots and file drops land dt = D. Each partition is replaced atomically, so a
    retry or rerun leaves exactly one copy. Mapped over the family's entities: one failing entity
    retries alone.
    """
    from douyin_etl.orchestration import steps, windows

    day = s.business_day(context.get("data_interval_start"), context.get("logical_date"))
    run_id = s.safe_run_id(context["run_id"])
    return steps.extract_entity_days(entity, windows.days_for(entity, day), run_id)


@task
def announce_landed(names: list[str], **context: Any) -> dict:
    """Emit one Asset event per landed entity (extra: business day, partitions, rows).

    Runs once every entity of the family has landed (it reads their step records, not XCom); the
    events trigger ``transform_warehouse``.
    """
    from douyin_etl.orchestration import steps

    day = s.business_day(context.get("data_interval_start"), context.get("logical_date"))
    run_id = s.safe_run_id(context["run_id"])
    recorded = steps.read_steps(run_id)
    rows: dict[str, int] = {n: 0 for n in names}
    days: dict[str, list[str]] = {n: [] for n in names}
    for n in names:
        details = (recorded.get(f"extract.{n}") or {}).get("details") or {}
        days[n] = details.get("days") or [day.isoformat()]
        for landed, count in (details.get("landed") or {}).items():  # shop_order lands sku_order too
            if landed in rows:
                rows[landed] += int(count)
    events = context["outlet_events"]
    for n in names:
        events[s.entity_asset(n)].extra = {"entity": n, "dt": day.isoformat(), "days": days[n], "rows": rows[n],
                                           "run_id": run_id}
    log.info("landed for %s: %s", day, rows)
    return {"dt": day.isoformat(), "rows": rows}


@task
def plan_business_day(**context: Any) -> dict:
    """The plan of a daily run: its business day D and every entity's partitions for D."""
    from douyin_etl.orchestration import windows

    day = s.business_day(context.get("data_interval_start"), context.get("logical_date"))
    parts = {n: [d.isoformat() for d in windows.days_for(n, day)] for n in entities.ENTITIES}
    return _plan(s.safe_run_id(context["run_id"]), day, day, parts, "schedule")


@task
def plan_from_assets(**context: Any) -> dict:
    """The plan of a data-triggered transform: partitions and days from the triggering Asset events.

    A manual run with no events takes ``conf`` {"start": "YYYY-MM-DD", "end": "YYYY-MM-DD"} (default:
    yesterday in Asia/Shanghai) and checks every entity over that range.
    """
    from douyin_etl.orchestration import windows

    run_id = s.safe_run_id(context["run_id"])
    parts: dict[str, list[str]] = {}
    rows: dict[str, int] = {}
    days: set[str] = set()
    triggering = context.get("triggering_asset_events") or {}
    for _asset, events in triggering.items():
        for ev in events:
            extra = dict(getattr(ev, "extra", None) or {})
            if extra.get("entity"):
                parts.setdefault(extra["entity"], []).extend(extra.get("days") or [extra.get("dt")])
                rows[extra["entity"]] = rows.get(extra["entity"], 0) + int(extra.get("rows") or 0)
            if extra.get("dt"):
                days.add(extra["dt"])
    if parts and days:
        return _plan(run_id, date.fromisoformat(min(days)), date.fromisoformat(max(days)), parts, "assets", rows)
    conf = (context.get("dag_run").conf if context.get("dag_run") is not None else None) or {}
    yesterday = (utc_now().astimezone(SHANGHAI) - timedelta(days=1)).date()
    start = date.fromisoformat(conf.get("start") or yesterday.isoformat())
    end = date.fromisoformat(conf.get("end") or start.isoformat())
    rng = windows.partitions_for_range(start, end)
    return _plan(run_id, start, end, {k: [d.isoformat() for d in v] for k, v in rng.items()}, "manual")


@task
def landing_gate(plan: dict) -> dict:
    """Quality gate over the landed partitions of this run (schema, keys, ranges, reconciliation).

    Fails the run before anything touches the warehouse.
    """
    from douyin_etl.orchestration import steps

    return steps.landing_gate(plan["run_id"], plan["partitions"])


@task(pool=s.WAREHOUSE_POOL)
def build_audit(plan: dict, gate: dict | None = None) -> dict:
    """Copy the published warehouse to an audit file and run ``dbt build`` (models + tests) into it.

    Runs in the single-slot ``warehouse_writer`` pool: one DuckDB writer at a time.
    """
    from douyin_etl.orchestration import steps

    first = min([plan["start"], *(d for days in (plan.get("partitions") or {}).values() for d in days)])
    return steps.build_audit(plan["run_id"], plan["as_of"], full_refresh=bool(plan.get("full_refresh")),
                             window_start=first)


@task(pool=s.WAREHOUSE_POOL)
def mart_gate(plan: dict, build: dict) -> dict:
    """Quality gate over the audit copy's marts (truth checks, reconciliation, freshness).

    Checks over big tables read only the window this run rebuilt (the full history: ``douyin_check``).
    """
    from douyin_etl.orchestration import steps

    return steps.mart_gate(build["audit_path"], plan["run_id"], build.get("as_of") or plan["as_of"],
                           since=build.get("tests_since"))


@task(pool=s.WAREHOUSE_POOL)
def publish(plan: dict, build: dict, gate: dict) -> dict:
    """Atomically swap the audited copy in as the published warehouse analysts read."""
    from douyin_etl.orchestration import steps

    meta = {"run_id": plan["run_id"], "start": plan["start"], "end": plan["end"],
            "as_of": build.get("as_of") or plan["as_of"], "window_start": build.get("window_start")}
    return steps.publish(build["audit_path"], plan["run_id"], meta=meta)


@task(trigger_rule="all_done", retries=0)
def report(**context: Any) -> str:
    """Write the run report whatever happened (rows, gates, dbt, published path); fail if not published.

    Reads the step records the other tasks left in ``<state>/runs/<run_id>/steps``; a run that did not
    publish releases its writer lease here, and this task fails so the DAG run shows failed.
    """
    from airflow.sdk.exceptions import AirflowFailException

    from douyin_etl.orchestration import steps

    plan = context["ti"].xcom_pull(task_ids="plan") or {}
    run_id = plan.get("run_id") or s.safe_run_id(context["run_id"])
    day = s.business_day(context.get("data_interval_start"), context.get("logical_date")).isoformat() \
        if context.get("data_interval_start") or context.get("logical_date") else None
    start, end = plan.get("start") or day, plan.get("end") or day
    path = steps.report(run_id, start, end)
    status = steps.run_status(steps.read_steps(run_id))
    if status != "published":
        raise AirflowFailException(f"run {run_id} {status}: nothing published; report {path}")
    return path


@task
def full_check(**context: Any) -> dict:
    """Every data test and mart check over the whole published warehouse, read-only (``full_check``).

    Daily runs test only the window they rebuilt; this pass covers all history. The report is written
    to ``<state>/checks/<run id>/report.json``. A failing test or check fails the task at once (no
    retries: the data is wrong, the report names what); a missing warehouse or an outage is retried.
    Params: ``select`` (a dbt selection, default every data test), ``mart_gate`` (default true).
    """
    from douyin_etl.orchestration.full_check import run_full_check
    from douyin_etl.orchestration.steps import StepError

    params = context.get("params") or {}
    result = run_full_check(s.safe_run_id(context["run_id"]), select=params.get("select") or None,
                            mart_gate=bool(params.get("mart_gate", True)))
    if not result.ok:
        raise StepError(result.summary(), retryable=False)
    return {"check_id": result.check_id, "ok": result.ok, "published_run": result.published_run,
            "as_of": result.as_of, "seconds": result.seconds, "report": result.report_path}


def extract_stages(names: list[str], upstream: list | None = None) -> list:
    """Mapped extract tasks for ``names``, one stage after another (``windows.stages``).

    The first stage is task ``extract_entity``; later stages (entities that need another entity's
    landing first, e.g. logistics_track after shipment) are ``extract_dependent``. ``upstream`` tasks
    (e.g. other families' first stages) must finish before a later stage starts.
    """
    from douyin_etl.orchestration import windows

    out: list = []
    for i, stage in enumerate(windows.stages(names)):
        tid = "extract_entity" if i == 0 else "extract_dependent" if i == 1 else f"extract_dependent_{i}"
        mapped = extract_entity.override(task_id=tid).expand(entity=stage)
        for up in (out[-1:] if out else []) + (list(upstream or []) if i > 0 else []):
            up >> mapped
        out.append(mapped)
    return out
