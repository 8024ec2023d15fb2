"""Ingest one entity's dropped files of one business day into its landed partition.

``ingest_entity("settlement_bill", date(2026, 3, 1), run_id)`` finds ``<drops>/2026-03-01/`` files
matching the entity's ``FileSpec`` (``specs.py``), reads each (CSV in UTF-8/BOM/GBK, or XLSX),
maps headers (and aliases) to canonical names, converts every cell by its ``ctype``, and lands all
the day's files into one partition through ``PartitionWriter``. Generic: nothing here knows an
entity; a new file format is a new spec.

- A key that appears twice in one file with different values is a bad row too (the later one is
  quarantined); an exact repeat is the same record and lands once (counted as ``exact_repeats``).
- A bad row (a cell that does not convert, a wrong number of cells) is quarantined with file, row
  number (header = row 1), column, value and reason, and is not landed.
- Expected files first (``expected.py``, from the spec's ``cadence``): a missing day folder or a
  missing expected file raises ``MissingSourceError`` before anything lands (the lake keeps what it had).
- Cells of files with at least ``columnar.MIN_ROWS`` data rows are converted column by column in
  DuckDB (``columnar.py``; smaller files row by row, quicker for them); the rows SQL cannot judge go
  through the row path (``_FileContext.record``), which quarantines the bad ones; a file with a cell only
  the row path reads, or a key twice with other values, is converted row by row whole (the manifest's
  ``sources[].conversion`` says which). Both land the same bytes.
- Summary rows (合计/总计/小计 in one of the first cells, as Excel exports add) and blank rows are
  skipped and counted in the file's manifest entry (``summary_rows``, ``blank_rows``) and ``drift``.
- A bad file raises ``FileIngestError`` (missing required column, undecodable, unreadable, empty,
  truncated, header only where the source is never empty (``FileSpec.empty_ok``), or more bad rows
  than the floor ``quarantine.floor(entity)`` *and* a share above ``quarantine.threshold(entity)``);
  nothing is landed then.
- Drift: columns are matched by header, so order does not matter; unknown columns are kept as JSON
  text in ``_extra`` and reported in the manifest's ``drift`` (and logged); renamed columns match
  through ``Column.aliases`` or are reported missing.
- Idempotent: the same files (by sha256) as the landed manifest -> no-op; the same content already
  landed on another day, or twice under two names -> skipped and reported (checksum ledger).
- Master data (a file entity without a partition field, e.g. 仓库列表): a 3PL sends it once and again
  only when it changes. A run whose day has no such file while the lake holds no earlier partition of
  it (a first run that starts after the day the list arrived) lands the latest earlier file instead,
  marked ``carried_from`` in the manifest, so that day's shipments and stock have their warehouses.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import chain, islice
from pathlib import Path
from typing import Any

from douyin_etl import config
from douyin_etl.entities import ENTITIES
from douyin_etl.landing.quarantine import Quarantine, floor, threshold
from douyin_etl.landing.reader import list_partitions, read_manifest
from douyin_etl.landing.writer import SOURCE_REF, PartitionWriter
from douyin_etl.sources.files import columnar
from douyin_etl.sources.files.convert import CONVERTERS, clean
from douyin_etl.sources.files.errors import CellError, FileIngestError, MissingSourceError
from douyin_etl.sources.files.expected import check_days, latest_earlier_files
from douyin_etl.sources.files.ledger import Ledger
from douyin_etl.sources.files.read import Table, blank_row, file_sha256, has_data_rows, norm_header, open_table
from douyin_etl.sources.files.specs import SPECS, Column, FileSpec
from douyin_etl.storage import Storage

log = logging.getLogger(__name__)

EXTRA = "_extra"
BATCH_ROWS = 20_000
_EXAMPLES = 5

__all__ = ["ingest_entity", "scan_day", "FileIngestError", "MissingSourceError", "landed_schema", "EXTRA"]


_norm = norm_header

# A summary (footer/subtotal) row: one of these words opens one of the first cells (Excel exports).
_SUMMARY_WORDS = ("总合计", "合计", "总计", "小计")
_SUMMARY_CELLS = 3
_SUMMARY_MAX_LEN = 20
_REFS_KEPT = 20


def summary_word(cells: list[Any]) -> str | None:
    """The summary word (合计, 总计, 小计 …) when the row is a summary row, else None."""
    for cell in cells[:_SUMMARY_CELLS]:
        if isinstance(cell, str) and "计" in cell:  # every summary word has 计: the usual cell stops here
            text = cell.strip().lstrip("'").strip()
            if text and len(text) <= _SUMMARY_MAX_LEN:
                for word in _SUMMARY_WORDS:
                    if text.startswith(word):
                        return word
    return None


def landed_schema(spec: FileSpec) -> dict[str, str]:
    """Columns and DuckDB types of the entity's landed Parquet (``_source_ref`` is added by the writer)."""
    return spec.landed_schema() | {EXTRA: "VARCHAR"}


@dataclass
class FileResult:
    entry: dict[str, Any]
    bad_rows: list[dict[str, Any]] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)


@dataclass
class _Mapping:
    """Which file column feeds which canonical column, built from the header row."""

    columns: list[tuple[int, Column]]  # (cell index, spec column)
    extras: list[tuple[int, str]]  # (cell index, original header) not in the spec
    headers: list[str]  # original header texts, for raw records
    drift: list[str]


def _map_header(spec: FileSpec, table: Table) -> _Mapping:
    name = table.path.name
    lookup: dict[str, Column] = {}
    for header, column in spec.by_header.items():
        lookup[_norm(header)] = column
        lookup.setdefault(_norm(column.name), column)  # canonical names are accepted too
    headers = ["" if h is None else str(h).strip().lstrip("\ufeff") for h in table.header]
    while headers and headers[-1] == "":
        headers.pop()
    used: dict[str, int] = {}
    columns: list[tuple[int, Column]] = []
    extras: list[tuple[int, str]] = []
    drift: list[str] = []
    for i, h in enumerate(headers):
        col = lookup.get(_norm(h)) if h else None
        if col is None:
            extras.append((i, h or f"column_{i + 1}"))
            continue
        if col.name in used:
            raise FileIngestError(
                name,
                f"column {col.header} ({col.name}) appears twice (cells {used[col.name] + 1} and {i + 1})",
                "remove the duplicate column from the file",
            )
        used[col.name] = i
        columns.append((i, col))
        if _norm(h) != _norm(col.header):
            drift.append(f"{name}: header {h!r} matched {col.header} ({col.name}) through an alias")
    missing = [c for c in spec.columns if c.name not in used and c.required]
    if missing:
        cols = ", ".join(f"{c.header} ({c.name})" for c in missing)
        raise FileIngestError(
            name,
            f"missing required column(s) {cols}; found headers: {', '.join(headers)}",
            "re-export the file with these columns, or if the platform renamed a header, add the "
            "new header to Column.aliases in douyin_etl/sources/files/specs.py",
        )
    for c in spec.columns:
        if c.name not in used:
            drift.append(f"{name}: optional column {c.header} ({c.name}) absent; landed as null")
    if extras:
        drift.append(f"{name}: unknown column(s) {', '.join(h for _, h in extras)} kept in {EXTRA}")
        log.warning("%s: unknown column(s) %s kept in %s (schema drift)", name, [h for _, h in extras], EXTRA)
    order = [c.name for _, c in columns]
    expected = [c.name for c in spec.columns if c.name in used]
    if order != expected:
        drift.append(f"{name}: columns in a different order than the spec (matched by header)")
    return _Mapping(columns, extras, headers, drift)


def _raw_record(headers: list[str], cells: list[Any]) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    for i, cell in enumerate(cells):
        key = headers[i] if i < len(headers) and headers[i] else f"column_{i + 1}"
        raw[key] = cell if cell is None or isinstance(cell, (str, int, float, bool)) else str(cell)
    return raw


def _bad(reason: str, column: str | None, value: Any, ref: str, headers: list[str], cells: list[Any]) -> dict[str, Any]:
    return {
        "reason": reason,
        "column": column,
        "value": None if value is None else str(value),
        "source_ref": ref,
        "raw": _raw_record(headers, cells),
    }


@dataclass
class _FileContext:
    """What the header row and the file name say about one file: how a row becomes a record."""

    spec: FileSpec
    name: str
    mapping: _Mapping
    groups: dict[str, str]
    width: int
    short_rows_bad: bool  # CSV: a row with fewer cells than the header is bad (XLSX rows end at their last value)
    absent: dict[str, None]  # spec columns the file lacks, landed as NULL
    fingerprint_keys: list[str]
    key_cols: tuple[str, ...]
    # (cell index, column, converter, text column?, a text cell lands as it is?): the id and str converters
    # return a str cell unchanged
    plan: list[tuple[int, Column, Any, bool, bool]]

    @classmethod
    def of(cls, spec: FileSpec, table: Table) -> _FileContext:
        mapping = _map_header(spec, table)
        match = spec.match(table.path.name)
        groups = {k: v for k, v in (match.groupdict() if match else {}).items()}
        mapped = {col.name for _, col in mapping.columns}
        absent: dict[str, None] = {c.name: None for c in spec.columns if c.name not in mapped}
        return cls(
            spec=spec,
            name=table.path.name,
            mapping=mapping,
            groups=groups,
            width=len(mapping.headers),
            short_rows_bad=table.format == "csv",
            absent=absent,
            # A landed record always has the same keys (the file's columns, the absent ones, the file-name
            # groups, _extra): the order of its fingerprint is fixed once per file, not sorted per row.
            fingerprint_keys=sorted({*absent, *mapped, *groups} - {EXTRA}),
            key_cols=ENTITIES[spec.entity].key,
            plan=[
                (i, col, CONVERTERS[col.ctype], col.ctype == "str", col.ctype in ("id", "str"))
                for i, col in mapping.columns
            ],
        )

    def record(self, n: int, cells: list[Any], is_last: bool) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """(record, None) for a good row, (None, bad row) for a bad one; the row path of one row."""
        ref = f"{self.name}:{n}"
        width, headers = self.width, self.mapping.headers
        if len(cells) < width and self.short_rows_bad:
            if is_last:
                raise FileIngestError(
                    self.name,
                    f"truncated: the last row ({n}) has {len(cells)} of {width} cells",
                    "re-download the file; it was cut off during export or transfer",
                )
            return None, _bad(f"row has {len(cells)} cells, the header has {width}", None, None, ref, headers, cells)
        if len(cells) > width and any(clean(c, "str") is not None for c in cells[width:]):
            return None, _bad(f"row has more cells than the header ({width})", None, None, ref, headers, cells)
        rec: dict[str, Any] = dict(self.absent)
        n_cells = len(cells)
        value: Any  # the cell, cleaned
        for i, col, conv, is_text, text_as_is in self.plan:
            raw = cells[i] if i < n_cells else None
            if type(raw) is str:  # fast path of clean() for the common CSV cell
                value = raw.strip()
                if not value:
                    value = None
                elif not is_text and value[0] in "'=":
                    value = clean(value, col.ctype)
            else:
                value = clean(raw, col.ctype)
            if value is None:
                if not col.nullable:
                    return None, _bad("required value is empty", col.name, raw, ref, headers, cells)
                rec[col.name] = None
                continue
            if text_as_is and type(value) is str:
                rec[col.name] = value
                continue
            try:
                rec[col.name] = conv(value, col)
            except CellError as exc:
                return None, _bad(exc.reason, col.name, raw, ref, headers, cells)
        for k, v in self.groups.items():
            rec.setdefault(k, v)
        if self.mapping.extras:
            extra = {
                h: cells[i] for i, h in self.mapping.extras if i < len(cells) and clean(cells[i], "str") is not None
            }
            rec[EXTRA] = json.dumps(extra, ensure_ascii=False, sort_keys=True, default=str) if extra else None
        else:
            rec[EXTRA] = None
        rec[SOURCE_REF] = ref
        return rec, None


@dataclass
class _Tally:
    """What one pass over a file's rows found."""

    data_rows: int = 0
    landed: int = 0
    exact_repeats: int = 0
    bad_rows: list[dict[str, Any]] = field(default_factory=list)
    blank_refs: list[int] = field(default_factory=list)
    summary_rows: list[tuple[int, str]] = field(default_factory=list)  # (row number, word) of 合计/总计/小计 rows
    conversion: str = "rows"  # which path converted the file: rows | columnar (the manifest's "conversion")


def _data_rows(table: Table, tally: _Tally) -> Iterator[tuple[int, list[Any]]]:
    """The data rows of a file: blank and summary rows are counted in ``tally`` and skipped."""
    for n, cells in table.rows:
        if blank_row(cells):
            tally.blank_refs.append(n)
            continue
        word = summary_word(cells)
        if word is not None:
            tally.summary_rows.append((n, word))
            continue
        tally.data_rows += 1
        yield n, cells


def _rows_path(
    ctx: _FileContext, rows: Iterable[tuple[int, list[Any]]], tally: _Tally, writer: PartitionWriter
) -> _Tally:
    """Convert and land the file's data ``rows`` (``_data_rows``, counted in ``tally``) row by row: any
    file; the reference for the columnar path."""
    batch: list[dict[str, Any]] = []
    seen_keys: dict[tuple, tuple[int, int]] = {}  # key -> (fingerprint of the row's values, first row number)
    pending: tuple[int, list[Any]] | None = None  # one row of look-ahead: the last row may be truncated
    key_cols, fingerprint_keys = ctx.key_cols, ctx.fingerprint_keys

    def handle(n: int, cells: list[Any], is_last: bool) -> None:
        rec, bad = ctx.record(n, cells, is_last)
        if rec is None:
            assert bad is not None
            tally.bad_rows.append(bad)
            return
        # The same key twice in one file: an exact repeat is the same record (landed once by the writer);
        # a repeat with other values is a conflict nobody can resolve here -> quarantined, counted as bad.
        key = tuple([rec.get(k) for k in key_cols])
        fingerprint = hash(tuple([(k, rec[k]) for k in fingerprint_keys]))
        first = seen_keys.get(key)
        if first is None:
            seen_keys[key] = (fingerprint, n)
        elif first[0] == fingerprint:
            tally.exact_repeats += 1
        else:
            tally.bad_rows.append(
                _bad(
                    f"duplicate key {dict(zip(key_cols, key))} with other values than row {first[1]}",
                    key_cols[0],
                    key[0],
                    rec[SOURCE_REF],
                    ctx.mapping.headers,
                    cells,
                )
            )
            return
        batch.append(rec)
        tally.landed += 1
        if len(batch) >= BATCH_ROWS:
            writer.write_records(batch)
            batch.clear()

    for n, cells in rows:
        if pending is not None:
            handle(*pending, is_last=False)
        pending = (n, cells)
    if pending is not None:
        handle(*pending, is_last=True)
    if batch:
        writer.write_records(batch)
    return tally


def _columnar_path(
    ctx: _FileContext, rows: Iterable[tuple[int, list[Any]]], tally: _Tally, table: Table, writer: PartitionWriter
) -> _Tally | None:
    """Convert the file's data ``rows`` (of ``table``, counted in ``tally``) column by column in DuckDB
    (``columnar.py``); None: the row path must convert this file.

    Rows SQL cannot judge go through ``_FileContext.record``; a file with a row SQL did not convert but
    the row path does, with a key twice with other values, or with a truncated last row goes back whole."""
    tally.conversion = "columnar"
    constants: dict[str, str | None] = {**ctx.groups, **ctx.absent, EXTRA: None}
    part = writer.scratch_file("columnar")
    con = writer.scratch_connection()
    try:
        cells = columnar.Cells(con, ctx.mapping.columns, ctx.width, xlsx=table.format == "xlsx")
        last: list[Any] | None = None
        for n, row in rows:
            cells.add(n, row)
            last = row
        cells.finish(last)
        if cells.last_short:
            return None
        done = columnar.convert(cells, landed_schema(ctx.spec), constants, ctx.key_cols, ctx.name, part)
        if done.conflict:
            log.info("%s: a key appears twice with other values; converting it row by row", ctx.name)
            return None
        check = sorted({*done.flagged, *cells.aside})
        if check:  # the row path judges these rows: read them again
            wanted, at = set(check), 0
            again = open_table(table.path, table.sha256)
            for n, row in _data_rows(again, _Tally()):
                if n not in wanted:
                    continue
                rec, bad = ctx.record(n, row, is_last=False)
                if rec is not None:
                    log.info("%s: row %d converts only row by row; converting the file row by row", ctx.name, n)
                    return None
                tally.bad_rows.append(bad)  # type: ignore[arg-type]
                at += 1
            if at != len(wanted):
                return None  # the file changed under us: the row path reads it once more and decides
        if done.part is not None:
            writer.write_parquet([done.part])
        tally.landed, tally.exact_repeats = done.landed, done.exact_repeats
        return tally
    finally:
        con.close()
        part.unlink(missing_ok=True)


def _ingest_file(
    spec: FileSpec,
    path: Path,
    dt: date,
    writer: PartitionWriter,
    sha256: str | None = None,
    columnar_from: int | None = columnar.MIN_ROWS,
) -> FileResult:
    started = time.monotonic()
    table = open_table(path, sha256)
    ctx = _FileContext.of(spec, table)
    drift = list(ctx.mapping.drift)
    groups = ctx.groups
    if groups.get("file_date") and groups["file_date"] != dt.strftime("%Y%m%d"):
        drift.append(f"{path.name}: file date {groups['file_date']} differs from its drop folder {dt}")
    tally: _Tally | None = None
    if columnar_from is not None and not ctx.mapping.extras:
        counted = _Tally()
        rows = _data_rows(table, counted)
        head = list(islice(rows, columnar_from))
        if len(head) < columnar_from:  # the whole file, and a small one: the row path is the quicker
            tally = _rows_path(ctx, head, counted, writer)
        else:
            tally = _columnar_path(ctx, chain(head, rows), counted, table, writer)
            if tally is None:
                table = open_table(path, table.sha256)
    if tally is None:
        counted = _Tally()
        tally = _rows_path(ctx, _data_rows(table, counted), counted, writer)
    data_rows, landed, bad_rows, exact_repeats = tally.data_rows, tally.landed, tally.bad_rows, tally.exact_repeats
    summary_rows, blank_refs, blank_rows = tally.summary_rows, tally.blank_refs, len(tally.blank_refs)
    if summary_rows:
        words = "/".join(sorted({w for _, w in summary_rows}))
        drift.append(
            f"{path.name}: skipped {len(summary_rows)} summary row(s) ({words}) at row(s) "
            f"{', '.join(str(n) for n, _ in summary_rows[:_REFS_KEPT])}; not landed, not quarantined"
        )
    if blank_rows:
        drift.append(
            f"{path.name}: skipped {blank_rows} blank row(s) at row(s) "
            f"{', '.join(str(n) for n in blank_refs[:_REFS_KEPT])}"
        )

    if data_rows == 0 and not spec.empty_ok:
        what = spec.description.split(":")[0] or spec.entity
        raise FileIngestError(
            path.name,
            f"no data rows (header only{', plus summary rows' if summary_rows else ''}); a {what} file "
            "is only sent when it has rows, so an empty one is a failed export",
            "re-download or re-export the file and drop it again (or remove it from the folder if nothing was due), "
            "then rerun this day",
        )
    limit, allowed = threshold(spec.entity), floor(spec.entity)
    if data_rows and len(bad_rows) > allowed and len(bad_rows) / data_rows > limit:
        examples = "; ".join(
            f"row {b['source_ref'].rsplit(':', 1)[1]} {b['column'] or ''} {b['value']!r}: {b['reason']}"
            for b in bad_rows[:_EXAMPLES]
        )
        raise FileIngestError(
            path.name,
            f"{len(bad_rows)} of {data_rows} rows are bad ({len(bad_rows) / data_rows:.1%} > threshold {limit:.1%}, "
            f"and more than the {allowed} row(s) any file may quarantine); e.g. {examples}",
            f"correct the file and drop it again, or raise DOUYIN_QUARANTINE_THRESHOLD__{spec.entity.upper()} "
            f"(or DOUYIN_QUARANTINE_FLOOR__{spec.entity.upper()}) to quarantine these rows instead",
        )
    seconds = time.monotonic() - started
    entry = {
        "name": path.name,
        "sha256": table.sha256,
        "bytes": table.size,
        "format": table.format,
        "encoding": table.encoding,
        "rows": data_rows,
        "landed_rows": landed,
        "quarantined_rows": len(bad_rows),
        "blank_rows": blank_rows,
        "summary_rows": len(summary_rows),
        "summary_refs": [f"{n}:{w}" for n, w in summary_rows[:_REFS_KEPT]],
        "exact_repeats": exact_repeats,
        "conversion": tally.conversion,
        "status": "landed",
        "seconds": round(seconds, 3),
    }
    if table.format == "csv":
        entry["final_newline"] = not table.truncated_hint
    log.info(
        "%s: %d rows (%s, %s), %d landed, %d quarantined",
        path.name,
        data_rows,
        table.format,
        table.encoding or "-",
        landed,
        len(bad_rows),
    )
    return FileResult(entry, bad_rows, drift)


def scan_day(dt: date, drops_dir: Path | None = None) -> dict[str, list[str]]:
    """File names in ``<drops>/YYYY-MM-DD/`` by entity; names matching no spec under ``"_unmatched"``
    (e.g. the hand-reconciliation exports 订单导出/售后导出, or a renamed export worth a look)."""
    day_dir = Path(drops_dir or config.drops_dir()) / dt.isoformat()
    out: dict[str, list[str]] = {}
    if not day_dir.is_dir():
        return out
    for p in sorted(day_dir.iterdir(), key=lambda p: p.name):
        if not p.is_file() or p.name.startswith("."):
            continue
        spec = next((sp for sp in SPECS.values() if sp.match(p.name)), None)
        out.setdefault(spec.entity if spec else "_unmatched", []).append(p.name)
    return out


def ingest_entity(
    entity: str,
    dt: date,
    run_id: str,
    drops_dir: Path | None = None,
    storage: Storage | None = None,
    shops: Sequence[str] | None = None,
    columnar_from: int | None = columnar.MIN_ROWS,
) -> dict[str, Any]:
    """Land every file of ``entity`` dropped for business day ``dt``; see the module docstring.

    Returns ``{entity, dt, files, rows, quarantined, skipped, seconds, rows_per_s, …}`` where
    ``files`` counts landed files, ``rows`` the partition's rows (after de-duplication by key),
    ``rows_read`` the data rows in the files, ``quarantined`` the rows this call quarantined (0 when
    ``unchanged``: the same files were already landed, see ``quarantined_in_partition`` and
    ``run_id``), and ``skipped`` lists ``{name, reason}``.

    Raises ``MissingSourceError`` (nothing landed) when the day's folder lacks files the spec's cadence
    expects; ``shops``: the shops expected (default ``config.doudian_shop_ids()``); ``columnar_from``: files with
    at least this many data rows are converted column by column (``columnar.py``), the others row by row;
    None converts every file row by row (``_rows_path``, the reference the columnar path is tested against).
    """
    started = time.monotonic()
    try:
        spec = SPECS[entity]
    except KeyError:
        raise KeyError(f"{entity!r} is not a file entity; file entities: {', '.join(sorted(SPECS))}") from None
    st = storage or Storage.lake()
    day_dir = Path(drops_dir or config.drops_dir()) / dt.isoformat()
    ledger = Ledger(st)

    expectation = check_days(entity, [dt], drops_dir, st, shops)[0]  # MissingSourceError: nothing lands
    included: list[tuple[Path, str]] = []
    skipped: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    for path in expectation.files:
        sha = file_sha256(path)
        # Header-only files ("nothing today") of one sender look alike every day: never duplicates.
        if sha in seen and has_data_rows(path):
            skipped.append(
                {
                    "name": path.name,
                    "sha256": sha,
                    "status": "skipped",
                    "reason": f"same content as {seen[sha]} in the same folder",
                }
            )
            continue
        prior = ledger.lookup(entity, sha)
        if (
            prior
            and prior.get("dt") != dt.isoformat()
            and int(prior.get("rows") or 0) > 0
            and _still_landed(entity, prior, sha, st)
        ):
            skipped.append(
                {
                    "name": path.name,
                    "sha256": sha,
                    "status": "skipped",
                    "reason": f"same content already landed in dt={prior['dt']} as {prior['name']}",
                }
            )
            continue
        seen[sha] = path.name
        included.append((path, sha))
    for s in skipped:
        log.warning("%s %s: skipped, %s", entity, s["name"], s["reason"])
    carried: dict[str, str] = {}
    if (
        not included
        and not skipped
        and ENTITIES[entity].partition_field is None
        and not any(d < dt for d in list_partitions(entity, st))
    ):
        for path in latest_earlier_files(spec, day_dir.parent, dt):
            included.append((path, file_sha256(path)))
            carried[path.name] = path.parent.name
            log.info(
                "%s dt=%s: no file that day and none landed before; carrying %s from %s",
                entity,
                dt,
                path.name,
                path.parent.name,
            )

    manifest = read_manifest(entity, dt, st)
    if manifest is not None and _same_files(manifest, included, skipped):
        seconds = time.monotonic() - started
        log.info("%s dt=%s: the same %d file(s) are already landed; nothing to do", entity, dt, len(included))
        return _summary(entity, dt, manifest, included, skipped, seconds=seconds, unchanged=True)

    quarantine = Quarantine(run_id, st)
    bad: list[dict[str, Any]] = []
    with PartitionWriter(entity, dt, run_id, storage=st, schema=landed_schema(spec)) as writer:
        for path, sha in included:
            result = _ingest_file(spec, path, dt, writer, sha, columnar_from=columnar_from)
            if path.name in carried:
                result.entry["carried_from"] = carried[path.name]
            writer.add_source(result.entry)
            for note in result.drift:
                writer.add_drift(note)
            bad.extend(result.bad_rows)
        for s in skipped:
            writer.add_source(s)
        for name in expectation.unexpected:
            writer.add_drift(f"{name}: not one of the expected files ({expectation.basis}); landed anyway")
    manifest = writer.manifest or {}
    if bad:
        quarantine.add(entity, dt, bad)
    for src in manifest.get("sources", []):
        if src.get("status") == "landed":
            ledger.record(entity, src["sha256"], dt, src["name"], run_id, src["rows"])
    seconds = time.monotonic() - started
    summary = _summary(entity, dt, manifest, included, skipped, seconds=seconds, unchanged=False)
    summary["quarantined"] = len(bad)
    log.info(
        "%s dt=%s: %d file(s), %d rows landed, %d quarantined, %d skipped in %.2f s",
        entity,
        dt,
        summary["files"],
        summary["rows"],
        len(bad),
        len(skipped),
        seconds,
    )
    return summary


def _still_landed(entity: str, prior: dict[str, Any], sha: str, st: Storage) -> bool:
    """The ledger's partition still lists this content (a rebuilt day may have dropped it)."""
    m = read_manifest(entity, date.fromisoformat(prior["dt"]), st)
    return m is not None and any(s.get("sha256") == sha and s.get("status") == "landed" for s in m.get("sources", []))


def _same_files(manifest: dict[str, Any], included: list[tuple[Path, str]], skipped: list[dict[str, Any]]) -> bool:
    landed = sorted((s["name"], s["sha256"]) for s in manifest.get("sources", []) if s.get("status") == "landed")
    before_skipped = sorted(
        (s["name"], s["sha256"]) for s in manifest.get("sources", []) if s.get("status") == "skipped"
    )
    return landed == sorted((p.name, sha) for p, sha in included) and before_skipped == sorted(
        (s["name"], s["sha256"]) for s in skipped
    )


def _summary(
    entity: str,
    dt: date,
    manifest: dict[str, Any],
    included: list[tuple[Path, str]],
    skipped: list[dict[str, Any]],
    seconds: float,
    unchanged: bool,
) -> dict[str, Any]:
    """``quarantined``: rows this call quarantined (0 when unchanged); ``quarantined_in_partition``:
    bad rows of the partition's files, quarantined by the run that built it (``manifest.run_id``)."""
    sources = [s for s in manifest.get("sources", []) if s.get("status") == "landed"]
    rows_read = sum(int(s.get("rows", 0)) for s in sources)
    quarantined = sum(int(s.get("quarantined_rows", 0)) for s in sources)
    return {
        "entity": entity,
        "dt": dt.isoformat(),
        "files": len(included),
        "rows": int(manifest.get("rows", 0)),
        "rows_read": rows_read,
        "duplicates_removed": int(manifest.get("duplicates_removed", 0)),
        "quarantined": 0,
        "quarantined_in_partition": quarantined,
        "run_id": manifest.get("run_id"),
        "skipped": [{"name": s["name"], "reason": s["reason"]} for s in skipped],
        "encodings": {s["name"]: s.get("encoding") for s in sources},
        "drift": list(manifest.get("drift", [])),
        "unchanged": unchanged,
        "seconds": round(seconds, 3),
        "rows_per_s": round(rows_read / seconds, 1) if seconds > 0 and not unchanged else 0.0,
    }
