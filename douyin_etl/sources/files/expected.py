"""Which files a business day's drop folder must hold, from the file specs' ``cadence``.

``check_day(entity, dt)`` runs before anything of ``entity``/``dt`` lands. A missing day folder or a
missing expected file is a *missing source* (``MissingSourceError``): nothing lands, the lake keeps
what it had, and the message names the folder, the missing file names (shop or warehouse filled in)
and what to do. Missing input is never zero rows.

- ``daily_per_shop``: one file per shop of ``config.doudian_shop_ids()`` (the one home of the shop
  list; ``DOUYIN_SHOP_IDS``). Files of other shops still land (noted as drift).
- ``daily_per_warehouse``: one file per warehouse of the latest warehouse list: the day's 仓库列表 if
  it is in the folder, else the latest landed warehouse partition with rows on or before the day,
  else the latest earlier folder's 仓库列表.
- ``daily``: at least one file.
- ``on_change`` (master data): a file in the folder, or one landed or dropped before the day.
- ``sporadic``: none is fine.
- Every cadence: a source that has no file in the folder while the lake's partition of that day was
  landed from files is a missing source too (the files went away; withdrawing a day's data is a
  deliberate act: delete the partition).
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from douyin_etl import config
from douyin_etl.sources.files.errors import FileIngestError, MissingSourceError
from douyin_etl.sources.files.read import norm_header, open_table
from douyin_etl.sources.files.specs import SPECS, FileSpec
from douyin_etl.storage import Storage

log = logging.getLogger(__name__)

WAREHOUSE_ENTITY = "warehouse"
_MAX_NAMED = 12


@dataclass
class DayExpectation:
    """What ``entity`` needs on ``dt``: the day's matching files and what is missing (empty = fine)."""

    entity: str
    dt: date
    folder: Path
    files: list[Path] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # display names of expected files not there
    problem: str | None = None  # why it is a missing source (None = fine)
    unexpected: list[str] = field(default_factory=list)  # files of shops/warehouses outside the expected set
    basis: str = ""  # where the expected set came from (for messages)

    @property
    def ok(self) -> bool:
        return self.problem is None


def day_files(spec: FileSpec, day_dir: Path) -> list[Path]:
    """The spec's files in ``day_dir`` (sorted by name; hidden and partial ``.tmp-*`` files ignored)."""
    if not day_dir.is_dir():
        return []
    return sorted(
        (p for p in day_dir.iterdir() if p.is_file() and not p.name.startswith(".") and spec.match(p.name)),
        key=lambda p: p.name,
    )


def _group(spec: FileSpec, path: Path, group: str) -> str:
    """The value of the pattern group ``group`` in a file name ``day_files`` matched."""
    m = spec.match(path.name)
    if m is None:
        raise ValueError(f"{path.name} does not match the file pattern of {spec.entity}")
    return m.group(group)


def latest_earlier_files(spec: FileSpec, drops_root: Path, dt: date) -> list[Path]:
    """The spec's files in the latest ``<drops>/YYYY-MM-DD/`` folder before ``dt`` that has any."""
    if not drops_root.is_dir():
        return []
    earlier = sorted(
        (p for p in drops_root.iterdir() if p.is_dir() and p.name < dt.isoformat()), key=lambda p: p.name, reverse=True
    )
    for folder in earlier:
        try:
            date.fromisoformat(folder.name)
        except ValueError:
            continue
        files = day_files(spec, folder)
        if files:
            return files
    return []


def _shops(shops: Sequence[str] | None) -> list[str]:
    """The shops whose daily files are expected: given, else ``config.doudian_shop_ids()`` (which raises
    a ``ConfigError`` naming DOUYIN_SHOP_IDS when none are set)."""
    return [str(s) for s in (shops if shops is not None else config.doudian_shop_ids())]


def _ids_in_file(path: Path, header: str, name: str) -> set[str]:
    """The values of one column of a drop file (for the warehouse list); ``FileIngestError`` if unreadable."""
    from douyin_etl.sources.files.convert import clean

    table = open_table(path)
    idx = next(
        (i for i, h in enumerate(table.header) if norm_header(h) in (norm_header(header), norm_header(name))), None
    )
    if idx is None:
        raise FileIngestError(path.name, f"no column {header} ({name})", "re-export the file with that column")
    out: set[str] = set()
    for _, cells in table.rows:
        value = clean(cells[idx] if idx < len(cells) else None, "id")
        if value is not None:
            out.add(str(int(value)) if isinstance(value, float) and value.is_integer() else str(value))
    return out


def _ids_in_partition(st: Storage, entity: str, dt: date, column: str) -> set[str]:
    import duckdb

    from douyin_etl.landing.reader import partition_dir
    from douyin_etl.landing.writer import PART_NAME

    part = posixpath.join(partition_dir(entity, dt, st), PART_NAME)
    con = duckdb.connect()
    try:
        st.duckdb_register(con)
        rows = con.execute(
            f'SELECT DISTINCT "{column}" FROM read_parquet(?, hive_partitioning = false) WHERE "{column}" IS NOT NULL',
            [part],
        ).fetchall()
    finally:
        con.close()
    return {str(r[0]) for r in rows}


def known_warehouses(dt: date, drops_root: Path, storage: Storage | None = None) -> tuple[list[str], str] | None:
    """(warehouse ids, where they come from) of the latest warehouse list on ``dt``; None if there is none."""
    from douyin_etl.landing.reader import list_partitions, read_manifest

    spec = SPECS[WAREHOUSE_ENTITY]
    col = next(c for c in spec.columns if c.name == "warehouse_id")
    today = day_files(spec, drops_root / dt.isoformat())
    if today:
        ids = set().union(*(_ids_in_file(p, col.header, col.name) for p in today))
        return sorted(ids), f"the day's {', '.join(p.name for p in today)}"
    st = storage or Storage.lake()
    for d in reversed([d for d in list_partitions(WAREHOUSE_ENTITY, st) if d <= dt]):
        manifest = read_manifest(WAREHOUSE_ENTITY, d, st) or {}
        if int(manifest.get("rows") or 0) > 0:
            return sorted(_ids_in_partition(st, WAREHOUSE_ENTITY, d, col.name)), f"the warehouse list landed for {d}"
    earlier = latest_earlier_files(spec, drops_root, dt)
    if earlier:
        ids = set().union(*(_ids_in_file(p, col.header, col.name) for p in earlier))
        return sorted(ids), f"{', '.join(p.name for p in earlier)} of {earlier[0].parent.name}"
    return None


def _landed_from_files(entity: str, dt: date, st: Storage) -> list[str]:
    """Files the lake's partition of ``entity``/``dt`` was landed from (not carried from another day)."""
    from douyin_etl.landing.reader import read_manifest

    manifest = read_manifest(entity, dt, st) or {}
    return [
        s["name"]
        for s in manifest.get("sources", [])
        if s.get("status") == "landed" and not s.get("carried_from") and int(s.get("rows") or 0) > 0
    ]


def expect_day(
    entity: str,
    dt: date,
    drops_dir: Path | None = None,
    storage: Storage | None = None,
    shops: Sequence[str] | None = None,
) -> DayExpectation:
    """What ``entity`` needs on ``dt`` and what is missing; see the module docstring."""
    spec = SPECS[entity]
    root = Path(drops_dir or config.drops_dir())
    folder = root / dt.isoformat()
    out = DayExpectation(entity, dt, folder)
    ymd = dt.strftime("%Y%m%d")
    if not folder.is_dir():
        out.problem = f"the drop folder of business day {dt} does not exist" + (
            "" if root.is_dir() else f" (nor does the drops directory {root}: check DOUYIN_DROPS_DIR)"
        )
        out.missing = [spec.display_name({"file_date": ymd})]
        return out
    out.files = day_files(spec, folder)
    st = storage or Storage.lake()
    group = {"daily_per_shop": "shop_id", "daily_per_warehouse": "warehouse_code"}.get(spec.cadence)
    if group is not None:
        if spec.cadence == "daily_per_shop":
            expected, out.basis = _shops(shops), "one per shop of DOUYIN_SHOP_IDS"
        else:
            found = known_warehouses(dt, root, st)
            if found is None:
                wh = SPECS[WAREHOUSE_ENTITY]
                out.problem = (
                    f"no warehouse list ({wh.display_name({})}) on or before {dt}, so the "
                    f"{spec.description.split(':')[0]} files expected per warehouse are unknown"
                )
                out.missing = [wh.display_name({"file_date": ymd})]
                return out
            expected, out.basis = found[0], f"one per warehouse of {found[1]}"
        groups = {p.name: _group(spec, p, group) for p in out.files}
        present = set(groups.values())
        out.missing = [spec.display_name({group: g, "file_date": ymd}) for g in expected if g not in present]
        out.unexpected = sorted(name for name, g in groups.items() if g not in set(expected))
        if out.missing:
            out.problem = f"{len(out.missing)} of {len(expected)} expected file(s) missing ({out.basis})"
            return out
    elif spec.cadence == "daily" and not out.files:
        out.problem, out.missing = "no file of this daily source", [spec.display_name({"file_date": ymd})]
        return out
    elif spec.cadence == "on_change" and not out.files:
        from douyin_etl.landing.reader import list_partitions

        if not any(d < dt for d in list_partitions(entity, st)) and not latest_earlier_files(spec, root, dt):
            out.problem = (
                f"no {spec.display_name({})} on or before {dt} (master data: sent first, then when it changes)"
            )
            out.missing = [spec.display_name({"file_date": ymd})]
            return out
    if not out.files:
        gone = _landed_from_files(entity, dt, st)
        if gone:
            out.problem = (
                f"the lake's partition of {dt} was landed from {', '.join(gone)}, which the folder no longer holds"
            )
            out.missing = gone
    return out


def _fix(entity: str) -> str:
    return (
        f"drop the missing file(s) into the folder (or point DOUYIN_DROPS_DIR at the folder that holds them) "
        f"and rerun this day (in Airflow the task retries and succeeds once they arrive); nothing of {entity} was "
        "landed for this day and the lake keeps what it had. To withdraw a day's data on purpose, delete its "
        "partition under the lake's raw/ folder"
    )


def check_days(
    entity: str,
    days: Sequence[date],
    drops_dir: Path | None = None,
    storage: Storage | None = None,
    shops: Sequence[str] | None = None,
) -> list[DayExpectation]:
    """``expect_day`` for each day; raise one ``MissingSourceError`` naming every day that misses files."""
    results = [expect_day(entity, d, drops_dir, storage, shops) for d in days]
    bad = [r for r in results if not r.ok]
    if bad:
        parts = []
        for r in bad[:_MAX_NAMED]:
            names = ", ".join(r.missing[:_MAX_NAMED]) + (" …" if len(r.missing) > _MAX_NAMED else "")
            parts.append(f"{r.folder}: {r.problem}: {names}")
        more = f"; and {len(bad) - _MAX_NAMED} more day(s)" if len(bad) > _MAX_NAMED else ""
        folder = str(bad[0].folder) if len(bad) == 1 else str(bad[0].folder.parent)
        missing = [m for r in bad for m in r.missing]
        raise MissingSourceError(
            entity, folder, f"missing source for {entity}: " + "; ".join(parts) + more, missing, _fix(entity)
        )
    return results
