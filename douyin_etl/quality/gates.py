"""The two quality gates of a run: landing (the lake partitions a run wrote) and marts (the audit warehouse).

What blocks (the rule finance signed up to)
-------------------------------------------
- Every expectation has a severity in its suite JSON. **error** blocks the run: nothing is
  published, the published warehouse stays byte-identical, the audit copy stays for inspection.
  **warning** is reported (run report, logs) and never blocks.
- Row-level checks do not "tolerate a few bad rows" by default. The gate reads the lake partitions
  that dbt reads, so a bad landed row that did not block would reach the marts, and a finance table
  that is off by one settlement is worse than a late one. (Tolerance for unparseable input lives one
  step earlier, in file ingestion: rows that cannot be parsed are quarantined before landing, under
  ``douyin_etl.landing.quarantine.threshold``.) A reviewed suite may still give a row check a GX
  ``mostly`` (e.g. ``0.999``): then the check blocks only beyond that share, and the rows under it
  are knowingly let through.
- Every row that fails an error-severity row check is written to quarantine
  (``Quarantine(run_id).add``; reason = suite, expectation and what it means; column, value,
  ``_source_ref`` of the file row or API page; the raw record), capped at ``DOUYIN_GATE_QUARANTINE_CAP``
  (10,000) rows per partition, so the fix is concrete: which file, which row, which field.
- A missing partition, an unreadable file or a missing column is an error (the check says which).

Memory stays bounded: a partition is read by DuckDB ordered by the entity key and handed to GX in
chunks of about ``DOUYIN_GATE_CHUNK_ROWS`` (200,000) rows that never split a key, so uniqueness
per chunk adds up to uniqueness per partition, and counts add (``validator.Accumulator``).
"""

from __future__ import annotations

import logging
import os
import posixpath
import re
import time
from datetime import date
from pathlib import Path
from typing import Any, Iterator

import duckdb
import pandas as pd

from douyin_etl import config
from douyin_etl.entities import get as get_entity
from douyin_etl.quality.results import CheckResult, GateResult, jsonable
from douyin_etl.quality.suites import Suite, SuiteError, landing_suite, mart_suites, substitute
from douyin_etl.quality.validator import Accumulator, Validator
from douyin_etl.storage import Storage

log = logging.getLogger(__name__)

__all__ = ["run_landing_gate", "run_mart_gate", "validate_partition", "key_chunks", "reconciliation_counts"]


def chunk_rows() -> int:
    return int(os.environ.get("DOUYIN_GATE_CHUNK_ROWS", "200000"))


def quarantine_cap() -> int:
    return int(os.environ.get("DOUYIN_GATE_QUARANTINE_CAP", "10000"))


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_list(paths: list[str]) -> str:
    return "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"


def key_chunks(result: duckdb.DuckDBPyConnection, key: list[str], max_rows: int) -> Iterator[pd.DataFrame]:
    """Frames of about ``max_rows`` rows from a DuckDB result ORDERED BY ``key``; a key never spans two frames.

    Frames are indexed by row number in key order (0, 1, … across frames). Always yields at least one
    (possibly empty, typed) frame. Rows whose key contains NULL are never grouped (NULL keys fail the
    not-null check anyway). A frame exceeds ``max_rows`` only by the rows sharing its last key.
    """
    max_rows = max(1, max_rows)
    vectors = max(1, max_rows // 2048)
    carry: pd.DataFrame | None = None
    offset = 0

    def emit(frame: pd.DataFrame) -> pd.DataFrame:
        nonlocal offset
        frame = frame.copy()
        frame.index = pd.RangeIndex(offset, offset + len(frame))
        offset += len(frame)
        return frame

    while True:
        piece = result.fetch_df_chunk(vectors)
        if len(piece) == 0:
            break
        for start in range(0, len(piece), max_rows):
            part = piece.iloc[start:start + max_rows]
            buf = part if carry is None else pd.concat([carry, part], ignore_index=True)
            if len(buf) < max_rows:
                carry = buf
                continue
            same = (buf[key] == buf[key].iloc[-1]).fillna(False).all(axis=1).to_numpy()
            tail = 0
            for v in same[::-1]:
                if not v:
                    break
                tail += 1
            if tail == len(buf):
                carry = buf
                continue
            yield emit(buf.iloc[: len(buf) - tail])
            carry = buf.iloc[len(buf) - tail:]
    if carry is not None and len(carry):
        yield emit(carry)
    elif offset == 0:
        yield emit(piece)  # typed, empty


def _partition_files(storage: Storage, entity: str, dt: date) -> tuple[str, list[str]]:
    try:
        from douyin_etl.landing.reader import partition_dir
        pdir = partition_dir(entity, dt, storage)
    except ImportError:  # pragma: no cover - the landing package is part of the product
        pdir = storage.path(get_entity(entity).landing_dir, f"dt={dt.isoformat()}")
    return pdir, storage.glob(posixpath.join(pdir, "*.parquet"))


def _connect(storage: Storage | None = None, db_path: Path | None = None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(db_path) if db_path else ":memory:", read_only=bool(db_path))
    con.execute(f"SET memory_limit = '{os.environ.get('DOUYIN_GATE_MEMORY_LIMIT', '1GB')}'")
    con.execute("SET threads = 2")
    if storage is not None:
        storage.duckdb_register(con)
    return con


def _accumulate(validator: Validator, suite: Suite, batch: str, frames: Iterator[pd.DataFrame],
                parameters: dict[str, Any], example_columns: list[str],
                collect_rows: bool = False, derived_refs: dict[str, list[str]] | None = None
                ) -> tuple[list[Accumulator], int]:
    configs = suite.configs(batch)
    refs = derived_refs or {}
    accs = [Accumulator(c, example_columns=example_columns + refs.get(c.get("kwargs", {}).get("column", ""), []),
                        collect_rows=collect_rows and c.get("meta", {}).get("severity", "error") == "error")
            for c in configs]
    rows = 0
    if not configs:
        for _ in frames:
            pass
        return accs, 0
    gx_suite = suite.gx_suite(batch)
    for df in frames:
        rows += len(df)
        for acc, res in zip(accs, validator.validate(df, gx_suite, parameters)):
            acc.add(res, df, keep_index=quarantine_cap())
    return accs, rows


def _check(suite: Suite, acc: Accumulator, entity: str | None, dt: date | None,
           parameters: dict[str, Any]) -> CheckResult:
    cols = acc.kwargs.get("column") or (",".join(acc.kwargs.get("column_list", [])) or None)
    return CheckResult(
        suite=suite.name, expectation_type=acc.type, severity=acc.meta.get("severity", "error"),
        success=acc.success(parameters), entity=entity, dt=dt.isoformat() if dt else None, column=cols,
        description=acc.meta.get("description"), observed_value=acc.observed_value(),
        element_count=acc.element_count if acc.is_map or acc.observed is not None else None,
        unexpected_count=acc.unexpected_count if acc.is_map else None,
        unexpected_percent=(round(100.0 * acc.unexpected_count / acc.element_count, 4)
                            if acc.is_map and acc.element_count else None),
        examples=acc.examples[:5], exception=acc.exception, batch=acc.meta.get("batch", "rows"))


def _failed(suite: str, what: str, message: str, entity: str | None = None, dt: date | None = None) -> CheckResult:
    return CheckResult(suite=suite, expectation_type=what, severity="error", success=False, entity=entity,
                       dt=dt.isoformat() if dt else None, exception=message)


def validate_partition(validator: Validator, entity: str, dt: date, *, storage: Storage | None = None,
                       max_rows: int | None = None) -> tuple[list[CheckResult], int, dict[int, list[dict]]]:
    """Validate one landed partition against ``expectations/landing/<entity>.json``.

    Returns (checks, rows validated, {row number: quarantine records} for error-severity row failures).
    """
    storage = storage or Storage.lake()
    suite_name = f"landing.{entity}"
    try:
        suite = landing_suite(entity)
    except SuiteError as exc:
        return [_failed(suite_name, "suite", str(exc), entity, dt)], 0, {}
    pdir, files = _partition_files(storage, entity, dt)
    if not files:
        return [_failed(suite.name, "partition_landed",
                        f"no Parquet in {pdir}: the partition was never landed; rerun extraction for {entity} {dt}",
                        entity, dt)], 0, {}
    params = {**suite.parameters(), "dt": dt.isoformat()}
    key = list(suite.meta.get("key") or get_entity(entity).key)
    con = _connect(storage)
    checks: list[CheckResult] = []
    bad_rows: dict[int, list[dict]] = {}
    rows = 0
    try:
        source = f"read_parquet({_sql_list(files)}, union_by_name = true)"
        try:
            described = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
        except duckdb.Error as exc:
            return [_failed(suite.name, "read_partition", f"cannot read {pdir}: {exc}", entity, dt)], 0, {}
        schema_df = pd.DataFrame([{name: ctype for name, ctype, *_ in described}])
        accs, _ = _accumulate(validator, suite, "schema", iter([schema_df]), params, [])
        checks += [_check(suite, a, entity, dt, params) for a in accs]
        present = set(schema_df.columns)
        missing_key = [k for k in key if k not in present]
        if missing_key:
            checks.append(_failed(suite.name, "read_partition",
                                  f"key column(s) {missing_key} missing in {pdir}; rows not validated", entity, dt))
            return checks, 0, {}
        derived = suite.meta.get("derived_columns") or {}
        select = ["*"] + [f"({substitute(sql, {'dt': dt.isoformat()}, suite.name)}) AS {_quote(n)}"
                          for n, sql in derived.items()]
        order = ", ".join(_quote(k) for k in key)
        query = f"SELECT {', '.join(select)} FROM {source} ORDER BY {order}"
        try:
            result = con.execute(query)
        except duckdb.Error as exc:
            checks.append(_failed(suite.name, "read_partition",
                                  f"cannot evaluate {suite.path.name} on {pdir}: {exc}", entity, dt))
            return checks, 0, {}
        example_cols = key + (["_source_ref"] if "_source_ref" in present else [])
        frames = key_chunks(result, key, max_rows or chunk_rows())
        # examples of a derived check also show the columns its expression is made of
        refs = {n: [c for c in schema_df.columns if re.search(rf"\b{re.escape(c)}\b", sql) and c != n]
                for n, sql in derived.items()}
        accs, rows = _accumulate(validator, suite, "rows", frames, params, example_cols, collect_rows=True,
                                 derived_refs=refs)
        for acc in accs:
            check = _check(suite, acc, entity, dt, params)
            checks.append(check)
            for i, row in acc.failing_rows:
                value = row.get(acc.kwargs["column"]) if "column" in acc.kwargs else {
                    c: row.get(c) for c in acc.kwargs.get("column_list", [])}
                bad_rows.setdefault(i, []).append({
                    "reason": f"{suite.name}: {acc.type} failed ({check.description or check.column})",
                    "column": check.column, "value": jsonable(value),
                    "source_ref": row.get("_source_ref") or f"{pdir} (row {i} in key order)",
                    "raw": {k: jsonable(v) for k, v in row.items() if k not in derived},
                })
            check.quarantined = len(acc.failing_rows)
    finally:
        con.close()
    return checks, rows, bad_rows


def _quarantine(run_id: str, entity: str, dt: date, bad_rows: dict[int, list[dict]], storage: Storage) -> int:
    records = [rec for i in sorted(bad_rows) for rec in bad_rows[i]]
    if not records:
        return 0
    from douyin_etl.landing.quarantine import Quarantine

    Quarantine(run_id, storage).add(entity, dt, records)
    return len(bad_rows)


def run_landing_gate(run_id: str, partitions: dict[str, list[date]], *, storage: Storage | None = None,
                     max_rows: int | None = None, quarantine: bool = True) -> GateResult:
    """Validate the landed partitions ``{entity: [dt, …]}`` of a run. See the module docstring for what blocks."""
    started = time.monotonic()
    storage = storage or Storage.lake()
    gate = GateResult("landing", run_id)
    validator = Validator()
    for entity in sorted(partitions):
        for dt in sorted(set(partitions[entity])):
            t0 = time.monotonic()
            checks, rows, bad_rows = validate_partition(validator, entity, dt, storage=storage, max_rows=max_rows)
            gate.checks += checks
            gate.rows_validated += rows
            gate.partitions += 1
            if quarantine and bad_rows:
                gate.quarantined += _quarantine(run_id, entity, dt, bad_rows, storage)
            failed = [c for c in checks if c.blocking]
            log.log(logging.ERROR if failed else logging.INFO, "landing gate %s dt=%s: %d rows, %d checks, %d blocking (%.2f s)",
                    entity, dt, rows, len(checks), len(failed), time.monotonic() - t0)
    gate.seconds = time.monotonic() - started
    (log.info if gate.ok else log.error)("%s", gate.summary())
    return gate


def _relation_exists(con: duckdb.DuckDBPyConnection, relation: str) -> bool:
    schema, _, name = relation.rpartition(".")
    q = "SELECT count(*) FROM information_schema.tables WHERE table_name = ?" + (" AND table_schema = ?" if schema else "")
    return con.execute(q, [name, schema] if schema else [name]).fetchone()[0] > 0


def run_mart_gate(db_path: Path, run_id: str, as_of: date, *, storage: Storage | None = None) -> GateResult:
    """Run every ``expectations/marts/*.json`` check against the audit warehouse ``db_path`` (read-only).

    Each check's ``meta.sql`` may use ``{lake}`` (lake root), ``{as_of}`` (YYYY-MM-DD) and its
    ``meta.parameters``; ``meta.requires`` lists the relations it reads (a missing one fails the check
    with a message naming the file to fix). ``meta.report_table: true`` keeps the frame (≤ 50 rows)
    in ``GateResult.tables`` for the run report (e.g. reconciliation status counts).
    """
    started = time.monotonic()
    storage = storage or Storage.lake()
    gate = GateResult("mart", run_id)
    validator = Validator()
    try:
        suites = mart_suites()
    except SuiteError as exc:
        gate.checks.append(_failed("marts", "suite", str(exc)))
        return gate
    con = _connect(storage, db_path=Path(db_path))
    try:
        for suite in suites:
            params = suite.parameters()
            missing = [r for r in suite.meta.get("requires", []) if not _relation_exists(con, r)]
            if missing:
                gate.checks.append(_failed(suite.name, "relation_exists",
                                           f"{', '.join(missing)} not found in {db_path}: build the model, or fix the "
                                           f"table name in {suite.path}"))
                continue
            sql = substitute(suite.meta["sql"], {"lake": storage.root, "as_of": as_of.isoformat(), **params}, suite.name)
            try:
                df = con.execute(sql).df()
            except duckdb.Error as exc:
                gate.checks.append(_failed(suite.name, "query", f"{suite.path.name}: {exc}"))
                continue
            df.index = pd.RangeIndex(len(df))
            if suite.meta.get("report_table"):
                gate.tables[suite.name] = [jsonable(r) for r in df.head(50).to_dict("records")]
            example_cols = list(suite.meta.get("example_columns") or df.columns[:6])
            accs, rows = _accumulate(validator, suite, "rows", iter([df]), params, example_cols)
            gate.rows_validated += rows
            gate.checks += [_check(suite, a, None, None, params) for a in accs]
    finally:
        con.close()
    gate.seconds = time.monotonic() - started
    (log.info if gate.ok else log.error)("%s", gate.summary())
    return gate


def reconciliation_counts(gate: GateResult, table: str = "mart.reconciliation_status") -> dict[str, int]:
    """``{status[/reason]: lines}`` from the mart gate's reconciliation table, for ``RunRecord.reconciliation``."""
    out: dict[str, int] = {}
    for row in gate.tables.get(table, []):
        label = row.get("status") if not row.get("reason") else f"{row['status']}/{row['reason']}"
        out[str(label)] = int(row.get("lines") or 0)
    return out
