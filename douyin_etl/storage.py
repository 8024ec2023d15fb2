"""The one storage layer for the lake: local paths today, ``s3://`` (any fsspec filesystem) tomorrow.

Everything that reads or writes lake files goes through ``Storage``: the landing writer, the gates,
and (through ``duckdb_register``) every DuckDB connection that reads the lake. Writes land in a
temporary sibling first and are renamed into place, so a reader never sees half a partition.
"""

from __future__ import annotations

import json
import posixpath
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fsspec

from douyin_etl import config


@dataclass
class Storage:
    root: str
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.root = self.root.rstrip("/")
        protocol = self.root.split("://", 1)[0] if "://" in self.root else "file"
        self.protocol = protocol
        self.fs = fsspec.filesystem(protocol, **self.options)

    @classmethod
    def lake(cls) -> "Storage":
        return cls(config.lake_root())

    @property
    def is_local(self) -> bool:
        return self.protocol == "file"

    # -- paths -------------------------------------------------------------------------------
    def path(self, *parts: str) -> str:
        """Absolute path (or URL) of ``parts`` under the root."""
        return posixpath.join(self.root, *parts) if parts else self.root

    def glob_url(self, *parts: str) -> str:
        """A path DuckDB can read (``read_parquet``), same form as ``path``."""
        return self.path(*parts)

    # -- reads -------------------------------------------------------------------------------
    def exists(self, path: str) -> bool:
        return self.fs.exists(path)

    def listdir(self, path: str) -> list[str]:
        """Names (not paths) directly under ``path``; empty when it does not exist."""
        if not self.fs.exists(path):
            return []
        return sorted(posixpath.basename(p.rstrip("/")) for p in self.fs.ls(path, detail=False))

    def glob(self, pattern: str) -> list[str]:
        found = self.fs.glob(pattern)
        if self.protocol != "file":
            found = [f"{self.protocol}://{p}" if "://" not in p else p for p in found]
        return sorted(found)

    def read_bytes(self, path: str) -> bytes:
        with self.fs.open(path, "rb") as fh:
            return fh.read()

    def read_json(self, path: str) -> Any:
        return json.loads(self.read_bytes(path))

    # -- writes ------------------------------------------------------------------------------
    def makedirs(self, path: str) -> None:
        self.fs.makedirs(path, exist_ok=True)

    def write_bytes(self, path: str, data: bytes) -> None:
        """Write ``data`` to ``path`` through a temporary sibling and a rename."""
        parent = posixpath.dirname(path)
        self.makedirs(parent)
        tmp = posixpath.join(parent, f".tmp-{uuid.uuid4().hex}-{posixpath.basename(path)}")
        with self.fs.open(tmp, "wb") as fh:
            fh.write(data)
        self.fs.mv(tmp, path)

    def write_json(self, path: str, obj: Any) -> None:
        self.write_bytes(path, json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True, default=str).encode())

    def temp_dir_for(self, final_dir: str) -> str:
        """A fresh temporary directory beside ``final_dir`` (same filesystem, so rename is cheap)."""
        parent = posixpath.dirname(final_dir.rstrip("/"))
        tmp = posixpath.join(parent, f".tmp-{uuid.uuid4().hex}-{posixpath.basename(final_dir.rstrip('/'))}")
        self.makedirs(tmp)
        return tmp

    def replace_dir(self, tmp_dir: str, final_dir: str) -> None:
        """Move a fully written ``tmp_dir`` into place as ``final_dir``, replacing what was there.

        Local: the old directory is renamed aside first, then the new one renamed in, then the old
        one removed; each rename is atomic, and a crash in between leaves either the old or the new
        partition plus a ``.old-*`` leftover that ``sweep`` removes.
        """
        final_dir = final_dir.rstrip("/")
        if self.fs.exists(final_dir):
            parent = posixpath.dirname(final_dir)
            old = posixpath.join(parent, f".old-{uuid.uuid4().hex}-{posixpath.basename(final_dir)}")
            self.fs.mv(final_dir, old, recursive=True)
            self.fs.mv(tmp_dir, final_dir, recursive=True)
            self.fs.rm(old, recursive=True)
        else:
            self.makedirs(posixpath.dirname(final_dir))
            self.fs.mv(tmp_dir, final_dir, recursive=True)

    def remove(self, path: str) -> None:
        if self.fs.exists(path):
            self.fs.rm(path, recursive=True)

    def sweep(self, path: str) -> int:
        """Remove leftovers of interrupted writes (``.tmp-*``, ``.old-*``) under ``path``."""
        removed = 0
        for leftover in self.glob(posixpath.join(path, "**", ".tmp-*")) + self.glob(posixpath.join(path, "**", ".old-*")):
            self.remove(leftover)
            removed += 1
        return removed

    # -- DuckDB ------------------------------------------------------------------------------
    def duckdb_register(self, con: Any) -> None:
        """Let a DuckDB connection read (and write) this storage's URLs. No-op for local paths."""
        if not self.is_local:
            con.register_filesystem(self.fs)


def local_path(p: str | Path) -> Path:
    return Path(str(p).removeprefix("file://"))
