from __future__ import annotations

import hashlib
import json
import shutil
from datetime import date, datetime
from pathlib import Path

import duckdb
import openpyxl
import pytest
from files_helpers import SETTLEMENT_HEADERS, settlement_row, write_csv

from douyin_etl.landing import reader
from douyin_etl.sources.files.errors import FileIngestError
from douyin_etl.sources.files.ingest import ingest_entity, scan_day
from douyin_etl.sources.files.specs import SPECS
from douyin_etl.timeutil import SHANGHAI

DT = date(2026, 3, 1)
DAY = "2026-03-01"


def _select(lake, entity: str, sql: str, dt: date = DT) -> list[tuple]:
    part = Path(reader.partition_dir(entity, dt, lake)) / "part-00000.parquet"
    con = duckdb.connect()
    con.execute("SET TimeZone='Asia/Shanghai'")
    con.execute(f"CREATE VIEW t AS SELECT * FROM read_parquet('{part}', hive_partitioning=false)")
    return con.execute(sql).fetchall()


def _part_bytes(lake, entity: str, dt: date = DT) -> bytes:
    return (Path(reader.partition_dir(entity, dt, lake)) / "part-00000.parquet").read_bytes()


def _quarantine(lake, entity: str, run_id: str) -> list[tuple]:
    files = list(Path(lake.path("quarantine")).rglob(f"{run_id}.parquet"))
    files = [f for f in files if f"/{entity}/" in str(f)]
    if not files:
        return []
    return (
        duckdb.connect()
        .execute(
            f"SELECT source_ref, \"column\", value, reason, raw FROM read_parquet('{files[0]}', hive_partitioning=false) "
            "ORDER BY source_ref"
        )
        .fetchall()
    )


def test_three_encodings_one_partition(lake, drops):
    day = drops / DAY
    write_csv(
        day / "结算账单_1001_20260301.csv", [settlement_row(1), settlement_row(2, 备注="测试备注")], encoding="utf-8"
    )
    write_csv(day / "结算账单_1002_20260301.csv", [settlement_row(3, 结算金额="0.29")], encoding="utf-8-sig")
    write_csv(
        day / "结算账单_1003_20260301.csv",
        [settlement_row(4, 备注="国标编码的中文", 交易类型="结算后退款")],
        encoding="gbk",
    )
    write_csv(day / "动账明细_1001_20260301.csv", [{"动账时间": "x"}])  # another entity: not picked up
    s = ingest_entity("settlement_bill", DT, "run-1")
    assert s["files"] == 3 and s["rows"] == 4 and s["rows_read"] == 4 and s["quarantined"] == 0
    assert s["encodings"] == {
        "结算账单_1001_20260301.csv": "utf-8",
        "结算账单_1002_20260301.csv": "utf-8-sig",
        "结算账单_1003_20260301.csv": "gb18030",
    }
    rows = _select(
        lake,
        "settlement_bill",
        "SELECT request_no, shop_order_id, order_id, shop_id, settle_amount, platform_service_fee, "
        "trade_type, remark, settle_time, _source_ref FROM t ORDER BY request_no",
    )
    assert rows[0] == (
        "R00001",
        "69" + "1".zfill(17),
        "68" + "1".zfill(17),
        "1001",
        123456,
        29,
        0,
        None,
        datetime(2026, 3, 1, 11, 15, tzinfo=SHANGHAI),
        "结算账单_1001_20260301.csv:2",
    )
    assert rows[1][7] == "测试备注" and rows[1][9] == "结算账单_1001_20260301.csv:3"
    assert rows[2][3:5] == ("1002", 29)
    assert rows[3][3] == "1003" and rows[3][6] == 1 and rows[3][7] == "国标编码的中文"
    types = dict((c["name"], c["type"]) for c in reader.read_manifest("settlement_bill", DT, lake)["columns"])
    assert types["settle_amount"] == "BIGINT" and types["trade_type"] == "INTEGER"
    assert types["settle_time"] == "TIMESTAMP WITH TIME ZONE" and types["_extra"] == "VARCHAR"
    m = reader.read_manifest("settlement_bill", DT, lake)
    src = {x["name"]: x for x in m["sources"]}
    assert (
        src["结算账单_1003_20260301.csv"]["sha256"]
        == hashlib.sha256((day / "结算账单_1003_20260301.csv").read_bytes()).hexdigest()
    )
    assert src["结算账单_1003_20260301.csv"]["format"] == "csv" and src["结算账单_1003_20260301.csv"]["rows"] == 1


def test_xlsx_freight_invoice(lake, drops):
    day = drops / DAY
    day.mkdir(parents=True)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(
        ["运单号", "快递公司", "发货日期", "计费重量（kg）", "运费(元)", "目的省", " 仓库编码 "]
    )  # full-width, spaces
    ws.append(["'SF1234567890123", "顺丰", datetime(2026, 3, 1), 1.234, 0.29, "浙江", "WH01"])
    ws.append(["SF1234567890124", "顺丰", "2026/03/01", "2", "1,234.56", None, "WH02"])
    ws.append(["SF1234567890125", "顺丰", "20260301", 0.5, 12, "广东", "WH01"])
    wb.save(day / "运费账单_shunfeng_20260301.xlsx")
    s = ingest_entity("freight_invoice", DT, "run-1")
    assert s["rows"] == 3 and s["quarantined"] == 0 and s["encodings"] == {"运费账单_shunfeng_20260301.xlsx": None}
    rows = _select(
        lake,
        "freight_invoice",
        "SELECT tracking_no, ship_date, billed_weight_g, freight_fen, dest_province, "
        "carrier, _source_ref FROM t ORDER BY tracking_no",
    )
    assert rows == [
        ("SF1234567890123", DT, 1234, 29, "浙江", "shunfeng", "运费账单_shunfeng_20260301.xlsx:2"),
        ("SF1234567890124", DT, 2000, 123456, None, "shunfeng", "运费账单_shunfeng_20260301.xlsx:3"),
        ("SF1234567890125", DT, 500, 1200, "广东", "shunfeng", "运费账单_shunfeng_20260301.xlsx:4"),
    ]
    assert reader.read_manifest("freight_invoice", DT, lake)["sources"][0]["format"] == "xlsx"
    assert scan_day(DT) == {"freight_invoice": ["运费账单_shunfeng_20260301.xlsx"]}


def test_bad_row_quarantined_not_landed(lake, drops, monkeypatch):
    monkeypatch.setenv("DOUYIN_QUARANTINE_THRESHOLD__SETTLEMENT_BILL", "0.5")
    name = "结算账单_1001_20260301.csv"
    write_csv(
        drops / DAY / name,
        [settlement_row(1), settlement_row(2, 结算金额="1.234"), settlement_row(3), settlement_row(4, 结算单号="")],
    )
    s = ingest_entity("settlement_bill", DT, "run-q")
    assert s["rows"] == 2 and s["quarantined"] == 2 and s["rows_read"] == 4
    again = ingest_entity("settlement_bill", DT, "run-q2")
    assert again["unchanged"] and again["quarantined"] == 0 and again["quarantined_in_partition"] == 2
    assert again["run_id"] == "run-q"  # whose quarantine holds them
    assert _quarantine(lake, "settlement_bill", "run-q2") == []  # and not quarantined twice
    assert _select(lake, "settlement_bill", "SELECT request_no FROM t ORDER BY 1") == [("R00001",), ("R00003",)]
    q = _quarantine(lake, "settlement_bill", "run-q")
    assert [(r[0], r[1], r[2], r[3]) for r in q] == [
        (f"{name}:3", "settle_amount", "1.234", "more than 2 decimals in a yuan amount"),
        (f"{name}:5", "request_no", "", "required value is empty"),
    ]
    assert json.loads(q[0][4])["结算单号"] == "'R00002"
    src = reader.read_manifest("settlement_bill", DT, lake)["sources"][0]
    assert (src["rows"], src["landed_rows"], src["quarantined_rows"]) == (4, 2, 2)


def test_bad_share_over_threshold_fails_file(lake, drops, monkeypatch):
    monkeypatch.setenv("DOUYIN_QUARANTINE_FLOOR", "0")  # no floor: the share alone decides
    name = "结算账单_1001_20260301.csv"
    write_csv(drops / DAY / name, [settlement_row(i) for i in range(1, 10)] + [settlement_row(10, 佣金="abc")])
    with pytest.raises(FileIngestError) as err:
        ingest_entity("settlement_bill", DT, "run-x")
    msg = str(err.value)
    assert name in msg and "1 of 10 rows are bad" in msg and "row 11 commission 'abc'" in msg
    assert "DOUYIN_QUARANTINE_THRESHOLD__SETTLEMENT_BILL" in msg
    assert reader.list_partitions("settlement_bill", lake) == []
    assert _quarantine(lake, "settlement_bill", "run-x") == []


def test_duplicate_keys_exact_repeat_lands_once_conflict_is_quarantined(lake, drops, monkeypatch):
    monkeypatch.setenv("DOUYIN_QUARANTINE_THRESHOLD__SETTLEMENT_BILL", "0.5")
    name = "结算账单_1001_20260301.csv"
    write_csv(
        drops / DAY / name,
        [
            settlement_row(1),
            settlement_row(2),
            settlement_row(1),  # exact repeat of row 2
            settlement_row(2, 结算金额="1,000.00"),
        ],
    )  # same 结算单号, other amount
    s = ingest_entity("settlement_bill", DT, "run-d")
    assert (s["rows_read"], s["rows"], s["quarantined"]) == (4, 2, 1)
    assert _select(lake, "settlement_bill", "SELECT request_no, settle_amount FROM t ORDER BY 1") == [
        ("R00001", 123456),
        ("R00002", 123456),
    ]
    q = _quarantine(lake, "settlement_bill", "run-d")
    assert [(r[0], r[1], r[2]) for r in q] == [(f"{name}:5", "request_no", "R00002")]
    assert "duplicate key" in q[0][3] and "row 3" in q[0][3]
    src = reader.read_manifest("settlement_bill", DT, lake)["sources"][0]
    assert (src["exact_repeats"], src["quarantined_rows"]) == (1, 1)


def test_conflicting_duplicates_over_threshold_fail_the_file(lake, drops, monkeypatch):
    monkeypatch.setenv("DOUYIN_QUARANTINE_FLOOR__SETTLEMENT_BILL", "2")  # 3 bad rows: over the floor too
    name = "结算账单_1001_20260301.csv"
    rows = [settlement_row(i) for i in range(1, 6)] + [settlement_row(i, 佣金="1.00") for i in range(1, 4)]
    write_csv(drops / DAY / name, rows)
    with pytest.raises(FileIngestError) as err:
        ingest_entity("settlement_bill", DT, "run-dx")
    assert "3 of 8 rows are bad" in str(err.value) and "duplicate key" in str(err.value)
    assert reader.list_partitions("settlement_bill", lake) == []


def test_missing_required_column_names_column_and_file(lake, drops):
    name = "结算账单_1001_20260301.csv"
    headers = [h for h in SETTLEMENT_HEADERS if h != "结算单号"]
    write_csv(drops / DAY / name, [settlement_row(1)], headers=headers)
    with pytest.raises(
        FileIngestError, match=r"结算账单_1001_20260301\.csv: missing required column\(s\) 结算单号 \(request_no\)"
    ):
        ingest_entity("settlement_bill", DT, "r")
    assert reader.list_partitions("settlement_bill", lake) == []


def test_failure_in_second_file_keeps_previous_partition(lake, drops):
    day = drops / DAY
    write_csv(day / "结算账单_1001_20260301.csv", [settlement_row(1)])
    ingest_entity("settlement_bill", DT, "r1")
    before = _part_bytes(lake, "settlement_bill")
    write_csv(day / "结算账单_1002_20260301.csv", [settlement_row(2)], headers=SETTLEMENT_HEADERS[1:])
    with pytest.raises(FileIngestError, match="结算账单_1002_20260301.csv"):
        ingest_entity("settlement_bill", DT, "r2")
    assert _part_bytes(lake, "settlement_bill") == before
    assert reader.read_manifest("settlement_bill", DT, lake)["run_id"] == "r1"


@pytest.mark.parametrize(
    "content, problem",
    [
        (b"", "empty file"),
        (b"\r\n\r\n", "header row"),
        (b"\x80\x80\xff\xfe\xff", "undecodable"),
    ],
)
def test_bad_files(lake, drops, content, problem):
    (drops / DAY).mkdir()
    (drops / DAY / "结算账单_1001_20260301.csv").write_bytes(content)
    with pytest.raises(FileIngestError, match=problem) as err:
        ingest_entity("settlement_bill", DT, "r")
    assert "结算账单_1001_20260301.csv" in str(err.value) and "Fix:" in str(err.value)


def test_truncated_last_line(lake, drops):
    path = write_csv(
        drops / DAY / "结算账单_1001_20260301.csv", [settlement_row(1), settlement_row(2)], final_newline=False
    )
    data = path.read_bytes()
    path.write_bytes(data[: data.rfind(b",1,234.56") - 5])  # cut mid-row
    with pytest.raises(FileIngestError, match=r"truncated: the last row \(3\)"):
        ingest_entity("settlement_bill", DT, "r")


def test_corrupt_xlsx(lake, drops):
    (drops / DAY).mkdir()
    (drops / DAY / "运费账单_shunfeng_20260301.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(FileIngestError, match="unreadable XLSX"):
        ingest_entity("freight_invoice", DT, "r")


def test_header_only_file_lands_zero_rows(lake, drops):
    write_csv(drops / DAY / "结算账单_1001_20260301.csv", [], headers=SETTLEMENT_HEADERS)
    s = ingest_entity("settlement_bill", DT, "r")
    assert (s["files"], s["rows"]) == (1, 0)


def test_header_only_daily_file_gives_empty_typed_partition(lake, drops):
    write_csv(drops / DAY / "直播场次_1001_20260301.csv", [], headers=[c.header for c in SPECS["live_session"].columns])
    s = ingest_entity("live_session", DT, "r")
    assert (s["files"], s["rows"], s["quarantined"]) == (1, 0, 0)
    m = reader.read_manifest("live_session", DT, lake)
    assert m["rows"] == 0 and [x["name"] for x in m["sources"]] == ["直播场次_1001_20260301.csv"]
    types = dict((c["name"], c["type"]) for c in m["columns"])
    assert types["start_time"] == "TIMESTAMP WITH TIME ZONE" and types["viewers"] == "BIGINT"
    assert types["shop_id"] == "VARCHAR"
    assert _select(lake, "live_session", "SELECT count(*) FROM t") == [(0,)]


def test_drift_extra_reordered_alias(lake, drops, caplog):
    headers = [
        "计费类型",
        "动账时间",
        "动账流水号",
        "动账方向",
        "动账金额",
        "动账账户",
        "动账场景",
        "子订单号",
        "订单号",
        "订单实付应结",
        "运费实付",
        "实际平台补贴",
        "订单退款",
        "平台服务费",
        "佣金",
        "招商服务费",
        "站外推广费",
        "新字段",
    ]
    base = {
        "计费类型": "3",
        "动账时间": "2026/03/01 10:05",
        "动账方向": "入账",
        "动账金额": "100.50",
        "动账账户": "聚合账户",
        "动账场景": "订单结算",
        "子订单号": "'681",
        "订单号": "691",
        "订单实付应结": "100.50",
        "运费实付": "0",
        "实际平台补贴": "",
        "订单退款": "",
        "平台服务费": "",
        "佣金": "",
        "招商服务费": "",
        "站外推广费": "",
    }
    rows = [
        dict(base, 动账流水号="T1", 新字段="甲"),
        dict(base, 动账流水号="T2", 新字段=""),
        dict(base, 动账流水号="T1", 新字段="甲"),
    ]  # an injected duplicate: same record twice
    write_csv(drops / DAY / "动账明细_1001_20260301.csv", rows, headers=headers)
    with caplog.at_level("WARNING"):
        s = ingest_entity("fund_flow", DT, "r")
    assert s["rows"] == 2 and s["rows_read"] == 3 and s["duplicates_removed"] == 1
    assert "新字段" in caplog.text
    got = _select(
        lake,
        "fund_flow",
        "SELECT account_trade_no, account_bill_desc_tag, bill_time, fund_flow, "
        "account_amount, promotion_amount, remark, _extra FROM t ORDER BY 1",
    )
    assert got == [
        ("T1", 3, datetime(2026, 3, 1, 10, 5, tzinfo=SHANGHAI), 0, 10050, None, None, '{"新字段": "甲"}'),
        ("T2", 3, datetime(2026, 3, 1, 10, 5, tzinfo=SHANGHAI), 0, 10050, None, None, None),
    ]
    drift = " | ".join(reader.read_manifest("fund_flow", DT, lake)["drift"])
    assert "unknown column(s) 新字段 kept in _extra" in drift
    assert "'动账流水号' matched 动帐流水号 (account_trade_no) through an alias" in drift
    assert "optional column 备注 (remark) absent" in drift
    assert "different order" in drift


def test_rerun_is_noop_and_duplicate_content_skipped(lake, drops):
    day = drops / DAY
    write_csv(day / "结算账单_1001_20260301.csv", [settlement_row(1), settlement_row(2)])
    first = ingest_entity("settlement_bill", DT, "r1")
    bytes1 = _part_bytes(lake, "settlement_bill")
    again = ingest_entity("settlement_bill", DT, "r2")
    assert again["unchanged"] and again["rows"] == first["rows"] == 2
    assert _part_bytes(lake, "settlement_bill") == bytes1
    assert reader.read_manifest("settlement_bill", DT, lake)["run_id"] == "r1"
    # a new file the same day -> rebuilt; the old file's rows identical
    write_csv(day / "结算账单_1002_20260301.csv", [settlement_row(3)])
    ingest_entity("settlement_bill", DT, "r3")
    assert _select(lake, "settlement_bill", "SELECT count(*) FROM t") == [(3,)]
    # removing it again gives the first bytes back (the rebuild is deterministic)
    (day / "结算账单_1002_20260301.csv").unlink()
    ingest_entity("settlement_bill", DT, "r4")
    assert _part_bytes(lake, "settlement_bill") == bytes1
    # the same content re-delivered the next day under another name -> skipped, not double counted
    nxt = drops / "2026-03-02"
    nxt.mkdir()
    shutil.copy(day / "结算账单_1001_20260301.csv", nxt / "结算账单_1001_20260302.csv")
    s2 = ingest_entity("settlement_bill", date(2026, 3, 2), "r5")
    assert s2["rows"] == 0 and s2["files"] == 0
    assert s2["skipped"] == [
        {
            "name": "结算账单_1001_20260302.csv",
            "reason": "same content already landed in dt=2026-03-01 as 结算账单_1001_20260301.csv",
        }
    ]
    # two identical files in one folder count once
    shutil.copy(day / "结算账单_1001_20260301.csv", day / "结算账单_1009_20260301.csv")
    s3 = ingest_entity("settlement_bill", DT, "r6")
    assert s3["rows"] == 2 and len(s3["skipped"]) == 1 and "same content as" in s3["skipped"][0]["reason"]
    assert Path(lake.path("_meta", "ingested", "settlement_bill")).is_dir()


def test_ragged_middle_row_is_quarantined(lake, drops, monkeypatch):
    monkeypatch.setenv("DOUYIN_QUARANTINE_THRESHOLD", "0.5")
    name = "结算账单_1001_20260301.csv"
    path = write_csv(drops / DAY / name, [settlement_row(1), settlement_row(2), settlement_row(3)])
    lines = path.read_bytes().decode("utf-8").split("\r\n")
    lines[2] = lines[2].rsplit(",", 3)[0]  # row 3 loses its last 3 cells
    lines.insert(3, lines[3] + ",extra")  # and a new row 4 has one cell too many
    path.write_bytes("\r\n".join(lines).encode("utf-8"))
    s = ingest_entity("settlement_bill", DT, "r")
    assert s["rows"] == 2 and s["quarantined"] == 2
    q = _quarantine(lake, "settlement_bill", "r")
    assert [(r[0], r[3]) for r in q] == [
        (f"{name}:3", "row has 20 cells, the header has 23"),
        (f"{name}:4", "row has more cells than the header (23)"),
    ]


def _warehouse_list(path: Path, *codes: str) -> None:
    write_csv(
        path,
        [
            {"仓库编码": c, "仓库名称": f"仓{c}", "省": "浙江", "市": "杭州", "仓库类型": "1", "补货周期(天)": "3"}
            for c in codes
        ],
    )


def test_master_data_is_carried_into_a_first_run_that_starts_later(lake, drops):
    """A first run for 03-05 (the list arrived 03-01, changed 03-03) lands the 03-03 list; a later day
    with the list already in the lake lands an empty partition, and a rerun is a no-op."""
    _warehouse_list(drops / "2026-03-01" / "仓库列表_20260301.csv", "WH01")
    _warehouse_list(drops / "2026-03-03" / "仓库列表_20260303.csv", "WH01", "WH02")
    (drops / "2026-03-05").mkdir()
    s = ingest_entity("warehouse", date(2026, 3, 5), "run-late")
    assert (s["files"], s["rows"]) == (1, 2)
    manifest = reader.read_manifest("warehouse", date(2026, 3, 5), lake)
    assert [(x["name"], x.get("carried_from")) for x in manifest["sources"]] == [
        ("仓库列表_20260303.csv", "2026-03-03")
    ]
    assert _select(lake, "warehouse", "SELECT warehouse_id FROM t ORDER BY 1", date(2026, 3, 5)) == [
        ("WH01",),
        ("WH02",),
    ]
    assert ingest_entity("warehouse", date(2026, 3, 5), "run-again")["unchanged"] is True
    # The next day: the list is in the lake already (dt=03-05): nothing is carried.
    (drops / "2026-03-06").mkdir()
    s = ingest_entity("warehouse", date(2026, 3, 6), "run-next")
    assert (s["files"], s["rows"]) == (0, 0)
    # A settlement-style entity (partitioned by its own dates) is never carried.
    write_csv(drops / "2026-03-01" / "结算账单_1001_20260301.csv", [settlement_row(1)])
    write_csv(drops / "2026-03-05" / "结算账单_1001_20260305.csv", [], headers=SETTLEMENT_HEADERS)  # a quiet day
    assert ingest_entity("settlement_bill", date(2026, 3, 5), "run-late")["rows"] == 0
