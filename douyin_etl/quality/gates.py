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
  (``Quarantine(f"{run_id}-landing-gate").add``, beside ingestion's ``<run_id>.parquet``; reason =
  suite, expectation and what it means; column, value,
  ``_source_ref`` of the file row or API page; the raw record), capped at ``DOUYIN_GATE_QUARANTINE_CAP``
  (10,000) rows per partition, so the fix is concrete: which file, which row, which field.
- A missing partition, an unreadable file or a missing column is an error (the check says which).

Plausibility and identities between sources
-------------------------------------------
- Hard caps per amount column are plain row checks of the landing suites (``suitegen.Rules.caps``).
- Bounds learned from history: a suite's ``meta.history`` names amount columns; ``history_bounds``
  has DuckDB compute, per column (and ``group_by`` value), a high percentile of the partitions landed
  before the run's first day, and the gate adds ``_history_ratio__<column>`` = |value| ÷ that
  percentile to each row, which the suite's expectations judge (warning / error ratios are suite
  parameters). Without ``min_rows`` values over ``min_days`` days nothing is judged (a fresh lake),
  and those expectations are reported as "not judged" instead of being run.
- ``expectations/cross/*.json`` (``run_cross_checks``, after the per-entity suites): SQL over the lake
  for the run's days — fund flow vs settlement bills per shop × day, settlements and shipments vs
  paid order lines, the 3PL stock report vs the movement files. DuckDB computes the frame (offending
  rows, or per shop × day figures), GX judges it, like the mart checks; the examples name the file
  row (``source_ref``) or the shop and day.
- ``GateResult.summary`` (the run's error message) lists each failing check with its first failing
  rows (file + row, key, value), so a blocked run says what to fix.

Memory is bounded by ``DOUYIN_GATE_CHUNK_ROWS`` (100,000), not by the range (``quality.rowscan``):
the gate validates only the run's partitions, read by DuckDB in batches of whole partitions of at
most that many rows (a bigger partition is a batch alone). Per batch DuckDB counts rows and missing
values per partition and finds the rows that may fail an expectation (``quality.pushdown``: NULLs,
values outside bounds or sets, keys seen twice in a partition); only those rows, every column and
their place in (day, key) order, reach GX, in key-aligned frames of at most that many rows, and GX
judges them with the reviewed expectations. Uniqueness is per partition (over ``_gate_dt`` + key);
counts add; results are split back per partition (``validator.Accumulator``). Failing rows go to
quarantine per partition as soon as it is done. An expectation without a SQL translation makes every
row a candidate (GX then sees all rows, still batch by batch). The schema check runs once per
distinct partition schema. DuckDB runs under ``DOUYIN_GATE_MEMORY_LIMIT`` (1GB) and spills to this
process's scratch folder under ``<state>/scratch/``.
"""

from __future__ import annotations

import logging
import os
import posixpath
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from douyin_etl import config
from douyin_etl.entities import get as get_entity
from douyin_etl.processes import spawn_pool
from douyin_etl.quality.results import CheckResult, GateResult, jsonable
from douyin_etl.quality.rowscan import TIE_BREAK, RowScan, ScanStats, key_chunks, plan_batches
from douyin_etl.quality.suites import Suite, SuiteError, cross_suites, landing_suite, mart_suites, substitute
from douyin_etl.quality.validator import GROUP_COLUMN, Accumulator, Validator, frame_groups
from douyin_etl.sqlrow import one_row
from douyin_etl.storage import Storage

log = logging.getLogger(__name__)

__all__ = [
    "run_landing_gate",
    "run_mart_gate",
    "run_cross_checks",
    "validate_entity",
    "validate_partition",
    "key_chunks",
    "reconciliation_counts",
    "history_bounds",
]


def chunk_rows() -> int:
    return int(os.environ.get("DOUYIN_GATE_CHUNK_ROWS", "100000"))


def quarantine_cap() -> int:
    return int(os.environ.get("DOUYIN_GATE_QUARANTINE_CAP", "10000"))


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_list(paths: list[str]) -> str:
    return "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"


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
    from douyin_etl.landing import scratch

    # spills (big cross-source joins) go to this process's scratch folder, not the working directory
    con.execute(f"SET temp_directory = {_sql_str(str(scratch.process_dir('gate_duckdb')))}")
    if storage is not None:
        storage.duckdb_register(con)
    return con


def _accumulators(
    configs: list[dict[str, Any]],
    example_columns: list[str],
    derived_refs: dict[str, list[str]] | None = None,
    collect_rows: bool = False,
) -> list[Accumulator]:
    """One accumulator per expectation; error-severity row checks keep their failing rows (``collect_rows``)."""
    refs = derived_refs or {}
    return [
        Accumulator(
            c,
            example_columns=example_columns + refs.get(c.get("kwargs", {}).get("column", ""), []),
            collect_rows=collect_rows and c.get("meta", {}).get("severity", "error") == "error",
        )
        for c in configs
    ]


def _partition_rows(con: duckdb.DuckDBPyConnection, files: dict[date, list[str]]) -> dict[date, int]:
    """Rows per partition from the Parquet footers (no data read): what the batches are planned on."""
    everything = [f for fs in files.values() for f in fs]
    per_file = dict(
        con.execute(f"SELECT file_name, num_rows FROM parquet_file_metadata({_sql_list(everything)})").fetchall()
    )
    out = {}
    for dt, fs in files.items():
        if all(f in per_file for f in fs):
            out[dt] = sum(int(per_file[f] or 0) for f in fs)
        else:  # a store that names files differently: count (DuckDB answers from the footers too)
            out[dt] = int(one_row(con, f"SELECT count(*) FROM read_parquet({_sql_list(fs)}, union_by_name = true)")[0])
    return out


def _accumulate(
    validator: Validator,
    suite: Suite,
    batch: str,
    frames: Iterator[pd.DataFrame],
    parameters: dict[str, Any],
    example_columns: list[str],
    collect_rows: bool = False,
    derived_refs: dict[str, list[str]] | None = None,
    configs: list[dict[str, Any]] | None = None,
    gx_suite: Any = None,
) -> tuple[list[Accumulator], int]:
    configs = suite.configs(batch) if configs is None else configs
    accs = _accumulators(configs, example_columns, derived_refs, collect_rows)
    rows = 0
    if not configs:
        for df in frames:
            rows += len(df)
        return accs, rows
    gx_suite = gx_suite if gx_suite is not None else suite.gx_suite(batch)
    for df in frames:
        rows += len(df)
        grouping = frame_groups(df)
        for acc, res in zip(accs, validator.validate(df, gx_suite, parameters)):
            acc.add(res, df, keep_rows=quarantine_cap(), grouping=grouping)
    return accs, rows


def _check(
    suite: Suite, acc: Accumulator, entity: str | None, dt: date | None, parameters: dict[str, Any], group: Any = None
) -> CheckResult:
    success, t = acc.result_for(group, parameters)
    cols = acc.kwargs.get("column") or (
        ",".join(c for c in acc.kwargs.get("column_list", []) if c != GROUP_COLUMN) or None
    )
    return CheckResult(
        suite=suite.name,
        expectation_type=acc.meta.get("reviewed_type", acc.type),
        severity=acc.meta.get("severity", "error"),
        success=success,
        entity=entity,
        dt=dt.isoformat() if dt else None,
        column=cols,
        description=acc.meta.get("description"),
        observed_value=acc.observed_value(t),
        element_count=t.element_count if acc.is_map or t.observed is not None else None,
        unexpected_count=t.unexpected_count if acc.is_map else None,
        unexpected_percent=(
            round(100.0 * t.unexpected_count / t.element_count, 4) if acc.is_map and t.element_count else None
        ),
        examples=[{k: v for k, v in e.items() if k != GROUP_COLUMN} for e in t.examples[:5]],
        exception=acc.exception,
        batch=acc.meta.get("batch", "rows"),
    )


def _failed(suite: str, what: str, message: str, entity: str | None = None, dt: date | None = None) -> CheckResult:
    return CheckResult(
        suite=suite,
        expectation_type=what,
        severity="error",
        success=False,
        entity=entity,
        dt=dt.isoformat() if dt else None,
        exception=message,
    )


def _per_partition(configs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows expectations as validated on a frame holding several partitions.

    Uniqueness is per partition (an order updated on two days is legitimately in two partitions), so
    a uniqueness expectation becomes compound uniqueness over (``_gate_dt``, key…). Everything else
    is row by row and unchanged. ``meta.reviewed_type`` keeps the reviewed name for the report.
    """
    out = []
    for c in configs:
        kwargs = dict(c.get("kwargs", {}))
        if c["type"] == "expect_column_values_to_be_unique":
            out.append(
                {
                    "type": "expect_compound_columns_to_be_unique",
                    "kwargs": {"column_list": [GROUP_COLUMN, kwargs.pop("column")], **kwargs},
                    "meta": {**c.get("meta", {}), "reviewed_type": c["type"]},
                }
            )
        elif c["type"] == "expect_compound_columns_to_be_unique":
            out.append(
                {
                    "type": c["type"],
                    "kwargs": {**kwargs, "column_list": [GROUP_COLUMN, *kwargs["column_list"]]},
                    "meta": dict(c.get("meta", {})),
                }
            )
        else:
            out.append(c)
    return out


def _gx_suite_of(suite: Suite, configs: list[dict[str, Any]], tag: str) -> Any:
    key = f"_gx_{tag}"
    if key not in suite._gx:
        import great_expectations as gx
        from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

        suite._gx[key] = gx.ExpectationSuite(
            name=f"{suite.name}.{tag}",
            expectations=[
                ExpectationConfiguration(
                    type=c["type"], kwargs=dict(c.get("kwargs", {})), meta={**c.get("meta", {}), "_index": i}
                ).to_domain_obj()
                for i, c in enumerate(configs)
            ],
        )
    return suite._gx[key]


HISTORY_PREFIX = "_history_ratio__"  # = suitegen.HISTORY_PREFIX: the derived column of a learned bound
NO_HISTORY = "CAST(NULL AS DOUBLE)"  # the ratio where history is too thin: not judged


def _sql_str(value: Any) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def history_bounds(
    con: duckdb.DuckDBPyConnection,
    storage: Storage,
    entity: str,
    dts: list[date],
    spec: dict[str, Any],
    columns: set[str],
) -> tuple[dict[str, str], list[str]]:
    """SQL per history column: ``|value| ÷ reference`` (NULL where history is too thin), and notes.

    The reference of a column (per ``group_by`` value) is the ``percentile`` of its non-zero absolute
    values in the entity's partitions landed before the run's first day, at most ``window_days`` back;
    it counts only with ``min_rows`` values over ``min_days`` days. DuckDB computes it in one query
    per column; the ratio is inlined as a CASE so GX judges plain numbers row by row.
    """
    first = min(dts)
    window = int(spec.get("window_days", 90))
    pct, min_rows, min_days = (
        float(spec.get("percentile", 0.99)),
        int(spec.get("min_rows", 200)),
        int(spec.get("min_days", 7)),
    )
    try:
        from douyin_etl.landing.reader import list_partitions

        earlier = [d for d in list_partitions(entity, storage) if d < first and (first - d).days <= window]
    except Exception as exc:  # noqa: BLE001 - reported as a note, the bound is then not judged
        return {}, [f"history of {entity} not read ({exc}); learned bounds not judged"]
    files = [f for d in earlier for f in _partition_files(storage, entity, d)[1]]
    out: dict[str, str] = {}
    notes: list[str] = []
    for col, group_by in (spec.get("columns") or {}).items():
        if col not in columns or any(g not in columns for g in group_by):
            continue
        name = f"{HISTORY_PREFIX}{col}"
        groups = [f"CAST({_quote(g)} AS VARCHAR)" for g in group_by]
        refs: list[tuple[tuple, float]] = []
        if files:
            sel = ", ".join(
                [
                    *(f"{g} AS g{i}" for i, g in enumerate(groups)),
                    f"quantile_cont(abs({_quote(col)}), {pct}) AS ref",
                    "count(*) AS n",
                    "count(DISTINCT regexp_extract(filename, 'dt=([0-9-]+)', 1)) AS days",
                ]
            )
            try:
                rows = con.execute(
                    f"SELECT {sel} FROM read_parquet({_sql_list(files)}, union_by_name = true, filename = true) "
                    f"WHERE abs({_quote(col)}) > 0 GROUP BY ALL"
                ).fetchall()
            except duckdb.Error as exc:
                notes.append(f"history of {entity}.{col} not read ({exc}); learned bound not judged")
                rows = []
            refs = [
                (tuple(r[: len(groups)]), float(r[-3]))
                for r in rows
                if r[-2] >= min_rows and r[-1] >= min_days and r[-3] and r[-3] > 0
            ]
        if not refs:
            out[name] = NO_HISTORY
        elif not groups:
            out[name] = f"abs({_quote(col)}) / {refs[0][1]!r}"
        else:
            key = " || '|' || ".join(f"coalesce({g}, '')" for g in groups)
            whens = " ".join(
                f"WHEN {_sql_str('|'.join('' if v is None else str(v) for v in k))} THEN {ref!r}" for k, ref in refs
            )
            out[name] = f"abs({_quote(col)}) / (CASE {key} {whens} END)"
        log.info(
            "history bound %s.%s: %d earlier partitions, judged groups %s",
            entity,
            col,
            len(earlier),
            {"|".join(map(str, k)) or "*": round(r, 2) for k, r in refs} or "none (not enough history)",
        )
    return out, notes


def validate_entity(
    validator: Validator,
    entity: str,
    dts: list[date],
    *,
    storage: Storage | None = None,
    max_rows: int | None = None,
    on_bad_rows: Callable[[date, list[dict]], None] | None = None,
    stats: ScanStats | None = None,
    candidates_in_sql: bool = True,
) -> tuple[list[CheckResult], int, dict[date, list[dict]]]:
    """Validate the landed partitions ``dts`` of ``entity`` against ``expectations/landing/<entity>.json``.

    Rows are read in batches of whole partitions of at most ``max_rows`` (``DOUYIN_GATE_CHUNK_ROWS``)
    rows; DuckDB counts and finds the rows that may fail, GX judges those (``quality.rowscan``);
    results are split back per partition. Returns (checks per partition, rows validated, {dt:
    quarantine records} of rows failing error-severity checks). With ``on_bad_rows`` the records of
    each partition are handed to it as soon as the partition is done (and not returned). ``stats`` is
    filled with how the rows were read; ``candidates_in_sql=False`` has GX see every row (the reference
    the SQL candidates are tested against).
    """
    storage = storage or Storage.lake()
    dts = sorted(set(dts))
    suite_name = f"landing.{entity}"
    try:
        suite = landing_suite(entity)
    except SuiteError as exc:
        return [_failed(suite_name, "suite", str(exc), entity, dt) for dt in dts], 0, {}
    checks: list[CheckResult] = []
    present: dict[date, tuple[str, list[str]]] = {}
    for dt in dts:
        pdir, files = _partition_files(storage, entity, dt)
        if files:
            present[dt] = (pdir, files)
        else:
            checks.append(
                _failed(
                    suite.name,
                    "partition_landed",
                    f"no Parquet in {pdir}: the partition was never landed; rerun extraction for {entity} {dt}",
                    entity,
                    dt,
                )
            )
    if not present:
        return checks, 0, {}
    params = suite.parameters()
    key = list(suite.meta.get("key") or get_entity(entity).key)
    derived = suite.meta.get("derived_columns") or {}
    con = _connect(storage)
    con.execute("SET preserve_insertion_order = false")  # every row query here says its order
    bad_rows: dict[date, list[dict]] = {}
    rows = 0
    try:
        # -- schema: one GX validation per distinct schema (partitions written alike share it) ----
        readable: dict[date, tuple[str, list[str]]] = {}
        signatures: dict[tuple, list[date]] = {}
        signature_of: dict[date, tuple] = {}
        for dt, (pdir, files) in present.items():
            try:
                described = con.execute(
                    f"DESCRIBE SELECT * FROM read_parquet({_sql_list(files)}, union_by_name = true)"
                ).fetchall()
            except duckdb.Error as exc:
                checks.append(_failed(suite.name, "read_partition", f"cannot read {pdir}: {exc}", entity, dt))
                continue
            signature = tuple((name, ctype) for name, ctype, *_ in described)
            signatures.setdefault(signature, []).append(dt)
            signature_of[dt] = signature
            readable[dt] = (pdir, files)
        columns_of: dict[date, set[str]] = {}
        for signature, group_dts in signatures.items():
            schema_df = pd.DataFrame([dict(signature)])
            accs, _ = _accumulate(validator, suite, "schema", iter([schema_df]), params, [])
            for dt in group_dts:
                checks += [_check(suite, a, entity, dt, params) for a in accs]
                columns_of[dt] = set(schema_df.columns)
        # -- rows: every readable partition that has the key columns, in bounded batches (rowscan) --
        usable = []
        for dt in sorted(readable):
            missing_key = [k for k in key if k not in columns_of[dt]]
            if missing_key:
                checks.append(
                    _failed(
                        suite.name,
                        "read_partition",
                        f"key column(s) {missing_key} missing in {readable[dt][0]}; rows not validated",
                        entity,
                        dt,
                    )
                )
            else:
                usable.append(dt)
        if not usable:
            return checks, 0, {}
        all_columns = set().union(*(columns_of[dt] for dt in usable))
        common_columns = set.intersection(*(columns_of[dt] for dt in usable))
        history, notes = (
            ({}, [])
            if not suite.meta.get("history")
            else history_bounds(con, storage, entity, dts, suite.meta["history"], common_columns)
        )
        for note in notes:
            checks.append(
                CheckResult(
                    suite=suite.name,
                    expectation_type="history",
                    severity="warning",
                    success=False,
                    entity=entity,
                    dt=usable[0].isoformat(),
                    exception=note,
                )
            )
        # the run's columns in the order one union of all its partitions has them (every batch shows them all)
        columns: list[tuple[str, str]] = []
        for dt in usable:
            for name, ctype in signature_of[dt]:
                if not any(name == c for c, _ in columns):
                    columns.append((name, ctype))
            if not any(c == GROUP_COLUMN for c, _ in columns):
                columns.append((GROUP_COLUMN, "DATE"))
        select = [
            f"({substitute(sql, {'dt': GROUP_COLUMN}, suite.name)}) AS {_quote(n)}" for n, sql in derived.items()
        ] + [f"({sql}) AS {_quote(n)}" for n, sql in history.items()]

        def source(batch: list[date]) -> str:
            parts = " UNION ALL BY NAME ".join(
                f"SELECT * EXCLUDE (filename, file_row_number), DATE '{dt.isoformat()}' AS {GROUP_COLUMN}, "
                f"filename AS {TIE_BREAK[0]}, file_row_number AS {TIE_BREAK[1]} FROM read_parquet("
                f"{_sql_list(readable[dt][1])}, union_by_name = true, filename = true, file_row_number = true)"
                for dt in batch
            )
            present = set().union(*(columns_of[dt] for dt in batch)) | {GROUP_COLUMN}
            cols = [_quote(c) if c in present else f"CAST(NULL AS {t}) AS {_quote(c)}" for c, t in columns]
            return f"SELECT {', '.join(cols + select + list(TIE_BREAK))} FROM ({parts})"

        derived = {**derived, **history}
        example_cols = key + (["_source_ref"] if "_source_ref" in all_columns else [])
        refs = {
            n: [c for c in sorted(all_columns) if re.search(rf"\b{re.escape(c)}\b", sql) and c != n]
            for n, sql in derived.items()
        }
        configs = _per_partition(suite.configs("rows"))
        # a learned bound without enough history judges nothing: leave it out of GX (it costs a pass per chunk)
        unjudged = {n for n, sql in history.items() if sql == NO_HISTORY}
        skipped = [c for c in configs if c.get("kwargs", {}).get("column") in unjudged]
        configs = [c for c in configs if c not in skipped]
        tag = "rows_by_dt" + ("-without-" + ",".join(sorted(unjudged)) if skipped else "")
        accs = _accumulators(configs, example_cols, refs, collect_rows=True)
        checks_of = {id(a): _check(suite, a, entity, None, params) for a in accs}  # type, description, column

        def partition_done(dt: date) -> None:  # hand its failing rows to quarantine, keep only the counts
            for acc in accs:
                t = acc.tallies.get(dt)
                if t is None or not t.failing_rows:
                    continue
                c = checks_of[id(acc)]
                named = acc.meta.get("value_column") or acc.kwargs.get(
                    "column"
                )  # a derived check names its source column
                for i, row in t.failing_rows:
                    value = (
                        row.get(named)
                        if named
                        else {k: row.get(k) for k in acc.kwargs.get("column_list", []) if k != GROUP_COLUMN}
                    )
                    bad_rows.setdefault(dt, []).append(
                        {
                            "reason": f"{suite.name}: {c.expectation_type} failed ({c.description or c.column})",
                            "column": named or c.column,
                            "value": jsonable(value),
                            "source_ref": row.get("_source_ref") or f"{readable[dt][0]} (row {i} in key order)",
                            "raw": {k: jsonable(v) for k, v in row.items() if k not in derived and k != GROUP_COLUMN},
                        }
                    )
                t.failing_rows = []
            if on_bad_rows is not None and dt in bad_rows:
                on_bad_rows(dt, bad_rows.pop(dt))

        limit = max_rows or chunk_rows()
        scan = RowScan(
            con,
            validator,
            _gx_suite_of(suite, configs, tag),
            configs,
            accs,
            params,
            source,
            [GROUP_COLUMN, *key],
            limit,
            quarantine_cap(),
            partition_done,
            stats=stats if stats is not None else ScanStats(),
            candidates_in_sql=candidates_in_sql,
        )
        sizes = _partition_rows(con, {dt: readable[dt][1] for dt in usable})
        try:
            rows = scan.run(plan_batches(sizes, limit))
        except duckdb.Error as exc:
            for dt in usable:
                checks.append(
                    _failed(
                        suite.name,
                        "read_partition",
                        f"cannot evaluate {suite.path.name} on {readable[dt][0]}: {exc}",
                        entity,
                        dt,
                    )
                )
            return checks, 0, {}
        log.info("landing gate %s rows: %s", entity, scan.stats)
        for dt in usable:
            group = dt
            for c in skipped:
                checks.append(
                    CheckResult(
                        suite=suite.name,
                        expectation_type=c["type"],
                        severity=c["meta"].get("severity", "error"),
                        success=True,
                        entity=entity,
                        dt=dt.isoformat(),
                        column=c["kwargs"]["column"],
                        description=c["meta"].get("description"),
                        observed_value="not judged: not enough earlier partitions (meta.history min_rows/min_days)",
                        batch="rows",
                    )
                )
            for acc in accs:
                check = _check(suite, acc, entity, dt, params, group=group)
                checks.append(check)
                t = acc.tallies.get(group)
                if t is not None and t.kept:
                    check.quarantined = t.kept
    finally:
        con.close()
    return checks, rows, bad_rows


def validate_partition(
    validator: Validator, entity: str, dt: date, *, storage: Storage | None = None, max_rows: int | None = None
) -> tuple[list[CheckResult], int, list[dict]]:
    """One partition (see ``validate_entity``)."""
    checks, rows, bad = validate_entity(validator, entity, [dt], storage=storage, max_rows=max_rows)
    return checks, rows, bad.get(dt, [])


GATE_QUARANTINE_SUFFIX = "-landing-gate"


def _quarantine(run_id: str, entity: str, dt: date, records: list[dict], storage: Storage) -> int:
    """Write gate-rejected rows as ``<run_id>-landing-gate.parquet`` in the entity's quarantine partition.

    A file of its own: ingestion quarantines unparseable rows of the same run and day as
    ``<run_id>.parquet``, and one file per writer keeps either from overwriting the other.
    """
    if not records:
        return 0
    from douyin_etl.landing.quarantine import Quarantine

    Quarantine(f"{run_id}{GATE_QUARANTINE_SUFFIX}", storage).add(entity, dt, records)
    return len({r["source_ref"] for r in records})


@dataclass
class _EntityOutcome:
    """What one entity's validation hands back to the gate (from this process or a worker)."""

    checks: list[CheckResult]
    rows: int
    quarantined: int
    scan: ScanStats
    seconds: float


def _validate_for_gate(
    validator: Validator,
    run_id: str,
    entity: str,
    dts: list[date],
    storage: Storage,
    max_rows: int | None,
    quarantine: bool,
    candidates_in_sql: bool,
) -> _EntityOutcome:
    t0 = time.monotonic()
    quarantined = 0

    def to_quarantine(dt: date, records: list[dict]) -> None:
        nonlocal quarantined
        quarantined += _quarantine(run_id, entity, dt, records, storage)

    scan = ScanStats()
    checks, rows, _ = validate_entity(
        validator,
        entity,
        dts,
        storage=storage,
        max_rows=max_rows,
        on_bad_rows=to_quarantine if quarantine else None,
        stats=scan,
        candidates_in_sql=candidates_in_sql,
    )
    return _EntityOutcome(checks, rows, quarantined, scan, time.monotonic() - t0)


_worker_validator: Validator | None = None  # one GX context per gate worker process


def _gate_worker_init(level: int) -> None:
    """A spawned gate worker logs to stderr at the gate's level (it inherits no logging setup)."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _worker_gx() -> Validator:
    global _worker_validator
    if _worker_validator is None:
        _worker_validator = Validator()
    return _worker_validator


def _entity_in_worker(
    run_id: str, entity: str, dts: list[date], root: str, options: dict[str, Any], *flags: Any
) -> _EntityOutcome:
    """In a gate worker: ``_validate_for_gate`` (``flags``: max_rows, quarantine, candidates_in_sql)."""
    return _validate_for_gate(_worker_gx(), run_id, entity, dts, Storage(root, options).cached(), *flags)


def _cross_in_worker(partitions: dict[str, list[date]], root: str, options: dict[str, Any]) -> list[CheckResult]:
    """In a gate worker: ``run_cross_checks``."""
    return run_cross_checks(_worker_gx(), partitions, storage=Storage(root, options).cached())


def _log_entity(entity: str, dts: list[date], outcome: _EntityOutcome) -> None:
    failed = [c for c in outcome.checks if c.blocking]
    log.log(
        logging.ERROR if failed else logging.INFO,
        "landing gate %s (%d partitions %s..%s): %d rows, %d checks, %d blocking (%.2f s)",
        entity,
        len(dts),
        dts[0],
        dts[-1],
        outcome.rows,
        len(outcome.checks),
        len(failed),
        outcome.seconds,
    )


def run_landing_gate(
    run_id: str,
    partitions: dict[str, list[date]],
    *,
    storage: Storage | None = None,
    max_rows: int | None = None,
    quarantine: bool = True,
    candidates_in_sql: bool = True,
) -> GateResult:
    """Validate the landed partitions ``{entity: [dt, …]}`` of a run. See the module docstring for what blocks.

    With ``DOUYIN_GATE_WORKERS`` > 1 (default 2) and more than one entity, the entities and the
    cross-source checks are validated in that many spawned processes (GX's fixed cost per validation
    is CPU-bound Python); the result is the same, checks in the same order."""
    started = time.monotonic()
    storage = (storage or Storage.lake()).cached()  # one read pass: cached listings on an object store
    gate = GateResult("landing", run_id)
    work = {entity: sorted(set(partitions[entity])) for entity in sorted(partitions) if partitions[entity]}
    workers = min(config.gate_workers(), len(work) + 1) if len(work) > 1 else 1
    pool = spawn_pool(workers, "landing gate", _gate_worker_init, (log.getEffectiveLevel(),)) if workers > 1 else None
    outcomes: dict[str, _EntityOutcome] = {}
    t_cross = time.monotonic()
    if pool is not None:
        with pool:
            root, options, flags = storage.root, storage.options, (max_rows, quarantine, candidates_in_sql)
            cross_future = pool.submit(_cross_in_worker, partitions, root, options)
            futures = {
                entity: pool.submit(_entity_in_worker, run_id, entity, dts, root, options, *flags)
                for entity, dts in work.items()
            }
            for entity, future in futures.items():
                outcomes[entity] = future.result()
                _log_entity(entity, work[entity], outcomes[entity])
            cross = cross_future.result()
    else:
        validator = Validator()
        for entity, dts in work.items():
            outcomes[entity] = _validate_for_gate(
                validator, run_id, entity, dts, storage, max_rows, quarantine, candidates_in_sql
            )
            _log_entity(entity, dts, outcomes[entity])
        t_cross = time.monotonic()
        cross = run_cross_checks(validator, partitions, storage=storage)
    for entity, outcome in outcomes.items():
        gate.scans[entity] = outcome.scan
        gate.checks += outcome.checks
        gate.rows_validated += outcome.rows
        gate.partitions += len(work[entity])
        gate.quarantined += outcome.quarantined
    gate.checks += cross
    if cross:
        log.log(
            logging.ERROR if any(c.blocking for c in cross) else logging.INFO,
            "cross-source checks: %d checks, %d blocking, %d warnings (%.2f s%s)",
            len(cross),
            sum(c.blocking for c in cross),
            sum(not c.success and not c.blocking for c in cross),
            time.monotonic() - t_cross,
            f", beside the entities in {workers} processes" if pool is not None else "",
        )
    gate.seconds = time.monotonic() - started
    (log.info if gate.ok else log.error)("%s", gate.summary())
    return gate


def _frame_checks(
    validator: Validator, suite: Suite, df: pd.DataFrame, params: dict[str, Any], entity: str | None = None
) -> tuple[list[CheckResult], int]:
    """GX judges a frame DuckDB computed for ``suite`` (a mart or cross-source check)."""
    df.index = pd.RangeIndex(len(df))
    example_cols = list(suite.meta.get("example_columns") or df.columns[:6])
    accs, rows = _accumulate(validator, suite, "rows", iter([df]), params, example_cols)
    return [_check(suite, a, entity, None, params, group=None) for a in accs], rows


def _days_sql(days: list[date]) -> str:
    return ", ".join(f"DATE '{d.isoformat()}'" for d in days)


def run_cross_checks(
    validator: Validator, partitions: dict[str, list[date]], *, storage: Storage | None = None
) -> list[CheckResult]:
    """Identities between sources (``expectations/cross/*.json``) over the run's landed days.

    A check runs when every entity of its ``meta.entities`` is among the run's partitions; its SQL sees
    ``{days}`` (those entities' run days, a list of DATE literals), ``{start}``/``{end}`` (first/last of
    them), ``{lake}`` and its ``meta.parameters``. Entities it reads across the whole lake
    (``meta.reads``) must have landed at least once, else the check reports a warning that it could not
    run. DuckDB computes the frame (offending rows or per shop × day figures); GX judges it.
    """
    storage = storage or Storage.lake()
    try:
        suites = cross_suites()
    except SuiteError as exc:
        return [_failed("cross", "suite", str(exc))]
    out: list[CheckResult] = []
    con: duckdb.DuckDBPyConnection | None = None
    try:
        for suite in suites:
            scope = list(suite.meta["entities"])
            if not all(partitions.get(e) for e in scope):
                continue
            days = sorted({d for e in scope for d in partitions[e]})
            label = "+".join(scope)
            from douyin_etl.landing.reader import list_partitions

            unread = [e for e in suite.meta.get("reads", []) if not list_partitions(e, storage)]
            if unread:
                out.append(
                    CheckResult(
                        suite=suite.name,
                        expectation_type="reads_landed",
                        severity="warning",
                        success=False,
                        entity=label,
                        dt=f"{days[0]}..{days[-1]}",
                        description=suite.meta.get("description"),
                        exception=f"{', '.join(unread)} never landed in this lake: {suite.name} not "
                        f"checked; extract {', '.join(unread)} and rerun",
                    )
                )
                continue
            params = suite.parameters()
            sql = substitute(
                suite.meta["sql"].replace("{days}", _days_sql(days)),  # literals we made: not escaped
                {"lake": storage.root, "start": days[0].isoformat(), "end": days[-1].isoformat(), **params},
                suite.name,
            )
            if con is None:
                con = _connect(storage)
                con.execute("SET preserve_insertion_order = false")  # each check orders its frame; lets DuckDB spill
            try:
                df = con.execute(sql).df(date_as_object=True)
            except duckdb.Error as exc:
                out.append(_failed(suite.name, "query", f"{suite.path.name} on {days[0]}..{days[-1]}: {exc}"))
                continue
            checks, _ = _frame_checks(validator, suite, df, params, entity=label)
            for c in checks:
                c.dt = days[0].isoformat() if len(days) == 1 else f"{days[0]}..{days[-1]}"
            out += checks
    finally:
        if con is not None:
            con.close()
    return out


def _relation_exists(con: duckdb.DuckDBPyConnection, relation: str) -> bool:
    schema, _, name = relation.rpartition(".")
    q = "SELECT count(*) FROM information_schema.tables WHERE table_name = ?" + (
        " AND table_schema = ?" if schema else ""
    )
    return one_row(con, q, [name, schema] if schema else [name])[0] > 0


WHOLE_HISTORY = date(1, 1, 1)  # ``{since}`` of a full pass: every row is on or after it


def run_mart_gate(
    db_path: Path, run_id: str, as_of: date, *, since: date | None = None, storage: Storage | None = None
) -> GateResult:
    """Run every ``expectations/marts/*.json`` check against the warehouse ``db_path`` (read-only).

    Each check's ``meta.sql`` may use ``{lake}`` (lake root), ``{as_of}`` (YYYY-MM-DD), ``{since}``
    (YYYY-MM-DD) and its ``meta.parameters``; ``meta.requires`` lists the relations it reads (a missing
    one fails the check with a message naming the file to fix). ``meta.report_table: true`` keeps the
    frame (≤ 50 rows) in ``GateResult.tables`` for the run report (e.g. reconciliation status counts).

    ``since``: a daily run passes the first day of its rebuilt window (the dbt tests' ``tests_since``);
    a check over a big table then reads only rows from that day on, on both sides of a comparison
    (its SQL filters mart rows and lake partitions with ``{since}``). Without it ``{since}`` is
    0001-01-01: the whole history (full refresh, the weekly ``douyin-etl check``).
    """
    started = time.monotonic()
    storage = (storage or Storage.lake()).cached()  # read-only: cached listings on an object store
    gate = GateResult("mart", run_id, since=since.isoformat() if since else None)
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
                gate.checks.append(
                    _failed(
                        suite.name,
                        "relation_exists",
                        f"{', '.join(missing)} not found in {db_path}: build the model, or fix the "
                        f"table name in {suite.path}",
                    )
                )
                continue
            sql = substitute(
                suite.meta["sql"],
                {
                    "lake": storage.root,
                    "as_of": as_of.isoformat(),
                    "since": (since or WHOLE_HISTORY).isoformat(),
                    **params,
                },
                suite.name,
            )
            try:
                df = con.execute(sql).df(date_as_object=True)
            except duckdb.Error as exc:
                gate.checks.append(_failed(suite.name, "query", f"{suite.path.name}: {exc}"))
                continue
            if suite.meta.get("report_table"):
                gate.tables[suite.name] = [jsonable(r) for r in df.head(50).to_dict("records")]
            checks, rows = _frame_checks(validator, suite, df, params)
            gate.rows_validated += rows
            gate.checks += checks
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
