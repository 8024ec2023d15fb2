"""Compare the marts of two DuckDB warehouses, table by table and row for row (the scale suite's yardstick).

``compare_marts(left, right)`` -> ``{"schema.table": MartDiff}``. Rows are compared with ``EXCEPT ALL`` both
ways on every column, exactly: money is DECIMAL yuan / BIGINT fen, and DOUBLE ratios and averages are
computed from exact integer sums (``mean_exact``, ``stddev_samp_exact``), so two builds of the same
data are bit-identical. ``round_doubles=9`` rounds DOUBLE/FLOAT columns first (for engines whose
floating-point functions may differ, not for two DuckDB builds).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

MART_SCHEMAS = ("sales", "finance", "inventory", "performance")


@dataclass(frozen=True)
class MartDiff:
    left_rows: int
    right_rows: int
    only_left: int
    only_right: int

    @property
    def equal(self) -> bool:
        return self.left_rows == self.right_rows and self.only_left == self.only_right == 0


def mart_tables(db: Path) -> list[str]:
    """``schema.table`` of every mart table in ``db``, sorted."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables WHERE "
            f"table_type = 'BASE TABLE' AND table_schema IN {MART_SCHEMAS} ORDER BY 1"
        ).fetchall()
    finally:
        con.close()
    return [r[0] for r in rows]


def _columns(con: duckdb.DuckDBPyConnection, table: str, round_doubles: int | None = None) -> str:
    schema, name = table.split(".")
    rows = con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = 'l' "
        "AND schema_name = ? AND table_name = ? ORDER BY column_index",
        [schema, name],
    ).fetchall()
    return ", ".join(
        f'round("{c}", {round_doubles})' if round_doubles is not None and t in ("DOUBLE", "FLOAT") else f'"{c}"'
        for c, t in rows
    )


def compare_marts(left: Path, right: Path, *, round_doubles: int | None = None) -> dict[str, MartDiff]:
    """Every mart table of ``left`` against the same table in ``right`` (which must have the same tables)."""
    tables = mart_tables(left)
    assert tables == mart_tables(right), f"different mart tables: {sorted(set(tables) ^ set(mart_tables(right)))}"
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{left}' AS l (READ_ONLY)")
        con.execute(f"ATTACH '{right}' AS r (READ_ONLY)")
        out = {}
        for t in tables:
            cols = _columns(con, t, round_doubles)
            count = [con.execute(f"SELECT count(*) FROM {db}.{t}").fetchone()[0] for db in ("l", "r")]
            only = [
                con.execute(
                    f"SELECT count(*) FROM (SELECT {cols} FROM {a}.{t} EXCEPT ALL SELECT {cols} FROM {b}.{t})"
                ).fetchone()[0]
                for a, b in (("l", "r"), ("r", "l"))
            ]
            out[t] = MartDiff(count[0], count[1], only[0], only[1])
        return out
    finally:
        con.close()
