"""``python -m bench.tables [RESULT.json …]``: the Markdown tables of ``docs/performance.md`` from results.

Default: the newest ``bench/results/<scale>-*.json`` of each pipeline scale (as ``bench.chart``). Prints
the scales, the full rebuild and the daily run (landed → published) per scale, every step per scale,
and the issue's targets, so the document's figures are regenerated, not retyped.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bench.chart import newest_results

STEP_ORDER = (
    "generate",
    "extract",
    "land_history",
    "landing_gate",
    "dbt_full",
    "dbt_direct",
    "mart_gate",
    "publish",
    "extract_incr",
    "landing_gate_incr",
    "dbt_incr",
    "mart_gate_incr",
    "publish_incr",
    "extract_rate_limited",
    "extract_api_day",
)


def _n(v: Any, digits: int = 1) -> str:
    if v is None:
        return "–"
    if isinstance(v, int):
        return f"{v:,}"
    return f"{v:,.{digits}f}"


def _s(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    return f"{seconds:,.1f} s" if seconds < 120 else f"{seconds / 60:,.1f} min"


def _gb(mb: float | None) -> str:
    return "–" if mb is None else (f"{mb / 1024:,.2f} GB" if mb >= 1024 else f"{mb:,.0f} MB")


def tables(docs: list[dict[str, Any]]) -> str:
    out: list[str] = []
    head = "| | " + " | ".join(f"SF{d['scale']['name']}" for d in docs) + " |"
    sep = "| --- |" + " ---: |" * len(docs)

    def row(label: str, fn) -> str:
        return f"| {label} | " + " | ".join(fn(d) for d in docs) + " |"

    out += [
        "### Landed → published",
        "",
        head,
        sep,
        row("orders", lambda d: _n(d["derived"]["orders"])),
        row("rows landed", lambda d: _n(d["derived"]["rows_landed"])),
        row("history landed by", lambda d: "mock API" if "extract" in d["steps"] else "landing writer"),
        row("**full rebuild**: time", lambda d: _s(d["derived"]["landed_to_published_wall_s"])),
        row("full rebuild: peak RSS", lambda d: _gb(d["derived"]["landed_to_published_peak_rss_mb"])),
        row("— of which landing gate", lambda d: _s(d["steps"]["landing_gate"]["wall_s"])),
        row("— of which dbt build", lambda d: _s(d["steps"]["dbt_full"]["wall_s"])),
        row("**one more day**: time", lambda d: _s(d["derived"].get("daily_landed_to_published_wall_s"))),
        row(
            "one more day: until readers have it",
            lambda d: _s(d["derived"].get("daily_landed_to_visible_wall_s")),
        ),
        row("one more day: peak RSS", lambda d: _gb(d["derived"].get("daily_landed_to_published_peak_rss_mb"))),
        row(
            "one more day ÷ full rebuild",
            lambda d: (
                f"{d['derived']['daily_over_full']:.0%}" if d["derived"].get("daily_over_full") is not None else "–"
            ),
        ),
        row("dbt overhead (build ÷ same SQL direct)", lambda d: _n(d["derived"].get("dbt_overhead"), 2)),
        row("published file after the full build", lambda d: _gb(d["derived"].get("warehouse_mb_full"))),
        row("published file after one more day", lambda d: _gb(d["derived"].get("warehouse_mb_after_daily"))),
        "",
    ]
    out += ["### Every step (wall time / peak RSS)", "", head, sep]
    for name in STEP_ORDER:
        if any(name in d["steps"] for d in docs):
            out.append(
                row(
                    f"`{name}`",
                    lambda d, n=name: (
                        f"{_s(d['steps'][n]['wall_s'])} / {_gb(d['steps'][n]['peak_rss_mb'])}"
                        if n in d["steps"]
                        else "–"
                    ),
                )
            )
    out.append("")
    out += ["### Targets", "", "| scale | target | measured | limit | met |", "| --- | --- | ---: | --- | :---: |"]
    for d in docs:
        for t in d["targets"]:
            mark = {True: "✓", False: "✗", None: "?"}[t["ok"]]
            out.append(
                f"| SF{d['scale']['name']} | {t['target']} | {t['value'] if t['value'] is not None else '–'} "
                f"| {t['limit']} | {mark} |"
            )
    out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("results", nargs="*", type=Path)
    args = p.parse_args(argv)
    paths = args.results or newest_results()
    if not paths:
        p.error("no benchmark results: run `make bench SF=…` first")
    docs = sorted((json.loads(x.read_text(encoding="utf-8")) for x in paths), key=lambda d: d["derived"]["orders"])
    print(tables(docs))  # noqa: T201 - the tables are this tool's output
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
