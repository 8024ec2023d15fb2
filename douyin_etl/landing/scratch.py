"""Local scratch folders of the landing writers, under ``<state>/scratch/`` (never the system /tmp).

Each folder is named ``<kind>-<host>-<pid>-<random>``. A killed process cannot remove its scratch, so
``make_scratch`` first sweeps this host's scratch folders whose process is gone (pid no longer alive):
whatever a SIGKILL left behind is removed by the next write on that machine.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
import tempfile
from pathlib import Path

from douyin_etl import config

log = logging.getLogger(__name__)

_NAME = re.compile(r"(?P<kind>[a-z0-9_]+)-(?P<host>[A-Za-z0-9_.]+)-(?P<pid>\d+)(?:-.*)?")


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9_.]", "_", socket.gethostname()) or "host"


def root() -> Path:
    """``<state>/scratch`` (absolute; made on demand)."""
    path = (config.state_dir() / "scratch").resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def sweep_stale(base: Path | None = None) -> int:
    """Remove this host's scratch folders of processes that are gone; returns how many were removed."""
    base = base or root()
    host, removed = _host(), 0
    for entry in base.iterdir() if base.is_dir() else []:
        m = _NAME.fullmatch(entry.name)
        if not m or m.group("host") != host:
            continue
        pid = int(m.group("pid"))
        if pid == os.getpid() or pid_alive(pid):
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed += 1
        log.info("swept stale landing scratch %s (process %d is gone)", entry, pid)
    return removed


def make_scratch(kind: str) -> Path:
    """A new private scratch folder for this process, after sweeping the dead processes' ones."""
    base = root()
    sweep_stale(base)
    return Path(tempfile.mkdtemp(prefix=f"{kind}-{_host()}-{os.getpid()}-", dir=base))


def process_dir(kind: str) -> Path:
    """This process's fixed folder of ``kind`` (e.g. DuckDB's spill directory); swept once the process is gone."""
    path = root() / f"{kind}-{_host()}-{os.getpid()}"
    path.mkdir(parents=True, exist_ok=True)
    return path
