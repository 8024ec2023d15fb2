"""The writer lease: heartbeat, stale detection, takeover, and publish verifying it still holds the lease."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from wh_helpers import fill_version  # type: ignore[import-not-found]

from douyin_etl.warehousing import lock, wap
from douyin_etl.warehousing.lock import FileLock, Lease, WarehouseLocked


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def write_lease(
    warehouse: Path,
    run_id: str,
    pid: int,
    *,
    host: str | None = None,
    age: timedelta = timedelta(0),
    pid_started: float | None = None,
) -> None:
    beat = datetime.now(UTC) - age
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    lock._write_lease(warehouse, Lease(run_id, beat, pid, host or socket.gethostname(), beat, pid_started, "build"))


def test_the_lease_records_run_host_pid_and_heartbeat(wh_env):
    wap.prepare_audit("r1")
    data = json.loads(lock.lease_path_for(wh_env["warehouse"]).read_text())
    assert data["run_id"] == "r1" and data["pid"] == os.getpid() and data["host"] == socket.gethostname()
    assert data["step"] == "prepare_audit" and data["pid_started"] > 0
    beat = datetime.fromisoformat(data["heartbeat_at"])
    assert abs((datetime.now(UTC) - beat).total_seconds()) < 5
    wap.touch_lease("r1", "mart_gate")
    again = lock.read_lease(wh_env["warehouse"])
    assert (
        again.step == "mart_gate" and again.heartbeat_at >= beat and again.claimed_at.isoformat() == data["claimed_at"]
    )


def test_a_live_holder_blocks_other_runs_but_not_its_own_retry(wh_env):
    audit = wap.prepare_audit("a")
    with pytest.raises(WarehouseLocked, match="run 'a' is writing"):
        wap.prepare_audit("b")
    assert wap.prepare_audit("a") == audit  # the same run id may always reclaim its lease


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _takeover_warnings(action) -> list[str]:
    records, logger = _Records(), logging.getLogger("douyin_etl.warehousing.lock")
    logger.addHandler(records)
    try:
        action()
    finally:
        logger.removeHandler(records)
    return records.messages


def test_a_holder_that_died_on_this_host_is_taken_over_at_once(wh_env, monkeypatch):
    """Killed or crashed (it did not park the lease): no grace, no expiry wait — the next run takes it at once."""
    wh = wh_env["warehouse"]
    monkeypatch.delenv("DOUYIN_WRITER_LEASE_GRACE_SECONDS", raising=False)  # the default grace (120 s) ...
    write_lease(wh, "crashed", dead_pid())  # ... does not apply: the heartbeat is seconds old
    assert "no longer running" in lock.stale_reason(lock.read_lease(wh))
    messages = _takeover_warnings(lambda: wap.prepare_audit("next"))
    assert any("takes over the writer lease" in m and "'crashed'" in m for m in messages), messages
    lease = lock.read_lease(wh)
    assert lease.run_id == "next" and lease.pid == os.getpid() and not lease.parked


_HOLD = (
    "import sys, time; from douyin_etl.warehousing import wap; wap.prepare_audit(sys.argv[1]); "
    "print('held', flush=True); time.sleep(60)"
)


def test_a_live_holder_in_another_process_is_refused_and_taken_over_at_once_when_killed(wh_env, monkeypatch):
    monkeypatch.delenv("DOUYIN_WRITER_LEASE_GRACE_SECONDS", raising=False)
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD, "holder"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ},
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        lease = lock.read_lease(wh_env["warehouse"])
        assert lease.pid == holder.pid and lock.holder_alive(lease) is True
        with pytest.raises(WarehouseLocked, match="run 'holder' is writing"):
            wap.prepare_audit("other")
    finally:
        holder.kill()  # SIGKILL: no exit handler parks the lease
        holder.wait(timeout=10)
    assert not lock.read_lease(wh_env["warehouse"]).parked
    wap.prepare_audit("other")  # at once: no grace to wait for
    assert lock.read_lease(wh_env["warehouse"]).run_id == "other"


def test_a_parked_lease_waits_for_the_runs_next_step_within_the_grace(wh_env, monkeypatch):
    """A step that ended normally parks the lease: another run waits (the gap between Airflow tasks)."""
    wh = wh_env["warehouse"]
    beat = datetime.now(UTC)
    wh.parent.mkdir(parents=True, exist_ok=True)
    lock._write_lease(
        wh, Lease("between-tasks", beat, dead_pid(), socket.gethostname(), beat, None, "build_audit", parked=True)
    )
    monkeypatch.setenv("DOUYIN_WRITER_LEASE_GRACE_SECONDS", "120")
    assert lock.stale_reason(lock.read_lease(wh)) is None
    with pytest.raises(WarehouseLocked, match="the run's next step may take the lease up until"):
        wap.prepare_audit("next")
    monkeypatch.setenv("DOUYIN_WRITER_LEASE_GRACE_SECONDS", "0")
    assert "no later step of the run took the lease up" in lock.stale_reason(lock.read_lease(wh))
    messages = _takeover_warnings(lambda: wap.prepare_audit("next"))
    assert any("takes over the writer lease" in m and "'between-tasks'" in m for m in messages), messages


def test_a_reused_pid_is_not_the_holder(wh_env, monkeypatch):
    monkeypatch.setenv("DOUYIN_WRITER_LEASE_GRACE_SECONDS", "0")
    write_lease(wh_env["warehouse"], "old", os.getpid(), pid_started=12345.0)  # our pid, another process's start
    lease = lock.read_lease(wh_env["warehouse"])
    assert lock.holder_alive(lease) is False and lock.stale_reason(lease)
    write_lease(wh_env["warehouse"], "old", os.getpid(), pid_started=lock._process_start(os.getpid()))
    assert lock.holder_alive(lock.read_lease(wh_env["warehouse"])) is True
    assert lock.stale_reason(lock.read_lease(wh_env["warehouse"])) is None


def test_another_hosts_lease_is_stale_only_after_the_expiry(wh_env, monkeypatch):
    monkeypatch.setenv("DOUYIN_WRITER_LEASE_GRACE_SECONDS", "0")
    monkeypatch.setenv("DOUYIN_WRITER_LEASE_HOURS", "1")
    wh = wh_env["warehouse"]
    write_lease(wh, "remote", dead_pid(), host="some-other-host", age=timedelta(minutes=50))
    assert lock.holder_alive(lock.read_lease(wh)) is None and lock.stale_reason(lock.read_lease(wh)) is None
    with pytest.raises(WarehouseLocked, match="run 'remote' is writing"):
        wap.prepare_audit("local")
    write_lease(wh, "remote", dead_pid(), host="some-other-host", age=timedelta(minutes=61))
    assert "heartbeat" in lock.stale_reason(lock.read_lease(wh))
    wap.prepare_audit("local")
    assert lock.read_lease(wh).run_id == "local"


def test_a_run_whose_lease_was_taken_over_cannot_gate_or_publish(wh_env, monkeypatch):
    wh = wh_env["warehouse"]
    monkeypatch.setenv("DOUYIN_WRITER_LEASE_GRACE_SECONDS", "0")
    a0 = wap.prepare_audit("v1")
    fill_version(a0, 1, rows=100)
    wap.publish(a0, "v1")
    before = sha256(wh)
    audit_a = wap.prepare_audit("a")
    fill_version(audit_a, 2, rows=100)
    write_lease(wh, "a", dead_pid())  # run a's process was SIGKILLed (as far as the lease can tell)
    audit_b = wap.prepare_audit("b")  # takes the stale lease over
    with pytest.raises(WarehouseLocked, match="lost it"):
        wap.touch_lease("a", "mart_gate")
    with pytest.raises(WarehouseLocked, match="holds the writer lease"):
        wap.publish(audit_a, "a")
    assert sha256(wh) == before and lock.read_lease(wh).run_id == "b"
    fill_version(audit_b, 3, rows=100)
    res = wap.publish(audit_b, "b")
    assert res.sha256 == sha256(wh) and lock.read_lease(wh) is None
    # a's late retry: no lease at all and the published version is b's -> refused, b's version stays
    with pytest.raises(WarehouseLocked, match="does not hold the writer lease"):
        wap.publish(audit_a, "a")
    con = duckdb.connect(str(wh), read_only=True)
    assert con.execute("SELECT DISTINCT version FROM v.t").fetchall() == [(3,)]
    con.close()


def test_publish_verifies_the_lease_right_before_the_rename(wh_env, monkeypatch):
    wh = wh_env["warehouse"]
    a0 = wap.prepare_audit("v1")
    fill_version(a0, 1, rows=100)
    wap.publish(a0, "v1")
    before = sha256(wh)
    audit = wap.prepare_audit("slow")
    fill_version(audit, 2, rows=50_000)

    def rogue() -> None:  # a writer that ignored the file lock rewrites the lease while we copy
        write_lease(wh, "rogue", os.getpid())

    monkeypatch.setattr(wap, "HASH_CHUNK_BYTES", 64 * 1024)
    monkeypatch.setattr(wap, "_after_chunk", rogue)
    with pytest.raises(WarehouseLocked, match="'rogue'.*holds the writer lease"):
        wap.publish(audit, "slow")
    assert sha256(wh) == before
    assert not list(wh.parent.glob(f".tmp-*-{wh.name}"))  # the half copy was removed


def test_a_retried_publish_after_the_rename_is_idempotent(wh_env):
    wh = wh_env["warehouse"]
    audit = wap.prepare_audit("r")
    fill_version(audit, 1, rows=100)
    first = wap.publish(audit, "r")
    assert lock.read_lease(wh) is None
    again = wap.publish(audit, "r")  # e.g. the task died after the rename, before recording success
    assert again.run_id == "r" and sha256(wh) == again.sha256
    con = duckdb.connect(str(wh), read_only=True)
    assert con.execute("SELECT count(*) FROM _meta.publish_log WHERE run_id = 'r'").fetchone()[0] == 1
    con.close()
    assert first.size > 0


def test_a_step_in_another_process_refreshes_the_lease_with_its_pid(wh_env, monkeypatch):
    wap.prepare_audit("multi")
    code = (
        "import os, sys; from douyin_etl.warehousing import wap; wap.touch_lease('multi', 'mart_gate'); "
        "print(os.getpid())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ},
        cwd=Path(__file__).resolve().parents[2],
    )
    child = int(out.stdout.strip())
    lease = lock.read_lease(wh_env["warehouse"])
    assert lease.pid == child and lease.step == "mart_gate" and lease.run_id == "multi"
    assert lock.holder_alive(lease) is False and lease.parked  # that task process has ended (and parked it) ...
    monkeypatch.delenv("DOUYIN_WRITER_LEASE_GRACE_SECONDS", raising=False)
    with pytest.raises(WarehouseLocked):  # ... but within the grace no other run may take the lease
        wap.prepare_audit("other")
    with FileLock(wh_env["warehouse"], timeout=1):
        assert lock.refresh_lease(wh_env["warehouse"], "multi", "publish", locked=True).pid == os.getpid()
