from __future__ import annotations

import pytest

from douyin_etl.storage import Storage


@pytest.fixture
def lake(tmp_path, monkeypatch) -> Storage:
    """A fresh lake under tmp_path; the env points there too so no default ever hits the checkout."""
    root = tmp_path / "lake"
    monkeypatch.setenv("DOUYIN_LAKE_DIR", str(root))
    monkeypatch.delenv("DOUYIN_QUARANTINE_THRESHOLD", raising=False)
    return Storage(str(root))
