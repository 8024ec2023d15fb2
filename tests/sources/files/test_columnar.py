"""The columnar path (``columnar.py``: a file's cells converted in DuckDB) lands exactly what the row path
lands: the same partition bytes, the same manifest (but for timings and which path ran), the same
quarantine. Checked on every file of a generated world with the shops' quirks, and on hand-made files
with the cells only the row path converts, bad cells, repeats and conflicting keys."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import openpyxl
import pytest
from files_helpers import SETTLEMENT_HEADERS, settlement_row, write_csv

from douyin_etl.landing import reader
from douyin_etl.sources.files.columnar import MIN_ROWS
from douyin_etl.sources.files.ingest import ingest_entity
from douyin_etl.sources.files.specs import SPECS
from douyin_etl.storage import Storage

simulator = pytest.importorskip("douyin_sim.simulator")

DT = date(2026, 3, 1)
_RUN_FACTS = ("seconds", "conversion")


def _land(
    drops: Path, lake: Path, entity: str, dt: date, shops: list[str], columnar_from: int | None
) -> dict[str, Any]:
    try:
        return ingest_entity(
            entity, dt, "run-1", drops_dir=drops, storage=Storage(str(lake)), shops=shops, columnar_from=columnar_from
        )
    except Exception as exc:  # noqa: BLE001 - both paths must fail alike
        return {"error": f"{type(exc).__name__}: {exc}"}


def _manifest(lake: Path, entity: str, dt: date) -> dict[str, Any] | None:
    path = Path(reader.partition_dir(entity, dt, Storage(str(lake)))) / "_manifest.json"
    if not path.exists():
        return None
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc.pop("extracted_at")
    for src in doc["sources"]:
        for fact in _RUN_FACTS:
            src.pop(fact, None)
    return doc


def _quarantine(lake: Path) -> list[tuple]:
    files = sorted((lake / "quarantine").rglob("*.parquet"))
    con = duckdb.connect()
    return [
        (str(f.relative_to(lake)), *row)
        for f in files
        for row in con.execute(
            f"SELECT * EXCLUDE (quarantined_at) FROM read_parquet('{f}', hive_partitioning=false) ORDER BY ALL"
        ).fetchall()
    ]


def assert_same_landing(rows_lake: Path, col_lake: Path, entity: str, dt: date) -> None:
    assert _manifest(rows_lake, entity, dt) == _manifest(col_lake, entity, dt), entity
    part = Path(reader.partition_dir(entity, dt, Storage(str(rows_lake)))) / "part-00000.parquet"
    if part.exists():
        other = Path(reader.partition_dir(entity, dt, Storage(str(col_lake)))) / "part-00000.parquet"
        assert part.read_bytes() == other.read_bytes(), f"{entity} {dt}: the partitions differ"


def _conversions(lake: Path) -> dict[str, str]:
    out = {}
    for m in lake.rglob("_manifest.json"):
        for src in json.loads(m.read_text(encoding="utf-8"))["sources"]:
            if src.get("status") == "landed":
                out[src["name"]] = src["conversion"]
    return out


def test_every_file_of_a_generated_world_lands_the_same_both_ways(tmp_path):
    world = tmp_path / "world"
    simulator.generate_world(world, seed=5, start=DT, days=4, shops=2, orders_per_day=300)
    shops = [str(s["shop_id"]) for s in json.loads((world / "world.json").read_text(encoding="utf-8"))["shops"]]
    days = sorted(date.fromisoformat(p.name) for p in (world / "drops").iterdir())
    rows_lake, col_lake = tmp_path / "rows", tmp_path / "columnar"
    for dt in days:
        for entity in SPECS:
            by_rows = _land(world / "drops", rows_lake, entity, dt, shops, columnar_from=None)
            by_cols = _land(world / "drops", col_lake, entity, dt, shops, columnar_from=0)
            assert ("error" in by_rows) == ("error" in by_cols) and by_rows.get("error") == by_cols.get("error")
            assert_same_landing(rows_lake, col_lake, entity, dt)
    assert _quarantine(rows_lake) == _quarantine(col_lake)
    conversions = _conversions(col_lake)
    assert set(_conversions(rows_lake).values()) == {"rows"}
    columnar = sum(1 for c in conversions.values() if c == "columnar")
    assert columnar / len(conversions) >= 0.95, {n: c for n, c in conversions.items() if c != "columnar"}


def _day(drops: Path, rows: list[dict[str, str]], name: str = "结算账单_1001_20260301.csv") -> None:
    write_csv(drops / "2026-03-01" / name, rows, headers=SETTLEMENT_HEADERS)


@pytest.fixture
def drops(drops, monkeypatch):
    monkeypatch.setenv("DOUYIN_QUARANTINE_THRESHOLD__SETTLEMENT_BILL", "0.5")  # quarantine the bad rows
    return drops


def _both(tmp_path: Path, drops: Path) -> dict[str, str]:
    rows_lake, col_lake = tmp_path / "rows", tmp_path / "columnar"
    by_rows = _land(drops, rows_lake, "settlement_bill", DT, ["1001"], columnar_from=None)
    by_cols = _land(drops, col_lake, "settlement_bill", DT, ["1001"], columnar_from=0)
    assert "error" not in by_rows, by_rows
    for timing in ("seconds", "rows_per_s"):
        by_rows.pop(timing), by_cols.pop(timing)
    assert by_rows == by_cols
    assert_same_landing(rows_lake, col_lake, "settlement_bill", DT)
    assert _quarantine(rows_lake) == _quarantine(col_lake)
    return _conversions(col_lake)


def test_bad_cells_repeats_and_excel_protections_stay_columnar_and_land_alike(tmp_path, drops):
    rows = [settlement_row(i) for i in range(1, 40)]
    rows[1].update({"结算金额": "12.345"})  # three decimals: bad
    rows[2].update({"结算时间": "2026-02-30 10:00:00"})  # no such day: bad
    rows[3].update({"结算单号": ""})  # required: bad
    rows[4].update({"交易类型": "未知"})  # not an enum word: bad
    rows[5].update({"结算单号": '="R00006"', "子订单号": "\u3000'68000000000000000006 ", "备注": " 全角空格\u3000"})
    rows[6].update({"结算时间": "2026/03/01 07:05", "平台服务费": "-0.5", "佣金": "1,234,567.8"})
    rows.append(dict(rows[10]))  # an exact repeat: lands once
    rows.append({})  # a blank row
    rows.append({"结算时间": "合计", "结算金额": "99.99"})  # a summary row
    _day(drops, rows)
    assert _both(tmp_path, drops) == {"结算账单_1001_20260301.csv": "columnar"}


@pytest.mark.parametrize(("data_rows", "conversion"), [(MIN_ROWS - 1, "rows"), (MIN_ROWS, "columnar")])
def test_by_default_a_file_below_min_rows_is_converted_row_by_row(tmp_path, drops, data_rows, conversion):
    """The default path by size (the columnar path's fixed cost loses on small files), landing the same
    bytes as the other path; blank and summary rows do not count."""
    rows = [settlement_row(i) for i in range(1, data_rows + 1)]
    rows.insert(10, {})  # a blank row
    rows.append({"结算时间": "合计", "结算金额": "99.99"})  # a summary row
    _day(drops, rows)
    by_default = _land(drops, tmp_path / "default", "settlement_bill", DT, ["1001"], columnar_from=MIN_ROWS)
    other = None if conversion == "columnar" else 0
    by_other = _land(drops, tmp_path / "other", "settlement_bill", DT, ["1001"], columnar_from=other)
    assert _conversions(tmp_path / "default") == {"结算账单_1001_20260301.csv": conversion}
    assert _conversions(tmp_path / "other") == {
        "结算账单_1001_20260301.csv": "columnar" if conversion == "rows" else "rows"
    }
    assert by_default["rows"] == by_other["rows"] == data_rows
    assert_same_landing(tmp_path / "default", tmp_path / "other", "settlement_bill", DT)


@pytest.mark.parametrize(
    ("override", "conversion"),
    [
        ({"结算金额": "¥12.30"}, "rows"),  # a currency sign: only the row path reads it
        ({"结算时间": "2026-03-01T10:00:00+09:00"}, "rows"),  # an ISO offset
        ({"平台服务费": "１２.３０"}, "rows"),  # full-width digits
        ({"结算时间": "1991-07-01 10:00:00"}, "rows"),  # daylight saving time in Shanghai then
        ({"结算时间": "2026-3-1 8:05"}, "columnar"),  # one-digit parts: SQL reads them by their parts
        ({"结算时间": "2026.03.01 08:05:00.25"}, "columnar"),
        ({"结算时间": "2026-03-01 24:00:00"}, "columnar"),  # bad, both ways
    ],
)
def test_a_cell_only_the_row_path_reads_sends_the_whole_file_there(tmp_path, drops, override, conversion):
    rows = [settlement_row(i) for i in range(1, 20)]
    rows[7].update(override)
    rows[9].update({"结算金额": "abc"})  # and a bad one
    _day(drops, rows)
    assert _both(tmp_path, drops) == {"结算账单_1001_20260301.csv": conversion}


def test_a_key_twice_with_other_values_is_judged_by_the_row_path(tmp_path, drops):
    rows = [settlement_row(i) for i in range(1, 10)]
    rows.append({**rows[3], "结算金额": "1.00"})  # same request_no, other values: quarantined
    _day(drops, rows)
    assert _both(tmp_path, drops) == {"结算账单_1001_20260301.csv": "rows"}


def test_xlsx_cells_of_every_python_type_land_alike(tmp_path, drops):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(SETTLEMENT_HEADERS)
    for i in range(1, 12):
        row: list[Any] = list(settlement_row(i).values())
        row[0] = datetime(2026, 3, 1, 9, i)  # a date cell
        row[4] = 3601  # an int id
        row[6] = 12.5 if i % 2 else 7  # float and int money
        row[14] = 0.1 + 0.2 if i == 5 else 0.29  # 0.30000000000000004: more than 2 decimals, bad
        ws.append(row)
    path = drops / "2026-03-01" / "结算账单_1001_20260301.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    assert _both(tmp_path, drops) == {"结算账单_1001_20260301.xlsx": "columnar"}
