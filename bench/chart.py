"""``python -m bench.chart [RESULT.json …] --out docs/performance.svg``: time and peak memory against orders.

Two log–log panels from benchmark results (default: the newest ``bench/results/<scale>-*.json`` of each
pipeline scale): landed → published seconds and peak RSS, for the full rebuild and for one more day.
Plain SVG written by hand (no plotting dependency), so the chart in ``docs/`` is reproducible anywhere.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path

from bench.run import RESULTS_DIR

log = logging.getLogger("bench.chart")

SCALES = ("0.1", "1", "10", "100")
SERIES = (  # (label, derived key, colour, dashed)
    ("full rebuild", "landed_to_published_wall_s", "#1f5fa8", False),
    ("one more day", "daily_landed_to_published_wall_s", "#d9730d", False),
)
MEMORY = (
    ("full rebuild", "landed_to_published_peak_rss_mb", "#1f5fa8", True),
    ("one more day", "daily_landed_to_published_peak_rss_mb", "#d9730d", True),
)
W, H, PAD_L, PAD_R, PAD_T, PAD_B = 460, 320, 64, 16, 40, 48


@dataclass(frozen=True)
class Point:
    scale: str
    orders: int
    values: dict[str, float]


def newest_results(results_dir: Path = RESULTS_DIR) -> list[Path]:
    found = []
    for name in SCALES:
        runs = sorted(p for p in results_dir.glob(f"{name}-*.json") if not p.name.endswith(".partial.json"))
        if runs:
            found.append(runs[-1])
    return found


def load(paths: list[Path]) -> list[Point]:
    points = []
    for p in paths:
        doc = json.loads(p.read_text(encoding="utf-8"))
        d = doc["derived"]
        keys = [k for _, k, _, _ in (*SERIES, *MEMORY)]
        points.append(Point(doc["scale"]["name"], int(d["orders"]), {k: float(d[k]) for k in keys if d.get(k)}))
    return sorted(points, key=lambda x: x.orders)


def _ticks(lo: float, hi: float) -> list[float]:
    return [10.0**e for e in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)]


def _fmt(v: float, unit: str) -> str:
    return f"{v:,.0f} s" if unit == "s" else f"{v:,.0f} MB"


def panel(points: list[Point], series: tuple, title: str, unit: str, x0: int) -> list[str]:
    xs = [p.orders for p in points]
    ys = [v for p in points for _, k, _, _ in series if (v := p.values.get(k))]
    if not xs or not ys:
        return []
    xt, yt = _ticks(min(xs), max(xs)), _ticks(min(ys), max(ys))
    lx0, lx1, ly0, ly1 = (math.log10(xt[0]), math.log10(xt[-1]), math.log10(yt[0]), math.log10(yt[-1]))

    def sx(v: float) -> float:
        return x0 + PAD_L + (math.log10(v) - lx0) / ((lx1 - lx0) or 1) * (W - PAD_L - PAD_R)

    def sy(v: float) -> float:
        return PAD_T + (ly1 - math.log10(v)) / ((ly1 - ly0) or 1) * (H - PAD_T - PAD_B)

    out = [f'<text x="{x0 + W / 2}" y="22" text-anchor="middle" font-weight="bold">{title}</text>']
    for t in xt:
        out.append(f'<line x1="{sx(t):.1f}" y1="{PAD_T}" x2="{sx(t):.1f}" y2="{H - PAD_B}" stroke="#ddd"/>')
        out.append(f'<text x="{sx(t):.1f}" y="{H - PAD_B + 16}" text-anchor="middle">{t:,.0f}</text>')
    for t in yt:
        out.append(f'<line x1="{x0 + PAD_L}" y1="{sy(t):.1f}" x2="{x0 + W - PAD_R}" y2="{sy(t):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{x0 + PAD_L - 6}" y="{sy(t) + 4:.1f}" text-anchor="end">{_fmt(t, unit)}</text>')
    out.append(f'<text x="{x0 + W / 2}" y="{H - 10}" text-anchor="middle">orders (log scale)</text>')
    for i, (label, key, colour, _) in enumerate(series):
        pts = [(sx(p.orders), sy(p.values[key]), p) for p in points if p.values.get(key)]
        if not pts:
            continue
        out.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="'
            + " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in pts)
            + '"/>'
        )
        for x, y, p in pts:
            out.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}"><title>SF {p.scale}: '
                f"{_fmt(round(p.values[key], 1), unit)}</title></circle>"
            )
        ly = PAD_T + 8 + 16 * i
        out.append(
            f'<rect x="{x0 + PAD_L + 10}" y="{ly - 8}" width="12" height="4" fill="{colour}"/>'
            f'<text x="{x0 + PAD_L + 28}" y="{ly - 3}">{label}</text>'
        )
    return out


def render(points: list[Point]) -> str:
    body = [
        *panel(points, SERIES, "landed → published, wall time", "s", 0),
        *panel(points, MEMORY, "landed → published, peak RSS", "mb", W),
    ]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * W}" height="{H}" viewBox="0 0 {2 * W} {H}" '
        f'font-family="sans-serif" font-size="11">\n<rect width="100%" height="100%" fill="white"/>\n'
        + "\n".join(body)
        + "\n</svg>\n"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("results", nargs="*", type=Path, help="result JSON files (default: newest per scale)")
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "docs" / "performance.svg")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    paths: list[Path] = args.results or newest_results()
    if not paths:
        p.error(f"no results in {RESULTS_DIR}: run `make bench SF=…` first")
    points = load(paths)
    args.out.write_text(render(points), encoding="utf-8")
    log.info("chart of %s -> %s", ", ".join(f"SF {x.scale}" for x in points), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
