"""File drops: every spec round-trips through the written files; output is byte-identical; fast enough."""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from douyin_etl.money import yuan_to_fen
from douyin_etl.sources.files.specs import SPECS, FileSpec, spec_for_file
from douyin_etl.timeutil import SHANGHAI, day_bounds_unix
from douyin_sim.simulator import drops

DAY = date(2026, 3, 5)
SHOPS = [f"10000{i:02d}" for i in range(1, 9)]
GROUP_VALUES = {
    "shop_id": SHOPS,
    "warehouse_code": ["WH01", "WH02", "WH03", "WH04"],
    "carrier": ["shunfeng", "zhongtong", "yuantong", "yunda", "jtexpress", "ems"],
}


def _frame(spec: FileSpec, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Random canonical-name values for every column of ``spec`` (nullable columns ~15 % empty)."""
    start, _ = day_bounds_unix(DAY)
    data: dict[str, object] = {}
    for c in spec.columns:
        if c.ctype == "id":
            v = [f"{rng.integers(10**18, 9 * 10**18)}" for _ in range(n)]
        elif c.ctype == "str":
            v = rng.choice(
                ["普通", "含,逗号", '引"号', "English text", "空 格", "换\n行", "a&b<c>", " 前后空格 "], n
            ).tolist()
        elif c.ctype == "int":
            v = rng.integers(0, 5_000_000, n)
        elif c.ctype == "fen":
            v = rng.choice([0, 5, 29, 100, 123456, 1234567890, -98765, -3], n)
            v = np.where(rng.random(n) < 0.5, v, rng.integers(-(10**6), 10**9, n))
        elif c.ctype == "ts":
            v = start + rng.integers(0, 86400, n)
        elif c.ctype == "date":
            v = [DAY] * n
        elif c.ctype == "bp":
            v = rng.choice([2000, 2050, 2025, 5, 0, 10000, 1234], n)
        elif c.ctype == "grams":
            v = rng.choice([1000, 1500, 1234, 50, 30000, 7], n)
        elif c.ctype == "enum":
            v = rng.choice(np.array(list(c.values.values()), dtype=object), n)
        else:  # pragma: no cover
            raise AssertionError(c.ctype)
        s = pd.Series(v, dtype=object)
        if c.nullable:
            s[rng.random(n) < 0.15] = None
        data[c.name] = s
    frame = pd.DataFrame(data)
    for g in spec.file_columns:
        if g != "file_date":
            frame[g] = rng.choice(GROUP_VALUES[g], n)
    return frame


def _parse(col, raw, partner: bool):
    """The reverse of the writer for one cell (what ingestion does), for the round-trip check."""
    if raw is None or raw == "":
        return None
    if col.ctype == "id":
        return str(raw).lstrip("'\t")
    if col.ctype == "str":
        return raw
    if col.ctype == "int":
        return raw if isinstance(raw, int) else int(raw.replace(",", ""))
    if col.ctype == "fen":
        assert isinstance(raw, str)
        return yuan_to_fen(raw)
    if col.ctype == "ts":
        fmt = "%Y/%m/%d %H:%M" if partner else "%Y-%m-%d %H:%M:%S"
        return int(datetime.strptime(raw, fmt).replace(tzinfo=SHANGHAI).timestamp())
    if col.ctype == "date":
        return datetime.strptime(raw, "%Y/%m/%d" if partner else "%Y-%m-%d").date()
    if col.ctype == "bp":
        assert raw.endswith("%")
        return int(Decimal(raw[:-1]) * 100)
    if col.ctype == "grams":
        assert len(raw.partition(".")[2]) <= 3
        return int(Decimal(raw) * 1000)
    if col.ctype == "enum":
        return col.values[raw]
    raise AssertionError(col.ctype)


def _read_rows(path: Path, style: drops.FileStyle) -> list[list]:
    data = path.read_bytes()
    if path.suffix == ".xlsx":
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
        rows = [list(r) for r in wb.active.iter_rows(values_only=True)]
        wb.close()
        return rows
    if style.encoding == "utf-8-sig":
        assert data.startswith(b"\xef\xbb\xbf")
    else:
        assert not data.startswith(b"\xef\xbb\xbf")
    if style.encoding == "gbk":
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")  # really GBK, not UTF-8 that happens to be ASCII
    text = data.decode(style.encoding)
    return [list(r) for r in csv.reader(io.StringIO(text, newline=""))]


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """Every spec written for two seeds with many file-name groups."""
    out = {}
    for seed in (7, 8):
        rng = np.random.default_rng(seed)
        frames = {name: _frame(spec, 60, rng) for name, spec in SPECS.items()}
        root = tmp_path_factory.mktemp(f"drops{seed}")
        result = drops.write_day(root, DAY, frames, seed)
        out[seed] = (root, frames, result)
    return out


def test_every_spec_round_trips(written):
    seen_encodings, seen_formats, seen_protection, seen_thousands = set(), set(), set(), set()
    for seed, (root, frames, result) in written.items():
        folder = root / "drops" / DAY.isoformat()
        assert sorted(p.name for p in folder.iterdir()) == sorted(result)
        for name, n_rows in result.items():
            spec = spec_for_file(name)
            assert spec is not None, name
            m = spec.match(name)
            assert m.group("file_date") == "20260305"
            groups = [g for g in spec.file_columns if g != "file_date"]
            key = tuple(m.group(g) for g in groups)
            style = drops.file_style(seed, spec, key)
            assert name.endswith("." + style.fmt) and style.fmt in spec.formats
            rows = _read_rows(folder / name, style)
            assert rows[0] == [c.header for c in spec.columns]
            body = rows[1:]
            assert len(body) == n_rows
            src = frames[spec.entity]
            mask = np.ones(len(src), bool)
            for g, v in zip(groups, key):
                mask &= (src[g] == v).to_numpy()
            src = src[mask].reset_index(drop=True)
            assert len(src) == n_rows
            seen_formats.add(style.fmt)
            if style.fmt == "csv":
                seen_encodings.add(style.encoding)
            for j, col in enumerate(spec.columns):
                got = [_parse(col, r[j] if j < len(r) else None, style.partner_dates) for r in body]
                want = src[col.name].tolist()
                if col.ctype == "ts" and style.partner_dates:
                    want = [None if w is None else w - w % 60 for w in want]  # YYYY/MM/DD HH:MM drops the seconds
                if col.ctype in ("int", "fen", "ts", "bp", "grams"):
                    want = [None if w is None else int(w) for w in want]
                assert got == want, f"{name} column {col.header}"
                if col.ctype == "id":
                    cells = {r[j][:1] for r in body if j < len(r) and r[j]}
                    seen_protection |= cells & {"'", "\t"}
                    assert cells <= {"'", "\t"} | set("123456789")
                if col.ctype == "fen" and any("," in str(r[j]) for r in body if j < len(r)):
                    seen_thousands.add(name)
    assert seen_encodings == {"utf-8", "utf-8-sig", "gbk"}
    assert seen_formats == {"csv", "xlsx"}
    assert seen_protection == {"'", "\t"}
    assert seen_thousands


def test_one_file_per_group_and_names_follow_specs(written):
    root, frames, result = written[7]
    settle = [n for n in result if n.startswith("结算账单_")]
    assert sorted(n.split("_")[1] for n in settle) == sorted(frames["settlement_bill"]["shop_id"].unique())
    assert "仓库列表_20260305.csv" in result and "商品成本表_20260305.xlsx" in result
    assert all(n.endswith(".xlsx") for n in result if n.startswith(("运费账单_", "库存日报_", "商品成本表_")))
    assert sum(v for n, v in result.items() if n.startswith("发货明细_")) == len(frames["shipment"])


def test_figures_of_formatted_cells():
    spec = SPECS["creator"]
    style = drops.FileStyle("csv", "utf-8", True, "'", False)
    cells = lambda name, values: drops._format_column(  # noqa: E731
        spec, next(c for c in spec.columns if c.name == name), pd.Series(values), style
    )
    assert cells("commission_rate_bp", [2000, 2050, 2025, 5]) == ["20%", "20.5%", "20.25%", "0.05%"]
    assert cells("followers", [1234567, 12]) == ["1,234,567", "12"]
    assert cells("author_id", ["123", "abc"]) == ["'123", "abc"]
    assert cells("tier", ["head", "long_tail"]) == ["头部", "尾部"]
    assert cells("since_date", [date(2026, 1, 2)]) == ["2026-01-02"]
    fen = next(c for c in SPECS["settlement_bill"].columns if c.ctype == "fen")
    assert drops._format_column(SPECS["settlement_bill"], fen, pd.Series([123456, -5, 29, 0]), style) == [
        "1,234.56",
        "-0.05",
        "0.29",
        "0.00",
    ]
    grams = next(c for c in SPECS["freight_invoice"].columns if c.ctype == "grams")
    assert drops._format_column(SPECS["freight_invoice"], grams, pd.Series([1500, 7, 2000]), style) == [
        "1.5",
        "0.007",
        "2",
    ]
    ts = next(c for c in SPECS["shipment"].columns if c.name == "ship_time")
    partner = drops.FileStyle("csv", "gbk", False, "", True)
    start, _ = day_bounds_unix(date(2026, 3, 5))
    assert drops._format_column(SPECS["shipment"], ts, pd.Series([start + 3661]), partner) == ["2026/03/05 01:01"]
    ts2 = next(c for c in SPECS["settlement_bill"].columns if c.name == "settle_time")
    assert drops._format_column(SPECS["settlement_bill"], ts2, pd.Series([start + 3661]), style) == [
        "2026-03-05 01:01:01"
    ]  # Asia/Shanghai local: 2026-03-04 17:01:01 UTC


def test_byte_identical_across_writes(tmp_path, written):
    _, frames, result = written[7]
    a = drops.write_day(tmp_path / "a", DAY, frames, 7)
    b = drops.write_day(tmp_path / "b", DAY, frames, 7)
    drops.write_day(tmp_path / "a", DAY, frames, 7)  # rerun in place
    assert a == b == result
    for name in a:
        fa = (tmp_path / "a" / "drops" / DAY.isoformat() / name).read_bytes()
        fb = (tmp_path / "b" / "drops" / DAY.isoformat() / name).read_bytes()
        assert hashlib.sha256(fa).digest() == hashlib.sha256(fb).digest(), name
        if name.endswith(".xlsx"):
            with zipfile.ZipFile(io.BytesIO(fa)) as z:
                assert {i.date_time for i in z.infolist()} == {(2020, 1, 1, 0, 0, 0)}
                assert b"2020-01-01T00:00:00Z" in z.read("docProps/core.xml")
    assert not list((tmp_path / "a" / "drops").rglob(".tmp-*"))


def test_empty_frames_write_nothing_except_stock_snapshot(tmp_path):
    rng = np.random.default_rng(1)
    snap = _frame(SPECS["stock_snapshot"], 5, rng)
    empty = _frame(SPECS["settlement_bill"], 5, rng).iloc[0:0]
    res = drops.write_day(tmp_path, DAY, {"settlement_bill": empty, "stock_snapshot": snap}, 1)
    assert all(n.startswith("库存日报_") for n in res) and sum(res.values()) == 5
    folder = tmp_path / "drops" / DAY.isoformat()
    assert sorted(p.name for p in folder.iterdir()) == sorted(res)


def test_warehouse_code_defaults_from_warehouse_id(tmp_path):
    rng = np.random.default_rng(2)
    f = _frame(SPECS["shipment"], 10, rng).drop(columns=["warehouse_code"])
    f["warehouse_id"] = ["WH01"] * 4 + ["WH02"] * 6
    res = drops.write_day(tmp_path, DAY, {"shipment": f}, 3)
    assert res == {"发货明细_WH01_20260305.csv": 4, "发货明细_WH02_20260305.csv": 6}


def test_bad_input_is_a_clear_error(tmp_path):
    rng = np.random.default_rng(3)
    f = _frame(SPECS["creator"], 3, rng)
    with pytest.raises(drops.DropWriteError, match="followers"):
        drops.write_day(tmp_path, DAY, {"creator": f.drop(columns=["followers"])}, 1)
    bad = f.copy()
    bad.loc[1, "tier"] = "giant"
    with pytest.raises(drops.DropWriteError, match="giant"):
        drops.write_day(tmp_path, DAY, {"creator": bad}, 1)
    nul = f.copy()
    nul.loc[0, "author_name"] = None
    with pytest.raises(drops.DropWriteError, match="达人昵称"):
        drops.write_day(tmp_path, DAY, {"creator": nul}, 1)
    with pytest.raises(drops.DropWriteError, match="no file spec"):
        drops.write_day(tmp_path, DAY, {"nope": f}, 1)


def test_exports_are_masked_and_ignored_by_ingestion(tmp_path):
    start, _ = day_bounds_unix(DAY)
    so = pd.DataFrame(
        {
            "order_id": ["6910000000000000001", "6910000000000000002"],
            "parent_order_id": ["6900000000000000001"] * 2,
            "shop_id": "1000001",
            "product_id": "3500000000000000001",
            "product_name": "保湿面霜",
            "item_num": [2, 1],
            "origin_amount": [9980, 4990],
            "pay_amount": [8980, 4990],
            "create_time": start + 100,
            "pay_time": [start + 200, 0],
            "order_status": [2, 1],
            "promotion_platform_amount": 0,
            "promotion_shop_amount": [1000, 0],
            "promotion_talent_amount": 0,
            "province": "广东省",
        }
    )
    af = pd.DataFrame(
        {
            "aftersale_id": ["7000000000000000001"],
            "related_id": ["6910000000000000001"],
            "shop_order_id": ["6900000000000000001"],
            "shop_id": ["1000001"],
            "aftersale_type": [2],
            "aftersale_status": [12],
            "apply_time": [start + 500],
            "refund_time": [start + 900],
        }
    )
    res = drops.write_exports(tmp_path, DAY, so, af, 5)
    assert set(res) == {"订单导出_1000001_20260305.csv", "售后导出_1000001_20260305.csv"} or {
        n.rsplit(".", 1)[0] for n in res
    } == {"订单导出_1000001_20260305", "售后导出_1000001_20260305"}
    for name in res:
        assert spec_for_file(name) is None
    name = next(n for n in res if n.startswith("订单导出"))
    key = ("1000001",)
    style = drops.file_style(5, drops.EXPORT_SPECS["order_export"], key)
    rows = _read_rows(tmp_path / "drops" / DAY.isoformat() / name, style)
    head = rows[0]
    rec = dict(zip(head, rows[1]))
    assert rec["收件人"].endswith("**") and len(rec["收件人"]) == 3
    assert rec["收件人手机号"][3:7] == "****" and len(rec["收件人手机号"]) == 11
    assert yuan_to_fen(rec["商品单价"]) == 4990 and rec["订单状态"] == "待发货"
    assert dict(zip(head, rows[2]))["支付完成时间"] in ("", None)


def test_a_30k_settlement_day_writes_every_row_once_in_its_senders_files(tmp_path):
    """A big day (30k settlement lines + 30k shipments + 25k freight rows): every row lands in exactly one
    file of its sender (settlements split by shop), and the day's folder holds exactly the reported files."""
    rng = np.random.default_rng(4)
    n = 30_000
    frames = {
        "settlement_bill": _frame(SPECS["settlement_bill"], n, rng),
        "shipment": _frame(SPECS["shipment"], n, rng),
        "freight_invoice": _frame(SPECS["freight_invoice"], 25_000, rng),
    }
    frames["settlement_bill"]["shop_id"] = np.where(np.arange(n) % 2 == 0, "1000001", "1000002")
    res = drops.write_day(tmp_path, DAY, frames, 11)
    by_kind: dict[str, int] = {}
    for name, rows in res.items():
        by_kind[name.split("_")[0]] = by_kind.get(name.split("_")[0], 0) + rows
    assert by_kind == {"结算账单": 30_000, "发货明细": 30_000, "运费账单": 25_000}
    settlements = {name.split("_")[1]: rows for name, rows in res.items() if name.startswith("结算账单")}
    assert settlements == {"1000001": 15_000, "1000002": 15_000}
    assert sorted(p.name for p in (tmp_path / "drops" / DAY.isoformat()).iterdir()) == sorted(res)


def test_gbk_falls_back_to_gb18030_and_xlsx_loads_fully():
    data = drops.csv_bytes(["名称", "金额"], [["面霜😀", "普通"], ["1.00", "2.00"]], "gbk")
    assert data.decode("gb18030").splitlines()[1] == "面霜😀,1.00"
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert drops.csv_bytes(["名称"], [["普通"]], "gbk") == "名称\r\n普通\r\n".encode("gbk")
    xb = drops.xlsx_bytes(["a", "b", "c"], [["x", "\t123", None], [1, None, 3], ["a&b<c>", "", "z"]])
    wb = openpyxl.load_workbook(io.BytesIO(xb))  # full (not read-only) load: a well-formed package
    ws = wb.active
    assert ws.max_row == 4 and ws.max_column == 3
    assert [list(r) for r in ws.iter_rows(values_only=True)] == [
        ["a", "b", "c"],
        ["x", 1, "a&b<c>"],
        ["\t123", None, None],
        [None, 3, "z"],
    ]


def test_quiet_senders_send_header_only_files(tmp_path):
    """Issue 12: a shop or 3PL that sends a daily file sends it on a quiet day too (header only)."""
    rng = np.random.default_rng(4)
    bills = _frame(SPECS["settlement_bill"], 3, rng)
    bills["shop_id"] = "1001"
    senders = {"shop_id": ["1001", "1002"], "warehouse_code": ["WH01", "WH02"]}
    res = drops.write_day(
        tmp_path,
        DAY,
        {"settlement_bill": bills, "fund_flow": None, "shipment": None, "freight_invoice": None},
        5,
        senders=senders,
    )
    names = {n.rsplit(".", 1)[0]: rows for n, rows in res.items()}
    assert names == {
        "结算账单_1001_20260305": 3,
        "结算账单_1002_20260305": 0,
        "动账明细_1001_20260305": 0,
        "动账明细_1002_20260305": 0,
        "发货明细_WH01_20260305": 0,
        "发货明细_WH02_20260305": 0,
    }
    quiet = next(n for n in res if n.startswith("结算账单_1002"))
    rows = _read_rows(
        tmp_path / "drops" / DAY.isoformat() / quiet, drops.file_style(5, SPECS["settlement_bill"], ("1002",))
    )
    assert rows == [[c.header for c in SPECS["settlement_bill"].columns]]


def test_every_day_of_a_world_holds_its_expected_files(world, tmp_path, monkeypatch):
    """The simulator is honest to the file contract: no day of the CI world misses an expected file."""
    import json

    from douyin_etl.sources.files.expected import expect_day
    from douyin_etl.storage import Storage

    shops = [str(s["shop_id"]) for s in json.loads((world / "world.json").read_text())["shops"]]
    lake = Storage(str(tmp_path / "lake"))
    days = sorted(date.fromisoformat(p.name) for p in (world / "drops").iterdir())
    problems = [
        (e, d, r.problem, r.missing)
        for d in days
        for e in SPECS
        if not (r := expect_day(e, d, world / "drops", lake, shops)).ok
    ]
    assert problems == []
    first = world / "drops" / days[0].isoformat()
    assert len(list(first.glob("结算账单_*"))) == len(shops)  # before any settlement: header-only bills
