"""GX 1.x on pandas frames: one ephemeral context per gate, chunk results combined exactly.

GX's SQL datasource fails silently on DuckDB (stack-notes), so data reach GX as pandas frames that
DuckDB produced. A partition is validated in chunks; ``Accumulator`` adds the per-chunk results up:
map expectations add their element/unexpected/missing counts (and success is recomputed from the
sums and ``mostly``), ``expect_table_row_count_to_be_between`` adds observed counts and re-checks
its bounds. Uniqueness is only additive when every key's rows are in the same chunk: the gate feeds
chunks sorted by the key and never splits a key across chunks (see ``gates.key_chunks``). When
DuckDB counts the rows (``Counts``, ``Accumulator.add_counts``), the frames hold only the rows that
may fail (``quality.pushdown``) and GX judges those.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from douyin_etl.quality.results import jsonable

log = logging.getLogger(__name__)
MAX_EXAMPLES = 5


class Validator:
    """An ephemeral GX context (analytics and progress bars off) validating pandas frames."""

    def __init__(self) -> None:
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
        main = sys.modules.get("__main__")
        if main is not None and getattr(main, "__spec__", None) is None and not hasattr(main, "__file__"):
            # A spawned process (``python -c …``: the gate's workers) has a __main__ with neither. GX imports
            # pyspark when it is installed (the scale extras), and pyspark takes such a process for a
            # doctest run and exits it (sys.exit(0)) unless its own test helpers are importable.
            main.__file__ = "<douyin_etl>"
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        logging.getLogger("great_expectations").setLevel(logging.WARNING)
        # GX fingerprints every pandas batch (an md5 over pd.util.hash_pandas_object) for its batch
        # markers, which we never use; on string columns that costs more than the validation itself
        # (measured: ~60 % of the gate's time at 200k-row chunks). Frames above HASH_THRESHOLD bytes
        # skip it, so set the threshold to 0.
        try:
            from great_expectations.execution_engine import pandas_execution_engine

            pandas_execution_engine.HASH_THRESHOLD = 0
        except (ImportError, AttributeError):  # a GX without the fingerprint: nothing to switch off
            pass
        self.context = gx.get_context(mode="ephemeral")
        try:
            self.context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        except Exception:  # cosmetic only
            pass
        asset = self.context.data_sources.add_pandas("douyin_frames").add_dataframe_asset("frame")
        self._batch_definition = asset.add_batch_definition_whole_dataframe("whole_frame")

    def validate(self, df: pd.DataFrame, suite: Any, parameters: dict[str, Any] | None = None) -> list[Any]:
        """Validate ``df`` against a GX suite; returns the ExpectationValidationResults in suite order."""
        batch = self._batch_definition.get_batch(batch_parameters={"dataframe": df})
        result = batch.validate(
            suite, result_format={"result_format": "COMPLETE"}, expectation_parameters=parameters or {}
        )
        # GX does not keep the suite's order: put results back by the index stored in meta.
        results = sorted(result.results, key=lambda r: (r.expectation_config.meta or {}).get("_index", 0))
        if [(r.expectation_config.meta or {}).get("_index") for r in results] != list(range(len(suite.expectations))):
            raise RuntimeError(
                f"GX returned {len(results)} results for {len(suite.expectations)} expectations of {suite.name}"
            )
        return results


def _columns_of(kwargs: dict[str, Any]) -> list[str]:
    if "column" in kwargs:
        return [kwargs["column"]]
    if "column_list" in kwargs:
        return list(kwargs["column_list"])
    return [kwargs[k] for k in ("column_A", "column_B") if k in kwargs]


def _exception_text(res: Any) -> str | None:
    info = res.exception_info or {}
    if isinstance(info, dict) and info.get("raised_exception"):
        return str(info.get("exception_message"))
    if isinstance(info, dict):  # GX nests per-metric exception infos
        for v in info.values():
            if isinstance(v, dict) and v.get("raised_exception"):
                return str(v.get("exception_message"))
    return None


@dataclass
class Tally:
    """One expectation's combined result for one partition (``dt``) or one frame (``dt=None``)."""

    element_count: int = 0
    unexpected_count: int = 0
    missing_count: int = 0
    observed: Any = None
    examples: list[dict[str, Any]] = field(default_factory=list)
    failing_rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # not yet handed to quarantine
    kept: int = 0  # failing rows kept for quarantine so far (capped by ``keep_rows``)


GROUP_COLUMN = "_gate_dt"  # partition of each row when several partitions share a frame


@dataclass
class Counts:
    """Rows per partition, and missing values (NULL/NaN) of one expectation's column per partition."""

    rows: dict[Any, int] = field(default_factory=dict)
    missing: dict[Any, int] = field(default_factory=dict)


@dataclass
class Accumulator:
    """Combined result of one expectation over all chunks, split by partition (the ``_gate_dt`` column).

    Map expectations add element/unexpected/missing counts per partition (the failing row numbers
    tell which partition a failure belongs to); ``expect_table_row_count_to_be_between`` adds row
    counts; other (table-level) results are shared by every partition in the frame.
    """

    config: dict[str, Any]
    example_columns: list[str] = field(default_factory=list)
    collect_rows: bool = False  # keep failing rows (error severity) for quarantine
    tallies: dict[Any, Tally] = field(default_factory=dict)
    shared: Tally = field(default_factory=Tally)  # table-level observed value (schema / mart frames)
    chunk_success: bool = True
    exception: str | None = None
    is_map: bool = False

    @property
    def type(self) -> str:
        return self.config["type"]

    @property
    def kwargs(self) -> dict[str, Any]:
        return self.config.get("kwargs", {})

    @property
    def meta(self) -> dict[str, Any]:
        return self.config.get("meta", {})

    def tally(self, group: Any) -> Tally:
        return self.tallies.setdefault(group, Tally())

    def add(
        self,
        res: Any,
        df: pd.DataFrame,
        keep_rows: int,
        grouping: tuple[pd.Series, dict[Any, int]] | None = None,
        counts: Counts | None = None,
    ) -> None:
        """Add one frame's GX result. ``counts`` (rows and missing values per partition, computed by DuckDB
        over every row) replace the frame's own when ``df`` holds only the rows that may fail (the gate's
        candidate rows); GX's unexpected rows are then those of the frame."""
        r = res.result or {}
        exc = _exception_text(res)
        if exc:
            self.exception = self.exception or exc
        if not res.success:
            self.chunk_success = False
        groups, sizes = grouping or frame_groups(df)
        if counts is not None:
            sizes = counts.rows
        if "unexpected_count" in r:
            self.is_map = True
            for g, n in sizes.items():
                self.tally(g).element_count += int(n)
            col = self.kwargs.get("column")
            if counts is not None:
                for g, n in counts.missing.items():
                    self.tally(g).missing_count += int(n)
            elif col in df.columns and self.type != "expect_column_values_to_not_be_null":
                for i in df.index[df[col].isna().to_numpy()]:
                    self.tally(groups.at[i]).missing_count += 1
            idx = r.get("unexpected_index_list") or []
            if idx and isinstance(idx[0], dict):  # GX gives dicts when index columns are named; not used here
                idx = []
            if len(idx) != int(r.get("unexpected_count") or 0):
                # cannot attribute failures to partitions: count them on the frame's first group
                first = next(iter(sizes), None)
                self.tally(first).unexpected_count += int(r.get("unexpected_count") or 0)
                return
            cols = [c for c in dict.fromkeys(self.example_columns + _columns_of(self.kwargs)) if c in df.columns]
            for i in idx:
                t = self.tally(groups.at[i])
                t.unexpected_count += 1
                if len(t.examples) < MAX_EXAMPLES:
                    t.examples.append({"_row": jsonable(i), **{c: jsonable(df.at[i, c]) for c in cols}})
                if self.collect_rows and t.kept < keep_rows:
                    t.failing_rows.append((int(i), df.loc[i].to_dict()))
                    t.kept += 1
        elif self.type == "expect_table_row_count_to_be_between":
            for g, n in sizes.items():
                t = self.tally(g)
                t.element_count += int(n)
                t.observed = (t.observed or 0) + int(n)
        else:
            self.shared.observed = r.get("observed_value")
            if not res.success and r.get("partial_unexpected_list"):
                self.shared.examples = [{"value": jsonable(v)} for v in r["partial_unexpected_list"][:MAX_EXAMPLES]]
            elif not res.success and "details" in r:
                self.shared.examples = [jsonable(r["details"])]

    def add_counts(self, counts: Counts) -> None:
        """Rows and missing values per partition counted by DuckDB over every row (the frames GX sees then
        hold only candidate rows and are added with ``counts=Counts()``). Needs one GX result first
        (``is_map`` comes from it: an expectation that raised on the columns counts nothing, as before)."""
        if self.type == "expect_table_row_count_to_be_between":
            for g, n in counts.rows.items():
                t = self.tally(g)
                t.element_count += int(n)
                t.observed = (t.observed or 0) + int(n)
        elif self.is_map:
            for g, n in counts.rows.items():
                self.tally(g).element_count += int(n)
            for g, n in counts.missing.items():
                self.tally(g).missing_count += int(n)

    def result_for(self, group: Any, parameters: dict[str, Any] | None = None) -> tuple[bool, Tally]:
        """(success, tally) of one partition (``group``); a partition without rows gets an empty tally."""
        if self.type == "expect_table_row_count_to_be_between":
            t = self.tallies.get(group) or Tally(observed=0)
            lo = _param(self.kwargs.get("min_value"), parameters)
            hi = _param(self.kwargs.get("max_value"), parameters)
            n = t.observed or 0
            t.observed = n
            return not self.exception and (lo is None or n >= lo) and (hi is None or n <= hi), t
        if self.is_map:
            t = self.tallies.get(group) or Tally()
            if self.exception:
                return False, t
            mostly = self.kwargs.get("mostly", 1.0)
            if mostly >= 1.0:
                return t.unexpected_count == 0, t
            nonmissing = t.element_count - t.missing_count
            return nonmissing == 0 or (nonmissing - t.unexpected_count) / nonmissing >= mostly, t
        # table-level results (schema frames, mart frames) and expectations that raised
        return self.chunk_success and not self.exception, self.shared

    def observed_value(self, t: Tally) -> Any:
        if self.is_map:
            cols = _columns_of(self.kwargs)
            return {
                "unexpected": t.unexpected_count,
                "rows": t.element_count,
                "values": [e.get(cols[0]) if len(cols) == 1 else {c: e.get(c) for c in cols} for e in t.examples],
            }
        return jsonable(t.observed)


def frame_groups(df: pd.DataFrame) -> tuple[pd.Series, dict[Any, int]]:
    """(partition of each row, rows per partition) of a frame; computed once per frame."""
    if GROUP_COLUMN in df.columns:
        groups = df[GROUP_COLUMN]
        return groups, (groups.value_counts().to_dict() if len(df) else {})
    return pd.Series([None] * len(df), index=df.index, dtype=object), ({None: len(df)} if len(df) else {})


def _param(value: Any, parameters: dict[str, Any] | None) -> Any:
    if isinstance(value, dict) and "$PARAMETER" in value:
        return (parameters or {}).get(value["$PARAMETER"])
    return value
