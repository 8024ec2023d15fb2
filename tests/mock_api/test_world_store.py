"""The mock's world store: memory bounded by rows, whatever the world's size; waybill lookups exact."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
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


def test_orders_and_their_lines_do_not_evict_each_other(api_world: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A page of orders needs the day's orders and its lines at once: the newest entry of each kind stays
    whatever the budget, so neither is read again page after page (an SF10 day: 4 s a read, 7 min a day)."""
    monkeypatch.setenv("DOUYIN_MOCK_CACHE_ROWS", "1")
    store = WorldStore(api_world)
    loads: list[tuple[str, date]] = []
    load = store._load_partition
    monkeypatch.setattr(store, "_load_partition", lambda entity, dt: loads.append((entity, dt)) or load(entity, dt))
    older, day = _days(api_world, "shop_order")[-2:]
    for _ in range(3):
        orders = store.partition("shop_order", day)
        lines = store.lines_by_parent(day)
    assert loads == [("shop_order", day), ("sku_order", day)]  # each read once
    line_rows = sum(len(v) for v in lines.values())
    assert line_rows > 0 and store.cached_rows() == len(orders) + line_rows
    store.partition("shop_order", older)  # the older day's orders replace the newer's; the lines stay
    assert store.cached_rows() == len(store.partition("shop_order", older)) + line_rows
    assert loads[-1] == ("shop_order", older) and len(loads) == 3


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


def test_concurrent_waybill_lookups_build_the_index_once(api_world: Path) -> None:
    """The waybill index is a scan of every route partition (SF100: 10 M keys, ~1 GB, seconds): requests
    arriving while it is built wait for that one build. Built once per waiting request (the extractor's
    workers, then their retries after a timeout), it took the SF100 mock to 24 GB and the OOM killer."""
    glob = str(api_world / "platform" / "logistics_track" / "dt=*" / "*.parquet")
    waybills = [
        r[0] for r in duckdb.sql(f"SELECT DISTINCT track_no FROM read_parquet('{glob}') ORDER BY 1 LIMIT 8").fetchall()
    ]
    store = WorldStore(api_world)
    built: list[str] = []
    real = store._key_index

    def counting(entity: str, column: str):  # noqa: ANN202
        built.append(entity)
        time.sleep(0.3)  # a build takes a while: the other lookups arrive meanwhile
        return real(entity, column)

    store._key_index = counting  # type: ignore[method-assign]
    start = threading.Barrier(len(waybills))

    def look(track_no: str) -> int:
        start.wait()
        return len(store.track(track_no))

    with ThreadPoolExecutor(len(waybills)) as pool:
        nodes = list(pool.map(look, waybills))
    assert built == ["logistics_track"]
    assert all(n > 0 for n in nodes)


def test_advertisers_do_not_walk_every_ad_report_partition(api_world: Path) -> None:
    """advertiser → shop comes from one query over the history, not from every ad_report partition read
    into the row cache (365 partitions at SF100, each a DuckDB read): the cache stays empty."""
    glob = str(api_world / "platform" / "ad_report" / "dt=*" / "*.parquet")
    expected = dict(
        duckdb.sql(f"SELECT DISTINCT advertiser_id::VARCHAR, shop_id::VARCHAR FROM read_parquet('{glob}')").fetchall()
    )
    store = WorldStore(api_world)
    assert store.advertisers() == expected and len(expected) == 2
    assert store.cached_rows() == 0


def test_the_stores_duckdb_connections_are_capped(api_world: Path) -> None:
    """DuckDB's default memory limit is 80 % of the machine: the store's scans are capped instead."""
    con = WorldStore(api_world)._connect()
    try:
        limit = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]  # type: ignore[index]
    finally:
        con.close()
    assert limit.endswith(("MiB", "GiB")) and float(limit.split()[0]) <= (1024 if limit.endswith("MiB") else 1)
