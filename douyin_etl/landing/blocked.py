"""Partitions the landing gate blocked: ``<lake>/_meta/blocked/<entity>/dt=YYYY-MM-DD.json``.

A blocked partition stays in the lake (the run that landed it published nothing). Without a record
the next day's run would read it too and fail later, in a dbt staging test that names neither the file
nor the day. So ``steps.landing_gate`` records every partition it blocks (entity, day, the files it was
landed from, why, the run) and every later run refuses at its landing gate, before dbt, naming them
and the fix. Replacing the partition (a corrected file dropped and the day rerun: ``PartitionWriter``
commits) clears the record; the landing gate then checks the new partition.

A record whose partition changed since (another manifest run id) or vanished is stale and ignored.
"""

from __future__ import annotations

import logging
import posixpath
import re
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from douyin_etl.storage import Storage
from douyin_etl.timeutil import utc_now

log = logging.getLogger(__name__)

_FILE = re.compile(r"dt=(\d{4}-\d{2}-\d{2})\.json")


@dataclass
class BlockedPartition:
    entity: str
    dt: str
    run_id: str  # the run whose landing gate blocked it
    reason: str
    files: list[str] = field(default_factory=list)  # what the partition was landed from
    partition_run_id: str | None = None  # the manifest's run id when it was blocked (staleness check)
    blocked_at: str = ""

    def describe(self) -> str:
        what = ", ".join(self.files) if self.files else "(no file: an Open API extraction)"
        return f"{self.entity} dt={self.dt} from {what}: {self.reason} (blocked by run {self.run_id})"


def _storage(storage: Storage | None) -> Storage:
    return storage or Storage.lake()


def path(entity: str, dt: date | str, storage: Storage | None = None) -> str:
    day = dt if isinstance(dt, str) else dt.isoformat()
    return _storage(storage).path("_meta", "blocked", entity, f"dt={day}.json")


def mark(entity: str, dt: date, run_id: str, reason: str, storage: Storage | None = None) -> BlockedPartition:
    """Record that the landing gate of ``run_id`` blocked ``entity``/``dt`` because of ``reason``."""
    from douyin_etl.landing.reader import read_manifest

    st = _storage(storage)
    manifest = read_manifest(entity, dt, st) or {}
    files = [
        s["name"]
        for s in manifest.get("sources", [])
        if s.get("status") == "landed" and s.get("name") and not str(s.get("name")).startswith(("GET ", "POST "))
    ]
    record = BlockedPartition(
        entity, dt.isoformat(), run_id, reason, files, manifest.get("run_id"), utc_now().isoformat()
    )
    st.write_json(path(entity, dt, st), asdict(record))
    log.error("blocked partition recorded: %s", record.describe())
    return record


def clear(entity: str, dt: date, storage: Storage | None = None, run_id: str | None = None) -> bool:
    """Forget the record of ``entity``/``dt`` (its partition was replaced or passed the gate)."""
    st = _storage(storage)
    p = path(entity, dt, st)
    if not st.exists(p):
        return False
    st.remove(p)
    log.info("cleared the blocked record of %s dt=%s%s", entity, dt, f" (run {run_id})" if run_id else "")
    return True


def _current(record: BlockedPartition, st: Storage) -> bool:
    """The record still describes the partition in the lake (same manifest run id)."""
    from douyin_etl.landing.reader import partition_dir, read_manifest

    day = date.fromisoformat(record.dt)
    manifest = read_manifest(record.entity, day, st)
    if manifest is None:
        return st.exists(partition_dir(record.entity, day, st)) and record.partition_run_id is None
    return manifest.get("run_id") == record.partition_run_id


def recorded(storage: Storage | None = None) -> set[tuple[str, str]]:
    """(entity, ISO day) of every record, stale or not (one listing per entity)."""
    st = _storage(storage)
    base = st.path("_meta", "blocked")
    return {
        (entity, m.group(1))
        for entity in st.listdir(base)
        for name in st.listdir(posixpath.join(base, entity))
        if (m := _FILE.fullmatch(name))
    }


def blocked_partitions(storage: Storage | None = None) -> list[BlockedPartition]:
    """Every current blocked record of the lake (stale ones are skipped), by entity and day."""
    st = _storage(storage)
    base = st.path("_meta", "blocked")
    out: list[BlockedPartition] = []
    for entity in sorted(st.listdir(base)):
        folder = posixpath.join(base, entity)
        for name in sorted(st.listdir(folder)):
            if not _FILE.fullmatch(name):
                continue
            data: dict[str, Any] = st.read_json(posixpath.join(folder, name))
            record = BlockedPartition(**{k: data[k] for k in BlockedPartition.__dataclass_fields__ if k in data})
            if _current(record, st):
                out.append(record)
            else:
                log.info("ignoring a stale blocked record %s (the partition changed since)", record.describe())
    return out
