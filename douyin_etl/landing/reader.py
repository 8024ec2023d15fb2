"""Find what is in the landing zone: partition folders, manifests, and globs DuckDB can read.

Every function takes an optional ``storage`` (default: the lake of ``douyin_etl.config``).
"""

from __future__ import annotations

import posixpath
import re
from datetime import date
from typing import Any

from douyin_etl.entities import get as get_entity
from douyin_etl.landing.writer import MANIFEST_NAME
from douyin_etl.storage import Storage

_DT_DIR = re.compile(r"dt=(\d{4}-\d{2}-\d{2})")


def _storage(storage: Storage | None) -> Storage:
    return storage or Storage.lake()


def partition_dir(entity: str, dt: date, storage: Storage | None = None) -> str:
    """``<lake>/raw/<source>/<entity>/dt=YYYY-MM-DD`` (a path or URL; may not exist)."""
    return _storage(storage).path(get_entity(entity).landing_dir, f"dt={dt.isoformat()}")


def read_manifest(entity: str, dt: date, storage: Storage | None = None) -> dict[str, Any] | None:
    """The partition's ``_manifest.json``, or None when the partition was never landed."""
    st = _storage(storage)
    path = posixpath.join(partition_dir(entity, dt, st), MANIFEST_NAME)
    if not st.exists(path):
        return None
    return st.read_json(path)


def list_partitions(entity: str, storage: Storage | None = None) -> list[date]:
    """Business days landed for ``entity``, ascending (leftover ``.tmp-*``/``.old-*`` dirs ignored)."""
    st = _storage(storage)
    days = []
    for name in st.listdir(st.path(get_entity(entity).landing_dir)):
        m = _DT_DIR.fullmatch(name)
        if m:
            days.append(date.fromisoformat(m.group(1)))
    return sorted(days)


def parquet_glob(entity: str, storage: Storage | None = None) -> str:
    """Glob of every landed Parquet file of ``entity``, for
    ``read_parquet(glob, hive_partitioning = true)`` (gives a ``dt`` column)."""
    return _storage(storage).glob_url(get_entity(entity).landing_dir, "dt=*", "*.parquet")
