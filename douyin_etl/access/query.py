"""Read-only SQL on the published warehouse (what `douyin-etl query` runs).

``connect_read_only`` is the one way readers open the published warehouse (query, status, exports, the
dashboard): a fresh in-memory DuckDB session that ATTACHes the published file READ_ONLY (it never takes
the writer's lock), then turns external access off and locks the configuration. SQL in that session can
read the warehouse's tables and nothing else: no ``COPY … TO`` a file, no ``read_csv``/``read_parquet``
of any file, no ``ATTACH`` of another database, no ``INSTALL``/``LOAD`` of an extension from disk, and
no ``SET`` that would give any of it back. A caller that must write files (exports) names one directory
(``write_dir``); DuckDB then allows files under that directory only.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb

from douyin_etl import config
from douyin_etl.errors import MissingInput, UsageError


class WarehouseMissing(MissingInput):
    """Nothing is published at the warehouse path yet."""


class QueryError(UsageError):
    """The SQL of ``douyin-etl query`` failed (syntax, unknown table, a refused file access …)."""


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def catalog_name(path: Path) -> str:
    """The catalog name a warehouse file gets (its stem, as ``duckdb.connect(path)`` would name it)."""
    return re.sub(r"\W", "_", Path(path).stem) or "warehouse"


def connect_read_only(
    path: Path | None = None,
    *,
    alias: str | None = None,
    write_dir: Path | None = None,
    settings: dict[str, str] | None = None,
) -> duckdb.DuckDBPyConnection:
    """A hardened read-only session on the published warehouse (see the module docstring).

    The warehouse is attached as ``alias`` (default: the file's stem, e.g. ``douyin``) and is the
    session's default catalog, so ``sales.sales_daily`` resolves. ``write_dir``: the one directory
    whose files the session may write and read back (exports); None = no file access at all.
    ``settings``: DuckDB settings to SET before the configuration is locked (e.g. ``TimeZone``).
    """
    path = Path(path or config.warehouse_path())
    if not path.exists():
        raise WarehouseMissing(
            f"no published warehouse at {path}; run `make demo` or `douyin-etl run --start … --end …` first "
            "(or set DOUYIN_WAREHOUSE)"
        )
    alias = alias or catalog_name(path)
    # A new in-memory instance per call (never DuckDB's per-file instance cache): the settings below are
    # global to an instance and must not leak into, or be inherited from, other connections of the process.
    con = duckdb.connect(":memory:", config={"autoload_known_extensions": False, "autoinstall_known_extensions": False})
    try:
        con.execute(f'ATTACH {_lit(str(path))} AS "{alias}" (READ_ONLY)')
        con.execute(f'USE "{alias}"')
        for name, value in (settings or {}).items():
            con.execute(f"SET {name} = {_lit(str(value))}")
        if write_dir is not None:
            Path(write_dir).mkdir(parents=True, exist_ok=True)
            con.execute(f"SET allowed_directories = [{_lit(str(Path(write_dir).resolve()) + '/')}]")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con


def run_query(sql: str, path: Path | None = None) -> tuple[list[str], list[tuple]]:
    """Columns and rows of ``sql`` on the hardened session; raises ``QueryError`` with DuckDB's message."""
    con = connect_read_only(path)
    try:
        try:
            cur = con.execute(sql)
            columns = [d[0] for d in cur.description] if cur.description else []
            return columns, cur.fetchall()
        except duckdb.Error as exc:
            raise QueryError(_explain(exc)) from None
    finally:
        con.close()


def _explain(exc: duckdb.Error) -> str:
    """One line: DuckDB's message plus what to do next."""
    lines = []
    for line in str(exc).splitlines():
        if line.startswith("LINE "):  # the caret drawing of the position: not for one line
            break
        if line.strip():
            lines.append(line.strip())
    message = " ".join(lines)
    if (
        isinstance(exc, duckdb.PermissionException)
        or "configuration has been locked" in message
        or "read-only mode" in message
    ):
        hint = (
            "`douyin-etl query` is read-only and reads only the published marts: no file reads or writes, "
            "ATTACH, INSTALL/LOAD or SET; use `douyin-etl export` for files"
        )
    elif isinstance(exc, duckdb.CatalogException):
        hint = (
            'list the tables with `douyin-etl query "SHOW ALL TABLES"`; the marts are described in '
            "docs/analyst-guide.md"
        )
    else:
        hint = "check the SQL (DuckDB dialect); examples are in docs/analyst-guide.md"
    return f"{message} — {hint}"


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
    lines += [
        " | ".join(v.rjust(w) if v.replace(".", "", 1).lstrip("-").isdigit() else v.ljust(w) for v, w in zip(r, widths))
        for r in cells
    ]
    if len(rows) > max_rows:
        lines.append(f"… {len(rows) - max_rows} more rows (use --format csv to get all)")
    lines.append(f"({len(rows)} rows)")
    return "\n".join(lines)
