"""One writer at a time for the published warehouse.

Two layers, because a run spans several processes (Airflow tasks) but ``flock`` dies with its process:

- ``FileLock`` — an ``fcntl.flock`` on ``<warehouse>.lock`` held for short critical sections inside
  one process (claiming the writer lease, copying and renaming on publish, a dbt build on a file).
- The writer *lease* — ``<warehouse>.lease.json`` naming the run that is between ``prepare_audit``
  and ``publish``. A second run cannot prepare while another run holds an unexpired lease, so two
  runs can never both start from the same published version and overwrite each other's changes.
  ``publish`` releases the lease; a run that stops on a failed gate releases it with
  ``release_lease(run_id)``.

The lease records the run id, host, holder pid (+ its start time, so a reused pid is not mistaken for
the holder) and a heartbeat. Every step that writes for the run (``prepare_audit``/the dbt build, the
mart gate, ``publish``) refreshes it with its own pid. When that process leaves through Python (its
step returned or raised; an Airflow task process runs its exit handlers) it *parks* the lease: the run
still owns it and its next step (a separate Airflow task process) takes it up. A lease is *stale* —
another run may take it over, with a warning naming the old run — when

- its holder on this host is gone without parking it (SIGKILL, OOM kill, a crash): at once;
- it is parked on this host and no step of its run took it up for ``DOUYIN_WRITER_LEASE_GRACE_SECONDS``
  (120; the gap between two Airflow tasks of one run);
- its heartbeat is older than ``DOUYIN_WRITER_LEASE_HOURS`` (6): the only rule for holders on another
  host, whose pids cannot be checked from here.

The same run id (an Airflow retry) may always reclaim its own lease.
``publish`` verifies under the file lock, right before the rename, that its run still holds the lease,
so a takeover can never let two runs publish over each other.
"""

from __future__ import annotations

import atexit
import errno
import fcntl
import json
import logging
import os
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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

    def acquire(self) -> FileLock:
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
        os.write(fd, f"pid={os.getpid()} host={socket.gethostname()} since={datetime.now(UTC).isoformat()}\n".encode())
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

    def __enter__(self) -> FileLock:
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
    parked: bool = False  # the holder process ended its step normally; the run's next step takes it up

    @property
    def last_seen(self) -> datetime:
        return self.heartbeat_at or self.claimed_at

    def expired(self, ttl: timedelta) -> bool:
        return datetime.now(UTC) - self.last_seen > ttl

    def describe(self) -> str:
        state = ", parked" if self.parked else ""
        return (
            f"run {self.run_id!r} (pid {self.pid} on {self.host}, step {self.step or '?'}{state}, "
            f"claimed {self.claimed_at.isoformat()}, last heartbeat {self.last_seen.isoformat()})"
        )

    def to_json(self) -> str:
        return json.dumps(
            {
                "run_id": self.run_id,
                "claimed_at": self.claimed_at.isoformat(),
                "pid": self.pid,
                "host": self.host,
                "heartbeat_at": self.last_seen.isoformat(),
                "pid_started": self.pid_started,
                "step": self.step,
                "parked": self.parked,
            }
        )


def lease_ttl() -> timedelta:
    return timedelta(hours=float(os.environ.get("DOUYIN_WRITER_LEASE_HOURS", "6")))


def lease_grace() -> timedelta:
    """How long a *parked* lease stays valid after its holder's step ended (``DOUYIN_WRITER_LEASE_GRACE_SECONDS``).

    In Airflow the steps of one run are separate task processes: between ``build_audit`` and
    ``mart_gate`` (or ``mart_gate`` and ``publish``) no process of the run is alive. The grace keeps
    another run from taking the lease in that gap. It does not apply to a holder that died without
    parking the lease (killed, crashed): that lease is free at once. A retry of the *same* run id never
    waits.
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
    """Why ``lease`` may be taken over by another run, or None while it is valid (see the module docstring).

    Stale when its last heartbeat is older than ``lease_ttl()``; when its holder on this host is gone
    without parking it (killed or crashed: at once); or when it is parked on this host and older than
    ``lease_grace()``.
    """
    now = now or datetime.now(UTC)
    age = now - lease.last_seen
    if age > lease_ttl():
        return f"its last heartbeat is {age} old (expiry {lease_ttl()})"
    alive = holder_alive(lease)
    if alive is None:
        return None  # another host: only the heartbeat expiry applies
    if lease.parked:
        if age >= lease_grace():
            return (
                f"its step {lease.step or '?'} ended {age} ago and no later step of the run took the lease "
                f"up within {lease_grace()}"
            )
        return None
    if alive is False:
        return f"its holder pid {lease.pid} on {lease.host} is no longer running (killed or crashed in step {lease.step or '?'})"
    return None


def read_lease(db_path: Path) -> Lease | None:
    path = lease_path_for(Path(db_path))
    try:
        data = json.loads(path.read_text())
        claimed = datetime.fromisoformat(data["claimed_at"])
        beat = datetime.fromisoformat(data["heartbeat_at"]) if data.get("heartbeat_at") else None
        started = float(data["pid_started"]) if data.get("pid_started") is not None else None
        return Lease(
            data["run_id"],
            claimed,
            int(data["pid"]),
            data["host"],
            beat,
            started,
            data.get("step") or "",
            bool(data.get("parked", False)),
        )
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
    now = datetime.now(UTC)
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
            if current.parked and holder_alive(current) is not None:
                free_at = current.last_seen + lease_grace()
                wait = (
                    f" Its step {current.step or '?'} ended and the run's next step may take the lease up until "
                    f"{free_at.isoformat()}; if none does, the lease is free then: rerun then."
                )
            raise WarehouseLocked(
                f"run {current.run_id!r} is writing the warehouse {db_path} ({current.describe()}); wait for it to "
                f"publish or fail.{wait} "
                f"If that run is dead on another host, delete {lease_path_for(Path(db_path))}"
            )
        log.warning("run %s takes over the writer lease of %s: %s", run_id, current.describe(), reason)
    claimed_at = current.claimed_at if current and current.run_id == run_id else None
    return _hold(db_path, _mine(run_id, step, claimed_at))


def verify_lease(db_path: Path, run_id: str) -> Lease:
    """Raise ``WarehouseLocked`` unless ``run_id`` holds the lease. Call while holding ``FileLock(db_path)``."""
    current = read_lease(db_path)
    if current is None:
        raise WarehouseLocked(
            f"run {run_id!r} does not hold the writer lease of {db_path} any more (no lease: it was released or "
            f"taken over and published by another run); its audit copy may be based on an older version. "
            f"Rerun this interval."
        )
    if current.run_id != run_id:
        raise WarehouseLocked(
            f"{current.describe()} holds the writer lease of {db_path}; run {run_id!r} lost it (taken over as "
            f"stale) and cannot publish (it would overwrite that run's version). Rerun this interval."
        )
    return current


def refresh_lease(db_path: Path, run_id: str, step: str, *, locked: bool = False, lock_timeout: float = 600.0) -> Lease:
    """Heartbeat: record this process as the holder of ``run_id``'s lease (raises when the run lost it).

    ``locked=True`` when the caller already holds ``FileLock(db_path)``.
    """
    if not locked:
        with FileLock(db_path, timeout=lock_timeout):
            return refresh_lease(db_path, run_id, step, locked=True)
    current = verify_lease(db_path, run_id)
    return _hold(db_path, _mine(run_id, step, current.claimed_at))


def release_lease(db_path: Path, run_id: str) -> bool:
    """Drop the lease if ``run_id`` holds it (takes the file lock itself). True when released."""
    with FileLock(db_path):
        current = read_lease(db_path)
        _HELD.discard((str(Path(db_path)), run_id))
        if current and current.run_id == run_id:
            lease_path_for(Path(db_path)).unlink(missing_ok=True)
            return True
        return False


def drop_lease(db_path: Path, run_id: str) -> None:
    """Delete the lease file (the run published). Call while holding ``FileLock(db_path)``."""
    _HELD.discard((str(Path(db_path)), run_id))
    lease_path_for(Path(db_path)).unlink(missing_ok=True)


# -- parking: a holder that ends its step through Python hands the lease on to its run's next step ------
_HELD: set[tuple[str, str]] = set()  # (warehouse path, run id) whose lease this process holds
_PARK_ON_EXIT_REGISTERED: list[int] = []  # pids that registered the exit handler (a forked child registers anew)


def _hold(db_path: Path, lease: Lease) -> Lease:
    """Write ``lease`` (this process's) and park it when this process exits through Python."""
    _write_lease(db_path, lease)
    _HELD.add((str(Path(db_path)), lease.run_id))
    if os.getpid() not in _PARK_ON_EXIT_REGISTERED:
        _PARK_ON_EXIT_REGISTERED.append(os.getpid())
        atexit.register(park_held_leases)
    return lease


def park_lease(db_path: Path, run_id: str, *, lock_timeout: float = 5.0) -> bool:
    """Mark ``run_id``'s lease parked when this process is its holder (the step ended; the run goes on in
    another process). True when parked. A lease held by another process or run is left alone."""
    path = lease_path_for(Path(db_path))
    if not path.exists():  # nothing to park (released, published), and never re-create a removed directory
        return False
    with FileLock(db_path, timeout=lock_timeout):
        current = read_lease(db_path)
        if current is None or current.run_id != run_id or current.pid != os.getpid() or current.parked:
            return False
        now = datetime.now(UTC)
        _write_lease(
            db_path,
            Lease(
                current.run_id,
                current.claimed_at,
                current.pid,
                current.host,
                now,
                current.pid_started,
                current.step,
                parked=True,
            ),
        )
    log.info("parked the writer lease of run %s on %s (step %s ended)", run_id, db_path, current.step)
    return True


def park_held_leases() -> None:
    """Exit handler: park every lease this process still holds (see ``park_lease``)."""
    # At interpreter exit a handler's stream may already be closed (pytest's capture, a closed pipe):
    # a log record that cannot be written must not print a "Logging error" traceback.
    raise_exceptions, logging.raiseExceptions = logging.raiseExceptions, False
    try:
        for db_path, run_id in sorted(_HELD):
            try:
                park_lease(Path(db_path), run_id)
            except Exception as exc:  # noqa: BLE001 - at exit; an unparked lease only frees sooner
                log.warning("could not park the writer lease of run %s on %s: %s", run_id, db_path, exc)
        _HELD.clear()
    finally:
        logging.raiseExceptions = raise_exceptions
