"""Write-audit-publish for the DuckDB warehouse.

The published warehouse (``config.warehouse_path()``) is only ever replaced whole, by an atomic
``os.replace`` of a fully written, fsynced file, so a reader sees either the old version or the new
one, never a half-written file:

1. ``prepare_audit(run_id)`` claims the writer lease (see ``lock``) and provides
   ``<state_dir>/runs/<run_id>/audit.duckdb`` (incremental models continue from it): the previous
   publish's audit file when it holds exactly the published version (renamed: no copy), else a byte
   copy of the published file, or — nothing published yet — a new file written with
   ``storage_compatibility_version='v1.4.0'`` so DuckDB 1.4 tools (older CLI, DBeaver's JDBC) can open
   it. dbt builds into the audit copy; the gates read it.
2. ``publish(audit_path, run_id, meta)`` records the version in ``_meta.publish_log`` inside the
   audit file, CHECKPOINTs and closes it (no ``.wal`` left), then makes it the published file: when it
   carries little free space (a daily run) the audit file itself is fsynced and ``os.replace``-d onto
   the published path (no copy and no hash before readers see it; the run's own audit file on the
   published file's filesystem only, else a byte copy to a temporary sibling as below); otherwise a
   *compacted* copy (see below) is written to a temporary sibling, fsynced while hashed and renamed.
   Then it fsyncs the directory, writes ``douyin.version.json`` beside it and releases the lease. After
   a renamed publish, still under the file lock (readers already have the new version; the next run
   waits for the lock), the published file is byte-copied to ``<state_dir>/audit-base.duckdb``, the
   next run's audit copy, and hashed in the same read; the version file then gets its sha256. A kill
   during that copy costs the next run the copy (its temp file is swept) and the hash (``reconcile_version``
   fills a missing sha256). Readers that opened the old file keep the old inode; new readers get the
   new version.
   The version is the published file's own: ``_meta.publish_log`` is inside the renamed file, so the
   rename publishes data and version together. ``douyin.version.json`` is a convenience copy (plus
   size and sha256) written after the rename: ``read_version`` checks it against the file's newest
   ``publish_log`` row and, when a kill between the rename and that write left it naming the previous
   run, answers from the file instead; the next ``prepare_audit``/``publish`` rewrites it
   (``reconcile_version``, under the file lock) and releases the writer lease such a killed run left
   behind (its run is the published one: nothing is left to protect).
   Before the rename, still inside the file lock, it verifies that ``run_id`` holds the writer lease
   (a run whose stale lease was taken over by another run fails with a message saying so).
3. A failed gate never calls ``publish``: the published file stays byte-identical, the audit copy
   stays for inspection, and the run calls ``release_lease(run_id)`` (or the lease expires).

**Size and copies.** A DuckDB file keeps the blocks of replaced tables (and deleted rows) as free space,
so a file dbt has rebuilt into can hold up to about twice its data. ``publish`` compacts — DuckDB ``COPY
FROM DATABASE`` into a fresh v1.4.0 file: every schema, table, view, macro, sequence, type and comment,
no free space — when more than ``COMPACT_SLACK`` (10 %) of the audit file's blocks are free or it is more
than 110 % of the last compacted publish (``compacted_size`` in the version file); otherwise it renames
the audit file, which is much faster. The published file therefore stays within about 10 % of a
fresh build, however many runs rebuild into it. Each run writes one full copy, after readers have the
new version: the base for the next run (or, when compacting, the compacted file; the next run then
copies the published file). The next ``prepare_audit`` renames the base into place instead of copying
(it compares the newest ``_meta.publish_log`` row of both; on a mismatch, or when it is missing, it
copies the published file).

Audit copies of runs that did not publish stay for inspection; after each publish the newest
``DOUYIN_KEEP_AUDIT_RUNS`` (default 5) of them stay. A crash in the middle of publish leaves at most a
``.tmp-*`` file (with DuckDB's ``.wal`` / ``.tmp`` beside it) next to the warehouse, swept on the next
publish.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import queue
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from douyin_etl import config
from douyin_etl.sqlrow import one_row
from douyin_etl.warehousing.lock import (
    FileLock,
    WarehouseLocked,
    claim_lease,
    drop_lease,
    read_lease,
    refresh_lease,
    release_lease,
    verify_lease,
)

log = logging.getLogger(__name__)

STORAGE_COMPATIBILITY_VERSION = "v1.4.0"
HASH_CHUNK_BYTES = 8 * 1024 * 1024
# The published file may hold up to 10 % more than its data (free blocks, deleted rows) before a publish
# compacts it; below that a publish is a plain byte copy (much faster than DuckDB rewriting every table).
COMPACT_SLACK = 0.10
COMPACT_MEMORY_LIMIT = "1GB"  # DuckDB's buffer for the compaction (it streams table by table; measured ~0.45 GB RSS)
_after_chunk: Callable[[], None] | None = None  # test hook: called after each chunk of the new file is hashed
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

__all__ = [
    "PublishResult",
    "prepare_audit",
    "publish",
    "release_lease",
    "run_dir",
    "audit_path_for",
    "version_path",
    "WarehouseLocked",
    "prune_audits",
    "read_version",
    "read_horizon",
    "touch_lease",
    "published_run",
    "reconcile_version",
    "base_path",
    "compact",
]


@dataclass(frozen=True)
class PublishResult:
    run_id: str
    path: Path
    version_path: Path
    published_at: str
    size: int
    sha256: str
    seconds: float
    visible_s: float | None = None  # from the start of publish to the rename: when readers get the new version

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["path"], d["version_path"] = str(self.path), str(self.version_path)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PublishResult:
        return cls(
            run_id=d["run_id"],
            path=Path(d["path"]),
            version_path=Path(d["version_path"]),
            published_at=d["published_at"],
            size=int(d["size"]),
            sha256=d["sha256"],
            seconds=float(d["seconds"]),
            visible_s=d.get("visible_s"),
        )


def run_dir(run_id: str) -> Path:
    if not run_id or "/" in run_id or run_id in (".", ".."):
        raise ValueError(f"run_id {run_id!r} must be a non-empty name without '/'")
    return config.state_dir() / "runs" / run_id


def audit_path_for(run_id: str) -> Path:
    return run_dir(run_id) / "audit.duckdb"


def base_path() -> Path:
    """The audit file of the last publish, kept to become the next run's audit copy (no copy needed)."""
    return config.state_dir() / "audit-base.duckdb"


def version_path(published: Path | None = None) -> Path:
    published = published or config.warehouse_path()
    return published.with_name(published.stem + ".version.json")


def _read_version_file(published: Path) -> dict | None:
    try:
        data = json.loads(version_path(published).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable version file %s: %s", version_path(published), exc)
        return None
    return data if isinstance(data, dict) else None


def _micros(ts: str | None) -> int | None:
    try:
        return (datetime.fromisoformat(ts) - _EPOCH) // timedelta(microseconds=1)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def published_run(published: Path | None = None) -> dict | None:
    """``{"run_id", "published_at"}`` of the version the published file holds (its newest
    ``_meta.publish_log`` row), or None (no file, or a file without a publish log). Read-only."""
    published = Path(published or config.warehouse_path())
    if not published.exists():
        return None
    con = duckdb.connect()  # a private instance: never shares settings with other connections
    try:
        con.execute("ATTACH '" + str(published).replace("'", "''") + "' AS wh (READ_ONLY)")
        row = con.execute(
            "SELECT run_id, epoch_us(published_at) FROM wh._meta.publish_log ORDER BY published_at DESC LIMIT 1"
        ).fetchone()
    except duckdb.CatalogException:
        return None
    finally:
        con.close()
    if row is None:
        return None
    at = (_EPOCH + timedelta(microseconds=int(row[1]))).isoformat()
    return {"run_id": row[0], "published_at": at, "published_at_us": int(row[1])}


def _matches(recorded: dict | None, actual: dict) -> bool:
    return (
        recorded is not None
        and recorded.get("run_id") == actual["run_id"]
        and _micros(recorded.get("published_at")) == actual["published_at_us"]
    )


def read_version(published: Path | None = None) -> dict | None:
    """The published version: ``douyin.version.json`` when it names the run the published file holds,
    else (a publish killed between its rename and the version file) the file's own record — run id,
    published_at, size, no sha256 — with ``"stale_version_file"`` naming the run the file named.
    Read-only: the version file is rewritten by the next writer (``reconcile_version``)."""
    published = Path(published or config.warehouse_path())
    recorded = _read_version_file(published)
    actual = published_run(published)
    if actual is None or _matches(recorded, actual):
        return recorded
    log.warning(
        "%s names run %s but the published file holds run %s (a publish was interrupted after its "
        "rename); using the file's record until the next run rewrites it",
        version_path(published),
        (recorded or {}).get("run_id"),
        actual["run_id"],
    )
    return {
        "run_id": actual["run_id"],
        "published_at": actual["published_at"],
        "size": published.stat().st_size,
        "path": str(published),
        "stale_version_file": (recorded or {}).get("run_id"),
    }


def _write_version(
    published: Path, run_id: str, published_at: str, size: int, sha: str | None, compacted_size: int | None = None
) -> Path:
    vpath = version_path(published)
    vtmp = vpath.with_name(f".tmp-{os.getpid()}-{vpath.name}")
    record = {"run_id": run_id, "published_at": published_at, "size": size, "sha256": sha, "path": str(published)}
    if compacted_size is not None:
        record["compacted_size"] = compacted_size  # size of the last compacted publish (see _compaction_reason)
    vtmp.write_text(json.dumps(record, indent=2))
    os.replace(vtmp, vpath)
    return vpath


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def reconcile_version(published: Path | None = None) -> dict | None:
    """Make ``douyin.version.json`` name the run the published file holds (rewrite it when a killed
    publish left it stale) and drop a writer lease whose run is that published run. Call while
    holding ``FileLock(published)``. Returns the file's version (None when nothing is published)."""
    published = Path(published or config.warehouse_path())
    actual = published_run(published)
    if actual is None:
        return None
    recorded = _read_version_file(published)
    if _matches(recorded, actual) and recorded is not None and not recorded.get("sha256"):
        # a publish killed while it copied (and hashed) the next run's base after its rename
        _write_version(
            published,
            actual["run_id"],
            actual["published_at"],
            int(recorded.get("size") or published.stat().st_size),
            _sha256(published),
            recorded.get("compacted_size"),
        )
        log.warning("%s had no sha256 (its publish stopped after the rename): hashed the file", version_path(published))
    elif not _matches(recorded, actual):
        _write_version(
            published, actual["run_id"], actual["published_at"], published.stat().st_size, _sha256(published)
        )
        log.warning(
            "rewrote %s: it named run %s, the published file holds run %s (its publish was interrupted "
            "after the rename)",
            version_path(published),
            (recorded or {}).get("run_id"),
            actual["run_id"],
        )
    lease = read_lease(published)
    if lease is not None and lease.run_id == actual["run_id"]:
        drop_lease(published, lease.run_id)
        log.warning(
            "released the writer lease left by run %s: that run's version is the published one (it "
            "stopped after its rename)",
            lease.run_id,
        )
    return actual


def read_horizon(db_path: Path | None = None) -> date | None:
    """The marts' horizon of a warehouse file: the latest ``as_of`` (else interval ``end``) its
    ``_meta.publish_log`` records.

    ``None`` for a file that does not exist or that no run with an ``as_of`` published (read-only).
    Runs read it from their audit copy (a copy of the published file) so that a rebuild of a past day
    keeps the marts as of this day (``orchestration.steps.build_audit``).
    """
    path = Path(db_path) if db_path is not None else config.warehouse_path()
    if not path.exists():
        return None
    con = duckdb.connect()  # a private instance, as published_run
    try:
        con.execute("ATTACH '" + str(path).replace("'", "''") + "' AS wh (READ_ONLY)")
        # a publish that recorded no as_of (an older caller) counts with its interval's end
        return one_row(
            con,
            "SELECT max(try_cast(coalesce(json_extract_string(meta, '$.as_of'), "
            "json_extract_string(meta, '$.end')) AS DATE)) FROM wh._meta.publish_log",
        )[0]
    except duckdb.CatalogException:  # no publish log: nothing was published into this file
        return None
    finally:
        con.close()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sql_string(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def compact(src: Path, dst: Path) -> None:
    """Write every object of the closed DuckDB file ``src`` into the new file ``dst`` (v1.4.0 storage).

    ``COPY FROM DATABASE`` recreates schemas, tables (with constraints), views, macros, sequences, types and
    comments and copies the rows, so ``dst`` holds no free blocks: its size is that of the data, however
    many times ``src`` was rebuilt into. ``dst`` must not exist; it is checkpointed and closed (no ``.wal``).
    """
    if dst.exists():
        raise FileExistsError(f"{dst} exists; compact writes a new file")
    con = duckdb.connect(
        str(dst),
        config={"storage_compatibility_version": STORAGE_COMPATIBILITY_VERSION, "memory_limit": COMPACT_MEMORY_LIMIT},
    )
    try:
        target = one_row(con, "SELECT current_database()")[0]
        con.execute(f"ATTACH {_sql_string(src)} AS compact_source (READ_ONLY)")
        con.execute('COPY FROM DATABASE compact_source TO "' + target.replace('"', '""') + '"')
        con.execute("DETACH compact_source")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    _assert_no_wal(dst, "of the compacted copy")


def _compaction_reason(audit: Path, published: Path) -> str | None:
    """Why ``publish`` must compact ``audit`` (a closed file) rather than copy its bytes, or None.

    Compact when more than ``COMPACT_SLACK`` of its blocks are free (tables dbt rebuilt), or when it is more
    than ``1 + COMPACT_SLACK`` times the size of the last compacted publish (``compacted_size`` in the
    version file; deleted rows inside used blocks show up only there). A file with no such size on record
    (a first build) and few free blocks is as good as compacted: its byte copy becomes the baseline
    (rewriting it cost 60 s of a 4-minute SF10 full build and saved 3 %).
    """
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH {_sql_string(audit)} AS sized (READ_ONLY)")
        total, free = one_row(
            con, "SELECT total_blocks, free_blocks FROM pragma_database_size() WHERE database_name = 'sized'"
        )
    finally:
        con.close()
    if total and free > COMPACT_SLACK * total:
        return f"{free} of its {total} blocks are free"
    last = (_read_version_file(published) or {}).get("compacted_size")
    if not isinstance(last, int) or last <= 0:
        return None  # the baseline: publish records this file's size as compacted
    size = audit.stat().st_size
    if size > (1 + COMPACT_SLACK) * last:
        return f"it is {size} bytes, more than {1 + COMPACT_SLACK:.2f} x the last compacted publish ({last} bytes)"
    return None


def _copy_fsync(src: Path, dst: Path) -> str:
    """Copy ``src`` to ``dst`` (new file), fsync it, return its sha256: one read of ``src``, hashed by a
    thread of its own while the chunks are written (hashlib releases the GIL), so a copy costs no more
    than the copy alone (14 GB: see docs/performance.md)."""
    digest = hashlib.sha256()
    chunks: queue.Queue[bytes | None] = queue.Queue(maxsize=4)

    def hash_chunks() -> None:
        while (chunk := chunks.get()) is not None:
            digest.update(chunk)

    hasher = threading.Thread(target=hash_chunks, name="publish-sha256", daemon=True)
    hasher.start()
    try:
        with open(src, "rb") as fin, open(dst, "xb") as fout:
            while chunk := fin.read(HASH_CHUNK_BYTES):
                chunks.put(chunk)
                fout.write(chunk)
                if _after_chunk is not None:
                    _after_chunk()
            fout.flush()
            os.fsync(fout.fileno())
    finally:
        chunks.put(None)
        hasher.join()
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    """fsync ``path`` (a file another connection wrote and closed)."""
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def _fsync_sha256(path: Path) -> str:
    """fsync ``path`` (a file just written) and return its sha256."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(HASH_CHUNK_BYTES):
            digest.update(chunk)
            if _after_chunk is not None:
                _after_chunk()
        os.fsync(fh.fileno())
    return digest.hexdigest()


def _remove_temp(tmp: Path) -> None:
    """Delete a publish temp file with what DuckDB may have left beside it (its ``.wal``, its spill dir)."""
    tmp.unlink(missing_ok=True)
    tmp.with_name(tmp.name + ".wal").unlink(missing_ok=True)
    shutil.rmtree(tmp.with_name(tmp.name + ".tmp"), ignore_errors=True)


def _test_pause(variable: str) -> None:
    """Test hook for crash tests of a whole CLI run: sleep ``$variable`` seconds (unset: no pause), so a
    test can SIGKILL the process at that moment."""
    delay = float(os.environ.get(variable, "0") or 0)
    if delay > 0:
        log.warning("%s: pausing %.1f s (test hook)", variable, delay)
        time.sleep(delay)


def _sweep_temp(published: Path) -> int:
    removed = 0
    for leftover in published.parent.glob(f".tmp-*-{published.name}"):
        _remove_temp(leftover)
        removed += 1
    for orphan in published.parent.glob(f".tmp-*-{published.name}.wal"):
        orphan.unlink(missing_ok=True)
    if removed:
        log.info("removed %d leftover temp file(s) of an interrupted publish beside %s", removed, published)
    return removed


def _take_base(published: Path, audit: Path, run_id: str) -> bool:
    """Rename the last publish's audit file (``base_path()``) to ``audit`` when it holds exactly the
    published version (newest ``_meta.publish_log`` row of both). False (and the base deleted when it is
    not that version) otherwise: the caller copies the published file. Call under ``FileLock(published)``."""
    base = base_path()
    if not base.exists():
        return False
    try:
        held = published_run(base)
    except duckdb.Error as exc:
        log.warning("ignoring unreadable %s: %s", base, exc)
        held = None
    actual = published_run(published)
    if (
        held is None
        or actual is None
        or (held["run_id"], held["published_at_us"]) != (actual["run_id"], actual["published_at_us"])
    ):
        log.warning(
            "%s holds run %s, the published file holds run %s: copying the published file instead",
            base,
            (held or {}).get("run_id"),
            (actual or {}).get("run_id"),
        )
        base.unlink(missing_ok=True)
        return False
    os.replace(base, audit)
    log.info(
        "audit copy for run %s: the audit file of published run %s (renamed, no copy): %s",
        run_id,
        actual["run_id"],
        audit,
    )
    return True


def prepare_audit(run_id: str, *, lock_timeout: float = 600.0) -> Path:
    """Claim the writer lease for ``run_id`` and return a fresh audit copy of the published warehouse.

    Raises ``WarehouseLocked`` when another run holds the lease (it names the run and what to do).
    """
    published = config.warehouse_path()
    audit = audit_path_for(run_id)
    audit.parent.mkdir(parents=True, exist_ok=True)
    published.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(published, timeout=lock_timeout):
        reconcile_version(published)
        claim_lease(published, run_id, step="prepare_audit")
        for stale in (audit, audit.with_name(audit.name + ".wal")):
            stale.unlink(missing_ok=True)
        _sweep_base_temp()
        if published.exists() and not _take_base(published, audit, run_id):
            tmp = audit.with_name(f".tmp-{os.getpid()}-{audit.name}")
            tmp.unlink(missing_ok=True)
            shutil.copyfile(published, tmp)
            os.replace(tmp, audit)
            log.info("audit copy of %s for run %s: %s", published, run_id, audit)
        else:
            con = duckdb.connect(str(audit), config={"storage_compatibility_version": STORAGE_COMPATIBILITY_VERSION})
            con.execute("CHECKPOINT")
            con.close()
            log.info("new audit warehouse for run %s (no published version yet): %s", run_id, audit)
    return audit


def _record_version(audit_path: Path, run_id: str, published_at: str, meta: dict | None) -> None:
    con = duckdb.connect(str(audit_path))
    try:
        con.execute("CREATE SCHEMA IF NOT EXISTS _meta")
        con.execute(
            "CREATE TABLE IF NOT EXISTS _meta.publish_log ("
            "run_id VARCHAR NOT NULL, published_at TIMESTAMPTZ NOT NULL, meta JSON)"
        )
        con.execute("DELETE FROM _meta.publish_log WHERE run_id = ?", [run_id])  # a retried publish
        con.execute(
            "INSERT INTO _meta.publish_log VALUES (?, ?::TIMESTAMPTZ, ?)",
            [run_id, published_at, json.dumps(meta or {}, ensure_ascii=False, sort_keys=True, default=str)],
        )
        con.execute("CHECKPOINT")
    finally:
        con.close()
    _assert_no_wal(audit_path, f"; another process has {audit_path} open?")


def _assert_no_wal(path: Path, hint: str) -> None:
    """A checkpointed, closed DuckDB file leaves no ``.wal``: one left means the file is not whole on its own."""
    wal = path.with_name(path.name + ".wal")
    if wal.exists():
        raise RuntimeError(f"{wal} still exists after CHECKPOINT and close {hint}".replace(" ;", ";"))


def publish(
    audit_path: Path,
    run_id: str,
    meta: dict | None = None,
    *,
    lock_timeout: float = 600.0,
    keep_audits: int | None = None,
) -> PublishResult:
    """Atomically replace the published warehouse with a copy of ``audit_path``, compacted when it carries
    too much free space (see the module docstring)."""
    started = time.monotonic()
    audit_path = Path(audit_path)
    published = config.warehouse_path()
    if not audit_path.exists():
        done = _published_by(published, run_id, lock_timeout)
        if done is not None:  # a retry after this run's publish completed: its audit file became the base
            log.warning(
                "run %s already published %s (its audit file is the next run's base now); nothing to do",
                run_id,
                published,
            )
            return PublishResult(
                run_id,
                published,
                version_path(published),
                done["published_at"],
                int(done["size"]),
                str(done["sha256"]),
                round(time.monotonic() - started, 3),
            )
        raise FileNotFoundError(
            f"audit warehouse {audit_path} does not exist; run prepare_audit({run_id!r}) and dbt first"
        )
    published.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(published, timeout=lock_timeout):
        lease = read_lease(published)
        previous = published_run(published)  # the file's own record, whatever the version file says
        if lease is None and previous is not None and previous.get("run_id") == run_id:
            # a retry of this run's own publish that got past the rename (lease already dropped)
            log.warning("run %s already published %s; publishing its audit copy again", run_id, published)
        else:
            refresh_lease(published, run_id, "publish", locked=True)
        _sweep_temp(published)
        published_at = datetime.now(UTC).isoformat()
        _record_version(audit_path, run_id, published_at, meta)
        tmp = published.with_name(f".tmp-{os.getpid()}-{published.name}")
        _remove_temp(tmp)
        reason = _compaction_reason(audit_path, published)
        renamed = not reason and _can_rename(audit_path, run_id, published)
        sha: str | None
        try:
            if reason:
                log.info("publish of run %s compacts %s: %s", run_id, audit_path, reason)
                compact(audit_path, tmp)
                sha = _fsync_sha256(tmp)
            elif renamed:  # the audit file itself becomes the published file: no copy or hash before it is visible
                _fsync(audit_path)
                sha = None  # hashed while the next run's base is copied, after the rename
            else:
                sha = _copy_fsync(audit_path, tmp)
            size = (audit_path if renamed else tmp).stat().st_size
            _test_pause("DOUYIN_TEST_PUBLISH_PAUSE_BEFORE_RENAME")
            if lease is not None:
                verify_lease(published, run_id)  # still ours, right before the rename
            os.replace(audit_path if renamed else tmp, published)
        except BaseException:
            _remove_temp(tmp)
            raise
        visible_s = round(time.monotonic() - started, 3)
        _test_pause("DOUYIN_TEST_PUBLISH_PAUSE_AFTER_RENAME")
        _fsync_dir(published.parent)
        compacted_size = size if reason else ((_read_version_file(published) or {}).get("compacted_size") or size)
        vpath = _write_version(published, run_id, published_at, size, sha, compacted_size)
        if lease is not None:
            drop_lease(published, run_id)
        if renamed:  # after the publish, still under the file lock: the next run's audit copy, hashed as copied
            sha = _copy_base(published) or _sha256(published)
            _write_version(published, run_id, published_at, size, sha, compacted_size)
        elif not reason:  # a compacted publish leaves a bloated audit file: the next run copies the compact one
            _hand_over(audit_path, run_id)
    assert sha is not None  # a renamed publish hashed the file with the next run's base
    result = PublishResult(
        run_id, published, vpath, published_at, size, sha, round(time.monotonic() - started, 3), visible_s
    )
    log.info(
        "published run %s: %s (%d bytes, sha256 %s…) in %.2f s (visible after %.2f s)",
        run_id,
        published,
        size,
        sha[:12],
        result.seconds,
        visible_s,
    )
    prune_audits(keep=keep_audits, protect=run_id)
    return result


def _published_by(published: Path, run_id: str, lock_timeout: float) -> dict | None:
    """The version record when the published file holds ``run_id``'s publish (repairing the version file)."""
    if not published.exists():
        return None
    with FileLock(published, timeout=lock_timeout):
        actual = reconcile_version(published)
        recorded = _read_version_file(published)
    if actual is None or actual["run_id"] != run_id or recorded is None:
        return None
    return recorded


def _can_rename(audit_path: Path, run_id: str, published: Path) -> bool:
    """Whether ``publish`` may rename the audit file onto the published path: it is the run's own audit
    file (not a caller's path) on the published file's filesystem (a rename across filesystems copies)."""
    if audit_path != audit_path_for(run_id):
        return False
    try:
        return audit_path.stat().st_dev == published.parent.stat().st_dev
    except OSError:
        return False


def _copy_base(published: Path) -> str | None:
    """Copy the file just published to ``base_path()`` (through a temp sibling, fsynced), the next run's
    audit copy; returns the published file's sha256, hashed while copied (None when the copy failed).
    Called after the rename, under the file lock: readers already have the new version, and the next run
    waits for the lock instead of copying the published file itself. A failure only costs the next run
    that copy."""
    base = base_path()
    tmp = base.with_name(f".tmp-{os.getpid()}-{base.name}")
    try:
        base.unlink(missing_ok=True)
        tmp.unlink(missing_ok=True)
        sha = _copy_fsync(published, tmp)  # whole on disk before it is named the base
        os.replace(tmp, base)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        log.warning(
            "could not keep a copy of %s as the next run's audit copy (%s); the next run copies it", published, exc
        )
        return None
    return sha


def _sweep_base_temp() -> None:
    """Delete what a publish killed while copying the next run's base left in the state directory."""
    for leftover in config.state_dir().glob(f".tmp-*-{base_path().name}"):
        leftover.unlink(missing_ok=True)


def _hand_over(audit_path: Path, run_id: str) -> None:
    """Keep the published run's audit file as the next run's audit copy (``base_path()``). Under the lock."""
    if audit_path != audit_path_for(run_id):
        return  # not a run's own audit file (a caller's path): leave it where it is
    base = base_path()
    try:
        os.replace(audit_path, base)
    except OSError as exc:  # e.g. another filesystem: the next run copies the published file instead
        log.warning(
            "could not keep %s as the next run's audit copy (%s); the next run copies the published file",
            audit_path,
            exc,
        )


def prune_audits(keep: int | None = None, protect: str | None = None) -> list[Path]:
    """Delete all but the newest ``keep`` audit copies (reports stay). Returns the deleted paths."""
    keep = int(os.environ.get("DOUYIN_KEEP_AUDIT_RUNS", "5")) if keep is None else keep
    runs = config.state_dir() / "runs"
    audits = sorted(runs.glob("*/audit.duckdb"), key=lambda p: p.stat().st_mtime, reverse=True)
    removed: list[Path] = []
    for audit in audits[keep:]:
        if audit.parent.name == protect:
            continue
        audit.unlink(missing_ok=True)
        audit.with_name(audit.name + ".wal").unlink(missing_ok=True)
        removed.append(audit)
    if removed:
        log.info("pruned %d old audit copies (keeping %d)", len(removed), keep)
    return removed


def touch_lease(run_id: str, step: str) -> None:
    """Heartbeat of a step of ``run_id`` (e.g. the mart gate): this process now holds the run's writer lease.

    Raises ``WarehouseLocked`` when the run lost its lease (taken over as stale by another run): the
    run cannot publish any more, so stop early and rerun the interval.
    """
    refresh_lease(config.warehouse_path(), run_id, step)


def abandon(run_id: str) -> bool:
    """A run that will not publish (failed gate): release its writer lease, keep its audit copy."""
    return release_lease(config.warehouse_path(), run_id)
