"""Write-audit-publish: atomic publish under concurrent readers, failed gates, crashes, one writer."""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import os
import signal
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
    assert con.execute("SELECT run_id, json_extract(meta, '$.version')::INT FROM _meta.publish_log").fetchall() == [("r1", 1)]
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
                logged = con.execute("SELECT json_extract(meta, '$.version')::INT FROM _meta.publish_log "
                                     "ORDER BY published_at DESC LIMIT 1").fetchone()[0]
            finally:
                con.close()
            if not (n == expected and lo == hi == version == logged):
                problems.append(f"incomplete version: meta {version} rows {n}/{expected} versions {lo}..{hi} log {logged}")
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


def _publish_slowly(state: str, warehouse: str, audit: str, run_id: str) -> None:
    os.environ["DOUYIN_STATE_DIR"] = state
    os.environ["DOUYIN_WAREHOUSE"] = warehouse
    from douyin_etl.warehousing import wap as child_wap

    child_wap.HASH_CHUNK_BYTES = 256 * 1024
    child_wap._after_chunk = lambda: time.sleep(0.05)
    child_wap.publish(Path(audit), run_id)


def test_sigkill_during_publish_copy_leaves_warehouse_readable_and_rerun_publishes(wh_env):
    _publish_version("v1", 1)
    before = sha256(wh_env["warehouse"])
    audit = wap.prepare_audit("v2")
    fill_version(audit, 2, rows=200_000)
    child = CTX.Process(target=_publish_slowly, args=(str(wh_env["state"]), str(wh_env["warehouse"]), str(audit), "v2"))
    child.start()
    tmp_glob = f".tmp-*-{wh_env['warehouse'].name}"
    deadline = time.time() + 30
    while not list(wh_env["warehouse"].parent.glob(tmp_glob)) and time.time() < deadline:
        time.sleep(0.01)
    assert list(wh_env["warehouse"].parent.glob(tmp_glob)), "publish never started copying"
    time.sleep(0.1)
    os.kill(child.pid, signal.SIGKILL)
    child.join(timeout=10)
    assert child.exitcode == -signal.SIGKILL
    # the published file is the old version, whole and readable
    assert sha256(wh_env["warehouse"]) == before
    con = duckdb.connect(str(wh_env["warehouse"]), read_only=True)
    assert con.execute("SELECT DISTINCT version FROM v.t").fetchall() == [(1,)]
    con.close()
    # a rerun of the same run publishes (and sweeps the leftover temp file); publish_log has it once
    res = wap.publish(audit, "v2")
    assert not list(wh_env["warehouse"].parent.glob(tmp_glob))
    con = duckdb.connect(str(wh_env["warehouse"]), read_only=True)
    assert con.execute("SELECT DISTINCT version FROM v.t").fetchall() == [(2,)]
    assert con.execute("SELECT count(*) FROM _meta.publish_log WHERE run_id = 'v2'").fetchone()[0] == 1
    con.close()
    assert res.sha256 == sha256(wh_env["warehouse"])


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
        t0 = time.monotonic()
        with pytest.raises(WarehouseLocked, match="held by another writer"):
            FileLock(wh_env["warehouse"], timeout=0.3).acquire()
        assert time.monotonic() - t0 < 5
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
    _publish_version("ok", 9, rows=10)  # a published run's audit file becomes the next run's base
    assert not wap.audit_path_for("ok").exists() and wap.base_path().exists()
    removed = wap.prune_audits(keep=2)
    left = sorted(p.parent.name for p in (wh_env["state"] / "runs").glob("*/audit.duckdb"))
    assert left == ["p2", "p3"] and len(removed) == 2
    assert wap.base_path().exists()


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
    child = CTX.Process(target=_publish_then_die_after_rename,
                        args=(str(wh_env["state"]), str(wh_env["warehouse"]), str(audit), "v2"))
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
    child = CTX.Process(target=_publish_then_die_after_rename,
                        args=(str(wh_env["state"]), str(wh_env["warehouse"]), str(audit), "v2"))
    child.start()
    child.join(timeout=60)
    assert child.exitcode == -signal.SIGKILL
    res = wap.publish(audit, "v2")
    version = json.loads(wap.version_path(wh_env["warehouse"]).read_text())
    assert version["run_id"] == "v2" and version["sha256"] == res.sha256 == sha256(wh_env["warehouse"])
    con = duckdb.connect(str(wh_env["warehouse"]), read_only=True)
    assert con.execute("SELECT count(*) FROM _meta.publish_log WHERE run_id = 'v2'").fetchone()[0] == 1
    con.close()
