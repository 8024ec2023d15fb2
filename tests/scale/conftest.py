"""Shared servers of the scale-out suite (tests/scale, run with ``--scale``: ``make test-scale``);
each is a ``services.py`` class, started per module and stopped (data removed) afterwards:

- ``postgres`` (module): a throwaway PostgreSQL on 127.0.0.1:<free port> with database ``airflow``
  (``.url`` for SQLAlchemy, ``.port``); stopped and removed after the module.
- ``redis`` (module): a throwaway Redis on 127.0.0.1:<free port> (``.url(db)``); stopped after the module.
- ``moto_s3`` (module): a moto S3 server on 127.0.0.1:<free port> for the object-store lake.
"""

from __future__ import annotations

import pytest
from services import MotoS3Server, PostgresServer, RedisServer  # beside this file (pytest puts this folder on sys.path)


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


@pytest.fixture(scope="module")
def moto_s3():
    """A running moto S3 server (``MotoS3Server``: ``.endpoint_url``, ``.key``/``.secret``, ``.client()``,
    ``.make_bucket(name)``), stopped after the module."""
    server = MotoS3Server()
    try:
        yield server.start()
    finally:
        server.stop()
