"""Land a generated world straight into a lake (no HTTP): the quickest way to a big lake for the gate bench.

API entities: the world's platform partitions copied as the extractor lands them (typed columns,
Qianchuan yuan -> fen, ``_source_ref`` = the world file); snapshot entities (no partition field) land
on the world's last day, or on every day with ``snapshots_every_day`` (as a run over the whole range lands them). File entities go through the real file ingestion. Used by
``bench.gate_memory`` and the gate tests over a simulated world.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb

from douyin_etl.entities import ENTITIES
from douyin_etl.storage import Storage


def world_days(world: Path) -> list[date]:
    return sorted(date.fromisoformat(p.name) for p in (Path(world) / "drops").iterdir() if p.is_dir())


def land_world(world: Path, lake: Path, *, snapshots_every_day: bool = False) -> dict[str, list[date]]:
    """Land every entity of ``world`` into ``lake``; returns ``{entity: [landed days]}``."""
    from douyin_etl.landing.reader import list_partitions
    from douyin_etl.sources.doudian.endpoints import LANDED_SCHEMAS, QIANCHUAN_MONEY
    from douyin_etl.sources.files.ingest import ingest_entity
    from douyin_etl.sources.files.specs import SPECS

    world, storage = Path(world), Storage(str(lake))
    days = world_days(world)
    con = duckdb.connect()
    try:
        con.execute("SET threads = 1")
        for name, entity in ENTITIES.items():
            if entity.kind != "api":
                continue
            src = world / "platform" / name
            snapshot_days = days if snapshots_every_day else days[-1:]
            parts = ({d.isoformat(): sorted(src.glob("*.parquet")) for d in snapshot_days}
                     if entity.partition_field is None else
                     {p.name.removeprefix("dt="): sorted(p.glob("*.parquet")) for p in src.glob("dt=*")})
            schema = LANDED_SCHEMAS[name]
            for dt, files in parts.items():
                if not files:
                    continue
                out = Path(lake) / entity.landing_dir / f"dt={dt}"
                out.mkdir(parents=True, exist_ok=True)
                cols = ", ".join(
                    f"CAST(round(\"{c}\" * 100) AS BIGINT) AS \"{c}\"" if name == "ad_report" and c in QIANCHUAN_MONEY
                    else f"CAST(\"{c}\" AS {t}) AS \"{c}\"" for c, t in schema.items())
                listing = ", ".join(f"'{f}'" for f in files)
                con.execute(f"COPY (SELECT {cols}, 'world' AS _source_ref FROM read_parquet([{listing}], "
                            f"union_by_name = true)) TO '{out}/part-00000.parquet' (FORMAT parquet)")
    finally:
        con.close()
    shops = [str(s["shop_id"]) for s in json.loads((world / "world.json").read_text(encoding="utf-8"))["shops"]]
    for day in days:
        for name in SPECS:
            ingest_entity(name, day, run_id=f"w-{day:%Y%m%d}", drops_dir=world / "drops", storage=storage, shops=shops)
    return {name: list_partitions(name, storage) for name in ENTITIES}
