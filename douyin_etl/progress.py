"""Progress of long CLI steps: a rich bar on a terminal (``track``), a line every few seconds while a
step runs (``heartbeat``), and one line per step a run records (``StepWatcher``: it follows the step
records of ``orchestration.steps``, so it shows a run's progress whoever runs it, Airflow included).

Progress goes to the stream given (the CLI: standard output), never into logs, CI or Airflow task logs.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO, TypeVar

T = TypeVar("T")


def track(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Yield ``items``, drawing a progress bar on stderr when it is a terminal."""
    if not sys.stderr.isatty():
        yield from items
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), transient=True
    ) as bar:
        yield from bar.track(items, total=total, description=description)


class _Ticker(threading.Thread):
    """Calls ``tick(elapsed_seconds)`` every ``every`` seconds until stopped."""

    def __init__(self, tick: Callable[[float], None], every: float) -> None:
        super().__init__(name="progress", daemon=True)
        self.tick, self.every = tick, every
        self.stopped = threading.Event()
        self.t0 = time.monotonic()

    def run(self) -> None:
        while not self.stopped.wait(self.every):
            self.tick(time.monotonic() - self.t0)


@contextlib.contextmanager
def heartbeat(what: str, every: float = 15.0, out: TextIO | None = None) -> Iterator[None]:
    """Print ``… <what>: 15 s`` every ``every`` seconds while the block runs (a long step is never silent)."""

    def tick(elapsed: float) -> None:
        print(f"      … {what}: {elapsed:.0f} s", file=out or sys.stdout, flush=True)

    ticker = _Ticker(tick, every)
    ticker.start()
    try:
        yield
    finally:
        ticker.stopped.set()
        ticker.join()


STEP_NAMES = {
    "plan": "plan",
    "landing_gate": "landing gate",
    "build_audit": "dbt build (audit copy)",
    "mart_gate": "mart gate",
    "publish": "publish",
}
_NEXT = {"landing_gate": "build_audit", "build_audit": "mart_gate", "mart_gate": "publish"}


def describe_step(name: str, record: dict[str, Any]) -> str:
    """One line for a recorded step (``steps/<name>.json``): what it did, its outcome, its time."""
    status, seconds = record.get("status", "?"), float(record.get("seconds") or 0)
    d = record.get("details") or {}
    landed_by = next(
        (x["landed_by"] for x in d.get("details") or [] if isinstance(x, dict) and x.get("landed_by")), None
    )
    if name.startswith("extract.") and landed_by:
        what = f"{name.split('.', 1)[1]}: landed with {landed_by}"
    elif name.startswith("extract."):
        days = d.get("days") or []
        span = f"{days[0]}..{days[-1]}" if len(days) > 1 else (days[0] if days else "no day")
        what = f"landed {name.split('.', 1)[1]}: {int(d.get('rows') or 0):,} rows, {len(days)} day(s) {span}"
        if d.get("quarantined"):
            what += f", {int(d['quarantined']):,} quarantined"
    elif name in ("landing_gate", "mart_gate"):
        checks = d.get("checks") or []
        failing = sum(1 for c in checks if not c.get("success"))
        what = f"{STEP_NAMES[name]}: {len(checks)} checks, {failing} failing"
    elif name == "build_audit":
        counts = (d.get("dbt") or {}).get("counts") or {}
        text = ", ".join(f"{k} {v:,}" for k, v in counts.items()) if isinstance(counts, dict) else str(counts)
        what = f"{STEP_NAMES[name]}: {text}" if text else STEP_NAMES[name]
    elif name == "publish":
        what = f"published {d.get('path', '')}"
    elif name == "plan":
        what = f"plan: {d.get('start')}..{d.get('end')}, {len(d.get('partitions') or {})} entities"
    else:
        what = name
    return f"{what} — {status} in {seconds:.1f} s"


class StepWatcher:
    """Print each step a run records under ``steps_dir`` as it appears, and what is running meanwhile.

    ``expected_extracts``: how many ``extract.*`` records the run will write (for "12/25 entities").
    Every ``every`` seconds without a new record it prints what is running and for how long.
    """

    def __init__(
        self, steps_dir: Path, expected_extracts: int = 0, every: float = 10.0, out: TextIO | None = None
    ) -> None:
        self.steps_dir, self.expected, self.out = Path(steps_dir), expected_extracts, out
        self.seen: set[str] = set()
        self.last_change = time.monotonic()
        self._ticker = _Ticker(self._poll, 1.0)
        self.every = every
        self._lock = threading.Lock()

    def _print(self, text: str) -> None:
        print(f"      {text}", file=self.out or sys.stdout, flush=True)

    def _running(self) -> str:
        extracts = sum(1 for n in self.seen if n.startswith("extract."))
        if "publish" in self.seen:
            return "report"
        for done, nxt in reversed(list(_NEXT.items())):
            if done in self.seen:
                return STEP_NAMES[nxt]
        if self.expected and extracts >= self.expected:
            return STEP_NAMES["landing_gate"]
        return f"extracting ({extracts}/{self.expected or '?'} entities landed)"

    def _poll(self, elapsed: float) -> None:
        with self._lock:
            new = sorted(
                (p for p in self.steps_dir.glob("*.json") if p.stem not in self.seen), key=lambda p: p.stat().st_mtime
            )
            for p in new:
                try:
                    record = json.loads(p.read_text(encoding="utf-8"))
                except (OSError, ValueError):  # being replaced: next poll
                    continue
                self.seen.add(p.stem)
                self.last_change = time.monotonic()
                self._print(describe_step(p.stem, record))
            quiet_for = time.monotonic() - self.last_change
            if quiet_for >= self.every:
                self._print(f"… {self._running()}: {elapsed:.0f} s since the run started")
                self.last_change = time.monotonic()

    def __enter__(self) -> StepWatcher:
        self._ticker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._ticker.stopped.set()
        self._ticker.join()
        self._poll(time.monotonic() - self._ticker.t0)  # the records written in the last second
