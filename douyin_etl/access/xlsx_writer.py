"""A small streaming XLSX writer for the finance exports: typed cells, formulas with their cached values.

    with XlsxWriter(path) as wb:
        sheet = wb.add_sheet("pnl 日利润", [Column("日期", 12), Column("GMV(元)", 16)])
        sheet.write_header()
        sheet.write_rows(rows)                 # rows of text (or None), typed by Column.kind
        sheet.write_cells([Text("合计"), Formula("SUBTOTAL(109,B2:B31)", "12345.67", YUAN_TOTAL)])
        sheet.finish(autofilter_last_row=31)   # the totals row stays below the filter

Why not openpyxl: openpyxl writes a formula without its result (Excel computes it on open, but a reader
of the file - openpyxl ``data_only=True``, pandas, a viewer - sees nothing), and its per-cell objects
cost ~30 µs a cell (a 12k-line reconciliation sheet took ~20 s). xlsxwriter does both right but is not
a dependency. The format written here is the subset of SpreadsheetML the exports need: inline strings,
numbers, booleans, dates as serial numbers with a date format, formulas with cached results, a fixed
style table (``STYLES``), column widths, a frozen header row and an auto filter (with the hidden
``_xlnm._FilterDatabase`` name Excel expects). Each sheet's XML is streamed into the zip as rows come.

Cell values are pre-rendered text, so a caller can let DuckDB format numbers and dates (much faster
than Python objects): in ``write_rows`` a row is a sequence of strings (or None: an empty cell), typed
per column by ``Column.kind`` (dates: Excel serial days with a date style); ``write_cells`` takes one
row of ``Text``/``Number``/``Formula`` cells (headers, totals, small sheets).
"""

from __future__ import annotations

import functools
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from xml.sax.saxutils import escape, quoteattr

# Cell styles (index into cellXfs of STYLES_XML).
DEFAULT, HEADER, YUAN, INT, DATE, DATETIME, BOLD, YUAN_TOTAL, INT_TOTAL, TEXT = range(10)
YUAN_FORMAT = "#,##0.00"
INT_FORMAT = "#,##0"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"

STYLES_XML = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
<numFmts count="4"><numFmt numFmtId="164" formatCode="{YUAN_FORMAT}"/><numFmt numFmtId="165" formatCode="{INT_FORMAT}"/><numFmt numFmtId="166" formatCode="{DATE_FORMAT}"/><numFmt numFmtId="167" formatCode="{DATETIME_FORMAT}"/></numFmts>
<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font><font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>
<fills count="3"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill><fill><patternFill patternType="solid"><fgColor rgb="FFF2F3F5"/><bgColor indexed="64"/></patternFill></fill></fills>
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>
<cellXfs count="10">
<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>
<xf numFmtId="0" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1" applyAlignment="1"><alignment horizontal="center" vertical="center"/></xf>
<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="166" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="167" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>
<xf numFmtId="164" fontId="1" fillId="0" borderId="0" xfId="0" applyNumberFormat="1" applyFont="1"/>
<xf numFmtId="165" fontId="1" fillId="0" borderId="0" xfId="0" applyNumberFormat="1" applyFont="1"/>
<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
</cellXfs>
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>
</styleSheet>
"""

_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_NS_R = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


def col_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    s = ""
    index += 1
    while index:
        index, r = divmod(index - 1, 26)
        s = chr(65 + r) + s
    return s


def _text(value: str) -> str:
    v = escape(value)
    if _ILLEGAL_XML.search(v):
        v = _ILLEGAL_XML.sub("", v)
    return v


@functools.lru_cache(maxsize=65_536)  # shop ids, names, codes and dates repeat down a sheet
def _inline(value: str) -> str:
    space = ' xml:space="preserve"' if value[:1].isspace() or value[-1:].isspace() else ""
    return f"<is><t{space}>{_text(value)}</t></is>"


@dataclass(frozen=True)
class Column:
    header: str
    width: float = 12
    kind: str = "s"  # "s" text, "n" number (text as DuckDB prints it), "b" boolean ("true"/"false")
    style: int = DEFAULT


@dataclass(frozen=True)
class Text:
    value: str
    style: int = DEFAULT


@dataclass(frozen=True)
class Number:
    value: str  # e.g. "1234.50", "-3", "46300.5"
    style: int = DEFAULT


@dataclass(frozen=True)
class Formula:
    formula: str  # without the leading "="
    cached: str  # the result, as a number's text
    style: int = DEFAULT


CellValue = Text | Number | Formula | None


class SheetWriter:
    """One worksheet, streamed: header, rows, an optional totals row, then ``finish``."""

    def __init__(self, book: XlsxWriter, index: int, name: str, columns: Sequence[Column]) -> None:
        self.book, self.index, self.name, self.columns = book, index, name, list(columns)
        self.letters = [col_letter(i) for i in range(max(len(self.columns), 1))]
        self.row = 0  # rows written so far
        self._fh = book._zip.open(f"xl/worksheets/sheet{index + 1}.xml", "w", force_zip64=True)
        cols = "".join(
            f'<col min="{i}" max="{i}" width="{c.width:g}" customWidth="1"/>' for i, c in enumerate(self.columns, 1)
        )
        self._write(
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet {_NS} {_NS_R}>'
            '<sheetViews><sheetView workbookViewId="0"'
            + (' tabSelected="1"' if index == 0 else "")
            + '><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
            '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
            '<sheetFormatPr defaultRowHeight="15"/>' + (f"<cols>{cols}</cols>" if cols else "") + "<sheetData>"
        )
        self._finished = False

    def _write(self, text: str) -> None:
        self._fh.write(text.encode("utf-8"))

    def write_header(self) -> None:
        self.write_cells([Text(c.header, HEADER) for c in self.columns])

    def write_cells(self, cells: Sequence[CellValue]) -> None:
        """One row of typed cells (``Text``/``Number``/``Formula``/None)."""
        self.row += 1
        r = self.row
        out = [f'<row r="{r}">']
        for letter, cell in zip(self.letters, cells):
            if cell is None:
                continue
            s = f' s="{cell.style}"' if cell.style else ""
            if isinstance(cell, Text):
                out.append(f'<c r="{letter}{r}"{s} t="inlineStr">{_inline(cell.value)}</c>')
            elif isinstance(cell, Number):
                out.append(f'<c r="{letter}{r}"{s}><v>{cell.value}</v></c>')
            else:
                out.append(f'<c r="{letter}{r}"{s}><f>{_text(cell.formula)}</f><v>{cell.cached}</v></c>')
        out.append("</row>")
        self._write("".join(out))

    def write_rows(self, rows: Iterable[Sequence[str | None]]) -> int:
        """Plain rows typed by the columns' ``kind`` and ``style``; returns how many were written."""
        templates = []  # per column: (r="<letter>, "<style/type>><v>, </v></c>, kind)
        for letter, c in zip(self.letters, self.columns):
            s = f' s="{c.style}"' if c.style else ""
            if c.kind == "n":
                templates.append((f'<c r="{letter}', f'"{s}><v>', "</v></c>", c.kind))
            elif c.kind == "b":
                templates.append((f'<c r="{letter}', f'"{s} t="b"><v>', "</v></c>", c.kind))
            else:
                templates.append((f'<c r="{letter}', f'"{s} t="inlineStr">', "</c>", c.kind))
        n = 0
        buf: list[str] = []
        r = self.row
        for row in rows:
            r += 1
            rs = str(r)
            buf.append(f'<row r="{rs}">')
            for (head, mid, tail, kind), v in zip(templates, row):
                if v is None:
                    continue
                if kind == "n":
                    buf.append(head + rs + mid + v + tail)
                elif kind == "b":
                    buf.append(head + rs + mid + ("1" if v in ("true", "1") else "0") + tail)
                else:
                    buf.append(head + rs + mid + _inline(str(v)) + tail)
            buf.append("</row>")
            n += 1
            if len(buf) > 50_000:
                self._write("".join(buf))
                buf.clear()
        self._write("".join(buf))
        self.row = r
        return n

    def finish(self, *, autofilter: bool = True, autofilter_last_row: int | None = None) -> None:
        """Close the sheet; the auto filter covers the header to ``autofilter_last_row`` (default: the
        last row written; give the last data row so a totals row below stays outside the filter)."""
        if self._finished:
            return
        tail = "</sheetData>"
        if autofilter and self.columns:
            last = autofilter_last_row if autofilter_last_row is not None else self.row
            ref = f"A1:{self.letters[len(self.columns) - 1]}{max(last, 1)}"
            tail += f'<autoFilter ref="{ref}"/>'
            self.book._filters.append((self.index, self.name, ref))
        tail += '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>'
        self._write(tail)
        self._fh.close()
        self._finished = True


class XlsxWriter:
    """A workbook written straight into a zip at ``path``; sheets one after another (see the module doc)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._zip = zipfile.ZipFile(self.path, "w", zipfile.ZIP_DEFLATED, compresslevel=1)
        self._sheets: list[str] = []
        self._filters: list[tuple[int, str, str]] = []
        self._current: SheetWriter | None = None

    def add_sheet(self, name: str, columns: Sequence[Column]) -> SheetWriter:
        if self._current is not None:
            self._current.finish()
        name = _BAD_SHEET_CHARS.sub("_", name)[:31]
        if name in self._sheets:
            raise ValueError(f"duplicate sheet name {name!r}")
        self._sheets.append(name)
        self._current = SheetWriter(self, len(self._sheets) - 1, name, columns)
        return self._current

    def close(self) -> None:
        if self._current is not None:
            self._current.finish()
            self._current = None
        n = len(self._sheets)
        z = self._zip
        sheet_types = "".join(
            f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            for i in range(1, n + 1)
        )
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            f"{sheet_types}</Types>",
        )
        z.writestr(
            "_rels/.rels",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" '
            'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
            'Target="xl/workbook.xml"/></Relationships>',
        )
        rels = "".join(
            f'<Relationship Id="rId{i}" '
            'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
            f'Target="worksheets/sheet{i}.xml"/>'
            for i in range(1, n + 1)
        )
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f"{rels}"
            f'<Relationship Id="rId{n + 1}" '
            'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" '
            'Target="styles.xml"/></Relationships>',
        )
        sheets = "".join(
            f'<sheet name={quoteattr(name)} sheetId="{i}" r:id="rId{i}"/>' for i, name in enumerate(self._sheets, 1)
        )
        names = "".join(
            f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">'
            f"{_text(_sheet_ref(name, ref))}</definedName>"
            for i, name, ref in self._filters
        )
        z.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook {_NS} {_NS_R}>'
            '<bookViews><workbookView activeTab="0"/></bookViews>'
            f"<sheets>{sheets}</sheets>" + (f"<definedNames>{names}</definedNames>" if names else "") + "</workbook>",
        )
        z.writestr("xl/styles.xml", STYLES_XML)
        z.close()

    def __enter__(self) -> XlsxWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self._zip.close()


def _sheet_ref(name: str, ref: str) -> str:
    start, end = ref.split(":")
    absolute = ":".join("$" + re.sub(r"(\d+)", r"$\1", part) for part in (start, end))
    return "'" + name.replace("'", "''") + "'!" + absolute
