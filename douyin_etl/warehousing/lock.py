"""One writer at a time for the published warehouse.

Two layers, because a run spans several processes (Airflow tasks) but ``flock`` dies with its process:

- ``FileLock`` — an ``fcntl.flock`` on ``<warehouse>.lock`` held for short critical sections inside
  one process (claiming the writer lease, copying and renaming on publish, a dbt build on a file).
- The writer *lease* — ``<warehouse>.lease.json`` naming the run that is between ``prepare_audit``
  and ``publish``. A second run cannot prepare while another run holds an unexpired lease, so two
  runs can never both start from the same published version and overwrite each other's changes.
  ``publish`` releases the lease; a run that stops on a failed gate releases it with
  ``release_lease(run_id)``.

The lease records the run id, host, holder pid (+ its start time) and a heartbeat. Every step that
writes for the run (``prepare_audit``/the dbt build, the mart gate, ``publish``) refreshes it with its
own pid. It is *stale* — another run may take it over, with a warning naming the old run — when its
holder on this host is dead and the heartbeat is older than ``DOUYIN_WRITER_LEASE_GRACE_SECONDS``
(120; the gap between two Airflow tasks of one run), or when the heartbeat is older than
``DOUYIN_WRITER_LEASE_HOURS`` (6; holders on another host). A SIGKILLed run therefore never blocks
the warehouse for long, and the same run id (an Airflow retry) may always reclaim its own lease.
``publish`` verifies under the file lock, right before the rename, that its run still holds the lease,
so a takeover can never let two runs publish over each other.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

log = logging.getLogger(__name__)


class WarehouseLocked(RuntimeError):
    """Another process holds the writer lock (or lease) of the warehouse."""


def lock_path_for(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".lock")


def lease_path_for(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".lease.json")


class FileLock:
    """Exclusive ``flock`` on ``<db_path>.lock``; waits up to ``timeout`` seconds (0 = try once)."""

    def __init__(self, db_path: Path, timeout: float = 600.0, poll: float = 0.1) -> None:
        self.path = lock_path_for(Path(db_path))
        self.timeout = timeout
        self.poll = poll
        self._fd: int | None = None

    def acquire(self) -> "FileLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    os.close(fd)
                    raise
                if time.monotonic() >= deadline:
                    holder = self._read_holder()
                    os.close(fd)
                    raise WarehouseLocked(
                        f"{self.path} is held by another writer ({holder or 'unknown holder'}) for more than "
                        f"{self.timeout:.0f} s; wait for it to finish, or check that process"
                    ) from None
                time.sleep(self.poll)
        os.ftruncate(fd, 0)
        os.write(fd, f"pid={os.getpid()} host={socket.gethostname()} since={datetime.now(timezone.utc).isoformat()}\n".encode())
        self._fd = fd
        return self

    def _read_holder(self) -> str:
        try:
            return self.path.read_text().strip()
        except OSError:
            return ""

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "FileLock":
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


@dataclass(frozen=True)
class Lease:
    """Who is writing the warehouse: the run, and the process that last worked for it (its heartbeat)."""

    run_id: str
    claimed_at: datetime
    pid: int
    host: str
    heartbeat_at: datetime | None = None
    pid_started: float | None = None  # the holder's process start time (guards against a reused pid)
    step: str = ""

    @property
    def last_seen(self) -> datetime:
        return self.heartbeat_at or self.claimed_at

    def expired(self, ttl: timedelta) -> bool:
        return datetime.now(timezone.utc) - self.last_seen > ttl

    def describe(self) -> str:
        return (f"run {self.run_id!r} (pid {self.pid} on {self.host}, step {self.step or '?'}, "
                f"claimed {self.claimed_at.isoformat()}, last heartbeat {self.last_seen.isoformat()})")

    def to_json(self) -> str:
        return json.dumps({"run_id": self.run_id, "claimed_at": self.claimed_at.isoformat(), "pid": self.pid,
                           "host": self.host, "heartbeat_at": self.last_seen.isoformat(),
                           "pid_started": self.pid_started, "step": self.step})


def lease_ttl() -> timedelta:
    return timedelta(hours=float(os.environ.get("DOUYIN_WRITER_LEASE_HOURS", "6")))


def lease_grace() -> timedelta:
    """How long a lease whose holder process is gone stays valid (``DOUYIN_WRITER_LEASE_GRACE_SECONDS``).

    In Airflow the steps of one run are separate task processes: between ``build_audit`` and
    ``mart_gate`` (or ``mart_gate`` and ``publish``) no process of the run is alive. The grace keeps
    another run from taking the lease in that gap. A retry of the *same* run id never waits.
    """
    return timedelta(seconds=float(os.environ.get("DOUYIN_WRITER_LEASE_GRACE_SECONDS", "120")))


def _process_start(pid: int) -> float | None:
    try:
        import psutil

        return psutil.Process(pid).create_time()
    except Exception:  # noqa: BLE001 - no such process, no permission, or no psutil
        return None


def holder_alive(lease: Lease) -> bool | None:
    """True/False when the holder runs on this host (pid alive and the same process); None otherwise."""
    if lease.host != socket.gethostname():
        return None
    try:
        os.kill(lease.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, another user's process
    if lease.pid_started is not None:
        started = _process_start(lease.pid)
        if started is not None and abs(started - lease.pid_started) > 1.0:
            return False  # the pid was reused by another process
    return True


def stale_reason(lease: Lease, now: datetime | None = None) -> str | None:
    """Why ``lease`` may be taken over by another run, or None while it is valid.

    Stale when its last heartbeat is older than ``lease_ttl()``, or when the holder process on this host
    is gone and the heartbeat is older than ``lease_grace()`` (a crashed/SIGKILLed run).
    """
    now = now or datetime.now(timezone.utc)
    age = now - lease.last_seen
    if age > lease_ttl():
        return f"its last heartbeat is {age} old (expiry {lease_ttl()})"
    if holder_alive(lease) is False and age >= lease_grace():
        return f"its holder pid {lease.pid} on {lease.host} is no longer running"
    return None


def read_lease(db_path: Path) -> Lease | None:
    path = lease_path_for(Path(db_path))
    try:
        data = json.loads(path.read_text())
        claimed = datetime.fromisoformat(data["claimed_at"])
        beat = datetime.fromisoformat(data["heartbeat_at"]) if data.get("heartbeat_at") else None
        started = float(data["pid_started"]) if data.get("pid_started") is not None else None
        return Lease(data["run_id"], claimed, int(data["pid"]), data["host"], beat, started, data.get("step") or "")
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring unreadable writer lease %s: %s", path, exc)
        return None


def _write_lease(db_path: Path, lease: Lease) -> Lease:
    path = lease_path_for(Path(db_path))
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    tmp.write_text(lease.to_json())
    os.replace(tmp, path)
    return lease


def _mine(run_id: str, step: str, claimed_at: datetime | None = None) -> Lease:
    now = datetime.now(timezone.utc)
    return Lease(run_id, claimed_at or now, os.getpid(), socket.gethostname(), now, _process_start(os.getpid()), step)


def claim_lease(db_path: Path, run_id: str, step: str = "prepare_audit") -> Lease:
    """Claim the writer lease for ``run_id``. Call while holding ``FileLock(db_path)``.

    Re-claiming by the same run (a retried task, the same run id) is always fine; another run's valid
    lease raises ``WarehouseLocked``; a stale one (see ``stale_reason``) is taken over with a warning.
    """
    current = read_lease(db_path)
    if current and current.run_id != run_id:
        reason = stale_reason(current)
        if reason is None:
            wait = ""
            if holder_alive(current) is False:
                free_at = current.last_seen + lease_grace()
                wait = f" Its holder process is gone: the lease is free from {free_at.isoformat()}, rerun then."
            raise WarehouseLocked(
                f"run {current.run_id!r} is writing the warehouse {db_path} ({current.describe()}); wait for it to "
                f"publish or fail.{wait} "
                f"If that run is dead on another host, delete {lease_path_for(Path(db_path))}")
        log.warning("run %s takes over the writer lease of %s: %s", run_id, current.describe(), reason)
    claimed_at = current.claimed_at if current and current.run_id == run_id else None
    return _write_lease(db_path, _mine(run_id, step, claimed_at))


def verify_lease(db_path: Path, run_id: str) -> Lease:
    """Raise ``WarehouseLocked`` unless ``run_id`` holds the lease. Call while holding ``FileLock(db_path)``."""
    current = read_lease(db_path)
    if current is None:
        raise WarehouseLocked(
            f"run {run_id!r} does not hold the writer lease of {db_path} any more (no lease: it was released or "
            f"taken over and published by another run); its audit copy may be based on an older version. "
            f"Rerun this interval.")
    if current.run_id != run_id:
        raise WarehouseLocked(
            f"{current.describe()} holds the writer lease of {db_path}; run {run_id!r} lost it (taken over as "
            f"stale) and cannot publish (it would overwrite that run's version). Rerun this interval.")
    return current


def refresh_lease(db_path: Path, run_id: str, step: str, *, locked: bool = False,
                  lock_timeout: float = 600.0) -> Lease:
    """Heartbeat: record this process as the holder of ``run_id``'s lease (raises when the run lost it).

    ``locked=True`` when the caller already holds ``FileLock(db_path)``.
    """
    if not locked:
        with FileLock(db_path, timeout=lock_timeout):
            return refresh_lease(db_path, run_id, step, locked=True)
    current = verify_lease(db_path, run_id)
    return _write_lease(db_path, _mine(run_id, step, current.claimed_at))


def release_lease(db_path: Path, run_id: str) -> bool:
    """Drop the lease if ``run_id`` holds it (takes the file lock itself). True when released."""
    with FileLock(db_path):
        current = read_lease(db_path)
        if current and current.run_id == run_id:
            lease_path_for(Path(db_path)).unlink(missing_ok=True)
            return True
        return False
