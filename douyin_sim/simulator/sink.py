"""Deterministic Parquet output through one DuckDB connection (``threads=1``, rows sorted by key).

``copy_partitioned`` writes ``<root>/platform/<entity>/dt=YYYY-MM-DD/<tag>_0.parquet`` for every
business day present in the query's ``dt`` column (dt itself is the folder, not a column).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb


class ParquetSink:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.con = duckdb.connect()
        self.con.execute("SET threads=1")
        self.con.execute("SET TimeZone='Asia/Shanghai'")

    def register(self, name: str, table: Any) -> None:
        self.con.register(name, table)

    def copy_partitioned(self, entity: str, sql: str, tag: str) -> None:
        dest = self.root / "platform" / entity
        dest.mkdir(parents=True, exist_ok=True)
        self.con.execute(
            f"COPY ({sql}) TO '{dest.as_posix()}' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (dt), "
            f"FILENAME_PATTERN '{tag}_{{i}}', OVERWRITE_OR_IGNORE)"
        )

    def copy_file(self, sql: str, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.con.execute(f"COPY ({sql}) TO '{path.as_posix()}' (FORMAT parquet, COMPRESSION zstd)")

    def df(self, sql: str):
        return self.con.sql(sql).df()

    def close(self) -> None:
        self.con.close()
