"""The SQL of a finished ``dbt build``, executed directly in one DuckDB connection (the dbt-overhead baseline).

Reads ``<target>/manifest.json``: models in dependency order (views → ``CREATE VIEW``, tables and
incremental models → ``CREATE TABLE … AS <compiled SELECT>``, i.e. the full-refresh shape; ephemeral models
are already inlined as CTEs), then every data test as ``SELECT count(*) FROM (<compiled test>)``. Seeds and
snapshots are copied from the built warehouse and not timed (they are tiny here). Unit tests have no SQL
to replay against data; their count and dbt's time for them are reported separately.

Runs in a fresh database file with the same name as the audit copy (compiled SQL names the catalog) and
the same settings as the dbt profile (threads, memory_limit, TimeZone, preserve_insertion_order).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

import duckdb
import yaml

from douyin_etl import config
from douyin_etl.buyer_key import dbt_env
from douyin_etl.warehousing.buyer_key_plugin import set_session

_ENV_VAR = re.compile(r"\{\{\s*env_var\(\s*'([^']+)'\s*(?:,\s*'([^']*)'\s*)?\)\s*(?:\|\s*int\s*)?\}\}")


def profile_settings(profiles: Path | None = None) -> dict[str, Any]:
    """threads + settings of the dbt profile's default target, env_var() defaults rendered."""
    path = profiles or config.DBT_PROJECT_DIR / "profiles.yml"
    raw = _ENV_VAR.sub(lambda m: os.environ.get(m.group(1), m.group(2) or ""), path.read_text(encoding="utf-8"))
    prof = yaml.safe_load(raw)["douyin"]
    out = prof["outputs"][prof.get("target", "dev")]
    threads = out.get("threads")
    return {"threads": int(threads) if threads is not None else None, **(out.get("settings") or {})}


def _order(nodes: dict[str, dict]) -> list[str]:
    """Kahn's topological order over the given nodes (dependencies outside ``nodes`` ignored)."""
    deps = {k: [d for d in v.get("depends_on", {}).get("nodes", []) if d in nodes] for k, v in nodes.items()}
    done: list[str] = []
    seen: set[str] = set()
    while len(done) < len(nodes):
        ready = sorted(k for k in nodes if k not in seen and all(d in seen for d in deps[k]))
        if not ready:
            raise RuntimeError(f"dependency cycle among {sorted(set(nodes) - seen)}")
        done.extend(ready)
        seen.update(ready)
    return done


def _compiled(node: dict, target: Path) -> str:
    code = node.get("compiled_code")
    if code:
        return code
    p = target / "compiled" / node["package_name"] / node["original_file_path"]
    if node["resource_type"] == "test" and not p.exists():
        p = target / "compiled" / node["package_name"] / node["original_file_path"] / node["path"]
    return p.read_text(encoding="utf-8")


def _schema_of(relation: str) -> str:
    return relation.rsplit(".", 1)[0]


def run_direct(target: Path, built_db: Path, work: Path) -> dict[str, Any]:
    """Replay ``target``'s compiled SQL; return timings (``models_s``, ``tests_s``, ``own_s``) and counts."""
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    run_results = json.loads((target / "run_results.json").read_text(encoding="utf-8"))
    executed = {r["unique_id"]: r for r in run_results.get("results", [])}
    nodes = {k: v for k, v in manifest["nodes"].items() if k in executed}
    buildable = {k: v for k, v in nodes.items() if v["resource_type"] in ("model", "seed", "snapshot")}
    tests = {k: v for k, v in nodes.items() if v["resource_type"] == "test"}
    unit_tests = [k for k in executed if k.startswith("unit_test.")]
    settings = profile_settings()

    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    db = work / built_db.name
    con = duckdb.connect(str(db))
    timings: dict[str, float] = {}
    try:
        for k, v in settings.items():
            if v is not None:
                con.execute(f"SET {k} = {v!r}" if isinstance(v, str) else f"SET {k} = {v}")
        set_session(con, dbt_env())  # the buyer-key pads as session variables, as dbt's plugin sets them
        con.execute(f"ATTACH '{built_db}' AS bench_built (READ_ONLY)")
        schemas = sorted({_schema_of(v["relation_name"]) for v in buildable.values() if v.get("relation_name")})
        for s in schemas:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {s}")
        t_models = 0.0
        copied = 0
        for uid in _order(buildable):
            node = buildable[uid]
            rel = node.get("relation_name")
            mat = node.get("config", {}).get("materialized")
            if not rel or mat == "ephemeral":
                continue
            if node["resource_type"] in ("seed", "snapshot"):
                src = rel.split(".", 1)[1]
                con.execute(f"CREATE OR REPLACE TABLE {rel} AS SELECT * FROM bench_built.{src}")
                copied += 1
                continue
            sql = _compiled(node, target).strip().rstrip(";")
            ddl = (
                f"CREATE OR REPLACE VIEW {rel} AS {sql}" if mat == "view" else f"CREATE OR REPLACE TABLE {rel} AS {sql}"
            )
            t0 = time.perf_counter()
            con.execute(ddl)
            dt = time.perf_counter() - t0
            timings[uid] = dt
            t_models += dt
        t_tests = 0.0
        failing = 0
        for uid in sorted(tests):
            sql = _compiled(tests[uid], target).strip().rstrip(";")
            t0 = time.perf_counter()
            n = con.execute(f"SELECT count(*) FROM ({sql}) AS bench_t").fetchone()[0]
            dt = time.perf_counter() - t0
            timings[uid] = dt
            t_tests += dt
            failing += int(bool(n))
        con.execute("CHECKPOINT")
    finally:
        con.close()
        shutil.rmtree(work, ignore_errors=True)
    dbt_model_s = sum(float(executed[k].get("execution_time") or 0) for k in executed if k.startswith("model."))
    dbt_test_s = sum(float(executed[k].get("execution_time") or 0) for k in executed if k.startswith("test."))
    dbt_unit_s = sum(float(executed[k].get("execution_time") or 0) for k in unit_tests)
    slowest = sorted(((float(r.get("execution_time") or 0), k) for k, r in executed.items()), reverse=True)[:8]
    return {
        "own_s": t_models + t_tests,
        "models_s": round(t_models, 3),
        "tests_s": round(t_tests, 3),
        "models": sum(1 for k in timings if k.startswith("model.")),
        "tests": len(tests),
        "tests_with_rows": failing,
        "seeds_snapshots_copied": copied,
        "unit_tests_skipped": len(unit_tests),
        "dbt_node_seconds": {
            "models": round(dbt_model_s, 3),
            "tests": round(dbt_test_s, 3),
            "unit_tests": round(dbt_unit_s, 3),
        },
        "dbt_elapsed_s": run_results.get("elapsed_time"),
        "settings": settings,
        "slowest_dbt_nodes": [{"node": k, "seconds": round(s, 3)} for s, k in slowest],
        "slowest_direct": [
            {"node": k, "seconds": round(s, 3)} for k, s in sorted(timings.items(), key=lambda kv: -kv[1])[:8]
        ],
    }
