"""Read-only SQL on the published warehouse (what `douyin-etl query` runs).

``connect_read_only`` is the one way readers open the published warehouse (query, status, exports, the
dashboard): a fresh in-memory DuckDB session that ATTACHes the published file READ_ONLY (it never takes
the writer's lock), then turns external access off and locks the configuration. SQL in that session can
read the warehouse's tables and nothing else: no ``COPY … TO`` a file, no ``read_csv``/``read_parquet``
of any file, no ``ATTACH`` of another database, no ``INSTALL``/``LOAD`` of an extension from disk, and
no ``SET`` that would give any of it back. A caller that must write files (exports) names one directory
(``write_dir``); DuckDB then allows files under that directory only.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TextIO

import duckdb

from douyin_etl import config
from douyin_etl.errors import MissingInput, UsageError
from douyin_etl.sqlrow import one_row


class WarehouseMissing(MissingInput):
    """Nothing is published at the warehouse path yet."""


class QueryError(UsageError):
    """The SQL of ``douyin-etl query`` failed (syntax, unknown table, a refused file access …)."""


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def catalog_name(path: Path) -> str:
    """The catalog name a warehouse file gets (its stem, as ``duckdb.connect(path)`` would name it)."""
    return re.sub(r"\W", "_", Path(path).stem) or "warehouse"


def connect_read_only(
    path: Path | None = None,
    *,
    alias: str | None = None,
    write_dir: Path | None = None,
    settings: dict[str, str] | None = None,
) -> duckdb.DuckDBPyConnection:
    """A hardened read-only session on the published warehouse (see the module docstring).

    The warehouse is attached as ``alias`` (default: the file's stem, e.g. ``douyin``) and is the
    session's default catalog, so ``sales.sales_daily`` resolves. ``write_dir``: the one directory
    whose files the session may write and read back (exports); None = no file access at all.
    ``settings``: DuckDB settings to SET before the configuration is locked (e.g. ``TimeZone``).
    """
    path = Path(path or config.warehouse_path())
    if not path.exists():
        raise WarehouseMissing(
            f"no published warehouse at {path}; run `make demo` or `douyin-etl run --start … --end …` first "
            "(or set DOUYIN_WAREHOUSE)"
        )
    alias = alias or catalog_name(path)
    # A new in-memory instance per call (never DuckDB's per-file instance cache): the settings below are
    # global to an instance and must not leak into, or be inherited from, other connections of the process.
    con = duckdb.connect(":memory:", config={"autoload_known_extensions": False, "autoinstall_known_extensions": False})
    try:
        con.execute(f'ATTACH {_lit(str(path))} AS "{alias}" (READ_ONLY)')
        con.execute(f'USE "{alias}"')
        for name, value in (settings or {}).items():
            con.execute(f"SET {name} = {_lit(str(value))}")
        if write_dir is not None:
            Path(write_dir).mkdir(parents=True, exist_ok=True)
            con.execute(f"SET allowed_directories = [{_lit(str(Path(write_dir).resolve()) + '/')}]")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con


def run_query(sql: str, path: Path | None = None) -> tuple[list[str], list[tuple]]:
    """Columns and rows of ``sql`` on the hardened session; raises ``QueryError`` with DuckDB's message."""
    con = connect_read_only(path)
    try:
        try:
            cur = con.execute(sql)
            columns = [d[0] for d in cur.description] if cur.description else []
            return columns, cur.fetchall()
        except duckdb.Error as exc:
            raise QueryError(_explain(exc)) from None
    finally:
        con.close()


FORMATS = ("table", "csv", "json", "parquet")


@dataclass
class QueryOutput:
    """What ``write_query`` wrote: the rows of the result and the file (None: the text stream)."""

    rows: int | None  # None: a table (DuckDB's renderer counts the rows it leaves out itself)
    path: Path | None = None


def write_query(
    sql: str,
    fmt: str = "table",
    *,
    output: Path | None = None,
    stream: TextIO | None = None,
    max_rows: int = 100,
    width: int | None = None,
    path: Path | None = None,
) -> QueryOutput:
    """Run ``sql`` on the hardened session and write its result as ``fmt`` (what ``douyin-etl query`` does).

    ``table`` is DuckDB's own box renderer (display widths of Chinese text included; at most ``max_rows``
    rows, ``width`` columns of text); ``csv`` and ``json`` carry every row; ``parquet`` keeps DuckDB's
    types (DECIMAL money stays exact) and needs ``output``. With ``output`` the result goes to that
    file (written beside it, then renamed: a reader never sees half a file), else to ``stream``
    (default: standard output). Raises ``QueryError`` (one line) for SQL DuckDB refuses.
    """
    if fmt not in FORMATS:
        raise UsageError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if fmt == "parquet" and output is None:
        raise UsageError("--format parquet writes a file: give --output FILE.parquet")
    if output is not None:
        output = Path(output)
        if output.is_dir():
            raise UsageError(f"--output {output} is a directory; give a file name, e.g. {output / ('result.' + fmt)}")
        if not output.parent.is_dir():
            raise UsageError(f"--output {output}: the directory {output.parent} does not exist; create it first")
    if fmt == "parquet":
        return _write_parquet(sql, Path(output), path)  # type: ignore[arg-type]
    con = connect_read_only(path)
    try:
        try:
            rel = con.sql(sql)
            if fmt == "table":
                text, rows = _table(rel, max_rows, width)
            else:
                text, rows = _text(rel, fmt)
        except duckdb.Error as exc:
            raise QueryError(_explain(exc)) from None
    finally:
        con.close()
    if output is not None:
        _atomic_write_text(output, text)
    else:
        (stream or sys.stdout).write(text)
    return QueryOutput(rows, output)


def _table(rel: duckdb.DuckDBPyRelation | None, max_rows: int, width: int | None) -> tuple[str, int | None]:
    """DuckDB's box rendering of ``rel``: it measures display width (抖音 takes four columns, not two),
    right-aligns numbers, names each column's type, and says how many rows it left out."""
    if rel is None:  # a statement without a result
        return "", 0
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):  # DuckDB prints through Python's sys.stdout
        rel.show(max_rows=max_rows, max_width=width, null_value="NULL")
    return buf.getvalue(), None


def _text(rel: duckdb.DuckDBPyRelation | None, fmt: str) -> tuple[str, int]:
    columns = list(rel.columns) if rel is not None else []
    rows = rel.fetchall() if rel is not None else []
    if fmt == "json":
        text = json.dumps([{c: _plain(v) for c, v in zip(columns, r)} for r in rows], ensure_ascii=False, indent=1)
        return text + "\n", len(rows)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    w.writerows([[_plain(v) for v in r] for r in rows])
    return buf.getvalue(), len(rows)


def _write_parquet(sql: str, output: Path, path: Path | None) -> QueryOutput:
    """``sql`` to ``output`` as Parquet: the session may write one private, empty directory beside it
    (nothing else: no other file can be read or overwritten), then the file is renamed into place."""
    private = Path(tempfile.mkdtemp(prefix=".douyin-query-", dir=output.parent))
    try:
        con = connect_read_only(path, write_dir=private)
        try:
            try:
                rel = con.sql(sql)
                if rel is None:
                    raise QueryError("this statement has no result to write; give a SELECT (or SHOW, DESCRIBE …)")
                tmp = private / "result.parquet"
                rel.write_parquet(str(tmp))
                rows = int(one_row(con, "SELECT count(*) FROM read_parquet(?)", [str(tmp)])[0])
            except duckdb.Error as exc:
                raise QueryError(_explain(exc)) from None
        finally:
            con.close()
        os.replace(tmp, output)
    finally:
        shutil.rmtree(private, ignore_errors=True)
    return QueryOutput(rows, output)


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _explain(exc: duckdb.Error) -> str:
    """One line: DuckDB's message plus what to do next."""
    lines = []
    for line in str(exc).splitlines():
        if line.startswith("LINE "):  # the caret drawing of the position: not for one line
            break
        if line.strip():
            lines.append(line.strip())
    message = " ".join(lines)
    if (
        isinstance(exc, duckdb.PermissionException)
        or "configuration has been locked" in message
        or "read-only mode" in message
    ):
        hint = (
            "`douyin-etl query` is read-only and reads only the published marts: no file reads or writes, "
            "ATTACH, INSTALL/LOAD or SET; use `douyin-etl export` for files"
        )
    elif isinstance(exc, duckdb.CatalogException):
        hint = (
            'list the tables with `douyin-etl query "SHOW ALL TABLES"`; the marts are described in '
            "docs/analyst-guide.md"
        )
    else:
        hint = "check the SQL (DuckDB dialect); examples are in docs/analyst-guide.md"
    return f"{message} — {hint}"


def _plain(v):
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, (date, datetime)):
        return v.isoformat()
    return v
