"""LogisticsSim: warehouses, waybills, stock ledger, reorders, freight and tracks (small generated data)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from douyin_etl.timeutil import day_bounds_unix, unix_to_business_date
from douyin_sim.simulator.logistics import CARRIERS, LogisticsSim

START = date(2026, 3, 1)
PROVINCES = np.array(["广东省", "浙江省", "上海市", "北京市", "四川省", "新疆维吾尔自治区", "湖北省", "黑龙江省"])


def _skus(n: int = 30, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "sku_id": [f"17{i:014d}" for i in range(n)],
            "product_id": [f"35{i // 3:017d}" for i in range(n)],
            "shop_id": np.where(np.arange(n) % 2 == 0, "1000001", "1000002"),
            "code": [f"SKU-{i}" for i in range(n)],
            "unit_cost_fen": rng.integers(500, 20000, n),
            "weight_g": rng.integers(100, 2500, n),
        }
    )


def _run(days: int = 14, per_day: int = 300, seed: int = 3, spike_day: int | None = None):
    """Drive a sim like the generator does. Returns (sim, skus, frames per day, all lines)."""
    rng = np.random.default_rng(seed)
    skus = _skus()
    sim = LogisticsSim(seed, START, skus)
    waiting = pd.DataFrame()
    frames, all_lines = {}, []
    next_parent = 0
    for d in range(days):
        day = START + timedelta(days=d)
        start, _ = day_bounds_unix(day)
        n = per_day * (8 if d == spike_day else 1)
        parents = next_parent + rng.integers(0, n * 2 // 3, n)
        next_parent += n
        lines = pd.DataFrame(
            {
                "order_id": [f"69{d:03d}{i:014d}" for i in range(n)],
                "parent_order_id": [f"68{p:017d}" for p in parents],
                "shop_id": "1000001",
                "sku_id": skus["sku_id"].to_numpy()[rng.integers(0, 6 if d == spike_day else len(skus), n)],
                "item_num": rng.integers(1, 4, n),
                "province": PROVINCES[rng.integers(0, len(PROVINCES), n)],
            }
        )
        lines = lines.merge(sim.assign(lines), on="order_id", validate="one_to_one")
        all_lines.append(lines)
        # Ship part of the waiting lines (whole parent orders) and ~half of today's; 5 % never ship.
        pool = pd.concat([waiting, lines], ignore_index=True)
        u = pool["parent_order_id"].map(lambda p, d=d: (int(p) * 2654435761 + d) % 100)
        ship_now = (u < 55) | (pool["order_id"].str[2:5].astype(int) < d)
        never = pool["parent_order_id"].map(lambda p: int(p) % 20 == 0)
        shipped = pool[ship_now & ~never].copy()
        waiting = pool[~ship_now & ~never]
        shipped["ship_time"] = start + rng.integers(0, 86400, len(shipped))
        shipped["ship_time"] = shipped.groupby("parent_order_id")["ship_time"].transform("min")
        transit = rng.integers(20 * 3600, 4 * 86400, len(shipped))
        shipped["logistics_receipt_time"] = np.where(rng.random(len(shipped)) < 0.7, shipped["ship_time"] + transit, 0)
        shipped["exp_ship_time"] = start + 2 * 86400
        back = shipped.head(5)
        returned = pd.DataFrame({"sku_id": back["sku_id"], "warehouse_id": back["warehouse_id"], "quantity": 1})
        frames[day] = sim.day(day, shipped, returned)
        frames[day]["_shipped"] = shipped
        frames[day]["_returned"] = returned
    return sim, skus, frames, pd.concat(all_lines, ignore_index=True)


@pytest.fixture(scope="module")
def sim_run():
    return _run()


def test_warehouses_master():
    wh = LogisticsSim(11, START, _skus()).warehouses()
    assert 3 <= len(wh) <= 4
    assert list(wh["warehouse_id"]) == [f"WH{i:02d}" for i in range(1, len(wh) + 1)]
    assert set(wh.columns) == {"warehouse_id", "warehouse_name", "province", "city", "warehouse_type", "lead_time_days"}
    assert wh["warehouse_type"].isin([0, 1, 2]).all() and wh["warehouse_type"].iloc[0] == 0
    assert wh["lead_time_days"].between(3, 14).all()


def test_assign_one_waybill_per_parent_and_warehouse(sim_run):
    _, _, _, lines = sim_run
    assert set(lines["carrier"]) <= set(CARRIERS) and len(set(lines["carrier"])) >= 3
    per_pair = lines.groupby(["parent_order_id", "warehouse_id"])["tracking_no"].nunique()
    assert (per_pair == 1).all()
    per_waybill = lines.groupby("tracking_no")[["parent_order_id", "warehouse_id", "carrier"]].nunique()
    assert (per_waybill == 1).all().all()
    assert lines["warehouse_id"].nunique() >= 3  # regional routing uses the network
    # SF numbers look like SF + 13 digits.
    sf = lines.loc[lines["carrier"] == "shunfeng", "tracking_no"]
    assert sf.str.fullmatch(r"SF\d{13}").all()


def test_assign_is_deterministic_and_batch_independent():
    skus = _skus()
    lines = pd.DataFrame(
        {
            "order_id": [f"69{i:017d}" for i in range(200)],
            "parent_order_id": [f"68{i // 2:017d}" for i in range(200)],
            "shop_id": "1000001",
            "sku_id": skus["sku_id"].to_numpy()[np.arange(200) % 30],
            "item_num": 1,
            "province": PROVINCES[np.arange(200) % 8],
        }
    )
    a = LogisticsSim(5, START, skus).assign(lines)
    b = LogisticsSim(5, START, skus).assign(lines)
    pd.testing.assert_frame_equal(a, b)
    sim = LogisticsSim(5, START, skus)
    c = pd.concat([sim.assign(lines.iloc[:100]), sim.assign(lines.iloc[100:])], ignore_index=True)
    pd.testing.assert_frame_equal(
        a[["order_id", "warehouse_id", "carrier"]], c[["order_id", "warehouse_id", "carrier"]]
    )
    assert c["tracking_no"].is_unique is False  # two lines per parent share a waybill
    assert LogisticsSim(6, START, skus).assign(lines)["tracking_no"].tolist() != a["tracking_no"].tolist()


def test_stock_ledger_balances_never_negative(sim_run):
    _, skus, frames, _ = sim_run
    prev = None
    for day, f in frames.items():
        s = f["stock_snapshot"]
        assert len(s) == len(skus) * s["warehouse_id"].nunique()  # every SKU × warehouse, every day
        assert (s["stock_date"] == day).all()
        assert (s["closing_qty"] == s["opening_qty"] + s["inbound_qty"] + s["return_qty"] - s["outbound_qty"]).all()
        assert (s["closing_qty"] >= 0).all()
        assert ((s["locked_qty"] >= 0) & (s["locked_qty"] <= s["closing_qty"])).all()
        if prev is not None:
            m = prev.merge(s, on=["warehouse_id", "sku_id"], suffixes=("_prev", ""))
            assert (m["opening_qty"] == m["closing_qty_prev"]).all()
        prev = s
    total_locked = sum(int(f["stock_snapshot"]["locked_qty"].sum()) for f in frames.values())
    assert total_locked > 0  # paid, not yet shipped lines lock stock


def test_outbound_equals_shipments_and_inbound_equals_receipts(sim_run):
    _, _, frames, _ = sim_run
    n_receipts = 0
    for day, f in frames.items():
        s = f["stock_snapshot"].set_index(["sku_id", "warehouse_id"])
        ship = f["shipment"].groupby(["sku_id", "warehouse_id"])["quantity"].sum()
        got = s["outbound_qty"][s["outbound_qty"] > 0]
        pd.testing.assert_series_equal(got.sort_index(), ship.sort_index(), check_names=False)
        assert int(f["shipment"]["quantity"].sum()) == int(f["_shipped"]["item_num"].sum())
        rec = f["purchase_receipt"]
        n_receipts += len(rec)
        if len(rec):
            assert rec["receipt_time"].map(unix_to_business_date).eq(day).all()
            assert not rec.duplicated(["receipt_id", "sku_id"]).any()
        by = rec.groupby(["sku_id", "warehouse_id"])["quantity"].sum()
        got_in = s["inbound_qty"][s["inbound_qty"] > 0]
        pd.testing.assert_series_equal(got_in.sort_index(), by.sort_index(), check_names=False, check_dtype=False)
        ret = f["_returned"].groupby(["sku_id", "warehouse_id"])["quantity"].sum()
        assert int(s["return_qty"].sum()) == int(ret.sum())
    assert n_receipts > 0  # the reorder policy placed orders that arrived within the window


def test_reorder_receipt_arrives_after_lead_time_and_costs_match(sim_run):
    sim, skus, frames, _ = sim_run
    cost = skus.set_index("sku_id")["unit_cost_fen"]
    rec = pd.concat([f["purchase_receipt"] for f in frames.values()], ignore_index=True)
    assert (rec["unit_cost_fen"].to_numpy() == cost.loc[rec["sku_id"]].to_numpy()).all()
    assert rec["supplier"].str.len().gt(0).all() and rec["quantity"].gt(0).all()
    # Regular receipts (13:00 onwards) never arrive before the warehouse's lead time has passed.
    lead = sim.warehouses().set_index("warehouse_id")["lead_time_days"]
    days = rec["receipt_time"].map(unix_to_business_date)
    hour = (rec["receipt_time"] - days.map(lambda d: day_bounds_unix(d)[0])) // 3600
    regular = rec[hour >= 13]
    assert len(regular) > 0
    assert ((days[hour >= 13] - START).map(lambda t: t.days) >= lead.loc[regular["warehouse_id"]].to_numpy()).all()


def test_emergency_receipt_keeps_closing_non_negative():
    _, _, frames, _ = _run(days=6, per_day=300, seed=9, spike_day=4)
    spike = frames[START + timedelta(days=4)]
    s = spike["stock_snapshot"]
    assert (s["closing_qty"] >= 0).all()
    short = s[s["opening_qty"] < s["outbound_qty"]]
    assert len(short) > 0  # the spike outran the stock somewhere
    rec = spike["purchase_receipt"]
    emergency = rec[rec["receipt_time"].map(lambda t: (t - day_bounds_unix(START + timedelta(days=4))[0]) < 13 * 3600)]
    got = emergency.groupby(["sku_id", "warehouse_id"])["quantity"].sum()
    for (sku, wh), row in short.set_index(["sku_id", "warehouse_id"]).iterrows():
        assert got.loc[(sku, wh)] >= row["outbound_qty"] - row["opening_qty"] - row["return_qty"]


def test_every_shipped_waybill_invoiced_exactly_once(sim_run):
    sim, skus, frames, _ = sim_run
    shipped = pd.concat([f["_shipped"] for f in frames.values()], ignore_index=True)
    inv = pd.concat([f["freight_invoice"] for f in frames.values()], ignore_index=True)
    assert inv["tracking_no"].is_unique
    assert set(inv["tracking_no"]) == set(shipped["tracking_no"])
    # Billed weight: Σ SKU weight × quantity + 80 g packaging, rounded up to 100 g.
    w = skus.set_index("sku_id")["weight_g"]
    actual = (w.loc[shipped["sku_id"]].to_numpy() * shipped["item_num"]).groupby(shipped["tracking_no"]).sum()
    expected = ((actual + 80 + 99) // 100 * 100).rename("expected")
    m = inv.set_index("tracking_no").join(expected)
    assert (m["billed_weight_g"] == m["expected"]).all()
    assert (inv["freight_fen"] > 0).all() and inv["freight_fen"].dtype.kind == "i"
    assert set(inv.columns) >= {
        "tracking_no",
        "carrier",
        "carrier_name",
        "ship_date",
        "billed_weight_g",
        "freight_fen",
        "dest_province",
        "warehouse_id",
    }
    for day, f in frames.items():
        assert (f["freight_invoice"]["ship_date"] == day).all()


def test_freight_tariff_figures():
    """Hand-computed: zone 0 (same province) shunfeng 1.3 kg and zone 3 (remote) zhongtong 0.6 kg."""
    skus = pd.DataFrame(
        {
            "sku_id": ["A", "B"],
            "product_id": ["P", "P"],
            "shop_id": "1",
            "code": "",
            "unit_cost_fen": 100,
            "weight_g": [1200, 500],
        }
    )
    sim = LogisticsSim(1, START, skus)
    wh = sim.warehouses().iloc[0]  # WH01, 浙江 杭州
    assert wh["province"] == "浙江"
    start, _ = day_bounds_unix(START)
    shipped = pd.DataFrame(
        {
            "order_id": ["o1", "o2"],
            "parent_order_id": ["p1", "p2"],
            "shop_id": "1",
            "sku_id": ["A", "B"],
            "item_num": [1, 1],
            "warehouse_id": "WH01",
            "carrier": ["shunfeng", "zhongtong"],
            "tracking_no": ["SF1", "ZT2"],
            "ship_time": start + 3600,
            "logistics_receipt_time": [start + 86400, 0],
            "exp_ship_time": start + 86400,
            "province": ["浙江省", "新疆维吾尔自治区"],
        }
    )
    f = sim.day(START, shipped, None)
    inv = f["freight_invoice"].set_index("tracking_no")
    # SF: 1200 + 80 = 1280 g -> 1.3 kg billed; 450 × 2.4 = 1080 first kg + 100 × 2.4 = 240 one extra kg.
    assert inv.loc["SF1", "billed_weight_g"] == 1300 and inv.loc["SF1", "freight_fen"] == 1320
    # ZTO to a remote province: 580 g -> 0.6 kg billed, remote first kg 1500 fen.
    assert inv.loc["ZT2", "billed_weight_g"] == 600 and inv.loc["ZT2", "freight_fen"] == 1500
    assert inv.loc["SF1", "carrier_name"] == "顺丰速运"


def test_shipment_frame(sim_run):
    _, _, frames, _ = sim_run
    for day, f in frames.items():
        sh, src = f["shipment"], f["_shipped"]
        assert len(sh) == len(src) and set(sh["sku_order_id"]) == set(src["order_id"])
        assert not sh.duplicated(["outbound_id", "sku_order_id"]).any()
        assert (sh.groupby(["warehouse_id", "shop_order_id"])["outbound_id"].nunique() == 1).all()
        assert (sh.groupby("outbound_id")["shop_order_id"].nunique() == 1).all()
        m = sh.merge(src[["order_id", "logistics_receipt_time"]], left_on="sku_order_id", right_on="order_id")
        assert m.loc[m["logistics_receipt_time"] == 0, "delivered_time"].isna().all()
        d = m[m["logistics_receipt_time"] > 0]
        assert (d["delivered_time"].astype("int64") == d["logistics_receipt_time"]).all()
        assert (sh["promised_delivery_time"] > sh["ship_time"]).all()
        assert (sh["warehouse_code"] == sh["warehouse_id"]).all()
        assert sh["ship_time"].map(unix_to_business_date).eq(day).all()


def test_logistics_track_nodes(sim_run):
    _, _, frames, _ = sim_run
    f = frames[START + timedelta(days=3)]
    t, src = f["logistics_track"], f["_shipped"]
    assert list(t.columns) == [
        "track_no",
        "express",
        "node_seq",
        "content",
        "timestamp",
        "state",
        "state_description",
        "site_name",
        "ship_time",
    ]
    assert set(t["track_no"]) == set(src["tracking_no"])
    assert not t.duplicated(["track_no", "node_seq"]).any()
    first = t[t["node_seq"] == 1].set_index("track_no")
    ship = src.groupby("tracking_no")["ship_time"].min()
    assert (first["timestamp"] == ship.loc[first.index]).all() and (first["state_description"] == "揽收").all()
    assert (t.groupby("track_no")["timestamp"].apply(lambda s: s.is_monotonic_increasing)).all()
    receipt = src.groupby("tracking_no")["logistics_receipt_time"].max()
    signed = t[t["state_description"] == "已签收"].set_index("track_no")
    assert set(signed.index) == set(receipt[receipt > 0].index)
    assert (signed["timestamp"] == receipt.loc[signed.index]).all()


def test_track_nodes_after_world_end_are_cut():
    skus = _skus()
    sim = LogisticsSim(2, START, skus, end=START)
    start, end = day_bounds_unix(START)
    shipped = pd.DataFrame(
        {
            "order_id": ["o1"],
            "parent_order_id": ["p1"],
            "shop_id": "1",
            "sku_id": [skus["sku_id"][0]],
            "item_num": [1],
            "warehouse_id": "WH01",
            "carrier": "yunda",
            "tracking_no": "4300000000001",
            "ship_time": start + 80000,
            "logistics_receipt_time": start + 3 * 86400,
            "exp_ship_time": 0,
            "province": "广东省",
        }
    )
    t = sim.day(START, shipped, None)["logistics_track"]
    assert (t["timestamp"] < end).all() and "已签收" not in set(t["state_description"])
    assert 1 in set(t["node_seq"])


def test_day_is_deterministic():
    a = _run(days=4, per_day=100, seed=21)[2]
    b = _run(days=4, per_day=100, seed=21)[2]
    for day in a:
        for k in ("shipment", "stock_snapshot", "purchase_receipt", "freight_invoice", "logistics_track"):
            pd.testing.assert_frame_equal(a[day][k], b[day][k])


def test_unknown_sku_is_a_clear_error():
    sim = LogisticsSim(1, START, _skus())
    with pytest.raises(ValueError, match="unknown sku_id"):
        sim.assign(
            pd.DataFrame(
                {
                    "order_id": ["1"],
                    "parent_order_id": ["1"],
                    "shop_id": "1",
                    "sku_id": ["nope"],
                    "item_num": [1],
                    "province": ["广东省"],
                }
            )
        )


def test_frames_write_as_drops(tmp_path, sim_run):
    """The sim's frames are exactly what the drop writer needs (spec columns + file-name groups)."""
    from douyin_sim.simulator import drops

    sim, _, frames, _ = sim_run
    day = START + timedelta(days=5)
    f = {k: v for k, v in frames[day].items() if not k.startswith("_") and k != "logistics_track"}
    f["warehouse"] = sim.warehouses()
    res = drops.write_day(tmp_path, day, f, 3)
    n_wh = len(sim.warehouses())
    ymd = day.strftime("%Y%m%d")
    assert sum(1 for n in res if n.startswith("库存日报_")) == n_wh
    assert res[f"仓库列表_{ymd}.csv"] == n_wh
    assert sum(v for n, v in res.items() if n.startswith("发货明细_")) == len(f["shipment"])
    assert sum(v for n, v in res.items() if n.startswith("运费账单_")) == len(f["freight_invoice"])
    assert sum(v for n, v in res.items() if n.startswith("入库单_")) == len(f["purchase_receipt"])
    carriers = {n.split("_")[1] for n in res if n.startswith("运费账单_")}
    assert carriers == set(f["freight_invoice"]["carrier"])
    with pytest.raises(drops.DropWriteError, match="platform/"):
        drops.write_day(tmp_path, day, {"logistics_track": frames[day]["logistics_track"]}, 3)
