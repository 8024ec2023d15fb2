"""Read-only SQL on the published warehouse (what `douyin-etl query` runs)."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb

from douyin_etl import config


class WarehouseMissing(FileNotFoundError):
    pass


def connect_read_only(path: Path | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published warehouse. Never takes the writer's lock."""
    path = path or config.warehouse_path()
    if not path.exists():
        raise WarehouseMissing(
            f"no published warehouse at {path}; run `make demo` or `douyin-etl run --start … --end …` first "
            "(or set DOUYIN_WAREHOUSE)"
        )
    return duckdb.connect(str(path), read_only=True)


def run_query(sql: str, path: Path | None = None) -> tuple[list[str], list[tuple]]:
    con = connect_read_only(path)
    try:
        cur = con.execute(sql)
        columns = [d[0] for d in cur.description] if cur.description else []
        return columns, cur.fetchall()
    finally:
        con.close()


def _plain(v):
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, (date, datetime)):
        return v.isoformat()
    return v


def render(columns: list[str], rows: list[tuple], fmt: str = "table", max_rows: int = 200) -> str:
    if fmt == "json":
        return json.dumps([{c: _plain(v) for c, v in zip(columns, r)} for r in rows], ensure_ascii=False, indent=1)
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(columns)
        w.writerows([[_plain(v) for v in r] for r in rows])
        return buf.getvalue()
    shown = rows[:max_rows]
    cells = [[("" if v is None else str(_plain(v))) for v in r] for r in shown]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = [" | ".join(c.ljust(w) for c, w in zip(columns, widths)), "-+-".join("-" * w for w in widths)]
    lines += [" | ".join(v.rjust(w) if v.replace(".", "", 1).lstrip("-").isdigit() else v.ljust(w)
                         for v, w in zip(r, widths)) for r in cells]
    if len(rows) > max_rows:
        lines.append(f"… {len(rows) - max_rows} more rows (use --format csv to get all)")
    lines.append(f"({len(rows)} rows)")
    return "\n".join(lines)
