"""The full-history check: every data test and every mart check over the whole published warehouse.

A daily run tests only the window it rebuilt: the data tests of big models read rows from the dbt run
parameter ``tests_since`` on (``dbt_project/macros/test_window.sql``) and the mart gate's checks over
big tables read rows from ``{since}`` on (``quality.gates.run_mart_gate``). What that leaves out — a
duplicate of an old row, an old row broken by a later change — is found by this pass, run weekly by the
DAG ``douyin_full_check`` or on demand with ``douyin-etl check``:

1. ``dbt test`` (data tests, no unit tests) over the published file, opened **read-only** without the
   writer's lock (``run_dbt(read_only=True)``): the published file is only ever replaced whole, so a
   publish during the pass changes nothing for it (dbt keeps reading the version it opened). Run
   parameter ``as_of_date`` = the published horizon, no ``tests_since``: every test reads everything.
2. The mart gate over the same file, read-only, without ``since``: every check over the whole history.

Nothing is written to the warehouse. The outcome is recorded in ``<state>/checks/<check_id>/report.json``
(dbt's log and ``run_results.json`` beside it, under ``dbt/``).
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from douyin_etl import config
from douyin_etl.sqlrow import one_row

log = logging.getLogger(__name__)


@dataclass
class FullCheckResult:
    check_id: str
    warehouse: str
    published_run: str | None  # the run whose version was checked
    as_of: str  # the published horizon (YYYY-MM-DD)
    ok: bool = False
    seconds: float = 0.0
    dbt: dict[str, Any] = field(default_factory=dict)  # DbtResult.summary(), or {"skipped": reason}
    mart_gate: dict[str, Any] = field(default_factory=dict)  # GateResult.to_dict(), or {"skipped": reason}
    report_path: str | None = None

    def failures(self) -> list[str]:
        out = [f"dbt {f['unique_id']}: {f.get('message')}" for f in self.dbt.get("failures") or []]
        if self.dbt.get("error"):
            out.append(f"dbt: {self.dbt['error']}")
        if self.mart_gate and not self.mart_gate.get("skipped") and not self.mart_gate.get("ok"):
            out += [line.strip(" -") for line in str(self.mart_gate.get("summary")).split("\n")[1:]]
        return out

    def summary(self) -> str:
        counts = self.dbt.get("counts") or {}
        tests = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or self.dbt.get("skipped", "not run")
        gate = self.mart_gate.get("skipped") or str(self.mart_gate.get("summary") or "").split("\n")[0]
        text = (
            f"full check {self.check_id} of {self.warehouse} (run {self.published_run}, as of {self.as_of}): "
            f"{'passed' if self.ok else 'FAILED'} in {self.seconds:.1f} s; dbt tests: {tests}; mart gate: {gate}; "
            f"report {self.report_path}"
        )
        for line in self.failures()[:10]:
            text += "\n  - " + line
        return text

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_dir(check_id: str) -> Path:
    if not check_id or "/" in check_id or check_id in (".", ".."):
        raise ValueError(f"check id {check_id!r} must be a non-empty name without '/'")
    return config.state_dir() / "checks" / check_id


def new_check_id() -> str:
    return "check_" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")


def _write_report(result: FullCheckResult) -> Path:
    path = check_dir(result.check_id) / "report.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    tmp.write_text(json.dumps(result.to_dict(), ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)
    return path


def _horizon(published: Path) -> date:
    """The marts' horizon of the published file; its newest pay day when no publish recorded one."""
    from douyin_etl.warehousing.wap import read_horizon

    horizon = read_horizon(published)
    if horizon is not None:
        return horizon
    import duckdb

    con = duckdb.connect(str(published), read_only=True)
    try:
        newest = one_row(con, "select max(pay_date) from sales.fct_order_lines")[0]
    except duckdb.Error:
        newest = None
    finally:
        con.close()
    if newest is None:
        raise RuntimeError(f"{published} records no horizon and holds no paid order line: nothing to check")
    return newest


def run_full_check(
    check_id: str | None = None, *, select: str | None = None, mart_gate: bool = True
) -> FullCheckResult:
    """Run every data test (or those of the dbt selection ``select``) and, unless ``mart_gate`` is False,
    every mart check over the whole published warehouse, read-only. See the module docstring."""
    from douyin_etl.access.query import WarehouseMissing
    from douyin_etl.quality.gates import run_mart_gate
    from douyin_etl.warehousing.dbt_runner import run_dbt
    from douyin_etl.warehousing.wap import published_run

    started = time.monotonic()
    check_id = check_id or new_check_id()
    published = config.warehouse_path()
    if not published.exists():
        raise WarehouseMissing(
            f"no published warehouse at {published} (DOUYIN_WAREHOUSE): run the pipeline "
            f"(`douyin-etl run --start … --end …`) before checking it"
        )
    version = published_run(published) or {}
    as_of = _horizon(published)
    result = FullCheckResult(check_id, str(published), version.get("run_id"), as_of.isoformat())
    log.info("full check %s of %s (run %s, as of %s)", check_id, published, result.published_run, as_of)
    command = ["test", "--exclude-resource-type", "unit_test", *(["--select", select] if select else [])]
    dbt = run_dbt(
        command,
        db_path=published,
        run_dir=check_dir(check_id) / "dbt",
        read_only=True,
        run_params={"as_of_date": as_of},
    )  # no tests_since: every test reads everything
    result.dbt = dbt.summary()
    if mart_gate:
        gate = run_mart_gate(published, check_id, as_of)  # no since: the whole history
        result.mart_gate = gate.to_dict()
        gate_ok = gate.ok
    else:
        result.mart_gate, gate_ok = {"skipped": "not asked (--no-mart-gate)"}, True
    result.ok = dbt.ok and gate_ok
    result.seconds = round(time.monotonic() - started, 3)
    result.report_path = str(check_dir(check_id) / "report.json")
    _write_report(result)
    (log.info if result.ok else log.error)("%s", result.summary())
    return result
