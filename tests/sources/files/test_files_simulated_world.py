"""Ingest every file drop of a small generated world: zero quarantined rows, row counts equal the files."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from douyin_etl.landing import reader
from douyin_etl.sources.files.ingest import ingest_entity
from douyin_etl.sources.files.specs import SPECS, spec_for_file
from douyin_etl.storage import Storage

simulator = pytest.importorskip("douyin_sim.simulator")


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sim") / "world"
    simulator.generate_world(out, seed=7, start=date(2026, 3, 1), days=12, shops=2, orders_per_day=30)
    return out


def test_generated_drops_ingest_cleanly(world, tmp_path, monkeypatch):
    monkeypatch.setenv("DOUYIN_LAKE_DIR", str(tmp_path / "lake"))
    monkeypatch.setenv("DOUYIN_QUARANTINE_THRESHOLD", "0")  # any bad row fails the file
    monkeypatch.setenv("DOUYIN_QUARANTINE_FLOOR", "0")
    monkeypatch.setenv("DOUYIN_STATE_DIR", str(tmp_path / "state"))
    shops = [str(s["shop_id"]) for s in json.loads((world / "world.json").read_text())["shops"]]
    monkeypatch.setenv("DOUYIN_SHOP_IDS", ",".join(shops))
    lake = Storage(str(tmp_path / "lake"))
    counts = json.loads((world / "truth" / "counts.json").read_text())["files"]
    expected: Counter = Counter()
    for rel, n in counts.items():
        spec = spec_for_file(Path(rel).name)
        if spec is not None:
            expected[(spec.entity, Path(rel).parent.name)] += n
    assert expected, "the generated world has no file drops"
    landed_files: dict[str, int] = {}
    # every (entity, day) with files (header-only ones on quiet days), plus 03-02 for every entity
    pairs = sorted({(e, date.fromisoformat(d)) for e, d in expected} | {(e, date(2026, 3, 2)) for e in SPECS})
    for entity, day in pairs:
        s = ingest_entity(entity, day, "sim", drops_dir=world / "drops", storage=lake)
        assert s["quarantined"] == 0 and s["skipped"] == [], (entity, day, s)
        assert s["rows_read"] == expected[(entity, day.isoformat())], (entity, day)
        assert s["rows"] + s["duplicates_removed"] == s["rows_read"], (entity, day)
        for src in reader.read_manifest(entity, day, lake)["sources"]:
            landed_files[f"drops/{day.isoformat()}/{src['name']}"] = src["rows"]
    spec_files = {k: v for k, v in counts.items() if spec_for_file(Path(k).name)}
    assert landed_files == spec_files  # every dropped spec file landed, each with its row count
    assert {e for e, _ in expected} >= {"settlement_bill", "fund_flow", "shipment", "stock_snapshot"}
