"""Growth between two benchmark results and the SF100 extrapolation from them.

``python -m bench.compare bench/results/0.1-….json bench/results/1-….json`` prints, per step, the time
ratio, the rows ratio and their quotient (≤ 1.0 = no worse than linear), then a fixed + per-order fit
through the two points extrapolated to SF100 (2 × 365 × 15,000 orders).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bench import scales

STEP_KEYS = ("generate", "extract", "landing_gate", "dbt_full", "mart_gate", "publish", "extract_incr", "dbt_incr")


def growth(small: dict[str, Any], big: dict[str, Any]) -> dict[str, Any]:
    """Per-step and whole-pipeline growth of ``big`` over ``small``, and the SF100 extrapolation."""
    n0, n1 = small["derived"]["orders"], big["derived"]["orders"]
    rows = n1 / n0
    target = scales.SCALES["100"].expected_orders
    out: dict[str, Any] = {
        "from": small["scale"]["name"],
        "to": big["scale"]["name"],
        "orders_ratio": round(rows, 2),
        "steps": {},
    }

    def line(a: float, b: float) -> dict[str, Any]:
        slope = (b - a) / (n1 - n0) if n1 != n0 else 0.0
        fixed = a - slope * n0
        return {
            "small": round(a, 2),
            "big": round(b, 2),
            "time_ratio": round(b / a, 3) if a else None,
            "per_row_ratio": round(b / a / rows, 3) if a else None,
            "fixed_s": round(fixed, 2),
            "per_million_orders_s": round(slope * 1e6, 2),
            "sf100_s": round(fixed + slope * target, 1),
        }

    for k in STEP_KEYS:
        if k in small["steps"] and k in big["steps"]:
            out["steps"][k] = line(small["steps"][k]["wall_s"], big["steps"][k]["wall_s"])
    out["whole"] = line(small["derived"]["total_wall_s"], big["derived"]["total_wall_s"])
    out["landed_to_published"] = line(
        small["derived"]["landed_to_published_wall_s"], big["derived"]["landed_to_published_wall_s"]
    )
    key = "landed_to_published_peak_rss_mb"  # the SF100 RSS target's scope; older results: the whole pipeline
    if key not in small["derived"] or key not in big["derived"]:
        key = "total_peak_rss_mb"
    out["peak_rss_mb"] = line(small["derived"][key], big["derived"][key])
    out["peak_rss_scope"] = key
    return out


def render(g: dict[str, Any]) -> str:
    lines = [
        f"growth SF {g['from']} → SF {g['to']} (orders × {g['orders_ratio']})",
        f"{'step':<22}{'small s':>10}{'big s':>10}{'time ×':>9}{'÷ rows ×':>10}{'fixed s':>10}{'s/M orders':>12}{'SF100 s':>10}",
    ]
    rows = [
        *g["steps"].items(),
        ("whole pipeline", g["whole"]),
        ("landed→published", g["landed_to_published"]),
        (f"peak RSS MB ({'l→p' if g['peak_rss_scope'].startswith('landed') else 'all'})", g["peak_rss_mb"]),
    ]
    for k, v in rows:
        lines.append(
            f"{k:<22}{v['small']:>10,.1f}{v['big']:>10,.1f}{v['time_ratio'] or 0:>9.2f}"
            f"{v['per_row_ratio'] or 0:>10.2f}{v['fixed_s']:>10,.1f}{v['per_million_orders_s']:>12,.1f}"
            f"{v['sf100_s']:>10,.0f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("small", type=Path)
    p.add_argument("big", type=Path)
    p.add_argument("--json", action="store_true", help="print JSON instead of the table")
    a = p.parse_args(argv)
    g = growth(json.loads(a.small.read_text(encoding="utf-8")), json.loads(a.big.read_text(encoding="utf-8")))
    print(json.dumps(g, indent=1) if a.json else render(g))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
