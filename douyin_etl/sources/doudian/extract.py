"""Extract one business-day partition of one Open API entity, for every shop, into the landing zone.

``extract_api_entity(entity, dt, run_id)`` — the window is the Asia/Shanghai day ``dt`` of the entity's
partition field (update_time for shop_order/sku_order/after_sale/alliance_order, stat_date for
ad_report); snapshots (product, sku) land the current state under ``dt``; logistics_track lands the
route of every waybill shipped on ``dt``.

- **shop_order lands sku_order too**: both come from the same order.searchList calls, so extracting
  ``shop_order`` writes both partitions (sku_order rows get shop_id from their parent), and
  ``sku_order`` is a no-op alias (its summary says ``landed_by: shop_order``).
- **Shops**: ``DOUYIN_SHOP_IDS`` (comma list), else the ``shop_ids`` of the ``doudian_default``
  connection's extra; neither is a ``ConfigError`` saying how to set them (``config.doudian_shop_ids``),
  never a guess. Credentials: ``config.doudian_credentials`` (the connection, else DOUYIN_*, else an error).
- **Waybills** (logistics_track, ``DOUYIN_TRACKING=all|none``): the tracking numbers shipped on ``dt``
  from the landed 3PL shipment partition of ``dt`` and from ``logistics_info`` of the landed shop orders
  (partitions ``dt`` and later), one call each; ``ship_time`` is copied onto every route node. When ``dt``
  is extracted again (the lookback window), waybills whose landed route is already final (delivered,
  returned) keep their landed rows and are not requested again (``routes.plan_carry_over``); the summary's
  ``tracking`` and the manifest's ``carried`` source say how many were carried and requested.
- Concurrency: a small thread pool (``workers``) over independent units (shop × window piece,
  advertiser × goal, waybill), all bounded by the shared client-side rate limiter; page-based pages
  after the first are fetched concurrently by the client and processed in page order. Records repeated
  across pages keep the latest version (update_time, then the last fetched).
- Memory stays flat whatever the window: every page is flattened and handed to the landing writer in
  batches of ``BATCH_ROWS`` as it arrives (the writer spills them to Parquet); de-duplication remembers
  only key -> version (``VersionGate``) and the writer keeps the last written row per key.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import duckdb

from douyin_etl import config
from douyin_etl.entities import get as get_entity
from douyin_etl.sources.doudian.client import DoudianClient, VersionGate
from douyin_etl.sources.doudian.endpoints import (
    ENDPOINTS,
    ENTITY_ENDPOINT,
    LANDED_SCHEMAS,
    QIANCHUAN_GOALS,
    SOURCE_REF,
    endpoint,
    split_window,
)
from douyin_etl.sources.doudian.routes import CarryOver, plan_carry_over
from douyin_etl.storage import Storage
from douyin_etl.timeutil import day_start, unix_to_business_date

log = logging.getLogger(__name__)

ClientFactory = Callable[[str | None], DoudianClient]
ALIASES = {"sku_order": "shop_order"}  # entity -> the entity whose extraction lands it
DEFAULT_WORKERS = 4
BATCH_ROWS = 5000  # rows buffered before a write to the landing writer (bounds memory)


def default_client_factory(shop_id: str | None) -> DoudianClient:
    """A client for ``shop_id`` with the app's credentials and the shop's grant (a ConfigError naming the
    setting when either is missing)."""
    grant = config.doudian_shop_grant(shop_id) if shop_id else None
    return DoudianClient(config.doudian_credentials(), shop_id=shop_id, grant=grant)


def shops_to_extract() -> list[str | None]:
    """Shop ids from DOUYIN_SHOP_IDS or the connection's extra; a ConfigError saying how to set them otherwise."""
    return list(config.doudian_shop_ids())


Sink = Callable[[dict[str, list[dict[str, Any]]]], None]  # thread-safe: rows by entity -> landing writers


@dataclass
class _Unit:
    """One independent piece of work: a query (or a call) for one shop; streams its rows into a sink."""

    shop: str | None
    label: str
    run: Callable[[DoudianClient, Sink], dict[str, Any]]


@dataclass
class _Totals:
    rows: dict[str, int] = field(default_factory=dict)
    pages: int = 0
    fetched: int = 0
    repeats: int = 0


def _query_unit(
    method: str,
    params: dict[str, Any],
    shop: str | None,
    ctx: dict[str, Any],
    label: str,
    window: tuple[Any, Any] | None = None,
) -> _Unit:
    ep = endpoint(method)

    def run(client: DoudianClient, sink: Sink) -> dict[str, Any]:
        gate = VersionGate(ep)
        pages = written = 0
        if window is not None:  # split to the gateway's span, halved while deeper than its depth limit
            walk = client.window_pages(method, params, window[0], window[1])
        else:
            walk = ((label, page, data, items) for page, data, items in client.pages(method, params))
        for piece, page, _, items in walk:
            pages += 1
            c = {**ctx, "shop_id": client.shop_id, SOURCE_REF: f"{method} shop={client.shop_id} {piece} page={page}"}
            out: dict[str, list[dict[str, Any]]] = {}
            for rec in items:
                if gate.admit(rec):
                    written += 1
                    for entity, rows in ep.flatten(rec, c).items():  # type: ignore[misc]
                        out.setdefault(entity, []).extend(rows)
            sink(out)
        return {
            "kind": "api",
            "method": method,
            "shop_id": client.shop_id,
            "unit": label,
            "pages": pages,
            "records": gate.unique,
            "repeats_removed": gate.seen - gate.unique,
            "superseded_rewrites": written - gate.unique,
        }

    return _Unit(shop, label, run)


def _day_window_units(method: str, dt: date, shops: list[str | None]) -> list[_Unit]:
    ep = endpoint(method)
    start = day_start(dt)
    pieces = split_window(start, start + timedelta(days=1), ep.window.max_span)  # type: ignore[union-attr]
    return [
        _query_unit(method, {}, shop, {}, f"window={s.isoformat()}/{e.isoformat()}", (s, e))
        for shop in shops
        for s, e in pieces
    ]


def _snapshot_units(method: str, shops: list[str | None]) -> list[_Unit]:
    return [_query_unit(method, {}, shop, {}, "snapshot") for shop in shops]


def _ad_units(dt: date, shops: list[str | None], clients: dict[str | None, DoudianClient]) -> list[_Unit]:
    units = []
    for shop in shops:
        advertisers = [
            str(a["advertiser_id"])
            for _, _, items in clients[shop].pages("qianchuan.shop.advertiser.list", {})
            for a in items
        ]
        for adv in advertisers:
            for goal in QIANCHUAN_GOALS:
                params = {
                    "advertiser_id": adv,
                    "start_date": dt.isoformat(),
                    "end_date": dt.isoformat(),
                    "filtering": {"marketing_goal": goal},
                }
                units.append(
                    _query_unit(
                        "qianchuan.report.advertiser.get",
                        params,
                        shop,
                        {"advertiser_id": adv, "marketing_goal": goal},
                        f"advertiser={adv} goal={goal} date={dt}",
                    )
                )
    return units


def _read_lake(storage: Storage, sql_template: str, pattern: str) -> list[tuple]:
    if not storage.glob(pattern):
        return []
    con = duckdb.connect()
    try:
        storage.duckdb_register(con)
        con.execute("SET TimeZone='Asia/Shanghai'")
        return con.execute(
            sql_template.format(src=f"read_parquet('{pattern}', union_by_name=true, hive_partitioning=false)")
        ).fetchall()
    finally:
        con.close()


def waybills_shipped_on(dt: date, storage: Storage | None = None) -> list[dict[str, Any]]:
    """[{track_no, express, ship_time, shop_id}] shipped on ``dt``: 3PL shipments of dt + shop orders' logistics_info."""
    st = storage or Storage.lake()
    found: dict[str, dict[str, Any]] = {}
    ship_glob = st.path(get_entity("shipment").landing_dir, f"dt={dt.isoformat()}", "*.parquet")
    for track_no, carrier, ship_time in _read_lake(
        st,
        "SELECT tracking_no, any_value(carrier), min(epoch(ship_time))::BIGINT FROM {src} "
        "WHERE tracking_no IS NOT NULL GROUP BY 1 ORDER BY 1",
        ship_glob,
    ):
        found[str(track_no)] = {
            "track_no": str(track_no),
            "express": carrier,
            "ship_time": int(ship_time),
            "shop_id": None,
        }
    order_dir = st.path(get_entity("shop_order").landing_dir)
    for d in sorted(n for n in st.listdir(order_dir) if n.startswith("dt=") and n[3:] >= dt.isoformat()):
        for shop_id, info in _read_lake(
            st,
            "SELECT shop_id, logistics_info FROM {src} WHERE logistics_info IS NOT NULL",
            st.path(order_dir, d, "*.parquet"),
        ):
            try:
                entries = json.loads(info) or []
            except (TypeError, ValueError):
                log.warning("shop_order %s: logistics_info is not JSON; its waybills are skipped", d)
                continue
            for e in entries if isinstance(entries, list) else []:
                ts, no = e.get("ship_time"), e.get("tracking_no")
                if no and isinstance(ts, int) and ts > 0 and unix_to_business_date(ts) == dt:
                    found.setdefault(str(no), {"track_no": str(no), "express": e.get("company"), "ship_time": ts})
                    found[str(no)]["shop_id"] = str(shop_id)
    return [found[k] for k in sorted(found)]


def _track_units(dt: date, shops: list[str | None], waybills: list[dict[str, Any]]) -> list[_Unit]:
    ep = ENDPOINTS["logistics.trackNoRouteDetail"]
    default_shop = shops[0]

    def make(wb: dict[str, Any]) -> _Unit:
        def run(client: DoudianClient, sink: Sink) -> dict[str, Any]:
            data = client.call(ep.method, {"track_no": wb["track_no"], "logistics_code": wb.get("express") or ""})
            ctx = {**wb, SOURCE_REF: f"{ep.method} track_no={wb['track_no']}"}
            rows = ep.flatten(data, ctx)  # type: ignore[misc]
            sink(rows)
            return {
                "kind": "api",
                "method": ep.method,
                "track_no": wb["track_no"],
                "records": len(rows["logistics_track"]),
            }

        shop = wb.get("shop_id") if wb.get("shop_id") in shops else default_shop
        return _Unit(shop, f"track_no={wb['track_no']}", run)

    return [make(wb) for wb in waybills]


def extract_api_entity(
    entity: str,
    dt: date,
    run_id: str,
    *,
    client_factory: ClientFactory | None = None,
    storage: Storage | None = None,
    shops: Sequence[str | None] | None = None,
    waybills: list[dict[str, Any]] | None = None,
    workers: int = DEFAULT_WORKERS,
) -> dict[str, Any]:
    """Land ``entity`` for business day ``dt``; returns a summary (entity, dt, rows, requests, retries, seconds, records_per_s)."""
    from douyin_etl.landing.writer import PartitionWriter

    t0 = time.perf_counter()
    if entity in ALIASES:
        return {
            "entity": entity,
            "dt": dt.isoformat(),
            "landed_by": ALIASES[entity],
            "rows": 0,
            "requests": 0,
            "retries": 0,
            "seconds": 0.0,
            "records_per_s": 0.0,
        }
    if entity not in ENTITY_ENDPOINT:
        raise ValueError(f"{entity!r} is not an Open API entity; choose one of {', '.join(sorted(ENTITY_ENDPOINT))}")
    method = ENTITY_ENDPOINT[entity]
    factory = client_factory or default_client_factory
    shop_list = list(shops) if shops is not None else shops_to_extract()
    clients: dict[str | None, DoudianClient] = {s: factory(s) for s in shop_list}
    outputs = ["shop_order", "sku_order"] if entity == "shop_order" else [entity]
    notes: list[str] = []
    carry: CarryOver | None = None
    try:
        if method in ("product.listV2", "sku.list"):
            units = _snapshot_units(method, shop_list)
        elif entity == "ad_report":
            units = _ad_units(dt, shop_list, clients)
        elif entity == "logistics_track":
            if config.doudian_tracking() == "none":
                units, notes = [], ["DOUYIN_TRACKING=none: no route lookups"]
            else:
                wbs = waybills if waybills is not None else waybills_shipped_on(dt, storage)
                carry = plan_carry_over(dt, wbs, storage)
                units = _track_units(dt, shop_list, carry.to_request)
                notes.append(carry.note())
        else:
            units = _day_window_units(method, dt, shop_list)
        totals = _Totals(rows={e: 0 for e in outputs})
        writers = {
            e: PartitionWriter(e, dt, run_id, storage=storage, schema={**LANDED_SCHEMAS[e], SOURCE_REF: "VARCHAR"})
            for e in outputs
        }
        buffers: dict[str, list[dict[str, Any]]] = {e: [] for e in outputs}
        lock = threading.Lock()

        def sink(rows_by_entity: dict[str, list[dict[str, Any]]]) -> None:
            with lock:  # one writer call at a time; a unit's pages arrive in order, so the last written is the newest
                for e in outputs:
                    batch = rows_by_entity.get(e, [])
                    buffers[e].extend(batch)
                    totals.rows[e] += len(batch)
                    if len(buffers[e]) >= BATCH_ROWS:
                        writers[e].write_records(buffers[e])
                        buffers[e] = []

        try:
            if carry is not None:  # final routes keep their landed rows (streamed in before any request)
                carry.copy_into(writers[entity], storage or Storage.lake())
            with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix=f"extract-{entity}") as pool:
                futures = {pool.submit(u.run, clients[u.shop], sink): u for u in units}
                for fut in as_completed(futures):
                    source = fut.result()
                    with lock:
                        for e in outputs:
                            writers[e].add_source(source)
                    totals.pages += int(source.get("pages", 1))
                    totals.repeats += int(source.get("repeats_removed", 0))
            for e in outputs:
                writers[e].write_records(buffers[e])
                manifest = writers[e].commit()
                totals.rows[e] = int(manifest.get("rows", totals.rows[e]))
        except BaseException:
            for w in writers.values():
                w.abort()
            raise
    finally:
        stats = [c.stats for c in clients.values()]
        for c in clients.values():
            c.close()
    seconds = time.perf_counter() - t0
    rows = sum(totals.rows.values())
    requests = int(sum(s.get("requests", 0) for s in stats))
    summary = {
        "entity": entity,
        "dt": dt.isoformat(),
        "run_id": run_id,
        "rows": totals.rows[entity] if len(outputs) == 1 else dict(totals.rows),
        "records": rows,
        "requests": requests,
        "retries": int(sum(s.get("retries", 0) for s in stats)),
        "rate_limited": int(sum(s.get("rate_limited", 0) for s in stats)),
        "server_errors": int(sum(s.get("server_errors", 0) for s in stats)),
        "repeats_removed": totals.repeats,
        "pages": totals.pages,
        "shops": [c.shop_id for c in clients.values()],
        "seconds": round(seconds, 3),
        "records_per_s": round(rows / seconds, 1) if seconds > 0 else 0.0,
        "notes": notes,
    }
    if carry is not None:
        summary["tracking"] = carry.summary()
    log.info(
        "extracted %s dt=%s: %s rows in %.2f s (%d requests, %d retries)",
        entity,
        dt,
        summary["rows"],
        seconds,
        requests,
        summary["retries"],
    )
    return summary
