"""GX 1.x on pandas frames: one ephemeral context per gate, chunk results combined exactly.

GX's SQL datasource fails silently on DuckDB (stack-notes), so data reach GX as pandas frames that
DuckDB produced. A partition is validated in chunks; ``Accumulator`` adds the per-chunk results up:
map expectations add their element/unexpected/missing counts (and success is recomputed from the
sums and ``mostly``), ``expect_table_row_count_to_be_between`` adds observed counts and re-checks
its bounds. Uniqueness is only additive when every key's rows are in the same chunk: the gate feeds
chunks sorted by the key and never splits a key across chunks (see ``gates.key_chunks``).
"""

from __future__ import annotations

import logging
import os
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
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        logging.getLogger("great_expectations").setLevel(logging.WARNING)
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
        result = batch.validate(suite, result_format={"result_format": "COMPLETE"},
                                expectation_parameters=parameters or {})
        # GX does not keep the suite's order: put results back by the index stored in meta.
        results = sorted(result.results, key=lambda r: (r.expectation_config.meta or {}).get("_index", 0))
        if [(r.expectation_config.meta or {}).get("_index") for r in results] != list(range(len(suite.expectations))):
            raise RuntimeError(f"GX returned {len(results)} results for {len(suite.expectations)} expectations of {suite.name}")
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
class Accumulator:
    """Combined result of one expectation over all chunks of one partition (or one frame)."""

    config: dict[str, Any]
    example_columns: list[str] = field(default_factory=list)
    element_count: int = 0
    unexpected_count: int = 0
    missing_count: int = 0
    observed: Any = None
    chunk_success: bool = True
    exception: str | None = None
    examples: list[dict[str, Any]] = field(default_factory=list)
    collect_rows: bool = False  # keep failing rows (error severity) for quarantine
    failing_rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    is_map: bool = False
    chunks: int = 0

    @property
    def type(self) -> str:
        return self.config["type"]

    @property
    def kwargs(self) -> dict[str, Any]:
        return self.config.get("kwargs", {})

    @property
    def meta(self) -> dict[str, Any]:
        return self.config.get("meta", {})

    def add(self, res: Any, df: pd.DataFrame, keep_index: int) -> None:
        self.chunks += 1
        r = res.result or {}
        exc = _exception_text(res)
        if exc:
            self.exception = self.exception or exc
        if not res.success:
            self.chunk_success = False
        if "unexpected_count" in r:
            self.is_map = True
            self.element_count += int(r.get("element_count") or 0)
            self.unexpected_count += int(r.get("unexpected_count") or 0)
            self.missing_count += int(r.get("missing_count") or 0)
            idx = r.get("unexpected_index_list") or []
            if idx and not isinstance(idx[0], dict):
                if self.collect_rows and len(self.failing_rows) < keep_index:
                    for i in idx[: keep_index - len(self.failing_rows)]:
                        self.failing_rows.append((int(i), df.loc[i].to_dict()))
                if len(self.examples) < MAX_EXAMPLES:
                    cols = [c for c in dict.fromkeys(self.example_columns + _columns_of(self.kwargs)) if c in df.columns]
                    for i in idx[: MAX_EXAMPLES - len(self.examples)]:
                        self.examples.append({"_row": jsonable(i), **{c: jsonable(df.at[i, c]) for c in cols}})
            elif len(self.examples) < MAX_EXAMPLES:
                for v in (r.get("partial_unexpected_list") or [])[: MAX_EXAMPLES - len(self.examples)]:
                    self.examples.append(v if isinstance(v, dict) else {"value": jsonable(v)})
        elif self.type == "expect_table_row_count_to_be_between":
            self.observed = (self.observed or 0) + int(r.get("observed_value") or 0)
            self.element_count = self.observed
        else:
            self.observed = r.get("observed_value")
            if not res.success and "details" in r:
                self.examples = [jsonable(r["details"])]
            if not res.success and r.get("partial_unexpected_list"):
                self.examples = [{"value": jsonable(v)} for v in r["partial_unexpected_list"][:MAX_EXAMPLES]]

    def success(self, parameters: dict[str, Any] | None = None) -> bool:
        if self.exception:
            return False
        if self.is_map:
            mostly = self.kwargs.get("mostly", 1.0)
            if mostly >= 1.0:
                return self.unexpected_count == 0
            nonmissing = self.element_count - self.missing_count
            return nonmissing == 0 or (nonmissing - self.unexpected_count) / nonmissing >= mostly
        if self.type == "expect_table_row_count_to_be_between":
            lo = _param(self.kwargs.get("min_value"), parameters)
            hi = _param(self.kwargs.get("max_value"), parameters)
            n = self.observed or 0
            return (lo is None or n >= lo) and (hi is None or n <= hi)
        return self.chunk_success

    def observed_value(self) -> Any:
        if self.is_map:
            return {"unexpected": self.unexpected_count, "rows": self.element_count,
                    "values": [e.get(_columns_of(self.kwargs)[0]) if _columns_of(self.kwargs) else e for e in self.examples]}
        return jsonable(self.observed)


def _param(value: Any, parameters: dict[str, Any] | None) -> Any:
    if isinstance(value, dict) and "$PARAMETER" in value:
        return (parameters or {}).get(value["$PARAMETER"])
    return value
