"""Measure extraction throughput against the mock: ``python -m douyin_etl.mock_api.bench``.

1. records/s with no added latency (client limiter effectively off);
2. records/s and requests/s with ``latency_ms`` under a gateway QPS limit, the client limited to the same
   QPS, and the utilisation of that limit (requests/s ÷ QPS).
Uses a fixture world (``--orders-per-day`` per shop) or ``--world DIR`` (e.g. a simulated world).
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from douyin_etl.mock_api import FaultConfig, MockServer
from douyin_etl.mock_api.fixture import build_fixture_world, make_client
from douyin_etl.sources.doudian.extract import extract_api_entity
from douyin_etl.storage import Storage


def _run(world: Path, lake: Path, faults: str, qps: float, entities: list[str], days: list[date], shops: list[str],
         workers: int) -> dict:
    out = {}
    with MockServer(world, faults=FaultConfig.from_spec(faults)) as m:
        # warm the mock's partition cache so the figures are about the protocol, not Parquet reads
        for d in days:
            extract_api_entity("shop_order", d, "warm", client_factory=lambda s: make_client(m, s, qps=10_000),
                               storage=Storage(str(lake / "warm")), shops=shops)
        for entity in entities:
            t0 = time.perf_counter()
            rows = requests = 0
            for d in days[-1:]:
                s = extract_api_entity(entity, d, "bench", client_factory=lambda sh: make_client(m, sh, qps=qps),
                                       storage=Storage(str(lake)), shops=shops, workers=workers)
                rows += s["records"]
                requests += s["requests"]
            secs = time.perf_counter() - t0
            out[entity] = {"records": rows, "requests": requests, "seconds": round(secs, 2),
                           "records_per_s": round(rows / secs), "requests_per_s": round(requests / secs, 1),
                           **({"qps_utilisation": round(requests / secs / qps, 3)} if qps < 1000 else {})}
        out["mock_faults"] = m.stats["faults"]
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--world", help="an existing world (default: build a fixture world)")
    p.add_argument("--orders-per-day", type=int, default=5000)
    p.add_argument("--latency-ms", type=int, default=50)
    p.add_argument("--qps", type=float, default=20)
    p.add_argument("--workers", type=int, default=4)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        world = Path(args.world) if args.world else Path(tmp) / "world"
        if not args.world:
            build_fixture_world(world, days=2, orders_per_day=args.orders_per_day)
        meta = json.loads((world / "world.json").read_text())
        shops = [str(s["shop_id"] if isinstance(s, dict) else s) for s in meta["shops"]]
        start = date.fromisoformat(str(meta.get("start") or meta.get("params", {}).get("start")))
        days = [start, start + timedelta(days=1)]
        fast = _run(world, Path(tmp) / "lake1", "", 10_000, ["shop_order", "logistics_track"], days, shops, args.workers)
        limited = _run(world, Path(tmp) / "lake2", f"latency_ms={args.latency_ms},qps={args.qps}", args.qps,
                       ["shop_order", "logistics_track"], days, shops, args.workers)
    print(json.dumps({"no_latency": fast, f"latency_{args.latency_ms}ms_qps_{args.qps:g}": limited}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
