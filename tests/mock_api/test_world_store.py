"""The mock's world store: memory bounded by rows, whatever the world's size; waybill lookups exact."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from douyin_sim.mock_api.world import WorldStore, cache_budget_rows


def _days(world: Path, entity: str) -> list[date]:
    return sorted(date.fromisoformat(p.name[3:]) for p in (world / "platform" / entity).glob("dt=*"))


def test_the_partition_cache_keeps_at_most_its_row_budget(api_world: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Walking every day of the world holds at most DOUYIN_MOCK_CACHE_ROWS rows (the newest partition
    always stays, even when it alone is larger): a year of a big shop no longer fills the machine."""
    days = _days(api_world, "sku_order")
    sizes = [len(WorldStore(api_world).partition("sku_order", d)) for d in days]
    budget = max(sizes) + 1  # room for one partition, not two
    monkeypatch.setenv("DOUYIN_MOCK_CACHE_ROWS", str(budget))
    store = WorldStore(api_world)
    for d in days:
        store.partition("sku_order", d)
        assert store.cached_rows() <= budget
    assert store.cached_rows() == sizes[-1]
    monkeypatch.setenv("DOUYIN_MOCK_CACHE_ROWS", "1")
    tiny = WorldStore(api_world)
    for d in days[:2]:
        tiny.partition("sku_order", d)
    assert tiny.cached_rows() == sizes[1]  # only the newest partition


@pytest.mark.parametrize("raw", ["many", "0"])
def test_a_malformed_cache_budget_names_the_setting(raw: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOUYIN_MOCK_CACHE_ROWS", raw)
    with pytest.raises(ValueError, match="DOUYIN_MOCK_CACHE_ROWS"):
        cache_budget_rows()


def test_every_waybill_is_found_with_all_its_route_nodes(api_world: Path) -> None:
    """The hashed waybill index finds each waybill's newest partition: the nodes returned are those of
    the world, in node order; an unknown waybill has none."""
    glob = str(api_world / "platform" / "logistics_track" / "dt=*" / "*.parquet")
    con = duckdb.connect()
    try:
        expected = con.execute(
            f"""SELECT track_no, list(node_seq ORDER BY node_seq) FROM read_parquet('{glob}', hive_partitioning = true)
                WHERE (track_no, dt) IN (SELECT (track_no, max(dt)) FROM read_parquet('{glob}', hive_partitioning = true)
                                         GROUP BY track_no)
                GROUP BY track_no ORDER BY track_no"""
        ).fetchall()
    finally:
        con.close()
    assert len(expected) > 10
    store = WorldStore(api_world)
    for track_no, seqs in expected:
        assert [n["node_seq"] for n in store.track(track_no)] == seqs, track_no
    assert store.track("YT-not-a-waybill") == []
