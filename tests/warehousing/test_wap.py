"""Write-audit-publish: atomic publish under concurrent readers, failed gates, crashes, one writer."""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import os
import signal
import threading
import time
from pathlib import Path

import duckdb
import pytest
from wh_helpers import fill_version  # type: ignore[import-not-found]

from douyin_etl.warehousing import wap
from douyin_etl.warehousing.lock import FileLock, WarehouseLocked

CTX = mp.get_context("spawn")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def header_version(path: Path) -> int:
    head = path.read_bytes()[:20]
    assert head[8:12] == b"DUCK"
    return int.from_bytes(head[12:20], "little")


def _publish_version(run_id: str, version: int, rows: int = 20_000) -> wap.PublishResult:
    audit = wap.prepare_audit(run_id)
    fill_version(audit, version, rows)
    return wap.publish(audit, run_id, meta={"version": version})


def test_first_audit_is_new_and_readable_by_duckdb_1_4(wh_env):
    audit = wap.prepare_audit("r1")
    assert audit == wh_env["state"] / "runs" / "r1" / "audit.duckdb"
    # storage version 67 = v1.4.0 format (a default DuckDB 2.0 file says 999, which 1.4 refuses)
    assert header_version(audit) == 67
    fill_version(audit, 1)
    assert header_version(audit) == 67  # stays in the 1.4 format after later writes without the option


def test_publish_records_version_and_replaces_atomically(wh_env):
    res = _publish_version("r1", 1)
    published = wh_env["warehouse"]
    assert published.exists() and not published.with_name(published.name + ".wal").exists()
    version = json.loads(wap.version_path(published).read_text())
    assert version["run_id"] == "r1" and version["sha256"] == sha256(published) == res.sha256
    assert version["size"] == published.stat().st_size
    con = duckdb.connect(str(published), read_only=True)
    assert con.execute("SELECT run_id, json_extract(meta, '$.version')::INT FROM _meta.publish_log").fetchall() == [
        ("r1", 1)
    ]
    con.close()
    # the next audit starts from the published version (incremental models continue)
    audit2 = wap.prepare_audit("r2")
    con = duckdb.connect(str(audit2), read_only=True)
    assert con.execute("SELECT DISTINCT version FROM v.t").fetchall() == [(1,)]
    con.close()
    res2 = wap.publish(audit2, "r2")
    con = duckdb.connect(str(published), read_only=True)
    assert con.execute("SELECT run_id FROM _meta.publish_log ORDER BY published_at").fetchall() == [("r1",), ("r2",)]
    con.close()
    assert res2.sha256 != res.sha256


def test_read_horizon_is_the_latest_published_as_of(wh_env):
    """The marts' horizon a run must not go below: the latest as_of in the publish log (a rebuild of a
    past day that published the horizon again, or a publish without as_of, does not lower it)."""
    from datetime import date

    assert wap.read_horizon() is None  # nothing published yet
    audit = wap.prepare_audit("h1")
    assert wap.read_horizon(audit) is None  # a new warehouse: no publish log
    fill_version(audit, 1, 10)
    wap.publish(audit, "h1", meta={"start": "2026-10-01", "end": "2026-10-14", "as_of": "2026-10-14"})
    for run_id, meta in (
        ("h2", {"start": "2026-10-08", "end": "2026-10-08", "as_of": "2026-10-08"}),
        ("h3", {"version": 3}),
    ):
        wap.publish(wap.prepare_audit(run_id), run_id, meta=meta)
    assert wap.read_horizon() == date(2026, 10, 14)
    assert wap.read_horizon(wap.prepare_audit("h4")) == date(2026, 10, 14)  # the audit copy carries the log
    wap.publish(wap.prepare_audit("h4"), "h4", meta={"start": "2026-10-15", "end": "2026-10-15"})  # no as_of
    assert wap.read_horizon() == date(2026, 10, 15)


def test_a_publish_without_as_of_keeps_the_horizon_its_build_recorded(wh_env):
    """``steps.publish`` takes the marts' horizon from the run's own ``build_audit`` record when the caller's
    meta lacks it (the bench's did: its later runs then saw no horizon and tested all history daily)."""
    from datetime import date

    from douyin_etl.orchestration import steps

    audit = wap.prepare_audit("p1")
    fill_version(audit, 1, 10)
    steps._record(
        "p1", "build_audit", "ok", 1.0, {"audit_path": str(audit), "as_of": "2026-10-14", "window_start": "2026-10-12"}
    )
    steps.publish(audit, "p1", meta={"run_id": "p1", "source": "bench"})
    assert wap.read_horizon() == date(2026, 10, 14)
    con = duckdb.connect(str(wh_env["warehouse"]), read_only=True)
    assert con.execute("SELECT json_extract_string(meta, '$.window_start') FROM _meta.publish_log").fetchall() == [
        ("2026-10-12",)
    ]
    con.close()


def _reader(path: str, stop: mp.Event, final_version: int, out: mp.Queue) -> None:
    """Open the published file read-only again and again until the writer is done and the final version was seen."""
    seen: set[int] = set()
    reads = errors = 0
    problems: list[str] = []
    hard_deadline = time.time() + 90
    while not (stop.is_set() and final_version in seen) and time.time() < hard_deadline:
        try:
            con = duckdb.connect(path, read_only=True)
            try:
                version, expected = con.execute("SELECT version, rows FROM v.meta").fetchone()
                n, lo, hi = con.execute("SELECT count(*), min(version), max(version) FROM v.t").fetchone()
                logged = con.execute(
                    "SELECT json_extract(meta, '$.version')::INT FROM _meta.publish_log "
                    "ORDER BY published_at DESC LIMIT 1"
                ).fetchone()[0]
            finally:
                con.close()
            if not (n == expected and lo == hi == version == logged):
                problems.append(
                    f"incomplete version: meta {version} rows {n}/{expected} versions {lo}..{hi} log {logged}"
                )
            seen.add(version)
            reads += 1
        except Exception as exc:  # any error is a failure of atomicity
            errors += 1
            problems.append(f"{type(exc).__name__}: {exc}")
    out.put({"reads": reads, "errors": errors, "seen": sorted(seen), "problems": problems[:5]})


def test_reader_processes_never_see_a_partial_version(wh_env):
    _publish_version("r0", 0)
    stop, q = CTX.Event(), CTX.Queue()
    readers = [CTX.Process(target=_reader, args=(str(wh_env["warehouse"]), stop, 4, q)) for _ in range(3)]
    for p in readers:
        p.start()
    time.sleep(1.5)  # let the readers start (spawn imports duckdb)
    for v in (1, 2, 3, 4):
        _publish_version(f"r{v}", v, rows=20_000 + v * 1000)
        time.sleep(0.3)
    stop.set()
    results = [q.get(timeout=120) for _ in readers]
    for p in readers:
        p.join(timeout=30)
    for r in results:
        assert r["errors"] == 0 and r["problems"] == [], r
        assert r["reads"] > 5 and 4 in r["seen"], r  # every reader saw the last publish, and only whole versions
    assert len(set().union(*[set(r["seen"]) for r in results])) >= 3  # readers ran across the publishes


def test_failed_gate_leaves_published_identical_and_keeps_the_audit(wh_env):
    _publish_version("good", 1)
    before = sha256(wh_env["warehouse"])
    audit = wap.prepare_audit("bad")
    fill_version(audit, 99)  # the build that a gate rejects
    assert wap.abandon("bad") is True  # what the pipeline does instead of publish
    assert sha256(wh_env["warehouse"]) == before
    assert audit.exists() and wap.read_version()["run_id"] == "good"
    # and the writer lease is free again
    _publish_version("next", 2)


def _publish_until(state: str, warehouse: str, audit: str, run_id: str, reached, where: str = "hashing") -> None:
    """Publish, and stop for good at ``where``: ``hashing`` (after the first chunk a publish hashes: the
    compacted file before the rename, the next run's base after it) or ``before_rename`` (the audit file
    fsynced, the rename next). Say so (``reached``) and wait."""
    os.environ["DOUYIN_STATE_DIR"] = state
    os.environ["DOUYIN_WAREHOUSE"] = warehouse
    from douyin_etl.warehousing import wap as child_wap

    def hold() -> None:
        reached.set()
        threading.Event().wait()  # until SIGKILLed

    child_wap.HASH_CHUNK_BYTES = 256 * 1024
    if where == "hashing":
        child_wap._after_chunk = hold
    else:
        child_wap._test_pause = lambda variable: (
            hold() if variable == "DOUYIN_TEST_PUBLISH_PAUSE_BEFORE_RENAME" else None
        )
    child_wap.publish(Path(audit), run_id)


def test_sigkill_during_publish_before_the_rename_leaves_warehouse_readable_and_rerun_publishes(wh_env):
    """The audit file of a daily run (few free blocks) is renamed onto the published path after it is
    fsynced; killed before that, the published file is the old version and the audit file the run's."""
    _publish_version("v1", 1, rows=500_000)
    before = sha256(wh_env["warehouse"])
    audit = wap.prepare_audit("v2")
    con = duckdb.connect(str(audit))
    con.execute("INSERT INTO v.t SELECT 2, i, 'late' FROM range(500000, 500100) r(i)")  # a small daily change
    con.close()
    reached = CTX.Event()
    child = CTX.Process(
        target=_publish_until,
        args=(str(wh_env["state"]), str(wh_env["warehouse"]), str(audit), "v2", reached, "before_rename"),
    )
    child.start()
    assert reached.wait(120), "publish never got to its rename"
    os.kill(child.pid, signal.SIGKILL)
    child.join(timeout=10)
    assert child.exitcode == -signal.SIGKILL
    # the published file is the old version, whole and readable; the audit file is still the run's
    assert sha256(wh_env["warehouse"]) == before and audit.exists()
    assert not list(wh_env["warehouse"].parent.glob(f".tmp-*-{wh_env['warehouse'].name}"))  # nothing was copied
    con = duckdb.connect(str(wh_env["warehouse"]), read_only=True)
    assert con.execute("SELECT count(*) FROM v.t WHERE version = 2").fetchall() == [(0,)]
    con.close()
    # a rerun of the same run publishes; publish_log has it once
    res = wap.publish(audit, "v2")
    con = duckdb.connect(str(wh_env["warehouse"]), read_only=True)
    assert con.execute("SELECT count(*) FROM v.t WHERE version = 2").fetchall() == [(100,)]
    assert con.execute("SELECT count(*) FROM _meta.publish_log WHERE run_id = 'v2'").fetchone()[0] == 1
    con.close()
    assert res.sha256 == sha256(wh_env["warehouse"]) == sha256(wap.base_path())


def test_sigkill_during_a_compacting_publish_leaves_warehouse_readable_and_removes_the_temp_file(wh_env):
    """A publish that writes a new file (compaction) is killed with that file half written beside the
    warehouse: the published file stays the old version; the rerun sweeps the temp file."""
    _publish_version("v1", 1, rows=20_000)
    before = sha256(wh_env["warehouse"])
    audit = wap.prepare_audit("v2")
    fill_version(audit, 2, rows=20_000)  # a rebuilt table: free blocks, so publish compacts
    hashing = CTX.Event()
    child = CTX.Process(
        target=_publish_until, args=(str(wh_env["state"]), str(wh_env["warehouse"]), str(audit), "v2", hashing)
    )
    child.start()
    tmp_glob = f".tmp-*-{wh_env['warehouse'].name}"
    assert hashing.wait(120), "publish never started hashing the compacted file"
    assert list(wh_env["warehouse"].parent.glob(tmp_glob))  # killed with its temp file written, not renamed
    os.kill(child.pid, signal.SIGKILL)
    child.join(timeout=10)
    assert sha256(wh_env["warehouse"]) == before
    wap.publish(audit, "v2")
    assert not list(wh_env["warehouse"].parent.glob(tmp_glob))
    con = duckdb.connect(str(wh_env["warehouse"]), read_only=True)
    assert con.execute("SELECT DISTINCT version FROM v.t").fetchall() == [(2,)]
    con.close()


def test_sigkill_while_the_base_is_copied_after_the_rename_keeps_the_new_version_and_fills_its_hash(wh_env):
    """A daily publish renames its audit file onto the published path, then copies it to the next run's base
    while hashing it. Killed during that copy, readers have the new version (version file without its
    sha256); the next run sweeps the half copy, hashes the file into the version file and copies it."""
    _publish_version("v1", 1, rows=500_000)
    audit = wap.prepare_audit("v2")
    con = duckdb.connect(str(audit))
    con.execute("INSERT INTO v.t SELECT 2, i, 'late' FROM range(500000, 500100) r(i)")
    con.close()
    audit_inode = audit.stat().st_ino
    hashing = CTX.Event()
    child = CTX.Process(
        target=_publish_until, args=(str(wh_env["state"]), str(wh_env["warehouse"]), str(audit), "v2", hashing)
    )
    child.start()
    assert hashing.wait(120), "publish never started copying the base"
    os.kill(child.pid, signal.SIGKILL)
    child.join(timeout=10)
    wh = wh_env["warehouse"]
    assert wh.stat().st_ino == audit_inode  # renamed before the copy: readers have v2
    recorded = json.loads(wap.version_path(wh).read_text())
    assert recorded["run_id"] == "v2" and recorded["sha256"] is None and recorded["size"] == wh.stat().st_size
    assert wap.read_version(wh)["run_id"] == "v2"
    assert list(wap.base_path().parent.glob(f".tmp-*-{wap.base_path().name}")) and not wap.base_path().exists()
    audit3 = wap.prepare_audit("v3")  # no base: a copy of the published file; the version file gets its hash
    assert json.loads(wap.version_path(wh).read_text())["sha256"] == sha256(wh) == sha256(audit3)
    assert not list(wap.base_path().parent.glob(f".tmp-*-{wap.base_path().name}"))
    con = duckdb.connect(str(audit3), read_only=True)
    assert con.execute("SELECT count(*) FROM v.t WHERE version = 2").fetchone()[0] == 100
    con.close()


def _hold_lock(warehouse: str, ready: mp.Event, release: mp.Event) -> None:
    with FileLock(Path(warehouse)):
        ready.set()
        release.wait(30)


def test_the_lock_stops_a_second_writer(wh_env):
    ready, release = CTX.Event(), CTX.Event()
    holder = CTX.Process(target=_hold_lock, args=(str(wh_env["warehouse"]), ready, release))
    holder.start()
    try:
        assert ready.wait(30)
        with pytest.raises(WarehouseLocked, match="held by another writer"):  # the holder is seen, not waited out
            FileLock(wh_env["warehouse"], timeout=0.3).acquire()
        with pytest.raises(WarehouseLocked):
            wap.prepare_audit("blocked", lock_timeout=0.3)
    finally:
        release.set()
        holder.join(timeout=10)
    # the lock is free again once the holder is gone
    with FileLock(wh_env["warehouse"], timeout=1):
        pass


def test_the_writer_lease_stops_a_second_run_until_the_first_publishes(wh_env):
    audit_a = wap.prepare_audit("a")
    with pytest.raises(WarehouseLocked, match="run 'a' is writing"):
        wap.prepare_audit("b")
    assert wap.prepare_audit("a") == audit_a  # a retried task of the same run is fine
    fill_version(audit_a, 1)
    wap.publish(audit_a, "a")
    audit_b = wap.prepare_audit("b")
    with pytest.raises(WarehouseLocked, match="holds the writer lease"):
        wap.publish(audit_b, "c")  # a run that does not hold the lease cannot publish over it


def test_prune_keeps_the_newest_audits_of_runs_that_did_not_publish(wh_env):
    for i in range(4):  # four blocked runs: their audit copies stay for inspection
        audit = wap.prepare_audit(f"p{i}")
        fill_version(audit, i, rows=10)
        wap.abandon(f"p{i}")
        time.sleep(0.02)
    _publish_version("ok", 9, rows=10)
    # ok's audit file became the next run's audit copy (a byte-copy publish): p3, p2, p1 are the newest left
    removed = wap.prune_audits(keep=3, protect="ok")
    left = sorted(p.parent.name for p in (wh_env["state"] / "runs").glob("*/audit.duckdb") if p.parent.name != "ok")
    assert left == ["p1", "p2", "p3"] and sorted(p.parent.name for p in removed) == ["p0"]


def _publish_then_die_after_rename(state: str, warehouse: str, audit: str, run_id: str) -> None:
    os.environ["DOUYIN_STATE_DIR"] = state
    os.environ["DOUYIN_WAREHOUSE"] = warehouse
    from douyin_etl.warehousing import wap as child_wap

    real_replace = os.replace

    def replace_then_die(src, dst):  # SIGKILL right after the rename onto the published path
        real_replace(src, dst)
        if Path(dst) == Path(warehouse):
            os.kill(os.getpid(), signal.SIGKILL)

    child_wap.os.replace = replace_then_die  # this child's os module: it dies with it
    child_wap.publish(Path(audit), run_id)


def test_sigkill_right_after_the_rename_keeps_version_and_lease_consistent(wh_env, monkeypatch):
    """Killed between the rename and the version file: the version read names the run whose data is
    published (not the previous run), and the next run neither waits for the dead run's lease nor
    keeps a stale version file."""
    from douyin_etl.warehousing import lock

    monkeypatch.setenv("DOUYIN_WRITER_LEASE_GRACE_SECONDS", "3600")  # the takeover rule cannot be what frees it
    _publish_version("v1", 1)
    audit = wap.prepare_audit("v2")
    fill_version(audit, 2, rows=1000)
    child = CTX.Process(
        target=_publish_then_die_after_rename, args=(str(wh_env["state"]), str(wh_env["warehouse"]), str(audit), "v2")
    )
    child.start()
    child.join(timeout=60)
    assert child.exitcode == -signal.SIGKILL
    wh = wh_env["warehouse"]
    con = duckdb.connect(str(wh), read_only=True)
    assert con.execute("SELECT DISTINCT version FROM v.t").fetchall() == [(2,)]  # the rename happened
    con.close()
    assert json.loads(wap.version_path(wh).read_text())["run_id"] == "v1"  # the version file was not written
    version = wap.read_version()
    assert version["run_id"] == "v2" and version["stale_version_file"] == "v1"
    assert version["size"] == wh.stat().st_size
    lease = lock.read_lease(wh)
    assert lease is not None and lease.run_id == "v2" and lock.holder_alive(lease) is False
    # the next run starts at once (the dead run's version is the published one) and repairs the version file
    audit3 = wap.prepare_audit("v3")
    repaired = json.loads(wap.version_path(wh).read_text())
    assert repaired["run_id"] == "v2" and repaired["sha256"] == sha256(wh) and repaired["size"] == wh.stat().st_size
    assert wap.read_version() == repaired
    con = duckdb.connect(str(audit3), read_only=True)
    assert con.execute("SELECT DISTINCT version FROM v.t").fetchall() == [(2,)]  # continues from v2, not v1
    con.close()
    fill_version(audit3, 3, rows=1000)
    res = wap.publish(audit3, "v3")
    assert wap.read_version()["run_id"] == "v3" and res.sha256 == sha256(wh)
    assert lock.read_lease(wh) is None


def test_a_retried_publish_after_a_kill_after_the_rename_publishes_again(wh_env):
    """The same run retried (an Airflow retry of the publish task) after dying right after its rename."""
    _publish_version("v1", 1)
    audit = wap.prepare_audit("v2")
    fill_version(audit, 2, rows=1000)
    child = CTX.Process(
        target=_publish_then_die_after_rename, args=(str(wh_env["state"]), str(wh_env["warehouse"]), str(audit), "v2")
    )
    child.start()
    child.join(timeout=60)
    assert child.exitcode == -signal.SIGKILL
    res = wap.publish(audit, "v2")
    version = json.loads(wap.version_path(wh_env["warehouse"]).read_text())
    assert version["run_id"] == "v2" and version["sha256"] == res.sha256 == sha256(wh_env["warehouse"])
    con = duckdb.connect(str(wh_env["warehouse"]), read_only=True)
    assert con.execute("SELECT count(*) FROM _meta.publish_log WHERE run_id = 'v2'").fetchone()[0] == 1
    con.close()


# -- size: compaction on publish, one copy per run ------------------------------------------------------
def _build_everything(db: Path, version: int, rows: int = 200_000) -> None:
    """A warehouse like dbt leaves it: tables rebuilt whole (CREATE OR REPLACE), views, macros, comments,
    a sequence, an enum type, constraints."""
    con = duckdb.connect(str(db))
    try:
        con.execute(
            "CREATE SCHEMA IF NOT EXISTS sales; CREATE SCHEMA IF NOT EXISTS finance; "
            "CREATE SCHEMA IF NOT EXISTS empty_schema"
        )
        con.execute(
            "CREATE OR REPLACE TABLE sales.orders AS SELECT i AS order_id, ?::INTEGER AS version, "
            "(i % 9973)::DECIMAL(18, 2) AS amount_yuan, md5((i + ?)::VARCHAR) AS note, "
            "DATE '2026-01-01' + (i % 365)::INTEGER AS pay_date FROM range(?) r(i)",
            [version, version, rows],
        )
        con.execute(
            "CREATE OR REPLACE TABLE finance.accounts (account_id INTEGER PRIMARY KEY, name VARCHAR NOT NULL, "
            "kind VARCHAR CHECK (kind IN ('cash', 'bank')))"
        )
        con.execute("INSERT INTO finance.accounts VALUES (1, 'till', 'cash'), (2, 'icbc', 'bank')")
        con.execute(
            "CREATE OR REPLACE VIEW sales.daily AS SELECT pay_date, sum(amount_yuan) AS gmv_yuan "
            "FROM sales.orders GROUP BY pay_date"
        )
        con.execute("CREATE OR REPLACE VIEW sales.top_day AS SELECT * FROM sales.daily ORDER BY gmv_yuan DESC LIMIT 1")
        con.execute("CREATE OR REPLACE MACRO sales.fen(yuan) AS CAST(round(yuan * 100) AS BIGINT)")
        con.execute("CREATE OR REPLACE MACRO sales.orders_on(d) AS TABLE SELECT * FROM sales.orders WHERE pay_date = d")
        con.execute("COMMENT ON TABLE sales.orders IS 'one row per order'")
        con.execute("COMMENT ON COLUMN sales.orders.amount_yuan IS 'paid, yuan'")
        con.execute("COMMENT ON VIEW sales.daily IS 'GMV per day'")
        con.execute("CREATE SEQUENCE IF NOT EXISTS finance.batch_no START 100")
        con.execute("DROP TYPE IF EXISTS finance.status")
        con.execute("CREATE TYPE finance.status AS ENUM ('open', 'settled')")
    finally:
        con.close()


_CATALOG = {
    "schemas": "SELECT schema_name FROM duckdb_schemas() WHERE database_name = current_database() ORDER BY 1",
    "tables": "SELECT schema_name, table_name, comment, estimated_size FROM duckdb_tables() ORDER BY 1, 2",
    "columns": "SELECT schema_name, table_name, column_name, data_type, is_nullable, comment FROM duckdb_columns() "
    "WHERE database_name = current_database() ORDER BY 1, 2, column_index",
    "views": "SELECT schema_name, view_name, sql, comment FROM duckdb_views() WHERE NOT internal ORDER BY 1, 2",
    "macros": "SELECT schema_name, function_name, function_type, macro_definition FROM duckdb_functions() "
    "WHERE database_name = current_database() AND NOT internal ORDER BY 1, 2",
    "constraints": "SELECT schema_name, table_name, constraint_type, constraint_text FROM duckdb_constraints() "
    "ORDER BY ALL",
    "sequences": "SELECT schema_name, sequence_name, start_value FROM duckdb_sequences() ORDER BY 1, 2",
    "types": "SELECT schema_name, type_name, logical_type FROM duckdb_types() WHERE database_name = current_database() "
    "AND NOT internal ORDER BY 1, 2",
    "data": "SELECT count(*), sum(amount_yuan), min(note), max(version) FROM sales.orders",
    "views_read": "SELECT count(*), sum(gmv_yuan) FROM sales.daily",
    "macro_use": "SELECT sales.fen(12.345), (SELECT count(*) FROM sales.orders_on(DATE '2026-01-02'))",
    "log": "SELECT run_id FROM _meta.publish_log ORDER BY published_at",
}


def _catalog(db: Path) -> dict[str, list]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {name: con.execute(sql).fetchall() for name, sql in _CATALOG.items()}
    finally:
        con.close()


def _free_blocks(db: Path) -> tuple[int, int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT total_blocks, free_blocks FROM pragma_database_size()").fetchone()
    finally:
        con.close()


def test_the_published_file_does_not_grow_with_rebuilds_and_compaction_keeps_everything(wh_env, tmp_path):
    fresh = tmp_path / "fresh.duckdb"  # the final version built once into a new file
    _build_everything(fresh, 6)
    runs = [f"day{v}" for v in range(1, 7)]
    for v, run_id in enumerate(runs, start=1):
        audit = wap.prepare_audit(run_id)
        _build_everything(audit, v)  # every table rebuilt whole, as dbt does
        wap.publish(audit, run_id)
        # a compacting publish leaves the (bloated) audit file where it was; the first build is published
        # as a byte copy (few free blocks) and its audit file becomes the next run's audit copy
        assert audit.exists() == (v > 1), v
    published = wh_env["warehouse"]
    assert published.stat().st_size <= 1.10 * fresh.stat().st_size, (published.stat().st_size, fresh.stat().st_size)
    assert _free_blocks(published)[1] == 0
    after, before = _catalog(published), _catalog(audit)
    assert after == before  # every schema, table, column, comment, view, macro, constraint, sequence, type, row
    assert after["log"] == [(r,) for r in runs] and after["data"][0][3] == 6
    assert len(after["views"]) == 2 and len(after["macros"]) == 2 and after["schemas"][0] == ("_meta",)
    assert ("empty_schema",) in after["schemas"] and after["tables"][-1][2] == "one row per order"
    assert header_version(published) == 67  # still readable by DuckDB 1.4 tools
    version = json.loads(wap.version_path(published).read_text())
    assert version["sha256"] == sha256(published) and version["compacted_size"] == published.stat().st_size


def test_a_publish_with_little_free_space_copies_bytes_and_the_next_run_reuses_its_audit_file(wh_env):
    _publish_version("v1", 1, rows=500_000)  # a first build with few free blocks: a byte copy, its size the baseline
    assert json.loads(wap.version_path(wh_env["warehouse"]).read_text())["compacted_size"] == (
        wh_env["warehouse"].stat().st_size
    )
    assert wap.base_path().exists()  # not compacted: its audit file is the next run's audit copy
    audit = wap.prepare_audit("v2")
    con = duckdb.connect(str(audit))
    con.execute("INSERT INTO v.t SELECT 1, i, 'late' FROM range(500000, 500100) r(i)")  # a small daily change
    con.close()
    audit_inode = audit.stat().st_ino
    res = wap.publish(audit, "v2")
    # no compaction: the audit file itself is renamed onto the published path (no copy before readers
    # see it), then copied to the base, the next run's audit copy
    assert not audit.exists() and wh_env["warehouse"].stat().st_ino == audit_inode
    assert res.visible_s is not None and res.visible_s <= res.seconds
    assert sha256(wap.base_path()) == res.sha256 == sha256(wh_env["warehouse"])  # a byte copy of it
    assert json.loads(wap.version_path(wh_env["warehouse"]).read_text())["sha256"] == res.sha256  # hashed as copied
    base_inode = wap.base_path().stat().st_ino
    audit3 = wap.prepare_audit("v3")  # renamed into place: no copy at all
    assert audit3.stat().st_ino == base_inode and not wap.base_path().exists()
    con = duckdb.connect(str(audit3), read_only=True)
    assert con.execute("SELECT count(*) FROM v.t").fetchone()[0] == 500_100
    con.close()
    # a base that does not hold the published version is never used
    fill_version(audit3, 3, rows=1000)
    wap.publish(audit3, "v3")  # rebuilt table: compacts, so no base is kept
    assert not wap.base_path().exists()
    assert wap.prepare_audit("v4").read_bytes() == wh_env["warehouse"].read_bytes()  # copied from the compact file


def test_a_base_that_does_not_hold_the_published_version_is_not_used(wh_env, tmp_path):
    _publish_version("v1", 1, rows=500_000)
    wap.publish(wap.prepare_audit("v2"), "v2")  # unchanged: a byte copy, the audit file becomes the base
    stale = tmp_path / "stale.duckdb"
    stale.write_bytes(wap.base_path().read_bytes())  # holds v2
    _publish_version("v3", 3, rows=1000)  # took the base, rebuilt, compacted: no base now
    assert not wap.base_path().exists()
    stale.rename(wap.base_path())  # e.g. restored from a backup: an older version
    audit4 = wap.prepare_audit("v4")
    assert not wap.base_path().exists()  # checked, found stale, dropped
    con = duckdb.connect(str(audit4), read_only=True)
    assert con.execute("SELECT DISTINCT version FROM v.t").fetchall() == [(3,)]
    con.close()
    assert audit4.read_bytes() == wh_env["warehouse"].read_bytes()  # a copy of the published file
