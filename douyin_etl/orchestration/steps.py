"""The pipeline's steps, in one home: the Airflow tasks and ``douyin-etl run`` call these (through
``orchestration.run``, which sequences them for a plan).

Each step takes plain values (entity names, dates, run ids, paths), does one thing by calling the
module that owns the work, records its outcome in ``<state>/runs/<run_id>/steps/<step>.json`` (so the
report can be written by another process, e.g. the DAG's report task, even after a failure) and
returns one typed result (``orchestration.contracts``; its ``to_dict()`` is what travels through XCom
and what the record holds). A step that finds a problem raises ``StepError`` with a message that says
what failed and what to do next, carrying the step's result when there is one.

    begin_run            start the step records of a run id (first step of every run)
    extract_entity_days  one entity, a list of business days -> ExtractResult
    landing_gate         quality gate over the landed partitions -> GateResult
    build_audit          copy of the warehouse + ``dbt build`` into it (write-audit-publish) -> BuildResult
    mart_gate            quality gate over the audit copy's marts -> GateResult
    publish              atomically swap the audit copy in as the published warehouse -> PublishResult
    report               the run record (what ran, rows, gates, where things are) -> report path
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from douyin_etl import config, entities
from douyin_etl.orchestration.contracts import BuildResult, ExtractResult
from douyin_etl.sqlrow import one_row

if TYPE_CHECKING:
    from douyin_etl.quality.results import GateResult
    from douyin_etl.warehousing.wap import PublishResult

log = logging.getLogger(__name__)

STEP_ORDER = ("extract", "landing_gate", "build_audit", "mart_gate", "publish")


class StepError(RuntimeError):
    """A pipeline step failed; the message names the step, the culprit and the next thing to do.

    ``retryable=False`` when retrying cannot help (a gate or a dbt test said the data is wrong):
    the Airflow task then fails at once instead of burning its retries. ``result``: the step's result
    (an ``ExtractResult`` with what landed before the failure, a blocking ``GateResult``, a failed
    ``BuildResult``) when it got that far.
    """

    def __init__(self, message: str, retryable: bool = True, result: Any = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.result = result


# -- helpers ---------------------------------------------------------------------------------
def _as_date(d: date | str) -> date:
    return d if isinstance(d, date) else date.fromisoformat(d)


def run_dir(run_id: str) -> Path:
    if not run_id or "/" in run_id or run_id in (".", ".."):
        raise ValueError(f"run_id {run_id!r} must be a non-empty name without '/'")
    return config.state_dir() / "runs" / run_id


def _steps_dir(run_id: str) -> Path:
    return run_dir(run_id) / "steps"


def _later_steps(name: str) -> list[str]:
    """The steps after ``name`` (``extract.<entity>`` counts as ``extract``)."""
    stage = name.split(".", 1)[0]
    return list(STEP_ORDER[STEP_ORDER.index(stage) + 1 :]) if stage in STEP_ORDER else []


def _record(run_id: str, name: str, status: str, seconds: float, details: dict[str, Any]) -> None:
    """Write one step's outcome atomically (``steps/<name>.json``); ``details``: the result's ``to_dict()``.

    The record says when the step started (``finished_at`` minus its ``seconds``) and finished (UTC).

    A step that records makes the records of the steps after it stale (a rerun of the run's tasks):
    they are removed, so the report never pairs this outcome with an earlier attempt's publish.
    """
    path = _steps_dir(run_id) / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    for later in _later_steps(name):
        (path.parent / f"{later}.json").unlink(missing_ok=True)
    finished = datetime.now(UTC)
    data = {
        "name": name,
        "status": status,
        "seconds": round(seconds, 3),
        "started_at": (finished - timedelta(seconds=seconds)).isoformat(),
        "finished_at": finished.isoformat(),
        "details": details,
    }
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def read_steps(run_id: str) -> dict[str, dict]:
    """Every recorded step of ``run_id``: name -> {status, seconds, details}."""
    out: dict[str, dict] = {}
    d = _steps_dir(run_id)
    if d.is_dir():
        for p in sorted(d.glob("*.json")):
            out[p.stem] = json.loads(p.read_text(encoding="utf-8"))
    return out


def started_at(record: dict[str, Any]) -> str | None:
    """When a recorded step started (UTC, ISO): its ``started_at``, else ``finished_at`` minus ``seconds``
    (records written before steps recorded their start)."""
    if record.get("started_at"):
        return str(record["started_at"])
    if record.get("finished_at"):
        finished = datetime.fromisoformat(record["finished_at"])
        return (finished - timedelta(seconds=float(record.get("seconds") or 0))).isoformat()
    return None


def read_extracts(run_id: str) -> dict[str, tuple[str, ExtractResult]]:
    """entity -> (status, ExtractResult) of every extraction recorded for ``run_id``."""
    return {
        k.split(".", 1)[1]: (v["status"], ExtractResult.from_dict(v["details"]))
        for k, v in read_steps(run_id).items()
        if k.startswith("extract.")
    }


def begin_run(run_id: str, plan: dict | None = None) -> dict:
    """Start run ``run_id``: record its plan (``Plan.to_dict()``).

    A new plan (or none) forgets the step records of an earlier attempt. The same plan again (Airflow
    re-runs a DAG run's setup task when one of its tasks is cleared) keeps them: each step that runs
    again replaces its own record and drops those of the steps after it (``_record``).
    """
    previous = (read_steps(run_id).get("plan") or {}).get("details")
    same = (
        plan is not None
        and previous is not None
        and {k: v for k, v in previous.items() if k != "started_at"}
        == {k: v for k, v in plan.items() if k != "started_at"}
    )
    if not same:
        shutil.rmtree(_steps_dir(run_id), ignore_errors=True)
    _steps_dir(run_id).mkdir(parents=True, exist_ok=True)
    if plan is not None:
        started_at = (previous or {}).get("started_at") if same else None  # a plan without one: nothing to keep
        _record(run_id, "plan", "ok", 0.0, {**plan, "started_at": started_at} if started_at is not None else plan)
    return {"run_id": run_id, "run_dir": str(run_dir(run_id))}


# -- extract ---------------------------------------------------------------------------------
def _extract_one(
    entity: str, day: date, run_id: str, drops_dir: Path | None
) -> tuple[dict[str, Any], dict[str, int], int]:
    """Land ``entity`` for ``day``: (the extractor's summary, rows per entity it landed, rows quarantined).

    Read from each extractor's documented summary: ``extract_api_entity`` gives ``rows`` as a number,
    or per entity when one call lands several (shop_order: shop_order and sku_order), and ``landed_by``
    for an alias that lands nothing itself (sku_order); ``ingest_entity`` gives ``rows`` and
    ``quarantined``.
    """
    e = entities.get(entity)
    if e.kind == "api":
        from douyin_etl.sources.doudian.extract import extract_api_entity

        summary = extract_api_entity(entity, day, run_id)
        if "landed_by" in summary:
            return summary, {}, 0
        rows = summary["rows"]
        return summary, ({k: int(v) for k, v in rows.items()} if isinstance(rows, dict) else {entity: int(rows)}), 0
    from douyin_etl.sources.files.ingest import ingest_entity

    summary = ingest_entity(entity, day, run_id, drops_dir=drops_dir)
    return summary, {entity: int(summary["rows"])}, int(summary["quarantined"])


def extract_entity_days(
    entity: str, days: list[date] | list[str], run_id: str, drops_dir: Path | None = None
) -> ExtractResult:
    """Land ``entity`` for each business day in ``days``; each partition is replaced atomically."""
    e = entities.get(entity)
    out = ExtractResult(entity, e.family)
    t0 = time.monotonic()

    def fail(msg: str, exc: Exception, retryable: bool) -> StepError:
        out.error, out.seconds = msg, round(time.monotonic() - t0, 3)
        _record(run_id, f"extract.{entity}", "failed", out.seconds, out.to_dict())
        return StepError(msg, retryable=retryable, result=out)

    if e.kind == "file":  # a missing source stops the entity before any of its days lands
        from douyin_etl.sources.files.errors import MissingSourceError
        from douyin_etl.sources.files.expected import check_days

        try:
            check_days(entity, [_as_date(d) for d in days], drops_dir)
        except (MissingSourceError, ValueError) as exc:
            first, last = _as_date(days[0]), _as_date(days[-1])
            msg = (
                f"extract {entity} for business day {first}{'' if first == last else f'..{last}'} (run {run_id}): {exc}"
            )
            raise fail(msg, exc, retryable=isinstance(exc, MissingSourceError)) from exc
    for raw_day in days:
        day = _as_date(raw_day)
        try:
            summary, landed, quarantined = _extract_one(entity, day, run_id, drops_dir)
        except Exception as exc:
            msg = (
                f"extract {entity} for business day {day} (run {run_id}): {type(exc).__name__}: {exc}. "
                f"Fix the cause and rerun this entity/day; a rerun replaces exactly this partition."
            )
            raise fail(msg, exc, retryable=True) from exc
        rows = landed.get(entity, 0)
        for other, n in landed.items():
            out.landed[other] = out.landed.get(other, 0) + n
        out.days.append(day)
        out.partitions[day] = rows
        out.rows += rows
        out.quarantined += quarantined
        out.details.append(summary)
        log.info("landed %s dt=%s: %d rows", entity, day, rows)
    out.seconds = round(time.monotonic() - t0, 3)
    _record(run_id, f"extract.{entity}", "ok", out.seconds, out.to_dict())
    return out


# -- gates -----------------------------------------------------------------------------------
def _short(text: str, limit: int = 800) -> str:
    return text if len(text) < limit else text[:limit] + " …"


def _blocked_by_check(gate: GateResult, parts: dict[str, list[date]]) -> dict[tuple[str, date], list[str]]:
    """(entity, day) -> reasons, from the blocking checks of a landing gate result."""
    out: dict[tuple[str, date], list[str]] = {}
    for c in gate.blocking:
        if c.entity not in parts:
            continue
        try:
            days = [date.fromisoformat(str(c.dt))]
        except ValueError:  # no single day (an entity-wide check): every day of the run
            days = parts[c.entity]
        reason = (
            f"{c.suite}: {c.expectation_type}({c.column or ''}) {c.description or ''}; "
            f"unexpected={c.unexpected_count}" + (f" {c.exception}" if c.exception else "")
        ).strip()
        for d in days:
            out.setdefault((c.entity, d), []).append(reason[:300])
    return out


def _refuse_blocked(run_id: str, parts: dict[str, list[date]], t0: float) -> None:
    """Refuse the run while partitions an earlier landing gate blocked (outside this run) are in the lake."""
    from douyin_etl.landing import blocked
    from douyin_etl.quality.results import CheckResult, GateResult

    earlier = [b for b in blocked.blocked_partitions() if date.fromisoformat(b.dt) not in set(parts.get(b.entity, []))]
    if not earlier:
        return
    days = sorted({b.dt for b in earlier})
    text = "; ".join(b.describe() for b in earlier[:10]) + (
        f"; and {len(earlier) - 10} more" if len(earlier) > 10 else ""
    )
    msg = (
        f"landing gate refused run {run_id}: {len(earlier)} partition(s) an earlier landing gate blocked are "
        f"still in the lake and would reach the marts: {text}. Fix: drop a corrected file into the drop "
        f"folder of that day ({config.drops_dir()}/<day>/; an Open API partition is re-extracted) and rerun "
        f"that day (e.g. `douyin-etl run --start {days[0]} --end {days[-1]}`); the rerun replaces the "
        f"partition and clears the record. Nothing was published."
    )
    gate = GateResult(
        "landing",
        run_id,
        seconds=time.monotonic() - t0,
        blocked_partitions=[dataclasses.asdict(b) for b in earlier],
        checks=[
            CheckResult(
                "landing.blocked_partitions", "no_partition_blocked_by_an_earlier_run", "error", False, description=msg
            )
        ],
    )
    _record(run_id, "landing_gate", "blocked", gate.seconds, gate.to_dict())
    raise StepError(msg, retryable=False, result=gate)


def landing_gate(run_id: str, partitions: dict[str, list[date]] | dict[str, list[str]]) -> GateResult:
    """Check the landed partitions (``entity -> days``); raise ``StepError`` when the gate fails.

    First refuses the run while a partition an earlier run's gate blocked is still in the lake
    (``landing.blocked``); records the partitions this gate blocks, and clears those it passes.
    """
    from douyin_etl.landing import blocked
    from douyin_etl.quality.gates import run_landing_gate

    parts = {k: sorted({_as_date(d) for d in v}) for k, v in partitions.items()}
    t0 = time.monotonic()
    _refuse_blocked(run_id, parts, t0)
    gate = run_landing_gate(run_id, parts)
    failing = _blocked_by_check(gate, parts)
    for (entity, d), reasons in sorted(failing.items()):
        blocked.mark(entity, d, run_id, " | ".join(reasons))
    for entity, day in blocked.recorded():  # passed this time (e.g. a suite was corrected): no longer blocked
        if day in {d.isoformat() for d in parts.get(entity, [])} and (entity, date.fromisoformat(day)) not in failing:
            blocked.clear(entity, date.fromisoformat(day), run_id=run_id)
    if failing:
        gate.blocked_partitions = [{"entity": e, "dt": d.isoformat()} for e, d in sorted(failing)]
    _record(run_id, "landing_gate", "ok" if gate.ok else "blocked", time.monotonic() - t0, gate.to_dict())
    if not gate.ok:
        raise StepError(
            f"landing gate failed for run {run_id}: {_short(gate.summary())}. Nothing was "
            f"published; see the run report, fix the source (or its quarantine) and rerun.",
            retryable=False,
            result=gate,
        )
    return gate


def mart_gate(audit_path: str | Path, run_id: str, as_of: date | str, since: date | str | None = None) -> GateResult:
    """Check the marts in the audit copy; raise ``StepError`` when the gate fails (nothing published).

    ``since``: the first day of the run's rebuilt window (``build_audit``'s ``tests_since``); the checks
    over big tables then read only rows from that day on. None: the whole history (full refresh).
    """
    from douyin_etl.quality.gates import reconciliation_counts, run_mart_gate
    from douyin_etl.warehousing.wap import touch_lease

    t0 = time.monotonic()
    touch_lease(run_id, "mart_gate")  # heartbeat of the writer lease (raises when another run took it over)
    gate = run_mart_gate(Path(audit_path), run_id, _as_date(as_of), since=_as_date(since) if since else None)
    gate.reconciliation = reconciliation_counts(gate)
    _record(run_id, "mart_gate", "ok" if gate.ok else "blocked", time.monotonic() - t0, gate.to_dict())
    if not gate.ok:
        raise StepError(
            f"mart gate failed for run {run_id} on {audit_path}: {_short(gate.summary())}. "
            f"The published warehouse is unchanged; fix and rerun.",
            retryable=False,
            result=gate,
        )
    return gate


# -- warehouse (write-audit-publish) ---------------------------------------------------------
def build_audit(
    run_id: str, as_of: date | str, full_refresh: bool = False, window_start: date | str | None = None
) -> BuildResult:
    """Copy the published warehouse to an audit file and ``dbt build`` into it (dbt: a subprocess).

    ``window_start`` .. ``as_of`` is the run's interval (``window_start`` defaults to ``as_of``). The
    marts are built as of the *horizon*: the interval's last day or the published warehouse's horizon
    (``wap.read_horizon``), whichever is later, so rebuilding a past day never moves the marts back
    in time (later days stay). The incremental marts replace what changed from ``window_start`` minus
    the dbt lookback onwards (dbt run parameters ``as_of_date`` = horizon, ``window_start``). The data
    tests of big models read only that rebuilt window (run parameter ``tests_since``, returned for the
    mart gate), except on a full refresh: the whole history is tested weekly by ``douyin-etl check``.
    """
    from douyin_etl.warehousing.dbt_runner import run_dbt, tests_since
    from douyin_etl.warehousing.lock import WarehouseLocked
    from douyin_etl.warehousing.wap import prepare_audit, read_horizon

    end = _as_date(as_of)
    start = _as_date(window_start) if window_start else end
    if start > end:
        raise StepError(
            f"run {run_id}: interval start {start} is after its end {end}; give start <= end", retryable=False
        )
    t0 = time.monotonic()
    try:
        audit_path = Path(prepare_audit(run_id))
    except WarehouseLocked as exc:  # another run writes the warehouse (or a crashed one's lease is fresh)
        out = BuildResult(None, end, start, end, full_refresh=full_refresh, error=str(exc))
        _record(run_id, "build_audit", "failed", time.monotonic() - t0, out.to_dict())
        raise StepError(f"run {run_id} cannot take the warehouse: {exc}", retryable=True, result=out) from exc
    published_horizon = read_horizon(audit_path)
    horizon = max(end, published_horizon) if published_horizon else end
    if horizon > end:
        log.info(
            "run %s rebuilds %s..%s; the published marts reach %s: they stay as of %s",
            run_id,
            start,
            end,
            published_horizon,
            horizon,
        )
    dbt_dir = run_dir(run_id) / "dbt"
    # the rebuilt window's tests; everything when everything is rebuilt (full refresh, first build)
    since = None if full_refresh or published_horizon is None else tests_since(start)
    # run parameters, not --vars: dbt keeps its saved parse from run to run (dbt_runner's docstring)
    dbt = run_dbt(
        ["build"],
        db_path=audit_path,
        run_params={"as_of_date": horizon.isoformat(), "window_start": start.isoformat(), "tests_since": since},
        run_dir=dbt_dir,
        full_refresh=full_refresh,
    )
    out = BuildResult(
        str(audit_path),
        horizon,
        start,
        end,
        tests_since=since,
        published_horizon=published_horizon,
        full_refresh=full_refresh,
        ok=dbt.ok,
        dbt=dbt.summary(),
    )
    _record(run_id, "build_audit", "ok" if dbt.ok else "failed", time.monotonic() - t0, out.to_dict())
    if not dbt.ok:
        why = "; ".join(f"{f['unique_id']}: {f['message']}" for f in dbt.failures) or dbt.error or "see the log"
        raise StepError(
            f"dbt build into the audit copy {audit_path} failed for run {run_id}: {_short(why)}; "
            f"see {dbt_dir}/dbt.log and run_results.json. The published warehouse is unchanged.",
            retryable=not dbt.failures,
            result=out,
        )  # failing models/tests: data, not luck
    return out


def publish(audit_path: str | Path, run_id: str, meta: dict | None = None) -> PublishResult:
    """Atomically replace the published warehouse with the audited copy.

    ``meta`` goes into ``_meta.publish_log``; its ``as_of`` (the marts' horizon, which later runs keep:
    ``build_audit``) and ``window_start`` default to what this run's ``build_audit`` recorded."""
    from douyin_etl.warehousing.wap import publish as wap_publish

    t0 = time.monotonic()
    meta = dict(meta or {})
    built = (read_steps(run_id).get("build_audit") or {}).get("details") or {}
    for key in ("as_of", "window_start"):
        if meta.get(key) is None and built.get(key):
            meta[key] = built[key]
    result = wap_publish(Path(audit_path), run_id, meta=meta)
    _record(run_id, "publish", "ok", time.monotonic() - t0, result.to_dict())
    return result


# -- report ----------------------------------------------------------------------------------
def run_status(steps: dict[str, dict]) -> str:
    """published | blocked (a gate said no) | failed (anything else went wrong)."""
    if steps.get("publish", {}).get("status") == "ok":
        return "published"
    if any(s.get("status") == "blocked" for s in steps.values()):
        return "blocked"
    return "failed"


def _landed_rows(start: date, end: date) -> dict[str, int]:
    """Rows per entity in the lake for the interval's partitions (from the partition manifests)."""
    from douyin_etl.landing.reader import read_manifest
    from douyin_etl.orchestration.windows import partitions_for_range

    out: dict[str, int] = {}
    for entity, days in partitions_for_range(start, end).items():
        for d in days:
            manifest = read_manifest(entity, d) or {}
            out[entity] = out.get(entity, 0) + int(manifest.get("rows", 0) or 0)
    return dict(sorted(out.items()))


def _mart_rows(db_path: Path | None) -> dict[str, int]:
    """Rows per mart table (schema.table) of a warehouse file, read-only; empty when there is none."""
    if db_path is None or not db_path.exists():
        return {}
    import duckdb

    try:
        con = duckdb.connect(str(db_path), read_only=True)
    except duckdb.Error as exc:  # e.g. locked by a writer: the report goes on without mart counts
        log.warning("mart row counts skipped (%s)", exc)
        return {}
    try:
        tables = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
            "AND table_schema IN ('sales', 'finance', 'inventory', 'performance') ORDER BY 1, 2"
        ).fetchall()
        return {f"{sch}.{tbl}": int(one_row(con, f'SELECT count(*) FROM "{sch}"."{tbl}"')[0]) for sch, tbl in tables}
    finally:
        con.close()


def report(run_id: str, start: date | str | None, end: date | str | None, errors: list[str] | None = None) -> str:
    """Write the run report from the run's step records; return the path of ``report.json``.

    Releases the warehouse writer lease when the run did not publish, so the next run is not blocked.
    """
    from douyin_etl.warehousing.report import RunRecord, write_report

    steps = read_steps(run_id)
    status = run_status(steps)
    record = RunRecord(
        run_id,
        interval_start=_as_date(start) if start else None,
        interval_end=_as_date(end) if end else None,
        status=status,
    )
    plan = steps.get("plan", {}).get("details") or {}
    if plan.get("started_at"):
        record.started_at = plan["started_at"]
    extracts = read_extracts(run_id)
    if extracts:
        ok = all(st == "ok" for st, _ in extracts.values())
        starts = [t for k, v in steps.items() if k.startswith("extract.") and (t := started_at(v))]
        record.add_step(
            "extract",
            "ok" if ok else "failed",
            sum(x.seconds for _, x in extracts.values()),
            {k: {"rows": x.rows, "days": [d.isoformat() for d in x.days]} for k, (_, x) in sorted(extracts.items())},
            started_at=min(starts) if starts else "",
        )
        for entity, (_, x) in sorted(extracts.items()):
            for landed_entity, n in sorted(x.landed.items()):
                record.add_rows(landed_entity, "landed", n)
            if x.quarantined:
                record.add_rows(entity, "quarantined", x.quarantined)
                record.quarantine.append(
                    {"entity": entity, "rows": x.quarantined, "reason": "see the quarantine of this run"}
                )
            if x.error:
                record.errors.append(x.error)
    elif record.interval_start and record.interval_end:  # transform-only run: count what the lake holds
        for entity, rows in _landed_rows(record.interval_start, record.interval_end).items():
            record.add_rows(entity, "landed", rows)
    _report_warehouse_steps(record, steps)
    build = steps.get("build_audit")
    audit_path = build["details"]["audit_path"] if build else None
    mart_db = config.warehouse_path() if status == "published" else audit_path
    for table, rows in _mart_rows(Path(mart_db) if mart_db else None).items():
        record.add_rows(table, "mart", rows)
    record.errors.extend(errors or [])
    if status != "published":
        try:
            from douyin_etl.warehousing.lock import release_lease

            release_lease(config.warehouse_path(), run_id)
        except Exception as exc:  # noqa: BLE001 - the lease expires anyway
            log.warning("could not release the writer lease of run %s: %s", run_id, exc)
    jpath, _html = write_report(record)
    log.info("run %s %s; report %s", run_id, status, jpath)
    return str(jpath)


def _report_warehouse_steps(record: Any, steps: dict[str, dict]) -> None:
    """The gates, the dbt build and the publish of the run (typed from their records) into ``record``."""
    from douyin_etl.quality.results import GateResult
    from douyin_etl.warehousing.wap import PublishResult

    for name in STEP_ORDER[1:]:
        s = steps.get(name)
        if s is None:
            record.add_step(name, "skipped", 0.0, started_at="")  # never started
            continue
        details: dict[str, Any]
        if name in ("landing_gate", "mart_gate"):
            gate = GateResult.from_dict(s["details"])
            details = {"ok": gate.ok}
            record.gates[name.removesuffix("_gate")] = s["details"]  # as the gate wrote it (checks collapsed)
            if gate.reconciliation:
                record.reconciliation = gate.reconciliation
        elif name == "build_audit":
            build = BuildResult.from_dict(s["details"])
            details = {
                k: v
                for k, v in build.to_dict().items()
                if k
                in ("audit_path", "as_of", "window_start", "tests_since", "interval_end", "published_horizon", "ok")
            }
            record.dbt = build.dbt
        else:
            published = PublishResult.from_dict(s["details"])
            details = {"published": str(published.path)}
            record.published_path = str(published.path)
            record.published_version = published.to_dict()
        record.add_step(name, s["status"], s["seconds"], details, started_at=started_at(s))
