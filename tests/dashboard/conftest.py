"""The dashboard tests' fixtures, over the session's one published warehouse.

``published`` (session): the root conftest's ``published_warehouse`` (a small generated world -> lake ->
``dbt build`` through the real runner into an audit copy -> ``wap.publish``; see ``build_published`` in
tests/conftest.py, also usable by hand). ``dashboard_url`` starts the dashboard server on a free loopback
port in a thread for the whole session.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def published(published_warehouse):
    return published_warehouse


@pytest.fixture(scope="session")
def dashboard_url(published) -> Iterator[str]:
    from douyin_etl.dashboard.server import make_server

    server = make_server(0, warehouse=published.warehouse)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def chromium_cmd(tmp_path) -> list[str]:
    """Headless Chromium with no network of its own and a profile in the test's temp dir: the command's
    start, to which a test adds its flags and URL."""
    return [
        "chromium",
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium'}",
    ]
