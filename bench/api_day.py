"""Every Open API entity of one business day through the mock under a QPS limit: requests per order.

``extract_api_day(world, lake, day, qps=…, latency_ms=…)`` lands, in dependency order, the day's 3PL
shipment file (file ingestion, no HTTP: logistics_track's waybill list), then shop_order (+ sku_order),
after_sale, alliance_order, ad_report, product, sku and logistics_track through a mock with
``latency_ms`` per request and a gateway QPS limit, the client limited to the same QPS. ``passes`` (default
2) extracts the same day again into the same lake: pass 1 is a first extraction, and what every rerun
cost before final routes were carried over (each rerun requested every waybill again); pass 2 is a
lookback rerun (the daily run re-extracts ``DOUYIN_LOOKBACK_DAYS`` days), where final routes are carried
from the landed partition and not requested again.

Per pass and entity: requests (the client's, token calls and retries included), records, seconds,
requests per order (orders = the orders created on the day; the day's shop_order partition holds the
orders whose last update fell on it, fewer in a world that stops) and QPS utilisation (requests ÷
seconds ÷ QPS). The day defaults to the world's last day minus the lookback (3): the oldest day a daily
run re-extracts, when the most routes are final. Run alone: ``python -m bench.api_day --world W``.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

log = logging.getLogger("bench.api_day")

API_ENTITIES = ("shop_order", "after_sale", "alliance_order", "ad_report", "product", "sku", "logistics_track")
DEFAULT_LOOKBACK = 3


def _meta(world: Path) -> dict[str, Any]:
    return json.loads((Path(world) / "world.json").read_text(encoding="utf-8"))


def default_day(world: Path, lookback: int = DEFAULT_LOOKBACK) -> date:
    """The world's last day minus ``lookback`` (not before its first day)."""
    days = sorted(date.fromisoformat(p.name) for p in (Path(world) / "drops").iterdir() if p.is_dir())
    return max(days[0], days[-1] - timedelta(days=lookback))


def _pass(
    mock: Any, client: Any, world: Path, lake: Path, day: date, shops: list[str], workers: int, qps: float, run_id: str
) -> dict[str, Any]:
    from douyin_etl.sources.doudian.client import forget_tokens
    from douyin_etl.sources.doudian.extract import extract_api_entity
    from douyin_etl.storage import Storage

    forget_tokens(mock.base_url)  # each pass is a run of its own (a new process): it gets its tokens anew
    per: dict[str, Any] = {}
    for entity in API_ENTITIES:
        served0 = sum(mock.stats.get("requests", {}).values())
        t0 = time.perf_counter()
        r = extract_api_entity(
            entity, day, run_id, client_factory=client, storage=Storage(str(lake)), shops=shops, workers=workers
        )
        secs = time.perf_counter() - t0
        served = sum(mock.stats.get("requests", {}).values()) - served0
        row = {
            "records": int(r["records"]),
            "requests": int(r["requests"]),
            "served": int(served),
            "retries": int(r.get("retries", 0)),
            "seconds": round(secs, 3),
            "qps_utilisation": round(r["requests"] / secs / qps, 3) if secs and qps else 0.0,
        }
        if "tracking" in r:
            row["tracking"] = r["tracking"]
        per[entity] = row
    orders = _orders(world, day)
    for row in per.values():
        row["requests_per_order"] = round(row["requests"] / orders, 4) if orders else None
    requests = sum(v["requests"] for v in per.values())
    secs = sum(v["seconds"] for v in per.values())
    return {
        "orders": orders,
        "orders_landed": _landed(lake, "shop_order", day),
        "requests": requests,
        "records": sum(v["records"] for v in per.values()),
        "seconds": round(secs, 3),
        "requests_per_order": round(requests / orders, 4) if orders else None,
        "qps_utilisation": round(requests / secs / qps, 3) if secs and qps else 0.0,
        "per_entity": per,
    }


def _orders(world: Path, day: date) -> int:
    """Orders created on ``day`` (the world's every shop_order partition: an order lands under its last update)."""
    import duckdb

    from douyin_etl.timeutil import day_bounds_unix

    lo, hi = day_bounds_unix(day)
    return int(
        duckdb.sql(
            f"SELECT count(*) FROM read_parquet('{world}/platform/shop_order/*/*.parquet') "
            f"WHERE create_time >= {lo} AND create_time < {hi}"
        ).fetchall()[0][0]
    )


def _landed(lake: Path, entity: str, day: date) -> int:
    import duckdb

    return int(
        duckdb.sql(f"SELECT count(*) FROM read_parquet('{lake}/raw/doudian/{entity}/dt={day}/*.parquet')").fetchall()[
            0
        ][0]
    )


def extract_api_day(
    world: Path,
    lake: Path,
    day: date | None = None,
    *,
    qps: float = 50.0,
    latency_ms: int = 50,
    workers: int = 4,
    passes: int = 2,
) -> dict[str, Any]:
    """Extract every API entity of ``day`` ``passes`` times into ``lake``; figures per pass (module docstring)."""
    from douyin_etl.sources.files.ingest import ingest_entity
    from douyin_etl.storage import Storage
    from douyin_sim.mock_api import FaultConfig, MockServer
    from douyin_sim.mock_api.testing import make_client

    world, lake = Path(world), Path(lake)
    meta = _meta(world)
    shops = [str(s["shop_id"] if isinstance(s, dict) else s) for s in meta["shops"]]
    day = day or default_day(world)
    t0 = time.perf_counter()
    ship = ingest_entity(
        "shipment", day, "bench-api-day", drops_dir=world / "drops", storage=Storage(str(lake)), shops=shops
    )
    out: dict[str, Any] = {
        "day": day.isoformat(),
        "qps": qps,
        "latency_ms": latency_ms,
        "workers": workers,
        "shipment_rows": int(ship.get("rows") or 0),
        "passes": [],
        "error": None,
    }
    with MockServer(world, faults=FaultConfig.from_spec(f"latency_ms={latency_ms},qps={qps:g}")) as m:

        def client(shop: str | None):
            return make_client(m, shop, qps=qps)

        try:
            for i in range(passes):
                out["passes"].append(_pass(m, client, world, lake, day, shops, workers, qps, f"bench-api-day-{i + 1}"))
        except Exception as exc:  # noqa: BLE001 - the failure is the measurement: recorded
            out["error"] = f"{type(exc).__name__}: {exc}"
            log.warning("API day extraction failed: %s", out["error"])
        out["mock_faults"] = m.stats.get("faults")
    out["own_s"] = round(time.perf_counter() - t0, 3)
    if len(out["passes"]) >= 2:
        first, rerun = out["passes"][0], out["passes"][-1]
        out["rerun"] = {
            "requests_before": first["requests"],
            "requests_after": rerun["requests"],
            "requests_per_order_before": first["requests_per_order"],
            "requests_per_order_after": rerun["requests_per_order"],
            "tracking": rerun["per_entity"]["logistics_track"].get("tracking"),
        }
    return out


def table(result: dict[str, Any]) -> str:
    """A plain-text table of the passes, per entity."""
    lines = [
        f"day {result['day']}, qps {result['qps']:g}, latency {result['latency_ms']} ms, "
        f"workers {result['workers']}" + (f"; FAILED: {result['error']}" if result.get("error") else "")
    ]
    for i, p in enumerate(result["passes"], 1):
        lines.append(
            f"pass {i}: {p['orders']} orders created ({p['orders_landed']} in the day's shop_order partition), "
            f"{p['requests']} requests ({p['requests_per_order']} per order), "
            f"{p['seconds']} s, QPS utilisation {p['qps_utilisation']:.0%}"
        )
        for entity, v in p["per_entity"].items():
            extra = (
                f"  carried {v['tracking']['carried']}, requested {v['tracking']['requested']}"
                if v.get("tracking")
                else ""
            )
            lines.append(
                f"  {entity:<15} {v['requests']:>7} req {v['records']:>8} rec {v['requests_per_order'] or 0:>7.4f}/order "
                f"{v['seconds']:>8.1f} s {v['qps_utilisation']:>5.0%}{extra}"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--world", type=Path, required=True)
    p.add_argument("--lake", type=Path, help="default: <world>/../lake-api-day (replaced)")
    p.add_argument("--day", type=date.fromisoformat)
    p.add_argument("--qps", type=float, default=50.0)
    p.add_argument("--latency-ms", type=int, default=50)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--passes", type=int, default=2)
    p.add_argument("--json", type=Path, help="also write the figures here")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    lake = a.lake or a.world.parent / "lake-api-day"
    if lake.exists():
        import shutil

        shutil.rmtree(lake)
    r = extract_api_day(a.world, lake, a.day, qps=a.qps, latency_ms=a.latency_ms, workers=a.workers, passes=a.passes)
    print(table(r))
    if a.json:
        a.json.write_text(json.dumps(r, indent=1, default=str), encoding="utf-8")
    return 1 if r.get("error") else 0


if __name__ == "__main__":
    raise SystemExit(main())
