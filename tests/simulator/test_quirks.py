"""The platform quirks and natural discrepancies of the simulated world (issue 15 B), each checked
against the world's truth tables (``truth/<quirk>.csv``, written by the generator from its own arrays).
A failing test names its quirk. Uses the session world of tests/simulator/conftest.py (10 days)."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from douyin_sim.simulator import generate_world
from douyin_sim.simulator.behaviour import DEFAULT
from douyin_sim.simulator.fees import PLATFORM_RATES_BP
from douyin_sim.simulator.finance import fee_of
from douyin_sim.simulator.logistics import LogisticsSim


def _truth(world: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(world / "truth" / f"{name}.csv", dtype=str, keep_default_na=False)


def test_quirk_fee_rate_change_the_bill_charges_the_new_rate(con, world):
    changes = _truth(world, "fee_rate_changes")
    assert len(changes) == 1, "one category's platform fee rate changes during the world"
    ch = changes.iloc[0]
    cid, eff = int(ch.first_cid), date.fromisoformat(ch.effective_date)
    assert int(ch.old_rate_bp) == PLATFORM_RATES_BP[cid][1] != int(ch.new_rate_bp)
    rows = con.execute(f"""
        SELECT s.order_id, s.real_pay_amount - s.refund_before_settle AS base, s.platform_service_fee AS fee,
               (DATE '1970-01-01' + CAST((l.confirm_receipt_time + 28800) // 86400 AS INTEGER) + 7) AS due
        FROM settlement_bill s JOIN sku_order l ON l.order_id = s.order_id
        WHERE s.trade_type = 0 AND l.first_cid = {cid}""").df()
    an = pd.read_csv(world / "truth" / "anomalies.csv", dtype=str)
    recon = con.execute("SELECT sku_order_id, natural_kind FROM recon").df().set_index("sku_order_id")
    odd = set(an.loc[an.kind == "fee_mismatch", "key"]) | set(recon.index[recon.natural_kind == "fee_rounding"])
    rows = rows[~rows.order_id.isin(odd)]
    after = rows[rows.due.dt.date >= eff]
    assert len(after) > 0, "settlements at the new rate exist in the world"
    rate = np.where(rows.due.dt.date >= eff, int(ch.new_rate_bp), int(ch.old_rate_bp))
    assert (fee_of(rows.base.to_numpy(), rate) == rows.fee.to_numpy()).all()


def test_quirk_commission_campaign_rates_on_alliance_orders(con, world):
    camps = _truth(world, "commission_campaigns")
    assert len(camps) > 0
    lines = con.execute("""
        SELECT a.author_id, a.commission_rate_bp, strftime(to_timestamp(l.pay_time), '%Y-%m-%d') AS pay_day
        FROM alliance_order a JOIN sku_order l ON l.order_id = a.order_id""").df()
    seen_campaign = 0
    for c in camps.itertuples():
        mine = lines[lines.author_id == c.author_id]
        inside = (mine.pay_day >= c.start_date) & (mine.pay_day <= c.end_date)
        assert (mine.commission_rate_bp[inside] == int(c.campaign_rate_bp)).all(), c
        assert (mine.commission_rate_bp[~inside] == int(c.base_rate_bp)).all(), c
        seen_campaign += int(inside.sum())
    assert seen_campaign > 0, "some alliance orders were paid during a campaign"


def test_quirk_adjustments_and_deposit_movements_in_the_fund_flow(con, world):
    ev = _truth(world, "fund_events")
    assert {"adjustment", "deposit_topup", "deposit_deduction", "deposit_refund"} <= set(ev.kind)
    ff = (
        con.execute(
            "SELECT account_trade_no, fund_flow, account_amount, account_type, account_bill_desc_tag, order_id "
            "FROM fund_flow"
        )
        .df()
        .set_index("account_trade_no")
    )
    tags = {"adjustment": 30, "deposit_topup": 40, "deposit_deduction": 41, "deposit_refund": 42}
    for e in ev.itertuples():
        r = ff.loc[e.account_trade_no]
        assert (1 if r.fund_flow == 0 else -1) * r.account_amount == int(e.signed_fen), e
        assert (r.account_bill_desc_tag, r.account_type) == (tags[e.kind], e.account_type), e
        assert (r.order_id if isinstance(r.order_id, str) else "") == e.order_id, e
    # adjustments refer to settled lines and never touch the settlement bill
    adj = ev[ev.kind == "adjustment"]
    assert con.execute(
        f"SELECT count(*) FROM settlement_bill WHERE order_id IN ({','.join(repr(x) for x in adj.order_id)})"
    ).fetchone()[0] >= len(set(adj.order_id))


def test_quirk_live_sessions_cross_midnight_and_sell_after_it(con, world):
    cross = _truth(world, "live_sessions_cross_midnight")
    assert len(cross) > 0
    assert (cross.end_date > cross.start_date).all()
    rooms = ",".join(repr(r) for r in cross.room_id)
    after_midnight = con.execute(f"""
        SELECT count(*) FROM sku_order WHERE room_id_str IN ({rooms}) AND pay_time > 0
          AND hour(to_timestamp(create_time)) < 6""").fetchone()[0]
    assert after_midnight > 0, "a session past midnight sells after midnight (orders of the next day)"
    # the session is reported once, on its start day (the drop of the start day holds it)
    for r in cross.head(3).itertuples():
        assert list((world / "drops" / r.start_date).glob(f"直播场次_{r.shop_id}_*"))


def test_quirk_ad_reports_restated_the_next_day(con, world):
    rs = _truth(world, "ad_restatements")
    assert len(rs) > 0
    ads = con.execute(
        "SELECT advertiser_id, CAST(stat_date AS VARCHAR) AS stat_date, marketing_goal, CAST(dt AS VARCHAR) AS dt, "
        "CAST(stat_cost * 100 AS BIGINT) AS cost FROM ad_report"
    ).df()
    for r in rs.itertuples():
        k = ads[
            (ads.advertiser_id == r.advertiser_id)
            & (ads.stat_date == r.stat_date)
            & (ads.marketing_goal == r.marketing_goal)
        ]
        assert dict(zip(k.dt, k.cost)) == {
            r.stat_date: int(r.original_cost_fen),
            r.restated_on: int(r.restated_cost_fen),
        }
        assert date.fromisoformat(r.restated_on) == date.fromisoformat(r.stat_date) + timedelta(days=1)


def test_quirk_lost_and_rejected_parcels(con, world):
    inc = _truth(world, "logistics_incidents")
    assert {"lost", "rejected"} <= set(inc.kind)
    track = con.execute(f"SELECT * FROM read_parquet('{world}/platform/logistics_track/*/*.parquet')").df()
    for r in inc.itertuples():
        states = set(track.loc[track.track_no == r.tracking_no, "state_description"])
        assert "已签收" not in states, r
        assert ("丢失" if r.kind == "lost" else "拒收") in states, r
        assert bool(r.return_tracking_no) == (r.kind == "rejected"), r
    # a return waybill has a number of its own (never an outbound waybill's)
    returns = set(inc.return_tracking_no) - {""}
    assert returns and not returns & set(track.track_no)
    ids = ",".join(repr(x) for x in inc.sku_order_id)
    # never delivered; refunded in full without a return (仅退款)
    rows = con.execute(f"""SELECT l.logistics_receipt_time, a.aftersale_type, a.refund_status FROM sku_order l
                           JOIN after_sale a ON a.related_id = l.order_id WHERE l.order_id IN ({ids})""").fetchall()
    assert len(rows) == len(inc) and all(r == (0, 1, 3) for r in rows)


def test_quirk_split_shipments_one_order_several_waybills(con, world):
    multi = con.execute("""
        SELECT count(*) FROM shop_order WHERE json_array_length(logistics_info::JSON) > 1""").fetchone()[0]
    assert multi > 0, "some orders ship in several parcels"


def test_natural_discrepancies_are_settled_in_the_truth(con, world):
    recon = con.execute("SELECT * FROM recon WHERE natural_kind IS NOT NULL").df()
    assert {"late_settlement", "fee_rounding"} <= set(recon.natural_kind)
    assert (recon.status == "settled").all()
    late = recon.loc[recon.natural_kind == "late_settlement", "sku_order_id"]
    days = con.execute(f"""
        SELECT min(date_diff('day', (DATE '1970-01-01' + CAST((l.confirm_receipt_time + 28800) // 86400 AS INTEGER) + 7),
                             CAST(s.dt AS DATE))), max(date_diff('day', (DATE '1970-01-01'
                             + CAST((l.confirm_receipt_time + 28800) // 86400 AS INTEGER) + 7), CAST(s.dt AS DATE)))
        FROM settlement_bill s JOIN sku_order l ON l.order_id = s.order_id
        WHERE s.trade_type = 0 AND s.order_id IN ({",".join(repr(x) for x in late)})""").fetchone()
    assert 1 <= days[0] and days[1] <= 3, "late settlements come 1..grace days after the due day"
    off = recon[recon.natural_kind == "fee_rounding"]
    assert ((off.settled_fen - off.expected_settle_fen).abs() == 1).all()


def test_quirk_stock_count_differs_from_the_ledger():
    skus = pd.DataFrame({"sku_id": ["a", "b"], "product_id": ["p", "p"], "unit_cost_fen": [100, 100]})
    sim = LogisticsSim(3, date(2026, 1, 1), skus, count_diff_rate=0.5)
    prev = None
    for d in range(4):
        day = date(2026, 1, 1) + timedelta(days=d)
        snap = sim.day(day, None)["stock_snapshot"].set_index(["warehouse_id", "sku_id"])
        gap = snap.closing_qty - (snap.opening_qty + snap.inbound_qty + snap.return_qty - snap.outbound_qty)
        diffs = pd.DataFrame(sim.count_differences)
        today = diffs[diffs.stock_date == day.isoformat()] if len(diffs) else diffs
        assert int(gap.abs().gt(0).sum()) == len(today)
        if prev is not None:
            assert (snap.opening_qty == prev.closing_qty).all(), "the next day opens from the count"
        prev = snap
    assert len(sim.count_differences) > 0


@pytest.fixture(scope="module")
def quiet_world(tmp_path_factory) -> Path:
    off = dataclasses.replace(
        DEFAULT,
        split_shipment_rate=0.0,
        rebalance_rate=0.0,
        lost_parcel_rate=0.0,
        rejected_delivery_rate=0.0,
        fee_rate_change_bp=0,
        commission_campaign_rate=0.0,
        adjustment_rate=0.0,
        deposit_events=False,
        live_cross_midnight_rate=0.0,
        ad_restatement_rate=0.0,
        stock_count_diff_rate=0.0,
        late_settlement_rate=0.0,
        fee_rounding_rate=0.0,
        write_exports=False,
    )
    out = tmp_path_factory.mktemp("quiet") / "world"
    generate_world(out, seed=3, start=date(2026, 5, 1), days=5, shops=1, orders_per_day=40, behaviour=off)
    return out


def test_every_quirk_switches_off(quiet_world):
    for name in (
        "fee_rate_changes",
        "commission_campaigns",
        "fund_events",
        "live_sessions_cross_midnight",
        "ad_restatements",
        "logistics_incidents",
        "stock_count_differences",
    ):
        assert len(_truth(quiet_world, name)) == 0, name
    recon = duckdb.sql(f"SELECT * FROM '{quiet_world}/truth/reconciliation.parquet'").df()
    assert recon.natural_kind.isna().all()
