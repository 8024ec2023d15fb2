"""One benchmark step, run in its own process by ``bench.measure``: ``python -m bench.child STEP ctx.json out.json``.

Each step calls the pipeline's own step functions (``douyin_etl.orchestration.steps`` / ``pipeline``) and
writes ``{"own_s": seconds inside the step call, "rows": …, …}``; ``own_s`` excludes interpreter start and
imports done before the call, so child wall − own_s is the per-task process overhead.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

log = logging.getLogger("bench.child")

STEPS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def step(fn: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    STEPS[fn.__name__] = fn
    return fn


def _d(s: str) -> date:
    return date.fromisoformat(s)


def _landed_total(extracted: dict[str, Any]) -> tuple[int, dict[str, int], int]:
    """Rows landed per entity and rows quarantined, from ``run.extract``'s ``ExtractResult`` per entity."""
    per: dict[str, int] = {}
    quarantined = 0
    for r in extracted.values():
        for other, n in r.landed.items():
            per[other] = per.get(other, 0) + n
        quarantined += r.quarantined
    return sum(per.values()), per, quarantined


@step
def generate(ctx: dict[str, Any]) -> dict[str, Any]:
    from douyin_etl.demo import world_matches
    from douyin_sim.simulator import generate_world

    world = Path(ctx["world"])
    if ctx.get("reuse_world") and world_matches(
        world, ctx["seed"], _d(ctx["start"]), ctx["days"], ctx["shops"], ctx["orders_per_day"]
    ):
        meta = json.loads((world / "world.json").read_text(encoding="utf-8"))
        return {
            "reused": True,
            "rows": int(sum((meta.get("rows") or {}).values()) or 0),
            "orders": int(meta.get("orders") or 0),
        }
    s = generate_world(
        out=world,
        seed=ctx["seed"],
        start=_d(ctx["start"]),
        days=ctx["days"],
        shops=ctx["shops"],
        orders_per_day=ctx["orders_per_day"],
    )
    return {
        "reused": False,
        "rows": int(sum(s.rows.values())),
        "orders": int(s.orders),
        "bytes_on_disk": int(s.bytes_on_disk),
        "table_rows": dict(s.rows),
    }


def _extract(ctx: dict[str, Any], run_id: str, start: date, end: date) -> dict[str, Any]:
    """``run.extract`` over the range against the mock: ``ctx["mock_url"]`` (a separate process, see
    ``bench.mock_proc``) or, without it, a mock served from this process (its cache then counts here)."""
    import contextlib
    import os

    from douyin_etl import config
    from douyin_etl.orchestration import run
    from douyin_etl.orchestration.local_airflow import api_connection_env
    from douyin_sim.mock_api import MockServer

    plan = run.begin(run.plan_range(run_id, start, end, source="bench"))
    mock = None if ctx.get("mock_url") else MockServer(Path(ctx["world"]))
    with mock or contextlib.nullcontext():
        url = ctx.get("mock_url") or mock.base_url
        os.environ.update(api_connection_env(url, config.DEMO_APP_KEY, config.DEMO_APP_SECRET))
        t0 = time.perf_counter()
        out = run.extract(plan, drops_dir=Path(ctx["world"]) / "drops")
        own = time.perf_counter() - t0
        requests = int(sum(mock.stats.get("requests", {}).values())) if mock else None
    rows, per, quarantined = _landed_total(out)
    per_entity_s = {k: v.seconds for k, v in out.items()}
    return {
        "own_s": own,
        "rows": rows,
        "landed": per,
        "quarantined": quarantined,
        "api_requests": requests,
        "mock": "separate process" if ctx.get("mock_url") else "in process",
        "entity_seconds": per_entity_s,
    }


@step
def extract(ctx: dict[str, Any]) -> dict[str, Any]:
    return _extract(ctx, ctx["run_id"], _d(ctx["full_start"]), _d(ctx["full_end"]))


@step
def extract_incr(ctx: dict[str, Any]) -> dict[str, Any]:
    """The last day: through the mock Open API and the file drops, or (``incr_land`` = direct) straight
    from the world through the landing writer, as ``land_history`` lands the history."""
    if ctx.get("incr_land") == "direct":
        return _land_days(ctx, ctx["incr_run_id"], [_d(ctx["incr_day"])], "bench extract_incr (direct)")
    return _extract(ctx, ctx["incr_run_id"], _d(ctx["incr_day"]), _d(ctx["incr_day"]))


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    r = fn()
    return r, time.perf_counter() - t0


@step
def landing_gate(ctx: dict[str, Any]) -> dict[str, Any]:
    from douyin_etl.orchestration import steps, windows

    parts = windows.partitions_for_range(_d(ctx["full_start"]), _d(ctx["full_end"]))
    r, own = _timed(lambda: steps.landing_gate(ctx["run_id"], parts))
    return {"own_s": own, "ok": r.ok, "checks": len(r.to_dict()["checks"])}


@step
def land_history(ctx: dict[str, Any]) -> dict[str, Any]:
    """The history (``full_start`` .. ``full_end``) landed straight from the world through the real landing
    writer and file ingestion (``bench.land``, no HTTP): SF10/SF100, whose API extraction would take hours."""
    from datetime import timedelta

    first, last = _d(ctx["full_start"]), _d(ctx["full_end"])
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return _land_days(ctx, ctx["run_id"], days, "bench land_history")


def _land_days(ctx: dict[str, Any], run_id: str, days: list[date], source: str) -> dict[str, Any]:
    """``days`` landed straight from the world through the landing writer and file ingestion (no HTTP)."""
    from bench.land import land_world as land
    from douyin_etl import config
    from douyin_etl.orchestration import steps

    first, last = days[0], days[-1]
    steps.begin_run(run_id, {"run_id": run_id, "start": first.isoformat(), "end": last.isoformat(), "source": source})
    t0 = time.perf_counter()
    landed = land(
        Path(ctx["world"]),
        config.lake_root(),
        snapshots_every_day=True,
        days=days,
        workers=int(ctx.get("land_workers") or 1),
    )
    own = time.perf_counter() - t0
    rows = _lake_rows(days)
    return {
        "own_s": own,
        "rows": sum(rows.values()),
        "landed": rows,
        "days": len(days),
        "partitions": sum(len([d for d in v if first <= d <= last]) for v in landed.values()),
        "workers": int(ctx.get("land_workers") or 1),
    }


def _lake_rows(days: list[date]) -> dict[str, int]:
    """Rows per entity in the lake's partitions of ``days`` (from the manifests)."""
    from douyin_etl.entities import ENTITIES
    from douyin_etl.landing.reader import read_manifest
    from douyin_etl.storage import Storage

    st = Storage.lake()
    out: dict[str, int] = {}
    for name in ENTITIES:
        n = 0
        for d in days:
            m = read_manifest(name, d, st)
            n += int((m or {}).get("rows") or 0)
        out[name] = n
    return out


@step
def land_world(ctx: dict[str, Any]) -> dict[str, Any]:
    """Generate the world (unless there) and land it straight into the lake (``bench.land``, no HTTP)."""
    from bench.land import land_world as land
    from douyin_sim.simulator import generate_world

    world, lake = Path(ctx["world"]), Path(ctx["lake"])
    if not (world / "world.json").exists():
        generate_world(world, ctx["seed"], _d(ctx["start"]), ctx["days"], ctx["shops"], ctx["orders_per_day"])
    landed = land(world, lake, snapshots_every_day=True)
    return {"partitions": sum(len(v) for v in landed.values())}


@step
def gate_only(ctx: dict[str, Any]) -> dict[str, Any]:
    """The landing gate alone (``run_landing_gate``, no run records) over ``[gate_start, gate_end]``; every
    check is written to ``ctx["checks_out"]`` so two code versions can be compared check for check."""
    from douyin_etl.orchestration import windows
    from douyin_etl.quality.gates import run_landing_gate

    parts = windows.partitions_for_range(_d(ctx["gate_start"]), _d(ctx["gate_end"]))
    rows_pass_rss: list[float] = []  # the process's high-water mark when each entity's row pass is logged

    class RowPassRss(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if str(record.msg).startswith("landing gate %s ("):
                rows_pass_rss.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)

    gate_log = logging.getLogger("douyin_etl.quality.gates")
    gate_log.addHandler(RowPassRss(logging.INFO))
    gate_log.setLevel(logging.INFO)
    r, own = _timed(lambda: run_landing_gate(ctx["run_id"], parts))
    checks = [c.to_dict() if hasattr(c, "to_dict") else c.__dict__ for c in r.checks]
    Path(ctx["checks_out"]).write_text(json.dumps(checks, default=str, indent=0, sort_keys=True), encoding="utf-8")
    scans = r.scans.values()
    return {
        "own_s": own,
        "ok": r.ok,
        "rows": r.rows_validated,
        "partitions": r.partitions,
        "checks": len(checks),
        "failed": sum(not c.success for c in r.checks),
        "quarantined": r.quarantined,
        "rows_pass_maxrss_mb": round(max(rows_pass_rss, default=0.0), 1),
        "largest_batch_rows": max((s.largest_batch_rows for s in scans), default=None),
        "gx_frames": sum(s.gx_frames for s in scans),
        "gx_rows": sum(s.candidate_rows for s in scans),
    }


def _build(ctx: dict[str, Any], run_id: str, as_of: str, full_refresh: bool) -> dict[str, Any]:
    from douyin_etl.orchestration import steps

    r, own = _timed(lambda: steps.build_audit(run_id, _d(as_of), full_refresh=full_refresh))
    dbt = r.dbt
    target = steps.run_dir(run_id) / "dbt" / "target"
    return {
        "own_s": own,
        "audit_path": r.audit_path,
        "tests_since": r.to_dict()["tests_since"],
        "dbt_elapsed_s": dbt.get("elapsed"),
        "counts": dbt.get("counts"),
        "target_dir": str(target),
        "dbt_parse": dbt.get("parse"),
        "run_results": dbt.get("run_results"),
    }


@step
def dbt_parse(ctx: dict[str, Any]) -> dict[str, Any]:
    """``dbt parse`` once before the builds (not a pipeline step): a deployment keeps dbt's saved parse from
    run to run (``dbt_runner``), so the builds are measured as every run after the first sees them."""
    from douyin_etl.warehousing.dbt_runner import run_dbt

    warm = Path(ctx["work"]) / "dbt-parse"
    r, own = _timed(lambda: run_dbt(["parse"], db_path=warm / "audit.duckdb", run_dir=warm))
    return {"own_s": own, "ok": r.ok, "dbt_elapsed_s": round(r.elapsed, 2), "parse": r.parse}


@step
def dbt_full(ctx: dict[str, Any]) -> dict[str, Any]:
    return _build(ctx, ctx["run_id"], ctx["full_end"], True)


@step
def dbt_incr(ctx: dict[str, Any]) -> dict[str, Any]:
    return _build(ctx, ctx["incr_run_id"], ctx["incr_day"], False)


@step
def landing_gate_incr(ctx: dict[str, Any]) -> dict[str, Any]:
    from douyin_etl.orchestration import steps, windows

    day = _d(ctx["incr_day"])
    r, own = _timed(lambda: steps.landing_gate(ctx["incr_run_id"], windows.partitions_for_range(day, day)))
    return {"own_s": own, "ok": r.ok, "checks": len(r.to_dict()["checks"])}


@step
def mart_gate_incr(ctx: dict[str, Any]) -> dict[str, Any]:
    from douyin_etl.orchestration import steps

    r, own = _timed(
        lambda: steps.mart_gate(ctx["audit_path"], ctx["incr_run_id"], _d(ctx["incr_day"]), since=ctx.get("since"))
    )  # the daily run's window, as the DAG passes it
    return {"own_s": own, "ok": r.ok, "checks": len(r.to_dict()["checks"])}


@step
def publish_incr(ctx: dict[str, Any]) -> dict[str, Any]:
    from douyin_etl.orchestration import steps

    r, own = _timed(
        lambda: steps.publish(
            ctx["audit_path"],
            ctx["incr_run_id"],
            meta={"run_id": ctx["incr_run_id"], "start": ctx["incr_day"], "end": ctx["incr_day"], "source": "bench"},
        )
    )
    steps.report(ctx["incr_run_id"], ctx["incr_day"], ctx["incr_day"])
    # visible_s: from the start of publish to the rename (readers have the new version); the rest is the
    # copy for the next run's audit file, made after that
    return {"own_s": own, "published": str(r.path), "warehouse_mb": _warehouse_mb(), "visible_s": r.visible_s}


def _warehouse_mb() -> float:
    from douyin_etl import config

    p = Path(config.warehouse_path())
    return round(p.stat().st_size / 2**20, 1) if p.exists() else 0.0


@step
def mart_gate(ctx: dict[str, Any]) -> dict[str, Any]:
    from douyin_etl.orchestration import steps

    r, own = _timed(lambda: steps.mart_gate(ctx["audit_path"], ctx["run_id"], _d(ctx["full_end"])))
    return {"own_s": own, "ok": r.ok, "checks": len(r.to_dict()["checks"])}


@step
def publish(ctx: dict[str, Any]) -> dict[str, Any]:
    from douyin_etl.orchestration import steps

    r, own = _timed(
        lambda: steps.publish(
            ctx["audit_path"],
            ctx["run_id"],
            meta={"run_id": ctx["run_id"], "start": ctx["full_start"], "end": ctx["full_end"], "source": "bench"},
        )
    )
    steps.report(ctx["run_id"], ctx["full_start"], ctx["full_end"])
    # visible_s: from the start of publish to the rename (readers have the new version); the rest is the
    # copy for the next run's audit file, made after that
    return {"own_s": own, "published": str(r.path), "warehouse_mb": _warehouse_mb(), "visible_s": r.visible_s}


@step
def extract_rate_limited(ctx: dict[str, Any]) -> dict[str, Any]:
    """Records/s and QPS utilisation of the API extraction under ``latency_ms`` and a gateway QPS limit, the
    client limited to the same QPS (H2's ``douyin_sim.mock_api.bench`` protocol, on this world's last day).

    Not ``mock_api.bench._run`` itself: its warm-up pass uses a 10,000 QPS client against the limited mock,
    which gives up on ``app QPS limit exceeded`` once a day has more pages than its retries absorb (SF1).
    Here the warm-up uses the limited client too. A run that still fails is recorded with its error.
    The mock is ``ctx["mock_url"]`` (``bench.mock_proc`` with the same faults, as ``bench.run`` starts it:
    it does not share this interpreter) or, without it, served from this process.
    """
    import contextlib
    from types import SimpleNamespace

    from douyin_etl.sources.doudian.extract import extract_api_entity
    from douyin_etl.storage import Storage
    from douyin_sim.mock_api import FaultConfig, MockServer
    from douyin_sim.mock_api.testing import make_client

    world = Path(ctx["world"])
    meta = json.loads((world / "world.json").read_text(encoding="utf-8"))
    shops = [str(s["shop_id"] if isinstance(s, dict) else s) for s in meta["shops"]]
    qps, day, workers = float(ctx["qps"]), _d(ctx["incr_day"]), int(ctx["workers"])
    lake = Path(ctx["work"]) / "lake-ratelimit"
    per: dict[str, Any] = {}
    error = None
    t_all = time.perf_counter()
    served = (
        None
        if ctx.get("mock_url")
        else MockServer(world, faults=FaultConfig.from_spec(f"latency_ms={ctx['latency_ms']},qps={qps:g}"))
    )
    with served or contextlib.nullcontext():
        m = served or SimpleNamespace(base_url=ctx["mock_url"])

        def client(shop: str):
            return make_client(m, shop, qps=qps)

        try:  # warm the mock's partition cache: the figures are about the protocol, not Parquet reads
            extract_api_entity(
                "shop_order",
                day,
                "warm",
                client_factory=client,
                storage=Storage(str(lake / "warm")),
                shops=shops,
                workers=workers,
            )
            for entity in ctx["rate_entities"]:
                t0 = time.perf_counter()
                r = extract_api_entity(
                    entity,
                    day,
                    "bench",
                    client_factory=client,
                    storage=Storage(str(lake)),
                    shops=shops,
                    workers=workers,
                )
                secs = time.perf_counter() - t0
                per[entity] = {"records": int(r["records"]), "requests": int(r["requests"]), "seconds": round(secs, 3)}
        except Exception as exc:  # noqa: BLE001 - the failure is the measurement: recorded, shown as ✗
            error = f"{type(exc).__name__}: {exc}"
            log.warning("rate-limited extraction failed: %s", error)
        faults = served.stats.get("faults") if served else None  # a separate mock's: bench.run adds them
    records = sum(v["records"] for v in per.values())
    requests = sum(v["requests"] for v in per.values())
    secs = sum(v["seconds"] for v in per.values())
    return {
        "own_s": time.perf_counter() - t_all,
        "rows": records,
        "per_entity": per,
        "mock_faults": faults,
        "records": records,
        "requests": requests,
        "seconds": secs,
        "error": error,
        "records_per_s": records / secs if secs else 0.0,
        "requests_per_s": requests / secs if secs else 0.0,
        "qps": qps,
        "latency_ms": ctx["latency_ms"],
        "workers": workers,
        "mock": "in process" if served else "separate process",
        "qps_utilisation": (requests / secs / qps) if secs and qps and not error else 0.0,
    }


@step
def extract_api_day(ctx: dict[str, Any]) -> dict[str, Any]:
    """Every API entity of one day under ``latency_ms`` and the QPS limit, extracted then rerun (the lookback
    case): requests, records, requests per order and QPS utilisation per entity and pass (``bench.api_day``).
    ``api_day`` (default: the world's last day minus the lookback, 3) and ``api_passes`` (default 2) in ctx."""
    import shutil

    from bench.api_day import extract_api_day as run_day

    lake = Path(ctx["work"]) / "lake-api-day"
    shutil.rmtree(lake, ignore_errors=True)
    day = _d(ctx["api_day"]) if ctx.get("api_day") else None
    r = run_day(
        Path(ctx["world"]),
        lake,
        day,
        qps=float(ctx["qps"]),
        latency_ms=int(ctx["latency_ms"]),
        workers=int(ctx["workers"]),
        passes=int(ctx.get("api_passes") or 2),
    )
    last = r["passes"][-1] if r["passes"] else {}
    r.update({"rows": int(last.get("records") or 0), "requests": int(last.get("requests") or 0)})
    return r


@step
def dbt_direct(ctx: dict[str, Any]) -> dict[str, Any]:
    from bench.dbt_direct import run_direct

    return run_direct(Path(ctx["target_dir"]), Path(ctx["audit_path"]), Path(ctx["work"]) / "direct")


@step
def airflow_transform(ctx: dict[str, Any]) -> dict[str, Any]:
    """``transform_warehouse`` through Airflow (``dag.test``) over the full range: landed → published."""
    from douyin_etl.orchestration import local_airflow, steps
    from douyin_etl.orchestration.schedules import safe_run_id
    from douyin_etl.pipeline import transform_through_airflow

    local_airflow.prepare(Path(ctx["work"]) / "airflow")
    t0 = time.perf_counter()
    run = transform_through_airflow(_d(ctx["full_start"]), _d(ctx["full_end"]))
    own = time.perf_counter() - t0
    rid = safe_run_id(run.run_id)
    recorded = steps.read_steps(rid)
    step_s = {k: float(v.get("seconds") or 0.0) for k, v in recorded.items()}
    status = steps.run_status(recorded)
    if status != "published":
        raise RuntimeError(
            f"transform_warehouse through Airflow ended {run.state} ({status}); steps {step_s}; "
            f"see {steps.run_dir(rid)}/report.json"
        )
    return {"own_s": own, "state": str(run.state), "run_id": rid, "step_seconds": step_s, "status": status}


def main(argv: list[str]) -> int:
    name, ctx_path, out_path = argv
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ctx = json.loads(Path(ctx_path).read_text(encoding="utf-8"))
    if name not in STEPS:
        raise SystemExit(f"unknown benchmark step {name!r}; known: {', '.join(STEPS)}")
    t0 = time.perf_counter()
    profile_to = os.environ.get("BENCH_PROFILE_DIR")  # cProfile the step: <dir>/<step>.prof (+ .txt top 40)
    if profile_to:
        import cProfile
        import io
        import pstats

        prof = cProfile.Profile()
        result = prof.runcall(STEPS[name], ctx)
        Path(profile_to).mkdir(parents=True, exist_ok=True)
        prof.dump_stats(str(Path(profile_to) / f"{name}.prof"))
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(40)
        (Path(profile_to) / f"{name}.txt").write_text(buf.getvalue(), encoding="utf-8")
    else:
        result = STEPS[name](ctx)
    result.setdefault("own_s", time.perf_counter() - t0)
    tmp = Path(out_path).with_suffix(".tmp")
    tmp.write_text(json.dumps(result, default=str, indent=1), encoding="utf-8")
    tmp.replace(out_path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
