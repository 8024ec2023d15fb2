"""What the pipeline's steps hand each other: one dataclass per step, and one JSON form of each.

The Airflow tasks, the command line (``douyin-etl run``) and the run report share these types.
``to_dict()`` gives the JSON form (what an Airflow task returns to XCom and what the step records in
``<state>/runs/<run_id>/steps/<step>.json``); ``from_dict()`` reads it back. Nothing else guesses at a
result's shape.

    Plan            a run: its id, business days, the partitions it lands (first step of every run)
    ExtractResult   one entity landed over the plan's days          (steps.extract_entity_days)
    GateResult      a quality gate (``quality.results.GateResult``)  (steps.landing_gate, steps.mart_gate)
    BuildResult     ``dbt build`` into the audit copy                (steps.build_audit)
    PublishResult   the audited copy swapped in (``warehousing.wap.PublishResult``)  (steps.publish)

``GateResult`` and ``PublishResult`` live beside the code that makes them; importing this module
imports neither (DAG files import it at parse time: no DuckDB, no GX).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any


def _day(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def _day_or_none(value: date | str | None) -> date | None:
    return None if value is None else _day(value)


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


@dataclass(frozen=True)
class Plan:
    """A run: business days ``start``..``end`` (Asia/Shanghai) and each entity's partitions to land.

    ``source``: schedule (a daily DAG run), assets (triggered by landed-entity events), manual (a
    manual transform, conf start/end) or run_range (the command line). ``rows``: rows landed per entity
    as the triggering events said (assets only).
    """

    run_id: str
    start: date
    end: date
    partitions: dict[str, list[date]]
    source: str
    rows: dict[str, int] = field(default_factory=dict)
    full_refresh: bool = False
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}; give --start <= --end")

    @property
    def as_of(self) -> date:
        """The interval's last day (the marts are built as of it, or of a later published horizon)."""
        return self.end

    @property
    def window_start(self) -> date:
        """The first day the run rebuilds: ``start``, or an earlier look-back partition it re-lands."""
        return min([self.start, *(d for days in self.partitions.values() for d in days)])

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "as_of": self.as_of.isoformat(),
            "source": self.source,
            "full_refresh": self.full_refresh,
            "partitions": {k: [d.isoformat() for d in v] for k, v in sorted(self.partitions.items())},
            "rows": dict(sorted(self.rows.items())),
            "started_at": self.started_at,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Plan:
        return cls(
            run_id=d["run_id"],
            start=_day(d["start"]),
            end=_day(d["end"]),
            partitions={k: sorted({_day(x) for x in v}) for k, v in d["partitions"].items()},
            source=d["source"],
            rows={k: int(v) for k, v in d.get("rows", {}).items()},
            full_refresh=bool(d.get("full_refresh", False)),
            started_at=d["started_at"],
        )


@dataclass
class ExtractResult:
    """One entity landed over a list of business days (one partition per day, replaced atomically).

    ``rows``: rows of ``entity`` landed; ``partitions``: its rows per day; ``landed``: rows per entity
    this extraction landed (shop_order lands sku_order too; an alias such as sku_order lands nothing
    itself); ``quarantined``: rows a file ingestion quarantined; ``details``: the extractor's own
    summary per day, as it returned it (requests, retries, files, drift…); ``error``: why it stopped.
    """

    entity: str
    family: str
    days: list[date] = field(default_factory=list)
    rows: int = 0
    quarantined: int = 0
    partitions: dict[date, int] = field(default_factory=dict)
    landed: dict[str, int] = field(default_factory=dict)
    details: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "entity": self.entity,
            "family": self.family,
            "days": [d.isoformat() for d in self.days],
            "rows": self.rows,
            "quarantined": self.quarantined,
            "partitions": {d.isoformat(): n for d, n in self.partitions.items()},
            "landed": dict(self.landed),
            "details": list(self.details),
            "seconds": self.seconds,
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ExtractResult:
        return cls(
            entity=d["entity"],
            family=d["family"],
            days=[_day(x) for x in d["days"]],
            rows=int(d["rows"]),
            quarantined=int(d["quarantined"]),
            partitions={_day(k): int(v) for k, v in d["partitions"].items()},
            landed={k: int(v) for k, v in d["landed"].items()},
            details=list(d["details"]),
            seconds=float(d["seconds"]),
            error=d.get("error"),
        )


@dataclass
class BuildResult:
    """``dbt build`` into the run's audit copy of the warehouse (write-audit-publish).

    ``as_of``: the marts' horizon (the interval's last day, or the published horizon when later);
    ``window_start``..``interval_end``: the interval rebuilt; ``tests_since``: the day the windowed data
    tests (and the mart gate's windowed checks) read from (None: whole history); ``dbt``: the dbt run's
    summary (``DbtResult.summary()``); ``error``: why no build happened (e.g. the warehouse was taken).
    """

    audit_path: str | None
    as_of: date
    window_start: date
    interval_end: date
    tests_since: date | None = None
    published_horizon: date | None = None
    full_refresh: bool = False
    ok: bool = False
    dbt: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "audit_path": self.audit_path,
            "as_of": self.as_of.isoformat(),
            "window_start": self.window_start.isoformat(),
            "tests_since": _iso(self.tests_since),
            "interval_end": self.interval_end.isoformat(),
            "published_horizon": _iso(self.published_horizon),
            "full_refresh": self.full_refresh,
            "ok": self.ok,
            "dbt": dict(self.dbt),
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BuildResult:
        return cls(
            audit_path=d["audit_path"],
            as_of=_day(d["as_of"]),
            window_start=_day(d["window_start"]),
            interval_end=_day(d["interval_end"]),
            tests_since=_day_or_none(d["tests_since"]),
            published_horizon=_day_or_none(d["published_horizon"]),
            full_refresh=bool(d["full_refresh"]),
            ok=bool(d["ok"]),
            dbt=dict(d["dbt"]),
            error=d.get("error"),
        )
