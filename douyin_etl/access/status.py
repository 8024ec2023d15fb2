"""``douyin-etl status``: recent runs, the published warehouse's version, freshness per mart. Read-only.

    st = collect_status()          # dict, JSON-serialisable
    print(render_status(st))       # the human summary

Runs come from ``<state_dir>/runs/*/report.json`` (written by ``douyin_etl.warehousing.report``); the
version from ``douyin.version.json`` beside the warehouse (``wap.read_version``), falling back to the
warehouse's own ``_meta.publish_log``; freshness is the max business date and row count of every
mart table (schemas sales, finance, inventory, performance), read through a READ_ONLY attach.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from douyin_etl import config
from douyin_etl.access.catalog import BUSINESS_DATE_COLUMNS, NO_FRESHNESS, SCHEMA_ORDER
from douyin_etl.access.query import connect_read_only
from douyin_etl.sqlrow import one_row

log = logging.getLogger(__name__)


def _duration(started: str | None, finished: str | None) -> float | None:
    try:
        return round((datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds(), 1)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _gate_summary(gates: dict[str, Any]) -> dict[str, str]:
    out = {}
    for name, g in (gates or {}).items():
        checks = g.get("checks") or []
        failing = sum(1 for c in checks if not c.get("success"))
        out[name] = ("ok" if g.get("ok") else "blocked") + (
            f" ({failing}/{len(checks)} failing)" if failing else f" ({len(checks)} checks)"
        )
    return out


def recent_runs(state_dir: Path | None = None, limit: int = 10) -> list[dict[str, Any]]:
    """The newest ``limit`` run reports, newest first (unreadable reports are listed with the error)."""
    runs_dir = Path(state_dir or config.state_dir()) / "runs"
    out: list[dict[str, Any]] = []
    for report in runs_dir.glob("*/report.json"):
        try:
            d = json.loads(report.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            out.append(
                {
                    "run_id": report.parent.name,
                    "status": "unreadable",
                    "error": str(exc),
                    "started_at": "",
                    "report": str(report),
                }
            )
            continue
        out.append(
            {
                "run_id": d.get("run_id", report.parent.name),
                "interval": f"{d.get('interval_start')}..{d.get('interval_end')}",
                "status": d.get("status"),
                "started_at": d.get("started_at") or "",
                "finished_at": d.get("finished_at"),
                "seconds": _duration(d.get("started_at"), d.get("finished_at")),
                "gates": _gate_summary(d.get("gates") or {}),
                "published": bool(d.get("published_path")) or d.get("status") == "published",
                "errors": len(d.get("errors") or []),
                "report": str(report.with_name("report.html")),
            }
        )
    out.sort(key=lambda r: (r.get("started_at") or "", r["run_id"]), reverse=True)
    return out[:limit]


def _meta_version(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    try:
        row = con.execute(
            "SELECT run_id, CAST(published_at AS VARCHAR) FROM wh._meta.publish_log ORDER BY published_at DESC LIMIT 1"
        ).fetchone()
    except duckdb.Error:
        return None
    return {"run_id": row[0], "published_at": row[1]} if row else None


def freshness(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Per mart table: rows and the max of its business-date column (catalog.BUSINESS_DATE_COLUMNS)."""
    schemas = ", ".join(f"'{s}'" for s in SCHEMA_ORDER)
    cols = con.execute(
        "SELECT table_schema, table_name, column_name FROM information_schema.columns "
        f"WHERE table_catalog = 'wh' AND table_schema IN ({schemas}) AND data_type = 'DATE'"
    ).fetchall()
    tables = con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        f"WHERE table_catalog = 'wh' AND table_schema IN ({schemas})"
    ).fetchall()
    dates: dict[tuple[str, str], set[str]] = {}
    for s, t, c in cols:
        dates.setdefault((s, t), set()).add(c)
    rank = {s: i for i, s in enumerate(SCHEMA_ORDER)}
    out = []
    for s, t in sorted(tables, key=lambda x: (rank.get(x[0], 99), x[1])):
        col = (
            None if t in NO_FRESHNESS else next((c for c in BUSINESS_DATE_COLUMNS if c in dates.get((s, t), ())), None)
        )
        if col:
            rows, latest = one_row(con, f'SELECT count(*), max("{col}") FROM wh."{s}"."{t}"')
        else:
            rows, latest = one_row(con, f'SELECT count(*) FROM wh."{s}"."{t}"')[0], None
        out.append(
            {
                "table": f"{s}.{t}",
                "rows": int(rows),
                "date_column": col,
                "max_date": latest.isoformat() if latest else None,
            }
        )
    return out


def collect_status(*, warehouse: Path | None = None, state_dir: Path | None = None, limit: int = 10) -> dict[str, Any]:
    from douyin_etl.warehousing.wap import read_version

    warehouse = Path(warehouse or config.warehouse_path())
    st: dict[str, Any] = {
        "warehouse": str(warehouse),
        "published": warehouse.exists(),
        "runs": recent_runs(state_dir, limit),
        "version": None,
        "marts": [],
    }
    if not warehouse.exists():
        return st
    version = dict(read_version(warehouse) or {})
    version.setdefault("size", warehouse.stat().st_size)
    try:
        con = connect_read_only(warehouse, alias="wh")
    except duckdb.Error as exc:
        st["error"] = f"could not read {warehouse}: {exc}"
        version["path"] = str(warehouse)
        st["version"] = version
        return st
    try:
        if "run_id" not in version:
            version.update(_meta_version(con) or {})
        st["marts"] = freshness(con)
    except duckdb.Error as exc:
        st["error"] = f"could not read {warehouse}: {exc}"
    finally:
        con.close()
    version["path"] = str(warehouse)
    st["version"] = version
    return st


def _fmt_size(n: int | None) -> str:
    if n is None:
        return "?"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def render_status(st: dict[str, Any]) -> str:
    lines = ["Recent runs (newest first):"]
    if not st["runs"]:
        lines.append(
            "  none yet (no report.json under <state_dir>/runs); start one with `douyin-etl run --start … --end …`"
        )
    for r in st["runs"]:
        gates = ", ".join(f"{k}: {v}" for k, v in r.get("gates", {}).items()) or "no gates"
        secs = f"{r['seconds']:.1f} s" if r.get("seconds") is not None else "—"
        lines.append(
            f"  {r['run_id']:<28} {r.get('interval', ''):<23} {str(r.get('status')):<10} {secs:>9}  "
            f"published={'yes' if r.get('published') else 'no'}  gates: {gates}"
            + (f"  errors={r['errors']}" if r.get("errors") else "")
        )
    lines.append("")
    if not st["published"]:
        lines.append(
            f"Published warehouse: none yet at {st['warehouse']}. Nothing is published until a run passes "
            "its gates: run `douyin-etl run --start YYYY-MM-DD --end YYYY-MM-DD` (or `make demo`)."
        )
        return "\n".join(lines)
    v = st["version"] or {}
    lines.append(f"Published warehouse: {v.get('path')}")
    lines.append(
        f"  run {v.get('run_id', 'unknown')}, published at {v.get('published_at', 'unknown')}, "
        f"{_fmt_size(v.get('size'))}" + (f", sha256 {v['sha256'][:12]}…" if v.get("sha256") else "")
    )
    if v.get("stale_version_file"):
        lines.append(
            f"  (douyin.version.json still names run {v['stale_version_file']}: a publish stopped right after "
            "its rename; the version above is the file's own, the next run rewrites the version file)"
        )
    if st.get("error"):
        lines.append(f"  {st['error']}")
    lines += ["", "Freshness per mart (max business date, rows):"]
    width = max((len(m["table"]) for m in st["marts"]), default=10)
    for m in st["marts"]:
        latest = f"{m['max_date']} ({m['date_column']})" if m["max_date"] else "—"
        lines.append(f"  {m['table']:<{width}}  {latest:<32} {m['rows']:>10,} rows")
    return "\n".join(lines)
