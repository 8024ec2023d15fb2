"""Fixtures of the warehouse tests: every path (lake, warehouse, state) inside tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def wh_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    paths = {
        "lake": tmp_path / "lake",
        "warehouse": tmp_path / "warehouse" / "douyin.duckdb",
        "state": tmp_path / "var",
    }
    monkeypatch.setenv("DOUYIN_LAKE_DIR", str(paths["lake"]))
    monkeypatch.setenv("DOUYIN_WAREHOUSE", str(paths["warehouse"]))
    monkeypatch.setenv("DOUYIN_STATE_DIR", str(paths["state"]))
    return paths
