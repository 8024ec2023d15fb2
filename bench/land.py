"""Land a generated world straight into a lake (no HTTP): the quickest way to a big lake for the benches.

API entities: the world's platform partitions go through the real landing writer
(``PartitionWriter.write_parquet``: typed, de-duplicated by key, sorted, manifest, renamed into place)
as the extractor lands them (Qianchuan yuan -> fen, ``_source_ref`` = ``world``); snapshot entities
(no partition field) land on the world's last day, or on every day with ``snapshots_every_day`` (as a
run over the whole range lands them). File entities go through the real file ingestion
(``ingest_entity``: parsing, quarantine, ledger). ``workers`` > 1 lands days in that many processes.
A day once landed is marked in ``<state>/bench-landed/`` and skipped by a later pass (an interrupted
bench run continued with ``--resume``).
Used by ``bench.run`` (SF10/SF100 history), ``bench.gate_memory`` and the gate tests over a world.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path

from douyin_etl.entities import ENTITIES
from douyin_etl.storage import Storage

log = logging.getLogger(__name__)


def world_days(world: Path) -> list[date]:
    return sorted(date.fromisoformat(p.name) for p in (Path(world) / "drops").iterdir() if p.is_dir())


def _land_day(world: Path, lake: str, day: date, last: date, shops: list[str], snapshots_every_day: bool) -> int:
    """Every entity of one business day; returns the rows landed."""
    from douyin_etl import config
    from douyin_etl.landing.writer import SOURCE_REF, PartitionWriter
    from douyin_etl.sources.doudian.endpoints import LANDED_SCHEMAS, QIANCHUAN_MONEY
    from douyin_etl.sources.files.ingest import ingest_entity
    from douyin_etl.sources.files.specs import SPECS

    lake_id = hashlib.sha256(f"{world.resolve()}|{lake}".encode()).hexdigest()[:16]  # this world into this lake
    done = config.state_dir() / "bench-landed" / lake_id / f"{day.isoformat()}.rows"
    if done.exists():  # landed by an earlier, interrupted pass (bench --resume)
        return int(done.read_text(encoding="utf-8"))
    storage, run_id, rows = Storage(lake), f"world-{day:%Y%m%d}", 0
    for name, entity in ENTITIES.items():
        if entity.kind != "api":
            continue
        src = world / "platform" / name
        if entity.partition_field is None:
            if not (snapshots_every_day or day == last):
                continue
            files = sorted(src.glob("*.parquet"))
        else:
            files = sorted((src / f"dt={day.isoformat()}").glob("*.parquet"))
        exprs = {SOURCE_REF: "'world'"}
        if name == "ad_report":
            exprs.update({c: f'round("{c}" * 100)' for c in QIANCHUAN_MONEY})
        with PartitionWriter(
            name, day, run_id, storage=storage, schema={**LANDED_SCHEMAS[name], SOURCE_REF: "VARCHAR"}
        ) as w:
            w.write_parquet(files, exprs)  # no files (a quiet day): an empty typed partition, as the extractor lands
            w.add_source({"name": f"world platform/{name}", "files": len(files)})
        rows += int((w.manifest or {}).get("rows") or 0)
    for name in SPECS:
        r = ingest_entity(name, day, run_id=run_id, drops_dir=world / "drops", storage=storage, shops=shops)
        rows += int(r.get("rows") or 0)
    done.parent.mkdir(parents=True, exist_ok=True)
    done.write_text(str(rows), encoding="utf-8")
    return rows


def land_world(
    world: Path,
    lake: Path | str,
    *,
    snapshots_every_day: bool = False,
    days: list[date] | None = None,
    workers: int = 1,
) -> dict[str, list[date]]:
    """Land ``days`` (default: every day) of ``world`` into ``lake``; returns ``{entity: [landed days]}``."""
    from douyin_etl.landing.reader import list_partitions

    world = Path(world)
    all_days = world_days(world)
    todo = sorted(days) if days is not None else all_days
    shops = [str(s["shop_id"]) for s in json.loads((world / "world.json").read_text(encoding="utf-8"))["shops"]]
    args = [(world, str(lake), d, all_days[-1], shops, snapshots_every_day) for d in todo]
    if workers > 1 and len(todo) > 1:
        # interleaved days per process: neighbouring days cost about the same
        with ProcessPoolExecutor(max_workers=workers) as pool:
            rows = sum(pool.map(_land_day, *zip(*args)))
    else:
        rows = sum(_land_day(*a) for a in args)
    log.info(
        "landed %d days of %s into %s: %d rows (%d processes, pid %d)",
        len(todo),
        world,
        lake,
        rows,
        workers,
        os.getpid(),
    )
    return {name: list_partitions(name, Storage(str(lake))) for name in ENTITIES}
