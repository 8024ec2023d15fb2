"""One writer at a time for the published warehouse.

Two layers, because a run spans several processes (Airflow tasks) but ``flock`` dies with its process:

- ``FileLock`` — an ``fcntl.flock`` on ``<warehouse>.lock`` held for short critical sections inside
  one process (claiming the writer lease, copying and renaming on publish, a dbt build on a file).
- The writer *lease* — ``<warehouse>.lease.json`` naming the run that is between ``prepare_audit``
  and ``publish``. A second run cannot prepare while another run holds an unexpired lease, so two
  runs can never both start from the same published version and overwrite each other's changes.
  ``publish`` releases the lease; a run that stops on a failed gate releases it with
  ``release_lease(run_id)``; a dead run's lease expires after ``DOUYIN_WRITER_LEASE_HOURS`` (6).
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
    run_id: str
    claimed_at: datetime
    pid: int
    host: str

    def expired(self, ttl: timedelta) -> bool:
        return datetime.now(timezone.utc) - self.claimed_at > ttl


def lease_ttl() -> timedelta:
    return timedelta(hours=float(os.environ.get("DOUYIN_WRITER_LEASE_HOURS", "6")))


def read_lease(db_path: Path) -> Lease | None:
    path = lease_path_for(Path(db_path))
    try:
        data = json.loads(path.read_text())
        return Lease(data["run_id"], datetime.fromisoformat(data["claimed_at"]), int(data["pid"]), data["host"])
    except FileNotFoundError:
        return None
    except (ValueError, KeyError) as exc:
        log.warning("ignoring unreadable writer lease %s: %s", path, exc)
        return None


def claim_lease(db_path: Path, run_id: str) -> Lease:
    """Claim the writer lease for ``run_id``. Call while holding ``FileLock(db_path)``.

    Re-claiming by the same run (a retried task) is fine; another run's unexpired lease raises.
    """
    current = read_lease(db_path)
    if current and current.run_id != run_id and not current.expired(lease_ttl()):
        raise WarehouseLocked(
            f"run {current.run_id!r} is writing the warehouse {db_path} since {current.claimed_at.isoformat()} "
            f"(pid {current.pid} on {current.host}); wait for it to publish or fail, or, if that run is dead, "
            f"delete {lease_path_for(Path(db_path))}"
        )
    if current and current.run_id != run_id:
        log.warning("taking over the expired writer lease of run %s (claimed %s)", current.run_id, current.claimed_at)
    lease = Lease(run_id, datetime.now(timezone.utc), os.getpid(), socket.gethostname())
    path = lease_path_for(Path(db_path))
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    tmp.write_text(json.dumps({"run_id": lease.run_id, "claimed_at": lease.claimed_at.isoformat(),
                               "pid": lease.pid, "host": lease.host}))
    os.replace(tmp, path)
    return lease


def release_lease(db_path: Path, run_id: str) -> bool:
    """Drop the lease if ``run_id`` holds it (takes the file lock itself). True when released."""
    with FileLock(db_path):
        current = read_lease(db_path)
        if current and current.run_id == run_id:
            lease_path_for(Path(db_path)).unlink(missing_ok=True)
            return True
        return False
