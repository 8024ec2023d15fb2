"""Fixtures for the Open API tests: a small fixture world (built once per session) and the mock over it.

The world is ``douyin_etl.mock_api.fixture.build_fixture_world`` (2 shops × 3 days × 230 orders/day).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from douyin_etl.mock_api import MockServer
from douyin_etl.mock_api.fixture import build_fixture_world


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("doudian_world")
    build_fixture_world(out)
    return out


@pytest.fixture
def mock(world: Path):
    with MockServer(world) as m:
        yield m
