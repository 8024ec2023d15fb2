"""The run report: one ``RunRecord`` per run, written as ``report.json`` and a self-contained ``report.html``.

Both land in ``<state_dir>/runs/<run_id>/``. The HTML has inline CSS only (no scripts, no external
assets) so it opens anywhere, offline, and can be attached to an e-mail.

    record = RunRecord(run_id, interval_start=d0, interval_end=d1)
    with record.step("dbt build") as details:
        details["models"] = 42
    record.gates["landing"] = gate_result.to_dict()
    write_report(record)
"""

from __future__ import annotations

import html
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from douyin_etl import config


@dataclass
class Step:
    name: str
    started_at: str
    seconds: float
    status: str  # ok | failed | skipped
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunRecord:
    run_id: str
    interval_start: date | None = None
    interval_end: date | None = None
    status: str = "running"  # running | published | blocked | failed
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    finished_at: str | None = None
    steps: list[Step] = field(default_factory=list)
    rows: dict[str, dict[str, int]] = field(
        default_factory=dict
    )  # entity -> layer (landed, quarantined, mart…) -> rows
    gates: dict[str, dict[str, Any]] = field(default_factory=dict)  # gate name -> GateResult.to_dict()
    quarantine: list[dict[str, Any]] = field(default_factory=list)  # {entity, reason, rows}
    reconciliation: dict[str, int] = field(default_factory=dict)  # status[/reason] -> SKU order lines
    dbt: dict[str, Any] = field(default_factory=dict)  # DbtResult.summary()
    published_path: str | None = None
    published_version: dict[str, Any] | None = None  # PublishResult.to_dict()
    errors: list[str] = field(default_factory=list)

    def add_step(
        self,
        name: str,
        status: str,
        seconds: float,
        details: dict[str, Any] | None = None,
        started_at: str | None = None,
    ) -> Step:
        """Record a step; ``started_at``: when it started (UTC, ISO; default now, "" for a step that never ran)."""
        start = datetime.now(UTC).isoformat() if started_at is None else started_at
        s = Step(name, start, round(seconds, 3), status, details or {})
        self.steps.append(s)
        return s

    @contextmanager
    def step(self, name: str) -> Iterator[dict[str, Any]]:
        """Time a step; an exception marks it failed, is recorded in ``errors`` and re-raised."""
        started_at = datetime.now(UTC).isoformat()
        t0 = time.monotonic()
        details: dict[str, Any] = {}
        try:
            yield details
        except BaseException as exc:
            self.add_step(name, "failed", time.monotonic() - t0, details, started_at)
            self.errors.append(f"{name}: {type(exc).__name__}: {exc}")
            raise
        self.add_step(name, details.pop("_status", "ok"), time.monotonic() - t0, details, started_at)

    def add_rows(self, entity: str, layer: str, rows: int) -> None:
        self.rows.setdefault(entity, {})[layer] = self.rows.get(entity, {}).get(layer, 0) + int(rows)

    def add_error(self, where: str, exc: BaseException | str) -> None:
        text = f"{type(exc).__name__}: {exc}" if isinstance(exc, BaseException) else str(exc)
        self.errors.append(f"{where}: {text}")

    def to_dict(self) -> dict[str, Any]:
        d = json.loads(json.dumps(asdict(self), default=str))
        d["warnings"] = gate_warnings(d.get("gates") or {})
        return d


def gate_warnings(gates: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The gates' warnings (failed checks of severity ``warning``): reported, never blocking.

    One entry per failed warning check: gate, suite, entity, day(s), column, what it means, how many
    rows, and up to 3 failing examples (file + row where the check has them)."""
    out = []
    for name, gate in gates.items():
        for c in gate.get("checks") or []:
            if c.get("success") or c.get("severity") != "warning":
                continue
            out.append(
                {
                    "gate": name,
                    "suite": c.get("suite"),
                    "entity": c.get("entity"),
                    "dt": c.get("dt"),
                    "column": c.get("column"),
                    "description": c.get("description") or c.get("exception"),
                    "unexpected_count": c.get("unexpected_count"),
                    "examples": (c.get("examples") or [])[:3],
                }
            )
    return out


def report_dir(run_id: str) -> Path:
    return config.state_dir() / "runs" / run_id


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_report(record: RunRecord) -> tuple[Path, Path]:
    """Write ``report.json`` and ``report.html`` for ``record``; returns both paths."""
    if record.finished_at is None and record.status != "running":
        record.finished_at = datetime.now(UTC).isoformat()
    out = report_dir(record.run_id)
    out.mkdir(parents=True, exist_ok=True)
    data = record.to_dict()
    jpath, hpath = out / "report.json", out / "report.html"
    _atomic_write(jpath, json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True))
    _atomic_write(hpath, render_html(data))
    return jpath, hpath


# -- HTML ------------------------------------------------------------------------------------
_CSS = """
body{font-family:-apple-system,Segoe UI,Roboto,"PingFang SC","Microsoft YaHei",sans-serif;margin:24px;color:#1d2129;max-width:1200px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #e5e6eb;padding-bottom:4px}
h3{font-size:14px;margin:16px 0 6px}.muted{color:#86909c;font-size:12px}
table{border-collapse:collapse;margin:6px 0 12px;font-size:13px}th,td{border:1px solid #e5e6eb;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f7f8fa}td.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600}
.ok,.published,.success{background:#e8ffea;color:#00a32a}.failed,.blocked,.error{background:#ffece8;color:#cb2634}
.warning,.warn,.running,.skipped{background:#fff7e8;color:#d25f00}
pre{background:#f7f8fa;padding:8px;overflow:auto;font-size:12px;white-space:pre-wrap}
"""


def _e(v: Any) -> str:
    if isinstance(v, (dict, list)):
        v = json.dumps(v, ensure_ascii=False, default=str)
    return html.escape("" if v is None else str(v))


def _badge(status: Any) -> str:
    s = str(status).lower()
    return f'<span class="badge {html.escape(s)}">{html.escape(str(status))}</span>'


def _table(
    headers: list[str],
    rows: list[list[Any]],
    raw_cols: set[int] = frozenset(),  # type: ignore[assignment]
    group_digits: bool = True,
) -> str:
    if not rows:
        return '<p class="muted">none</p>'
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = []
    for r in rows:
        cells = []
        for i, v in enumerate(r):
            if i in raw_cols:
                cells.append(f"<td>{v}</td>")
            elif isinstance(v, (int, float)) and not isinstance(v, bool) and group_digits:
                cells.append(f'<td class="num">{v:,}</td>' if isinstance(v, int) else f'<td class="num">{v:,.3f}</td>')
            else:
                cells.append(f"<td>{_e(v)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _examples(examples: list[dict[str, Any]]) -> str:
    if not examples:
        return ""
    cols: list[str] = []
    for ex in examples:
        for k in ex:
            if k not in cols:
                cols.append(k)
    return _table(cols, [[ex.get(c) for c in cols] for ex in examples], group_digits=False)  # ids stay as they are


def _observed(value: Any) -> Any:
    """Map expectations report {unexpected, rows, values}: say it in words."""
    if isinstance(value, dict) and "unexpected" in value:
        text = f"{value['unexpected']:,} of {value.get('rows', 0):,} rows unexpected"
        if value.get("values"):
            text += ": " + ", ".join(json.dumps(v, ensure_ascii=False, default=str) for v in value["values"][:5])
        return text
    return value


def _gate_html(name: str, gate: dict[str, Any]) -> str:
    checks = gate.get("checks", [])
    failing = [c for c in checks if not c.get("success")]
    parts = [
        f"<h3>{_e(name)} gate {_badge('ok' if gate.get('ok') else 'blocked')} "
        f'<span class="muted">{len(checks)} checks, {len(failing)} failing, '
        f"{gate.get('rows_validated', 0):,} rows validated in {gate.get('seconds', 0)} s</span></h3>"
    ]
    rows = []
    for c in failing + [c for c in checks if c.get("success")][: max(0, 40 - len(failing))]:
        rows.append(
            [
                _badge("success" if c.get("success") else c.get("severity")),
                c.get("suite"),
                c.get("dt"),
                c.get("expectation_type"),
                c.get("column"),
                _observed(c.get("observed_value")),
                c.get("unexpected_count"),
                c.get("element_count"),
                c.get("description") or c.get("exception"),
            ]
        )
    parts.append(
        _table(
            ["result", "suite", "dt", "expectation", "column", "observed", "unexpected", "rows", "note"],
            rows,
            raw_cols={0},
        )
    )
    if len(checks) > len(rows):
        parts.append(f'<p class="muted">{len(checks) - len(rows)} more passing checks in report.json</p>')
    for c in failing:
        if c.get("examples"):
            parts.append(
                f"<p><b>{_e(c.get('suite'))}</b> {_e(c.get('dt') or '')} · {_e(c.get('expectation_type'))}"
                f" {_e(c.get('column') or '')}: failing examples</p>" + _examples(c["examples"])
            )
    return "".join(parts)


def render_html(d: dict[str, Any]) -> str:
    title = f"Run {d['run_id']}"
    pv = d.get("published_version") or {}
    summary = _table(
        ["field", "value"],
        [
            ["status", _badge(d.get("status"))],
            ["interval", _e(f"{d.get('interval_start')} → {d.get('interval_end')}")],
            ["started / finished (UTC)", _e(f"{d.get('started_at')} / {d.get('finished_at')}")],
            ["published", _e(d.get("published_path") or "not published")],
            ["version", _e(f"sha256 {pv.get('sha256', '')[:16]}…, {pv.get('size', 0):,} bytes" if pv else "—")],
        ],
        raw_cols={1},
    )
    steps = _table(
        ["step", "status", "started (UTC)", "seconds", "details"],
        [
            [s["name"], _badge(s["status"]), s["started_at"] or "—", s["seconds"], s.get("details") or ""]
            for s in d.get("steps", [])
        ],
        raw_cols={1},
    )
    layers: list[str] = sorted({layer for v in d.get("rows", {}).values() for layer in v})
    rows = _table(
        ["entity", *layers], [[e, *[v.get(layer, 0) for layer in layers]] for e, v in sorted(d.get("rows", {}).items())]
    )
    gates = "".join(_gate_html(n, g) for n, g in d.get("gates", {}).items()) or '<p class="muted">no gates ran</p>'
    quarantine = _table(
        ["entity", "reason", "rows"],
        [[q.get("entity"), q.get("reason"), q.get("rows", q.get("count"))] for q in d.get("quarantine", [])],
    )
    recon = _table(["status", "SKU order lines"], [[k, v] for k, v in sorted(d.get("reconciliation", {}).items())])
    dbt = d.get("dbt") or {}
    dbt_html = (
        _table(
            ["command", "ok", "seconds", "node statuses"],
            [[dbt.get("command"), _badge("ok" if dbt.get("ok") else "failed"), dbt.get("elapsed"), dbt.get("counts")]],
            raw_cols={1},
        )
        if dbt
        else '<p class="muted">dbt did not run</p>'
    )
    if dbt.get("failures"):
        dbt_html += _table(
            ["node", "status", "message"], [[f["unique_id"], f["status"], f["message"]] for f in dbt["failures"]]
        )
    if dbt.get("error"):
        dbt_html += f"<pre>{_e(dbt['error'])}</pre>"
    errors = "".join(f"<pre>{_e(e)}</pre>" for e in d.get("errors", [])) or '<p class="muted">none</p>'
    warns: list[dict[str, Any]] = d["warnings"] if "warnings" in d else gate_warnings(d.get("gates") or {})
    warnings = _table(
        ["gate", "suite", "dt", "column", "rows", "what it means", "examples"],
        [
            [
                w.get("gate"),
                w.get("suite"),
                w.get("dt"),
                w.get("column"),
                w.get("unexpected_count"),
                w.get("description"),
                _examples(w.get("examples") or []),
            ]
            for w in warns
        ],
        raw_cols={6},
    )
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
        f"<style>{_CSS}</style></head><body><h1>{_e(title)} {_badge(d.get('status'))}</h1>"
        f'<p class="muted">Douyin ETL run report · generated {_e(datetime.now(UTC).isoformat())}</p>'
        f"{summary}<h2>Errors</h2>{errors}<h2>Warnings ({len(warns)}, not blocking)</h2>{warnings}<h2>Steps</h2>{steps}<h2>Rows per entity and layer</h2>{rows}"
        f"<h2>Quality gates</h2>{gates}<h2>Quarantine</h2>{quarantine}<h2>Reconciliation status</h2>{recon}"
        f"<h2>dbt</h2>{dbt_html}</body></html>"
    )
