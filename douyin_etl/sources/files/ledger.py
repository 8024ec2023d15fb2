"""Checksum ledger of ingested files: ``<lake>/_meta/ingested/<entity>/<sha256>.json``.

It remembers which partition (``dt``) each file content landed in, so the same content delivered
again (another day's folder, another name) is skipped and reported instead of counted twice.
"""

from __future__ import annotations

import posixpath
from datetime import date
from typing import Any

from douyin_etl.storage import Storage


class Ledger:
    def __init__(self, storage: Storage | None = None) -> None:
        self.storage = storage or Storage.lake()

    def path(self, entity: str, sha256: str) -> str:
        return self.storage.path("_meta", "ingested", entity, f"{sha256}.json")

    def lookup(self, entity: str, sha256: str) -> dict[str, Any] | None:
        p = self.path(entity, sha256)
        return self.storage.read_json(p) if self.storage.exists(p) else None

    def record(self, entity: str, sha256: str, dt: date, name: str, run_id: str, rows: int) -> None:
        self.storage.write_json(
            self.path(entity, sha256),
            {
                "entity": entity,
                "sha256": sha256,
                "dt": dt.isoformat(),
                "name": name,
                "run_id": run_id,
                "rows": rows,
            },
        )

    def entries(self, entity: str) -> list[dict[str, Any]]:
        folder = self.storage.path("_meta", "ingested", entity)
        return [
            self.storage.read_json(posixpath.join(folder, n))
            for n in self.storage.listdir(folder)
            if n.endswith(".json")
        ]
