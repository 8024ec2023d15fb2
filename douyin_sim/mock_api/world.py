"""The world's platform state as the mock serves it: DuckDB reads of ``<world>/platform/``, cached.

Partitioned entities are read one ``dt=YYYY-MM-DD`` partition at a time (only the partitions a
request's window touches) and cached; snapshots (product, sku, sku_stock) are read once. JSON-text
columns are parsed back into objects, DATE values become ISO strings, and instants stay unix seconds.

Memory is bounded by rows, not partitions: a cached row is a Python dict of 2–7 KB, and one day of a
big shop (SF100: 109 k ``shop_order`` rows) is ~700 MB, so the cache keeps the most recently used
partitions up to ``DOUYIN_MOCK_CACHE_ROWS`` rows (default 400,000: ~1–2.5 GB) and at least the
newest one. The key → partition indexes of ``track`` and ``shop_order`` are two NumPy arrays sorted by
hash (12 bytes per key: 11 M waybills in 0.13 GB), not dicts (~1 GB).

Whatever is derived from the whole history (the key indexes, the advertisers) is built once, by the first
request that needs it, while concurrent requests wait for it (``_derive``): a build is a DuckDB scan of
every partition (SF100: 10 M waybills, ~8 s and ~1 GB), and a build per waiting request (the client's
four workers, then its retries after a 12 s timeout, each in a new server thread) took the mock to 24 GB.
Every DuckDB connection of the store is capped at ``DUCKDB_MEMORY_LIMIT`` (spilling to a temporary
directory beyond it) instead of DuckDB's default of 80 % of the machine.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import numpy as np

from douyin_etl.errors import MissingInput
from douyin_etl.sources.doudian.endpoints import JSON_FIELDS
from douyin_etl.sqlrow import one_row

log = logging.getLogger(__name__)

ROW_KEYS = {
    "shop_order": ("order_id",),
    "sku_order": ("order_id",),
    "after_sale": ("aftersale_id",),
    "alliance_order": ("order_id",),
    "settlement_bill": ("request_no",),
    "fund_flow": ("account_trade_no",),
    "product": ("product_id",),
    "sku": ("id",),
    "sku_stock": ("sku_id",),
    "logistics_track": ("track_no", "node_seq"),
    "ad_report": ("advertiser_id", "stat_date", "marketing_goal"),
}
DT_FIELD = "_dt"  # hidden: the partition a cached row came from
DUCKDB_MEMORY_LIMIT = "1GB"  # per DuckDB connection of the store (a key index of 10 M keys needs ~0.7 GB)

T = TypeVar("T")


def _sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _normalise(value: Any, col: str) -> Any:
    if col in JSON_FIELDS and isinstance(value, str) and value[:1] in ("{", "["):
        return json.loads(value)
    if isinstance(value, datetime):
        return int(value.timestamp())
    if isinstance(value, date):
        return value.isoformat()
    return value


class WorldMissing(MissingInput):
    """The world directory (or its platform/ state) does not exist."""


class WorldStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.platform = self.root / "platform"
        if not self.platform.is_dir():
            raise WorldMissing(
                f"no simulated world at {self.root} (no platform/ directory); generate one with "
                f"`douyin-etl simulate --out {self.root}` or pass --world (default: DOUYIN_WORLD_DIR)"
            )
        # Partitions served recently, least recently used evicted first: memory stays bounded by
        # DOUYIN_MOCK_CACHE_ROWS rows however many days a backfill walks through, but for the newest
        # entry of each kind (an entity's partitions, the lines by parent …), which is never evicted: a
        # page of orders needs the day's orders and its lines at once, and a budget smaller than both
        # made each evict the other on every page (an SF10 day: 4 s reloads, 7 min for one day).
        self._cache: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self._cache_rows: dict[tuple[str, str], int] = {}
        self._cache_budget = cache_budget_rows()
        self._locks: dict[tuple[str, str], threading.Lock] = defaultdict(threading.Lock)
        self._meta_lock = threading.Lock()
        self._derived: dict[str, Any] = {}
        self._builds: dict[str, int] = defaultdict(int)  # name -> times built (each is a scan of the history)
        self._hash_con: duckdb.DuckDBPyConnection | None = None
        self._spill: tempfile.TemporaryDirectory[str] | None = None

    # -- DuckDB ------------------------------------------------------------------------------
    def _connect(self) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection capped at DUCKDB_MEMORY_LIMIT, spilling to this store's temporary directory."""
        with self._meta_lock:
            if self._spill is None:
                self._spill = tempfile.TemporaryDirectory(prefix="douyin-mock-duckdb-")
            spill = self._spill.name
        con = duckdb.connect()
        con.execute(f"SET memory_limit = {_sql_str(DUCKDB_MEMORY_LIMIT)}")
        con.execute(f"SET temp_directory = {_sql_str(spill)}")
        con.execute("SET enable_progress_bar = false")
        return con

    def _derive(self, name: str, build: Callable[[], T]) -> T:
        """``build()`` once per store, cached under ``name``; concurrent callers wait for the one build."""
        with self._meta_lock:
            if name in self._derived:
                return self._derived[name]
            lock = self._locks[("derived", name)]
        with lock:
            with self._meta_lock:
                if name in self._derived:
                    return self._derived[name]
            value = build()
            with self._meta_lock:
                self._derived[name] = value
                self._builds[name] += 1
        return value

    def builds(self) -> dict[str, int]:
        """How many times each derived value (key index, advertisers…) was built: once each, at most."""
        with self._meta_lock:
            return dict(self._builds)

    # -- raw reads ---------------------------------------------------------------------------
    def _read(self, pattern: Path) -> list[dict[str, Any]]:
        if not list(pattern.parent.glob(pattern.name)):
            return []
        con = self._connect()
        try:
            cur = con.execute(
                f"SELECT * FROM read_parquet({_sql_str(str(pattern))}, union_by_name=true, hive_partitioning=false)"
            )
            cols = [d[0] for d in cur.description]
            return [{c: _normalise(v, c) for c, v in zip(cols, row)} for row in cur.fetchall()]
        finally:
            con.close()

    def _cached(self, entity: str, part: str, loader) -> Any:
        key = (entity, part)
        with self._meta_lock:
            rows = self._cache.get(key)
            if rows is not None:
                self._cache.move_to_end(key)
                return rows
            lock = self._locks[key]
        with lock:
            with self._meta_lock:
                rows = self._cache.get(key)
            if rows is None:
                rows = loader()
                with self._meta_lock:
                    self._cache[key] = rows
                    self._cache_rows[key] = _row_count(rows)
                    self._evict()
        return rows

    def _evict(self) -> None:
        """Least recently used first, down to the budget; the newest entry of each kind stays (under _meta_lock)."""
        while sum(self._cache_rows.values()) > self._cache_budget:
            newest = {kind: (kind, part) for kind, part in self._cache}  # oldest -> newest: the last one wins
            victim = next((key for key in self._cache if newest[key[0]] != key), None)
            if victim is None:
                return
            del self._cache[victim]
            self._cache_rows.pop(victim, None)

    def cached_rows(self) -> int:
        """Rows held by the partition cache now (at most the budget, or the newest entry of each kind)."""
        with self._meta_lock:
            return sum(self._cache_rows.values())

    # -- public ------------------------------------------------------------------------------
    def partition(self, entity: str, dt: date) -> list[dict[str, Any]]:
        """Rows of ``platform/<entity>/dt=<dt>/`` sorted by key (empty when the partition is absent)."""
        return self._cached(entity, dt.isoformat(), lambda: self._load_partition(entity, dt))

    def _load_partition(self, entity: str, dt: date) -> list[dict[str, Any]]:
        part = dt.isoformat()
        rows = self._read(self.platform / entity / f"dt={part}" / "*.parquet")
        for r in rows:
            r[DT_FIELD] = part
        keys = ROW_KEYS.get(entity, ())
        rows.sort(key=lambda r: tuple(str(r.get(k)) for k in keys))
        return rows

    def snapshot(self, entity: str) -> list[dict[str, Any]]:
        def load() -> list[dict[str, Any]]:
            rows = self._read(self.platform / entity / "*.parquet")
            keys = ROW_KEYS.get(entity, ())
            rows.sort(key=lambda r: tuple(str(r.get(k)) for k in keys))
            return rows

        return self._cached(entity, "*", load)

    def partitions(self, entity: str) -> list[date]:
        base = self.platform / entity
        return sorted(date.fromisoformat(p.name[3:]) for p in base.glob("dt=*") if p.is_dir()) if base.is_dir() else []

    def lines_by_parent(self, dt: date) -> dict[str, list[dict[str, Any]]]:
        def load() -> dict[str, list[dict[str, Any]]]:
            found: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for line in self._load_partition("sku_order", dt):  # held once, by this index
                found[str(line.get("parent_order_id"))].append(line)
            return found

        return self._cached("sku_order:lines", dt.isoformat(), load)

    def shops(self) -> list[dict[str, str]]:
        """Shops of the world: world.json 'shops' if present, else the shop ids found in products."""
        return self._derive("shops", self._load_shops)

    def _load_shops(self) -> list[dict[str, str]]:
        shops: list[dict[str, str]] = []
        meta = self.root / "world.json"
        if meta.exists():
            for s in json.loads(meta.read_text(encoding="utf-8")).get("shops", []):
                if isinstance(s, dict):
                    shops.append({"shop_id": str(s.get("shop_id")), "shop_name": str(s.get("shop_name", ""))})
                else:
                    shops.append({"shop_id": str(s), "shop_name": ""})
        if not shops:
            ids = sorted({str(r["shop_id"]) for r in self.snapshot("product") if r.get("shop_id") is not None})
            shops = [{"shop_id": i, "shop_name": f"shop {i}"} for i in ids]
        return shops

    def advertisers(self) -> dict[str, str]:
        """advertiser_id -> shop_id (of its newest report) over every ad_report partition: one DuckDB query,
        not every partition through the row cache."""
        return self._derive("advertisers", self._load_advertisers)

    def _load_advertisers(self) -> dict[str, str]:
        if not any((self.platform / "ad_report").glob("dt=*/*.parquet")):
            return {}
        con = self._connect()
        try:
            rows = con.execute(
                f"SELECT advertiser_id::VARCHAR, arg_max(shop_id, dt)::VARCHAR "
                f"FROM read_parquet({self._glob('ad_report')}, union_by_name = true, hive_partitioning = true) "
                f"WHERE advertiser_id IS NOT NULL GROUP BY 1"
            ).fetchall()
        finally:
            con.close()
        return {str(a): str(s) for a, s in rows}

    def shop_order(self, order_id: str) -> dict[str, Any] | None:
        """One shop order (its final state: the newest partition holding it) by id, through the hashed
        key index."""
        for dt in self._days_of("shop_order", "order_id", order_id):
            found = next((r for r in self.partition("shop_order", dt) if str(r["order_id"]) == str(order_id)), None)
            if found is not None:
                return found
        return None

    def track(self, track_no: str) -> list[dict[str, Any]]:
        """Route nodes of one waybill (its newest route partition), through the hashed key index and the
        bounded cache."""
        for dt in self._days_of("logistics_track", "track_no", track_no):
            nodes = self._routes(dt).get(str(track_no))
            if nodes:
                return nodes
        return []

    def _routes(self, track_dt: date) -> dict[str, list[dict[str, Any]]]:
        def load() -> dict[str, list[dict[str, Any]]]:
            found: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for r in self.partition("logistics_track", track_dt):
                found[str(r["track_no"])].append(r)
            for nodes in found.values():
                nodes.sort(key=lambda r: r.get("node_seq") or 0)
            return found

        return self._cached("logistics_track:routes", track_dt.isoformat(), load)

    # -- key → partition index ---------------------------------------------------------------
    def _days_of(self, entity: str, column: str, value: str) -> list[date]:
        """The partitions to look in for ``column = value``: its newest partition from the index (two
        NumPy arrays sorted by DuckDB's hash of the key, 12 bytes per key: 11 M waybills in 0.13 GB
        where a dict took ~1 GB); on a hash shared by two keys (about one in 10^13 pairs), every
        partition holding it, newest first, from a scan. [] when no partition holds the key."""
        hashes, days = self._derive(f"index:{entity}.{column}", lambda: self._key_index(entity, column))
        h = self._hash(value)
        lo, hi = np.searchsorted(hashes, h, side="left"), np.searchsorted(hashes, h, side="right")
        if hi - lo == 1:
            return [date.fromordinal(int(days[lo]))]
        return self._scan_days(entity, column, value) if hi > lo else []

    def _hash(self, value: str) -> np.uint64:
        """DuckDB's hash of a key, as in the index (one connection, under a lock)."""
        with self._meta_lock:
            if self._hash_con is None:
                self._hash_con = duckdb.connect()  # hashes one value at a time: no memory to cap
            return np.uint64(one_row(self._hash_con, "SELECT hash(?::VARCHAR)", [str(value)])[0])

    def _glob(self, entity: str) -> str:
        return _sql_str(str(self.platform / entity / "dt=*" / "*.parquet"))

    def _key_index(self, entity: str, column: str) -> tuple[np.ndarray, np.ndarray]:
        """Every key's newest partition as two arrays sorted by the key's hash: the hashes (uint64) and
        the partition day (proleptic ordinal), from one DuckDB scan of the key column."""
        if not any((self.platform / entity).glob("dt=*/*.parquet")):
            return np.array([], dtype=np.uint64), np.array([], dtype=np.int32)
        con = self._connect()
        try:
            got = con.execute(
                f"SELECT hash({column}::VARCHAR) AS h, (max(dt) - DATE '0001-01-01')::INTEGER + 1 AS day "
                f"FROM read_parquet({self._glob(entity)}, hive_partitioning = true) "
                f"WHERE {column} IS NOT NULL GROUP BY {column} ORDER BY h"
            ).fetchnumpy()
        finally:
            con.close()
        return np.asarray(got["h"], dtype=np.uint64), np.asarray(got["day"], dtype=np.int32)

    def _scan_days(self, entity: str, column: str, value: str) -> list[date]:
        """The partitions holding ``column = value``, newest first (the rare hash-collision path)."""
        con = self._connect()
        try:
            rows = con.execute(
                f"SELECT DISTINCT dt FROM read_parquet({self._glob(entity)}, hive_partitioning = true) "
                f"WHERE {column}::VARCHAR = ? ORDER BY dt DESC",
                [str(value)],
            ).fetchall()
        finally:
            con.close()
        return [r[0] if isinstance(r[0], date) else date.fromisoformat(str(r[0])[:10]) for r in rows]


def cache_budget_rows() -> int:
    """DOUYIN_MOCK_CACHE_ROWS: the mock's partition-cache budget in rows (default 400,000)."""
    raw = os.environ.get("DOUYIN_MOCK_CACHE_ROWS", "400000")
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"DOUYIN_MOCK_CACHE_ROWS={raw!r} is not a whole number of rows; set e.g. 400000") from None
    if value < 1:
        raise ValueError(f"DOUYIN_MOCK_CACHE_ROWS={raw!r} must be at least 1 (rows held by the mock's cache)")
    return value


def _row_count(value: Any) -> int:
    """Rows held by a cached value: a partition (list of rows) or an index of lists of rows."""
    if isinstance(value, dict):
        return sum(len(v) for v in value.values())
    return len(value)
