"""``python -m bench.run --sf 1`` (``make bench SF=1``): benchmark the pipeline at a scale factor.

Every step runs in its own child process (``bench.measure``: wall time, peak RSS of the process tree):

    generate        the simulated world (shops × days × orders/day, ``bench.scales``)
    extract         every entity over all days but the last, via the mock Open API (no added latency,
                    client QPS unbounded: the pipeline's own cost) and the file drops
    landing_gate    quality gate over the landed partitions
    dbt_parse       ``dbt parse`` once (not a step: a deployment's first parse, which every later run reuses)
    dbt_full        ``dbt build --full-refresh`` into the audit copy (dbt's saved parse reused)
    dbt_direct      the same compiled SQL replayed in one DuckDB connection (dbt-overhead baseline; not a step)
    mart_gate       quality gate over the marts
    publish         atomic swap + run report
    extract_incr    the last day (one more business day)
    dbt_incr        incremental ``dbt build`` for that day on top of the published warehouse
    extract_rate_limited   H2's mock-API bench: records/s and QPS utilisation with latency_ms=50 and a QPS limit
    airflow_transform      (``--airflow``) landed → published through Airflow's ``transform_warehouse``
    extract_api_day        (``--api-day``) every API entity of one day under latency and the QPS limit, then
                           the same day again (the lookback rerun): requests per order (``bench.api_day``)

Prints a table with the targets (✓/✗) and writes ``bench/results/<sf>-<UTC timestamp>.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import scales
from bench.measure import StepMeasure, run_step
from bench.mock_proc import MockProcess
from douyin_etl.config import DEMO_BUYER_KEY_SECRET

log = logging.getLogger("bench.run")

RESULTS_DIR = Path(__file__).resolve().parent / "results"
LANDED_TO_PUBLISHED = ("landing_gate", "dbt_full", "mart_gate", "publish")
DAILY_LANDED_TO_PUBLISHED = ("landing_gate_incr", "dbt_incr", "mart_gate_incr", "publish_incr")
OPTIONAL_STEPS = ("dbt_direct", "airflow_transform", "extract_rate_limited", "extract_api_day")
PIPELINE_STEPS = (
    "generate",
    "extract",
    "land_history",
    *LANDED_TO_PUBLISHED,
    "extract_incr",
    *DAILY_LANDED_TO_PUBLISHED,
)

# targets (issue 13)
SF100_MINUTES, SF100_RSS_GB = 5.0, 4.0
DAILY_SECONDS, DAILY_RSS_GB, MAX_DAILY_SHARE = 45.0, 2.0, 0.15
MIN_QPS_UTILISATION, MAX_DBT_OVERHEAD, MAX_ORCH_OVERHEAD = 0.90, 1.3, 0.20


def _history(m: dict[str, StepMeasure]) -> StepMeasure:
    """The step that landed the history: ``extract`` (through the mock) or ``land_history`` (direct)."""
    return m["extract"] if "extract" in m else m["land_history"]


def bench_env(work: Path, world: Path, shops: list[str] | None, qps: float, start: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DOUYIN_LAKE_DIR": str(work / "lake"),
            "DOUYIN_STATE_DIR": str(work / "state"),
            "DOUYIN_WAREHOUSE": str(work / "warehouse" / "douyin.duckdb"),
            "DOUYIN_WORLD_DIR": str(world),
            "DOUYIN_DROPS_DIR": str(world / "drops"),
            "DOUYIN_LOOKBACK_DAYS": "0",
            "DOUYIN_START_DATE": start,
            "DOUYIN_API_QPS": f"{qps:g}",
            "AIRFLOW_HOME": str(work / "airflow"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(Path(__file__).resolve().parents[1] / "dags"),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "DBT_VERSION_CHECK": "false",
            "GX_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
            # a simulated world: the demo's buyer key, set explicitly (nothing defaults to it)
            "DOUYIN_BUYER_KEY_SECRET": DEMO_BUYER_KEY_SECRET,
        }
    )
    if shops:
        env["DOUYIN_SHOP_IDS"] = ",".join(shops)
    return env


class _Stopped(Exception):
    """``until`` reached: the run stops after that step (resume it with ``resume``)."""


GENERATE_RECORD = "bench-generate.json"  # beside world.json: the generate step's measure, for a reused world


def _measure_from_dict(d: dict[str, Any]) -> StepMeasure:
    fields = ("name", "wall_s", "tree_peak_rss_mb", "maxrss_mb", "cpu_user_s", "cpu_sys_s", "returncode", "result")
    return StepMeasure(**{f: d[f] for f in fields})


def _add_mock(m: StepMeasure, mock: MockProcess) -> None:
    """The separate mock's request count and peak RSS, beside (not in) the extract step's own figures."""
    m.result["api_requests"] = int(sum((mock.stats().get("requests") or {}).values()))
    m.result["mock_peak_rss_mb"] = round(mock.peak_rss / 2**20, 1)


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 4) if a is not None and b else None


def compute(measures: dict[str, StepMeasure], scale: scales.Scale, prior: dict | None = None) -> dict[str, Any]:
    """Ratios, throughput and target checks from the step measures."""
    m = {k: v for k, v in measures.items()}
    rows_landed = int(_history(m).result.get("rows", 0)) + int(m["extract_incr"].result.get("rows", 0))
    pipe = [m[k] for k in PIPELINE_STEPS if k in m]
    total_wall = sum(x.wall_s for x in pipe)
    l2p = [m[k] for k in LANDED_TO_PUBLISHED]
    l2p_wall = sum(x.wall_s for x in l2p)
    l2p_own = sum(float(x.result.get("own_s") or 0) for x in l2p)
    out: dict[str, Any] = {
        "total_wall_s": round(total_wall, 2),
        "total_peak_rss_mb": max(x.peak_rss_mb for x in pipe),
        "rows_landed": rows_landed,
        "orders": int(m["generate"].result.get("orders") or 0),
        "rows_per_s_total": round(rows_landed / total_wall, 1) if total_wall else None,
        "landed_to_published_wall_s": round(l2p_wall, 2),
        "landed_to_published_own_s": round(l2p_own, 2),
        "landed_to_published_peak_rss_mb": max(x.peak_rss_mb for x in l2p),
        "history_landed_by": "land_history (landing writer, no HTTP)" if "land_history" in m else "extract (mock API)",
    }
    if all(k in m for k in DAILY_LANDED_TO_PUBLISHED):
        daily = [m[k] for k in DAILY_LANDED_TO_PUBLISHED]
        out["daily_landed_to_published_wall_s"] = round(sum(x.wall_s for x in daily), 2)
        out["daily_landed_to_published_own_s"] = round(sum(float(x.result.get("own_s") or 0) for x in daily), 2)
        out["daily_landed_to_published_peak_rss_mb"] = max(x.peak_rss_mb for x in daily)
        out["daily_over_full"] = _ratio(out["daily_landed_to_published_wall_s"], l2p_wall)
        # until readers have the new version: the publish step up to its rename (the copy for the next
        # run's audit file follows it)
        visible = m["publish_incr"].result.get("visible_s")
        if visible is not None:
            out["daily_landed_to_visible_wall_s"] = round(
                sum(x.wall_s for x in daily[:-1])
                + (m["publish_incr"].wall_s - float(m["publish_incr"].result["own_s"]))
                + float(visible),
                2,
            )
        out["warehouse_mb_full"] = m["publish"].result.get("warehouse_mb")
        out["warehouse_mb_after_daily"] = m["publish_incr"].result.get("warehouse_mb")
    direct = m["dbt_direct"].result if "dbt_direct" in m else {}
    out["dbt_overhead"] = _ratio(m["dbt_full"].result.get("dbt_elapsed_s"), direct.get("own_s"))
    # dbt's execution phase only (run_results elapsed_time: after parse/compile/startup) ÷ the same SQL direct
    out["dbt_overhead_execution"] = _ratio(direct.get("dbt_elapsed_s"), direct.get("own_s"))
    out["dbt_fixed_s"] = (
        round(m["dbt_full"].result["dbt_elapsed_s"] - direct["dbt_elapsed_s"], 2)
        if m["dbt_full"].result.get("dbt_elapsed_s") and direct.get("dbt_elapsed_s")
        else None
    )
    # process-per-step runner: child wall (interpreter, imports, records) vs the steps' own compute
    out["orchestration_overhead_process"] = round(l2p_wall / l2p_own - 1, 4) if l2p_own else None
    if "airflow_transform" in m:
        af = m["airflow_transform"].result
        own = sum(
            v
            for k, v in (af.get("step_seconds") or {}).items()
            if k in ("landing_gate", "build_audit", "mart_gate", "publish")
        )
        out["airflow_landed_to_published_s"] = round(float(af.get("own_s") or 0), 2)
        out["airflow_steps_own_s"] = round(own, 2)
        out["orchestration_overhead_airflow"] = round(float(af["own_s"]) / own - 1, 4) if own else None
    out["orchestration_overhead"] = out.get("orchestration_overhead_airflow", out["orchestration_overhead_process"])
    out["incremental_over_full"] = _ratio(
        m["dbt_incr"].result.get("dbt_elapsed_s"), m["dbt_full"].result.get("dbt_elapsed_s")
    )
    ext = m["extract_incr"].result
    if m["generate"].result.get("orders") and ext.get("api_requests"):
        days = max(int(scale.days), 1)
        out["extract_incr_requests_per_order"] = round(
            int(ext["api_requests"]) / (int(m["generate"].result["orders"]) / days), 3
        )
    out["incremental_over_full_wall"] = _ratio(m["dbt_incr"].wall_s, m["dbt_full"].wall_s)
    rl = m["extract_rate_limited"].result if "extract_rate_limited" in m else {}
    out["extract_rate_limited"] = {
        k: rl.get(k)
        for k in (
            "records",
            "requests",
            "seconds",
            "records_per_s",
            "requests_per_s",
            "qps",
            "latency_ms",
            "qps_utilisation",
            "error",
        )
    }
    if "extract_api_day" in m:  # every API entity of one day, extracted then rerun (bench.api_day)
        ad = m["extract_api_day"].result
        out["extract_api_day"] = {
            "day": ad.get("day"),
            "error": ad.get("error"),
            "rerun": ad.get("rerun"),
            "passes": [
                {k: p.get(k) for k in ("orders", "requests", "requests_per_order", "seconds", "qps_utilisation")}
                for p in ad.get("passes") or []
            ],
        }
    if prior:
        out["growth_vs"] = prior["scale"]["name"]
        p_rows = prior["derived"]["rows_landed"]
        p_wall = prior["derived"]["total_wall_s"]
        out["growth_time"] = _ratio(total_wall, p_wall)
        out["growth_rows"] = _ratio(rows_landed, p_rows)
        out["growth_time_per_row"] = _ratio(out["growth_time"], out["growth_rows"])
    return out


def targets(derived: dict[str, Any], scale: scales.Scale) -> list[dict[str, Any]]:
    """Each target: name, measured value, limit, ok (None = not measurable in this run)."""
    t: list[dict[str, Any]] = []

    def add(name: str, value: Any, limit: str, ok: bool | None, note: str = "") -> None:
        t.append({"target": name, "value": value, "limit": limit, "ok": ok, "note": note})

    l2p = derived["landed_to_published_wall_s"]
    if scale.name == "100":
        add(
            "SF100 full rebuild, landed→published",
            f"{l2p / 60:.1f} min",
            f"≤ {SF100_MINUTES:g} min",
            l2p / 60 <= SF100_MINUTES,
        )
        add(
            "SF100 full rebuild peak RSS",
            f"{derived['landed_to_published_peak_rss_mb'] / 1024:.2f} GB",
            f"≤ {SF100_RSS_GB:g} GB",
            derived["landed_to_published_peak_rss_mb"] / 1024 <= SF100_RSS_GB,
        )
    if scale.name == "100" and "daily_landed_to_published_wall_s" in derived:
        dl = derived["daily_landed_to_published_wall_s"]
        add("SF100 one more day, landed→published", f"{dl:.1f} s", f"≤ {DAILY_SECONDS:g} s", dl <= DAILY_SECONDS)
        if (dv := derived.get("daily_landed_to_visible_wall_s")) is not None:
            add(
                "SF100 one more day, landed→readers have it",
                f"{dv:.1f} s",
                f"≤ {DAILY_SECONDS:g} s",
                dv <= DAILY_SECONDS,
                "publish up to its rename; the copy for the next run's audit file follows",
            )
        rss = derived["daily_landed_to_published_peak_rss_mb"] / 1024
        add("SF100 one more day peak RSS", f"{rss:.2f} GB", f"≤ {DAILY_RSS_GB:g} GB", rss <= DAILY_RSS_GB)
    if "daily_over_full" in derived:
        share = derived["daily_over_full"]
        add(
            "one more day ÷ full rebuild (landed→published)",
            f"{share:.1%}",
            f"≤ {MAX_DAILY_SHARE:.0%}",
            share <= MAX_DAILY_SHARE,
        )
    rl = derived["extract_rate_limited"]
    if rl.get("qps") is not None:  # not run with --no-rate-limited
        u = rl.get("qps_utilisation") or 0.0
        add(
            "extraction QPS utilisation",
            f"{u:.0%}",
            f"≥ {MIN_QPS_UTILISATION:.0%}",
            u >= MIN_QPS_UTILISATION,
            f"latency {rl.get('latency_ms')} ms, qps {rl.get('qps')}"
            + (f"; FAILED: {rl['error'][:160]}" if rl.get("error") else ""),
        )
    d = derived.get("dbt_overhead")
    add("dbt overhead (build ÷ direct SQL)", d, f"≤ {MAX_DBT_OVERHEAD}", None if d is None else d <= MAX_DBT_OVERHEAD)
    o = derived.get("orchestration_overhead")
    add(
        "orchestration overhead",
        None if o is None else f"{o:.0%}",
        f"≤ {MAX_ORCH_OVERHEAD:.0%}",
        None if o is None else o <= MAX_ORCH_OVERHEAD,
        "Airflow transform_warehouse" if "orchestration_overhead_airflow" in derived else "process per step",
    )
    i = derived.get("incremental_over_full")
    add(
        "dbt: incremental day ÷ full build",
        None if i is None else f"{i:.1%}",
        f"≤ {MAX_DAILY_SHARE:.0%}",
        None if i is None else i <= MAX_DAILY_SHARE,
    )
    g = derived.get("growth_time_per_row")
    add(
        "growth (time ratio ÷ rows ratio)",
        g,
        "≤ 1.0 (linear)",
        None if g is None else g <= 1.0,
        f"vs SF {derived.get('growth_vs')}" if g is not None else "needs an earlier smaller-scale result",
    )
    return t


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:,.3f}" if abs(v) < 10 else f"{v:,.1f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def render(doc: dict[str, Any]) -> str:
    lines = [
        f"SF {doc['scale']['name']}: {doc['scale']['shops']} shops × {doc['scale']['days']} days × "
        f"{doc['scale']['orders_per_shop_day']:,} orders/shop/day ({doc['derived']['orders']:,} orders, "
        f"{doc['derived']['rows_landed']:,} rows landed) on {doc['machine']['cpus']} CPUs, "
        f"{doc['machine']['mem_gb']} GB",
        f"{'step':<22}{'wall s':>10}{'own s':>10}{'peak RSS MB':>13}{'rows':>12}{'rows/s':>12}",
    ]
    for name, s in doc["steps"].items():
        rows = s["result"].get("rows")
        rps = rows / s["wall_s"] if rows and s["wall_s"] else None
        lines.append(
            f"{name:<22}{_fmt(s['wall_s']):>10}{_fmt(s['result'].get('own_s')):>10}"
            f"{_fmt(s['peak_rss_mb']):>13}{_fmt(rows):>12}{_fmt(rps):>12}"
        )
    d = doc["derived"]
    lines.append(
        f"{'whole pipeline':<22}{_fmt(d['total_wall_s']):>10}{'':>10}{_fmt(d['total_peak_rss_mb']):>13}"
        f"{_fmt(d['rows_landed']):>12}{_fmt(d['rows_per_s_total']):>12}"
    )
    rl = d["extract_rate_limited"]
    if rl.get("qps") is not None:
        lines.append(
            f"rate-limited extraction: {_fmt(rl['records_per_s'])} records/s, {_fmt(rl['requests_per_s'])} "
            f"req/s at qps {rl['qps']:g}, latency {rl['latency_ms']} ms"
        )
    for i, p in enumerate((d.get("extract_api_day") or {}).get("passes") or [], 1):
        lines.append(
            f"API day {d['extract_api_day']['day']} pass {i}: {_fmt(p['requests'])} requests for "
            f"{_fmt(p['orders'])} orders ({_fmt(p['requests_per_order'])} per order), QPS utilisation "
            f"{_fmt(p['qps_utilisation'])}"
        )
    lines.append(
        "ratios: "
        + ", ".join(
            f"{k} {_fmt(d.get(k))}"
            for k in (
                "dbt_overhead",
                "dbt_overhead_execution",
                "dbt_fixed_s",
                "orchestration_overhead_process",
                "orchestration_overhead_airflow",
                "incremental_over_full",
                "growth_time_per_row",
            )
            if k in d
        )
    )
    lines.append(f"dbt profile: {doc['dbt_settings']}")
    lines.append("targets:")
    for t in doc["targets"]:
        mark = {True: "✓", False: "✗", None: "?"}[t["ok"]]
        lines.append(
            f"  {mark} {t['target']}: {_fmt(t['value'])} (target {t['limit']}){'  — ' + t['note'] if t['note'] else ''}"
        )
    return "\n".join(lines)


def _latest_prior(scale: scales.Scale, results_dir: Path) -> dict | None:
    """The newest result of the next smaller pipeline scale (growth ratio), if one exists."""
    order = ["0.1", "1", "10", "100"]  # the smoke scale is all fixed cost: no growth from it
    smaller = order[: order.index(scale.name)] if scale.name in order else []
    for name in reversed(smaller):
        found = sorted(results_dir.glob(f"{name}-*.json"))
        if found:
            return json.loads(found[-1].read_text(encoding="utf-8"))
    return None


def machine() -> dict[str, Any]:
    import psutil

    return {
        "cpus": os.cpu_count(),
        "mem_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": sys.version.split()[0],
        "load_avg_start": [round(x, 2) for x in os.getloadavg()],
    }


def run(
    sf: str,
    *,
    work: Path | None = None,
    world: Path | None = None,
    results_dir: Path = RESULTS_DIR,
    qps: float = 50.0,
    latency_ms: int = 50,
    workers: int = 4,
    airflow: bool = True,
    keep: bool = False,
    rate_entities: tuple[str, ...] = ("shop_order",),
    land: str | None = None,
    land_workers: int = 2,
    generate_only: bool = False,
    resume: bool = False,
    until: str | None = None,
    api_day: bool = False,
    rate_limited: bool = True,
    skip: tuple[str, ...] = (),
    incr_land: str = "api",
) -> dict[str, Any]:
    """Run the benchmark at scale ``sf``; return the result document (also written as JSON).

    ``land``: ``api`` extracts the history through the mock Open API and the file drops (the daily
    path); ``direct`` lands it straight from the world through the landing writer (no HTTP; default
    from SF10 up, where extracting a year through HTTP would take hours). The last day is extracted
    through the mock either way.

    ``resume`` (with ``work``): steps already measured in ``work`` (``steps/<step>.measure.json``) are
    reused with their figures, the rest run (e.g. after ``until`` stopped the run after a step).

    ``skip``: optional steps not to run (``dbt_direct``, ``airflow_transform``, ``extract_rate_limited``,
    ``extract_api_day``); the figures that need them are reported as missing, never estimated."""
    from bench.dbt_direct import profile_settings

    scale = scales.get(sf)
    land = land or ("direct" if scale.expected_orders >= 1_000_000 else "api")
    if land not in ("api", "direct"):
        raise ValueError(f"land must be 'api' or 'direct', not {land!r}")
    if unknown := set(skip) - set(OPTIONAL_STEPS):
        raise ValueError(f"cannot skip {sorted(unknown)}: only the optional steps {OPTIONAL_STEPS} can be skipped")
    own_work = work is None
    work = Path(work or tempfile.mkdtemp(prefix=f"douyin-bench-{scale.name}-"))
    work.mkdir(parents=True, exist_ok=True)
    world = Path(world) if world else work / "world"
    start = scale.start
    full_end = start + timedelta(days=scale.days - 2)
    incr_day = start + timedelta(days=scale.days - 1)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    ctx: dict[str, Any] = {
        "world": str(world),
        "work": str(work),
        "seed": scale.seed,
        "start": start.isoformat(),
        "days": scale.days,
        "shops": scale.shops,
        "orders_per_day": scale.orders_per_day,
        "reuse_world": world != work / "world",
        "full_start": start.isoformat(),
        "full_end": full_end.isoformat(),
        "incr_day": incr_day.isoformat(),
        "run_id": f"bench_full_{scale.name}_{stamp}".replace(".", "_"),
        "incr_run_id": f"bench_incr_{scale.name}_{stamp}".replace(".", "_"),
        "qps": qps,
        "latency_ms": latency_ms,
        "workers": workers,
        "rate_entities": list(rate_entities),
        "land": land,
        "land_workers": land_workers,
        "incr_land": incr_land,
    }
    saved = work / "bench-run.json"
    if resume and saved.exists():  # the interrupted run's identity: its run ids and timestamp
        prev = json.loads(saved.read_text(encoding="utf-8"))
        ctx, stamp = {**prev["ctx"], "incr_land": incr_land}, prev["stamp"]
    else:
        saved.write_text(json.dumps({"ctx": ctx, "stamp": stamp}, default=str), encoding="utf-8")
    steps_dir = work / "steps"
    measures: dict[str, StepMeasure] = {}
    doc: dict[str, Any] = {"scale": scale.to_dict(), "machine": machine(), "started_at": stamp, "work": str(work)}
    try:
        env = bench_env(work, world, None, 100_000, start.isoformat())

        def go(name: str, **extra: Any) -> StepMeasure:
            done = steps_dir / f"{name}.measure.json"
            if resume and done.exists():
                measures[name] = _measure_from_dict(json.loads(done.read_text(encoding="utf-8")))
                print(f"[bench SF {scale.name}] {name}: measured earlier in {work}, reused", flush=True)
                return measures[name]
            print(f"[bench SF {scale.name}] {name} …", flush=True)
            try:
                measures[name] = run_step(name, {**ctx, **extra}, steps_dir, env)
            except Exception:
                doc["steps"] = {k: v.to_dict() for k, v in measures.items()}
                doc["failed_step"] = name
                results_dir.mkdir(parents=True, exist_ok=True)
                (results_dir / f"{scale.name}-{stamp}.partial.json").write_text(
                    json.dumps(doc, indent=1, default=str, ensure_ascii=False), encoding="utf-8"
                )
                raise
            print(
                f"[bench SF {scale.name}] {name}: {measures[name].wall_s:.1f} s, {measures[name].peak_rss_mb:.0f} MB",
                flush=True,
            )
            done.write_text(json.dumps(measures[name].to_dict(), default=str), encoding="utf-8")
            if name == until:
                raise _Stopped(name)
            return measures[name]

        gen = go("generate")
        sidecar = world / GENERATE_RECORD
        if gen.result.get("reused") and sidecar.exists():  # the figures of the run that generated it
            measures["generate"] = _measure_from_dict(json.loads(sidecar.read_text(encoding="utf-8")))
            measures["generate"].result["reused"] = True
        elif not gen.result.get("reused"):
            sidecar.write_text(json.dumps(gen.to_dict(), default=str), encoding="utf-8")
        if generate_only:
            doc["generate"] = measures["generate"].to_dict()
            return doc
        shops = [str(s["shop_id"]) for s in json.loads((world / "world.json").read_text(encoding="utf-8"))["shops"]]
        env = bench_env(work, world, shops, 100_000, start.isoformat())
        if land == "api":
            with MockProcess(world, work / "mock-full", env) as mock:
                go("extract", mock_url=mock.base_url)
            _add_mock(measures["extract"], mock)
        else:
            go("land_history")
        go("landing_gate")
        go("dbt_parse")  # the first parse of a deployment; every later run reuses it (dbt_runner)
        full = go("dbt_full")
        if "dbt_direct" not in skip:
            go("dbt_direct", target_dir=full.result["target_dir"], audit_path=full.result["audit_path"])
        go("mart_gate", audit_path=full.result["audit_path"])
        go("publish", audit_path=full.result["audit_path"])
        if (
            airflow and "airflow_transform" not in skip
        ):  # before the extra day lands: the same range, landed → published, through Airflow
            go("airflow_transform")
        if incr_land == "direct":
            go("extract_incr")
        else:
            with MockProcess(world, work / "mock-incr", env) as mock:
                go("extract_incr", mock_url=mock.base_url)
            _add_mock(measures["extract_incr"], mock)
        go("landing_gate_incr")
        incr = go("dbt_incr")
        go("mart_gate_incr", audit_path=incr.result["audit_path"], since=incr.result.get("tests_since"))
        go("publish_incr", audit_path=incr.result["audit_path"])
        if rate_limited and "extract_rate_limited" not in skip:
            faults = f"latency_ms={latency_ms},qps={qps:g}"
            with MockProcess(world, work / "mock-rate-limited", env, faults=faults) as mock:
                rl = go("extract_rate_limited", mock_url=mock.base_url)
            if rl.result.get("mock") == "separate process" and not rl.result.get("mock_faults"):
                rl.result["mock_faults"] = mock.stats().get("faults")  # the mock's own counters
        if api_day and "extract_api_day" not in skip:
            go("extract_api_day")
        full_rows, incr_rows = _history(measures).result.get("rows"), measures["extract_incr"].result.get("rows")
        for k in (*LANDED_TO_PUBLISHED, "dbt_direct", "airflow_transform"):
            if k in measures:
                measures[k].result.setdefault("rows", full_rows)
        for k in DAILY_LANDED_TO_PUBLISHED:
            measures[k].result.setdefault("rows", incr_rows)
        doc["steps"] = {k: v.to_dict() for k, v in measures.items()}
        prior = _latest_prior(scale, results_dir)
        derived = compute(measures, scale, prior)
        doc["derived"] = derived
        doc["dbt_settings"] = profile_settings()
        doc["targets"] = targets(derived, scale)
        doc["finished_at"] = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        doc["machine"]["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
        results_dir.mkdir(parents=True, exist_ok=True)
        out = results_dir / f"{scale.name}-{stamp}.json"
        tmp = out.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc, indent=1, default=str, ensure_ascii=False), encoding="utf-8")
        tmp.replace(out)
        doc["results_path"] = str(out)
        return doc
    except _Stopped:
        doc["stopped_after"] = until
        doc["steps"] = {k: v.to_dict() for k, v in measures.items()}
        return doc
    finally:
        if own_work and not keep:
            shutil.rmtree(work, ignore_errors=True)


def recompute(path: Path, results_dir: Path = RESULTS_DIR) -> dict[str, Any]:
    """Re-derive ratios and targets of a saved result (e.g. after a smaller scale ran); rewrites the file."""
    from bench.dbt_direct import profile_settings

    doc = json.loads(path.read_text(encoding="utf-8"))
    fields = ("name", "wall_s", "tree_peak_rss_mb", "maxrss_mb", "cpu_user_s", "cpu_sys_s", "returncode", "result")
    measures = {k: StepMeasure(**{f: v[f] for f in fields}) for k, v in doc["steps"].items()}
    scale = scales.get(doc["scale"]["name"])
    prior = _latest_prior(scale, results_dir)
    derived = compute(measures, scale, prior)
    doc["derived"], doc["targets"] = derived, targets(derived, scale)
    doc.setdefault("dbt_settings", profile_settings())
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=1, default=str, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)
    doc["results_path"] = str(path)
    return doc


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sf", default="1", help=f"scale factor: {', '.join(scales.SCALES)} (0.01 = smoke)")
    p.add_argument("--work", type=Path, help="working directory (default: a temp dir, removed afterwards)")
    p.add_argument(
        "--world", type=Path, help="reuse this world directory when its parameters match (else generate it there)"
    )
    p.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    p.add_argument(
        "--qps",
        type=float,
        default=50.0,
        help="mock gateway QPS limit = client DOUYIN_API_QPS for the rate-limited run",
    )
    p.add_argument("--latency-ms", type=int, default=50)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--no-airflow", action="store_true", help="skip landed→published through Airflow")
    p.add_argument(
        "--land",
        choices=("api", "direct"),
        help="how the history lands: api = through the mock Open API and the file drops (default below 1 M "
        "orders), direct = straight from the world through the landing writer (default from SF10)",
    )
    p.add_argument(
        "--incr-land",
        choices=("api", "direct"),
        default="api",
        help="how the extra day lands: api = through the mock Open API (default), direct = the landing writer",
    )
    p.add_argument("--land-workers", type=int, default=2, help="processes for --land direct (default 2 = cores)")
    p.add_argument(
        "--until", metavar="STEP", help="stop after this step (e.g. landing_gate); continue later with --resume"
    )
    p.add_argument(
        "--resume", action="store_true", help="with --work: reuse the steps already measured there, run the rest"
    )
    p.add_argument(
        "--generate-only",
        action="store_true",
        help="only generate the world (into --world) and record the generate step's figures beside it",
    )
    p.add_argument(
        "--no-rate-limited",
        action="store_true",
        help="skip extract_rate_limited (shop_order of the last day under the QPS limit)",
    )
    p.add_argument(
        "--api-day",
        action="store_true",
        help="also extract every API entity of one day under the QPS limit, then rerun it (bench.api_day)",
    )
    p.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=OPTIONAL_STEPS,
        help="do not run this optional step (repeatable); its figures are reported as missing",
    )
    p.add_argument("--keep", action="store_true", help="keep the temp working directory")
    p.add_argument(
        "--profile", type=Path, help="cProfile every step into DIR/<step>.prof/.txt (slows the Python steps)"
    )
    p.add_argument("--recompute", type=Path, help="only re-derive ratios/targets of this saved result and print it")
    args = p.parse_args(argv)
    if args.recompute:
        doc = recompute(args.recompute, args.results_dir)
        print(render(doc))
        print(f"results: {doc['results_path']}")
        return 0
    if args.resume and not args.work:
        p.error("--resume needs --work DIR (the working directory of the run to continue)")
    if args.profile:
        os.environ["BENCH_PROFILE_DIR"] = str(args.profile.resolve())
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    doc = run(
        args.sf,
        work=args.work,
        world=args.world,
        results_dir=args.results_dir,
        qps=args.qps,
        latency_ms=args.latency_ms,
        workers=args.workers,
        airflow=not args.no_airflow,
        keep=args.keep,
        land=args.land,
        land_workers=args.land_workers,
        generate_only=args.generate_only,
        resume=args.resume,
        until=args.until,
        api_day=args.api_day,
        rate_limited=not args.no_rate_limited,
        skip=tuple(args.skip),
        incr_land=args.incr_land,
    )
    if doc.get("stopped_after"):
        print(f"stopped after {doc['stopped_after']}; continue with --resume --work {doc['work']}")
        return 0
    if args.generate_only:
        print(f"world: {args.world or doc['work']} ({json.dumps(doc.get('generate') or {})})")
        return 0
    print(render(doc))
    print(f"results: {doc['results_path']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
