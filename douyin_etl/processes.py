"""Worker processes for CPU-bound Python beside a step (the landing gate's GX, the simulator's file drops).

Always spawned, never forked: ``import duckdb`` starts a thread pool and DuckDB's state is not fork-safe
(duckdb/duckdb-python#292). A spawned worker imports what it runs (about a second), and a script that
starts one needs the ``if __name__ == "__main__":`` guard, as multiprocessing requires.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import current_process, get_context
from typing import Any

log = logging.getLogger(__name__)


def spawn_pool(
    workers: int, what: str, initializer: Callable[..., None] | None = None, initargs: tuple[Any, ...] = ()
) -> ProcessPoolExecutor | None:
    """A pool of ``workers`` spawned processes, or None when this process is a daemon (a pool's worker:
    it may not start processes of its own), and the caller does the work itself."""
    if current_process().daemon:
        log.info("%s in this process: it is a daemon process and may not start workers", what)
        return None
    return ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=initializer, initargs=initargs)
