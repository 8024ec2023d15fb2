from __future__ import annotations

from pathlib import Path

import pytest

from douyin_etl.sources.files.specs import SPECS
from douyin_etl.storage import Storage


@pytest.fixture
def lake(tmp_path, monkeypatch) -> Storage:
    root = tmp_path / "lake"
    monkeypatch.setenv("DOUYIN_LAKE_DIR", str(root))
    monkeypatch.setenv("DOUYIN_STATE_DIR", str(tmp_path / "state"))
    for var in ("DOUYIN_QUARANTINE_THRESHOLD", "DOUYIN_QUARANTINE_FLOOR"):
        monkeypatch.delenv(var, raising=False)
        for name in SPECS:
            monkeypatch.delenv(f"{var}__{name.upper()}", raising=False)
    return Storage(str(root))


@pytest.fixture
def drops(tmp_path, monkeypatch) -> Path:
    d = tmp_path / "drops"
    d.mkdir()
    monkeypatch.setenv("DOUYIN_DROPS_DIR", str(d))
    monkeypatch.setenv("DOUYIN_SHOP_IDS", "1001")  # per-shop daily files are expected for shop 1001
    return d
