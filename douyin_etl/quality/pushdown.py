"""Which rows a landing expectation could fail on, as DuckDB SQL: the rows GX has to see.

The landing gate lets DuckDB do the scanning and GX the judging. For each row expectation of a
landing suite this module gives

- ``candidates``: a SQL predicate true for (at least) every row the expectation can find unexpected —
  ``col IS NULL`` for not-null, ``col < min OR col > max`` for between, ``col NOT IN (…)`` for a value
  set, "its key occurs more than once in the partition" for uniqueness — or ``None`` when the
  expectation has no such translation (another type, other kwargs, a column type the comparison
  would not mean the same on): then every row is a candidate and GX sees every row, as before;
- ``missing``: the SQL of a row whose value GX counts as missing (NULL, or NaN in a float column),
  so that DuckDB counts element and missing values over *all* rows while GX only sees candidates.

A predicate may be wider than GX's rule (a candidate that passes costs only GX's time), never
narrower: GX's verdict on the candidate rows is its verdict on the whole partition. Rows whose value
is missing are never candidates of a between/in-set check (GX skips them there too).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

INTEGER_TYPES = {
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "UHUGEINT",
}
FLOAT_TYPES = {"FLOAT", "DOUBLE", "REAL"}
ROW_COUNT = "expect_table_row_count_to_be_between"


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _family(ctype: str | None) -> str | None:
    if ctype is None:
        return None
    t = ctype.upper()
    if t in INTEGER_TYPES:
        return "int"
    if t in FLOAT_TYPES:
        return "float"
    if t.startswith("DECIMAL") or t.startswith("NUMERIC"):
        return "decimal"
    if t == "VARCHAR" or t.startswith("VARCHAR("):
        return "str"
    return None


def missing_sql(column: str, ctype: str | None) -> str:
    """A row whose ``column`` pandas would read as missing (``isna``): NULL, or NaN in a float column."""
    col = quote(column)
    return f"({col} IS NULL OR isnan({col}))" if _family(ctype) == "float" else f"({col} IS NULL)"


def _number(value: Any, parameters: dict[str, Any]) -> tuple[bool, Any]:
    """(ok, value) of a bound: a number, None, or a ``$PARAMETER`` resolving to one."""
    if isinstance(value, dict) and "$PARAMETER" in value:
        value = parameters.get(value["$PARAMETER"])
    if value is None:
        return True, None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False, None
    return True, value


def _literal(value: Any) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)


@dataclass(frozen=True)
class Pushdown:
    """One row expectation in SQL: its candidate rows (None: every row) and its missing values (None: none).

    ``unique``: the columns of a uniqueness check, whose candidates (``candidates`` is then a window over
    the partition) are counted by a GROUP BY instead.
    """

    candidates: str | None
    missing: str | None
    unique: tuple[str, ...] = ()


def pushdown(config: dict[str, Any], types: dict[str, str], parameters: dict[str, Any]) -> Pushdown:
    """The SQL of one (per-partition) row expectation over a relation whose column types are ``types``."""
    kind, kwargs = config["type"], dict(config.get("kwargs", {}))
    kwargs.pop("mostly", None)  # tolerance changes the verdict on the counts, not which rows are unexpected
    if kind == ROW_COUNT:
        return Pushdown("FALSE", None)
    if kind == "expect_compound_columns_to_be_unique":
        cols = kwargs.pop("column_list", None)
        if kwargs or not cols or any(c not in types for c in cols):
            return Pushdown(None, None)
        return Pushdown(f"(count(*) OVER (PARTITION BY {', '.join(quote(c) for c in cols)}) > 1)", None, tuple(cols))
    column = kwargs.pop("column", None)
    if column is None or column not in types:
        return Pushdown(None, None)  # GX says what is wrong (e.g. the column is missing) on the rows it sees
    ctype, col = types[column], quote(column)
    missing = missing_sql(column, ctype)
    if kind == "expect_column_values_to_not_be_null":
        return Pushdown(None if kwargs else missing, None)
    family = _family(ctype)
    if kind == "expect_column_values_to_be_between":
        ok_lo, lo = _number(kwargs.pop("min_value", None), parameters)
        ok_hi, hi = _number(kwargs.pop("max_value", None), parameters)
        strict_lo, strict_hi = bool(kwargs.pop("strict_min", False)), bool(kwargs.pop("strict_max", False))
        if kwargs or not (ok_lo and ok_hi) or (lo is None and hi is None) or family not in ("int", "float", "decimal"):
            return Pushdown(None, missing)
        value = col if family == "int" else f"CAST({col} AS DOUBLE)"  # pandas compares DECIMAL as float64
        out = []
        if lo is not None:
            out.append(f"{value} {'<=' if strict_lo else '<'} {_literal(lo)}")
        if hi is not None:
            out.append(f"{value} {'>=' if strict_hi else '>'} {_literal(hi)}")
        return Pushdown(f"(NOT {missing} AND ({' OR '.join(out)}))", missing)
    if kind == "expect_column_values_to_be_in_set":
        values = kwargs.pop("value_set", None)
        if kwargs or not isinstance(values, list):
            return Pushdown(None, missing)
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        text = all(isinstance(v, str) for v in values)
        if not ((family in ("int", "float", "decimal") and numeric) or (family == "str" and text)):
            return Pushdown(None, missing)
        if not values:
            return Pushdown(f"(NOT {missing})", missing)
        value = f"CAST({col} AS DOUBLE)" if family == "decimal" else col
        return Pushdown(f"(NOT {missing} AND {value} NOT IN ({', '.join(_literal(v) for v in values)}))", missing)
    return Pushdown(None, missing)


def any_of(predicates: list[str | None]) -> str:
    """The candidate rows of a whole suite: rows any expectation may fail on (every row if one has no SQL)."""
    if any(p is None for p in predicates):
        return "TRUE"
    real = [p for p in predicates if p and p != "FALSE"]
    return " OR ".join(real) if real else "FALSE"
