"""Which partitions (business days) a run for business day ``D`` lands, per entity.

Event-partitioned API entities are re-extracted over ``[D - lookback, D]`` so late updates
(an order updated again days after it was paid) move into their new partition; snapshots and
file drops land ``D`` only (a file covers exactly its drop day).
"""

from __future__ import annotations

from datetime import date, timedelta

from douyin_etl import config, entities
from douyin_etl.timeutil import daterange

# entity -> entities that must have landed (same business day) before it is extracted:
# logistics_track looks up the waybills of the day's 3PL shipment file.
DEPENDS_ON: dict[str, tuple[str, ...]] = {"logistics_track": ("shipment", "shop_order")}


def stages(names: list[str]) -> list[list[str]]:
    """``names`` split into ordered stages: an entity comes after every entity it depends on.

    Dependencies outside ``names`` (another family's DAG) are not waited for.
    """
    remaining = list(names)
    done: set[str] = set()
    out: list[list[str]] = []
    while remaining:
        ready = [n for n in remaining if all(d in done or d not in names for d in DEPENDS_ON.get(n, ()))]
        if not ready:
            raise ValueError(f"circular entity dependencies among {remaining}")
        out.append(ready)
        done.update(ready)
        remaining = [n for n in remaining if n not in ready]
    return out


def days_for(entity: str, day: date, lookback: int | None = None) -> list[date]:
    """Business days entity ``entity`` lands in the daily run for ``day`` (oldest first)."""
    e = entities.get(entity)
    if e.kind == "api" and e.partition_field is not None:
        back = config.lookback_days() if lookback is None else lookback
        return [day - timedelta(days=n) for n in range(back, -1, -1)]
    return [day]


def days_for_range(entity: str, start: date, end: date) -> list[date]:
    """Business days entity ``entity`` lands when a whole range ``[start, end]`` is run at once.

    Exactly the days of the range: the range is extracted after the fact, so there is no late update
    inside it to catch, and a rerun replaces exactly the range's partitions.
    """
    entities.get(entity)
    if end < start:
        raise ValueError(f"end {end} is before start {start}; give --start <= --end")
    return list(daterange(start, end))


def partitions_for_range(start: date, end: date, names: list[str] | None = None) -> dict[str, list[date]]:
    """entity -> days, for every (or the named) entities over ``[start, end]``."""
    return {n: days_for_range(n, start, end) for n in (names or list(entities.ENTITIES))}
