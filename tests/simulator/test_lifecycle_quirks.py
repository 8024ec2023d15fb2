"""The order and after-sales lifecycle quirks of a real shop (``Behaviour``), on the session's world.

Each test reads the platform's rows (what the API serves) and checks them against the truth's record of
the quirk (truth/quirks.csv, written from the generator's arrays): a failing test names the quirk.
"""

from __future__ import annotations

import json
from datetime import date

import duckdb
import pandas as pd
import pytest

from douyin_sim.simulator import Behaviour, generate_world

DAY = 86400


@pytest.fixture(scope="module")
def quirks(world) -> pd.DataFrame:
    return pd.read_csv(world / "truth" / "quirks.csv", dtype={"key": str, "day": str})


def keys(quirks: pd.DataFrame, kind: str) -> set[str]:
    return set(quirks.loc[quirks.kind == kind, "key"])


def test_every_lifecycle_quirk_occurs_in_the_small_world(quirks, world):
    counts = json.loads((world / "truth" / "counts.json").read_text(encoding="utf-8"))["quirks"]
    kinds = {
        "pay_after_midnight",
        "unpaid_expired",
        "presale",
        "partial_unit_refund",
        "price_protection",
        "shipping_insurance_claim",
        "exchange",
        "late_reversal",
        "platform_compensation",
    }
    assert kinds <= set(counts) and all(counts[k] >= 1 for k in kinds), counts  # besides 15B's quirk tables
    assert quirks.kind.value_counts().to_dict() == {k: counts[k] for k in kinds}


def test_pay_day_after_create_day_orders_are_the_truths(con, quirks):
    got = con.execute("""SELECT order_id, CAST(to_timestamp(pay_time) AS DATE)::VARCHAR FROM shop_order
        WHERE pay_time > 0 AND CAST(to_timestamp(pay_time) AS DATE) <> CAST(to_timestamp(create_time) AS DATE)""").fetchall()
    q = quirks[quirks.kind == "pay_after_midnight"]
    assert dict(got) == dict(zip(q.key, q.day)) and len(got) >= 1
    # paid within the payment window, after midnight
    late = con.execute("SELECT max(pay_time - create_time) FROM shop_order WHERE pay_time > 0").fetchone()[0]
    assert late < Behaviour().pay_timeout_s


def test_unpaid_orders_expire_when_the_payment_window_closes(con, quirks):
    rows = con.execute("""SELECT order_id, order_status, update_time - create_time FROM shop_order
                          WHERE pay_time = 0""").fetchall()
    expired = {r[0] for r in rows if r[1] == 4}
    assert expired == keys(quirks, "unpaid_expired") and expired
    assert {r[2] for r in rows if r[1] == 4} == {Behaviour().pay_timeout_s}
    # unpaid orders not yet cancelled are the last half hour's (待支付)
    assert all(r[1] == 1 for r in rows if r[0] not in expired)


def test_presale_orders_ship_by_their_promised_time_days_later(con, quirks):
    rows = con.execute("""SELECT order_id, pay_time, exp_ship_time, ship_time FROM shop_order
                          WHERE pay_time > 0 AND exp_ship_time - pay_time > 2 * 86400""").df()
    assert set(rows.order_id) == keys(quirks, "presale") and len(rows) >= 5
    lo, hi = Behaviour().presale_days
    assert ((rows.exp_ship_time - rows.pay_time) >= lo * DAY).all()
    assert ((rows.exp_ship_time - rows.pay_time) <= hi * DAY).all()
    shipped = rows[rows.ship_time > 0]
    assert len(shipped) >= 1 and ((shipped.ship_time - shipped.pay_time) >= (lo - 3) * DAY).all()


def test_partial_unit_refund_takes_k_of_n_units_pro_rata(con, quirks):
    rows = con.execute("""SELECT a.related_id, a.aftersale_type, a.aftersale_num, l.item_num, a.refund_amount,
                                 l.pay_amount, a.refund_time
                          FROM after_sale a JOIN sku_order l ON l.order_id = a.related_id
                          WHERE a.aftersale_type IN (0, 1, 2) AND a.aftersale_num < l.item_num""").df()
    done = rows[(rows.refund_time > 0)]
    q = quirks[quirks.kind == "partial_unit_refund"].set_index("key")
    assert set(done.related_id) == set(q.index) and len(done) >= 1
    for r in done.itertuples():
        assert (
            r.refund_amount
            == (r.pay_amount * r.aftersale_num * 2 + r.item_num) // (2 * r.item_num)
            == q.loc[r.related_id, "amount_fen"]
        )
        assert 1 <= r.aftersale_num < r.item_num and r.aftersale_type in (0, 1)
    # the line is not closed by the refund: it goes on to settle, on a base lowered by the refund
    settled = con.execute(f"""SELECT s.order_id, s.refund_before_settle FROM settlement_bill s
        WHERE s.trade_type = 0 AND s.order_id IN ({",".join(repr(k) for k in q.index)})""").fetchall()
    assert all(q.loc[k, "amount_fen"] == v for k, v in settled)


def test_price_protection_refunds_the_unit_difference_for_every_unit(con, quirks):
    rows = con.execute("""SELECT a.related_id, a.refund_amount, l.item_num, l.pay_amount, a.aftersale_num,
                                 a.return_promotion_amount, a.got_pkg
                          FROM after_sale a JOIN sku_order l ON l.order_id = a.related_id
                          WHERE a.aftersale_type = 6 AND a.refund_time > 0""").df()
    assert set(rows.related_id) == keys(quirks, "price_protection") and len(rows) >= 5
    assert (rows.refund_amount % rows.item_num == 0).all()
    assert ((rows.refund_amount > 0) & (rows.refund_amount < rows.pay_amount)).all()
    assert (rows.aftersale_num == rows.item_num).all() and (rows.return_promotion_amount == 0).all()
    assert (rows.got_pkg == 0).all()


def test_shipping_insurance_claims_are_on_successful_returns_only(con, quirks):
    rows = con.execute("""SELECT related_id, aftersale_type, aftersale_status, refund_post_amount FROM after_sale
                          WHERE refund_post_amount > 0""").df()
    q = quirks[quirks.kind == "shipping_insurance_claim"].set_index("key")
    assert set(rows.related_id) == set(q.index) and len(rows) >= 1
    assert (rows.aftersale_type == 0).all() and (rows.aftersale_status == 12).all()
    assert dict(zip(rows.related_id, rows.refund_post_amount)) == q["amount_fen"].to_dict()
    # not the shop's money: no fund-flow row and no settlement row carries it
    claims = ",".join(repr(k) for k in q.index)
    assert con.execute(
        f"SELECT count(*) FROM fund_flow WHERE order_id IN ({claims}) AND account_bill_desc_tag NOT IN (3, 2, 20, 30, 31)"
    ).fetchone() == (0,)


def test_exchanges_move_no_money(con, quirks):
    rows = con.execute("""SELECT related_id, refund_amount, refund_time, refund_post_amount FROM after_sale
                          WHERE aftersale_type = 3""").df()
    assert set(rows.related_id) == keys(quirks, "exchange") and len(rows) >= 1
    assert (rows.refund_amount == 0).all() and (rows.refund_post_amount == 0).all()
    ex = ",".join(repr(k) for k in rows.related_id)
    assert con.execute(
        f"SELECT count(*) FROM settlement_bill WHERE order_id IN ({ex}) AND (trade_type = 1 OR refund_before_settle <> 0)"
    ).fetchone() == (0,)


def test_reversal_after_settlement_is_posted_days_after_the_refund(con, quirks, world):
    rows = con.execute("""SELECT s.order_id, s.settle_time, a.refund_time, -s.settle_amount AS amount, a.aftersale_type
                          FROM settlement_bill s JOIN after_sale a ON a.related_id = s.order_id
                          WHERE s.trade_type = 1""").df()
    q = quirks[quirks.kind == "late_reversal"].set_index("key")
    assert set(rows.order_id) == set(q.index) and len(rows) >= 1
    assert (rows.settle_time > rows.refund_time).all()
    lo, hi = Behaviour().late_reversal_days
    now = json.loads((world / "world.json").read_text(encoding="utf-8"))["now_unix"]
    days = (rows.settle_time - rows.refund_time) / DAY
    # lo..hi days after the refund, unless the world ended before (then before its end, never in flight)
    room = (now - rows.refund_time) / DAY
    assert ((days >= lo) | (room < hi)).all() and (days <= hi).all()
    assert set(rows.aftersale_type) <= {0, 1, 6}  # returns, refunds and price protection after settlement
    for r in rows.itertuples():
        assert pd.Timestamp(r.settle_time, unit="s", tz="Asia/Shanghai").date().isoformat() == q.loc[r.order_id, "day"]


def test_platform_compensation_is_a_fund_flow_credit(con, quirks):
    rows = con.execute("""SELECT order_id, fund_flow, account_amount, account_bill_desc,
                                 CAST(to_timestamp(bill_time) AS DATE)::VARCHAR AS day
                          FROM fund_flow WHERE account_bill_desc_tag = 31""").df()
    q = quirks[quirks.kind == "platform_compensation"]
    assert sorted(zip(rows.order_id, rows.day, rows.account_amount)) == sorted(zip(q.key, q.day, q.amount_fen))
    assert len(rows) >= 1 and (rows.fund_flow == 0).all() and set(rows.account_bill_desc) == {"平台赔付"}
    # only for refunds after shipping
    comp = ",".join(repr(k) for k in rows.order_id)
    assert con.execute(
        f"SELECT count(*) FROM after_sale WHERE related_id IN ({comp}) AND aftersale_type IN (0, 1) AND refund_time > 0"
    ).fetchone() == (len(rows),)


def test_every_quirk_switches_off(tmp_path):
    off = Behaviour(
        pay_after_midnight=False,
        unpaid_expire=False,
        presale_rate=0.0,
        partial_unit_refund_rate=0.0,
        return_insurance_claim_rate=0.0,
        late_reversal_days=(0.0, 0.0),
        platform_compensation_rate=0.0,
        write_exports=False,
    )
    out = tmp_path / "w"
    generate_world(out, seed=5, start=date(2026, 3, 1), days=3, shops=1, orders_per_day=60, behaviour=off)
    counts = json.loads((out / "truth" / "counts.json").read_text(encoding="utf-8"))["quirks"]
    on = {"pay_after_midnight", "unpaid_expired", "presale", "partial_unit_refund", "shipping_insurance_claim"}
    assert not on & set(counts), counts
    so = duckdb.sql(
        f"SELECT count(*) FILTER (WHERE pay_time > 0 AND (pay_time + 28800) // 86400 <> (create_time + 28800) // 86400), "
        f"count(*) FILTER (WHERE order_status = 4 AND pay_time = 0) "
        f"FROM read_parquet('{out}/platform/shop_order/*/*.parquet')"
    ).fetchall()[0]
    assert so == (0, 0)
