"""The mock Open API in its own process, so the extract steps' RSS is the extractor's, not the mock's cache.

``python -m bench.mock_proc WORLD URL_FILE STATS_FILE [FAULTS]`` serves ``WORLD`` on a free loopback port
(``FAULTS``: a ``FaultConfig`` spec such as ``latency_ms=50,qps=50``), writes the base URL to ``URL_FILE``
and, on SIGTERM, its request counters to ``STATS_FILE``. ``MockProcess`` starts it, samples its peak RSS and
stops it. In a process of its own the mock does not share the extractor's interpreter (its lock), so what
is measured is the extractor's speed.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil


class MockProcess:
    def __init__(self, world: Path, work: Path, env: dict[str, str], faults: str | None = None) -> None:
        self.world, self.work, self.env, self.faults = Path(world), Path(work), env, faults
        self.url_file, self.stats_file = self.work / "mock.url", self.work / "mock.stats.json"
        self.peak_rss = 0
        self._stop = threading.Event()

    def __enter__(self) -> MockProcess:
        self.work.mkdir(parents=True, exist_ok=True)
        for p in (self.url_file, self.stats_file):
            p.unlink(missing_ok=True)
        self.log = open(self.work / "mock.log", "wb")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.mock_proc",
                str(self.world),
                str(self.url_file),
                str(self.stats_file),
                *([self.faults] if self.faults else []),
            ],
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=str(Path(__file__).resolve().parents[1]),
        )
        deadline = time.monotonic() + 60
        while not self.url_file.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the mock Open API process did not start; see {self.work / 'mock.log'}")
            time.sleep(0.05)
        self.base_url = self.url_file.read_text(encoding="utf-8").strip()
        ps = psutil.Process(self.proc.pid)

        def sample() -> None:
            while not self._stop.is_set():
                try:
                    self.peak_rss = max(self.peak_rss, ps.memory_info().rss)
                except psutil.Error:
                    return
                self._stop.wait(0.1)

        self._sampler = threading.Thread(target=sample, daemon=True)
        self._sampler.start()
        return self

    def stats(self) -> dict[str, Any]:
        return json.loads(self.stats_file.read_text(encoding="utf-8")) if self.stats_file.exists() else {}

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._sampler.join(timeout=5)
        self.log.close()


def main(argv: list[str]) -> int:
    from douyin_sim.mock_api import FaultConfig, MockServer

    world, url_file, stats_file = (Path(a) for a in argv[:3])
    faults = FaultConfig.from_spec(argv[3]) if len(argv) > 3 else None
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    with MockServer(world, faults=faults) as mock:
        tmp = url_file.with_suffix(".tmp")
        tmp.write_text(mock.base_url, encoding="utf-8")
        tmp.replace(url_file)
        done.wait()
        stats_file.write_text(json.dumps(mock.stats, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
