"""The one row of a DuckDB query that always returns one (an aggregate, ``current_database()``...).

``con.execute(sql).fetchone()`` is typed ``tuple | None``; ``one_row`` says what the caller knows (the
query returns exactly one row) and fails loudly, naming the query, when it does not.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb


def one_row(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None) -> tuple[Any, ...]:
    """The first row of ``sql``; raises RuntimeError when the query returned none."""
    row = con.execute(sql, params).fetchone() if params is not None else con.execute(sql).fetchone()
    if row is None:
        raise RuntimeError(f"expected one row, got none from: {sql}")
    return row
