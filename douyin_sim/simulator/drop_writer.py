"""The day's file drops written beside the day loop: in a worker process for big worlds, inline for small.

Formatting and writing the drops (``drops.write_day``, ``drops.write_exports``) is a pure function of
the frames the day loop hands over, and nothing in the loop reads the files back. A world of SF100's
size spends about a third of its generation there, so big worlds hand the calls to one worker process
and go on with the next day (8 days of 30,000 orders: 39.9 → 26.2 s on 2 cores). The files are the same
bytes either way; the row counts come back in the order the calls were made, so ``truth/counts.json``
is the same too. At most ``MAX_PENDING`` days wait for the worker, so memory stays bounded when it falls
behind. The worker is spawned (``douyin_etl.processes``), so a script that generates a big world must
guard its entry point (``if __name__ == "__main__":``).
"""

from __future__ import annotations

import logging
import pickle
from collections import deque
from concurrent.futures import Future
from types import ModuleType
from typing import Any

from douyin_etl.processes import spawn_pool

log = logging.getLogger(__name__)

MAX_PENDING = 2  # calls waiting for the worker before the day loop waits for the oldest
BACKGROUND_FROM_ORDERS_PER_DAY = 2_000  # below this a worker's start-up (~1 s) costs more than it saves


def _run(function: str, payload: bytes) -> dict[str, int]:
    """In the worker: ``drops.<function>(*args)``."""
    from douyin_sim.simulator import drops

    result: dict[str, int] = getattr(drops, function)(*pickle.loads(payload))
    return result


class DropWriter:
    """Runs ``drops.<function>(*args)`` calls in order; ``counts`` collects their ``{file: rows}`` results
    under a prefix each, in the order of the calls."""

    def __init__(self, drops: ModuleType, background: bool) -> None:
        self._drops = drops
        self._pool = spawn_pool(1, "file drops") if background else None
        self._pending: deque[tuple[str, Future]] = deque()
        self.counts: dict[str, int] = {}

    @property
    def background(self) -> bool:
        return self._pool is not None

    def write(self, prefix: str, function: str, *args: Any) -> None:
        """Call ``drops.<function>(*args)`` (returns rows per file name); its counts go under ``prefix``."""
        if self._pool is None:
            self._record(prefix, getattr(self._drops, function)(*args))
            return
        # pickled now: the executor pickles later, in a thread of its own, when the loop may have moved on
        payload = pickle.dumps(args, protocol=pickle.HIGHEST_PROTOCOL)
        self._pending.append((prefix, self._pool.submit(_run, function, payload)))
        while len(self._pending) > MAX_PENDING:
            self._collect_oldest()

    def _collect_oldest(self) -> None:
        prefix, future = self._pending.popleft()
        self._record(prefix, future.result())  # a DropWriteError of the worker is raised here

    def _record(self, prefix: str, written: dict[str, int]) -> None:
        self.counts.update({f"{prefix}{k}": v for k, v in written.items()})

    def close(self) -> dict[str, int]:
        """Wait for every call; returns ``counts``."""
        try:
            while self._pending:
                self._collect_oldest()
        finally:
            self.abort()
        return self.counts

    def abort(self) -> None:
        """Stop the worker without waiting for what it has not started (generation failed)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._pending.clear()
