"""Re-extracting logistics_track of a day: final routes (delivered, returned) keep their landed rows and are
not requested again; only the others are. Real mock server on loopback over api_world."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pytest

from douyin_etl.landing import blocked
from douyin_etl.sources.doudian.extract import extract_api_entity
from douyin_etl.sources.doudian.routes import is_final
from douyin_etl.storage import Storage
from douyin_sim.mock_api import MockServer
from douyin_sim.mock_api.testing import make_client

D = date(2026, 10, 10)  # api_world (last day 10-12): about half of this day's waybills are delivered by then
SHOPS = ["1000001", "1000002"]
METHOD = "logistics.trackNoRouteDetail"


def waybills_of(world: Path, dt: date = D) -> tuple[list[dict], int]:
    """The world's waybills shipped on ``dt`` (as waybills_shipped_on gives them) and how many routes are final."""
    src = f"read_parquet('{world}/platform/logistics_track/dt={dt}/*.parquet', hive_partitioning=false)"
    rows = duckdb.sql(
        f"SELECT track_no, any_value(express), min(ship_time), arg_max(state, node_seq), "
        f"arg_max(state_description, node_seq) FROM {src} GROUP BY 1 ORDER BY 1"
    ).fetchall()
    wbs = [{"track_no": no, "express": ex, "ship_time": int(st), "shop_id": None} for no, ex, st, _, _ in rows]
    return wbs, sum(is_final(s, d) for *_, s, d in rows)


def track(mock: MockServer, lake: Path, run_id: str, wbs: list[dict]) -> tuple[dict, int]:
    """Extract logistics_track of D; returns the summary and the route requests the mock served for it."""
    before = mock.stats["requests"].get(METHOD, 0)
    s = extract_api_entity(
        "logistics_track",
        D,
        run_id,
        client_factory=lambda shop: make_client(mock, shop),
        storage=Storage(str(lake)),
        shops=SHOPS,
        waybills=wbs,
    )
    return s, mock.stats["requests"].get(METHOD, 0) - before


def part(lake: Path) -> Path:
    return lake / f"raw/doudian/logistics_track/dt={D}/part-00000.parquet"


def manifest(lake: Path) -> dict:
    return json.loads((lake / f"raw/doudian/logistics_track/dt={D}/_manifest.json").read_text())


def test_rerun_requests_only_routes_not_final_and_lands_what_a_full_retrack_gives(api_world, tmp_path):
    wbs, final = waybills_of(api_world)
    assert 0 < final < len(wbs)
    lake, fresh = tmp_path / "lake", tmp_path / "fresh"
    with MockServer(api_world) as m:
        first, n1 = track(m, lake, "run-1", wbs)
        second, n2 = track(m, lake, "run-2", wbs)
        _, n_full = track(m, fresh, "run-2", wbs)  # a full re-track (nothing landed) for comparison
    assert n1 == n_full == len(wbs)
    assert n2 == len(wbs) - final  # only the routes that were not final are asked for again
    assert second["tracking"] == {
        "waybills": len(wbs),
        "carried": final,
        "requested": len(wbs) - final,
        "carried_rows": second["tracking"]["carried_rows"],
        "not_carried": 0,
        "from_run_id": "run-1",
    }
    # the summary counts the same, plus the first run's token.create (the second reuses the shop's cached token)
    assert first["requests"] - second["requests"] == final + 1
    assert (
        second["tracking"]["carried_rows"] >= 4 * final and f"{final} final routes carried over" in second["notes"][0]
    )
    assert second["rows"] == first["rows"]
    # the carried rows are the landed ones unchanged (their _source_ref too): the partition is byte-identical
    # to a full re-track of the same world
    assert part(lake).read_bytes() == part(fresh).read_bytes()
    carried = [s for s in manifest(lake)["sources"] if s.get("kind") == "carried"]
    assert carried == [
        {
            "kind": "carried",
            "method": METHOD,
            "from_run_id": "run-1",
            "waybills": final,
            "records": second["tracking"]["carried_rows"],
            "reason": carried[0]["reason"],
            "not_carried": 0,
            "not_carried_sample": [],
            "not_carried_reason": None,
        }
    ]
    assert sum(1 for s in manifest(lake)["sources"] if s.get("method") == METHOD and "track_no" in s) == n2


def test_a_waybill_gone_from_the_list_is_not_carried_but_recorded(api_world, tmp_path):
    wbs, _ = waybills_of(api_world)
    with MockServer(api_world) as m:
        track(m, tmp_path, "run-1", wbs)
        final_nos = [
            r[0]
            for r in duckdb.sql(
                f"SELECT track_no FROM read_parquet('{part(tmp_path)}') GROUP BY 1 "
                f"HAVING arg_max(state, node_seq) = '4' ORDER BY 1"
            ).fetchall()
        ]
        gone, moved = final_nos[0], final_nos[1]
        # the day's list loses one final waybill, and another one's ship time was corrected
        later = [
            dict(wb, ship_time=wb["ship_time"] + 60) if wb["track_no"] == moved else wb
            for wb in wbs
            if wb["track_no"] != gone
        ]
        s, n = track(m, tmp_path, "run-2", later)
    landed = {r[0] for r in duckdb.sql(f"SELECT DISTINCT track_no FROM read_parquet('{part(tmp_path)}')").fetchall()}
    assert gone not in landed and landed == {wb["track_no"] for wb in later}  # the list defines the partition
    assert s["tracking"]["not_carried"] == 1 and s["tracking"]["carried"] == len(final_nos) - 2
    assert n == len(later) - len(final_nos) + 2  # the moved one is requested again
    src = next(x for x in manifest(tmp_path)["sources"] if x.get("kind") == "carried")
    assert src["not_carried_sample"] == [gone] and src["not_carried_reason"] == "no longer in the day's waybill list"
    assert gone in s["notes"][0]
    ship = duckdb.sql(
        f"SELECT DISTINCT ship_time FROM read_parquet('{part(tmp_path)}') WHERE track_no = '{moved}'"
    ).fetchall()
    assert ship == [(next(wb["ship_time"] for wb in later if wb["track_no"] == moved),)]


def test_nothing_is_carried_from_a_blocked_partition(api_world, tmp_path):
    wbs, _ = waybills_of(api_world)
    with MockServer(api_world) as m:
        track(m, tmp_path, "run-1", wbs)
        blocked.mark("logistics_track", D, "run-1", "test: gate failed", Storage(str(tmp_path)))
        s, n = track(m, tmp_path, "run-2", wbs)
    assert n == len(wbs) and s["tracking"]["carried"] == 0 and "blocked" in s["notes"][0]


@pytest.mark.parametrize(
    "state,desc,final",
    [
        ("4", "已签收", True),
        ("3", "派送中", False),
        ("9", "已退回", True),
        ("2", "运输中", False),
        (None, "退签", True),
        (None, None, False),
    ],
)
def test_final_states(state, desc, final):
    assert is_final(state, desc) is final
