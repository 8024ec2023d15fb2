"""The reviewed landing suites against a small simulated world: a clean world passes (no false alarms)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pytest

from douyin_etl.entities import ENTITIES
from douyin_etl.quality.gates import run_landing_gate

START = date(2026, 3, 1)


def land_world(world: Path, lake: Path) -> dict[str, list[date]]:
    """API entities: the world's platform partitions as the extractor lands them (Qianchuan yuan -> fen);
    file entities: through the real file ingestion."""
    from douyin_etl.landing.reader import list_partitions
    from douyin_etl.sources.doudian.endpoints import LANDED_SCHEMAS, QIANCHUAN_MONEY
    from douyin_etl.sources.files.ingest import ingest_entity
    from douyin_etl.sources.files.specs import SPECS

    days = sorted(date.fromisoformat(p.name) for p in (world / "drops").iterdir() if p.is_dir())
    con = duckdb.connect()
    for name, entity in ENTITIES.items():
        if entity.kind != "api":
            continue
        src = world / "platform" / name
        parts = ({days[-1].isoformat(): sorted(src.glob("*.parquet"))} if entity.partition_field is None else
                 {p.name.removeprefix("dt="): sorted(p.glob("*.parquet")) for p in src.glob("dt=*")})
        schema = LANDED_SCHEMAS[name]
        for dt, files in parts.items():
            if not files:
                continue
            out = lake / entity.landing_dir / f"dt={dt}"
            out.mkdir(parents=True, exist_ok=True)
            cols = ", ".join(
                f"CAST(round(\"{c}\" * 100) AS BIGINT) AS \"{c}\"" if name == "ad_report" and c in QIANCHUAN_MONEY
                else f"CAST(\"{c}\" AS {t}) AS \"{c}\"" for c, t in schema.items())
            listing = ", ".join(f"'{f}'" for f in files)
            con.execute(f"COPY (SELECT {cols}, 'world' AS _source_ref FROM read_parquet([{listing}], union_by_name = true)) "
                        f"TO '{out}/part-00000.parquet' (FORMAT parquet)")
    shops = [str(s["shop_id"]) for s in json.loads((world / "world.json").read_text(encoding="utf-8"))["shops"]]
    for day in days:
        for name in SPECS:
            ingest_entity(name, day, run_id=f"w-{day:%Y%m%d}", drops_dir=world / "drops", shops=shops)
    return {name: list_partitions(name) for name in ENTITIES}


@pytest.mark.slow
def test_a_clean_simulated_world_passes_every_landing_suite(lake: Path, tmp_path: Path):
    from douyin_etl.simulator import generate_world

    world = tmp_path / "world"
    generate_world(world, 11, START, 2, 1, 40)
    partitions = land_world(world, lake)
    assert all(partitions.values()), {k: v for k, v in partitions.items() if not v}
    landed = duckdb.sql(f"SELECT count(*) FROM read_parquet('{lake}/raw/*/*/dt=*/*.parquet', union_by_name = true)").fetchall()[0][0]
    gate = run_landing_gate("world", partitions)
    assert gate.ok, gate.summary()
    assert gate.rows_validated == landed > 0
    assert gate.partitions == sum(len(v) for v in partitions.values())
    assert {c.entity for c in gate.checks if c.suite.startswith("landing.")} == set(ENTITIES)
    # every cross-source identity ran over the world's days (and passed: gate.ok)
    from douyin_etl.quality.suites import cross_suites
    assert {c.suite for c in gate.checks if c.suite.startswith("cross.")} == {s.name for s in cross_suites()}
