"""Write one landed partition: ``<lake>/raw/<source>/<entity>/dt=YYYY-MM-DD/``.

Usage::

    with PartitionWriter("settlement_bill", date(2026, 3, 1), run_id, schema=spec.landed_schema()) as w:
        for batch in batches:
            w.write_records(batch)          # each batch -> one scratch Parquet part (bounded memory)
        w.add_source({"name": "结算账单_1001_20260301.csv", "sha256": "…", "rows": 120})
    # clean exit: de-duplicated by the entity key (last written wins), sorted by key, renamed into place

The partition holds ``part-00000.parquet`` and ``_manifest.json``. Only data lives in the Parquet
(plus ``_source_ref``: file + row or API method + page), so landing the same data twice gives the
same bytes; run-specific facts (run_id, extracted_at, code version, sources) live in the manifest.
A partition with zero records is still written, typed, so downstream readers always resolve.

Without ``with``: call ``commit()`` (returns the manifest) or ``abort()`` (nothing changes); an
exception inside ``with`` aborts. Temporary data never appears as a partition: batches go to a local
scratch folder (``<state>/scratch/landing-<host>-<pid>-*``), and the finished partition is written to a ``.tmp-*`` sibling and renamed into
place (``Storage.temp_dir_for`` / ``replace_dir``); for non-local storage (``s3://``…) the final
Parquet is written locally and uploaded into that sibling.

Values: ``datetime`` (aware; naive ones are read as Asia/Shanghai), ``date``, ``Decimal``, ``int``,
``float``, ``bool``, ``str`` and ``dict``/``list`` (stored as JSON text). Types come from ``schema``
(DuckDB type names) or are inferred from the first non-null Python value of a column; columns
outside a declared schema are landed too and noted in the manifest's ``drift``.

Memory: Python holds one batch; the final de-duplication and sort run in a single-threaded scratch
DuckDB limited to 512 MB that spills to a folder of this process under ``<state>/scratch/``.
Scratch (batches, spills) lives in ``<state>/scratch/`` (``landing.scratch``), never the system temp
folder; what a killed process leaves there is swept by the next writer on that machine. Rows whose key has a NULL are never
merged with each other.
"""

from __future__ import annotations

import json
import logging
import os
import posixpath
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb

import douyin_etl
from douyin_etl import config
from douyin_etl.entities import get as get_entity
from douyin_etl.landing import blocked, scratch
from douyin_etl.sqlrow import one_row
from douyin_etl.storage import Storage
from douyin_etl.timeutil import utc_now

log = logging.getLogger(__name__)

PART_NAME = "part-00000.parquet"
MANIFEST_NAME = "_manifest.json"
SOURCE_REF = "_source_ref"
_SEQ = "_seq"  # scratch-only ordering column: batch × row, used to keep the last written version
_BATCH_STRIDE = 1_000_000_000


class LandingError(RuntimeError):
    pass


@lru_cache(maxsize=1)
def code_version() -> dict[str, str | None]:
    """Package version and git commit of the code doing the landing (commit None outside a checkout)."""
    commit: str | None = None
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=config.PROJECT_DIR, capture_output=True, text=True, timeout=5, check=False
        )
        if out.returncode == 0:
            commit = out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        commit = None
    return {"version": douyin_etl.__version__, "git_commit": commit}


_SCRATCH_DB: tuple[int, duckdb.DuckDBPyConnection] | None = None


def _scratch_db() -> duckdb.DuckDBPyConnection:
    """One in-memory DuckDB per process (opening one costs ~30 ms; a cursor of it ~0.3 ms).

    Writers take their own ``cursor()`` (thread-safe). Re-created after a fork. Spills, if any,
    go to this process's folder under ``<state>/scratch/`` (swept once the process is gone).
    Single-threaded on purpose: deterministic Parquet bytes, and a small footprint beside the
    other tasks of a worker.
    """
    global _SCRATCH_DB
    if _SCRATCH_DB is None or _SCRATCH_DB[0] != os.getpid():
        con = duckdb.connect()
        spill = scratch.process_dir("duckdb")
        con.execute(f"SET temp_directory={_lit(str(spill))}")
        con.execute("SET threads=1")  # one writer thread: the same rows give the same row groups and bytes
        con.execute("SET memory_limit='512MB'")  # the final dedup + sort spills beyond this
        _SCRATCH_DB = (os.getpid(), con)
    return _SCRATCH_DB[1]


def _infer_type(value: Any) -> str:
    if isinstance(value, bool):
        return "BOOLEAN"
    if isinstance(value, int):
        return "BIGINT"
    if isinstance(value, float):
        return "DOUBLE"
    if isinstance(value, Decimal):
        return "DECIMAL(38,6)"
    if isinstance(value, datetime):
        return "TIMESTAMPTZ"
    if isinstance(value, date):
        return "DATE"
    return "VARCHAR"


def _text(value: Any) -> str | None:
    """The text form of a value that DuckDB casts back to its column type exactly."""
    if value is None or type(value) is str:
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class PartitionWriter:
    """Land one entity × business day atomically. See the module docstring."""

    def __init__(
        self, entity: str, dt: date, run_id: str, storage: Storage | None = None, schema: dict[str, str] | None = None
    ) -> None:
        self.entity = get_entity(entity)
        self.dt = dt
        self.run_id = run_id
        self.storage = storage or Storage.lake()
        self.schema: dict[str, str] = dict(schema or {})
        self._declared = set(self.schema)
        self.sources: list[dict[str, Any]] = []
        self.drift: list[str] = []
        self.manifest: dict[str, Any] | None = None
        self._scratch_path: Path | None = None  # local scratch folder, made on first use
        self._parts: list[Path] = []
        self._in_parts: set[str] = set()  # columns present in at least one scratch part
        self._untyped: dict[str, None] = {}  # columns seen only with null values so far
        self._rows_written = 0
        self._con: duckdb.DuckDBPyConnection | None = None
        self._done = False

    # -- paths -------------------------------------------------------------------------------
    @property
    def final_dir(self) -> str:
        return self.storage.path(self.entity.landing_dir, f"dt={self.dt.isoformat()}")

    # -- context manager -----------------------------------------------------------------------
    def __enter__(self) -> PartitionWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            if not self._done:
                self.commit()
        else:
            self.abort()

    # -- writing -----------------------------------------------------------------------------
    def add_source(self, source: dict[str, Any]) -> None:
        """Record one request or file (name, sha256, rows, …) in the manifest."""
        self._check_open()
        self.sources.append(dict(source))

    def add_drift(self, note: str) -> None:
        """Record a schema-drift note (extra/missing/renamed columns) in the manifest."""
        self._check_open()
        if note not in self.drift:
            self.drift.append(note)

    def write_records(self, records: list[dict[str, Any]]) -> None:
        """Stream one batch to a scratch Parquet part; memory holds one batch at a time."""
        self._check_open()
        if not records:
            return
        known = self.schema.keys()
        for rec in records:
            if rec.keys() <= known:
                continue
            for name, value in rec.items():
                if name not in self.schema:
                    if value is None:
                        self._untyped.setdefault(name, None)
                        continue
                    self.schema[name] = _infer_type(value)
                    if self._declared and name != SOURCE_REF:
                        self.add_drift(f"column {name!r} not in the declared schema; landed as {self.schema[name]}")
        columns = self._columns()
        batch_no = len(self._parts)
        ndjson = self._scratch() / f"batch-{batch_no:05d}.ndjson"
        seq0 = batch_no * _BATCH_STRIDE
        dumps = json.JSONEncoder(ensure_ascii=False).encode
        text = _text
        with ndjson.open("w", encoding="utf-8") as fh:  # one JSON array of texts per row, then _seq
            for i, rec in enumerate(records):
                get = rec.get
                row = [
                    v if v is None or (t := type(v)) is str else (str(v) if t is int else text(v))
                    for v in map(get, columns)
                ]
                row.append(str(seq0 + i))
                fh.write(dumps(row))
                fh.write("\n")
        part = self._scratch() / f"part-{batch_no:05d}.parquet"
        select = ", ".join(
            f"CAST(j[{j + 1}] AS {self.schema.get(name, 'VARCHAR')}) AS {_q(name)}" for j, name in enumerate(columns)
        )
        con = self._connection()
        try:
            con.execute(
                f"COPY (SELECT {select}, CAST(j[{len(columns) + 1}] AS BIGINT) AS {_SEQ} FROM read_json("
                f"{_lit(str(ndjson))}, format='newline_delimited', records='false', columns={{'j': 'VARCHAR[]'}})) "
                f"TO {_lit(str(part))} (FORMAT parquet)"
            )
        except duckdb.Error as exc:
            raise LandingError(
                f"{self.entity.name} dt={self.dt}: a batch does not fit the declared column types ({exc}); "
                "fix the extractor's conversion or the schema"
            ) from exc
        finally:
            ndjson.unlink(missing_ok=True)
        self._parts.append(part)
        self._in_parts.update(columns)
        self._rows_written += len(records)

    def write_parquet(self, files: Sequence[str | Path], expressions: Mapping[str, str] | None = None) -> int:
        """Land one batch given as Parquet files (bulk loads, e.g. a simulated history: no Python rows).

        Needs a declared ``schema``: every column is cast to it; ``expressions`` replace a column's
        source expression (DuckDB SQL over the files' columns, e.g. a unit conversion). A declared
        column the files lack lands as NULL and is noted in the manifest's drift. Returns the rows read.
        """
        self._check_open()
        if not self._declared:
            raise LandingError(f"{self.entity.name} dt={self.dt}: write_parquet needs the writer's declared schema")
        if not files:
            return 0
        exprs = dict(expressions or {})
        listing = "[" + ", ".join(_lit(str(f)) for f in files) + "]"
        src = f"read_parquet({listing}, union_by_name=true, hive_partitioning=false)"
        con = self._connection()
        present = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()}
        columns = self._columns()
        select = []
        for name in columns:
            expr = exprs.get(name)
            if expr is None:
                if name not in present:
                    if name != SOURCE_REF:
                        self.add_drift(f"column {name!r} missing from the source files; landed as NULL")
                    expr = "NULL"
                else:
                    expr = _q(name)
            select.append(f"CAST({expr} AS {self.schema.get(name, 'VARCHAR')}) AS {_q(name)}")
        batch_no = len(self._parts)
        part = self._scratch() / f"part-{batch_no:05d}.parquet"
        try:
            con.execute(
                f"COPY (SELECT {', '.join(select)}, {batch_no * _BATCH_STRIDE} + row_number() OVER () AS {_SEQ} "
                f"FROM {src}) TO {_lit(str(part))} (FORMAT parquet)"
            )
        except duckdb.Error as exc:
            raise LandingError(
                f"{self.entity.name} dt={self.dt}: {files[0]} … do not fit the declared column "
                f"types ({exc}); fix the files or the schema"
            ) from exc
        (rows,) = one_row(con, f"SELECT count(*) FROM read_parquet({_lit(str(part))})")
        self._parts.append(part)
        self._in_parts.update(columns)
        self._rows_written += int(rows)
        return int(rows)

    def scratch_connection(self) -> duckdb.DuckDBPyConnection:
        """A new connection to the process's scratch DuckDB (single-threaded, spills locally) for preparing
        a batch; the caller closes it."""
        self._check_open()
        return _scratch_db().cursor()

    def scratch_file(self, stem: str) -> Path:
        """A new path in the writer's local scratch folder (removed with it), e.g. for ``write_parquet``."""
        self._check_open()
        return self._scratch() / f"{stem}-{len(self._parts):05d}.parquet"

    # -- finishing -----------------------------------------------------------------------------
    def commit(self) -> dict[str, Any]:
        """De-duplicate, sort, write the final Parquet and manifest, and rename into place."""
        self._check_open()
        storage_tmp: str | None = None
        try:
            columns = self._final_columns()
            local_out = self._scratch() / PART_NAME
            con = self._connection()
            rows, dupes = self._write_final(con, columns, local_out)
            described = con.execute(
                f"DESCRIBE SELECT * FROM read_parquet({_lit(str(local_out))}, hive_partitioning=false)"
            ).fetchall()
            pmin, pmax = self._partition_range(con, local_out, columns)
            manifest = {
                "entity": self.entity.name,
                "source": self.entity.source,
                "dt": self.dt.isoformat(),
                "run_id": self.run_id,
                "key": list(self.entity.key),
                "rows": rows,
                "rows_written": self._rows_written,
                "duplicates_removed": dupes,
                "partition_field": self.entity.partition_field,
                "partition_min": pmin,
                "partition_max": pmax,
                "sources": self.sources,
                "extracted_at": utc_now().isoformat(),
                "code_version": code_version(),
                "columns": [{"name": r[0], "type": r[1]} for r in described],
                "drift": self.drift,
            }
            storage_tmp = self.storage.temp_dir_for(self.final_dir)
            target = posixpath.join(storage_tmp, PART_NAME)
            if self.storage.is_local:
                shutil.move(str(local_out), target)
            else:
                self.storage.fs.put_file(str(local_out), target)  # one upload, no "is it a folder?" LIST
            self.storage.write_json(posixpath.join(storage_tmp, MANIFEST_NAME), manifest)
            self.storage.replace_dir(storage_tmp, self.final_dir)
            storage_tmp = None
            self.manifest = manifest
            blocked.clear(self.entity.name, self.dt, self.storage, run_id=self.run_id)  # a new partition: re-gated
            log.info(
                "landed %s dt=%s: %d rows (%d duplicates removed) -> %s",
                self.entity.name,
                self.dt,
                rows,
                dupes,
                self.final_dir,
            )
            return manifest
        finally:
            if storage_tmp is not None:
                self.storage.remove(storage_tmp)
            self._cleanup()

    def abort(self) -> None:
        """Drop everything written so far; the lake is unchanged."""
        if not self._done:
            log.warning(
                "aborted landing %s dt=%s (run %s); previous partition left as it was",
                self.entity.name,
                self.dt,
                self.run_id,
            )
            self._cleanup()

    # -- internals -----------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._done:
            raise LandingError(f"writer for {self.entity.name} dt={self.dt} is already committed or aborted")

    def _cleanup(self) -> None:
        self._done = True
        if self._con is not None:
            self._con.close()
            self._con = None
        if self._scratch_path is not None:
            shutil.rmtree(self._scratch_path, ignore_errors=True)
            self._scratch_path = None

    def _scratch(self) -> Path:
        if self._scratch_path is None:
            self._scratch_path = scratch.make_scratch("landing")
        return self._scratch_path

    def _columns(self) -> list[str]:
        cols = [c for c in self.schema if c != SOURCE_REF]
        return cols + [SOURCE_REF]

    def _final_columns(self) -> list[str]:
        """Declared/inferred columns, then columns only ever seen empty (VARCHAR), then ``_source_ref``."""
        for name in self._untyped:
            if name not in self.schema and name != SOURCE_REF:
                self.schema[name] = "VARCHAR"
        return self._columns()

    def _connection(self) -> duckdb.DuckDBPyConnection:
        """A cursor of the process's scratch DuckDB per writer (opened lazily, closed on commit/abort)."""
        if self._con is None:
            con = _scratch_db().cursor()
            con.execute(f"SET TimeZone={_lit(config.BUSINESS_TZ)}")
            self._con = con
        return self._con

    def _write_final(self, con: duckdb.DuckDBPyConnection, columns: list[str], out: Path) -> tuple[int, int]:
        select_cols = ", ".join(_q(c) for c in columns)
        if not self._parts:
            typed = ", ".join(f"CAST(NULL AS {self.schema.get(c, 'VARCHAR')}) AS {_q(c)}" for c in columns)
            con.execute(f"COPY (SELECT {typed} WHERE false) TO {_lit(str(out))} (FORMAT parquet, COMPRESSION zstd)")
            return 0, 0
        parts = "[" + ", ".join(_lit(str(p)) for p in self._parts) + "]"
        # Parts written before a column first appeared lack it: cast the union to the final types.
        casted = ", ".join(
            f"CAST({_q(c) if c in self._in_parts else 'NULL'} AS {self.schema.get(c, 'VARCHAR')}) AS {_q(c)}"
            for c in columns
        )
        keys = [k for k in self.entity.key if k in columns]
        missing = [k for k in self.entity.key if k not in columns]
        if missing:
            raise LandingError(
                f"{self.entity.name} dt={self.dt}: records lack key column(s) {missing}; "
                f"every record must carry the entity key {list(self.entity.key)}"
            )
        any_null = " OR ".join(f"{_q(k)} IS NULL" for k in keys)
        partition_by = ", ".join(_q(k) for k in keys) + f", CASE WHEN {any_null} THEN {_SEQ} END"
        order_by = ", ".join(f"{_q(k)} NULLS LAST" for k in keys) + f", {_q(SOURCE_REF)} NULLS LAST"
        con.execute(
            f"CREATE TEMP VIEW parts AS SELECT {casted}, {_SEQ} FROM read_parquet({parts}, union_by_name=true, hive_partitioning=false)"
        )
        con.execute(
            f"COPY (SELECT {select_cols} FROM (SELECT *, row_number() OVER (PARTITION BY {partition_by} "
            f"ORDER BY {_SEQ} DESC) AS _rn FROM parts) WHERE _rn = 1 ORDER BY {order_by}) "
            f"TO {_lit(str(out))} (FORMAT parquet, COMPRESSION zstd)"
        )
        (rows,) = one_row(con, f"SELECT count(*) FROM read_parquet({_lit(str(out))}, hive_partitioning=false)")
        return int(rows), self._rows_written - int(rows)

    def _partition_range(self, con: duckdb.DuckDBPyConnection, out: Path, columns: list[str]) -> tuple[Any, Any]:
        field = self.entity.partition_field
        if not field or field not in columns:
            return None, None
        lo, hi = one_row(
            con,
            f"SELECT min({_q(field)}), max({_q(field)}) FROM read_parquet({_lit(str(out))}, hive_partitioning=false)",
        )
        return _text(lo), _text(hi)


__all__ = ["PartitionWriter", "LandingError", "code_version", "PART_NAME", "MANIFEST_NAME", "SOURCE_REF"]
