"""Results of the quality gates: one ``CheckResult`` per expectation × partition, a ``GateResult`` per gate."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime
from decimal import Decimal
from typing import Any

SEVERITIES = ("error", "warning")


def jsonable(value: Any) -> Any:
    """Make a value from pandas/numpy/DuckDB safe for JSON (and readable in the report)."""
    if value is None:
        return None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, (str,)):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalar
        try:
            return jsonable(value.item())
        except (ValueError, TypeError):
            pass
    try:
        import pandas as pd

        if value is pd.NA or value is pd.NaT:
            return None
        if isinstance(value, pd.Timestamp):
            return value.isoformat()
    except ImportError:  # pragma: no cover
        pass
    return str(value)


@dataclass
class CheckResult:
    suite: str
    expectation_type: str
    severity: str
    success: bool
    entity: str | None = None
    dt: str | None = None
    column: str | None = None
    description: str | None = None
    observed_value: Any = None
    element_count: int | None = None
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    examples: list[dict[str, Any]] = field(default_factory=list)  # at most 5 failing rows
    exception: str | None = None
    quarantined: int = 0
    batch: str | None = None  # rows | schema (landing); rows (marts)

    @property
    def blocking(self) -> bool:
        return not self.success and self.severity == "error"

    def to_dict(self) -> dict[str, Any]:
        return jsonable(asdict(self))

    def line(self, examples: int = 3) -> str:
        """One line: suite, where, what failed, and the failing rows (file + row, key, value) it found."""
        where = " ".join(x for x in (self.entity, self.dt) if x)
        text = (
            f"{self.suite} {where}: {self.expectation_type}({self.column or ''}) {self.description or ''} "
            f"unexpected={self.unexpected_count} {self.exception or ''}"
        ).rstrip()
        shown = [example_text(e) for e in self.examples[:examples]]
        if shown:
            text += " | rows: " + "; ".join(shown)
        elif self.observed_value is not None and not self.exception:
            text += f" observed={self.observed_value}"
        return text


def example_text(example: dict[str, Any]) -> str:
    """``file#row: key=…, column=value`` of one failing example (the source reference first)."""
    ref = example.get("_source_ref") or example.get("source_ref") or example.get("example_source_ref")
    rest = ", ".join(
        f"{k}={v}" for k, v in example.items() if k not in ("_row", "_source_ref", "source_ref", "example_source_ref")
    )
    return f"{ref}: {rest}" if ref else rest


@dataclass
class GateResult:
    gate: str  # landing | mart
    run_id: str
    checks: list[CheckResult] = field(default_factory=list)
    seconds: float = 0.0
    rows_validated: int = 0
    partitions: int = 0
    quarantined: int = 0
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # small informational frames
    scans: dict[str, Any] = field(default_factory=dict)  # landing: entity -> rowscan.ScanStats (how rows were read)
    since: str | None = None  # mart gate: the windowed checks read rows from this day on (None: whole history)
    # set by the pipeline's steps (orchestration.steps): the partitions this landing gate blocked, and the
    # mart gate's reconciliation counts (status[/reason] -> SKU order lines); None: not this gate's business
    blocked_partitions: list[dict[str, Any]] | None = None
    reconciliation: dict[str, int] | None = None

    @property
    def ok(self) -> bool:
        return not any(c.blocking for c in self.checks)

    @property
    def blocking(self) -> list[CheckResult]:
        return [c for c in self.checks if c.blocking]

    @property
    def warnings(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.success and c.severity == "warning"]

    def summary(self) -> str:
        failed = self.blocking
        scope = f" (window from {self.since})" if self.since else ""
        text = (
            f"{self.gate} gate{scope} {'passed' if self.ok else 'BLOCKED'}: {len(self.checks)} checks, "
            f"{len(failed)} blocking, {len(self.warnings)} warnings, {self.rows_validated:,} rows, "
            f"{self.quarantined} rows quarantined, {self.seconds:.1f} s"
        )
        for c in failed[:10]:
            text += "\n  - " + c.line()
        for c in self.warnings[:5]:
            text += "\n  - warning: " + c.line()
        return text

    def to_dict(self, detail: bool = False) -> dict[str, Any]:
        """JSON-ready result. Failing checks are listed one by one (with examples); passing checks are
        collapsed per suite × expectation × column (partitions, rows, first..last day) unless ``detail``,
        which keeps the result small enough for XCom and the run report even over many partitions."""
        if detail:
            checks = [c.to_dict() for c in self.checks]
        else:
            checks = [c.to_dict() for c in self.checks if not c.success]
            passing: dict[tuple, dict[str, Any]] = {}
            for c in self.checks:
                if not c.success:
                    continue
                k = (c.suite, c.batch, c.expectation_type, c.column, c.description)
                item = passing.setdefault(
                    k,
                    {
                        "suite": c.suite,
                        "entity": c.entity,
                        "batch": c.batch,
                        "expectation_type": c.expectation_type,
                        "column": c.column,
                        "description": c.description,
                        "severity": c.severity,
                        "success": True,
                        "partitions": 0,
                        "element_count": 0,
                        "dt": None,
                        "_days": [],
                    },
                )
                item["partitions"] += 1
                item["element_count"] += int(c.element_count or 0)
                if c.dt:
                    item["_days"].append(c.dt)
                if c.expectation_type == "expect_table_row_count_to_be_between":
                    item["observed_value"] = item["element_count"]
            for item in passing.values():
                days = sorted(item.pop("_days"))
                item["dt"] = (days[0] if len(days) == 1 else f"{days[0]}..{days[-1]}") if days else None
                checks.append(item)
        out = {
            "gate": self.gate,
            "run_id": self.run_id,
            "ok": self.ok,
            "seconds": round(self.seconds, 3),
            "rows_validated": self.rows_validated,
            "partitions": self.partitions,
            "quarantined": self.quarantined,
            "blocking": len(self.blocking),
            "warnings": len(self.warnings),
            "summary": self.summary(),
            "checks": checks,
            "tables": jsonable(self.tables),
            "since": self.since,
        }
        if self.blocked_partitions is not None:
            out["blocked_partitions"] = jsonable(self.blocked_partitions)
        if self.reconciliation is not None:
            out["reconciliation"] = dict(self.reconciliation)
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GateResult:
        """Read back ``to_dict()`` (XCom, a step record). Failing checks come back one by one; passing
        ones as ``to_dict`` collapsed them (one per suite × expectation × column, ``dt`` a day range);
        ``ok`` and the blocking checks are exactly those of the gate that was written."""
        names = {f.name for f in fields(CheckResult)}
        checks = [CheckResult(**{k: v for k, v in c.items() if k in names}) for c in d["checks"]]
        return cls(
            gate=d["gate"],
            run_id=d["run_id"],
            checks=checks,
            seconds=float(d["seconds"]),
            rows_validated=int(d["rows_validated"]),
            partitions=int(d["partitions"]),
            quarantined=int(d["quarantined"]),
            tables=dict(d.get("tables") or {}),
            since=d.get("since"),
            blocked_partitions=d.get("blocked_partitions"),
            reconciliation=d.get("reconciliation"),
        )
