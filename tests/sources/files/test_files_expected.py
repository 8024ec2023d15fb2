"""Issue 12: missing sources stop before landing; header-only files; summary rows; the quarantine floor;
damaged files named. Each test names the behaviour it pins; all fail on the code before issue 12."""

from __future__ import annotations

import struct
import zipfile
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from files_helpers import SETTLEMENT_HEADERS, settlement_row, write_csv

from douyin_etl.landing import reader
from douyin_etl.sources.files.errors import FileIngestError
from douyin_etl.sources.files.ingest import ingest_entity

DT = date(2026, 3, 1)
DAY = "2026-03-01"
WH_HEADERS = ["仓库编码", "仓库名称", "省", "市", "仓库类型", "补货周期(天)"]
SHIP_HEADERS = [
    "仓库编码",
    "出库单号",
    "订单号",
    "子订单号",
    "商品编码",
    "数量",
    "快递公司",
    "运单号",
    "出库时间",
    "签收时间",
    "承诺送达时间",
]


def _part_bytes(lake, entity: str, dt: date = DT) -> bytes:
    return (Path(reader.partition_dir(entity, dt, lake)) / "part-00000.parquet").read_bytes()


def _warehouses(path: Path, *codes: str) -> None:
    write_csv(
        path,
        [
            {"仓库编码": c, "仓库名称": f"仓{c}", "省": "浙江", "市": "杭州", "仓库类型": "1", "补货周期(天)": "3"}
            for c in codes
        ],
        headers=WH_HEADERS,
    )


def _shipments(path: Path, code: str, n: int = 2) -> None:
    write_csv(
        path,
        [
            {
                "仓库编码": code,
                "出库单号": f"OB{code}{i}",
                "订单号": f"69{i}",
                "子订单号": f"68{i}",
                "商品编码": "S1",
                "数量": "1",
                "快递公司": "shunfeng",
                "运单号": f"SF{code}{i}",
                "出库时间": "2026/03/01 10:00",
                "签收时间": "",
                "承诺送达时间": "2026/03/03 10:00",
            }
            for i in range(n)
        ],
        headers=SHIP_HEADERS,
    )


# -- missing sources ---------------------------------------------------------------------------
def test_a_missing_day_folder_is_a_missing_source_and_the_lake_keeps_its_partition(lake, drops):
    write_csv(drops / DAY / "结算账单_1001_20260301.csv", [settlement_row(1), settlement_row(2)])
    assert ingest_entity("settlement_bill", DT, "r1")["rows"] == 2
    before = _part_bytes(lake, "settlement_bill")
    empty = drops.parent / "empty-drops"  # DOUYIN_DROPS_DIR pointed at a folder without the day
    empty.mkdir()
    with pytest.raises(FileIngestError) as err:
        ingest_entity("settlement_bill", DT, "r2", drops_dir=empty)
    msg = str(err.value)
    assert type(err.value).__name__ == "MissingSourceError"
    assert str(empty / DAY) in msg and "does not exist" in msg and "结算账单_*_20260301.csv|xlsx" in msg, msg
    assert "Fix:" in msg and "rerun this day" in msg
    assert _part_bytes(lake, "settlement_bill") == before  # not replaced by an empty partition
    assert reader.read_manifest("settlement_bill", DT, lake)["run_id"] == "r1"


def test_a_missing_shop_file_names_the_shop(lake, drops, monkeypatch):
    monkeypatch.setenv("DOUYIN_SHOP_IDS", "1001,1002")
    write_csv(drops / DAY / "动账明细_1001_20260301.csv", [{"动账时间": "x"}])  # another entity: does not count
    write_csv(drops / DAY / "结算账单_1001_20260301.csv", [settlement_row(1)])
    with pytest.raises(FileIngestError) as err:
        ingest_entity("settlement_bill", DT, "r")
    msg = str(err.value)
    assert "1 of 2 expected file(s) missing" in msg and "结算账单_1002_20260301.csv|xlsx" in msg, msg
    assert "1001_20260301" not in msg.split("missing")[-1]
    assert reader.list_partitions("settlement_bill", lake) == []


def test_shipments_are_expected_per_warehouse_of_the_landed_list(lake, drops):
    _warehouses(drops / "2026-02-28" / "仓库列表_20260228.csv", "WH01", "WH02")
    ingest_entity("warehouse", date(2026, 2, 28), "r0")
    _shipments(drops / DAY / "发货明细_WH01_20260301.csv", "WH01")
    with pytest.raises(FileIngestError) as err:
        ingest_entity("shipment", DT, "r1")
    msg = str(err.value)
    assert "发货明细_WH02_20260301.csv" in msg and "warehouse list landed for 2026-02-28" in msg, msg
    write_csv(drops / DAY / "发货明细_WH02_20260301.csv", [], headers=SHIP_HEADERS)  # a quiet warehouse
    s = ingest_entity("shipment", DT, "r2")
    assert (s["files"], s["rows"]) == (2, 2)


def test_a_sporadic_source_whose_landed_files_vanished_is_missing(lake, drops):
    wb = openpyxl.Workbook()
    wb.active.append(["运单号", "快递公司", "发货日期", "计费重量(kg)", "运费(元)", "目的省", "仓库编码"])
    wb.active.append(["SF1", "顺丰", "2026-03-01", 1, 12, "浙江", "WH01"])
    (drops / DAY).mkdir()
    wb.save(drops / DAY / "运费账单_shunfeng_20260301.xlsx")
    ingest_entity("freight_invoice", DT, "r1")
    before = _part_bytes(lake, "freight_invoice")
    (drops / DAY / "运费账单_shunfeng_20260301.xlsx").unlink()
    with pytest.raises(FileIngestError, match="运费账单_shunfeng_20260301.xlsx, which the folder no longer holds"):
        ingest_entity("freight_invoice", DT, "r2")
    assert _part_bytes(lake, "freight_invoice") == before


def test_no_warehouse_list_ever_is_a_missing_source(lake, drops):
    (drops / DAY).mkdir()
    with pytest.raises(FileIngestError, match=r"no 仓库列表_\*\.csv on or before 2026-03-01"):
        ingest_entity("warehouse", DT, "r")


def test_a_header_only_file_lands_zero_rows_only_where_the_source_can_be_empty(lake, drops):
    write_csv(drops / DAY / "结算账单_1001_20260301.csv", [], headers=SETTLEMENT_HEADERS)
    assert ingest_entity("settlement_bill", DT, "r")["rows"] == 0  # a quiet day's bill
    write_csv(drops / DAY / "仓库列表_20260301.csv", [], headers=WH_HEADERS)
    with pytest.raises(FileIngestError, match=r"仓库列表_20260301\.csv: no data rows \(header only\)"):
        ingest_entity("warehouse", DT, "r")
    assert reader.list_partitions("warehouse", lake) == []


# -- summary rows and the quarantine floor -----------------------------------------------------
def test_trailing_summary_and_blank_rows_are_skipped_with_a_record(lake, drops):
    name = "结算账单_1001_20260301.csv"
    rows = [settlement_row(i) for i in range(1, 29)]
    total = {h: "" for h in SETTLEMENT_HEADERS} | {"结算时间": "合计", "结算金额": "34,567.68"}
    write_csv(
        drops / DAY / name, rows + [{h: "" for h in SETTLEMENT_HEADERS}, total, {h: "" for h in SETTLEMENT_HEADERS}]
    )
    s = ingest_entity("settlement_bill", DT, "r")
    assert (s["rows"], s["rows_read"], s["quarantined"]) == (28, 28, 0)
    src = reader.read_manifest("settlement_bill", DT, lake)["sources"][0]
    assert (src["summary_rows"], src["summary_refs"], src["blank_rows"]) == (1, ["31:合计"], 2)
    drift = " | ".join(reader.read_manifest("settlement_bill", DT, lake)["drift"])
    assert f"{name}: skipped 1 summary row(s) (合计) at row(s) 31" in drift


def test_summary_row_in_an_xlsx_export(lake, drops):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["运单号", "快递公司", "发货日期", "计费重量(kg)", "运费(元)", "目的省", "仓库编码"])
    ws.append(["SF1", "顺丰", "2026-03-01", 1, 12, "浙江", "WH01"])
    ws.append(["总计：", None, None, 1, 12, None, None])
    (drops / DAY).mkdir()
    wb.save(drops / DAY / "运费账单_shunfeng_20260301.xlsx")
    s = ingest_entity("freight_invoice", DT, "r")
    assert (s["rows"], s["quarantined"]) == (1, 0)


def test_one_bad_row_in_a_28_row_file_is_quarantined_not_fatal(lake, drops):
    rows = [settlement_row(i) for i in range(1, 28)] + [settlement_row(28, 佣金="abc")]
    write_csv(drops / DAY / "结算账单_1001_20260301.csv", rows)
    s = ingest_entity("settlement_bill", DT, "r")  # 1 of 28 = 3.6 % > 1 %, but within the floor of 3 rows
    assert (s["rows"], s["quarantined"]) == (27, 1)


def test_over_the_floor_and_the_share_the_file_fails(lake, drops, monkeypatch):
    rows = [settlement_row(i) for i in range(1, 25)] + [settlement_row(i, 佣金="abc") for i in range(25, 29)]
    write_csv(drops / DAY / "结算账单_1001_20260301.csv", rows)
    with pytest.raises(FileIngestError, match=r"4 of 28 rows are bad .*more than the 3 row\(s\)"):
        ingest_entity("settlement_bill", DT, "r")
    monkeypatch.setenv("DOUYIN_QUARANTINE_FLOOR__SETTLEMENT_BILL", "4")
    assert ingest_entity("settlement_bill", DT, "r2")["quarantined"] == 4
    monkeypatch.setenv("DOUYIN_QUARANTINE_FLOOR", "three")
    monkeypatch.delenv("DOUYIN_QUARANTINE_FLOOR__SETTLEMENT_BILL")
    from douyin_etl.landing.quarantine import floor

    with pytest.raises(ValueError, match="DOUYIN_QUARANTINE_FLOOR='three' is not a whole number"):
        floor("settlement_bill")


# -- damaged files -----------------------------------------------------------------------------
def _flip_sheet_bytes(path: Path, at: float) -> None:
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("xl/worksheets/sheet1.xml")
    n, m = struct.unpack("<HH", data[info.header_offset + 26 : info.header_offset + 30])
    start = info.header_offset + 30 + n + m
    k = start + int(info.compress_size * at)
    for i in range(k, k + 8):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("at", [0.05, 0.5])
def test_a_bit_flipped_xlsx_names_the_file_and_says_re_download(lake, drops, at):
    wb = openpyxl.Workbook()
    wb.active.append(["运单号", "快递公司", "发货日期", "计费重量(kg)", "运费(元)", "目的省", "仓库编码"])
    for i in range(300):
        wb.active.append([f"SF{i:013d}", "顺丰", "2026-03-01", 1.5, 12.3, "浙江", "WH01"])
    (drops / DAY).mkdir()
    path = drops / DAY / "运费账单_shunfeng_20260301.xlsx"
    wb.save(path)
    _flip_sheet_bytes(path, at)
    with pytest.raises(FileIngestError) as err:
        ingest_entity("freight_invoice", DT, "r")
    assert "运费账单_shunfeng_20260301.xlsx" in str(err.value) and "re-download" in str(err.value)
    assert reader.list_partitions("freight_invoice", lake) == []
