"""One home for running the pipeline over a plan: the Airflow DAGs' tasks and ``douyin-etl run`` call this.

A run starts with a ``Plan`` (``plan_range``, ``plan_day``, ``plan_from_events``; ``begin`` records
it), then takes the steps of ``orchestration.steps`` in order, each fed the plan and the results before
it: extract -> landing gate -> dbt build into an audit copy -> mart gate -> publish -> report.

``run_range(start, end)`` does the whole sequence in this process (the command line, no scheduler);
the DAG files wire the same functions as thin TaskFlow tasks (``orchestration.airflow_tasks``), passing
the results' ``to_dict()`` through XCom. Rerunning a range replaces exactly its partitions and rebuilds
the same marts; a range in the past publishes marts that keep every later day (``steps.build_audit``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from douyin_etl import config, entities
from douyin_etl.errors import is_usage_error
from douyin_etl.orchestration import steps, windows
from douyin_etl.orchestration.contracts import BuildResult, ExtractResult, Plan

if TYPE_CHECKING:
    from douyin_etl.quality.results import GateResult
    from douyin_etl.warehousing.wap import PublishResult

log = logging.getLogger(__name__)


# -- plans -----------------------------------------------------------------------------------
def new_run_id(prefix: str, start: date, end: date) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    return f"{prefix}_{start:%Y%m%d}_{end:%Y%m%d}_{stamp}"


def plan_range(run_id: str, start: date, end: date, *, source: str = "run_range", full_refresh: bool = False) -> Plan:
    """Every entity over exactly the days ``[start, end]`` (a range is extracted after the fact)."""
    if end < start:
        raise ValueError(f"end {end} is before start {start}; give --start <= --end")
    return Plan(run_id, start, end, windows.partitions_for_range(start, end), source, full_refresh=full_refresh)


def plan_day(run_id: str, day: date) -> Plan:
    """A daily run for business day ``day``: each entity's partitions (look-back for event API entities)."""
    return Plan(run_id, day, day, {n: windows.days_for(n, day) for n in entities.ENTITIES}, "schedule")


def plan_from_events(run_id: str, extras: list[dict[str, Any]], conf: dict[str, Any], yesterday: date) -> Plan:
    """A data-triggered transform: partitions and days from the landed-entity events' extras.

    No events (a manual run): ``conf`` {"start", "end"} (default ``yesterday``), every entity over it.
    """
    parts: dict[str, list[date]] = {}
    rows: dict[str, int] = {}
    days: set[date] = set()
    for extra in extras:
        if extra.get("entity"):
            parts.setdefault(extra["entity"], []).extend(
                date.fromisoformat(d) for d in (extra.get("days") or [extra.get("dt")])
            )
            rows[extra["entity"]] = rows.get(extra["entity"], 0) + int(extra.get("rows") or 0)
        if extra.get("dt"):
            days.add(date.fromisoformat(extra["dt"]))
    if parts and days:
        return Plan(run_id, min(days), max(days), {k: sorted(set(v)) for k, v in parts.items()}, "assets", rows)
    start = date.fromisoformat(conf.get("start") or yesterday.isoformat())
    end = date.fromisoformat(conf.get("end") or start.isoformat())
    return plan_range(run_id, start, end, source="manual")


def begin(plan: Plan) -> Plan:
    """Record ``plan`` as the run's first step (``steps.begin_run``)."""
    steps.begin_run(plan.run_id, plan.to_dict())
    return plan


# -- the steps, fed by the plan ----------------------------------------------------------------
def extract(plan: Plan, names: list[str] | None = None, drops_dir: Path | None = None) -> dict[str, ExtractResult]:
    """Land every (or the named) entity of the plan over its days, dependencies first (``windows.stages``)."""
    from douyin_etl.progress import track

    out: dict[str, ExtractResult] = {}
    ordered = [n for stage in windows.stages(names or list(plan.partitions)) for n in stage]
    for name in track(ordered, f"extracting {plan.start}..{plan.end}", total=len(ordered)):
        out[name] = steps.extract_entity_days(name, plan.partitions[name], plan.run_id, drops_dir=drops_dir)
    return out


def landing_gate(plan: Plan) -> GateResult:
    return steps.landing_gate(plan.run_id, plan.partitions)


def build_audit(plan: Plan) -> BuildResult:
    return steps.build_audit(plan.run_id, plan.as_of, full_refresh=plan.full_refresh, window_start=plan.window_start)


def mart_gate(plan: Plan, build: BuildResult) -> GateResult:
    if build.audit_path is None:
        raise ValueError(f"run {plan.run_id}: the build made no audit copy ({build.error}); nothing to check")
    return steps.mart_gate(build.audit_path, plan.run_id, build.as_of, since=build.tests_since)


def publish(plan: Plan, build: BuildResult) -> PublishResult:
    if build.audit_path is None:
        raise ValueError(f"run {plan.run_id}: the build made no audit copy ({build.error}); nothing to publish")
    return steps.publish(
        build.audit_path,
        plan.run_id,
        meta={
            "run_id": plan.run_id,
            "start": plan.start.isoformat(),
            "end": plan.end.isoformat(),
            "as_of": build.as_of.isoformat(),
            "window_start": build.window_start.isoformat(),
            "source": plan.source,
        },
    )


def report(plan: Plan, errors: list[str] | None = None) -> str:
    """Write the run report (whatever happened); returns the path of ``report.json``."""
    return steps.report(plan.run_id, plan.start, plan.end, errors=errors)


# -- a whole range in this process -----------------------------------------------------------
@dataclass
class RunResult:
    """What ``run_range`` did: the results of its steps (None: the step did not run) and the report."""

    run_id: str
    start: date
    end: date
    status: str = "running"  # published | blocked | failed
    rows: dict[str, dict[str, int]] = field(default_factory=dict)  # family -> entity -> rows landed
    quarantined: int = 0
    landing_gate: GateResult | None = None
    build: BuildResult | None = None
    mart_gate: GateResult | None = None
    publish: PublishResult | None = None
    report_path: str | None = None
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "published"

    @property
    def as_of(self) -> date | None:
        """The marts' horizon: ``end``, or the published horizon when that is later."""
        return self.build.as_of if self.build else None

    @property
    def published(self) -> str | None:
        return str(self.publish.path) if self.publish else None

    def add_extract(self, result: ExtractResult) -> None:
        for other, n in result.landed.items():
            per = self.rows.setdefault(entities.get(other).family, {})
            per[other] = per.get(other, 0) + n
        self.quarantined += result.quarantined

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
                lines.append(
                    f"  {name}: {'passed' if gate.ok else 'BLOCKED'}"
                    f" ({len(gate.checks)} checks, {len(gate.blocking)} blocking)"
                )
        if self.as_of and self.as_of > self.end:
            lines.append(f"  marts as of {self.as_of} (the published horizon; {self.start} .. {self.end} rebuilt)")
        if self.build and self.build.dbt:
            lines.append(
                f"  dbt build: {'ok' if self.build.dbt.get('ok') else 'FAILED'} {self.build.dbt.get('counts', '')}"
            )
        if self.published:
            lines.append(f"  published: {self.published}")
        if self.error:
            lines.append(f"  error: {self.error}")
        if self.report_path:
            lines.append(f"  report: {self.report_path} (and report.html beside it)")
        return "\n".join(lines)


def _keep(result: RunResult, failed: Any) -> None:
    """File the result a failing step carried (``StepError.result``) where it belongs."""
    from douyin_etl.quality.results import GateResult

    if isinstance(failed, ExtractResult):
        result.add_extract(failed)
    elif isinstance(failed, BuildResult):
        result.build = failed
    elif isinstance(failed, GateResult):
        if failed.gate == "landing":
            result.landing_gate = failed
        else:
            result.mart_gate = failed


def run_range(
    start: date, end: date, full_refresh: bool = False, *, run_id: str | None = None, drops_dir: Path | None = None
) -> RunResult:
    """Run the whole pipeline over business days ``[start, end]`` in this process (no scheduler)."""
    if end < start:
        raise ValueError(f"end {end} is before start {start}; give --start <= --end")
    settings = config.preflight(drops=drops_dir)  # a missing/malformed setting: ConfigError, nothing done
    log.info("run %s..%s: %s", start, end, ", ".join(f"{k} {v}" for k, v in settings.items()))
    t0 = time.monotonic()
    plan = begin(plan_range(run_id or new_run_id("range", start, end), start, end, full_refresh=full_refresh))
    result = RunResult(plan.run_id, start, end)
    try:
        for landed in extract(plan, drops_dir=drops_dir).values():
            result.add_extract(landed)
        result.landing_gate = landing_gate(plan)
        result.build = build_audit(plan)
        result.mart_gate = mart_gate(plan, result.build)
        result.publish = publish(plan, result.build)
    except steps.StepError as exc:
        result.error = str(exc)
        _keep(result, exc.result)
        log.error("%s", exc)
    except Exception as exc:  # noqa: BLE001 - reported, then re-raised below
        result.error = f"{type(exc).__name__}: {exc}"
        if is_usage_error(exc):  # a setting to fix: the CLI prints it as one line, no traceback
            log.error("run %s stopped: %s", plan.run_id, exc)
        else:
            log.exception("run %s failed", plan.run_id)
        raise
    finally:
        result.status = steps.run_status(steps.read_steps(plan.run_id))
        try:
            result.report_path = report(plan, errors=[result.error] if result.error else None)
        except Exception:  # noqa: BLE001 - never hide the run's own outcome behind a report problem
            log.exception("could not write the report of run %s", plan.run_id)
        result.seconds = time.monotonic() - t0
    return result
