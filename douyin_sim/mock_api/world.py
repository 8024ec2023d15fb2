"""The world's platform state as the mock serves it: DuckDB reads of ``<world>/platform/``, cached.

Partitioned entities are read one ``dt=YYYY-MM-DD`` partition at a time (only the partitions a
request's window touches) and cached; snapshots (product, sku, sku_stock) are read once. JSON-text
columns are parsed back into objects, DATE values become ISO strings, and instants stay unix seconds.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections import OrderedDict, defaultdict
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb

from douyin_etl.errors import MissingInput
from douyin_etl.sources.doudian.endpoints import JSON_FIELDS

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
        # DOUYIN_MOCK_CACHE_PARTITIONS (default 48) however many days a backfill walks through.
        self._cache: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self._cache_size = max(4, int(os.environ.get("DOUYIN_MOCK_CACHE_PARTITIONS", "48")))
        self._locks: dict[tuple[str, str], threading.Lock] = defaultdict(threading.Lock)
        self._meta_lock = threading.Lock()
        self._derived: dict[str, Any] = {}

    # -- raw reads ---------------------------------------------------------------------------
    def _read(self, pattern: Path) -> list[dict[str, Any]]:
        if not list(pattern.parent.glob(pattern.name)):
            return []
        con = duckdb.connect()
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
                    while len(self._cache) > self._cache_size:
                        self._cache.popitem(last=False)
        return rows

    # -- public ------------------------------------------------------------------------------
    def partition(self, entity: str, dt: date) -> list[dict[str, Any]]:
        """Rows of ``platform/<entity>/dt=<dt>/`` sorted by key (empty when the partition is absent)."""
        part = dt.isoformat()

        def load() -> list[dict[str, Any]]:
            rows = self._read(self.platform / entity / f"dt={part}" / "*.parquet")
            for r in rows:
                r[DT_FIELD] = part
            keys = ROW_KEYS.get(entity, ())
            rows.sort(key=lambda r: tuple(str(r.get(k)) for k in keys))
            return rows

        return self._cached(entity, part, load)

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
            for line in self.partition("sku_order", dt):
                found[str(line.get("parent_order_id"))].append(line)
            return found

        return self._cached("sku_order:lines", dt.isoformat(), load)

    def shops(self) -> list[dict[str, str]]:
        """Shops of the world: world.json 'shops' if present, else the shop ids found in products."""
        with self._meta_lock:
            if "shops" in self._derived:
                return self._derived["shops"]
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
        with self._meta_lock:
            self._derived["shops"] = shops
        return shops

    def advertisers(self) -> dict[str, str]:
        """advertiser_id -> shop_id over every ad_report partition."""
        with self._meta_lock:
            if "advertisers" in self._derived:
                return self._derived["advertisers"]
        found: dict[str, str] = {}
        for dt in self.partitions("ad_report"):
            for r in self.partition("ad_report", dt):
                found[str(r["advertiser_id"])] = str(r.get("shop_id"))
        with self._meta_lock:
            self._derived["advertisers"] = found
        return found

    def shop_order(self, order_id: str) -> dict[str, Any] | None:
        """One shop order (its final state) by id: a small index order_id -> partition (built once)."""
        with self._meta_lock:
            where = self._derived.get("order_dt")
        if where is None:
            where = {}
            for dt in self.partitions("shop_order"):
                con = duckdb.connect()
                try:
                    pattern = self.platform / "shop_order" / f"dt={dt.isoformat()}" / "*.parquet"
                    for (oid,) in con.execute(f"SELECT order_id FROM read_parquet({_sql_str(str(pattern))})").fetchall():
                        where[str(oid)] = dt
                finally:
                    con.close()
            with self._meta_lock:
                self._derived["order_dt"] = where
        found: date | None = where.get(str(order_id))
        if found is None:
            return None
        return next((r for r in self.partition("shop_order", found) if str(r["order_id"]) == str(order_id)), None)

    def track(self, track_no: str) -> list[dict[str, Any]]:
        """Route nodes of one waybill: a small index track_no -> partition (built once), then the
        partition's nodes through the bounded cache."""
        with self._meta_lock:
            where = self._derived.get("track_dt")
        if where is None:
            where = {}
            for dt in self.partitions("logistics_track"):
                con = duckdb.connect()
                try:
                    pattern = self.platform / "logistics_track" / f"dt={dt.isoformat()}" / "*.parquet"
                    for (no,) in con.execute(
                        f"SELECT DISTINCT track_no FROM read_parquet({_sql_str(str(pattern))})"
                    ).fetchall():
                        where[str(no)] = dt
                finally:
                    con.close()
            with self._meta_lock:
                self._derived["track_dt"] = where
        track_dt = where.get(str(track_no))
        if track_dt is None:
            return []

        def load() -> dict[str, list[dict[str, Any]]]:
            index: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for r in self.partition("logistics_track", track_dt):
                index[str(r["track_no"])].append(r)
            for nodes in index.values():
                nodes.sort(key=lambda r: r.get("node_seq") or 0)
            return index

        return self._cached("logistics_track:routes", track_dt.isoformat(), load).get(str(track_no), [])
