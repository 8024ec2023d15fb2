"""The exports' streaming xlsx writer, read back with openpyxl: types, styles, formulas with cached values."""

from __future__ import annotations

import zipfile
from datetime import date, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from douyin_etl.access import xlsx_writer as xw


def test_col_letter():
    assert [xw.col_letter(i) for i in (0, 25, 26, 51, 52, 701, 702)] == ["A", "Z", "AA", "AZ", "BA", "ZZ", "AAA"]


def test_workbook_round_trip(tmp_path):
    path = tmp_path / "t.xlsx"
    columns = [
        xw.Column("id 编号", 22, "s", xw.TEXT),
        xw.Column("day", 12, "n", xw.DATE),
        xw.Column("at", 20, "n", xw.DATETIME),
        xw.Column("元", 14, "n", xw.YUAN),
        xw.Column("n", 8, "n", xw.INT),
        xw.Column("ok", 6, "b"),
    ]
    rows = [
        ("6920000000000000001", "46300", "46300.5000000000", "1234.50", "3", "true"),
        (" <a&b> ", "46301", None, "-0.05", "-1", "false"),
        ("x\x01y", None, None, None, None, None),
    ]
    with xw.XlsxWriter(path) as wb:
        sheet = wb.add_sheet("data 数据", columns)
        sheet.write_header()
        assert sheet.write_rows(rows) == 3
        sheet.write_cells(
            [
                xw.Text("合计", xw.BOLD),
                None,
                None,
                xw.Formula("SUBTOTAL(109,D2:D4)", "1234.45", xw.YUAN_TOTAL),
                xw.Formula("SUBTOTAL(109,E2:E4)", "2", xw.INT_TOTAL),
            ]
        )
        sheet.finish(autofilter_last_row=4)
        other = wb.add_sheet("other: [x]", [xw.Column("a")])
        other.write_cells([xw.Number("7")])

    wb = load_workbook(path)
    assert wb.sheetnames == ["data 数据", "other_ _x_"]
    ws = wb["data 数据"]
    assert [c.value for c in ws[1]] == [c.header for c in columns]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:F4"
    assert ws.column_dimensions["A"].width == 22
    a2 = ws["A2"]
    assert a2.value == "6920000000000000001" and a2.data_type == "s" and a2.number_format == "@"
    assert ws["B2"].value == datetime(2026, 10, 5) and ws["B2"].is_date and ws["B2"].number_format == "yyyy-mm-dd"
    assert ws["C2"].value == datetime(2026, 10, 5, 12, 0)
    assert ws["D2"].value == 1234.5 and ws["D2"].number_format == xw.YUAN_FORMAT
    assert ws["E2"].value == 3 and ws["E2"].number_format == xw.INT_FORMAT
    assert ws["F2"].value is True and ws["F3"].value is False
    assert ws["A3"].value == " <a&b> "  # spaces kept, markup escaped
    assert ws["A4"].value == "xy" and ws["B4"].value is None  # control characters dropped, None = empty
    assert ws["D5"].value == "=SUBTOTAL(109,D2:D4)" and ws["D5"].font.b
    assert ws["A5"].value == "合计"
    values = load_workbook(path, data_only=True)["data 数据"]
    assert Decimal(str(values["D5"].value)) == Decimal("1234.45")
    assert values["E5"].value == 2
    with zipfile.ZipFile(path) as z:  # Excel's hidden name for the filter range (openpyxl hides it)
        assert '<definedName name="_xlnm._FilterDatabase" localSheetId="0" hidden="1">\'data 数据\'!$A$1:$F$4' in (
            z.read("xl/workbook.xml").decode()
        )
    assert wb["other_ _x_"]["A1"].value == 7


def test_duplicate_sheet_name_and_failed_write(tmp_path):
    path = tmp_path / "t.xlsx"
    with pytest.raises(ValueError, match="duplicate sheet"):
        with xw.XlsxWriter(path) as wb:
            wb.add_sheet("a", [xw.Column("x")])
            wb.add_sheet("a", [xw.Column("x")])


def test_excel_serial_dates_are_what_duckdb_renders():
    """The export renders dates as ``date_diff('day', 1899-12-30, d)``: Excel's serial for dates after 1900-03-01."""
    assert (date(2026, 10, 5) - date(1899, 12, 30)).days == 46300
