"""Finance exports from the PUBLISHED warehouse (read-only): xlsx workbook, or csv / parquet files.

    result = export_finance("2026-10", shops=["1234"], tables=["reconciliation", "pnl"], fmt="xlsx")

- What is exported is the spec in ``export_spec`` (export name -> mart, business-date column,
  Chinese headers); columns, descriptions and units come from the marts' yml (``catalog``).
- The period filters the table's business-date column (Asia/Shanghai dates): ``YYYY-MM`` (a month),
  ``YYYY-MM-DD`` (a day) or ``YYYY-MM-DD..YYYY-MM-DD`` (inclusive range).
- Totals are computed in DuckDB (SUM over DECIMAL / BIGINT: exact to the fen), never with floats.
- xlsx: one sheet per table (typed cells, yuan as ``#,##0.00``, frozen header, auto filter, widths, a
  totals row), a "说明 Columns" sheet describing every column and a "导出信息 Export" sheet (period,
  shops, warehouse version). csv: UTF-8 with BOM, decimals as plain strings with 2 places, instants
  in Asia/Shanghai local time. parquet: DuckDB COPY, original types.
- Every file is written to a temporary sibling and renamed into place.
"""

from __future__ import annotations

import calendar
import csv
import logging
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from douyin_etl import config
from douyin_etl.access.catalog import ModelDoc, load_catalog
from douyin_etl.access.export_spec import CHINESE_HEADERS, DEFAULT_TABLES, FORMATS, ExportTable, export_table
from douyin_etl.access.query import WarehouseMissing, connect_read_only
from douyin_etl.sqlrow import one_row

log = logging.getLogger(__name__)

YUAN_FORMAT = "#,##0.00"
INT_FORMAT = "#,##0"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
TOTAL_LABEL = "合计 Total"
COLUMNS_SHEET = "说明 Columns"
INFO_SHEET = "导出信息 Export"
_SUMMABLE = ("DECIMAL", "BIGINT", "HUGEINT")
_PERIOD_RE = re.compile(r"^(\d{4})-(\d{2})$")


class ExportError(ValueError):
    pass


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive
    label: str

    def __str__(self) -> str:
        return self.label


def parse_period(text: str) -> Period:
    """``2026-10`` -> the month; ``2026-10-05`` -> that day; ``2026-10-01..2026-10-15`` -> inclusive range."""
    text = text.strip()
    try:
        if m := _PERIOD_RE.match(text):
            y, mo = int(m.group(1)), int(m.group(2))
            return Period(date(y, mo, 1), date(y, mo, calendar.monthrange(y, mo)[1]), text)
        if ".." in text:
            a, b = (date.fromisoformat(p.strip()) for p in text.split("..", 1))
            if b < a:
                raise ExportError(f"period {text!r} ends before it starts")
            return Period(a, b, f"{a.isoformat()}_{b.isoformat()}")
        d = date.fromisoformat(text)
        return Period(d, d, d.isoformat())
    except ValueError as exc:
        if isinstance(exc, ExportError):
            raise
        raise ExportError(f"period {text!r}: expected YYYY-MM, YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD") from None


def split_list(values: Iterable[str] | None) -> list[str]:
    """``["a,b", "c"]`` -> ``["a", "b", "c"]`` (repeatable and comma-separated options)."""
    out: list[str] = []
    for v in values or []:
        out += [p.strip() for p in str(v).split(",") if p.strip()]
    return list(dict.fromkeys(out))


@dataclass(frozen=True)
class ExportColumn:
    name: str
    duck_type: str  # as DESCRIBE reports it, e.g. DECIMAL(18,2), BIGINT, DATE
    description: str
    unit: str
    chinese: str

    @property
    def summable(self) -> bool:
        return self.duck_type.upper().startswith(_SUMMABLE)

    @property
    def is_decimal(self) -> bool:
        return self.duck_type.upper().startswith("DECIMAL")

    @property
    def is_instant(self) -> bool:
        return self.duck_type.upper().startswith("TIMESTAMP")


@dataclass
class ExportedTable:
    name: str
    relation: str
    rows: int
    columns: list[ExportColumn]
    totals: dict[str, Any]  # column -> exact total (Decimal for yuan, int for fen/counts)
    path: Path | None = None  # csv/parquet file (xlsx: the workbook in ExportResult.files)
    data_range: tuple[date | None, date | None] = (None, None)  # the table's whole date range


@dataclass
class ExportResult:
    period: Period
    shops: list[str]
    fmt: str
    files: list[Path] = field(default_factory=list)
    tables: list[ExportedTable] = field(default_factory=list)
    version: dict[str, Any] | None = None

    def summary(self) -> str:
        lines = [
            f"finance export {self.period.start}..{self.period.end} "
            f"shops={','.join(self.shops) or 'all'} format={self.fmt}"
        ]
        for t in self.tables:
            yuan = [(k, v) for k, v in t.totals.items() if k.endswith("_yuan")][:3]
            money = ", ".join(f"{k}={v}" for k, v in yuan)
            lines.append(f"  {t.name:<15} {t.rows:>8} rows  {money}")
            if t.rows == 0:
                lo, hi = t.data_range
                lines.append(f"    (no rows in the period; {t.relation} covers {lo or '—'}..{hi or '—'})")
        lines += [f"  -> {p}" for p in self.files]
        return "\n".join(lines)


# -- helpers ----------------------------------------------------------------------------------------
def _q(ident: str) -> str:
    return '"' + ident.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _atomic_target(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    tmp.unlink(missing_ok=True)
    return tmp


def _display_width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _columns(con: duckdb.DuckDBPyConnection, spec: ExportTable, doc: ModelDoc | None) -> list[ExportColumn]:
    try:
        described = con.execute(f"DESCRIBE {spec.relation}").fetchall()
    except duckdb.CatalogException:
        raise ExportError(
            f"{spec.relation} is not in the published warehouse; was the last run built with the "
            "finance marts? Check `douyin-etl status`."
        ) from None
    docs = {c.name: c for c in (doc.columns if doc else ())}
    out = []
    for name, duck_type, *_ in described:
        d = docs.get(name)
        out.append(
            ExportColumn(
                name, str(duck_type), d.description if d else "", d.unit if d else "", CHINESE_HEADERS.get(name, name)
            )
        )
    names = [c.name for c in out]
    for needed in (spec.date_column, "shop_id"):
        if needed not in names:
            raise ExportError(f"{spec.relation} has no column {needed!r} (export_spec.py expects it)")
    return out


def _where(spec: ExportTable, period: Period, shops: Sequence[str]) -> str:
    clauses = [
        f"{_q(spec.date_column)} BETWEEN DATE {_lit(period.start.isoformat())} AND DATE {_lit(period.end.isoformat())}"
    ]
    if shops:
        clauses.append(f"shop_id IN ({', '.join(_lit(s) for s in shops)})")
    return " AND ".join(clauses)


def _select_list(columns: list[ExportColumn], *, local_instants: bool, chinese: bool) -> str:
    parts = []
    for c in columns:
        expr = _q(c.name)
        if local_instants and c.is_instant:
            expr = f"timezone('{config.BUSINESS_TZ}', {expr})"
        parts.append(f"{expr} AS {_q(c.chinese if chinese else c.name)}")
    return ", ".join(parts)


def _totals(con, spec: ExportTable, columns: list[ExportColumn], where: str) -> dict[str, Any]:
    summable = [c for c in columns if c.summable]
    if not summable:
        return {}
    row = con.execute(
        f"SELECT {', '.join(f'SUM({_q(c.name)})' for c in summable)} FROM {spec.relation} WHERE {where}"
    ).fetchone()
    return {c.name: (v if v is not None else (Decimal("0.00") if c.is_decimal else 0)) for c, v in zip(summable, row)}


def _file_stem(period: Period, shops: Sequence[str]) -> str:
    stem = f"douyin_finance_{period.label}"
    if shops:
        stem += "_shop-" + "-".join(re.sub(r"[^\w]", "", s) for s in shops[:3]) + ("-etc" if len(shops) > 3 else "")
    return stem


def _known_shops(con, relations: Iterable[str]) -> set[str]:
    union = " UNION ".join(f"SELECT DISTINCT shop_id FROM {r}" for r in relations)
    return {r[0] for r in con.execute(union).fetchall()}


# -- writers ----------------------------------------------------------------------------------------
def _plain(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _write_csv(con, sql: str, columns: list[ExportColumn], path: Path, chinese: bool) -> int:
    tmp = _atomic_target(path)
    rows = 0
    cur = con.execute(sql)
    with open(tmp, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([c.chinese if chinese else c.name for c in columns])
        while batch := cur.fetchmany(10_000):
            w.writerows([[_plain(v) for v in r] for r in batch])
            rows += len(batch)
    os.replace(tmp, path)
    return rows


def _write_parquet(con, sql: str, path: Path) -> int:
    tmp = _atomic_target(path)
    con.execute(f"COPY ({sql}) TO {_lit(str(tmp))} (FORMAT parquet)")
    os.replace(tmp, path)
    return int(one_row(con, f"SELECT count(*) FROM read_parquet({_lit(str(path))})")[0])


def _cell_format(c: ExportColumn) -> str | None:
    t = c.duck_type.upper()
    if t.startswith("DECIMAL"):
        return YUAN_FORMAT
    if t in ("BIGINT", "HUGEINT"):
        return INT_FORMAT
    if t == "DATE":
        return DATE_FORMAT
    if t.startswith("TIMESTAMP"):
        return DATETIME_FORMAT
    return None


def _sheet_title(spec: ExportTable) -> str:
    return f"{spec.name} {spec.sheet_title}"[:31]


def _write_sheet(wb, con, spec: ExportTable, sql: str, table: ExportedTable, chinese: bool) -> int:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(_sheet_title(spec))
    columns = table.columns
    formats = [_cell_format(c) for c in columns]
    headers = [c.chinese if chinese else c.name for c in columns]
    # widths from the header and the totals (the widest numbers) - set before any row is written
    for i, (c, h) in enumerate(zip(columns, headers), start=1):
        width = _display_width(h) + 3
        if c.name in table.totals:
            width = max(width, len(f"{table.totals[c.name]:,}") + 3)
        if formats[i - 1] == DATE_FORMAT:
            width = max(width, 12)
        elif formats[i - 1] == DATETIME_FORMAT:
            width = max(width, 20)
        elif c.name.endswith(("_id", "_no")):
            width = max(width, 22)
        ws.column_dimensions[get_column_letter(i)].width = min(max(width, 8), 45)
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="F2F3F5")
    header_cells = []
    for h in headers:
        cell = WriteOnlyCell(ws, h)
        cell.font, cell.fill = bold, fill
        cell.alignment = Alignment(horizontal="center", vertical="center")
        header_cells.append(cell)
    ws.append(header_cells)
    rows = 0
    cur = con.execute(sql)
    while batch := cur.fetchmany(5_000):
        for r in batch:
            out = []
            for v, fmt in zip(r, formats):
                if fmt is None or v is None:
                    out.append(v)
                else:
                    cell = WriteOnlyCell(ws, v)
                    cell.number_format = fmt
                    out.append(cell)
            ws.append(out)
        rows += len(batch)
    last_col = get_column_letter(len(columns))
    ws.auto_filter.ref = f"A1:{last_col}{rows + 1}"
    totals_row = []
    for i, (c, fmt) in enumerate(zip(columns, formats)):
        if c.name in table.totals:
            cell = WriteOnlyCell(ws, table.totals[c.name])
            cell.number_format = fmt or INT_FORMAT
        else:
            cell = WriteOnlyCell(ws, TOTAL_LABEL if i == 0 else None)
        cell.font = bold
        totals_row.append(cell)
    ws.append(totals_row)
    return rows


def _write_columns_sheet(wb, tables: list[ExportedTable]) -> None:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    ws = wb.create_sheet(COLUMNS_SHEET)
    for letter, width in zip("ABCDEFG", (16, 34, 30, 16, 26, 90)):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    head = ["表 table", "列 column", "中文 header", "类型 type", "单位 unit", "说明 description"]
    ws.append([_bold(WriteOnlyCell(ws, h), bold) for h in head])
    n = 0
    for t in tables:
        for c in t.columns:
            ws.append([t.name, c.name, c.chinese, c.duck_type, c.unit, c.description])
            n += 1
    ws.auto_filter.ref = f"A1:F{n + 1}"


def _bold(cell, font):
    cell.font = font
    return cell


def _write_info_sheet(wb, result: ExportResult, warehouse: Path) -> None:
    ws = wb.create_sheet(INFO_SHEET)
    ws.column_dimensions["A"].width = 24
    ws.column_dimensions["B"].width = 70
    v = result.version or {}
    rows: list[tuple[str, str | int]] = [
        (
            "期间 period",
            f"{result.period.start.isoformat()} .. {result.period.end.isoformat()} (Asia/Shanghai business days)",
        ),
        ("店铺 shops", ", ".join(result.shops) or "all 全部"),
        ("数据仓库 warehouse", str(warehouse)),
        ("版本 published run", str(v.get("run_id", "unknown"))),
        ("发布时间 published at", str(v.get("published_at", "unknown"))),
        ("导出时间 exported at", datetime.now(UTC).isoformat(timespec="seconds")),
    ]
    rows += [(f"{t.name} rows 行数", t.rows) for t in result.tables]
    for r in rows:
        ws.append(list(r))


# -- entry point ------------------------------------------------------------------------------------
def export_finance(
    period: str | Period,
    *,
    shops: Sequence[str] | None = None,
    tables: Sequence[str] | None = None,
    fmt: str = "xlsx",
    out_dir: Path | None = None,
    chinese_headers: bool = False,
    warehouse: Path | None = None,
) -> ExportResult:
    """Export finance marts for ``period`` from the published warehouse; see the module docstring."""
    from douyin_etl.warehousing.wap import read_version

    if fmt not in FORMATS:
        raise ExportError(f"format {fmt!r}: choose one of {', '.join(FORMATS)}")
    per = period if isinstance(period, Period) else parse_period(period)
    shop_list = split_list(shops)
    specs = [export_table(n) for n in (split_list(tables) or list(DEFAULT_TABLES))]
    warehouse = Path(warehouse or config.warehouse_path())
    if not warehouse.exists():
        raise WarehouseMissing(
            f"no published warehouse at {warehouse}; run `douyin-etl run --start … --end …` "
            "(or `make demo`) first, or set DOUYIN_WAREHOUSE"
        )
    out_dir = Path(out_dir or config.state_dir() / "exports")
    catalog = {d.relation: d for d in load_catalog()}
    result = ExportResult(per, shop_list, fmt, version=read_version(warehouse))
    # The hardened read-only session (never takes the writer's lock); files only under out_dir.
    con = connect_read_only(warehouse, alias="wh", write_dir=out_dir, settings={"TimeZone": config.BUSINESS_TZ})
    try:
        plans: list[tuple[ExportTable, ExportedTable, str]] = []
        for spec in specs:
            columns = _columns(con, spec, catalog.get(spec.relation))
            where = _where(spec, per, shop_list)
            lo, hi = one_row(
                con, f"SELECT min({_q(spec.date_column)}), max({_q(spec.date_column)}) FROM {spec.relation}"
            )
            table = ExportedTable(
                spec.name, spec.relation, 0, columns, _totals(con, spec, columns, where), data_range=(lo, hi)
            )
            order = ", ".join(_q(c) for c in spec.order_by)
            sql = (
                f"SELECT {_select_list(columns, local_instants=fmt != 'parquet', chinese=chinese_headers and fmt == 'parquet')} "
                f"FROM {spec.relation} WHERE {where} ORDER BY {order}"
            )
            plans.append((spec, table, sql))
        if shop_list:
            unknown = set(shop_list) - _known_shops(con, [s.relation for s in specs])
            if unknown:
                raise ExportError(
                    f"unknown shop id(s) {', '.join(sorted(unknown))}: not in "
                    f"{', '.join(s.relation for s in specs)}; list shops with "
                    '`douyin-etl query "select shop_id from sales.dim_shops"`'
                )
        stem = _file_stem(per, shop_list)
        if fmt == "xlsx":
            from openpyxl import Workbook

            wb = Workbook(write_only=True)
            for spec, table, sql in plans:
                table.rows = _write_sheet(wb, con, spec, sql, table, chinese_headers)
                result.tables.append(table)
            _write_columns_sheet(wb, result.tables)
            _write_info_sheet(wb, result, warehouse)
            path = out_dir / f"{stem}.xlsx"
            tmp = _atomic_target(path)
            wb.save(tmp)
            os.replace(tmp, path)
            result.files.append(path)
        else:
            for spec, table, sql in plans:
                path = out_dir / f"{stem}_{spec.name}.{fmt}"
                table.rows = (
                    _write_csv(con, sql, table.columns, path, chinese_headers)
                    if fmt == "csv"
                    else _write_parquet(con, sql, path)
                )
                table.path = path
                result.tables.append(table)
                result.files.append(path)
    finally:
        con.close()
    for t in result.tables:
        if t.rows == 0:
            log.warning("%s: no rows for %s..%s (table covers %s..%s)", t.relation, per.start, per.end, *t.data_range)
    log.info("exported %s to %s", ", ".join(f"{t.name}={t.rows}" for t in result.tables), out_dir)
    return result
