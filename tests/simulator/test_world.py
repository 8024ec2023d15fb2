"""The generated world: determinism, coherence invariants, truth, anomalies."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from douyin_etl.money import rate_of
from douyin_sim.simulator import generate_world
from douyin_sim.simulator.fees import PLATFORM_RATES_BP
from douyin_sim.simulator.finance import fee_of

KINDS = {
    "late_update",
    "refund_after_settlement",
    "missing_settlement",
    "fee_mismatch",
    "duplicate_settlement",
    "refund_not_reversed",
    "duplicate_fund_flow",
    "sla_miss",
}


def _tree_hashes(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_same_arguments_give_byte_identical_tree(tmp_path):
    a = generate_world(tmp_path / "a", seed=3, start=date(2026, 3, 1), days=3, shops=2, orders_per_day=50)
    generate_world(tmp_path / "b", seed=3, start=date(2026, 3, 1), days=3, shops=2, orders_per_day=50)
    ha, hb = _tree_hashes(tmp_path / "a"), _tree_hashes(tmp_path / "b")
    assert len(ha) > 50 and ha == hb
    assert not [p for p in tmp_path.iterdir() if p.name.startswith((".tmp-", ".old-"))]
    assert "orders/s" in str(a) and a.orders > 100
    # a rerun into the same folder replaces it (idempotent), another seed gives another world
    generate_world(tmp_path / "a", seed=3, start=date(2026, 3, 1), days=3, shops=2, orders_per_day=50)
    assert _tree_hashes(tmp_path / "a") == ha
    c = generate_world(tmp_path / "c", seed=4, start=date(2026, 3, 1), days=1, shops=2, orders_per_day=50)
    assert c.orders > 0 and (tmp_path / "c" / "truth" / "reconciliation.parquet").exists()
    assert _tree_hashes(tmp_path / "c")["platform/sku/sku.parquet"] != ha["platform/sku/sku.parquet"]


def test_drops_written_by_a_worker_process_are_the_same_bytes(tmp_path):
    """Big worlds write their file drops in a worker process (``drop_writer``): same files, same counts."""
    args = dict(seed=5, start=date(2026, 3, 1), days=4, shops=2, orders_per_day=60)
    inline = generate_world(tmp_path / "inline", **args, background_writes=False)
    worker = generate_world(tmp_path / "worker", **args, background_writes=True)
    hi, hw = _tree_hashes(tmp_path / "inline"), _tree_hashes(tmp_path / "worker")
    assert sum(k.startswith("drops/") for k in hi) > 40 and hi == hw  # counts.json (file order) included
    assert (inline.drop_files, inline.drop_rows) == (worker.drop_files, worker.drop_rows) and inline.drop_rows > 500


def test_a_drop_the_worker_cannot_write_fails_where_the_day_loop_collects_it(tmp_path):
    """A DropWriteError in the worker process reaches the caller with its message (file, row, field)."""
    from douyin_sim.simulator import drops
    from douyin_sim.simulator.drop_writer import DropWriter

    good = pd.DataFrame(
        {
            "product_id": ["11"],
            "sku_id": ["12"],
            "code": ["A"],
            "unit_cost_fen": [250],
            "effective_date": [date(2026, 3, 1)],
        }
    )
    bad = good.assign(unit_cost_fen=["x"])
    writer = DropWriter(drops, background=True)
    assert writer.background
    writer.write("drops/2026-03-01/", "write_day", tmp_path, date(2026, 3, 1), {"product_cost": good}, 5, None)
    writer.write("drops/2026-03-02/", "write_day", tmp_path, date(2026, 3, 2), {"product_cost": bad}, 5, None)
    with pytest.raises(drops.DropWriteError, match=r"product_cost\.unit_cost_fen: expected integers"):
        writer.close()
    assert list(writer.counts.values()) == [1]  # the good day was written and counted, in order
    assert [p.parent.name for p in tmp_path.rglob("*.*")] == ["2026-03-01"]
    assert not writer.background  # the worker is gone


def test_world_json_has_no_generation_time(world):
    w = json.loads((world / "world.json").read_text(encoding="utf-8"))
    assert w["seed"] == 7 and w["start"] == "2026-10-01" and w["end"] == "2026-10-10"
    assert [s["shop_id"] for s in w["shops"]] == ["1000001", "1000002"]
    assert not any(k in w for k in ("generated_at", "created_at", "timestamp"))


def test_fee_of_is_rate_of():
    rng = np.random.default_rng(0)
    base = rng.integers(0, 10_000_000, 5000)
    bp = rng.integers(0, 5000, 5000)
    assert list(fee_of(base, bp)) == [rate_of(int(b), int(r)) for b, r in zip(base, bp)]
    assert fee_of(np.array([50]), np.array([100]))[0] == 1 == rate_of(50, 100)  # 0.5 rounds up


def test_order_money_adds_up(con):
    bad = con.execute("""
        SELECT o.order_id FROM shop_order o JOIN (
          SELECT parent_order_id, sum(origin_amount) oa, sum(pay_amount) pa, sum(promotion_amount) pr,
                 sum(promotion_shop_amount) ps, sum(promotion_platform_amount) pp, sum(promotion_talent_amount) pt
          FROM sku_order GROUP BY 1) l ON l.parent_order_id = o.order_id
        WHERE o.order_amount <> l.oa OR o.pay_amount <> l.pa + o.post_amount OR o.promotion_amount <> l.pr
           OR o.promotion_amount <> o.promotion_shop_amount + o.promotion_platform_amount + o.promotion_talent_amount
           OR o.promotion_shop_amount <> l.ps OR o.promotion_platform_amount <> l.pp OR o.promotion_talent_amount <> l.pt
    """).fetchall()
    assert bad == []
    assert (
        con.execute(
            "SELECT count(*) FROM sku_order WHERE pay_amount <> origin_amount - promotion_amount "
            "OR sum_amount <> origin_amount OR pay_amount <= 0"
        ).fetchone()[0]
        == 0
    )
    # every line has its parent and keys are unique
    assert (
        con.execute(
            "SELECT count(*) FROM sku_order l ANTI JOIN shop_order o ON o.order_id = l.parent_order_id"
        ).fetchone()[0]
        == 0
    )
    assert con.execute("SELECT count(*) - count(DISTINCT order_id) FROM shop_order").fetchone()[0] == 0
    assert con.execute("SELECT count(*) - count(DISTINCT order_id) FROM sku_order").fetchone()[0] == 0
    # unpaid orders have pay_time 0 and status 1 or 4
    assert (
        con.execute("SELECT count(*) FROM shop_order WHERE pay_time = 0 AND order_status NOT IN (1, 4)").fetchone()[0]
        == 0
    )


def test_update_time_is_the_latest_and_partitions_follow_it(con):
    assert (
        con.execute("""SELECT count(*) FROM shop_order WHERE update_time < greatest(create_time, pay_time, finish_time, ship_time)
                      OR dt <> CAST(to_timestamp(update_time) AS DATE)""").fetchone()[0]
        == 0
    )
    assert (
        con.execute("""SELECT count(*) FROM sku_order l JOIN shop_order o ON o.order_id = l.parent_order_id
                      WHERE l.update_time <> o.update_time OR l.dt <> o.dt
                         OR o.update_time < greatest(l.create_time, l.pay_time, l.ship_time, l.logistics_receipt_time,
                                                     l.confirm_receipt_time, l.finish_time)""").fetchone()[0]
        == 0
    )
    assert (
        con.execute("""SELECT count(*) FROM after_sale a JOIN shop_order o ON o.order_id = a.shop_order_id
                      WHERE o.update_time < a.update_time OR a.update_time < a.apply_time""").fetchone()[0]
        == 0
    )
    # nothing happens after the world's last day (now = 2026-10-11 00:00 +08)
    now = 1791648000
    assert con.execute("SELECT max(update_time) FROM shop_order").fetchone()[0] < now
    assert con.execute("SELECT max(settle_time) FROM settlement_bill").fetchone()[0] < now


def test_lines_reference_content_and_channels(con, world):
    # channel attributes follow the documented encoding
    assert (
        con.execute("""SELECT count(*) FROM sku_order WHERE (c_biz = 2 AND author_id = '') OR (room_id_str <> '' AND theme_type <> 1)
                      OR (c_biz = 8 AND room_id_str = '' AND video_id = '' AND send_pay NOT IN (1, 2))""").fetchone()[0]
        == 0
    )
    rooms = set()
    for f in (world / "drops").rglob("直播场次_*.csv"):
        rooms |= {r.strip("'\t") for r in _read_drop_csv(f)["直播间ID"]}
    used = {r[0] for r in con.execute("SELECT DISTINCT room_id_str FROM sku_order WHERE room_id_str <> ''").fetchall()}
    assert used and used <= rooms


def _read_drop_csv(path: Path) -> pd.DataFrame:
    raw = path.read_bytes()
    for enc in ("utf-8-sig", "gbk"):
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    return pd.DataFrame(list(csv.DictReader(io.StringIO(text))))


def test_funnel_pays_equal_paid_lines(con, world):
    rows = []
    for f in (world / "drops").rglob("商品流量_*.csv"):
        rows.append(_read_drop_csv(f))
    funnel = pd.concat(rows, ignore_index=True)
    for c in ("曝光次数", "点击次数", "加购次数", "下单数", "支付数"):
        funnel[c] = funnel[c].str.replace(",", "").astype(int)
    assert (funnel["曝光次数"] >= funnel["点击次数"]).all() and (funnel["点击次数"] >= funnel["加购次数"]).all()
    assert (funnel["加购次数"] >= funnel["下单数"]).all() and (funnel["下单数"] >= funnel["支付数"]).all()
    names = {"直播": "live", "短视频": "video", "商品卡": "card", "搜索": "search", "精选联盟": "alliance"}
    got = {
        (str(d).replace("/", "-"), p.strip("'\t"), names[c]): int(n)
        for d, p, c, n in zip(funnel["日期"], funnel["商品ID"], funnel["渠道"], funnel["支付数"])
        if int(n)
    }
    want = {
        (str(d), p, ch): n
        for d, p, ch, n in con.execute("""
        SELECT CAST(to_timestamp(pay_time) AS DATE)::VARCHAR, product_id,
               CASE WHEN c_biz = 2 THEN 'alliance' WHEN room_id_str <> '' THEN 'live' WHEN video_id <> '' THEN 'video'
                    WHEN send_pay = 1 THEN 'search' ELSE 'card' END, count(*)
        FROM sku_order WHERE pay_time > 0 GROUP BY ALL""").fetchall()
    }
    assert got == want and sum(want.values()) > 2000


def test_truth_gmv_equals_platform_lines(con, world):
    truth = pd.read_csv(world / "truth" / "daily_sales.csv", dtype={"shop_id": str})
    sql = {
        (s, d): (g, o, b, n)
        for s, d, g, o, b, n in con.execute("""
        SELECT l.shop_id, CAST(to_timestamp(l.pay_time) AS DATE)::VARCHAR, sum(l.pay_amount)::BIGINT,
               count(DISTINCT l.parent_order_id), count(DISTINCT o.doudian_open_id), count(*)
        FROM sku_order l JOIN shop_order o ON o.order_id = l.parent_order_id WHERE l.pay_time > 0 GROUP BY ALL""").fetchall()
    }
    assert len(truth) == 20 and truth["gmv_fen"].sum() > 0
    for r in truth.itertuples():
        assert sql[(r.shop_id, r.date)] == (r.gmv_fen, r.orders, r.buyers, r.sku_orders)
        assert r.net_sales_fen == r.gmv_fen - r.refund_fen
    refunds = dict(
        con.execute("""SELECT CAST(to_timestamp(refund_time) AS DATE)::VARCHAR, sum(refund_amount)::BIGINT FROM after_sale
                              WHERE aftersale_status = 12 AND refund_status = 3 GROUP BY 1""").fetchall()
    )
    assert truth.groupby("date")["refund_fen"].sum().to_dict() == {
        d: refunds.get(d, 0) for d in sorted(set(truth["date"]))
    }


def test_refunds_and_settlements_are_coherent(con):
    assert (
        con.execute("""SELECT count(*) FROM after_sale a JOIN sku_order l ON l.order_id = a.related_id
                      WHERE a.refund_amount > l.pay_amount
                         OR (a.aftersale_type IN (0, 1, 2) AND a.aftersale_num = l.item_num AND a.refund_amount <> l.pay_amount)
                         OR (a.aftersale_type IN (0, 1, 2) AND a.aftersale_num < l.item_num
                             AND a.refund_amount <> (l.pay_amount * a.aftersale_num * 2 + l.item_num) // (2 * l.item_num))
                         OR (a.aftersale_type IN (3, 7) AND a.refund_amount <> 0)""").fetchone()[0]
        == 0
    )
    assert con.execute("SELECT count(DISTINCT aftersale_type) FROM after_sale").fetchone()[0] == 6
    # settlement rows reference paid lines; reversals only for refunded lines
    assert (
        con.execute(
            "SELECT count(*) FROM settlement_bill s ANTI JOIN (SELECT order_id FROM sku_order WHERE pay_time > 0) l "
            "ON l.order_id = s.order_id"
        ).fetchone()[0]
        == 0
    )
    assert (
        con.execute("""SELECT count(*) FROM settlement_bill s WHERE trade_type = 1 AND NOT EXISTS (
                      SELECT 1 FROM after_sale a WHERE a.related_id = s.order_id AND a.refund_status = 3
                      AND a.refund_amount = -s.settle_amount)""").fetchone()[0]
        == 0
    )
    # row rules of the contract
    assert (
        con.execute("""SELECT count(*) FROM settlement_bill WHERE trade_type = 0 AND (
        total_income <> real_pay_amount - refund_before_settle + platform_coupon + author_coupon + zt_pay_promotion + zr_pay_promotion
        OR total_outcome <> platform_service_fee + commission + good_learn_channel_fee + colonel_service_fee
                            + channel_promotion_fee + other_sharing_amount
        OR settle_amount <> total_income - total_outcome)""").fetchone()[0]
        == 0
    )
    # fund-flow credits mirror settlement rows
    assert (
        con.execute("""SELECT count(*) FROM settlement_bill s ANTI JOIN fund_flow f ON f.order_id = s.order_id
                      AND f.account_amount = abs(s.settle_amount) AND f.account_bill_desc_tag IN (2, 3)""").fetchone()[
            0
        ]
        == 0
    )


def _platform_rate(world: Path):
    """The platform's rate per (first_cid, due day) from its start rates and truth/fee_rate_changes.csv."""
    changes = pd.read_csv(world / "truth" / "fee_rate_changes.csv", dtype={"first_cid": int})

    def rate(cid: int, day: date) -> int:
        bp = PLATFORM_RATES_BP[cid][1]
        for c in changes.itertuples():
            if c.first_cid == cid and day >= date.fromisoformat(c.effective_date):
                bp = int(c.new_rate_bp)
        return bp

    return rate


def test_seed_is_the_platforms_starting_rates():
    """The merchant's expectation (the seed) is what the platform charged before any change."""
    seed = pd.read_csv(Path(__file__).resolve().parents[2] / "dbt_project" / "seeds" / "platform_fee_rates.csv")
    assert {int(r.first_cid): int(r.platform_fee_rate_bp) for r in seed.itertuples()} == {
        cid: bp for cid, (_, bp) in PLATFORM_RATES_BP.items()
    }


def test_reconciliation_truth_follows_contract_rules(con, world):
    rate = _platform_rate(world)
    as_of = date(2026, 10, 10)
    lines = con.execute("""
        SELECT l.order_id, l.pay_amount, l.first_cid, l.promotion_platform_amount pp, l.promotion_talent_amount pt,
               l.confirm_receipt_time, coalesce(a.commission_rate_bp, 0) crb, coalesce(a.colonel_service_rate_bp, 0) colb,
               l.item_num
        FROM sku_order l LEFT JOIN alliance_order a ON a.order_id = l.order_id WHERE l.pay_time > 0""").df()
    sb = con.execute("SELECT order_id, trade_type, settle_amount, settle_time FROM settlement_bill").df()
    asale = con.execute(
        "SELECT related_id, aftersale_type, aftersale_num, refund_amount, refund_time FROM after_sale "
        "WHERE aftersale_status = 12 AND refund_status = 3"
    ).df()
    recon = con.execute("SELECT * FROM recon").df().set_index("sku_order_id")
    assert len(recon) == len(lines)
    by_line_sb = {k: g for k, g in sb.groupby("order_id")}
    by_line_as = {k: g for k, g in asale.groupby("related_id")}
    seen = set()
    for r in lines.itertuples():
        rows = by_line_sb.get(r.order_id)
        refs = by_line_as.get(r.order_id)
        first_settle = rows[rows.trade_type == 0].settle_time.min() if rows is not None else None
        before = after = 0
        full_before = False
        if refs is not None:
            for x in refs.itertuples():
                if first_settle is not None and x.refund_time > first_settle:
                    after += x.refund_amount
                elif x.aftersale_type == 6 or x.aftersale_num < r.item_num:  # 价保, or k of n units
                    before += x.refund_amount
                else:
                    full_before = True
        base = r.pay_amount - before
        due = None
        if r.confirm_receipt_time:
            due = pd.Timestamp(r.confirm_receipt_time, unit="s", tz="Asia/Shanghai").date() + pd.Timedelta(days=7)
        bp = rate(r.first_cid, due if due is not None else as_of)
        exp = base + r.pp + r.pt - rate_of(base, bp) - rate_of(base, r.crb) - rate_of(base, r.colb)
        n0 = 0 if rows is None else int((rows.trade_type == 0).sum())
        reversed_ = rows is not None and bool((rows.trade_type == 1).any())
        total = 0 if rows is None else int(rows.settle_amount.sum())
        if full_before and rows is None:
            status, reason = "refunded", None
        elif n0 > 1:
            status, reason = "discrepancy", "duplicate_settlement"
        elif after and not reversed_:
            status, reason = "discrepancy", "refund_not_reversed"
        elif rows is not None and abs(total - (exp - after)) > 1:  # 1 fen: rounding tolerance
            status, reason = "discrepancy", "fee_mismatch"
        elif rows is not None:
            status, reason = "settled", None
        elif due is not None and due + pd.Timedelta(days=3) < as_of:
            status, reason = "discrepancy", "missing_settlement"
        else:
            status, reason = "pending", None
        t = recon.loc[r.order_id]
        assert (t.status, t.reason if isinstance(t.reason, str) else None) == (status, reason), r.order_id
        assert t.settled_fen == total
        if status != "refunded":
            assert t.expected_settle_fen == exp, r.order_id
        seen.add(status)
    assert {"settled", "pending", "refunded", "discrepancy"} <= seen


def test_every_anomaly_kind_appears_in_a_small_world(con, world):
    an = pd.read_csv(world / "truth" / "anomalies.csv", dtype=str)
    assert set(an["kind"]) == KINDS
    counts = an["kind"].value_counts()
    assert counts["sla_miss"] >= 5 and counts["late_update"] >= 3
    recon = con.execute("SELECT sku_order_id, reason FROM recon WHERE status = 'discrepancy'").df()
    for kind in ("fee_mismatch", "duplicate_settlement", "refund_not_reversed"):
        assert set(an.loc[an.kind == kind, "key"]) == set(recon.loc[recon.reason == kind, "sku_order_id"])
    # sla misses are lines shipped after their deadline (pay + 48 h, a presale line's promised ship time), and all of them
    sla = {
        r[0]
        for r in con.execute(
            "SELECT order_id FROM sku_order WHERE ship_time > 0 AND ship_time > exp_ship_time"
        ).fetchall()
    }
    assert sla == set(an.loc[an.kind == "sla_miss", "key"])
    # late updates: the order's update_time is ≥ 1 day after every other event of it
    late = an.loc[an.kind == "late_update", "key"].tolist()
    gaps = con.execute(f"""SELECT min(o.update_time - greatest(o.create_time, o.pay_time, o.ship_time, o.finish_time))
                       FROM shop_order o WHERE o.order_id IN ({",".join(repr(k) for k in late)})""").fetchone()[0]
    assert gaps >= 86400


def test_duplicate_fund_flows_are_in_the_drop_only(con, world):
    an = pd.read_csv(world / "truth" / "anomalies.csv", dtype=str)
    dups = set(an.loc[an.kind == "duplicate_fund_flow", "key"])
    assert dups
    assert con.execute("SELECT count(*) - count(DISTINCT account_trade_no) FROM fund_flow").fetchone()[0] == 0
    counts = json.loads((world / "truth" / "counts.json").read_text(encoding="utf-8"))
    drop_rows = sum(v for k, v in counts["files"].items() if "动账明细_" in k)
    assert drop_rows == con.execute("SELECT count(*) FROM fund_flow").fetchone()[0] + len(dups)
    # withdrawals: no order ids
    assert (
        con.execute(
            "SELECT count(*) FROM fund_flow WHERE account_bill_desc_tag = 11 AND order_id IS NOT NULL"
        ).fetchone()[0]
        == 0
    )
    assert con.execute("SELECT count(*) FROM fund_flow WHERE account_bill_desc_tag = 11").fetchone()[0] >= 1


def test_ad_report_money_is_yuan_decimal(con):
    t = con.execute(
        "SELECT typeof(stat_cost), typeof(pay_order_amount), count(*) FROM ad_report GROUP BY ALL"
    ).fetchall()
    assert t[0][0] == "DECIMAL(18,2)" and t[0][2] >= 20


def test_counts_match_files(world):
    counts = json.loads((world / "truth" / "counts.json").read_text(encoding="utf-8"))
    for rel in counts["files"]:
        assert (world / rel).is_file(), rel
    assert counts["entities"]["sku_order"] == counts["totals"]["paid_sku_orders"] + (
        counts["entities"]["sku_order"] - counts["totals"]["paid_sku_orders"]
    )
    assert counts["entities"]["shop_order"] == counts["totals"]["shop_orders"]
    assert set(counts["anomalies"]) == KINDS


def test_prices_change_and_lines_use_the_pay_day_price(con, world):
    sku = f"read_parquet('{world}/platform/sku/*.parquet')"
    changed = con.execute(
        "SELECT count(*) FROM (SELECT sku_id FROM sku_order WHERE pay_time > 0 "
        "GROUP BY sku_id HAVING count(DISTINCT origin_amount // item_num) > 1)"
    ).fetchone()[0]
    assert changed >= 1
    last_day = con.execute(f"""SELECT count(*), count(*) FILTER (WHERE l.origin_amount <> s.price * l.item_num)
        FROM sku_order l JOIN {sku} s ON s.id = l.sku_id
        WHERE l.pay_time > 0 AND CAST(to_timestamp(l.pay_time) AS DATE) = DATE '2026-10-10'""").fetchone()
    assert last_day[0] > 100 and last_day[1] == 0
    cost_files = sorted((world / "drops").rglob("商品成本表_*.xlsx"))
    assert cost_files[0].parent.name == "2026-10-01" and len(cost_files) >= 5


def test_overdue_missing_settlements_reconcile_as_discrepancies(tmp_path):
    import duckdb

    from douyin_sim.simulator import Behaviour

    out = tmp_path / "w"
    generate_world(
        out,
        seed=11,
        start=date(2026, 1, 5),
        days=15,
        shops=1,
        orders_per_day=40,
        behaviour=Behaviour(missing_settlement_rate=0.3, write_exports=False),
    )
    an = pd.read_csv(out / "truth" / "anomalies.csv", dtype=str)
    miss = an[an.kind == "missing_settlement"]
    overdue = set(miss.loc[miss.detail.str.contains("overdue=True"), "key"])
    assert len(overdue) >= 1
    recon = duckdb.sql(f"SELECT sku_order_id, status, reason FROM '{out}/truth/reconciliation.parquet'").df()
    got = set(recon.loc[recon.reason == "missing_settlement", "sku_order_id"])
    assert got == overdue
    sb = duckdb.sql(f"SELECT DISTINCT order_id FROM read_parquet('{out}/platform/settlement_bill/*/*.parquet')").df()
    assert not (set(miss["key"]) & set(sb["order_id"]))


def test_every_file_of_an_entity_has_the_same_schema(con, world):
    for entity in (
        "shop_order",
        "sku_order",
        "after_sale",
        "alliance_order",
        "ad_report",
        "settlement_bill",
        "fund_flow",
        "logistics_track",
    ):
        schemas = con.execute(f"""SELECT count(DISTINCT s) FROM (
            SELECT file_name, string_agg(name || ':' || coalesce(type, '') || ':' || coalesce(logical_type::VARCHAR, ''), ',' ORDER BY name) s
            FROM parquet_schema('{world}/platform/{entity}/*/*.parquet') GROUP BY file_name)""").fetchone()[0]
        assert schemas == 1, entity


def test_shipments_and_stock_follow_the_lines(con, world):
    shipped = {}
    for f in (world / "drops").rglob("发货明细_*.csv"):
        day = f.parent.name
        shipped[day] = shipped.get(day, 0) + len(_read_drop_csv(f))
    want = dict(
        con.execute("""SELECT CAST(to_timestamp(ship_time) AS DATE)::VARCHAR, count(*) FROM sku_order
                               WHERE ship_time > 0 GROUP BY 1""").fetchall()
    )
    assert shipped == want and sum(want.values()) > 1500
    # logistics_track partitions by the shipment's ship time, and every shipped waybill has a track
    assert (
        con.execute(f"""SELECT count(*) FROM read_parquet('{world}/platform/logistics_track/*/*.parquet', hive_partitioning=true)
                           WHERE dt <> CAST(to_timestamp(ship_time) AS DATE)""").fetchone()[0]
        == 0
    )
    stock = con.execute(
        f"SELECT sum(stock_num), count(*) FROM read_parquet('{world}/platform/sku_stock/*.parquet')"
    ).fetchone()
    assert (
        stock[0] > 0
        and stock[1]
        == con.execute(f"SELECT count(*) FROM read_parquet('{world}/platform/sku/*.parquet')").fetchone()[0]
    )
