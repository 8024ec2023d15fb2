"""Precision and recall of the reconciliation's flagged discrepancies against the world's truth.

A world with every quirk and natural discrepancy on (the default ``Behaviour``: late but not overdue
settlements, 1-fen rounding, fee-rate changes, campaigns, adjustments…) is generated, landed straight
into a lake (``bench.land``), built with ``dbt build`` (the product's runner) and
``finance.fin_order_reconciliation`` compared with ``truth/reconciliation.parquet``:

- a line is *flagged* when the mart's status is ``discrepancy``; it is a true positive when the truth
  has a discrepancy of the same reason (an injected anomaly: truth/anomalies.csv);
- precision = TP / flagged, recall = TP / truth discrepancies; the natural discrepancies the world made
  (``natural_kind``) and how many of them the mart flagged (false alarms) are listed apart.

    python -m bench.recon_quality --days 30 --shops 2 --orders-per-day 100 --out /tmp/recon-bench

Prints the figures (and writes ``<out>/recon_quality.json``). Nothing is asserted: the tests do that
(tests/dbt/test_quirks_truth.py) on the CI world.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import time
from collections import Counter
from datetime import date
from pathlib import Path

import duckdb

log = logging.getLogger(__name__)


def measure(world: Path, db: Path) -> dict:
    """The reconciliation's figures against the truth (see the module docstring)."""
    truth = {
        k: (s, r, n)
        for k, s, r, n in duckdb.sql(
            f"select sku_order_id, status, reason, natural_kind from '{world}/truth/reconciliation.parquet'"
        ).fetchall()
    }
    con = duckdb.connect(str(db), read_only=True)
    try:
        mart = {
            k: (s, r)
            for k, s, r in con.execute(
                "select sku_order_id, status, reason from finance.fin_order_reconciliation"
            ).fetchall()
        }
    finally:
        con.close()
    flagged = {k: r for k, (s, r) in mart.items() if s == "discrepancy"}
    real = {k: r for k, (s, r, _) in truth.items() if s == "discrepancy"}
    tp = sum(1 for k, r in flagged.items() if real.get(k) == r)
    natural = {k: n for k, (_, _, n) in truth.items() if n}
    false_alarms = Counter(natural[k] for k in natural if k in flagged)
    return {
        "lines": len(truth),
        "lines_in_mart": len(mart),
        "flagged": len(flagged),
        "truth_discrepancies": len(real),
        "true_positives": tp,
        "precision": round(tp / len(flagged), 4) if flagged else 1.0,
        "recall": round(tp / len(real), 4) if real else 1.0,
        "flagged_by_reason": dict(sorted(Counter(flagged.values()).items())),
        "truth_by_reason": dict(sorted(Counter(real.values()).items())),
        "natural_discrepancies": dict(sorted(Counter(natural.values()).items())),
        "natural_flagged": dict(sorted(false_alarms.items())),
        "status_mismatches": sum(1 for k in truth if mart.get(k, (None,))[0] != truth[k][0]),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--shops", type=int, default=2)
    p.add_argument("--orders-per-day", type=int, default=100)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--start", type=date.fromisoformat, default=date(2026, 3, 1))
    p.add_argument("--out", type=Path, required=True, help="work directory (world, lake, warehouse)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from bench.land import land_world
    from douyin_etl.warehousing.dbt_runner import run_dbt
    from douyin_sim.simulator import generate_world

    out: Path = args.out
    world, lake, db = out / "world", out / "lake", out / "warehouse.duckdb"
    timings = {}
    t = time.perf_counter()
    generate_world(world, args.seed, args.start, args.days, args.shops, args.orders_per_day)
    timings["generate_s"] = round(time.perf_counter() - t, 1)
    shutil.rmtree(lake, ignore_errors=True)
    os.environ.setdefault("DOUYIN_STATE_DIR", str(out / "state"))
    t = time.perf_counter()
    land_world(world, lake)
    timings["land_s"] = round(time.perf_counter() - t, 1)
    db.unlink(missing_ok=True)
    t = time.perf_counter()
    res = run_dbt(["build"], db_path=db, run_dir=out / "dbt", extra_env={"DOUYIN_LAKE_DIR": str(lake)})
    timings["dbt_build_s"] = round(time.perf_counter() - t, 1)
    if not res.ok:
        log.warning("dbt build failed (figures still measured): %s", [f.get("unique_id") for f in res.failures][:5])
    figures = {
        "world": {"days": args.days, "shops": args.shops, "orders_per_day": args.orders_per_day, "seed": args.seed},
        "dbt_ok": res.ok,
        **measure(world, db),
        **timings,
    }
    (out / "recon_quality.json").write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(figures, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
