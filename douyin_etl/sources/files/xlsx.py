"""Stream the values of an XLSX workbook's first worksheet, as openpyxl's read-only reader yields them.

``xlsx_rows(path)`` yields one tuple of cell values per sheet row, exactly what
``openpyxl.load_workbook(path, read_only=True, data_only=True).worksheets[0].iter_rows(values_only=True)``
yields (openpyxl 3.1): the same first worksheet (the first ``<sheet>`` of ``workbook.xml`` whose part
exists and is not a chartsheet), shared strings (plain and rich text), inline strings, numbers (``int``
for "123", ``float`` for "1.5"/"1E3"), booleans, error codes as text, cached formula results, dates by
the cell's number format (1900 and 1904 date systems, Excel's 1900 leap-year bug) and ISO dates; gaps
in the sheet's row numbers as rows of ``None``; rows padded to the width of the sheet's
``<dimension>`` (or to their last cell when the sheet has none).

Sheets made only of ``<row>`` and ``<c>`` elements with plain values (as Excel, openpyxl and the exports
write them) are read by string tests and regular expressions (``_plain_rows``), about 3x faster than
the expat path; any other sheet, from its first unusual element on (a formula, rich text, a comment, CDATA, a
carriage return …), is read by expat (``XMLPullParser``) from the start, the rows already given skipped:
itself about 3x faster than openpyxl, a cell costing a few tuple operations instead of openpyxl's
objects. openpyxl stays the writer (exports, simulator) and its date helpers convert date cells, so values match to the bit;
``tests/sources/files/test_xlsx_reader.py`` checks the equivalence on every kind of cell.

Errors: a damaged or incomplete package raises the underlying exception (``zipfile.BadZipFile``,
``KeyError`` for a missing part, ``xml.etree.ElementTree.ParseError``, ``zlib.error``…) from
``XlsxSheet.open`` (the workbook parts) or while iterating (the sheet); ``read.py`` turns them into
``FileIngestError``.
"""

from __future__ import annotations

import codecs
import posixpath
import re
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, cast
from xml.etree.ElementTree import Element, XMLPullParser, fromstring, iterparse

from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format
from openpyxl.utils.cell import column_index_from_string, coordinate_to_tuple, range_boundaries
from openpyxl.utils.datetime import MAC_EPOCH, WINDOWS_EPOCH, from_excel, from_ISO8601

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_WORKBOOK_TYPES = (
    "application/vnd.ms-excel.template.macroEnabled.main+xml",  # openpyxl's order
    f"{_CT}.template.main+xml",
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    f"{_CT}.sheet.main+xml",
)
_SHARED_STRINGS_TYPE = f"{_CT}.sharedStrings+xml"
_STYLES = "xl/styles.xml"

_ROW, _CELL, _VALUE, _INLINE = f"{_MAIN}row", f"{_MAIN}c", f"{_MAIN}v", f"{_MAIN}is"
_SI, _DIMENSION, _SHEET_DATA = f"{_MAIN}si", f"{_MAIN}dimension", f"{_MAIN}sheetData"
_T = f"{_MAIN}t"
_CHUNK = 1 << 16


def _local(tag: Any) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _children(node: Element, name: str) -> list[Element]:
    return [el for el in node if _local(el.tag) == name]


def _last_child(node: Element, name: str) -> Element | None:
    found = _children(node, name)
    return found[-1] if found else None


def _text_content(node: Element) -> str:
    """The text of a string item (``<si>``/``<is>``): its ``<t>`` then every rich-text run's ``<t>``,
    phonetic runs left out (openpyxl's ``Text.content``)."""
    plain: str | None = None
    runs: list[str] = []
    for el in node:
        name = _local(el.tag)
        if name == "t":
            plain = el.text
        elif name == "r":
            t = _last_child(el, "t")
            if t is not None and t.text is not None:
                runs.append(t.text)
    return (plain or "") + "".join(runs)


def _bool_attr(value: str | None) -> bool:
    """openpyxl's ``Bool`` descriptor: 'false', 'f', '0' are false, any other text is true."""
    return value is not None and value not in ("false", "f", "0") and bool(value)


@dataclass(frozen=True)
class _Styles:
    dates: frozenset[int]  # cellXfs indexes whose number format is a date/time
    timedeltas: frozenset[int]  # … an elapsed time ([h]:mm)


def _read_styles(zf: zipfile.ZipFile) -> _Styles:
    try:
        root = fromstring(zf.read(_STYLES))
    except KeyError:
        return _Styles(frozenset(), frozenset())
    custom: dict[int, str | None] = {}
    num_fmts = _last_child(root, "numFmts")
    if num_fmts is not None:
        for fmt in _children(num_fmts, "numFmt"):
            custom[int(fmt.attrib["numFmtId"])] = fmt.get("formatCode")  # a numFmt without an id: KeyError
    cell_xfs = _last_child(root, "cellXfs")
    xfs = _children(cell_xfs, "xf") if cell_xfs is not None else []
    dates, timedeltas = set(), set()
    for idx, xf in enumerate(xfs):
        num_fmt_id = int(xf.get("numFmtId") or 0)
        code = custom[num_fmt_id] if num_fmt_id in custom else BUILTIN_FORMATS.get(num_fmt_id)
        if is_date_format(code):
            dates.add(idx)
        if is_timedelta_format(code):
            timedeltas.add(idx)
    return _Styles(frozenset(dates), frozenset(timedeltas))


def _read_shared_strings(zf: zipfile.ZipFile, part: str | None) -> list[str]:
    if part is None:
        return []
    strings: list[str] = []
    with zf.open(part) as src:
        for _, node in iterparse(src):
            if node.tag == _SI:
                strings.append(_text_content(node).replace("x005F_", ""))
                node.clear()
    return strings


def _rels(zf: zipfile.ZipFile, part: str) -> dict[str | None, tuple[str, str]]:
    """``{Id: (Type, target part)}`` of a part's relationships, targets made absolute in the zip."""
    folder, name = posixpath.split(part)
    rels_path = posixpath.join(folder, "_rels", f"{name}.rels")
    root = fromstring(zf.read(rels_path))
    parent = posixpath.split(posixpath.dirname(rels_path))[0]
    out: dict[str | None, tuple[str, str]] = {}
    for rel in _children(root, "Relationship"):
        target = rel.get("Target") or ""
        if rel.get("TargetMode") != "External":
            target = target[1:] if target.startswith("/") else posixpath.normpath(posixpath.join(parent, target))
        out[rel.get("Id")] = (rel.get("Type") or "", target)
    return out


def _workbook_part(zf: zipfile.ZipFile) -> tuple[str, str | None]:
    """(workbook part, shared strings part or None) from ``[Content_Types].xml``."""
    root = fromstring(zf.read("[Content_Types].xml"))
    overrides = [(el.get("PartName") or "", el.get("ContentType")) for el in _children(root, "Override")]
    strings = next((p[1:] for p, ct in overrides if ct == _SHARED_STRINGS_TYPE), None)
    for wanted in _WORKBOOK_TYPES:
        part = next((p for p, ct in overrides if ct == wanted), None)
        if part:
            return part[1:], strings
    defaults = {el.get("ContentType") for el in _children(root, "Default")}
    if defaults & set(_WORKBOOK_TYPES):
        return "xl/workbook.xml", strings
    raise OSError("File contains no valid workbook part")


def _first_worksheet(zf: zipfile.ZipFile, workbook: str) -> tuple[str | None, datetime]:
    """(the first worksheet's part, or None when the workbook has none; the date system's epoch)."""
    root = fromstring(zf.read(workbook))
    props = _last_child(root, "workbookPr")
    epoch = MAC_EPOCH if props is not None and _bool_attr(props.get("date1904")) else WINDOWS_EPOCH
    sheets = _last_child(root, "sheets")
    names = set(zf.namelist())
    rels: dict[str | None, tuple[str, str]] | None = None
    for sheet in list(sheets) if sheets is not None else []:
        rid = sheet.get(_REL_ID)
        if not rid:
            continue  # openpyxl drops (and warns about) a sheet without a relationship id
        if rels is None:
            rels = _rels(zf, workbook)
        rel_type, target = rels[rid]
        if target not in names or "chartsheet" in rel_type:
            continue
        return target, epoch
    return None, epoch


def _dimension(zf: zipfile.ZipFile, part: str) -> tuple[int | None, int | None]:
    """(max column, max row) of the sheet's ``<dimension>`` when it comes before the end of its data."""
    with zf.open(part) as src:
        for _, el in iterparse(src):
            if el.tag == _DIMENSION:
                ref = el.get("ref")
                if ref is None:
                    raise ValueError(f"{part}: <dimension> without a ref")
                _, _, max_col, max_row = range_boundaries(ref)
                return max_col, max_row
            if el.tag == _SHEET_DATA:
                break
            el.clear()
    return None, None


@dataclass
class XlsxSheet:
    """The first worksheet of an open workbook and what is needed to read its values."""

    zf: zipfile.ZipFile
    part: str | None  # None: the workbook has no worksheet
    shared_strings: list[str]
    styles: _Styles
    epoch: datetime
    max_col: int | None
    max_row: int | None

    @classmethod
    def open(cls, path: Path) -> XlsxSheet:
        zf = zipfile.ZipFile(path)
        try:
            workbook, strings_part = _workbook_part(zf)
            strings = _read_shared_strings(zf, strings_part)
            part, epoch = _first_worksheet(zf, workbook)
            styles = _read_styles(zf)
            max_col, max_row = _dimension(zf, part) if part is not None else (None, None)
        except BaseException:
            zf.close()
            raise
        return cls(zf, part, strings, styles, epoch, max_col, max_row)

    def close(self) -> None:
        self.zf.close()

    def rows(self) -> Iterator[tuple[Any, ...] | list[Any]]:
        """The sheet's rows of values from row 1, gaps as rows of ``None`` (see the module docstring)."""
        if self.part is None:
            raise IndexError("the workbook has no worksheet")
        max_col, max_row = self.max_col, self.max_row
        empty: tuple[Any, ...] | list[Any] = (None,) * max_col if max_col is not None else []  # openpyxl's types
        counter = idx = 1
        for idx, cells in _sheet_rows(self):
            if max_row is not None and idx > max_row:
                break
            while counter < idx:  # rows missing from the XML
                counter += 1
                yield empty
            if counter <= idx:
                counter += 1
                yield _row_values(cells, max_col)
        if max_row is not None and max_row < idx:
            for _ in range(counter, max_row + 1):
                yield empty


def _row_values(cells: list[tuple[int, Any]], max_col: int | None) -> tuple[Any, ...]:
    """A row of values from ``(column, value)`` cells, as wide as ``max_col`` (else its last cell)."""
    if not cells and not max_col:
        return ()
    width = max_col or cells[-1][0]
    if len(cells) == width and cells[-1][0] == width and cells[0][0] == 1:
        if all(cells[i][0] == i + 1 for i in range(width)):  # the usual full row, in order
            return tuple(v for _, v in cells)
    values: list[Any] = [None] * width
    for column, value in cells:
        if 1 <= column <= width:
            values[column - 1] = value
    return tuple(values)


_COLUMNS: dict[str, int] = {}


def _column(coordinate: str) -> int:
    """The column number of a cell reference like "AB12" (openpyxl's parser for anything unusual)."""
    letters = coordinate.rstrip("0123456789")
    digits = coordinate[len(letters) :]
    col = _COLUMNS.get(letters)
    if col is None or not digits.lstrip("0"):
        if letters.isascii() and letters.isalpha() and letters.isupper() and len(letters) <= 3 and digits.lstrip("0"):
            col = _COLUMNS[letters] = column_index_from_string(letters)
        else:
            return coordinate_to_tuple(coordinate)[1]  # raises for a bad reference, as openpyxl does
    return col


def _row_number(r: str | None, row_counter: int) -> int:
    """A row's number: its ``r`` attribute, else the previous row's number + 1."""
    if r is None:
        return row_counter + 1
    try:
        return int(r)
    except ValueError:
        val = float(r)
        if not val.is_integer():
            raise ValueError(f"{r} is not a valid row number") from None
        return int(val)


def _cell_value(t: str, value: Any, style: int | str, coordinate: str | None, sheet: XlsxSheet) -> Any:
    """A (non-inline) cell's value from its type ``t``, ``<v>`` text (None when empty) and style."""
    if value is None:
        return None
    if t == "n":
        value = float(value) if ("." in value or "E" in value or "e" in value) else int(value)
        if style in sheet.styles.dates:
            try:
                value = from_excel(value, sheet.epoch, timedelta=style in sheet.styles.timedeltas)
            except (OverflowError, ValueError):
                warnings.warn(
                    f"Cell {coordinate} is marked as a date but the serial value {value} is "
                    "outside the limits for dates. The cell will be treated as an error.",
                    stacklevel=2,
                )
                value = "#VALUE!"
    elif t == "s":
        value = sheet.shared_strings[int(value)]
    elif t == "b":
        value = bool(int(value))
    elif t == "d":
        value = from_ISO8601(value)
    return value


def _sheet_rows(sheet: XlsxSheet) -> Iterator[tuple[int, list[tuple[int, Any]]]]:
    """(row number, cells) of the sheet: the plain-XML fast path, else (from where it stopped) expat."""
    assert sheet.part is not None
    given = 0
    try:
        with sheet.zf.open(sheet.part) as src:
            for item in _plain_rows(src, sheet):
                yield item
                given += 1
        return
    except _NotPlain:
        pass
    with sheet.zf.open(sheet.part) as src:
        for i, item in enumerate(_parse_rows(src, sheet)):
            if i >= given:
                yield item


# -- the plain-XML fast path -------------------------------------------------------------------------
# Sheets as Excel, openpyxl and the exports write them are a flat run of <row> and <c> elements. Here
# they are read with regular expressions instead of expat (about 3x faster); the values come out of
# the same code (``_cell_value``). Anything else (CDATA, comments, a formula, rich text, a carriage
# return, an entity other than XML's five and character references, a namespace prefix …) stops the
# fast path, and the rows are read again by expat from the start, the rows already given skipped.


class _NotPlain(Exception):
    """The sheet holds XML the fast path does not read."""


_PLAIN_CHUNK = 1 << 20
_S = "[ \\t\\n]*"
_ATTRS = '((?:[ \\t\\n]+[A-Za-z_:][-\\w:.]*[ \\t\\n]*=[ \\t\\n]*"[^"<&\\t\\n\\r]*")*)[ \\t\\n]*'
# a cell: (attributes, <v> text, <is><t>…</t></is> (marks it), its text, an empty <is></is>)
_CELL = (
    f"<c{_ATTRS}(?:/>|>{_S}(?:<v>([^<]*)</v>|<v{_S}/>"
    f'|(<is>{_S}<t(?:[ \\t\\n]+xml:space="preserve")?{_S}>([^<]*)</t>{_S}</is>)'
    f"|(<is>{_S}(?:<t{_S}/>{_S})?</is>))?{_S}</c>)"
)
_ROW_RE = re.compile(f"{_S}<row{_ATTRS}(?:/>|>(.*?)</row>)", re.S)
_ATTR = re.compile('([A-Za-z_:][-\\w:.]*)[ \\t\\n]*=[ \\t\\n]*"([^"]*)"')
_SHEET_DATA_OPEN = re.compile(f"<sheetData{_S}(/?)>")
_SHEET_DATA_CLOSE = re.compile(f"{_S}</sheetData>")
_NOT_PLAIN_TEXT = re.compile("[\\r\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\ufffe\\uffff]")
_UTF8_DECLARATION = re.compile("<\\?xml[^>]*?encoding=[\"'](?!(?i:utf-8)[\"'])")
_REF = re.compile("&(?:(amp|lt|gt|quot|apos)|#([0-9]+)|#x([0-9a-fA-F]+));")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


def _unescape(text: str) -> str:
    """XML's predefined entities and character references; anything else is not plain."""
    if "&" not in text:
        return text
    if "&" in _REF.sub("", text):
        raise _NotPlain("an entity other than XML's own")

    def ref(m: re.Match[str]) -> str:
        if m.group(1):
            return _NAMED[m.group(1)]
        code = int(m.group(2)) if m.group(2) else int(m.group(3), 16)
        if not (
            code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or 0x10000 <= code <= 0x10FFFF
        ):
            raise _NotPlain("a character reference XML does not allow")
        return chr(code)

    return _REF.sub(ref, text)


@lru_cache(maxsize=4096)
def _cell_attrs(attrs: str) -> tuple[str, str | None, int | str]:
    """(t, r, s) of a cell's attribute text, as ``_row_cells`` reads them."""
    found = dict(_ATTR.findall(attrs))
    if any(":" in k for k in found):
        raise _NotPlain("a prefixed attribute")
    style: int | str = found.get("s", 0)
    if style:
        style = int(style)
    return found.get("t", "n"), found.get("r"), style


def _plain_row_matches(src: Any) -> Iterator[re.Match[str]]:
    """The <row> elements of the sheet's <sheetData>, each a match of ``_ROW_RE``, read in chunks."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    buf, prolog, final = "", None, False
    while not final:
        raw = src.read(_PLAIN_CHUNK)
        final = not raw
        buf += decoder.decode(raw, final)
        if prolog is None:
            at = buf.find("<sheetData")
            if at < 0:
                if final or len(buf) > 4 * _PLAIN_CHUNK:
                    raise _NotPlain("no <sheetData> near the start")
                continue
            opened = _SHEET_DATA_OPEN.match(buf, at)
            if opened is None or _UTF8_DECLARATION.match(buf):
                raise _NotPlain("an unusual sheet prolog")
            prolog = buf[: opened.end()]
            buf = buf[opened.end() :]
            if opened.group(1):  # <sheetData/>: no rows
                _check_tail(prolog[: opened.start()] + "<sheetData>", "</sheetData>" + buf, src, decoder)
                return
        if _NOT_PLAIN_TEXT.search(buf) or "<!" in buf or "<?" in buf:
            raise _NotPlain("a carriage return, a control character, CDATA, a comment or a processing instruction")
        pos, end = 0, len(buf)
        match = _ROW_RE.match
        while pos < end:
            m = match(buf, pos)
            if m is None:
                break
            yield m
            pos = m.end()
        buf = buf[pos:]
        closed = _SHEET_DATA_CLOSE.match(buf)
        if closed:
            _check_tail(prolog, buf[closed.start() :], src, decoder)
            return
        if final or len(buf) > 4 * _PLAIN_CHUNK:
            raise _NotPlain("something other than rows and cells in <sheetData>")
    raise _NotPlain("the sheet ends inside <sheetData>")


def _check_tail(prolog: str, tail: str, src: Any, decoder: codecs.IncrementalDecoder) -> None:
    """The sheet around its rows (prolog, and from </sheetData> on) is well-formed XML, as expat requires."""
    rest = [tail]
    while raw := src.read(_PLAIN_CHUNK):
        rest.append(decoder.decode(raw))
    rest.append(decoder.decode(b"", True))
    parser = XMLPullParser(events=("end",))
    parser.feed(prolog + "".join(rest))
    parser.close()  # ParseError, as expat raises it reading the whole sheet


# The cells Excel-like writers write most, told apart by plain string tests (no regular expression):
# (text before the value, text after it, type) of <c/>, an inline string and a number.
_USUAL_CELLS = (
    (' t="inlineStr"><is><t>', "</t></is></c>", "inlineStr"),
    (' t="inlineStr"><is><t xml:space="preserve">', "</t></is></c>", "inlineStr"),
    (' t="n"><v>', "</v></c>", "n"),
    ("><v>", "</v></c>", "n"),
    (' t="s"><v>', "</v></c>", "s"),
)
_CELL_FULL = re.compile(_CELL + _S)


def _plain_rows(src: Any, sheet: XlsxSheet) -> Iterator[tuple[int, list[tuple[int, Any]]]]:
    """``_parse_rows`` by string tests and regular expressions; raises ``_NotPlain`` where the XML is not plain."""
    row_counter = 0
    usual = _USUAL_CELLS
    for m in _plain_row_matches(src):
        row_counter = _row_number(dict(_ATTR.findall(m.group(1))).get("r"), row_counter)
        body = m.group(2)
        cells: list[tuple[int, Any]] = []
        if body:
            parts = body.split("<c")  # text holds no "<": each part is one cell without its "<c"
            if parts[0].strip(" \t\n"):
                raise _NotPlain("a row holds something other than cells")
            col = 0
            for part in parts[1:]:
                if part == "/>":
                    col += 1
                    cells.append((col, None))
                    continue
                for head, tail, t in usual:
                    if part.startswith(head) and part.endswith(tail):
                        text = part[len(head) : len(part) - len(tail)]
                        if "<" in text:
                            continue
                        col += 1
                        if t == "inlineStr":
                            cells.append((col, _unescape(text)))
                        else:
                            cells.append((col, _cell_value(t, _unescape(text) or None, 0, None, sheet)))
                        break
                else:
                    found = _CELL_FULL.fullmatch("<c" + part)
                    if found is None:
                        raise _NotPlain("a row holds something other than plain cells")
                    attrs, v, inline, text, empty_is = found.groups()
                    t, coordinate, style = _cell_attrs(attrs)
                    col = _column(coordinate) if coordinate else col + 1
                    if t == "inlineStr":
                        cells.append((col, _unescape(text) if inline else ("" if empty_is else None)))
                    else:
                        cells.append((col, _cell_value(t, _unescape(v) if v else None, style, coordinate, sheet)))
        yield row_counter, cells


def _parse_rows(src: Any, sheet: XlsxSheet) -> Iterator[tuple[int, list[tuple[int, Any]]]]:
    """(row number, [(column, value)…]) of each ``<row>``, as openpyxl's ``WorkSheetParser`` reads them."""
    row_counter = 0
    parser = XMLPullParser(events=("end",))
    # events=("end",) only: every event is ("end", element)
    events = cast(Callable[[], Iterator[tuple[str, Element]]], parser.read_events)
    read = src.read
    ended = False
    while not ended:  # iterparse without its generator layers: feed a chunk, then take the rows it ended
        chunk = read(_CHUNK)
        if chunk:
            parser.feed(chunk)
        else:
            parser.close()
            ended = True
        for _, row in events():
            if row.tag == _ROW:
                row_counter, cells = _row_cells(row, row_counter, sheet)
                row.clear()
                yield row_counter, cells


def _row_cells(row: Element, row_counter: int, sheet: XlsxSheet) -> tuple[int, list[tuple[int, Any]]]:
    """(this row's number, its (column, value) cells); ``row_counter``: the previous row's number."""
    row_counter = _row_number(row.get("r"), row_counter)
    col = 0
    cells: list[tuple[int, Any]] = []
    value: Any  # the cell's text, then its typed value
    for c in row:
        t = c.get("t", "n")
        coordinate = c.get("r")
        style = c.get("s", 0)
        if style:
            style = int(style)
        if coordinate:
            col = _column(coordinate)
        else:
            col += 1
        if t == "inlineStr":
            child = c.find(_INLINE)
            if child is None:
                value = None
            elif len(child) == 1 and child[0].tag == _T:  # the usual <is><t>text</t></is>
                value = child[0].text or ""
            else:
                value = _text_content(child)
            cells.append((col, value))
            continue
        value = _cell_value(t, c.findtext(_VALUE, None) or None, style, coordinate, sheet)
        cells.append((col, value))
    return row_counter, cells


def xlsx_rows(path: Path) -> Iterator[tuple[Any, ...] | list[Any]]:
    """The rows of values of the workbook's first worksheet (opened at the first ``next()``)."""
    sheet = XlsxSheet.open(path)
    try:
        yield from sheet.rows()
    finally:
        sheet.close()
