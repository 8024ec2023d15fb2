"""Convert a file's cells column by column in DuckDB: the fast path of ``ingest._ingest_file``.

The row path (``ingest._FileContext.record``) converts one cell at a time in Python, ~25 µs a row.
Here the mapped cells of a whole file go to DuckDB as a table of texts (XLSX numbers and dates as the
text a CSV would hold, ``xlsx_text``), and one SQL statement converts every column by its ``ctype``
(``convert.py``'s rules, written as SQL) and says, per row, whether it converted. Only the *plain*
forms are converted in SQL (``-1,234.56``, ``2026-10-28 10:00[:00[.ffffff]]`` with ``-``, ``/`` or
``.``, ``20.5%``, ``1.234kg``, the spec's enum words, ids behind ``'``, a tab or ``="…"`` …); for
those the result is the row path's, value for value. A row with any other cell (empty where required,
a typo, ``¥``, full-width digits, an ISO offset, a year before 1992 …) is *flagged*: the row path
judges it. Flagged rows the row path finds bad are quarantined exactly as it would; a flagged row it
finds good means the file holds a form SQL does not read, and the whole file goes to the row path
(correct, only slower); so does a file with a key twice with other values. The manifest says which
path converted each file (``sources[].conversion``: ``columnar`` or ``rows``). Files with fewer than
``MIN_ROWS`` data rows go to the row path directly: for them it is the quicker one.

``tests/sources/files/test_columnar.py`` lands every file of a generated world both ways and compares
the partition bytes, the manifests and the quarantine.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from douyin_etl.sources.files.specs import Column

log = logging.getLogger(__name__)

CHUNK_ROWS = 50_000  # rows per batch while reading (bounds the Python lists held at once)
# Files with fewer data rows take the row path (``ingest._ingest_file``): this path has a fixed cost of
# ~35-45 ms a file (the scratch tables, planning the conversion statement, the Parquet part) and saves
# ~12-15 µs a row; measured per file on SF1 and SF100 drops, the two break even at ~3,000-4,000 rows
# (CSV and XLSX alike), and most of a small shop's files have a few hundred.
MIN_ROWS = 4_000

# Python's str.strip() / str.isspace() set, as an RE2 class.
_WS = r"[\pZ\t\n\x0b\f\r\x1c-\x1f\x85]"
_INT = r"-?[0-9]{1,18}"
_YUAN = r"^(-?)([0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.([0-9]{1,2}))?$"
_TS = r"^([0-9]{4})[-/.]([0-9]{1,2})[-/.]([0-9]{1,2})[ T]([0-9]{1,2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,6}))?)?$"
_USUAL_TS = r"[0-9]{4}[-/][0-9]{2}[-/][0-9]{2} [0-9]{2}:[0-9]{2}(:[0-9]{2})?"
_DATE = r"^([0-9]{4})[-/.]([0-9]{1,2})[-/.]([0-9]{1,2})$"
_COMPACT_DATE = r"^([0-9]{4})([0-9]{2})([0-9]{2})$"
_EXCEL_TEXT = r'^="(.*)"$'  # ="0123" (Excel text protection)
_APOSTROPHE = "'"  # a leading apostrophe (Excel text protection)
_BP = r"^(-?)([0-9]{1,7})(?:\.([0-9]{1,2}))?[%％]$"
_GRAMS = r"^(-?)([0-9]{1,15})(?:\.([0-9]{1,3}))?(?:[ \t\n\f\r]*(?:[kK][gG]|公斤|千克))?$"
# Asia/Shanghai has been UTC+08:00 without daylight saving since 1992: a plain local time in these
# years is one instant, written with its offset (earlier or later years go to the row path).
_FIXED_OFFSET_YEARS = (1992, 2099)

FLAG = object()  # an XLSX cell that only the row path converts


_ZERO = "'0'"


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _strip(x: str) -> str:
    return f"regexp_replace({x}, '^{_WS}+|{_WS}+$', '', 'g')"


def _cleaned(raw: str, col: Column) -> str:
    """``ingest``'s cleaning: strip; for non-text columns also the Excel apostrophe and ``="…"``; '' -> NULL.

    A cell that starts and ends with a printable ASCII character (and, in a non-text column, does not
    start with ``'`` or ``=``) is clean as it is: the regular expressions run only for the others."""
    s = _strip(raw)
    last = f"ascii(right({raw}, 1)) BETWEEN 33 AND 126"
    if col.ctype == "str":
        return f"nullif(CASE WHEN ascii({raw}) BETWEEN 33 AND 126 AND {last} THEN {raw} ELSE {s} END, '')"
    plain = f"ascii({raw}) BETWEEN 33 AND 126 AND ascii({raw}) NOT IN (39, 61) AND {last}"
    s2 = _strip(f"ltrim({s}, {_lit(_APOSTROPHE)})")
    inner = _strip(f"regexp_extract({s2}, {_lit(_EXCEL_TEXT)}, 1)")
    unwrapped = f"CASE WHEN regexp_matches({s2}, {_lit(_EXCEL_TEXT)}) THEN {inner} ELSE {s2} END"
    starts = f"left({s}, 1) IN ({_lit(_APOSTROPHE)}, '=')"
    return f"nullif(CASE WHEN {plain} THEN {raw} WHEN {starts} THEN {unwrapped} ELSE {s} END, '')"


def _digits(expr: str) -> str:
    return f"CAST({expr} AS BIGINT)"


def _signed(x: str, scale: int, places: int) -> str:
    """``[-]whole[.frac]`` parts of struct ``x`` (s, w, f) -> an integer in 1/``scale`` units."""
    return (
        f"(CASE WHEN {x}.s = '-' THEN -1 ELSE 1 END) * "
        f"({_digits(f'{x}.w')} * {scale} + {_digits(f'rpad({x}.f, {places}, {_ZERO})')})"
    )


def _stages(col: Column) -> tuple[list[str], str, str]:
    """How SQL converts a cleaned, non-NULL text of ``col``'s ctype: expressions computed one after the other
    (each over ``{x}``, the previous one's result; the first over the text), then (value, converted?) over
    the last. Staged so that a regular expression runs once per cell."""
    ctype = col.ctype
    if ctype in ("id", "str"):
        return [], "{x}", "true"
    if ctype == "int":
        return (
            ["replace(replace({x}, ',', ''), ' ', '')"],
            "TRY_CAST({x} AS BIGINT)",
            f"regexp_full_match({{x}}, '{_INT}')",
        )
    if ctype == "fen":  # once the pattern holds, the text is an exact DECIMAL(18,2)
        digits = "replace({x}, ',', '')"
        ok = f"(regexp_full_match({{x}}, {_lit(_YUAN[1:-1])}) AND length({digits}) <= 19)"
        return [], f"CAST(TRY_CAST({digits} AS DECIMAL(18, 2)) * 100 AS BIGINT)", ok
    if ctype in ("bp", "grams"):
        pattern, scale, places = (_BP, 100, 2) if ctype == "bp" else (_GRAMS, 1000, 3)
        extract = f"regexp_extract({{x}}, '{pattern}', ['s', 'w', 'f'])"
        return [extract], f"CASE WHEN {{x}}.w <> '' THEN {_signed('{x}', scale, places)} END", "{x}.w <> ''"
    if ctype == "ts":
        lo, hi = _FIXED_OFFSET_YEARS
        # The usual shapes (YYYY-MM-DD HH:MM:SS, YYYY/MM/DD HH:MM) are cast as they are (u); others by their parts.
        usual = (
            f"(regexp_full_match({{x}}, {_lit(_USUAL_TS)}) AND left({{x}}, 4) BETWEEN '{lo}' AND '{hi}' "
            "AND substr({x}, 12, 2) <= '23' AND substr({x}, 15, 2) <= '59' AND substr({x}, 18, 2) <= '59')"
        )
        usual_value = "TRY_CAST(replace(left({x}, 10), '/', '-') || substr({x}, 11) || '+08' AS TIMESTAMPTZ)"
        extract = (
            f"CASE WHEN {usual} THEN struct_pack(y := '', mo := '', d := '', h := '', mi := '', s := '', f := '', "
            f"u := {usual_value}) ELSE struct_insert(regexp_extract({{x}}, {_lit(_TS)}, "
            "['y', 'mo', 'd', 'h', 'mi', 's', 'f']), u := NULL::TIMESTAMPTZ) END"
        )
        typed = (
            "struct_pack(y := TRY_CAST({x}.y AS INTEGER), mo := TRY_CAST({x}.mo AS INTEGER), "
            "d := TRY_CAST({x}.d AS INTEGER), h := TRY_CAST({x}.h AS INTEGER), mi := TRY_CAST({x}.mi AS INTEGER), "
            "s := TRY_CAST(coalesce(nullif({x}.s, ''), '0') AS INTEGER), f := rpad({x}.f, 6, '0'), u := {x}.u)"
        )
        parts_ok = (
            f"({{x}}.y BETWEEN {lo} AND {hi} AND {{x}}.h <= 23 AND {{x}}.mi <= 59 AND {{x}}.s <= 59 "
            "AND TRY_CAST(printf('%04d-%02d-%02d', {x}.y, {x}.mo, {x}.d) AS DATE) IS NOT NULL)"
        )
        text = "printf('%04d-%02d-%02d %02d:%02d:%02d.%s+08', {x}.y, {x}.mo, {x}.d, {x}.h, {x}.mi, {x}.s, {x}.f)"
        value = f"CASE WHEN {{x}}.u IS NOT NULL THEN {{x}}.u WHEN {parts_ok} THEN TRY_CAST({text} AS TIMESTAMPTZ) END"
        return [extract, typed], value, f"({{x}}.u IS NOT NULL OR {parts_ok})"
    if ctype == "date":
        extract = (
            f"CASE WHEN regexp_matches({{x}}, '{_DATE}') THEN regexp_extract({{x}}, '{_DATE}', ['y', 'mo', 'd']) "
            f"ELSE regexp_extract({{x}}, '{_COMPACT_DATE}', ['y', 'mo', 'd']) END"
        )
        typed = (
            "struct_pack(y := TRY_CAST({x}.y AS INTEGER), "
            "d := TRY_CAST(printf('%s-%s-%s', {x}.y, {x}.mo, {x}.d) AS DATE))"
        )
        return [extract, typed], "CASE WHEN {x}.y >= 1000 THEN {x}.d END", "({x}.y >= 1000 AND {x}.d IS NOT NULL)"
    if ctype == "enum":
        words: dict[str, str | int] = dict(col.values)
        for canonical in col.values.values():
            words.setdefault(str(canonical), canonical)
        cases = " ".join(f"WHEN {_lit(w)} THEN {_lit(str(c))}" for w, c in words.items())
        return [], f"(CASE {{x}} {cases} END)", f"{{x}} IN ({', '.join(_lit(w) for w in words)})"
    raise ValueError(f"unknown ctype {ctype!r}")


# -- Python side: the cells as text ----------------------------------------------------------------


def xlsx_text(value: Any, ctype: str) -> Any:
    """The text a CSV would hold for an XLSX cell, where the row path gives that text's result; else ``FLAG``."""
    if value is None or type(value) is str:
        return value
    if isinstance(value, bool):
        return FLAG
    if isinstance(value, int):
        return FLAG if ctype == "bp" else str(value)
    if isinstance(value, float):
        if ctype in ("id", "int"):
            return str(int(value)) if value.is_integer() and (ctype == "int" or abs(value) < 2**53) else FLAG
        if ctype in ("str", "enum"):
            return str(int(value)) if value.is_integer() else repr(value)
        return FLAG if ctype == "bp" else repr(value)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            return FLAG
        if ctype in ("ts", "str", "enum"):
            return value.isoformat(sep=" ")
        if ctype == "date" and value.time() == time(0):
            return value.date().isoformat()
        return FLAG
    if isinstance(value, date):
        if ctype == "ts":
            return value.isoformat() + " 00:00:00"
        return value.isoformat() if ctype in ("date", "str", "enum") else FLAG
    return FLAG


@dataclass
class Cells:
    """The mapped cells of a file's data rows as texts, moved into the DuckDB temp table ``_cells`` (text
    columns c0…, row number ``n``, ``pre``: an XLSX cell only the row path converts) every ``CHUNK_ROWS``
    rows: Python holds one chunk, DuckDB the file (spilling beyond its memory limit)."""

    con: duckdb.DuckDBPyConnection
    columns: list[tuple[int, Column]]  # (cell index, spec column)
    width: int  # cells per row the header spans
    xlsx: bool
    aside: list[int] = field(default_factory=list)  # rows that go to the row path whatever their cells
    last_short: bool = False  # the last data row has fewer cells than the header (a truncated CSV)
    _rows: list[list[Any]] = field(default_factory=list)
    _numbers: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        texts = "".join(f"c{j} VARCHAR, " for j in range(len(self.columns)))
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE _cells ({texts}n BIGINT, pre BOOLEAN)")

    def add(self, n: int, cells: list[Any]) -> None:
        width = self.width
        if len(cells) != width:
            if len(cells) < width:
                if not self.xlsx:
                    self.aside.append(n)
                    return
                cells = cells + [None] * (width - len(cells))
            else:
                if any(c is not None and not (isinstance(c, str) and c.strip() == "") for c in cells[width:]):
                    self.aside.append(n)
                    return
                cells = cells[:width]
        self._rows.append(cells)
        self._numbers.append(n)
        if len(self._rows) >= CHUNK_ROWS:
            self._flush()

    def finish(self, last_cells: list[Any] | None) -> None:
        """Flush the rows gathered; ``last_cells``: the file's last data row (a short one means truncated)."""
        self._flush()
        self.last_short = bool(last_cells is not None and not self.xlsx and len(last_cells) < self.width)

    def _flush(self) -> None:
        if not self._rows:
            return
        transposed = list(zip(*self._rows))
        frame: dict[str, Any] = {}
        flagged = np.zeros(len(self._rows), dtype=bool)
        for j, (i, col) in enumerate(self.columns):
            cells: Iterable[Any] = transposed[i]
            if self.xlsx:
                texts = []
                ctype = col.ctype
                for r, c in enumerate(cells):
                    t = c if c is None or type(c) is str else xlsx_text(c, ctype)
                    if t is FLAG:
                        flagged[r] = True
                        t = None
                    texts.append(t)
                cells = texts
            column = np.empty(len(self._rows), dtype=object)
            column[:] = cells
            frame[f"c{j}"] = column
        frame["n"] = np.array(self._numbers, dtype=np.int64)
        frame["pre"] = flagged
        self.con.register("_chunk", pd.DataFrame(frame, copy=False))
        try:
            self.con.execute("INSERT INTO _cells SELECT * FROM _chunk")
        finally:
            self.con.unregister("_chunk")
        self._rows, self._numbers = [], []


@dataclass
class Converted:
    """What SQL made of the cells: the good rows as a Parquet part ordered by row, and what it could not judge."""

    part: Path | None  # None: no good rows
    landed: int
    exact_repeats: int
    flagged: list[int]  # rows for the row path (sorted)
    conflict: bool  # a key twice with other values (the row path reports it)


def convert(
    cells: Cells,
    landed: dict[str, str],
    constants: dict[str, str | None],
    key: tuple[str, ...],
    name: str,
    out: Path,
) -> Converted:
    """Convert ``cells`` (on their connection) into ``out`` (Parquet: every ``landed`` column in order, ``_source_ref`` last).

    ``constants``: columns with one value for the whole file (absent spec columns as NULL, file-name
    groups, ``_extra``); ``key``: the entity key (rows with the same key are compared)."""
    con = cells.con
    try:
        # The cleaned texts (v: kept for the NULL test; x: what the stages work on), then each column's stages.
        plans = [_stages(col) for _, col in cells.columns]
        xs, vs = [_q(f"x{j}") for j in range(len(plans))], [_q(f"v{j}") for j in range(len(plans))]
        first = [f"{_cleaned(_q(f'c{j}'), col)} AS {vs[j]}" for j, (_, col) in enumerate(cells.columns)]
        query = f"SELECT {', '.join(['n', 'pre', *first])} FROM _cells"
        query = f"SELECT *, {', '.join(f'{v} AS {x}' for v, x in zip(vs, xs))} FROM ({query})" if plans else query
        for k in range(max((len(st) for st, _, _ in plans), default=0)):
            staged = [
                (st[k].replace("{x}", xs[j]) if k < len(st) else xs[j]) + f" AS {xs[j]}"
                for j, (st, _, _) in enumerate(plans)
            ]
            query = f"SELECT {', '.join(['n', 'pre', *vs, *staged])} FROM ({query})"
        values, oks = [], ["NOT pre"]
        for j, (_, col) in enumerate(cells.columns):
            v, x = vs[j], xs[j]
            _, value, ok = plans[j]
            values.append(
                f"CAST(CASE WHEN {v} IS NULL THEN NULL ELSE {value.replace('{x}', x)} END AS {landed[col.name]}) AS {_q(col.name)}"
            )
            null_ok = "true" if col.nullable else "false"
            oks.append(f"CASE WHEN {v} IS NULL THEN {null_ok} ELSE coalesce({ok.replace('{x}', x)}, false) END")
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _conv AS SELECT n, {', '.join(values)}, ({' AND '.join(oks)}) AS _ok "
            f"FROM ({query})"
        )
    finally:
        con.execute("DROP TABLE IF EXISTS _cells")
    try:
        flagged = [int(r[0]) for r in con.execute("SELECT n FROM _conv WHERE NOT _ok ORDER BY n").fetchall()]
        mapped = [col.name for _, col in cells.columns]
        # Key columns not in the file are one value for the whole file: the mapped ones decide.
        part_by = ", ".join(_q(k) for k in key if k in mapped) or "true"
        same = " AND ".join(f"{_q(c)} IS NOT DISTINCT FROM first_value({_q(c)}) OVER w" for c in mapped) or "true"
        (dupes, conflicts) = con.execute(
            f"SELECT count(*) FILTER (WHERE rk > 1), count(*) FILTER (WHERE rk > 1 AND NOT same) FROM ("
            f"SELECT row_number() OVER w AS rk, ({same}) AS same FROM _conv WHERE _ok "
            f"WINDOW w AS (PARTITION BY {part_by} ORDER BY n ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW))"
        ).fetchone() or (0, 0)
        repeats, conflict = int(dupes or 0) - int(conflicts or 0), bool(conflicts)
        (good,) = con.execute("SELECT count(*) FROM _conv WHERE _ok").fetchone() or (0,)
        if conflict or not good:
            return Converted(None, int(good), repeats, flagged, conflict)
        select = []
        for col_name, col_type in landed.items():
            if col_name in mapped:
                select.append(_q(col_name))
            else:
                const = constants.get(col_name)
                select.append(f"CAST({'NULL' if const is None else _lit(const)} AS {col_type}) AS {_q(col_name)}")
        select.append(f"{_lit(name + ':')} || n AS _source_ref")
        con.execute(
            f"COPY (SELECT {', '.join(select)} FROM _conv WHERE _ok ORDER BY n) TO {_lit(str(out))} (FORMAT parquet)"
        )
        return Converted(out, int(good), repeats, flagged, conflict=False)
    finally:
        con.execute("DROP TABLE IF EXISTS _conv")


__all__ = ["Cells", "Converted", "convert", "xlsx_text", "FLAG", "CHUNK_ROWS", "MIN_ROWS"]
