"""The Airflow tasks the DAG files wire together: thin TaskFlow tasks over ``orchestration.run``.

Each task turns its context and its XCom inputs (the ``to_dict()`` of a ``Plan`` or of a step's result,
``orchestration.contracts``) into typed values, calls ``run``/``steps`` and returns its result's
``to_dict()``. Heavy modules (extractors, dbt runner, GX gates) are imported when a task runs, so
importing this module (at DAG parse time) stays fast and cannot fail on a collaborator's bug.

A ``StepError`` that retrying cannot fix (``retryable=False``: a gate or a dbt test said the data is
wrong) fails the task at once (``AirflowFailException``, ``fails_fast``) instead of using up its retries;
a retryable one (a missing source file, an unreachable API) is logged as one line and retried with the
DAG's backoff.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any, TypeVar

from airflow.sdk import task

from douyin_etl.orchestration import schedules as s
from douyin_etl.timeutil import SHANGHAI, utc_now

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])


def fails_fast(fn: F) -> F:
    """A non-retryable ``StepError`` fails the task at once; the docstring (dedented) is the task's doc."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        from douyin_etl.orchestration.steps import StepError

        try:
            return fn(*args, **kwargs)
        except StepError as exc:
            log.error("%s", exc)  # the one line that says what failed and what to do, atop the task log
            if exc.retryable:  # e.g. a missing source: a retry succeeds once the file has arrived
                raise
            from airflow.sdk.exceptions import AirflowFailException

            raise AirflowFailException(str(exc)) from exc

    run.__doc__ = inspect.cleandoc(fn.__doc__ or "")
    return run  # type: ignore[return-value]


def _day(context: dict[str, Any]):
    return s.business_day(context.get("data_interval_start"), context.get("logical_date"))


def _run_id(context: dict[str, Any]) -> str:
    return s.safe_run_id(context["run_id"])


# -- extract ---------------------------------------------------------------------------------
@task
@fails_fast
def extract_entity(entity: str, plan: dict | None = None, **context: Any) -> dict:
    """Land one entity for this run's Asia/Shanghai business day D (or the days of ``plan``).

    Event-partitioned API entities re-land dt in [D - lookback, D] (late updates move rows between
    partitions); snapshots and file drops land dt = D. Each partition is replaced atomically, so a
    retry or rerun leaves exactly one copy. Mapped over the family's entities: one failing entity
    retries alone. With ``plan`` (``douyin_daily``) the entity lands exactly the plan's partitions:
    the day's, or every day of a manual run over a range.
    """
    from douyin_etl.orchestration import steps, windows
    from douyin_etl.orchestration.contracts import Plan

    days = Plan.from_dict(plan).partitions[entity] if plan else windows.days_for(entity, _day(context))
    return steps.extract_entity_days(entity, days, _run_id(context)).to_dict()


@task
def announce_landed(names: list[str], **context: Any) -> dict:
    """Emit one Asset event per landed entity (extra: business day, partitions, rows).

    Runs once every entity of the family has landed (it reads their step records, not XCom); the
    events trigger ``transform_warehouse``.
    """
    from douyin_etl.orchestration import steps

    day, run_id = _day(context), _run_id(context)
    recorded = {entity: result for entity, (_status, result) in steps.read_extracts(run_id).items()}
    rows: dict[str, int] = {n: 0 for n in names}
    for result in recorded.values():
        for landed, count in result.landed.items():  # shop_order lands sku_order too
            if landed in rows:
                rows[landed] += count
    events = context["outlet_events"]
    for n in names:
        days = [d.isoformat() for d in recorded[n].days] if n in recorded else [day.isoformat()]
        events[s.entity_asset(n)].extra = {
            "entity": n,
            "dt": day.isoformat(),
            "days": days,
            "rows": rows[n],
            "run_id": run_id,
        }
    log.info("landed for %s: %s", day, rows)
    return {"dt": day.isoformat(), "rows": rows}


def extract_stages(names: list[str], plan: Any = None) -> list:
    """Mapped extract tasks for ``names``, one stage after another (``windows.stages``); with ``plan``
    (the plan task's output) each lands the plan's partitions of its entity.

    The first stage is task ``extract_entity``; later stages (entities that need another entity's
    landing first, e.g. logistics_track after shipment) are ``extract_dependent``,
    ``extract_dependent_2``… Each stage runs after the one before it. Inside a task group the ids get
    the group's prefix (``douyin_daily``: ``logistics.extract_dependent``).
    """
    from douyin_etl.orchestration import windows

    out: list = []
    for i, stage in enumerate(windows.stages(names)):
        tid = "extract_entity" if i == 0 else "extract_dependent" if i == 1 else f"extract_dependent_{i}"
        # a mapped task gets no doc from the docstring by itself
        op = extract_entity.override(task_id=tid, doc_md=extract_entity.function.__doc__)
        mapped = (op.partial(plan=plan) if plan is not None else op).expand(entity=stage)
        if out:
            out[-1] >> mapped
        out.append(mapped)
    return out


# -- plan ------------------------------------------------------------------------------------
@task
@fails_fast
def plan_business_day(**context: Any) -> dict:
    """The plan of a daily run: its business day D and every entity's partitions for D.

    A manual run with ``conf`` {"start": "YYYY-MM-DD", "end": "YYYY-MM-DD"} covers that range instead:
    every entity over exactly those days, in one run (``douyin-etl demo`` lands its window this way).
    """
    from douyin_etl.orchestration import run

    conf = (context["dag_run"].conf if context.get("dag_run") is not None else None) or {}
    if conf.get("start") or conf.get("end"):
        try:
            start = date.fromisoformat(conf.get("start") or conf["end"])
            end = date.fromisoformat(conf.get("end") or conf["start"])
        except ValueError as exc:
            raise ValueError(f"conf start/end must be dates as YYYY-MM-DD; got {conf!r} ({exc})") from None
        return run.begin(run.plan_range(_run_id(context), start, end, source="manual")).to_dict()
    return run.begin(run.plan_day(_run_id(context), _day(context))).to_dict()


@task
@fails_fast
def plan_from_assets(**context: Any) -> dict:
    """The plan of a data-triggered transform: partitions and days from the triggering Asset events.

    A manual run with no events takes ``conf`` {"start": "YYYY-MM-DD", "end": "YYYY-MM-DD"} (default:
    yesterday in Asia/Shanghai) and checks every entity over that range.
    """
    from douyin_etl.orchestration import run

    extras = [
        dict(ev.extra or {}) for events in (context.get("triggering_asset_events") or {}).values() for ev in events
    ]
    conf = (context["dag_run"].conf if context.get("dag_run") is not None else None) or {}
    yesterday = (utc_now().astimezone(SHANGHAI) - timedelta(days=1)).date()
    return run.begin(run.plan_from_events(_run_id(context), extras, conf, yesterday)).to_dict()


# -- warehouse -------------------------------------------------------------------------------
@task
@fails_fast
def landing_gate(plan: dict) -> dict:
    """Quality gate over the landed partitions of this run (schema, keys, ranges, reconciliation).

    Fails the run before anything touches the warehouse.
    """
    from douyin_etl.orchestration import run
    from douyin_etl.orchestration.contracts import Plan

    return run.landing_gate(Plan.from_dict(plan)).to_dict()


@task(pool=s.WAREHOUSE_POOL)
@fails_fast
def build_audit(plan: dict) -> dict:
    """Copy the published warehouse to an audit file and run ``dbt build`` (models + tests) into it.

    Runs in the single-slot ``warehouse_writer`` pool: one DuckDB writer at a time.
    """
    from douyin_etl.orchestration import run
    from douyin_etl.orchestration.contracts import Plan

    return run.build_audit(Plan.from_dict(plan)).to_dict()


@task(pool=s.WAREHOUSE_POOL)
@fails_fast
def mart_gate(plan: dict, build: dict) -> dict:
    """Quality gate over the audit copy's marts (truth checks, reconciliation, freshness).

    Checks over big tables read only the window this run rebuilt (the full history: ``douyin_check``).
    """
    from douyin_etl.orchestration import run
    from douyin_etl.orchestration.contracts import BuildResult, Plan

    return run.mart_gate(Plan.from_dict(plan), BuildResult.from_dict(build)).to_dict()


@task(pool=s.WAREHOUSE_POOL)
@fails_fast
def publish(plan: dict, build: dict) -> dict:
    """Atomically swap the audited copy in as the published warehouse analysts read."""
    from douyin_etl.orchestration import run
    from douyin_etl.orchestration.contracts import BuildResult, Plan

    return run.publish(Plan.from_dict(plan), BuildResult.from_dict(build)).to_dict()


@task
@fails_fast
def notify_findings(plan: dict) -> dict:
    """Alert what the published warehouse shows for the run's last business day: new stock-out risks and
    new reconciliation discrepancies, one message per shop and kind, to every configured channel
    (DingTalk, Feishu/Lark, WeCom, email: Airflow connections ``douyin_alert_*``, docs/deploy.md).

    Silent when no channel is configured; a channel that refuses a message is logged, not retried.
    """
    from douyin_etl.alerts.tasks import notify_findings as notify
    from douyin_etl.orchestration.contracts import Plan

    return notify(Plan.from_dict(plan).as_of)


@task(retries=0)
def report(plan: dict) -> str:
    """Write the run report whatever happened (rows, gates, dbt, published path): the run's teardown.

    Reads the step records the other tasks left in ``<state>/runs/<run_id>/steps``; a run that did not
    publish releases its writer lease here. The DAG run's state comes from the work tasks (a failed
    gate fails it), not from this one.
    """
    from douyin_etl.orchestration import run
    from douyin_etl.orchestration.contracts import Plan

    return run.report(Plan.from_dict(plan))


def warehouse_steps(plan: Any, upstream: list | None = None) -> None:
    """landing gate -> build_audit -> mart_gate -> publish -> notify_findings after ``upstream``, and the
    report as the teardown of ``plan`` (its setup): it runs once every task between them is done,
    whatever their state, and is left out of the DAG run's state (a failed step fails the run)."""
    gate = landing_gate(plan)
    for up in upstream or []:
        up >> gate
    build: Any = build_audit(plan)  # an XComArg: the tasks below receive its value
    gate >> build
    checked = mart_gate(plan, build)
    published = publish(plan, build)
    checked >> published
    notified = notify_findings(plan)
    published >> notified
    notified >> report(plan).as_teardown(setups=plan)


# -- weekly ----------------------------------------------------------------------------------
@task
@fails_fast
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
    result = run_full_check(
        _run_id(context), select=params.get("select") or None, mart_gate=bool(params.get("mart_gate", True))
    )
    if not result.ok:
        raise StepError(result.summary(), retryable=False)
    return {
        "check_id": result.check_id,
        "ok": result.ok,
        "published_run": result.published_run,
        "as_of": result.as_of,
        "seconds": result.seconds,
        "report": result.report_path,
    }


__all__ = [
    "announce_landed",
    "build_audit",
    "extract_entity",
    "extract_stages",
    "fails_fast",
    "full_check",
    "landing_gate",
    "mart_gate",
    "notify_findings",
    "plan_business_day",
    "plan_from_assets",
    "publish",
    "report",
    "warehouse_steps",
]
