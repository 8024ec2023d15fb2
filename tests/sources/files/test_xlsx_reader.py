"""The streaming XLSX reader (``douyin_etl.sources.files.xlsx``) yields exactly what openpyxl's read-only,
data-only reader yields: same rows, same values, same Python types, for every XLSX the simulator writes,
workbooks openpyxl writes (dates, times, durations, 1904 dates, floats, ints, bools, gaps, shared strings,
rich text, formulas) and hand-written Excel-style packages (shared rich strings, error cells, cached
formula strings, ISO dates, rows and cells without references, a first sheet that is not sheet1.xml,
dimensions smaller or larger than the data, or none)."""

from __future__ import annotations

import zipfile
from datetime import date, datetime, time, timedelta
from pathlib import Path

import openpyxl
import pytest
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from douyin_etl.sources.files.read import open_table
from douyin_etl.sources.files.xlsx import xlsx_rows

simulator = pytest.importorskip("douyin_sim.simulator")


def _openpyxl_rows(path: Path) -> list:
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        return list(wb.worksheets[0].iter_rows(values_only=True))
    finally:
        wb.close()


def _typed(rows: list) -> str:
    """Rows with each value's type: 1, 1.0 and True differ; repr so that NaN equals NaN."""
    return repr([(type(row).__name__, [(type(v).__name__, v) for v in row]) for row in rows])


def assert_same_as_openpyxl(path: Path) -> list:
    expected = _openpyxl_rows(path)
    got = list(xlsx_rows(path))
    assert _typed(got) == _typed(expected), path.name
    return got


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sim") / "world"
    simulator.generate_world(out, seed=11, start=date(2026, 3, 1), days=3, shops=2, orders_per_day=20)
    return out


def test_every_simulated_xlsx_reads_as_openpyxl_reads_it(world):
    files = sorted((world / "drops").rglob("*.xlsx"))
    assert len({f.name.split("_")[0] for f in files}) >= 4, files  # freight, stock, cost, settlement …
    rows = sum(len(assert_same_as_openpyxl(f)) for f in files)
    assert rows > len(files)


def test_openpyxl_written_workbook_with_every_kind_of_cell(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["text", "int", "float", "bool", "datetime", "date", "time", "duration", "formula", "empty"])
    ws.append(
        [
            "运单号 SF1",
            123,
            1.5,
            True,
            datetime(2026, 3, 1, 8, 30, 15),
            date(2026, 3, 1),
            time(13, 5),
            timedelta(hours=30, minutes=5),
            "=B2*2",
            None,
        ]
    )
    ws.append(
        [
            "  spaced  ",
            -7,
            1e3,
            False,
            datetime(1900, 2, 28),
            date(1900, 1, 1),
            time(0, 0, 1, 500_000),
            timedelta(minutes=1),
            "=A2",
            "",
        ]
    )
    ws.append(
        [
            "a&b<c>\"'",
            2**53,
            0.1 + 0.2,
            None,
            datetime(2026, 12, 31, 23, 59, 59, 999_000),
            None,
            None,
            None,
            None,
            "x005F_y",
        ]
    )
    ws.append(["1E3", "00123", 1.0, None, None, None, None, None, None, None])
    ws.cell(row=9, column=3, value="after a gap of three rows")
    ws.cell(row=10, column=12, value=4.25)  # beyond the header's width
    ws["A11"] = CellRichText("plain ", TextBlock(InlineFont(b=True), "bold"), " tail")
    ws["B11"] = 44_000
    ws["B11"].number_format = "yyyy-mm-dd"
    ws["C11"] = 0.75
    ws["C11"].number_format = "h:mm"
    ws["D11"] = 1.25
    ws["D11"].number_format = "[h]:mm:ss"
    ws["E11"] = 45_000.5
    ws["E11"].number_format = "0.00%"
    ws["F11"] = 59
    ws["F11"].number_format = "d-mmm-yy"  # Excel's 1900 leap-year bug: serials below 60
    ws.cell(row=13, column=1)  # a cell without a value: an empty row
    path = tmp_path / "all.xlsx"
    wb.save(path)
    rows = assert_same_as_openpyxl(path)
    assert rows[1][:8] == (
        "运单号 SF1",
        123,
        1.5,
        True,
        datetime(2026, 3, 1, 8, 30, 15),
        datetime(2026, 3, 1),
        time(13, 5),
        timedelta(hours=30, minutes=5),
    )
    assert rows[5] == rows[6] == rows[7] == (None,) * 12  # the gap, full width


def test_a_1904_workbook_and_a_second_sheet(tmp_path):
    wb = openpyxl.Workbook()
    wb.epoch = CALENDAR_MAC_1904
    wb.active.append(["d", "n"])
    wb.active.append([datetime(2026, 3, 1, 12), 1])
    wb.create_sheet("other").append(["not read"])
    path = tmp_path / "mac.xlsx"
    wb.save(path)
    assert assert_same_as_openpyxl(path) == [("d", "n"), (datetime(2026, 3, 1, 12), 1)]


def test_write_only_workbooks_as_the_exports_write_them(tmp_path):
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("data")
    ws.append(["a", "b", "c"])
    for i in range(50):
        ws.append([f"r{i}", i * 1.25, None if i % 3 else date(2026, 3, 1 + i % 28)])
    ws.append([])
    ws.append(["合计", 1234.5])
    path = tmp_path / "wo.xlsx"
    wb.save(path)
    assert_same_as_openpyxl(path)


# -- hand-written Excel-style packages ------------------------------------------------------------------
_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_R_NS = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
_CT_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml"

_SHARED = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<sst {_NS} count="6" uniqueCount="6">
<si><t>运单号</t></si>
<si><t xml:space="preserve">  padded  </t></si>
<si><r><rPr><b/><sz val="11"/></rPr><t>rich </t></r><r><t>text</t></r></si>
<si><t>ｶﾀｶﾅ</t><rPh sb="0" eb="1"><t>phonetic, left out</t></rPh></si>
<si><t>x005F_x000D_ escaped</t></si>
<si><t/></si>
</sst>"""

_STYLES = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet {_NS}>
<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy/m/d\\ h:mm"/><numFmt numFmtId="165" formatCode="[h]:mm"/></numFmts>
<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>
<fills count="1"><fill><patternFill patternType="none"/></fill></fills>
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>
<cellXfs count="5"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>
<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="4" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>
</styleSheet>"""

_ROWS = """<row r="1" spans="1:6"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c><c r="D1" t="s"><v>3</v></c><c r="E1" t="s"><v>4</v></c><c r="F1" t="s"><v>5</v></c></row>
<row r="2"><c r="A2"><v>123</v></c><c r="B2"><v>1.5</v></c><c r="C2"><v>1E3</v></c><c r="D2"><v>-0.25</v></c><c r="E2" t="b"><v>1</v></c><c r="F2" t="b"><v>0</v></c></row>
<row r="3"><c r="A3" s="1"><v>46082</v></c><c r="B3" s="2"><v>46082.5208333333</v></c><c r="C3" s="3"><v>1.75</v></c><c r="D3" s="1"><v>0.5</v></c><c r="E3" s="1"><v>59</v></c><c r="F3" s="4"><v>1234.5</v></c></row>
<row r="4"><c r="A4" t="e"><v>#DIV/0!</v></c><c r="B4" t="str"><f>A1&amp;"x"</f><v>运单号x</v></c><c r="C4" t="d"><v>2026-03-01T08:30:00</v></c><c r="D4" t="d"><v>2026-03-02</v></c><c r="E4"><f>SUM(A2:B2)</f></c><c r="F4" t="inlineStr"><is><r><t>in</t></r><r><rPr><i/></rPr><t>line</t></r></is></c></row>
<row r="7"><c r="B7" t="inlineStr"><is><t>a &amp; b &lt;c&gt;</t></is></c><c r="D7"><v></v></c><c r="E7" t="inlineStr"/><c r="F7" s="1"/></row>
<row r="8"/>
<row><c t="inlineStr"><is><t>no refs</t></is></c><c><v>2</v></c><c r="E9"><v>5</v></c><c><v>6</v></c></row>
<row r="10"><c r="H10"><v>8</v></c></row>
<row r="12"><c r="A12" t="s"><v>0</v></c></row>"""


def _package(path: Path, dimension: str | None, *, date1904: bool = False, shared: bool = True) -> Path:
    sheet = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet {_NS} {_R_NS}>'
        + (f'<dimension ref="{dimension}"/>' if dimension else "")
        + f'<sheetViews><sheetView workbookViewId="0"/></sheetViews><sheetData>{_ROWS}</sheetData>'
        + '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>'
    )
    workbook = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook {_NS} {_R_NS}>'
        + ('<workbookPr date1904="1"/>' if date1904 else '<workbookPr defaultThemeVersion="124226"/>')
        + '<sheets><sheet name="数据" sheetId="2" r:id="rId2"/><sheet name="Sheet1" sheetId="1" r:id="rId1"/>'
        + "</sheets></workbook>"
    )
    rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="/xl/worksheets/sheet2.xml"/>'
        '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
        '<Relationship Id="rId4" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
        "</Relationships>"
    )
    types = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{_CT_MAIN}.sheet.main+xml"/>'
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_CT_MAIN}.worksheet+xml"/>'
        f'<Override PartName="/xl/worksheets/sheet2.xml" ContentType="{_CT_MAIN}.worksheet+xml"/>'
        f'<Override PartName="/xl/styles.xml" ContentType="{_CT_MAIN}.styles+xml"/>'
        + (f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_CT_MAIN}.sharedStrings+xml"/>' if shared else "")
        + "</Types>"
    )
    root_rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>"
    )
    other = sheet.replace(_ROWS, '<row r="1"><c r="A1" t="inlineStr"><is><t>the second sheet</t></is></c></row>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", types)
        z.writestr("_rels/.rels", root_rels)
        z.writestr("xl/workbook.xml", workbook)
        z.writestr("xl/_rels/workbook.xml.rels", rels)
        z.writestr("xl/styles.xml", _STYLES)
        if shared:
            z.writestr("xl/sharedStrings.xml", _SHARED)
        z.writestr("xl/worksheets/sheet1.xml", other)  # listed second in workbook.xml: not the first sheet
        z.writestr("xl/worksheets/sheet2.xml", sheet)
    return path


@pytest.mark.parametrize("dimension", ["A1:F12", None, "A1:D5", "A1:J15", "A1", "B2:C3"])
@pytest.mark.parametrize("date1904", [False, True])
def test_excel_style_package(tmp_path, dimension, date1904):
    rows = assert_same_as_openpyxl(_package(tmp_path / "excel.xlsx", dimension, date1904=date1904))
    if dimension == "A1:F12" and not date1904:
        assert rows[0] == ("运单号", "  padded  ", "rich text", "ｶﾀｶﾅ", "x000D_ escaped", "")
        assert rows[1] == (123, 1.5, 1000.0, -0.25, True, False)
        assert rows[2][:5] == (
            datetime(2026, 3, 1),
            datetime(2026, 3, 1, 12, 30),
            timedelta(hours=42),
            time(12),
            datetime(1900, 2, 28),
        )
        assert rows[3] == ("#DIV/0!", "运单号x", datetime(2026, 3, 1, 8, 30), date(2026, 3, 2), None, "inline")
        assert rows[4] == rows[5] == (None,) * 6


def test_shared_string_index_out_of_range_is_a_damaged_file(tmp_path):
    from douyin_etl.sources.files.errors import FileIngestError

    path = _package(tmp_path / "运费账单_shunfeng_20260301.xlsx", "A1:F12", shared=False)
    with pytest.raises(
        FileIngestError,
        match=r"运费账单_shunfeng_20260301.xlsx.*unreadable or damaged XLSX after row 0 "
        r"\(IndexError",
    ):
        open_table(path)  # the header row refers to shared strings the package lacks


def test_open_table_rows_match_openpyxl_for_a_simulated_file(world):
    path = sorted((world / "drops").rglob("运费账单_*.xlsx"))[0]
    table = open_table(path)
    expected = _openpyxl_rows(path)
    assert table.header == list(expected[0])
    assert [(n, cells) for n, cells in table.rows] == [(n, list(r)) for n, r in enumerate(expected[1:], start=2)]


# -- the plain-XML fast path ------------------------------------------------------------------------------
def _both_ways(path: Path) -> tuple[list, list]:
    """(rows by the fast path, rows by expat) of the first sheet; the fast path may raise ``_NotPlain``."""
    from douyin_etl.sources.files import xlsx

    sheet = xlsx.XlsxSheet.open(path)
    try:
        assert sheet.part is not None
        with sheet.zf.open(sheet.part) as src:
            by_expat = list(xlsx._parse_rows(src, sheet))
        with sheet.zf.open(sheet.part) as src:
            fast = list(xlsx._plain_rows(src, sheet))
        return fast, by_expat
    finally:
        sheet.close()


def test_the_fast_path_reads_every_simulated_xlsx_itself_and_as_expat_does(world):
    files = sorted((world / "drops").rglob("*.xlsx"))
    for path in files:
        fast, by_expat = _both_ways(path)  # no _NotPlain: these sheets are plain
        assert _typed(fast) == _typed(by_expat), path.name


_PLAIN_ROWS = """<row r="1" spans="1:6"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c><c r="D1" t="s"><v>3</v></c><c r="E1" t="s"><v>4</v></c><c r="F1" t="s"><v>5</v></c></row>
<row r="2"><c r="A2"><v>123</v></c><c r="B2"><v>1.5</v></c><c r="C2"><v>1E3</v></c><c r="D2"><v>-0.25</v></c><c r="E2" t="b"><v>1</v></c><c r="F2" t="b"><v>0</v></c></row>
<row r="3"><c r="A3" s="1"><v>46082</v></c><c r="B3" s="2"><v>46082.5208333333</v></c><c r="C3" s="3"><v>1.75</v></c><c r="D3" s="1"><v>0.5</v></c><c r="E3" s="1"><v>59</v></c><c r="F3" s="4"><v>1234.5</v></c></row>
<row r="4"><c r="A4" t="e"><v>#DIV/0!</v></c><c r="B4" t="str"><v>运单号x</v></c><c r="C4" t="d"><v>2026-03-01T08:30:00</v></c><c r="D4" t="d"><v>2026-03-02</v></c><c r="E4"/><c r="F4" t="inlineStr"><is><t xml:space="preserve"> in line </t></is></c></row>
<row r="7"><c r="B7" t="inlineStr"><is><t>a &amp; b &lt;c&gt; &#x4E2D;&#25991; &quot;q&apos;</t></is></c><c r="D7"><v></v></c><c r="E7" t="inlineStr"/><c r="F7" s="1"/></row>
<row r="8"/>
<row>
  <c t="inlineStr"><is><t>no refs</t></is></c>
  <c><v>2</v></c><c r="E9"><v>5</v></c><c><v>6</v></c><c t="inlineStr"><is></is></c><c t="inlineStr"><is><t/></is></c>
</row>
<row r="10"><c r="H10"><v>8</v></c></row>
<row r="12"><c r="A12" t="s"><v>0</v></c></row>"""


@pytest.mark.parametrize("dimension", ["A1:F12", None, "A1:D5"])
def test_the_fast_path_reads_excel_style_cells_as_openpyxl_does(tmp_path, dimension):
    path = _package_with(tmp_path / "plain.xlsx", _PLAIN_ROWS, dimension)
    fast, by_expat = _both_ways(path)
    assert _typed(fast) == _typed(by_expat)
    rows = assert_same_as_openpyxl(path)
    if dimension == "A1:F12":
        assert rows[3][5] == " in line "
        assert rows[6][1] == "a & b <c> 中文 \"q'"


def _package_with(path: Path, rows: str, dimension: str | None) -> Path:
    """``_package`` with other rows in its first sheet."""
    _package(path, dimension)
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    parts["xl/worksheets/sheet2.xml"] = parts["xl/worksheets/sheet2.xml"].decode().replace(_ROWS, rows).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return path


@pytest.mark.parametrize(
    "odd",
    [
        '<c r="C5"><f>SUM(A2:B2)</f><v>3</v></c>',  # a formula
        '<c r="C5" t="inlineStr"><is><r><t>ri</t></r><r><t>ch</t></r></is></c>',  # rich inline text
        '<!-- a comment --><c r="C5"><v>3</v></c>',
        '<c r="C5" t="str"><v><![CDATA[<raw>]]></v></c>',
        '<c r="C5" t="inlineStr"><is><t>carriage\r\nreturn</t></is></c>',
    ],
)
def test_xml_the_fast_path_does_not_read_is_read_by_expat_from_the_start(tmp_path, odd):
    from douyin_etl.sources.files import xlsx

    rows = _PLAIN_ROWS.replace('<row r="7">', f'<row r="5">{odd}</row><row r="7">')
    path = _package_with(tmp_path / "odd.xlsx", rows, "A1:H12")
    with pytest.raises(xlsx._NotPlain):
        _both_ways(path)
    got = assert_same_as_openpyxl(path)  # the rows before row 5 came from the fast path, the rest from expat
    assert got[4][2] in (3, "rich", "<raw>", "carriage\nreturn")
    assert got[6][1] == "a & b <c> 中文 \"q'"  # row 7, after the odd one
