"""Helpers of the warehouse tests (imported by name: keep this file name unique under tests/)."""

from __future__ import annotations

from pathlib import Path

import duckdb


def fill_version(db: Path, version: int, rows: int = 20_000) -> None:
    """Make ``db`` hold version ``version``: table v.t with ``rows`` rows all tagged ``version``."""
    con = duckdb.connect(str(db))
    con.execute("CREATE SCHEMA IF NOT EXISTS v")
    con.execute(
        "CREATE OR REPLACE TABLE v.t AS SELECT ?::INTEGER AS version, i, md5(i::VARCHAR) AS payload FROM range(?) r(i)",
        [version, rows],
    )
    con.execute("CREATE OR REPLACE TABLE v.meta AS SELECT ?::INTEGER AS version, ?::BIGINT AS rows", [version, rows])
    con.close()
