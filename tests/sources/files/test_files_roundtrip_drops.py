"""Round trip: canonical frames -> the simulator's drop writer (douyin_sim.simulator.drops) -> ingestion.

Both sides read specs.py; every spec, every ctype, all encodings/formats/id protections the writer
picks must come back exactly (money to the fen, times to the second as Asia/Shanghai instants).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from douyin_etl.landing import reader
from douyin_etl.sources.files.ingest import ingest_entity
from douyin_etl.sources.files.specs import SPECS, FileSpec
from douyin_etl.timeutil import SHANGHAI

drops_mod = pytest.importorskip("douyin_sim.simulator.drops")
pd = pytest.importorskip("pandas")

DT = date(2026, 3, 1)
BASE_TS = int(datetime(2026, 3, 1, 8, 0, tzinfo=SHANGHAI).timestamp())
N = 6
GROUP_VALUES = {
    "shop_id": ["1001", "1002", "1003"],
    "carrier": ["shunfeng", "yunda", "ems"],
    "warehouse_code": ["WH01", "WH02", "WH03"],
}
FEN = [29, 123456, 0, 100000000, 7, 1999]
BP = [2000, 2050, 25, 0, 1000, 3333]
GRAMS = [1234, 2000, 500, 1, 10000, 999]


def _value(spec: FileSpec, col, i: int):
    if col.nullable and i == 1:
        return None
    if col.name == "warehouse_id":  # the file-name group of 3PL files (one per warehouse of the list); the list's key
        return f"WH{i + 1:02d}"
    match col.ctype:
        case "id":
            return str(6_900_000_000_000_000_000 + i * 7919)
        case "str":
            return f"文本{col.name}{i}"
        case "int":
            return i * 1_234_567
        case "fen":
            return FEN[i]
        case "ts":
            return BASE_TS + i * 3600 + 60 * (i + 1)
        case "date":
            return date(2026, 2, 20 + i)
        case "bp":
            return BP[i]
        case "grams":
            return GRAMS[i]
        case "enum":
            vals = list(col.values.values())
            return vals[i % len(vals)]
    raise AssertionError(col.ctype)


def _frame(spec: FileSpec) -> tuple[pd.DataFrame, list[dict]]:
    rows = []
    for i in range(N):
        row = {c.name: _value(spec, c, i) for c in spec.columns}
        for g in spec.file_columns:
            if g in GROUP_VALUES and g != "warehouse_code":
                row[g] = GROUP_VALUES[g][i % 3]
        rows.append(row)
    return pd.DataFrame(rows), rows


def _expected(spec: FileSpec, row: dict) -> dict:
    out = {}
    for c in spec.columns:
        v = row[c.name]
        if c.ctype == "ts" and v is not None:
            v = datetime.fromtimestamp(v, SHANGHAI)
        out[c.name] = v
    return out


@pytest.mark.parametrize("seed", [1])
def test_every_spec_round_trips(tmp_path, monkeypatch, seed):
    lake_root = tmp_path / "lake"
    monkeypatch.setenv("DOUYIN_LAKE_DIR", str(lake_root))
    monkeypatch.setenv("DOUYIN_QUARANTINE_THRESHOLD", "0")
    monkeypatch.setenv("DOUYIN_SHOP_IDS", ",".join(GROUP_VALUES["shop_id"]))
    monkeypatch.setenv("DOUYIN_STATE_DIR", str(tmp_path / "state"))
    from douyin_etl.storage import Storage

    lake = Storage(str(lake_root))
    frames, rows = {}, {}
    for name, spec in SPECS.items():
        frames[name], rows[name] = _frame(spec)
    written = drops_mod.write_day(tmp_path / "world", DT, frames, seed=seed)
    assert written, "the drop writer wrote no files"
    encodings: set = set()
    for name, spec in SPECS.items():
        s = ingest_entity(name, DT, f"run-{seed}", drops_dir=tmp_path / "world" / "drops", storage=lake)
        files = {k: v for k, v in written.items() if spec.match(k)}
        assert s["quarantined"] == 0, name
        assert s["files"] == len(files) and s["rows_read"] == sum(files.values()) == N, name
        assert s["rows"] == N, name
        encodings.update(s["encodings"].values())
        part = Path(reader.partition_dir(name, DT, lake)) / "part-00000.parquet"
        con = duckdb.connect()
        con.execute("SET TimeZone='Asia/Shanghai'")
        cols = [c.name for c in spec.columns]
        got = con.execute(f"SELECT {', '.join(cols)} FROM read_parquet('{part}', hive_partitioning=false)").fetchall()
        got_rows = sorted((dict(zip(cols, g)) for g in got), key=repr)
        want = sorted((_expected(spec, r) for r in rows[name]), key=repr)
        assert got_rows == want, name
    assert None in encodings and len(encodings - {None}) >= 2, encodings  # XLSX and several CSV encodings
