"""Helpers for the DAG and e2e tests: read a lake's landed partitions back, compare two lakes."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import duckdb

from douyin_etl import entities


def landed_days(lake: Path, entity: str) -> set[date]:
    e = entities.get(entity)
    root = lake / e.landing_dir
    return {date.fromisoformat(p.name[3:]) for p in root.glob("dt=*") if p.is_dir()} if root.exists() else set()


def part_hashes(lake: Path) -> dict[str, str]:
    """relative path of every landed Parquet file -> sha256 (the data; manifests hold run facts)."""
    return {
        str(p.relative_to(lake)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((lake / "raw").rglob("*.parquet"))
    }


def data_rows(lake: Path, entity: str) -> list[tuple]:
    """Every landed row of ``entity`` (all partitions), without ``_`` metadata columns, sorted."""
    e = entities.get(entity)
    files = sorted((lake / e.landing_dir).glob("dt=*/*.parquet"))
    if not files:
        return []
    con = duckdb.connect()
    try:
        rel = con.read_parquet([str(f) for f in files], hive_partitioning=True)
        cols = [c for c in rel.columns if not c.startswith("_")]
        sel = ", ".join(f'"{c}"' for c in cols)
        return con.execute(f"SELECT {sel} FROM rel ORDER BY ALL").fetchall()
    finally:
        con.close()


def sum_of(lake: Path, entity: str, expr: str, where: str = "TRUE") -> tuple[int, int]:
    """(rows, SUM(expr)) over every landed partition of ``entity``."""
    e = entities.get(entity)
    files = sorted((lake / e.landing_dir).glob("dt=*/*.parquet"))
    if not files:
        return 0, 0
    con = duckdb.connect()
    try:
        rel = con.read_parquet([str(f) for f in files], hive_partitioning=True)  # noqa: F841
        n, s = con.execute(f"SELECT count(*), coalesce(sum({expr}), 0) FROM rel WHERE {where}").fetchone()
        return int(n), int(s)
    finally:
        con.close()


def world_sum(world: Path, entity: str, expr: str, where: str = "TRUE") -> tuple[int, int]:
    """(rows, SUM(expr)) of the world's platform table ``entity`` (the mock serves exactly these)."""
    files = sorted((world / "platform" / entity).rglob("*.parquet"))
    if not files:
        return 0, 0
    con = duckdb.connect()
    try:
        rel = con.read_parquet([str(f) for f in files], hive_partitioning=True)  # noqa: F841
        n, s = con.execute(f"SELECT count(*), coalesce(sum({expr}), 0) FROM rel WHERE {where}").fetchone()
        return int(n), int(s)
    finally:
        con.close()
