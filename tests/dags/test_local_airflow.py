"""`douyin-etl airflow` (issue 12, point 7): every listener of its process tree is on loopback, and
SIGTERM to it stops every process it started.

One start of the real Airflow (scheduler, dag-processor, triggerer, api-server) on free ports in a
temp home (the session's migrated Airflow DB is copied in, so no migration runs).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = {"127.0.0.1", "::1"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tree(pid: int) -> dict[int, psutil.Process]:
    try:
        root = psutil.Process(pid)
        return {p.pid: p for p in [root, *root.children(recursive=True)]}
    except psutil.NoSuchProcess:
        return {}


def _listeners(procs: dict[int, psutil.Process]) -> list[tuple[str, int, int, str]]:
    out = []
    for p in procs.values():
        with contextlib.suppress(psutil.Error):
            for c in p.net_connections(kind="inet"):
                if c.status == psutil.CONN_LISTEN:
                    out.append((c.laddr.ip, c.laddr.port, p.pid, " ".join(p.cmdline()[:3])))
    return out


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_airflow_listens_on_loopback_only_and_sigterm_stops_every_process(airflow_home, tmp_path):
    home = tmp_path / "state" / "airflow"
    home.mkdir(parents=True)
    shutil.copyfile(airflow_home / "airflow.db", home / "airflow.db")  # migrated once per session
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DOUYIN_STATE_DIR": str(tmp_path / "state"),
        "AIRFLOW_HOME": str(home),
        # the log servers' ports, free (they must not be started at all, or on loopback only)
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(_free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(_free_port()),
    }
    out = open(tmp_path / "airflow.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "douyin_etl", "airflow", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    seen: dict[int, psutil.Process] = {}
    listeners: set[tuple[str, int, int, str]] = set()
    try:
        deadline = time.monotonic() + 240
        while not _listening(port):
            seen.update(_tree(proc.pid))
            listeners.update(_listeners(seen))
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    f"airflow never listened on {port} (exit {proc.poll()}):\n"
                    f"{(tmp_path / 'airflow.log').read_text(errors='replace')[-3000:]}"
                )
            time.sleep(0.5)
        # every component is up (the log servers of today's main start with the scheduler and triggerer):
        # look at the whole tree a few more times
        for _ in range(10):
            seen.update(_tree(proc.pid))
            listeners.update(_listeners(seen))
            time.sleep(0.5)
        names = {" ".join(p.cmdline()[1:3]) for p in seen.values() if p.is_running()}
        assert any("scheduler" in n for n in names) and any("triggerer" in n for n in names), names
        assert any(port == lp for _ip, lp, _pid, _cmd in listeners), listeners
        exposed = sorted(x for x in listeners if x[0] not in LOOPBACK)
        assert not exposed, f"listening beyond loopback: {exposed}"

        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=90)
        seen.update(_tree(proc.pid))
        left = [p for p in seen.values() if p.pid != proc.pid and p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        assert not left, f"left running after SIGTERM: {[(p.pid, p.cmdline()[:3]) for p in left]}"
        assert not _listening(port)
    finally:
        for p in [proc_ for proc_ in seen.values()]:
            with contextlib.suppress(psutil.Error):
                p.kill()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        out.close()
