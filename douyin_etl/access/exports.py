"""Finance exports from the PUBLISHED warehouse (read-only): xlsx workbook, or csv / parquet files.

    result = export_finance("2026-10", shops=["1234"], tables=["reconciliation", "pnl"], fmt="xlsx")

- What is exported is the spec in ``export_spec`` (export name -> mart, business-date column,
  Chinese headers); columns, descriptions and units come from the marts' yml (``catalog``).
- The period filters the table's business-date column (Asia/Shanghai dates): ``YYYY-MM`` (a month),
  ``YYYY-MM-DD`` (a day) or ``YYYY-MM-DD..YYYY-MM-DD`` (inclusive range).
- Totals are computed in DuckDB (SUM over DECIMAL / BIGINT: exact to the fen), never with floats.
- xlsx and csv show money in yuan, first (``sheet_layout``): descriptive columns, the amounts in yuan (a
  ``x_fen`` column as its ``x_yuan`` twin, or derived exactly), then counts, rates and flags. xlsx (written
  by ``xlsx_writer``, cells rendered by DuckDB): one sheet per table (typed cells, yuan as ``#,##0.00``,
  frozen header, auto filter, widths, a 合计 row of ``SUBTOTAL(109, …)`` formulas saved with their exact
  totals as cached values), a "技术 fen" sheet (fen totals), a "说明 Columns" sheet describing every
  column and a "导出信息 Export" sheet (period, shops, warehouse version). csv: UTF-8 with BOM, the fen
  columns at the right end, decimals as plain strings with 2 places, instants in Asia/Shanghai local
  time, ids behind a tab (Excel keeps them as text). parquet: DuckDB COPY, the mart's columns and types.
- ``--chinese-headers``: 中文 headers and Chinese labels for status-like codes (``export_spec``).
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
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb

from douyin_etl import config
from douyin_etl.access import xlsx_writer as xw
from douyin_etl.access.catalog import ColumnDoc, ModelDoc, load_catalog, unit_of
from douyin_etl.access.export_spec import (
    CHINESE_LABELS,
    DEFAULT_TABLES,
    FORMATS,
    ExportTable,
    chinese_header,
    export_table,
)
from douyin_etl.access.query import WarehouseMissing, connect_read_only
from douyin_etl.sqlrow import one_row

log = logging.getLogger(__name__)

YUAN_FORMAT = xw.YUAN_FORMAT
INT_FORMAT = xw.INT_FORMAT
TOTAL_LABEL = "合计 Total"
COLUMNS_SHEET = "说明 Columns"
INFO_SHEET = "导出信息 Export"
TECH_SHEET = "技术 fen"
ID_PREFIX = "\t"  # csv: before every id, so Excel keeps it as text (see docs/finance-guide.md)
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
    expr: str = ""  # SQL over the mart's row; "" = the mart column of this name
    labels: tuple[tuple[str, str], ...] = ()  # code -> 中文 label (CHINESE_LABELS), with --chinese-headers

    @property
    def sql(self) -> str:
        return self.expr or _q(self.name)

    @property
    def summable(self) -> bool:
        return self.duck_type.upper().startswith(_SUMMABLE)

    @property
    def is_decimal(self) -> bool:
        return self.duck_type.upper().startswith("DECIMAL")

    @property
    def is_instant(self) -> bool:
        return self.duck_type.upper().startswith("TIMESTAMP")

    @property
    def is_fen(self) -> bool:
        return self.name.endswith("_fen")

    @property
    def is_id(self) -> bool:
        """Long numeric identifiers kept as text (Excel would round them to 15 digits)."""
        return self.name.endswith(("_id", "_no")) and self.duck_type.upper() == "VARCHAR"

    def header(self, chinese: bool) -> str:
        return self.chinese if chinese else self.name


@dataclass
class ExportedTable:
    name: str
    relation: str
    rows: int
    columns: list[ExportColumn]  # as the file or sheet has them (xlsx/csv: yuan first; parquet: the mart's)
    totals: dict[str, Any]  # column -> exact total (Decimal for yuan, int for fen/counts), fen columns included
    path: Path | None = None  # csv/parquet file (xlsx: the workbook in ExportResult.files)
    data_range: tuple[date | None, date | None] = (None, None)  # the table's whole date range
    fen_columns: list[ExportColumn] = field(default_factory=list)  # xlsx: on the technical sheet only


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


def _comments(con: duckdb.DuckDBPyConnection, spec: ExportTable) -> dict[str, str]:
    """The mart's column descriptions as the warehouse carries them (dbt persists the yml's as comments)."""
    schema, table = spec.relation.split(".")
    rows = con.execute(
        "SELECT column_name, comment FROM duckdb_columns() WHERE schema_name = ? AND table_name = ?", [schema, table]
    ).fetchall()
    return {name: " ".join(str(comment).split()) for name, comment in rows if comment}


def _docs(con: duckdb.DuckDBPyConnection, spec: ExportTable, catalog: dict[str, ModelDoc]) -> ModelDoc | None:
    """The descriptions of ``spec``'s mart: its comments in the warehouse, else (an older file) the yml."""
    comments = _comments(con, spec)
    described = {r[0] for r in con.execute(f"DESCRIBE {spec.relation}").fetchall()}
    if comments and described <= set(comments):
        schema, table = spec.relation.split(".")
        return ModelDoc(table, schema, "", (), tuple(ColumnDoc(n, "", d) for n, d in comments.items()))
    if not catalog:
        catalog.update({d.relation: d for d in load_catalog()})
    return catalog.get(spec.relation)


def _columns(con: duckdb.DuckDBPyConnection, spec: ExportTable, doc: ModelDoc | None) -> list[ExportColumn]:
    """The mart's columns, as DESCRIBE lists them, with the yml's descriptions and units."""
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
        description = d.description if d else ""
        out.append(
            ExportColumn(
                name,
                str(duck_type),
                description,
                unit_of(name, str(duck_type), description),
                chinese_header(name),
                labels=tuple(CHINESE_LABELS.get(name, {}).items()),
            )
        )
    names = [c.name for c in out]
    for needed in (spec.date_column, "shop_id"):
        if needed not in names:
            raise ExportError(f"{spec.relation} has no column {needed!r} (export_spec.py expects it)")
    return out


def _yuan_of(fen: ExportColumn) -> ExportColumn:
    """``x_yuan`` = ``x_fen`` / 100, exact (DECIMAL(18,2), as the marts' ``fen_to_yuan``)."""
    name = fen.name[: -len("_fen")] + "_yuan"
    return ExportColumn(
        name,
        "DECIMAL(18,2)",
        f"{fen.description.rstrip()} In yuan: {fen.name} / 100 (exact).".strip(),
        "yuan (CNY, 2 decimals)",
        chinese_header(name),
        expr=f"CAST(CAST({_q(fen.name)} AS DECIMAL(18,0)) * 0.01::DECIMAL(3,2) AS DECIMAL(18,2))",
    )


def sheet_layout(columns: list[ExportColumn]) -> tuple[list[ExportColumn], list[ExportColumn]]:
    """(the columns of a finance sheet, the fen columns) for a mart's ``columns``.

    A sheet shows money in yuan only and first: the descriptive columns (ids, names, codes, dates),
    then every amount in yuan in the mart's order — a ``x_fen`` column is shown as its ``x_yuan`` twin
    when the mart has one, else as a derived ``x_yuan`` (exact) — then counts, rates and flags, then
    the lake partition date. The fen columns go to the technical sheet (xlsx) or the right end (csv).
    """
    by_name = {c.name: c for c in columns}
    front, money, rest, tail = [], [], [], []
    placed: set[str] = set()
    for c in columns:
        if c.is_fen:
            twin = by_name.get(c.name[: -len("_fen")] + "_yuan")
            if twin is None:
                money.append(_yuan_of(c))
            elif twin.name not in placed:
                money.append(twin)
                placed.add(twin.name)
        elif c.name.endswith("_yuan"):
            if c.name not in placed:
                money.append(c)
                placed.add(c.name)
        elif c.name == "source_dt":
            tail.append(c)
        elif c.duck_type.upper() in ("VARCHAR", "DATE") or c.is_instant:
            front.append(c)
        else:
            rest.append(c)
    return front + money + rest + tail, [c for c in columns if c.is_fen]


def _where(spec: ExportTable, period: Period, shops: Sequence[str]) -> str:
    clauses = [
        f"{_q(spec.date_column)} BETWEEN DATE {_lit(period.start.isoformat())} AND DATE {_lit(period.end.isoformat())}"
    ]
    if shops:
        clauses.append(f"shop_id IN ({', '.join(_lit(s) for s in shops)})")
    return " AND ".join(clauses)


def _labelled(c: ExportColumn, expr: str, chinese: bool) -> str:
    if not (chinese and c.labels):
        return expr
    whens = " ".join(f"WHEN {_lit(code)} THEN {_lit(label)}" for code, label in c.labels)
    return f"CASE {expr} {whens} ELSE {expr} END"


def _select_list(columns: list[ExportColumn], *, local_instants: bool, chinese: bool, rename: bool) -> str:
    parts = []
    for c in columns:
        expr = c.sql
        if local_instants and c.is_instant:
            expr = f"timezone('{config.BUSINESS_TZ}', {expr})"
        parts.append(f"{_labelled(c, expr, chinese)} AS {_q(c.header(rename))}")
    return ", ".join(parts)


_EXCEL_EPOCH = "DATE '1899-12-30'"  # serial day 0 of Excel's 1900 date system (dates after 1900-03-01)


def _xlsx_cell_sql(c: ExportColumn, chinese: bool) -> tuple[str, xw.Column]:
    """DuckDB renders each cell's text (numbers as digits, dates as Excel serial days): no Python objects."""
    t = c.duck_type.upper()
    if t.startswith("DECIMAL"):
        return f"CAST({c.sql} AS VARCHAR)", xw.Column(c.header(chinese), kind="n", style=xw.YUAN)
    if t in ("BIGINT", "HUGEINT"):
        return f"CAST({c.sql} AS VARCHAR)", xw.Column(c.header(chinese), kind="n", style=xw.INT)
    if t in ("INTEGER", "SMALLINT", "TINYINT", "DOUBLE", "FLOAT", "UBIGINT", "UINTEGER"):
        return f"CAST({c.sql} AS VARCHAR)", xw.Column(c.header(chinese), kind="n")
    if t == "DATE":
        return f"CAST(date_diff('day', {_EXCEL_EPOCH}, {c.sql}) AS VARCHAR)", xw.Column(
            c.header(chinese), kind="n", style=xw.DATE
        )
    if c.is_instant:
        local = f"CAST(timezone('{config.BUSINESS_TZ}', {c.sql}) AS TIMESTAMP)"
        serial = f"printf('%.10f', epoch({local}) / 86400.0 + 25569)"
        return serial, xw.Column(c.header(chinese), kind="n", style=xw.DATETIME)
    if t == "BOOLEAN":
        return f"CASE WHEN {c.sql} THEN 'true' WHEN NOT {c.sql} THEN 'false' END", xw.Column(
            c.header(chinese), kind="b"
        )
    expr = _labelled(c, f"CAST({c.sql} AS VARCHAR)", chinese)
    return expr, xw.Column(c.header(chinese), kind="s", style=xw.TEXT if c.is_id else xw.DEFAULT)


def _totals(con, spec: ExportTable, columns: list[ExportColumn], where: str) -> dict[str, Any]:
    summable = list({c.name: c for c in columns if c.summable}.values())
    if not summable:
        return {}
    row = con.execute(
        f"SELECT {', '.join(f'SUM({c.sql})' for c in summable)} FROM {spec.relation} WHERE {where}"
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
    """UTF-8 with BOM; ids as text behind a tab (what 抖店's own exports do) so Excel keeps every digit."""
    tmp = _atomic_target(path)
    rows = 0
    ids = [i for i, c in enumerate(columns) if c.is_id]
    cur = con.execute(sql)
    with open(tmp, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([c.header(chinese) for c in columns])
        while batch := cur.fetchmany(10_000):
            out = [[_plain(v) for v in r] for r in batch]
            for r in out:
                for i in ids:
                    if r[i] != "":
                        r[i] = ID_PREFIX + r[i]
            w.writerows(out)
            rows += len(batch)
    os.replace(tmp, path)
    return rows


def _write_parquet(con, sql: str, path: Path) -> int:
    tmp = _atomic_target(path)
    con.execute(f"COPY ({sql}) TO {_lit(str(tmp))} (FORMAT parquet)")
    os.replace(tmp, path)
    return int(one_row(con, f"SELECT count(*) FROM read_parquet({_lit(str(path))})")[0])


def _sheet_title(spec: ExportTable) -> str:
    return f"{spec.name} {spec.sheet_title}"[:31]


def _width(c: ExportColumn, header: str, total: Any) -> float:
    width = _display_width(header) + 3
    if total is not None:
        width = max(width, len(f"{total:,}") + 3)
    t = c.duck_type.upper()
    if t == "DATE":
        width = max(width, 12)
    elif c.is_instant:
        width = max(width, 20)
    elif c.is_id:
        width = max(width, 22)
    elif c.name == "product_name":
        width = max(width, 30)
    return min(max(width, 8), 45)


def _cached(value: Any) -> str:
    return format(value, "f") if isinstance(value, Decimal) else str(int(value))


def _write_sheet(wb: xw.XlsxWriter, con, spec: ExportTable, where: str, table: ExportedTable, chinese: bool) -> int:
    """One finance sheet: header, rows (cells rendered by DuckDB), and a 合计 row of SUBTOTAL(109, …)
    formulas whose cached values are the exact totals computed in DuckDB."""
    cells = [_xlsx_cell_sql(c, chinese) for c in table.columns]
    columns = [
        xw.Column(col.header, _width(c, col.header, table.totals.get(c.name)), col.kind, col.style)
        for c, (_, col) in zip(table.columns, cells)
    ]
    sheet = wb.add_sheet(_sheet_title(spec), columns)
    sheet.write_header()
    order = ", ".join(_q(c) for c in spec.order_by)
    cur = con.execute(
        f"SELECT {', '.join(sql for sql, _ in cells)} FROM {spec.relation} WHERE {where} ORDER BY {order}"
    )
    rows = 0
    while batch := cur.fetchmany(20_000):
        rows += sheet.write_rows(batch)
    last = rows + 1
    totals: list[xw.CellValue] = []
    for i, (c, letter) in enumerate(zip(table.columns, sheet.letters)):
        if c.name in table.totals and c.summable:
            style = xw.YUAN_TOTAL if c.is_decimal else xw.INT_TOTAL
            value = _cached(table.totals[c.name])
            # No data rows: a plain 0 (a SUBTOTAL over row 2..1 would include the header and itself).
            totals.append(
                xw.Formula(f"SUBTOTAL(109,{letter}2:{letter}{last})", value, style) if rows else xw.Number(value, style)
            )
        else:
            totals.append(xw.Text(TOTAL_LABEL, xw.BOLD) if i == 0 else None)
    sheet.write_cells(totals)
    sheet.finish(autofilter_last_row=last)
    return rows


def _write_columns_sheet(wb: xw.XlsxWriter, tables: list[ExportedTable]) -> None:
    head = ["表 table", "列 column", "中文 header", "类型 type", "单位 unit", "说明 description", "值 values"]
    widths = (16, 34, 30, 16, 26, 90, 40)
    sheet = wb.add_sheet(COLUMNS_SHEET, [xw.Column(h, w) for h, w in zip(head, widths)])
    sheet.write_header()
    rows = []
    for t in tables:
        for c, where in [(c, t.name) for c in t.columns] + [(c, f"{t.name} ({TECH_SHEET})") for c in t.fen_columns]:
            values = ", ".join(f"{code}={label}" for code, label in c.labels)
            rows.append([where, c.name, c.chinese, c.duck_type, c.unit, c.description, values or None])
    sheet.write_rows(rows)
    sheet.finish(autofilter_last_row=len(rows) + 1)


def _write_tech_sheet(wb: xw.XlsxWriter, tables: list[ExportedTable]) -> None:
    """The fen totals per table (the marts keep money in integer fen: tie out here to the fen)."""
    head = [
        "表 table",
        "数据表 mart",
        "列 column",
        "中文 header",
        "合计(分) total fen",
        "合计(元) total yuan",
        "行数 rows",
    ]
    widths = (16, 36, 30, 26, 22, 22, 10)
    sheet = wb.add_sheet(TECH_SHEET, [xw.Column(h, w) for h, w in zip(head, widths)])
    sheet.write_header()
    for t in tables:
        for c in t.fen_columns:
            fen = int(t.totals.get(c.name, 0))
            sheet.write_cells(
                [
                    xw.Text(t.name),
                    xw.Text(t.relation),
                    xw.Text(c.name),
                    xw.Text(c.chinese),
                    xw.Number(str(fen), xw.INT),
                    xw.Number(format(Decimal(fen) / 100, ".2f"), xw.YUAN),
                    xw.Number(str(t.rows)),
                ]
            )
    sheet.finish(autofilter_last_row=sheet.row)


def _write_info_sheet(wb: xw.XlsxWriter, result: ExportResult, warehouse: Path) -> None:
    sheet = wb.add_sheet(INFO_SHEET, [xw.Column("项目 item", 24), xw.Column("值 value", 70)])
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
        ("导出时间 exported at", datetime.now(ZoneInfo(config.BUSINESS_TZ)).isoformat(timespec="seconds")),
        ("合计 totals", "SUBTOTAL(109, …): the totals follow the auto filter (visible rows only)"),
    ]
    rows += [(f"{t.name} rows 行数", t.rows) for t in result.tables]
    for label, value in rows:
        sheet.write_cells([xw.Text(label), xw.Number(str(value)) if isinstance(value, int) else xw.Text(value)])
    sheet.finish(autofilter=False)


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
    catalog: dict[str, ModelDoc] = {}  # the yml, read only for a warehouse without comments
    result = ExportResult(per, shop_list, fmt, version=read_version(warehouse))
    # The hardened read-only session (never takes the writer's lock); files only under out_dir.
    con = connect_read_only(warehouse, alias="wh", write_dir=out_dir, settings={"TimeZone": config.BUSINESS_TZ})
    try:
        plans: list[tuple[ExportTable, ExportedTable, str]] = []
        for spec in specs:
            mart_columns = _columns(con, spec, _docs(con, spec, catalog))
            where = _where(spec, per, shop_list)
            lo, hi = one_row(
                con, f"SELECT min({_q(spec.date_column)}), max({_q(spec.date_column)}) FROM {spec.relation}"
            )
            fen: list[ExportColumn] = []
            if fmt == "parquet":
                columns = mart_columns
            else:
                columns, fen = sheet_layout(mart_columns)
            file_columns = columns + fen if fmt == "csv" else columns
            table = ExportedTable(
                spec.name,
                spec.relation,
                0,
                file_columns,
                _totals(con, spec, mart_columns + columns, where),
                data_range=(lo, hi),
                fen_columns=fen if fmt == "xlsx" else [],
            )
            order = ", ".join(_q(c) for c in spec.order_by)
            select = _select_list(
                file_columns,
                local_instants=fmt != "parquet",
                chinese=chinese_headers,
                rename=chinese_headers and fmt == "parquet",
            )
            plans.append((spec, table, f"SELECT {select} FROM {spec.relation} WHERE {where} ORDER BY {order}"))
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
            path = out_dir / f"{stem}.xlsx"
            tmp = _atomic_target(path)
            try:
                with xw.XlsxWriter(tmp) as wb:
                    for spec, table, _ in plans:
                        table.rows = _write_sheet(wb, con, spec, _where(spec, per, shop_list), table, chinese_headers)
                        result.tables.append(table)
                    _write_tech_sheet(wb, result.tables)
                    _write_columns_sheet(wb, result.tables)
                    _write_info_sheet(wb, result, warehouse)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
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
