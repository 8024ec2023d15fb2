"""The landing gate's row pass: DuckDB scans the run's partitions in bounded batches, GX judges the rows that may fail.

Memory does not grow with the range:

- **Batches of whole partitions**: consecutive partitions (in day order) are read together up to
  ``limit`` rows (their Parquet footers say how many); a partition larger than that is a batch of its
  own. Every query of the pass reads one batch, so DuckDB never sorts or holds more than a batch.
- **DuckDB counts, over every row** of a batch: rows per partition, missing values per expectation
  column, and whether any row may fail an expectation (``quality.pushdown``: NULL for not-null,
  outside the bounds, outside the value set, a key seen twice in the partition).
- **GX judges the candidate rows**: only when a batch has any, DuckDB fetches them (every column,
  numbered by their place in (day, key) order over the whole run, as before) in key-aligned frames of
  at most ``limit`` rows (``key_chunks``), and GX validates them with the reviewed expectations.
  Frames are buffered up to ``limit`` rows, so GX's per-call overhead is paid per ``limit`` candidate
  rows, not per batch. An expectation without a SQL translation makes every row a candidate: GX then
  sees every row, still batch by batch.
- GX always judges at least one frame (an empty one, with the columns, when no row may fail), so an
  expectation that cannot run on the data (e.g. a column that is not there) reports its error as
  before. DuckDB's counts are added to an expectation after a GX result for it (GX says whether it is a
  row-by-row expectation that counts rows).
- Failing rows for quarantine are handed over per partition as soon as it is complete
  (``on_partition_done``), never kept for the whole range.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import duckdb
import pandas as pd

from douyin_etl.quality.pushdown import Pushdown, any_of, pushdown, quote
from douyin_etl.quality.validator import GROUP_COLUMN, Accumulator, Counts, Validator, frame_groups
from douyin_etl.sqlrow import one_row

log = logging.getLogger(__name__)

ROW_COLUMN = "_gate_row"  # a row's place in (day, key) order over the run: the frame index, "_row" in examples
# rows sharing a key (duplicates) are numbered in file order: ``source`` adds these two columns, GX never sees them
TIE_BREAK = ("_gate_file", "_gate_file_row")


def key_chunks(
    result: duckdb.DuckDBPyConnection, key: list[str], max_rows: int, index_column: str | None = None
) -> Iterator[pd.DataFrame]:
    """Frames of about ``max_rows`` rows from a DuckDB result ORDERED BY ``key``; a key never spans two frames.

    Frames are indexed by row number in key order (0, 1, … across frames), or by ``index_column``
    (then dropped from the frame). Always yields at least one (possibly empty, typed) frame. Rows
    whose key contains NULL are never grouped (NULL keys fail the not-null check anyway). A frame
    exceeds ``max_rows`` only by the rows sharing its last key.
    """
    max_rows = max(1, max_rows)
    vectors = max(1, max_rows // 2048)
    carry: pd.DataFrame | None = None
    offset = 0

    def emit(frame: pd.DataFrame) -> pd.DataFrame:
        nonlocal offset
        frame = frame.copy()
        if index_column is not None:
            frame.index = pd.Index(frame[index_column].astype("int64").to_numpy())
            frame = frame.drop(columns=[index_column])
        else:
            frame.index = pd.RangeIndex(offset, offset + len(frame))
        offset += len(frame)
        return frame

    while True:
        piece = result.fetch_df_chunk(vectors, date_as_object=True)
        if len(piece) == 0:
            break
        for start in range(0, len(piece), max_rows):
            part = piece.iloc[start : start + max_rows]
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
            carry = buf.iloc[len(buf) - tail :]
    if carry is not None and len(carry):
        yield emit(carry)
    elif offset == 0:
        yield emit(piece)  # typed, empty


def plan_batches(rows: dict[date, int], limit: int) -> list[list[date]]:
    """Consecutive partitions (day order) grouped up to ``limit`` rows; a bigger partition is alone."""
    batches: list[list[date]] = []
    size = 0
    for dt in sorted(rows):
        n = rows[dt]
        if batches and size + n <= limit:
            batches[-1].append(dt)
            size += n
        else:
            batches.append([dt])
            size = n
    return batches


@dataclass
class ScanStats:
    """What the row pass did (logged; the bench and a test read it)."""

    batches: int = 0
    largest_batch_rows: int = 0
    candidate_rows: int = 0
    gx_frames: int = 0
    largest_frame_rows: int = 0
    rows: int = 0


@dataclass
class RowScan:
    """One entity's row pass over its partitions (see the module docstring).

    ``source(dts)`` is the SQL of a batch's rows (every column, ``_gate_dt``, derived columns, ``TIE_BREAK``);
    ``order_key`` = [``_gate_dt``, key…]; ``accs`` the accumulators of ``configs`` (GX suite ``gx_suite``).
    """

    con: duckdb.DuckDBPyConnection
    validator: Validator
    gx_suite: Any
    configs: list[dict[str, Any]]
    accs: list[Accumulator]
    parameters: dict[str, Any]
    source: Callable[[list[date]], str]
    order_key: list[str]
    limit: int
    keep_rows: int
    on_partition_done: Callable[[date], None]
    stats: ScanStats = field(default_factory=ScanStats)
    candidates_in_sql: bool = True  # False: every row is a candidate (GX sees every row; the reference path)
    _buffer: list[pd.DataFrame] = field(default_factory=list)
    _buffered: int = 0
    _pending: list[Counts] = field(default_factory=list)  # DuckDB's counts not yet added (per accumulator)

    def __post_init__(self) -> None:
        self._pending = [Counts() for _ in self.accs]

    def run(self, batches: list[list[date]]) -> int:
        """Validate every batch; returns the rows counted. Raises ``duckdb.Error`` when a batch cannot be read."""
        offset, last_src = 0, ""
        pending: list[date] = []  # partitions whose candidate rows may still be in the buffer
        for dts in batches:
            src = self.source(dts)
            types = {name: ctype for name, ctype, *_ in self.con.execute(f"DESCRIBE {src}").fetchall()}
            pushes = [pushdown(c, types, self.parameters) for c in self.configs]
            if not self.candidates_in_sql:
                pushes = [Pushdown(None, p.missing) for p in pushes]
            last_src = src
            n, candidates = self._count(src, dts, pushes)
            self.stats.batches += 1
            self.stats.largest_batch_rows = max(self.stats.largest_batch_rows, n)
            if candidates:
                self._fetch_candidates(src, pushes, offset)
            offset += n
            pending += dts
            if self._buffered >= self.limit:
                self._flush()
            if not self._buffer:
                for dt in pending:
                    self.on_partition_done(dt)
                pending = []
        self._flush()
        if not self.stats.gx_frames and batches:  # nothing may fail: GX still judges (an empty frame of the columns)
            self._validate(
                self.con.execute(f"SELECT * EXCLUDE ({', '.join(TIE_BREAK)}) FROM ({last_src}) LIMIT 0").fetch_df_chunk(
                    1, date_as_object=True
                )
            )
        for i, acc in enumerate(self.accs):  # the batches after the last frame GX judged
            acc.add_counts(self._pending[i])
            self._pending[i] = Counts()
        for dt in pending:
            self.on_partition_done(dt)
        self.stats.rows = offset
        return offset

    def _count(self, src: str, dts: list[date], pushes: list[Pushdown]) -> tuple[int, bool]:
        """DuckDB counts rows and missing values per partition into the accumulators; (rows, any candidate)."""
        plain = any_of([p.candidates for p in pushes if not p.unique])
        missing = [(i, p.missing) for i, p in enumerate(pushes) if p.missing]
        cols = ["count(*)", f"count(*) FILTER (WHERE {plain})"] + [f"count(*) FILTER (WHERE {m})" for _, m in missing]
        rows = self.con.execute(f"SELECT {GROUP_COLUMN}, {', '.join(cols)} FROM ({src}) GROUP BY ALL").fetchall()
        dups = 0
        uniques = sorted({p.unique for p in pushes if p.unique})
        if uniques:
            subs = [
                f"(SELECT count(*) FROM (SELECT 1 FROM src GROUP BY {', '.join(quote(c) for c in u)} "
                "HAVING count(*) > 1))"
                for u in uniques
            ]
            dups = sum(one_row(self.con, f"WITH src AS ({src}) SELECT {', '.join(subs)}"))
        by_dt = {r[0]: r for r in rows}
        per_part = {dt: int(by_dt[dt][1]) if dt in by_dt else 0 for dt in dts}
        for i in range(len(self.accs)):
            m = next((k for k, (j, _) in enumerate(missing) if j == i), None)
            counts = self._pending[i]
            for dt, n in per_part.items():
                if n:
                    counts.rows[dt] = counts.rows.get(dt, 0) + n
                if m is not None and dt in by_dt and by_dt[dt][3 + m]:
                    counts.missing[dt] = counts.missing.get(dt, 0) + int(by_dt[dt][3 + m])
        total = sum(per_part.values())
        return total, plain == "TRUE" or dups > 0 or any(int(r[2]) for r in rows)

    def _fetch_candidates(self, src: str, pushes: list[Pushdown], offset: int) -> None:
        order = ", ".join(quote(k) for k in [*self.order_key, *TIE_BREAK])
        cand = any_of([p.candidates for p in pushes])
        query = (
            f"SELECT * EXCLUDE (_gate_candidate, {', '.join(TIE_BREAK)}) FROM (SELECT *, row_number() OVER "
            f"(ORDER BY {order}) - 1 + {offset} AS {ROW_COLUMN}, ({cand}) AS _gate_candidate FROM ({src})) "
            f"WHERE _gate_candidate ORDER BY {ROW_COLUMN}"
        )
        for frame in key_chunks(self.con.execute(query), self.order_key, self.limit, index_column=ROW_COLUMN):
            if not len(frame):
                continue
            self.stats.candidate_rows += len(frame)
            self._buffer.append(frame)
            self._buffered += len(frame)
            if self._buffered >= self.limit:
                self._flush()

    def _flush(self) -> None:
        if not self._buffer:
            return
        df = self._buffer[0] if len(self._buffer) == 1 else pd.concat(self._buffer)
        self._buffer, self._buffered = [], 0
        self._validate(df)

    def _validate(self, df: pd.DataFrame) -> None:
        self.stats.gx_frames += 1
        self.stats.largest_frame_rows = max(self.stats.largest_frame_rows, len(df))
        grouping = frame_groups(df)
        for i, (acc, res) in enumerate(zip(self.accs, self.validator.validate(df, self.gx_suite, self.parameters))):
            acc.add(res, df, keep_rows=self.keep_rows, grouping=grouping, counts=Counts())
            acc.add_counts(self._pending[i])  # after a GX result: it says whether the expectation counts rows
            self._pending[i] = Counts()
