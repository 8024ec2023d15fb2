"""Route states of ``logistics.trackNoRouteDetail`` and the carry-over of final routes when a day is re-extracted.

States (``state`` of a route node, docs/sources.md): '1' 揽收 picked up, '2' 运输中 in transit, '3' 派送中 out
for delivery, '4' 已签收 delivered. A route whose **newest node** (latest ``timestamp``, then highest
``node_seq``) is delivered ('4' / 已签收) or returned and signed for by the sender (已退回, 退签, 已退签) is
*final*: the carrier adds no node after it, so asking for it again returns the same nodes.

``plan_carry_over(dt, waybills, storage)`` reads the partition already landed for ``dt`` (if any) and splits
the day's waybill list into the final routes to carry over and the waybills to request. ``CarryOver.copy_into``
streams the carried rows, unchanged (their original ``_source_ref`` included), into the new partition's
writer and records them in its manifest. A waybill is carried only when it is still in the day's list with
the same ``ship_time`` as its landed rows; landed waybills no longer in the list are not carried (the list
defines the partition, as before) and are recorded by count and sample in the manifest and the notes.
Nothing is carried from a partition the landing gate blocked (``landing.blocked``): it is tracked anew.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import duckdb

from douyin_etl.landing import blocked
from douyin_etl.landing.reader import partition_dir, read_manifest
from douyin_etl.storage import Storage

log = logging.getLogger(__name__)

ENTITY = "logistics_track"
METHOD = "logistics.trackNoRouteDetail"
FINAL_STATES: dict[str, str] = {"4": "已签收"}  # state code -> its description (delivered)
FINAL_DESCRIPTIONS = frozenset({"已签收", "已退回", "退签", "已退签"})  # delivered, returned to the sender
BATCH_ROWS = 5000
SAMPLE = 20  # waybill numbers named in the manifest when some are not carried


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def is_final(state: object, state_description: object) -> bool:
    """A route node that ends the route: delivered or returned (see the module docstring)."""
    return (state is not None and str(state).strip() in FINAL_STATES) or (
        state_description is not None and str(state_description).strip() in FINAL_DESCRIPTIONS
    )


@dataclass
class CarryOver:
    """The day's waybills split into final routes carried from the landed partition and waybills to request."""

    dt: date
    to_request: list[dict[str, Any]]
    carried: list[str] = field(default_factory=list)  # track_no of final routes carried over
    not_carried: list[str] = field(default_factory=list)  # landed waybills no longer shipped on dt
    from_run_id: str | None = None  # the run that landed the partition read
    skipped_reason: str | None = None  # why nothing was carried although a partition is landed
    carried_rows: int = 0
    _glob: str | None = None

    @property
    def requested(self) -> int:
        return len(self.to_request)

    def note(self) -> str:
        total = len(self.carried) + self.requested
        text = (
            f"{total} waybills shipped on {self.dt}: {len(self.carried)} final routes carried over "
            f"from the landed partition{f' (run {self.from_run_id})' if self.from_run_id else ''}, "
            f"{self.requested} requested"
        )
        if self.skipped_reason:
            text += f"; nothing carried: {self.skipped_reason}"
        if self.not_carried:
            text += (
                f"; {len(self.not_carried)} landed waybills are no longer shipped on {self.dt} and are not "
                f"carried (first: {', '.join(self.not_carried[:3])})"
            )
        return text

    def summary(self) -> dict[str, Any]:
        return {
            "waybills": len(self.carried) + self.requested,
            "carried": len(self.carried),
            "requested": self.requested,
            "carried_rows": self.carried_rows,
            "not_carried": len(self.not_carried),
            "from_run_id": self.from_run_id,
        }

    def copy_into(self, writer: Any, storage: Storage) -> int:
        """Stream the carried routes' landed rows into ``writer`` and record them in its manifest; returns rows."""
        rows = 0
        if self.carried and self._glob:
            con = duckdb.connect()
            try:
                storage.duckdb_register(con)
                con.execute("CREATE TEMP TABLE carry(track_no VARCHAR)")
                con.executemany("INSERT INTO carry VALUES (?)", [(t,) for t in self.carried])
                cur = con.execute(
                    f"SELECT l.* FROM read_parquet({_sql_str(self._glob)}, union_by_name=true, "
                    f"hive_partitioning=false) l SEMI JOIN carry USING (track_no)"
                )
                names = [d[0] for d in cur.description]
                while batch := cur.fetchmany(BATCH_ROWS):
                    writer.write_records([dict(zip(names, r)) for r in batch])
                    rows += len(batch)
            finally:
                con.close()
        self.carried_rows = rows
        if self.carried or self.not_carried:
            writer.add_source(
                {
                    "kind": "carried",
                    "method": METHOD,
                    "from_run_id": self.from_run_id,
                    "waybills": len(self.carried),
                    "records": rows,
                    "reason": "route final in the landed partition (delivered or returned): not requested again",
                    "not_carried": len(self.not_carried),
                    "not_carried_sample": self.not_carried[:SAMPLE],
                    "not_carried_reason": "no longer in the day's waybill list" if self.not_carried else None,
                }
            )
        return rows


def plan_carry_over(dt: date, waybills: list[dict[str, Any]], storage: Storage | None = None) -> CarryOver:
    """Which of ``waybills`` (shipped on ``dt``) keep their landed final route, and which are requested."""
    st = storage or Storage.lake()
    folder = partition_dir(ENTITY, dt, st)
    glob = f"{folder}/*.parquet"
    if not st.glob(glob):
        return CarryOver(dt, list(waybills))
    run_id = (read_manifest(ENTITY, dt, st) or {}).get("run_id")
    if any(r.entity == ENTITY and r.dt == dt.isoformat() for r in blocked.blocked_partitions(st)):
        return CarryOver(
            dt, list(waybills), from_run_id=run_id, skipped_reason="the landing gate blocked the landed partition"
        )
    con = duckdb.connect()
    try:
        st.duckdb_register(con)
        landed = con.execute(
            f"SELECT track_no, arg_max(state, (timestamp, node_seq)), arg_max(state_description, (timestamp, node_seq)), "
            f"min(ship_time), max(ship_time) FROM read_parquet({_sql_str(glob)}, union_by_name=true, hive_partitioning=false) "
            f"WHERE track_no IS NOT NULL GROUP BY track_no"
        ).fetchall()
    finally:
        con.close()
    final = {str(no): lo for no, state, desc, lo, hi in landed if lo == hi and is_final(state, desc)}
    listed = {str(wb["track_no"]) for wb in waybills}
    carried, to_request = [], []
    for wb in waybills:
        no = str(wb["track_no"])
        if no in final and final[no] == wb.get("ship_time"):
            carried.append(no)
        else:
            to_request.append(wb)
    not_carried = sorted(str(no) for no, *_ in landed if str(no) not in listed)
    plan = CarryOver(dt, to_request, carried, not_carried, run_id, _glob=glob)
    log.info("logistics_track dt=%s: %s", dt, plan.note())
    return plan


__all__ = ["CarryOver", "FINAL_STATES", "FINAL_DESCRIPTIONS", "is_final", "plan_carry_over"]
