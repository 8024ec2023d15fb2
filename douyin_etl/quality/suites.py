"""Load the reviewed expectation suites (GX 1.x ExpectationSuite JSON) from ``expectations/``.

``expectations/landing/<entity>.json`` — one per landed entity (see ``suitegen``);
``expectations/marts/<check>.json`` — a SQL query over the audit warehouse (``meta.sql``) whose small
result frame the expectations validate;
``expectations/cross/<check>.json`` — the same shape over the lake, run by the landing gate on the
run's days: identities between sources (fund flow vs settlement bills, shipments vs orders, …). Each expectation's ``meta``:

- ``severity``: ``error`` (blocks the run) or ``warning`` (reported); default ``error``.
- ``batch``: ``rows`` (default) or ``schema`` (a one-row frame: column -> DuckDB type).
- ``description``: what the check means, shown in the report.

Expectations on the ``rows`` batch of a landing suite are validated chunk by chunk, so only types
whose results add up across chunks are allowed there: column/pair/multicolumn *map* expectations
(row by row) and ``expect_table_row_count_to_be_between`` (counts add). Anything else belongs in a
mart check (a SQL aggregate over the whole data) — the loader says so.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from douyin_etl import config

BATCHES = ("rows", "schema")
ADDITIVE_TABLE_TYPES = {"expect_table_row_count_to_be_between"}
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


class SuiteError(ValueError):
    """A suite file is malformed; the message names the file and the expectation."""


@dataclass
class Suite:
    name: str
    path: Path
    meta: dict[str, Any]
    expectations: list[dict[str, Any]]
    _gx: dict[str, Any] = field(default_factory=dict, repr=False)

    def configs(self, batch: str) -> list[dict[str, Any]]:
        return [e for e in self.expectations if e.get("meta", {}).get("batch", "rows") == batch]

    def gx_suite(self, batch: str):
        """The GX ``ExpectationSuite`` of one batch kind (built once)."""
        if batch not in self._gx:
            import great_expectations as gx
            from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

            # meta._index ties each GX result back to its configuration (GX does not keep suite order)
            exps = [
                ExpectationConfiguration(
                    type=e["type"], kwargs=dict(e.get("kwargs", {})), meta={**e.get("meta", {}), "_index": i}
                ).to_domain_obj()
                for i, e in enumerate(self.configs(batch))
            ]
            self._gx[batch] = gx.ExpectationSuite(name=f"{self.name}.{batch}", expectations=exps)
        return self._gx[batch]

    def parameters(self) -> dict[str, Any]:
        """Suite parameters (``$PARAMETER`` values): ``meta.parameters`` defaults, env ``DOUYIN_GATE_<NAME>`` overrides."""
        out: dict[str, Any] = {}
        for name, default in (self.meta.get("parameters") or {}).items():
            raw = os.environ.get(f"DOUYIN_GATE_{name.upper()}")
            out[name] = type(default)(raw) if raw is not None and default is not None else default
        return out


def substitute(sql: str, values: dict[str, Any], where: str) -> str:
    """Replace ``{name}`` placeholders (only known names; other braces are left alone)."""

    def repl(m: re.Match[str]) -> str:
        key = m.group(1)
        if key not in values:
            return m.group(0)
        return str(values[key]).replace("'", "''")

    return _PLACEHOLDER.sub(repl, sql)


def _check_expectation(path: Path, i: int, e: dict[str, Any], chunked: bool) -> None:
    where = f"{path} expectation #{i} ({e.get('type')})"
    if not isinstance(e, dict) or "type" not in e:
        raise SuiteError(f"{where}: each expectation needs a 'type' and 'kwargs'")
    meta = e.setdefault("meta", {})
    severity = meta.setdefault("severity", "error")
    if severity not in ("error", "warning"):
        raise SuiteError(f"{where}: meta.severity must be 'error' or 'warning', not {severity!r}")
    batch = meta.setdefault("batch", "rows")
    if batch not in BATCHES:
        raise SuiteError(f"{where}: meta.batch must be one of {BATCHES}, not {batch!r}")
    from great_expectations.expectations.expectation import (
        ColumnMapExpectation,
        ColumnPairMapExpectation,
        MulticolumnMapExpectation,
    )
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    try:
        obj = ExpectationConfiguration(type=e["type"], kwargs=dict(e.get("kwargs", {})), meta=meta).to_domain_obj()
    except Exception as exc:  # GX raises several types for unknown names / bad kwargs
        raise SuiteError(f"{where}: not a valid GX 1.x expectation: {exc}") from exc
    if chunked and batch == "rows":
        additive = isinstance(obj, (ColumnMapExpectation, ColumnPairMapExpectation, MulticolumnMapExpectation))
        if not additive and e["type"] not in ADDITIVE_TABLE_TYPES:
            raise SuiteError(
                f"{where}: cannot be combined across chunks; use a map expectation or move the "
                "aggregate into a mart check (expectations/marts/) computed in SQL"
            )


def load_suite(path: Path, *, chunked: bool) -> Suite:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise
    except json.JSONDecodeError as exc:
        raise SuiteError(f"{path}: not valid JSON ({exc}); fix the file") from exc
    exps = data.get("expectations")
    if not isinstance(exps, list):
        raise SuiteError(f"{path}: needs an 'expectations' list")
    for i, e in enumerate(exps):
        _check_expectation(Path(path), i, e, chunked)
    return Suite(
        name=data.get("name") or Path(path).stem, path=Path(path), meta=data.get("meta") or {}, expectations=exps
    )


def expectations_dir() -> Path:
    return Path(os.environ.get("DOUYIN_EXPECTATIONS_DIR") or config.EXPECTATIONS_DIR)


@lru_cache(maxsize=64)
def _landing_suite_cached(path: str, mtime: float) -> Suite:
    return load_suite(Path(path), chunked=True)


def landing_suite(entity: str, base: Path | None = None) -> Suite:
    path = (base or expectations_dir()) / "landing" / f"{entity}.json"
    if not path.exists():
        raise SuiteError(
            f"no landing suite for {entity!r}: expected {path} (generate it with "
            "`python -m douyin_etl.quality.suitegen` and review it)"
        )
    return _landing_suite_cached(str(path), path.stat().st_mtime)


def mart_suites(base: Path | None = None) -> list[Suite]:
    folder = (base or expectations_dir()) / "marts"
    return [load_suite(p, chunked=False) for p in sorted(folder.glob("*.json"))]


def cross_suites(base: Path | None = None) -> list[Suite]:
    """The cross-source checks over the lake (``expectations/cross/*.json``); each needs ``meta.sql`` and
    ``meta.entities`` (the landed entities whose run days it judges)."""
    folder = (base or expectations_dir()) / "cross"
    suites = [load_suite(p, chunked=False) for p in sorted(folder.glob("*.json"))]
    for suite in suites:
        if not suite.meta.get("sql") or not suite.meta.get("entities"):
            raise SuiteError(f"{suite.path}: a cross-source check needs meta.sql and meta.entities")
    return suites
