from __future__ import annotations

import hashlib
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from douyin_etl.landing import reader
from douyin_etl.landing.writer import LandingError, PartitionWriter
from douyin_etl.timeutil import SHANGHAI

DT = date(2026, 3, 1)
SCHEMA = {"request_no": "VARCHAR", "settle_time": "TIMESTAMPTZ", "settle_amount": "BIGINT", "shop_id": "VARCHAR"}


def _rec(no: str, hour: int, amount: int, ref: str) -> dict:
    return {
        "request_no": no,
        "settle_time": datetime(2026, 3, 1, hour, 30, tzinfo=SHANGHAI),
        "settle_amount": amount,
        "shop_id": "1001",
        "_source_ref": ref,
    }


def _land(lake, run_id: str, batches: list[list[dict]]) -> dict:
    with PartitionWriter("settlement_bill", DT, run_id, storage=lake, schema=SCHEMA) as w:
        for b in batches:
            w.write_records(b)
        w.add_source({"name": "f.csv", "sha256": "x", "rows": sum(len(b) for b in batches)})
    return w.manifest


def _part(lake) -> Path:
    return Path(reader.partition_dir("settlement_bill", DT, lake)) / "part-00000.parquet"


def _rows(path: Path) -> list[tuple]:
    con = duckdb.connect()
    con.execute("SET TimeZone='Asia/Shanghai'")
    return con.execute(f"SELECT * FROM read_parquet('{path}', hive_partitioning=false)").fetchall()


def test_rerun_gives_identical_bytes_and_sorted_by_key(lake):
    batches = [[_rec("c", 9, 300, "f.csv:2"), _rec("a", 10, 100, "f.csv:3")], [_rec("b", 11, -50, "f.csv:4")]]
    m1 = _land(lake, "run-1", batches)
    first = hashlib.sha256(_part(lake).read_bytes()).hexdigest()
    m2 = _land(lake, "run-2", batches)
    assert hashlib.sha256(_part(lake).read_bytes()).hexdigest() == first
    assert (m1["run_id"], m2["run_id"]) == ("run-1", "run-2")
    rows = _rows(_part(lake))
    assert [r[0] for r in rows] == ["a", "b", "c"]
    assert rows[1][2] == -50 and rows[1][4] == "f.csv:4"
    assert rows[0][1] == datetime(2026, 3, 1, 10, 30, tzinfo=SHANGHAI)


def test_dedup_by_key_keeps_last_written(lake):
    m = _land(lake, "r", [[_rec("a", 9, 100, "f.csv:2"), _rec("b", 9, 1, "f.csv:3")], [_rec("a", 12, 999, "g.csv:2")]])
    rows = _rows(_part(lake))
    assert [(r[0], r[2], r[4]) for r in rows] == [("a", 999, "g.csv:2"), ("b", 1, "f.csv:3")]
    assert m["rows"] == 2 and m["duplicates_removed"] == 1 and m["rows_written"] == 3


def test_manifest_contents(lake):
    m = _land(lake, "run-7", [[_rec("a", 9, 100, "f.csv:2"), _rec("b", 23, 1, "f.csv:3")]])
    on_disk = reader.read_manifest("settlement_bill", DT, lake)
    assert on_disk == m
    assert m["entity"] == "settlement_bill" and m["source"] == "backoffice" and m["dt"] == "2026-03-01"
    assert m["partition_field"] == "settle_time"
    assert m["partition_min"] == "2026-03-01T09:30:00+08:00" and m["partition_max"] == "2026-03-01T23:30:00+08:00"
    assert m["sources"] == [{"name": "f.csv", "sha256": "x", "rows": 2}]
    assert m["extracted_at"].endswith("+00:00")
    assert m["code_version"]["version"]
    assert [c["name"] for c in m["columns"]] == ["request_no", "settle_time", "settle_amount", "shop_id", "_source_ref"]
    assert dict((c["name"], c["type"]) for c in m["columns"])["settle_time"] == "TIMESTAMP WITH TIME ZONE"
    assert reader.list_partitions("settlement_bill", lake) == [DT]
    got = (
        duckdb.connect()
        .execute(
            f"SELECT count(*), min(dt) FROM read_parquet('{reader.parquet_glob('settlement_bill', lake)}', hive_partitioning=true)"
        )
        .fetchone()
    )
    assert got == (2, DT)


def test_exception_mid_write_leaves_previous_partition(lake):
    _land(lake, "good", [[_rec("a", 9, 100, "f.csv:2")]])
    before = _part(lake).read_bytes()
    manifest_before = reader.read_manifest("settlement_bill", DT, lake)
    with pytest.raises(RuntimeError, match="boom"):
        with PartitionWriter("settlement_bill", DT, "bad", storage=lake, schema=SCHEMA) as w:
            w.write_records([_rec("z", 9, 1, "x:2")])
            raise RuntimeError("boom")
    assert _part(lake).read_bytes() == before
    assert reader.read_manifest("settlement_bill", DT, lake) == manifest_before
    entity_dir = Path(lake.path("raw/backoffice/settlement_bill"))
    assert sorted(p.name for p in entity_dir.iterdir()) == ["dt=2026-03-01"]
    assert sorted(p.name for p in _part(lake).parent.iterdir()) == ["_manifest.json", "part-00000.parquet"]


def test_bad_value_for_declared_type_fails_without_landing(lake):
    with pytest.raises(LandingError, match="settlement_bill"):
        with PartitionWriter("settlement_bill", DT, "r", storage=lake, schema=SCHEMA) as w:
            w.write_records([{"request_no": "a", "settle_amount": "not-a-number", "_source_ref": "x"}])
    assert reader.list_partitions("settlement_bill", lake) == []


def test_empty_partition_is_typed(lake):
    with PartitionWriter("settlement_bill", DT, "r", storage=lake, schema=SCHEMA):
        pass
    con = duckdb.connect()
    desc = con.execute(f"DESCRIBE SELECT * FROM read_parquet('{_part(lake)}', hive_partitioning=false)").fetchall()
    assert [(d[0], d[1]) for d in desc] == [
        ("request_no", "VARCHAR"),
        ("settle_time", "TIMESTAMP WITH TIME ZONE"),
        ("settle_amount", "BIGINT"),
        ("shop_id", "VARCHAR"),
        ("_source_ref", "VARCHAR"),
    ]
    assert con.execute(f"SELECT count(*) FROM read_parquet('{_part(lake)}', hive_partitioning=false)").fetchone() == (
        0,
    )
    m = reader.read_manifest("settlement_bill", DT, lake)
    assert m["rows"] == 0 and m["partition_min"] is None


def test_inferred_types_json_and_late_columns(lake):
    recs1 = [
        {"order_id": "2", "update_time": 1772330400, "post_addr": {"city": "杭州"}, "note": None, "_source_ref": "p0"}
    ]
    recs2 = [
        {"order_id": "1", "update_time": 1772330500, "post_addr": None, "note": "hi", "flag": True, "_source_ref": "p1"}
    ]
    with PartitionWriter("shop_order", DT, "r", storage=lake) as w:
        w.write_records(recs1)
        w.write_records(recs2)
    path = Path(reader.partition_dir("shop_order", DT, lake)) / "part-00000.parquet"
    con = duckdb.connect()
    types = dict(
        (d[0], d[1])
        for d in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{path}', hive_partitioning=false)").fetchall()
    )
    assert types == {
        "order_id": "VARCHAR",
        "update_time": "BIGINT",
        "post_addr": "VARCHAR",
        "note": "VARCHAR",
        "flag": "BOOLEAN",
        "_source_ref": "VARCHAR",
    }
    rows = con.execute(
        f"SELECT order_id, post_addr, note, flag FROM read_parquet('{path}', hive_partitioning=false)"
    ).fetchall()
    assert rows == [("1", None, "hi", True), ("2", '{"city":"杭州"}', None, None)]


def test_large_batches_stream(lake):
    recs = [_rec(f"r{i:06d}", 9, i, f"f.csv:{i + 2}") for i in range(30_000)]
    m = _land(lake, "r", [recs[:15_000], recs[15_000:], recs[:10]])
    assert m["rows"] == 30_000 and m["duplicates_removed"] == 10
    (total,) = duckdb.connect().execute(f"SELECT sum(settle_amount) FROM '{_part(lake)}'").fetchone()
    assert total == sum(range(30_000))


def test_non_local_storage_uploads_through_fsspec():
    """memory:// stands in for s3://: the writer lands through Storage, readers and DuckDB read it back."""
    import uuid

    from douyin_etl.storage import Storage

    st = Storage(f"memory://lake-{uuid.uuid4().hex}")
    for run in ("r1", "r2"):
        with PartitionWriter("settlement_bill", DT, run, storage=st, schema=SCHEMA) as w:
            w.write_records([_rec("a", 9, 100, "f.csv:2"), _rec("a", 9, 101, "f.csv:3")])
    part = reader.partition_dir("settlement_bill", DT, st)
    assert sorted(st.listdir(part)) == ["_manifest.json", "part-00000.parquet"]
    assert reader.read_manifest("settlement_bill", DT, st)["run_id"] == "r2"
    assert reader.list_partitions("settlement_bill", st) == [DT]
    con = duckdb.connect()
    st.duckdb_register(con)
    got = con.execute(
        f"SELECT request_no, settle_amount, dt FROM read_parquet('{reader.parquet_glob('settlement_bill', st)}', "
        "hive_partitioning=true)"
    ).fetchall()
    assert got == [("a", 101, DT)]
    assert not [n for n in st.listdir(st.path("raw/backoffice/settlement_bill")) if n.startswith(".")]


def test_scratch_files_cleaned_after_commit_and_abort(lake, tmp_path, monkeypatch):
    import tempfile

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    _land(lake, "r", [[_rec("a", 9, 1, "f:2")], [_rec("b", 9, 1, "f:3")]])
    with pytest.raises(ValueError):
        with PartitionWriter("settlement_bill", DT, "r2", storage=lake, schema=SCHEMA) as w:
            w.write_records([_rec("c", 9, 1, "f:4")])
            raise ValueError("stop")
    PartitionWriter("settlement_bill", DT, "never-used", storage=lake, schema=SCHEMA)  # creates nothing
    assert [p.name for p in scratch.iterdir() if p.name.startswith("douyin-landing-settlement")] == []


def test_write_parquet_lands_like_write_records(lake, tmp_path):
    """A batch given as Parquet files (bulk history loads) lands the same bytes as the same rows as records,
    de-duplicated across batches; ``expressions`` convert a column; a missing column lands NULL with drift."""
    batches = [[_rec("c", 9, 300, "f.csv:2"), _rec("a", 10, 100, "f.csv:3")], [_rec("a", 11, -50, "f.csv:4")]]
    _land(lake, "run-records", batches)
    expected = hashlib.sha256(_part(lake).read_bytes()).hexdigest()

    con = duckdb.connect()
    con.execute("SET TimeZone='Asia/Shanghai'")
    files = []
    for i, batch in enumerate(batches):
        f = tmp_path / f"b{i}.parquet"
        values = ", ".join(
            f"('{r['request_no']}', TIMESTAMPTZ '{r['settle_time'].isoformat()}', "
            f"{r['settle_amount'] / 100}, '{r['shop_id']}', '{r['_source_ref']}')"
            for r in batch
        )
        con.execute(
            f"COPY (SELECT * FROM (VALUES {values}) t(request_no, settle_time, settle_yuan, shop_id, _source_ref)) "
            f"TO '{f}' (FORMAT parquet)"
        )
        files.append(f)
    with PartitionWriter("settlement_bill", DT, "run-parquet", storage=lake, schema=SCHEMA) as w:
        for f in files:  # one batch per file: the later batch wins per key, as with write_records
            w.write_parquet([f], {"settle_amount": "round(settle_yuan * 100)"})
    assert hashlib.sha256(_part(lake).read_bytes()).hexdigest() == expected
    assert w.manifest["rows"] == 2 and w.manifest["duplicates_removed"] == 1
    assert w.manifest["drift"] == []

    with PartitionWriter("settlement_bill", DT, "run-missing", storage=lake, schema=SCHEMA) as w:
        w.write_parquet([files[0]])  # settle_amount is not in the files
    assert [r[2] for r in _rows(_part(lake))] == [None, None]
    assert w.manifest["drift"] == ["column 'settle_amount' missing from the source files; landed as NULL"]

    with pytest.raises(LandingError, match="declared schema"):
        PartitionWriter("settlement_bill", DT, "run-x", storage=lake).write_parquet(files)
