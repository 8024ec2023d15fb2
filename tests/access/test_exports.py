"""Finance exports: every format read back, totals equal the marts to the fen (Decimal), headers, BOM, cells."""

from __future__ import annotations

import csv
import re
from datetime import date, datetime
from decimal import Decimal

import duckdb
import pytest
from openpyxl import load_workbook

from douyin_etl.access.export_spec import CHINESE_LABELS, EXPORT_TABLES, chinese_header, export_table
from douyin_etl.access.exports import (
    COLUMNS_SHEET,
    INFO_SHEET,
    TECH_SHEET,
    TOTAL_LABEL,
    YUAN_FORMAT,
    ExportError,
    export_finance,
    parse_period,
    split_list,
)
from douyin_etl.access.query import WarehouseMissing


def _month(published) -> str:
    return published.first_day.strftime("%Y-%m")


def _mart_totals(mart, published, relation: str, date_col: str, period, shops=None) -> tuple[int, dict[str, object]]:
    con = duckdb.connect(str(published.warehouse), read_only=True)
    try:
        cols = [
            (n, t)
            for n, t, *_ in con.execute(f"DESCRIBE {relation}").fetchall()
            if str(t).startswith(("DECIMAL", "BIGINT"))
        ]
        where = f"{date_col} BETWEEN DATE '{period.start}' AND DATE '{period.end}'"
        if shops:
            where += " AND shop_id IN (" + ", ".join(f"'{s}'" for s in shops) + ")"
        row = con.execute(
            f"SELECT count(*), {', '.join(f'SUM({n})' for n, _ in cols)} FROM {relation} WHERE {where}"
        ).fetchone()
    finally:
        con.close()
    return row[0], {n: v for (n, _), v in zip(cols, row[1:])}


def _dec(v) -> Decimal:
    """A number read back from a file, as an exact Decimal (xlsx stores text like 1234.5)."""
    return Decimal(str(v)) if v is not None and v != "" else Decimal(0)


def test_parse_period_and_lists():
    p = parse_period("2024-02")
    assert (p.start, p.end, p.label) == (date(2024, 2, 1), date(2024, 2, 29), "2024-02")
    assert parse_period("2026-10-05").start == parse_period("2026-10-05").end == date(2026, 10, 5)
    r = parse_period("2026-10-01..2026-10-15")
    assert (r.start, r.end) == (date(2026, 10, 1), date(2026, 10, 15))
    for bad in ("2026-13", "2026/10", "2026-10-15..2026-10-01", "oct"):
        with pytest.raises(ExportError):
            parse_period(bad)
    assert split_list(["a,b", " c ", "a"]) == ["a", "b", "c"]
    with pytest.raises(KeyError, match="choose from"):
        export_table("ledger")


def test_every_export_column_has_chinese_header_and_description(published):
    con = duckdb.connect(str(published.warehouse), read_only=True)
    try:
        for spec in EXPORT_TABLES:
            names = [r[0] for r in con.execute(f"DESCRIBE {spec.relation}").fetchall()]
            assert spec.date_column in names
            missing = [n for n in names if chinese_header(n) == n]
            assert not missing, f"{spec.relation}: add Chinese headers for {missing} in export_spec.py"
    finally:
        con.close()


def _expected_total(totals: dict[str, object], name: str) -> Decimal:
    """A sheet column's total from the mart's sums: a yuan column the mart has, or one derived from ``x_fen``."""
    if name in totals:
        return Decimal(totals[name] or 0)
    fen = name[: -len("_yuan")] + "_fen"
    return Decimal(totals[fen] or 0) / 100


def test_xlsx_workbook(published, mart, tmp_path):
    result = export_finance(_month(published), fmt="xlsx", out_dir=tmp_path, warehouse=published.warehouse)
    assert result.files == [tmp_path / f"douyin_finance_{_month(published)}.xlsx"]
    assert not list(tmp_path.glob(".tmp-*"))
    wb = load_workbook(result.files[0])  # formulas
    cached = load_workbook(result.files[0], data_only=True)  # the formulas' cached values
    assert wb.sheetnames == [
        "reconciliation 订单对账",
        "settlements 结算明细",
        "fees 费用汇总",
        "pnl 日利润",
        TECH_SHEET,
        COLUMNS_SHEET,
        INFO_SHEET,
    ]
    checked_money = 0
    for spec, table in zip(EXPORT_TABLES, result.tables):
        ws, wv = wb[wb.sheetnames[EXPORT_TABLES.index(spec)]], cached[wb.sheetnames[EXPORT_TABLES.index(spec)]]
        rows, totals = _mart_totals(mart, published, spec.relation, spec.date_column, result.period)
        assert rows > 0, f"{spec.relation} has no rows in {result.period}: the test world is too small"
        assert table.rows == rows
        header = [c.value for c in ws[1]]
        assert header == [c.name for c in table.columns]
        # yuan only, and first: no fen column; the amounts come right after the descriptive columns
        assert not [h for h in header if h.endswith("_fen")]
        kinds = ["yuan" if h.endswith("_yuan") else "other" for h in header]
        first, last = kinds.index("yuan"), len(kinds) - 1 - kinds[::-1].index("yuan")
        assert set(kinds[first : last + 1]) == {"yuan"}, header
        assert all(ws.cell(2, j + 1).number_format != "#,##0" for j in range(first)), "a count before the amounts"
        fen_cols = [n for n in totals if n.endswith("_fen")]
        assert {n[:-4] + "_yuan" for n in fen_cols} <= set(header), "every fen amount is shown in yuan"
        assert ws.freeze_panes == "A2"
        assert ws.auto_filter.ref == f"A1:{ws.cell(1, len(header)).column_letter}{rows + 1}"
        assert ws.max_row == rows + 2  # header + data + totals
        assert ws.cell(rows + 2, 1).value == TOTAL_LABEL
        for j, name in enumerate(header):
            if name not in table.totals:
                if j:  # codes, rates and dates are not summed
                    assert ws.cell(rows + 2, j + 1).value is None, name
                continue
            letter = ws.cell(1, j + 1).column_letter
            # a formula that follows the filter, whose cached value is the mart's total to the fen
            assert ws.cell(rows + 2, j + 1).value == f"=SUBTOTAL(109,{letter}2:{letter}{rows + 1})", name
            expected = _expected_total(totals, name)
            assert _dec(wv.cell(rows + 2, j + 1).value) == expected, (spec.name, name)
            data_sum = sum((_dec(ws.cell(i, j + 1).value) for i in range(2, rows + 2)), Decimal(0))
            assert data_sum == expected, (spec.name, name)
            if name.endswith("_yuan"):
                assert ws.cell(2, j + 1).number_format == YUAN_FORMAT
                assert ws.cell(rows + 2, j + 1).number_format == YUAN_FORMAT
                assert isinstance(ws.cell(2, j + 1).value, (int, float))  # a number, not text
                checked_money += 1
        d = header.index(spec.date_column)
        first_date = ws.cell(2, d + 1)
        assert isinstance(first_date.value, datetime) and first_date.is_date
        assert result.period.start <= first_date.value.date() <= result.period.end
        sid = ws.cell(2, header.index("shop_id") + 1)
        assert sid.data_type == "s"  # ids stay text (no float rounding of long ids)
        assert ws.column_dimensions["A"].width >= 8
        if spec.name == "settlements":  # instants are Asia/Shanghai local: their date is the business date
            at, day = header.index("settle_at") + 1, header.index("settle_date") + 1
            assert all(ws.cell(i, at).value.date() == ws.cell(i, day).value.date() for i in range(2, rows + 2))
            assert "trade_type" not in table.totals  # codes and rates are not summed
    assert checked_money >= 40
    # the technical sheet: every fen column's total, equal to the mart's, in fen
    tech = list(wb[TECH_SHEET].iter_rows(min_row=2, values_only=True))
    assert tech, "the technical sheet lists the fen totals"
    marts = {
        t.name: _mart_totals(mart, published, t.relation, export_table(t.name).date_column, result.period)
        for t in result.tables
    }
    for table_name, _, column, _, fen, yuan, n in tech:
        count, totals = marts[table_name]
        assert fen == totals[column] and _dec(yuan) == Decimal(fen) / 100 and n == count, (table_name, column)
    assert {(r[0], r[2]) for r in tech} >= {("reconciliation", "difference_fen"), ("pnl", "contribution_margin_fen")}
    # the column sheet describes every exported column with its Chinese header and unit
    cols = list(wb[COLUMNS_SHEET].iter_rows(min_row=2, values_only=True))
    assert len(cols) == sum(len(t.columns) + len(t.fen_columns) for t in result.tables)
    by_key = {(r[0], r[1]): r for r in cols}
    row = by_key[("pnl", "contribution_margin_yuan")]
    assert row[2] == "贡献毛利(元)" and "yuan" in row[4] and row[5]
    row = by_key[("reconciliation", "difference_yuan")]  # derived from difference_fen
    assert row[2] == "差额(元)" and "yuan" in row[4] and "difference_fen / 100" in row[5]
    assert all(r[2] and r[5] for r in cols), [r[:2] for r in cols if not (r[2] and r[5])]


def test_chinese_labels_in_xlsx(published, mart, tmp_path):
    result = export_finance(
        _month(published),
        fmt="xlsx",
        tables=["reconciliation", "settlements"],
        chinese_headers=True,
        out_dir=tmp_path,
        warehouse=published.warehouse,
    )
    wb = load_workbook(result.files[0], read_only=True)
    recon = list(wb["reconciliation 订单对账"].iter_rows(values_only=True))
    header, data = recon[0], recon[1:-1]
    assert header[:5] == ("子订单号", "订单号", "店铺ID", "商品ID", "商品名称")
    status, reason = header.index("对账状态"), header.index("差异原因")
    labels = CHINESE_LABELS["status"]
    counts = dict(
        mart(
            published,
            "SELECT status, count(*) FROM finance.fin_order_reconciliation "
            f"WHERE pay_date BETWEEN DATE '{result.period.start}' AND DATE '{result.period.end}' GROUP BY 1",
        )
    )
    assert {labels[k]: v for k, v in counts.items()} == {
        s: sum(1 for r in data if r[status] == s) for s in {r[status] for r in data}
    }
    assert {r[reason] for r in data} <= set(CHINESE_LABELS["reason"].values()) | {None}
    settle = list(wb["settlements 结算明细"].iter_rows(max_row=3, values_only=True))
    kind = settle[0].index("结算类型名称")
    assert settle[1][kind] in CHINESE_LABELS["trade_type_name"].values()
    values = {r[1]: r[6] for r in wb[COLUMNS_SHEET].iter_rows(min_row=2, values_only=True) if len(r) > 6 and r[6]}
    assert "discrepancy=差异" in values["status"] and "fee_mismatch=费用不符" in values["reason"]


def test_csv_bom_chinese_headers_and_exact_decimals(published, mart, tmp_path):
    result = export_finance(
        _month(published), fmt="csv", out_dir=tmp_path, chinese_headers=True, warehouse=published.warehouse
    )
    assert [p.name for p in result.files] == [f"douyin_finance_{_month(published)}_{s.name}.csv" for s in EXPORT_TABLES]
    for spec, table in zip(EXPORT_TABLES, result.tables):
        raw = table.path.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf"), "Excel needs the UTF-8 BOM to show Chinese text"
        with open(table.path, encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.reader(fh))
        header, data = rows[0], rows[1:]
        assert header == [chinese_header(c.name) for c in table.columns]
        names = [c.name for c in table.columns]
        # yuan first, fen at the right end (exact integers for machines)
        fen = [i for i, n in enumerate(names) if n.endswith("_fen")]
        assert fen == list(range(len(names) - len(fen), len(names)))
        count, totals = _mart_totals(mart, published, spec.relation, spec.date_column, result.period)
        assert len(data) == count
        # ids are text behind a tab, so Excel keeps all their digits
        sid = names.index("shop_id")
        assert all(r[sid].startswith("\t") and r[sid][1:].isdigit() for r in data)
        for name in set(totals) | {n for n in names if n.endswith("_yuan")}:
            j = names.index(name)
            if name.endswith("_yuan"):
                assert all(re.fullmatch(r"-?\d+\.\d{2}", r[j]) for r in data if r[j]), name
            assert sum((_dec(r[j]) for r in data), Decimal(0)) == _expected_total(totals, name), (spec.name, name)
        if spec.name == "reconciliation":
            status = names.index("status")
            assert {r[status] for r in data} <= set(CHINESE_LABELS["status"].values())


def test_parquet_and_shop_filter(published, mart, tmp_path):
    con = duckdb.connect(str(published.warehouse), read_only=True)
    shop = con.execute("SELECT min(shop_id) FROM finance.fin_pnl_daily").fetchone()[0]
    con.close()
    result = export_finance(
        _month(published),
        fmt="parquet",
        shops=[shop],
        tables=["pnl,settlements"],
        out_dir=tmp_path,
        warehouse=published.warehouse,
    )
    assert [t.name for t in result.tables] == ["pnl", "settlements"]
    reader = duckdb.connect()
    for table in result.tables:
        spec = export_table(table.name)
        count, totals = _mart_totals(mart, published, spec.relation, spec.date_column, result.period, [shop])
        got = reader.execute(f"SELECT count(*), count(DISTINCT shop_id), max(shop_id) FROM '{table.path}'").fetchone()
        assert got == (count, 1, shop)
        for name, expected in totals.items():
            s = reader.execute(f"SELECT SUM({name}) FROM '{table.path}'").fetchone()[0]
            assert s == expected, (table.name, name)
            assert table.totals[name] == expected
        types = {r[0]: r[1] for r in reader.execute(f"DESCRIBE SELECT * FROM '{table.path}'").fetchall()}
        assert types[spec.date_column] == "DATE"
        assert any(str(t).startswith("DECIMAL(18,2)") for t in types.values())


def test_empty_period_unknown_shop_and_missing_warehouse(published, tmp_path):
    empty = export_finance("2001-01", fmt="csv", tables=["fees"], out_dir=tmp_path, warehouse=published.warehouse)
    assert empty.tables[0].rows == 0 and empty.tables[0].totals["net_settlement_fen"] == 0
    assert "no rows in the period" in empty.summary()
    assert len(empty.files[0].read_text(encoding="utf-8-sig").splitlines()) == 1  # the header only
    with pytest.raises(ExportError, match="unknown shop id"):
        export_finance(_month(published), shops=["no-such-shop"], out_dir=tmp_path, warehouse=published.warehouse)
    with pytest.raises(WarehouseMissing, match="douyin-etl run"):
        export_finance(_month(published), out_dir=tmp_path, warehouse=tmp_path / "missing.duckdb")


def test_cli_export(access_env, tmp_path, capsys):
    from douyin_etl.cli import main

    rc = main(
        [
            "export",
            "--period",
            _month(access_env),
            "--tables",
            "reconciliation",
            "--format",
            "xlsx",
            "--chinese-headers",
            "--out",
            str(tmp_path),
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0, out
    wb = load_workbook(tmp_path / f"douyin_finance_{_month(access_env)}.xlsx", read_only=True)
    ws = wb["reconciliation 订单对账"]
    assert next(ws.iter_rows(max_row=1, values_only=True))[:3] == ("子订单号", "订单号", "店铺ID")
    assert main(["export", "--period", "2026-99"]) == 2
    assert main(["export", "--period", _month(access_env), "--tables", "ledger", "--out", str(tmp_path)]) == 2
    assert "choose from reconciliation, settlements, fees, pnl" in capsys.readouterr().err


def test_finance_guide_tie_outs(published, mart, tmp_path):
    """The tie-outs docs/finance-guide.md promises, on the exported month and on the marts."""
    result = export_finance(
        _month(published),
        fmt="parquet",
        tables=["settlements", "fees", "pnl"],
        out_dir=tmp_path,
        warehouse=published.warehouse,
    )
    t = {x.name: x.totals for x in result.tables}
    assert t["settlements"]["settle_fen"] == t["fees"]["net_settlement_fen"] != 0  # bills = fee breakdown
    ((gmv,),) = mart(
        published,
        f"SELECT sum(gmv_yuan) FROM sales.sales_daily WHERE date_day BETWEEN "
        f"DATE '{result.period.start}' AND DATE '{result.period.end}'",
    )
    assert t["pnl"]["gmv_yuan"] == gmv  # P&L GMV = sales GMV
    ((recon, matched),) = mart(
        published,
        "SELECT (SELECT sum(settled_fen) FROM finance.fin_order_reconciliation), "
        "(SELECT sum(settle_fen) FROM finance.fin_settlement_lines WHERE is_matched_to_line)",
    )
    assert recon == matched  # bills = reconciliation (all dates)
    flows = dict(mart(published, "SELECT movement_kind, sum(signed_fen) FROM finance.fin_fund_flow GROUP BY 1"))
    bills = dict(mart(published, "SELECT trade_type, sum(settle_fen) FROM finance.fin_settlement_lines GROUP BY 1"))
    assert flows["order_settlement"] == bills[0]  # bills = account movements
    assert flows.get("refund_after_settlement", 0) == bills.get(1, 0)
