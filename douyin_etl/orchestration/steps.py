"""The pipeline's steps, in one home: the Airflow tasks and ``douyin_etl.pipeline`` both call these.

Each step takes plain values (entity names, dates, run ids, paths), does one thing by calling the
module that owns the work, records its outcome in ``<state>/runs/<run_id>/steps/<step>.json`` (so the
report can be written by another process, e.g. the DAG's report task, even after a failure) and
returns a small JSON-able dict (it travels through XCom). A step that finds a problem raises
``StepError`` with a message that says what failed and what to do next.

    begin_run            clear the step records of a run id (first step of every run)
    extract_entity_days  one entity, a list of business days -> rows landed per partition
    extract_family       every entity of a family
    landing_gate         quality gate over the landed partitions
    build_audit          copy of the warehouse + ``dbt build`` into it (write-audit-publish)
    mart_gate            quality gate over the audit copy's marts
    publish              atomically swap the audit copy in as the published warehouse
    report               the run record (what ran, rows, gates, where things are) -> report path
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import time
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from douyin_etl import config, entities

log = logging.getLogger(__name__)

STEP_ORDER = ("extract", "landing_gate", "build_audit", "mart_gate", "publish")


class StepError(RuntimeError):
    """A pipeline step failed; the message names the step, the culprit and the next thing to do.

    ``retryable=False`` when retrying cannot help (a gate or a dbt test said the data is wrong):
    the Airflow task then fails at once instead of burning its retries.
    """

    def __init__(self, message: str, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


# -- helpers ---------------------------------------------------------------------------------
def _as_date(d: date | str) -> date:
    return d if isinstance(d, date) else date.fromisoformat(d)


def _jsonable(obj: Any) -> Any:
    """Convert a collaborator's result into JSON-able values (for XCom and the step records)."""
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (date, datetime)):
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, dict):
        return {(k.isoformat() if isinstance(k, date) else str(k)): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [_jsonable(v) for v in obj]
    if hasattr(obj, "to_dict"):
        return _jsonable(obj.to_dict())
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return _jsonable(dataclasses.asdict(obj))
    return str(obj)


def run_dir(run_id: str) -> Path:
    if not run_id or "/" in run_id or run_id in (".", ".."):
        raise ValueError(f"run_id {run_id!r} must be a non-empty name without '/'")
    return config.state_dir() / "runs" / run_id


def _steps_dir(run_id: str) -> Path:
    return run_dir(run_id) / "steps"


def _record(run_id: str, name: str, status: str, seconds: float, details: Any) -> None:
    """Write one step's outcome atomically (``steps/<name>.json``)."""
    path = _steps_dir(run_id) / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"name": name, "status": status, "seconds": round(seconds, 3),
            "finished_at": datetime.now(timezone.utc).isoformat(), "details": _jsonable(details)}
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True, default=str), encoding="utf-8")
    os.replace(tmp, path)


def read_steps(run_id: str) -> dict[str, dict]:
    """Every recorded step of ``run_id``: name -> {status, seconds, details}."""
    out: dict[str, dict] = {}
    d = _steps_dir(run_id)
    if d.is_dir():
        for p in sorted(d.glob("*.json")):
            out[p.stem] = json.loads(p.read_text(encoding="utf-8"))
    return out


def begin_run(run_id: str, plan: dict | None = None) -> dict:
    """Start (or restart) run ``run_id``: forget the step records of an earlier attempt."""
    shutil.rmtree(_steps_dir(run_id), ignore_errors=True)
    _steps_dir(run_id).mkdir(parents=True, exist_ok=True)
    if plan is not None:
        _record(run_id, "plan", "ok", 0.0, plan)
    return {"run_id": run_id, "run_dir": str(run_dir(run_id))}


def _rows_of(result: Any) -> int:
    """Rows landed, read from an extractor's/ingester's result dict (several spellings tolerated)."""
    if isinstance(result, dict):
        for key in ("rows", "rows_landed", "row_count", "landed_rows", "n_rows"):
            value = result.get(key)
            if isinstance(value, bool):
                continue
            if isinstance(value, int):
                return value
            if isinstance(value, dict):  # e.g. {"2026-10-01": 10, ...}
                return sum(v for v in value.values() if isinstance(v, int) and not isinstance(v, bool))
    return 0


def _landed_of(entity: str, result: Any) -> tuple[int, dict[str, int]]:
    """(rows of ``entity``, rows per entity landed by this call).

    One extraction may land several entities (shop_order lands sku_order too: ``rows`` is then a dict),
    and an alias lands nothing itself (sku_order: ``landed_by`` shop_order).
    """
    if isinstance(result, dict) and isinstance(result.get("rows"), dict):
        landed = {str(k): int(v) for k, v in result["rows"].items() if isinstance(v, int)}
        return landed.get(entity, 0), landed
    if isinstance(result, dict) and result.get("landed_by"):
        return 0, {}
    rows = _rows_of(result)
    return rows, {entity: rows}


# -- extract ---------------------------------------------------------------------------------
def _extract_one(entity: str, day: date, run_id: str, drops_dir: Path | None) -> dict:
    e = entities.get(entity)
    if e.kind == "api":
        from douyin_etl.sources.doudian.extract import extract_api_entity

        return extract_api_entity(entity, day, run_id)
    from douyin_etl.sources.files.ingest import ingest_entity

    return ingest_entity(entity, day, run_id, drops_dir=drops_dir)


def extract_entity_days(entity: str, days: list[date] | list[str], run_id: str,
                        drops_dir: Path | None = None) -> dict:
    """Land ``entity`` for each business day in ``days``; each partition is replaced atomically.

    Returns ``{"entity", "family", "days", "rows", "quarantined", "partitions": {day: rows}, "details"}``.
    """
    e = entities.get(entity)
    out: dict[str, Any] = {"entity": entity, "family": e.family, "days": [], "rows": 0, "quarantined": 0,
                           "partitions": {}, "landed": {}, "details": [], "seconds": 0.0}
    t0 = time.monotonic()
    if e.kind == "file":  # a missing source stops the entity before any of its days lands
        from douyin_etl.sources.files.errors import MissingSourceError
        from douyin_etl.sources.files.expected import check_days

        try:
            check_days(entity, [_as_date(d) for d in days], drops_dir)
        except (MissingSourceError, ValueError) as exc:
            first, last = _as_date(days[0]), _as_date(days[-1])
            msg = (f"extract {entity} for business day {first}{'' if first == last else f'..{last}'} (run {run_id}): "
                   f"{exc}")
            out["error"] = msg
            _record(run_id, f"extract.{entity}", "failed", time.monotonic() - t0, out)
            raise StepError(msg, retryable=isinstance(exc, MissingSourceError)) from exc
    for raw_day in days:
        day = _as_date(raw_day)
        try:
            result = _extract_one(entity, day, run_id, drops_dir)
        except Exception as exc:
            msg = (f"extract {entity} for business day {day} (run {run_id}): {type(exc).__name__}: {exc}. "
                   f"Fix the cause and rerun this entity/day; a rerun replaces exactly this partition.")
            out["error"] = msg
            _record(run_id, f"extract.{entity}", "failed", time.monotonic() - t0, out)
            raise StepError(msg) from exc
        rows, landed = _landed_of(entity, result)
        for other, n in landed.items():
            out["landed"][other] = out["landed"].get(other, 0) + n
        out["days"].append(day.isoformat())
        out["partitions"][day.isoformat()] = rows
        out["rows"] += rows
        if isinstance(result, dict) and isinstance(result.get("quarantined"), int):
            out["quarantined"] += result["quarantined"]
        out["details"].append(_jsonable(result))
        log.info("landed %s dt=%s: %d rows", entity, day, rows)
    out["seconds"] = round(time.monotonic() - t0, 3)
    _record(run_id, f"extract.{entity}", "ok", out["seconds"], out)
    return out


def extract_family(family: str, days_by_entity: dict[str, list[date]], run_id: str,
                   drops_dir: Path | None = None) -> dict[str, dict]:
    """Land every entity of ``family`` over its days (``days_by_entity``: entity -> days)."""
    return {
        e.name: extract_entity_days(e.name, days_by_entity[e.name], run_id, drops_dir=drops_dir)
        for e in entities.by_family(family)  # type: ignore[arg-type]
        if e.name in days_by_entity
    }


# -- gates -----------------------------------------------------------------------------------
def _gate_dict(result: Any) -> dict:
    d = _jsonable(result)
    if not isinstance(d, dict):
        d = {"result": d}
    d["ok"] = bool(getattr(result, "ok", d.get("ok", False)))
    if callable(getattr(result, "summary", None)):
        d["summary"] = result.summary()
    return d


def _gate_failure_text(result: dict) -> str:
    for key in ("summary", "failures", "failed", "errors"):
        if result.get(key):
            text = str(result[key])
            return text if len(text) < 800 else text[:800] + " …"
    return "see the gate result in the run report"


def _blocked_by_check(result: dict, parts: dict[str, list[date]]) -> dict[tuple[str, date], list[str]]:
    """(entity, day) -> reasons, from the blocking checks of a landing gate result."""
    out: dict[tuple[str, date], list[str]] = {}
    for c in result.get("checks") or []:
        if not isinstance(c, dict) or c.get("success", True) or c.get("severity") != "error":
            continue
        entity = c.get("entity")
        if entity not in parts:
            continue
        try:
            days = [date.fromisoformat(str(c.get("dt")))]
        except ValueError:  # no single day (an entity-wide check): every day of the run
            days = parts[entity]
        reason = (f"{c.get('suite')}: {c.get('expectation_type')}({c.get('column') or ''}) "
                  f"{c.get('description') or ''}; unexpected={c.get('unexpected_count')}"
                  + (f" {c.get('exception')}" if c.get("exception") else "")).strip()
        for d in days:
            out.setdefault((entity, d), []).append(reason[:300])
    return out


def _refuse_blocked(run_id: str, parts: dict[str, list[date]], t0: float) -> None:
    """Refuse the run while partitions an earlier landing gate blocked (outside this run) are in the lake."""
    from douyin_etl.landing import blocked

    earlier = [b for b in blocked.blocked_partitions()
               if date.fromisoformat(b.dt) not in set(parts.get(b.entity, []))]
    if not earlier:
        return
    days = sorted({b.dt for b in earlier})
    text = "; ".join(b.describe() for b in earlier[:10]) + (f"; and {len(earlier) - 10} more" if len(earlier) > 10 else "")
    msg = (f"landing gate refused run {run_id}: {len(earlier)} partition(s) an earlier landing gate blocked are "
           f"still in the lake and would reach the marts: {text}. Fix: drop a corrected file into the drop "
           f"folder of that day ({config.drops_dir()}/<day>/; an Open API partition is re-extracted) and rerun "
           f"that day (e.g. `douyin-etl run --start {days[0]} --end {days[-1]}`); the rerun replaces the "
           f"partition and clears the record. Nothing was published.")
    _record(run_id, "landing_gate", "blocked", time.monotonic() - t0,
            {"ok": False, "summary": msg, "blocked_partitions": [dataclasses.asdict(b) for b in earlier]})
    raise StepError(msg, retryable=False)


def landing_gate(run_id: str, partitions: dict[str, list[date]] | dict[str, list[str]]) -> dict:
    """Check the landed partitions (``entity -> days``); raise ``StepError`` when the gate fails.

    First refuses the run while a partition an earlier run's gate blocked is still in the lake
    (``landing.blocked``); records the partitions this gate blocks, and clears those it passes.
    """
    from douyin_etl.landing import blocked
    from douyin_etl.quality.gates import run_landing_gate

    parts = {k: sorted({_as_date(d) for d in v}) for k, v in partitions.items()}
    t0 = time.monotonic()
    _refuse_blocked(run_id, parts, t0)
    result = _gate_dict(run_landing_gate(run_id, parts))
    failing = _blocked_by_check(result, parts)
    for (entity, d), reasons in sorted(failing.items()):
        blocked.mark(entity, d, run_id, " | ".join(reasons))
    for entity, day in blocked.recorded():  # passed this time (e.g. a suite was corrected): no longer blocked
        if day in {d.isoformat() for d in parts.get(entity, [])} and (entity, date.fromisoformat(day)) not in failing:
            blocked.clear(entity, date.fromisoformat(day), run_id=run_id)
    if failing:
        result["blocked_partitions"] = [{"entity": e, "dt": d.isoformat()} for e, d in sorted(failing)]
    _record(run_id, "landing_gate", "ok" if result["ok"] else "blocked", time.monotonic() - t0, result)
    if not result["ok"]:
        raise StepError(f"landing gate failed for run {run_id}: {_gate_failure_text(result)}. Nothing was "
                        f"published; see the run report, fix the source (or its quarantine) and rerun.",
                        retryable=False)
    return result


def mart_gate(audit_path: str | Path, run_id: str, as_of: date | str, since: date | str | None = None) -> dict:
    """Check the marts in the audit copy; raise ``StepError`` when the gate fails (nothing published).

    ``since``: the first day of the run's rebuilt window (``build_audit``'s ``tests_since``); the checks
    over big tables then read only rows from that day on. None: the whole history (full refresh).
    """
    from douyin_etl.quality.gates import run_mart_gate

    t0 = time.monotonic()
    from douyin_etl.quality.gates import reconciliation_counts

    from douyin_etl.warehousing.wap import touch_lease

    touch_lease(run_id, "mart_gate")  # heartbeat of the writer lease (raises when another run took it over)
    gate = run_mart_gate(Path(audit_path), run_id, _as_date(as_of), since=_as_date(since) if since else None)
    result = _gate_dict(gate)
    try:
        result["reconciliation"] = reconciliation_counts(gate)
    except Exception as exc:  # noqa: BLE001 - informational only
        log.warning("no reconciliation counts from the mart gate: %s", exc)
    _record(run_id, "mart_gate", "ok" if result["ok"] else "blocked", time.monotonic() - t0, result)
    if not result["ok"]:
        raise StepError(f"mart gate failed for run {run_id} on {audit_path}: {_gate_failure_text(result)}. "
                        f"The published warehouse is unchanged; fix and rerun.", retryable=False)
    return result


# -- warehouse (write-audit-publish) ---------------------------------------------------------
def build_audit(run_id: str, as_of: date | str, full_refresh: bool = False,
                window_start: date | str | None = None) -> dict:
    """Copy the published warehouse to an audit file and ``dbt build`` into it (dbt: a subprocess).

    ``window_start`` .. ``as_of`` is the run's interval (``window_start`` defaults to ``as_of``). The
    marts are built as of the *horizon*: the interval's last day or the published warehouse's horizon
    (``wap.read_horizon``), whichever is later, so rebuilding a past day never moves the marts back
    in time (later days stay). The incremental marts replace what changed from ``window_start`` minus
    the dbt lookback onwards (dbt run parameters ``as_of_date`` = horizon, ``window_start``). The data
    tests of big models read only that rebuilt window (run parameter ``tests_since``, returned for the
    mart gate), except on a full refresh: the whole history is tested weekly by ``douyin-etl check``.
    Returns ``{"audit_path", "as_of": horizon, "window_start", "tests_since", "interval_end",
    "published_horizon", ...}``.
    """
    from douyin_etl.warehousing.dbt_runner import run_dbt, tests_since
    from douyin_etl.warehousing.wap import prepare_audit, read_horizon

    end = _as_date(as_of)
    start = _as_date(window_start) if window_start else end
    if start > end:
        raise StepError(f"run {run_id}: interval start {start} is after its end {end}; give start <= end",
                        retryable=False)
    t0 = time.monotonic()
    from douyin_etl.warehousing.lock import WarehouseLocked

    try:
        audit_path = Path(prepare_audit(run_id))
    except WarehouseLocked as exc:  # another run writes the warehouse (or a crashed one's lease is fresh)
        _record(run_id, "build_audit", "failed", time.monotonic() - t0, {"ok": False, "error": str(exc)})
        raise StepError(f"run {run_id} cannot take the warehouse: {exc}", retryable=True) from exc
    published_horizon = read_horizon(audit_path)
    horizon = max(end, published_horizon) if published_horizon else end
    if horizon > end:
        log.info("run %s rebuilds %s..%s; the published marts reach %s: they stay as of %s", run_id, start, end,
                 published_horizon, horizon)
    dbt_dir = run_dir(run_id) / "dbt"
    # the rebuilt window's tests; everything when everything is rebuilt (full refresh, first build)
    since = None if full_refresh or published_horizon is None else tests_since(start)
    # run parameters, not --vars: dbt keeps its saved parse from run to run (dbt_runner's docstring)
    result = run_dbt(["build"], db_path=audit_path,
                     run_params={"as_of_date": horizon.isoformat(), "window_start": start.isoformat(),
                                 "tests_since": since},
                     run_dir=dbt_dir, full_refresh=full_refresh)
    ok = bool(getattr(result, "ok", False))
    summary = result.summary() if hasattr(result, "summary") else _jsonable(result)
    out = {"audit_path": str(audit_path), "as_of": horizon.isoformat(), "window_start": start.isoformat(),
           "tests_since": since.isoformat() if since else None, "interval_end": end.isoformat(),
           "published_horizon": published_horizon.isoformat() if published_horizon else None,
           "full_refresh": full_refresh, "ok": ok, "dbt": _jsonable(summary)}
    _record(run_id, "build_audit", "ok" if ok else "failed", time.monotonic() - t0, out)
    if not ok:
        raise StepError(f"dbt build into the audit copy {audit_path} failed for run {run_id}: "
                        f"{_gate_failure_text(out['dbt'] if isinstance(out['dbt'], dict) else {})}; "
                        f"see {dbt_dir}/dbt.log and run_results.json. The published warehouse is unchanged.",
                        retryable=not getattr(result, "failures", None))  # failing models/tests: data, not luck
    return out


def publish(audit_path: str | Path, run_id: str, meta: dict | None = None) -> dict:
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
    out = {"published": str(getattr(result, "path", config.warehouse_path())), "version": _jsonable(result)}
    _record(run_id, "publish", "ok", time.monotonic() - t0, out)
    return out


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
            "AND table_schema IN ('sales', 'finance', 'inventory', 'performance') ORDER BY 1, 2").fetchall()
        return {f"{sch}.{tbl}": int(con.execute(f'SELECT count(*) FROM "{sch}"."{tbl}"').fetchone()[0])
                for sch, tbl in tables}
    finally:
        con.close()


def report(run_id: str, start: date | str | None, end: date | str | None, errors: list[str] | None = None) -> str:
    """Write the run report from the run's step records; return the path of ``report.json``.

    Releases the warehouse writer lease when the run did not publish, so the next run is not blocked.
    """
    from douyin_etl.warehousing.report import RunRecord, write_report

    steps = read_steps(run_id)
    status = run_status(steps)
    record = RunRecord(run_id, interval_start=_as_date(start) if start else None,
                       interval_end=_as_date(end) if end else None, status=status)
    plan = steps.get("plan", {}).get("details") or {}
    if plan.get("started_at"):
        record.started_at = plan["started_at"]
    extracts = {k.split(".", 1)[1]: v for k, v in steps.items() if k.startswith("extract.")}
    if extracts:
        ok = all(v["status"] == "ok" for v in extracts.values())
        record.add_step("extract", "ok" if ok else "failed", sum(v["seconds"] for v in extracts.values()),
                        {k: {"rows": v["details"].get("rows", 0), "days": v["details"].get("days", [])}
                         for k, v in sorted(extracts.items())})
        for entity, v in sorted(extracts.items()):
            for landed_entity, n in sorted((v["details"].get("landed") or {}).items()):
                record.add_rows(landed_entity, "landed", int(n))
            q = int(v["details"].get("quarantined", 0) or 0)
            if q:
                record.add_rows(entity, "quarantined", q)
                record.quarantine.append({"entity": entity, "rows": q, "reason": "see the quarantine of this run"})
            if v["details"].get("error"):
                record.errors.append(v["details"]["error"])
    elif record.interval_start and record.interval_end:  # transform-only run: count what the lake holds
        for entity, rows in _landed_rows(record.interval_start, record.interval_end).items():
            record.add_rows(entity, "landed", rows)
    for name in STEP_ORDER[1:]:
        s = steps.get(name)
        if s is None:
            record.add_step(name, "skipped", 0.0)
            continue
        details = s.get("details") or {}
        record.add_step(name, s["status"], s["seconds"], {k: v for k, v in details.items()
                                                           if k in ("audit_path", "as_of", "window_start", "tests_since",
                                                                    "interval_end",
                                                                    "published_horizon", "published", "ok")})
        if name.endswith("_gate"):
            record.gates[name.removesuffix("_gate")] = details
            if details.get("reconciliation"):
                record.reconciliation = details["reconciliation"]
        if name == "build_audit" and isinstance(details.get("dbt"), dict):
            record.dbt = details["dbt"]
        if name == "publish":
            record.published_path = details.get("published")
            record.published_version = details.get("version")
    mart_db = config.warehouse_path() if status == "published" else (steps.get("build_audit", {}).get("details") or {}).get("audit_path")
    for table, rows in _mart_rows(Path(mart_db) if mart_db else None).items():
        record.add_rows(table, "mart", rows)
    record.errors.extend(errors or [])
    if status != "published":
        try:
            from douyin_etl.warehousing.lock import release_lease

            release_lease(config.warehouse_path(), run_id)
        except Exception as exc:  # noqa: BLE001 - the lease expires anyway
            log.warning("could not release the writer lease of run %s: %s", run_id, exc)
    paths = write_report(record)
    jpath = paths[0] if isinstance(paths, (tuple, list)) else paths
    log.info("run %s %s; report %s", run_id, status, jpath)
    return str(jpath)
