"""``python -m bench.gate_memory --sf 1 --days 10 30``: the landing gate's time and peak RSS against the range.

Generates the scale's world (``bench.scales``; ``--world DIR`` reuses one) and lands it straight into a lake
(``bench.land``, no HTTP: extraction is not what is measured here) in a child process, then runs the landing gate alone
(``bench.child gate_only``: ``run_landing_gate`` over every entity's days of the range, cross-source
checks included) in a child process per range length, measured like every bench step (``bench.measure``:
wall, peak RSS of the process tree); also the process's high-water mark once the per-entity row pass
is done (before the cross-source checks) and how the rows were read (largest batch, rows GX judged). Prints one row per range and writes
``bench/results/gate-<sf>-<UTC timestamp>.json``; each run's checks are kept beside the steps
(``<work>/steps/gate-<N>d.checks.json``) so that two code versions can be compared check for check.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from bench import scales
from bench.measure import run_step
from bench.run import RESULTS_DIR, bench_env, machine

log = logging.getLogger("bench.gate_memory")


def _orders(lake: Path, start: str, end: str) -> int:
    glob = lake / "raw" / "doudian" / "shop_order" / "dt=*" / "*.parquet"
    con = duckdb.connect()
    try:
        return int(
            con.execute(
                f"SELECT count(*) FROM read_parquet('{glob}', hive_partitioning = true) "
                f"WHERE dt BETWEEN DATE '{start}' AND DATE '{end}'"
            ).fetchone()[0]
        )
    finally:
        con.close()


def run(
    sf: str,
    days: list[int],
    *,
    work: Path | None = None,
    world: Path | None = None,
    chunk_rows: int | None = None,
    results_dir: Path = RESULTS_DIR,
    keep: bool = False,
) -> dict[str, Any]:
    scale = scales.get(sf)
    n_days = max(days)
    own_work = work is None
    work = Path(work or tempfile.mkdtemp(prefix=f"douyin-gate-{scale.name}-"))
    world = Path(world) if world else work / "world"
    lake = work / "lake"
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    doc: dict[str, Any] = {
        "kind": "landing_gate_memory",
        "scale": scale.to_dict(),
        "days": days,
        "machine": machine(),
        "started_at": stamp,
        "work": str(work),
        "runs": [],
    }
    try:
        env = bench_env(work, world, None, 100_000, scale.start.isoformat())
        if not lake.exists():  # in a child: a child inherits its parent's RSS high-water mark (Linux ru_maxrss)
            print(
                f"[gate SF {scale.name}] generating {scale.shops} shops × {n_days} days and landing them …", flush=True
            )
            m = run_step(
                "land_world",
                {
                    "world": str(world),
                    "lake": str(lake),
                    "seed": scale.seed,
                    "start": scale.start.isoformat(),
                    "days": n_days,
                    "shops": scale.shops,
                    "orders_per_day": scale.orders_per_day,
                },
                work / "steps" / "land",
                env,
            )
            doc["land_world"] = {"wall_s": m.wall_s, "peak_rss_mb": round(m.peak_rss_mb)}
        shops = [str(s["shop_id"]) for s in json.loads((world / "world.json").read_text(encoding="utf-8"))["shops"]]
        env = bench_env(work, world, shops, 100_000, scale.start.isoformat())
        if chunk_rows:
            env["DOUYIN_GATE_CHUNK_ROWS"] = str(chunk_rows)
        doc["chunk_rows"] = int(env.get("DOUYIN_GATE_CHUNK_ROWS", "100000"))
        for n in sorted(days):
            start, end = scale.start.isoformat(), (scale.start + timedelta(days=n - 1)).isoformat()
            name = f"gate-{n}d"
            checks_out = work / "steps" / f"{name}.checks.json"
            m = run_step(
                "gate_only",
                {"gate_start": start, "gate_end": end, "run_id": f"gate_{n}d_{stamp}", "checks_out": str(checks_out)},
                work / "steps" / name,
                env,
            )
            row = {
                "days": n,
                "orders": _orders(lake, start, end),
                "rows": m.result.get("rows"),
                "wall_s": m.wall_s,
                "own_s": round(m.result.get("own_s", 0.0), 2),
                "peak_rss_mb": round(m.peak_rss_mb),
                "rows_pass_maxrss_mb": m.result.get("rows_pass_maxrss_mb"),
                "largest_batch_rows": m.result.get("largest_batch_rows"),
                "gx_frames": m.result.get("gx_frames"),
                "gx_rows": m.result.get("gx_rows"),
                "checks": m.result.get("checks"),
                "failed": m.result.get("failed"),
                "ok": m.result.get("ok"),
                "checks_file": str(checks_out),
            }
            doc["runs"].append(row)
            print(
                f"[gate SF {scale.name}] {n:>3} days: {row['orders']:>9,} orders, {row['rows']:>10,} rows, "
                f"{row['own_s']:7.1f} s in the gate ({row['wall_s']:.1f} s wall), peak RSS {row['peak_rss_mb']:,} MB "
                f"(after the row pass: {row['rows_pass_maxrss_mb'] or 0:,.0f} MB; largest batch "
                f"{row['largest_batch_rows'] or 0:,} rows; GX judged {row['gx_rows'] or 0:,} rows in "
                f"{row['gx_frames'] or 0} frames), {row['checks']} checks, {row['failed']} failed",
                flush=True,
            )
        doc["machine"]["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
        results_dir.mkdir(parents=True, exist_ok=True)
        out = results_dir / f"gate-{scale.name}-{stamp}.json"
        out.write_text(json.dumps(doc, indent=1, default=str), encoding="utf-8")
        doc["results_path"] = str(out)
        return doc
    finally:
        if own_work and not keep:
            shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sf", default="0.1", help="scale factor (bench.scales): smoke, 0.1, 1, 10, 100")
    p.add_argument("--days", type=int, nargs="+", default=[10, 30], help="range lengths from the world's first day")
    p.add_argument("--work", type=Path, help="working dir (world, lake, step logs); kept, and reused when present")
    p.add_argument("--world", type=Path, help="an already generated world to reuse")
    p.add_argument("--chunk-rows", type=int, help="DOUYIN_GATE_CHUNK_ROWS for the gate")
    p.add_argument("--keep", action="store_true", help="keep the temporary working dir")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    doc = run(a.sf, a.days, work=a.work, world=a.world, chunk_rows=a.chunk_rows, keep=a.keep)
    print(f"results: {doc['results_path']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
