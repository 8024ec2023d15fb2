"""Run one benchmark step in a child process and measure its wall time and peak RSS.

Peak RSS is measured two ways: ``tree_peak_rss`` samples (psutil, every ``interval`` s) the summed RSS of
the child and all its descendants (dbt's subprocess included), ``maxrss`` is the kernel's high-water mark
of the largest single process of the tree (``os.wait4`` rusage, exact but not summed).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

log = logging.getLogger(__name__)


class StepFailed(RuntimeError):
    pass


@dataclass
class StepMeasure:
    name: str
    wall_s: float
    tree_peak_rss_mb: float
    maxrss_mb: float
    cpu_user_s: float
    cpu_sys_s: float
    returncode: int
    result: dict[str, Any] = field(default_factory=dict)

    @property
    def peak_rss_mb(self) -> float:
        return max(self.tree_peak_rss_mb, self.maxrss_mb)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["peak_rss_mb"] = round(self.peak_rss_mb, 1)
        return d


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def run_step(
    name: str,
    ctx: dict[str, Any],
    out_dir: Path,
    env: dict[str, str],
    interval: float = 0.05,
    timeout: float | None = None,
) -> StepMeasure:
    """``python -m bench.child <name> ctx.json result.json`` with ``env``; raises ``StepFailed`` on failure."""
    out_dir.mkdir(parents=True, exist_ok=True)
    ctx_path, res_path, log_path = (
        out_dir / f"{name}.ctx.json",
        out_dir / f"{name}.result.json",
        out_dir / f"{name}.log",
    )
    ctx_path.write_text(json.dumps(ctx, default=str), encoding="utf-8")
    res_path.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "bench.child", name, str(ctx_path), str(res_path)]
    peak = 0
    stop = threading.Event()
    with open(log_path, "wb") as logf:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            cmd, env=env, stdout=logf, stderr=subprocess.STDOUT, cwd=str(Path(__file__).resolve().parents[1])
        )
        ps = psutil.Process(proc.pid)

        def sample() -> None:
            nonlocal peak
            while not stop.is_set():
                peak = max(peak, _tree_rss(ps))
                stop.wait(interval)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        deadline = None if timeout is None else t0 + timeout
        while True:
            pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if deadline is not None and time.perf_counter() > deadline:
                proc.kill()
            time.sleep(0.01)
        wall = time.perf_counter() - t0
        stop.set()
        sampler.join()
    rc = os.waitstatus_to_exitcode(status)
    proc.returncode = rc
    result = json.loads(res_path.read_text(encoding="utf-8")) if res_path.exists() else {}
    m = StepMeasure(
        name,
        round(wall, 3),
        round(peak / 2**20, 1),
        round(ru.ru_maxrss / 1024, 1),
        round(ru.ru_utime, 2),
        round(ru.ru_stime, 2),
        rc,
        result,
    )
    if rc != 0:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-25:])
        raise StepFailed(f"benchmark step {name!r} exited {rc} after {wall:.1f} s; log {log_path}:\n{tail}")
    log.info("%s: %.2f s, peak RSS %.0f MB", name, wall, m.peak_rss_mb)
    return m
