"""The reviewed landing suites against a small simulated world: a clean world passes (no false alarms)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from bench.land import land_world
from douyin_etl.entities import ENTITIES
from douyin_etl.quality.gates import run_landing_gate

START = date(2026, 3, 1)


@pytest.mark.slow
def test_a_clean_simulated_world_passes_every_landing_suite(lake: Path, tmp_path: Path):
    from douyin_sim.simulator import generate_world

    world = tmp_path / "world"
    generate_world(world, 11, START, 2, 1, 40)
    partitions = land_world(world, lake)
    assert all(partitions.values()), {k: v for k, v in partitions.items() if not v}
    landed = duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{lake}/raw/*/*/dt=*/*.parquet', union_by_name = true)"
    ).fetchall()[0][0]
    gate = run_landing_gate("world", partitions)
    assert gate.ok, gate.summary()
    assert gate.rows_validated == landed > 0
    assert gate.partitions == sum(len(v) for v in partitions.values())
    assert {c.entity for c in gate.checks if c.suite.startswith("landing.")} == set(ENTITIES)
    # every cross-source identity ran over the world's days (and passed: gate.ok)
    from douyin_etl.quality.suites import cross_suites

    assert {c.suite for c in gate.checks if c.suite.startswith("cross.")} == {s.name for s in cross_suites()}
