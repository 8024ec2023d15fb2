"""Shared servers of the scale-out suite (tests/scale, run with ``--scale``: ``make test-scale``).

Each engineer appends only their own fixtures here; every fixture is self-contained.

Cluster (Airflow on PostgreSQL + CeleryExecutor/Redis), see ``services.py``:

- ``postgres`` (module): a throwaway PostgreSQL on 127.0.0.1:<free port> with database ``airflow``
  (``.url`` for SQLAlchemy, ``.port``); stopped and removed after the module.
- ``redis`` (module): a throwaway Redis on 127.0.0.1:<free port> (``.url(db)``); stopped after the module.
"""

from __future__ import annotations

import pytest

from services import PostgresServer, RedisServer  # beside this file (pytest puts this folder on sys.path)


@pytest.fixture(scope="module")
def postgres():
    """A running throwaway PostgreSQL (``PostgresServer``), stopped and deleted afterwards."""
    server = PostgresServer()
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="module")
def redis():
    """A running throwaway Redis (``RedisServer``), stopped and deleted afterwards."""
    server = RedisServer()
    try:
        yield server.start()
    finally:
        server.stop()


# -- object store (S3 engineer) ----------------------------------------------------------------------
# ``moto_s3`` (module): a moto S3 server (``moto_server``) on 127.0.0.1:<free port>, started as a
# subprocess and stopped afterwards; ``.endpoint_url``, ``.key``/``.secret`` (moto accepts any),
# ``.client()`` (boto3) and ``.make_bucket(name)``. Its log goes to a temp file, shown if it fails to start.

@pytest.fixture(scope="module")
def moto_s3(tmp_path_factory: pytest.TempPathFactory):
    """A running moto S3 server on loopback, stopped after the module."""
    import socket
    import subprocess
    import sys
    import time
    from pathlib import Path
    from types import SimpleNamespace

    import boto3
    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log_file = tmp_path_factory.mktemp("moto") / "moto_server.log"
    exe = Path(sys.executable).parent / "moto_server"
    with open(log_file, "wb") as out:
        proc = subprocess.Popen([str(exe), "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=subprocess.STDOUT)
    server = SimpleNamespace(endpoint_url=f"http://127.0.0.1:{port}", key="moto-test-key", secret="moto-test-secret",
                             region="us-east-1", proc=proc, log_file=log_file)
    server.client = lambda: boto3.client("s3", endpoint_url=server.endpoint_url, aws_access_key_id=server.key,
                                         aws_secret_access_key=server.secret, region_name=server.region)
    server.make_bucket = lambda name: server.client().create_bucket(Bucket=name) and name
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"moto_server exited with {proc.returncode}; log {log_file}:\n"
                                   f"{log_file.read_text(errors='replace')[-3000:]}")
            try:
                if httpx.get(server.endpoint_url + "/", timeout=1.0).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"moto_server not ready on port {port} after 60 s; log {log_file}:\n"
                                   f"{log_file.read_text(errors='replace')[-3000:]}")
            time.sleep(0.2)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
