"""Quarantine: bad input rows kept aside with a reason, never silently dropped.

Layout: ``<lake>/quarantine/<source>/<entity>/dt=YYYY-MM-DD/<run_id>.parquet`` with columns
``raw`` (the raw record as JSON text), ``reason``, ``column``, ``value``, ``source_ref`` (file + row
number, or the API request), ``run_id`` and ``quarantined_at`` (TIMESTAMPTZ).

Thresholds: when one input file has more bad rows than ``floor(entity)`` *and* their share is *above*
``threshold(entity)``, the whole file fails (``FileIngestError``) instead of quarantining its bad rows;
a file that bad is usually the wrong file, a changed export format or a broken encoding, and someone
should look at it. The floor keeps one bad row of a small file (1 of 28 is 3.6 %) a quarantined row,
not a failed file.

| environment variable | meaning |
| --- | --- |
| ``DOUYIN_QUARANTINE_THRESHOLD`` | default share for every entity (default ``0.01`` = 1 %) |
| ``DOUYIN_QUARANTINE_THRESHOLD__<ENTITY>`` | per entity, upper case, e.g. ``DOUYIN_QUARANTINE_THRESHOLD__FUND_FLOW=0.05`` |
| ``DOUYIN_QUARANTINE_FLOOR`` | bad rows any file may always quarantine (default ``3``) |
| ``DOUYIN_QUARANTINE_FLOOR__<ENTITY>`` | per entity, e.g. ``DOUYIN_QUARANTINE_FLOOR__SETTLEMENT_BILL=0`` |

Thresholds are fractions between 0 and 1 (``1`` = never fail); floors are whole numbers ≥ 0
(threshold ``0`` with floor ``0`` = any bad row fails the file).
"""

from __future__ import annotations

import json
import logging
import os
import posixpath
import shutil
from collections import defaultdict
from datetime import date
from typing import Any

import duckdb

from douyin_etl.config import ConfigError
from douyin_etl.entities import get as get_entity
from douyin_etl.storage import Storage
from douyin_etl.timeutil import utc_now

log = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 0.01
ENV_THRESHOLD = "DOUYIN_QUARANTINE_THRESHOLD"
DEFAULT_FLOOR = 3
ENV_FLOOR = "DOUYIN_QUARANTINE_FLOOR"
COLUMNS = ("raw", "reason", "column", "value", "source_ref", "run_id", "quarantined_at")


def _entity_setting(entity: str, base: str) -> tuple[str, str] | None:
    """(variable, value) of ``<base>__<ENTITY>``, else ``<base>``; None when neither is set."""
    get_entity(entity)
    for name in (f"{base}__{entity.upper()}", base):
        raw = os.environ.get(name)
        if raw is not None and raw.strip():
            return name, raw
    return None


def threshold(entity: str) -> float:
    """Share of bad rows above which a whole file of ``entity`` fails (see the module docstring)."""
    found = _entity_setting(entity, ENV_THRESHOLD)
    if found is None:
        return DEFAULT_THRESHOLD
    name, raw = found
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number; set it to a fraction between 0 and 1, e.g. 0.01") from None
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{name}={raw!r} is outside [0, 1]; set it to a fraction, e.g. 0.01 for 1 %")
    return value


def floor(entity: str) -> int:
    """Bad rows a file of ``entity`` may always quarantine, whatever their share (module docstring)."""
    found = _entity_setting(entity, ENV_FLOOR)
    if found is None:
        return DEFAULT_FLOOR
    name, raw = found
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(
            f"{name}={raw!r} is not a whole number; set it to the bad rows a file may always quarantine, e.g. 3"
        ) from None
    if value < 0:
        raise ConfigError(f"{name}={raw!r} is negative; set it to 0 or more, e.g. 3")
    return value


def _q(name: str) -> str:
    return '"' + name + '"'


def _identity(row: dict[str, Any]) -> tuple:
    return (row["source_ref"], row["reason"], row["column"], row["value"], row["raw"])


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


class Quarantine:
    """Collects bad rows of one run and writes them, per entity × day, to the quarantine area."""

    def __init__(self, run_id: str, storage: Storage | None = None) -> None:
        self.run_id = run_id
        self.storage = storage or Storage.lake()
        self._rows: dict[tuple[str, date], list[dict[str, Any]]] = defaultdict(list)

    def path(self, entity: str, dt: date) -> str:
        e = get_entity(entity)
        return self.storage.path("quarantine", e.source, e.name, f"dt={dt.isoformat()}", f"{self.run_id}.parquet")

    def add(self, entity: str, dt: date, rows: list[dict[str, Any]]) -> str | None:
        """Quarantine ``rows`` (each with reason, column, value, source_ref, raw); returns the file written.

        Several calls for the same entity and day in one run accumulate into one file.
        """
        if not rows:
            return None
        for r in rows:
            if not r.get("reason"):
                raise ValueError(f"quarantine row without a reason for {entity} dt={dt}: {r!r}")
        now = utc_now().isoformat()
        target = self.path(entity, dt)
        if (entity, dt) not in self._rows:
            # Another step of the same run (ingestion, then a gate) or a retry may have written this
            # file already: keep its rows, so the file is the union, without repeats.
            self._rows[(entity, dt)] = self._read(target)
        bucket = self._rows[(entity, dt)]
        seen = {_identity(b) for b in bucket}
        for r in rows:
            item = {
                "raw": json.dumps(r.get("raw"), ensure_ascii=False, sort_keys=True, default=str),
                "reason": str(r["reason"]),
                "column": _text(r.get("column")),
                "value": _text(r.get("value")),
                "source_ref": _text(r.get("source_ref")),
                "run_id": self.run_id,
                "quarantined_at": now,
            }
            if _identity(item) not in seen:
                seen.add(_identity(item))
                bucket.append(item)
        self._write(bucket, target)
        log.warning("quarantined %d row(s) of %s dt=%s -> %s", len(rows), entity, dt, target)
        return target

    def summary(self) -> list[dict[str, Any]]:
        return summary(self.run_id, self.storage)

    def _read(self, target: str) -> list[dict[str, Any]]:
        if not self.storage.exists(target):
            return []
        con = duckdb.connect()
        try:
            self.storage.duckdb_register(con)
            cur = con.execute(
                f"SELECT {', '.join(_q(c) for c in COLUMNS[:-1])}, "
                f"strftime(quarantined_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%f+00:00') "
                f"FROM read_parquet('{target}', hive_partitioning = false)"
            )
            return [dict(zip(COLUMNS, row)) for row in cur.fetchall()]
        finally:
            con.close()

    def _write(self, rows: list[dict[str, Any]], target: str) -> None:
        from douyin_etl.landing.scratch import make_scratch

        scratch = make_scratch("quarantine")
        try:
            ndjson = scratch / "rows.ndjson"
            with ndjson.open("w", encoding="utf-8") as fh:
                for r in rows:
                    fh.write(json.dumps(r, ensure_ascii=False) + "\n")
            out = scratch / "q.parquet"
            cols = {c: "VARCHAR" for c in COLUMNS}
            select = (
                ", ".join(f'"{c}"' for c in COLUMNS[:-1]) + ", CAST(quarantined_at AS TIMESTAMPTZ) AS quarantined_at"
            )
            con = duckdb.connect()
            try:
                con.execute(
                    f"COPY (SELECT {select} FROM read_json('{ndjson}', format='newline_delimited', "
                    f"columns={cols!r})) TO '{out}' (FORMAT parquet, COMPRESSION zstd)"
                )
            finally:
                con.close()
            self.storage.write_bytes(target, out.read_bytes())
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


def summary(run_id: str | None = None, storage: Storage | None = None) -> list[dict[str, Any]]:
    """Quarantined row counts per entity and reason across the lake (one run, or all runs if None).

    Returns ``[{"source", "entity", "reason", "rows", "days"}]`` sorted by source, entity, reason.
    """
    st = storage or Storage.lake()
    name = f"{run_id}.parquet" if run_id else "*.parquet"
    files = st.glob(posixpath.join(st.path("quarantine"), "*", "*", "dt=*", name))
    if not files:
        return []
    con = duckdb.connect()
    try:
        st.duckdb_register(con)
        listing = "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"
        rows = con.execute(
            f"""SELECT filename, reason, count(*) FROM read_parquet({listing}, filename = true)
                GROUP BY ALL"""
        ).fetchall()
    finally:
        con.close()
    agg: dict[tuple[str, str, str], dict[str, Any]] = {}
    for filename, reason, n in rows:
        parts = filename.rstrip("/").split("/")
        source, entity, dt_dir = parts[-4], parts[-3], parts[-2]
        item = agg.setdefault(
            (source, entity, reason), {"source": source, "entity": entity, "reason": reason, "rows": 0, "days": set()}
        )
        item["rows"] += int(n)
        item["days"].add(dt_dir.removeprefix("dt="))
    out = []
    for key in sorted(agg):
        item = agg[key]
        item["days"] = sorted(item["days"])
        out.append(item)
    return out
