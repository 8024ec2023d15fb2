"""The access tests' fixtures, over the session's one published warehouse.

``published`` (session): the root conftest's ``published_warehouse`` (a small generated world -> lake ->
``dbt build`` through the real runner into an audit copy -> run report -> ``wap.publish``, plus a blocked
run's report; see ``build_published`` in tests/conftest.py). Its environment (DOUYIN_STATE_DIR,
DOUYIN_WAREHOUSE, DOUYIN_LAKE_DIR) is set only while building and, for the tests that need it, by the
function-scoped ``access_env`` fixture.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def published(published_warehouse):
    return published_warehouse


@pytest.fixture
def access_env(published, monkeypatch: pytest.MonkeyPatch):
    for k, v in published.env().items():
        monkeypatch.setenv(k, v)
    return published


def mart_query(published, sql: str) -> list[tuple]:
    return published.query(sql)


@pytest.fixture(scope="session")
def mart():
    """``mart(published, sql)`` -> rows, read-only."""
    return mart_query
