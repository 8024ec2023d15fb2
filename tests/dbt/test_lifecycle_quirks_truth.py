"""The marts against the truth of each order / after-sales lifecycle quirk of a real shop.

The shared world (tests/worlds.py SHARED_WORLD) has every quirk of ``Behaviour`` on; truth/quirks.csv
lists each instance with the business day its amount belongs to (written by the simulator from its own
arrays). A failing test names the quirk the marts get wrong.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from worlds import query  # tests/worlds.py

pytestmark = pytest.mark.slow


def quirks(world: Path, kind: str) -> list[dict[str, str]]:
    with open(world / "truth" / "quirks.csv", newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["kind"] == kind]
    assert rows, f"the shared world has no {kind} quirk: make the world bigger or the rate higher"
    return rows


def in_list(keys) -> str:
    return ",".join(f"'{k}'" for k in keys)


def fen(yuan: Decimal) -> int:
    return int(yuan * 100)


def test_pay_day_after_create_day_counts_gmv_on_pay_day(dbt_world_lake):
    world, _, db = dbt_world_lake
    q = {r["key"]: (r["day"], int(r["amount_fen"])) for r in quirks(world, "pay_after_midnight")}
    got = {
        k: (str(d), fen(g))
        for k, d, g, created in query(
            db,
            f"""select o.shop_order_id, o.pay_date, o.gmv_yuan, min(l.created_at)
                from sales.fct_orders o join sales.fct_order_lines l using (shop_order_id)
                where o.shop_order_id in ({in_list(q)}) group by all""",
        )
    }
    assert got == q
    # and sales_daily has them on the pay day: its GMV per shop x day is the truth's (by pay day)
    truth: dict[tuple[str, str], int] = defaultdict(int)
    with open(world / "truth" / "daily_sales.csv", newline="") as fh:
        for r in csv.DictReader(fh):
            truth[(r["shop_id"], r["date"])] = int(r["gmv_fen"])
    mart = {
        (s, str(d)): fen(g)
        for s, d, g in query(db, "select shop_id, date_day, sum(gmv_yuan) from sales.sales_daily group by all")
    }
    assert {k: mart.get(k, 0) for k in truth} == dict(truth)


def test_unpaid_expired_orders_are_no_sale(dbt_world_lake):
    world, _, db = dbt_world_lake
    expired = {r["key"] for r in quirks(world, "unpaid_expired")}
    lines = query(
        db,
        f"""select count(distinct shop_order_id), count(*) filter (where is_paid or order_status <> 4)
            from sales.fct_order_lines where shop_order_id in ({in_list(expired)})""",
    )[0]
    assert lines == (len(expired), 0)
    assert query(db, f"select count(*) from sales.fct_orders where shop_order_id in ({in_list(expired)})") == [(0,)]


def test_presale_lines_are_measured_against_their_promised_ship_time(dbt_world_lake):
    world, _, db = dbt_world_lake
    presale = {r["key"]: r["day"] for r in quirks(world, "presale")}
    with open(world / "truth" / "anomalies.csv", newline="") as fh:
        late = {r["key"] for r in csv.DictReader(fh) if r["kind"] == "sla_miss"}
    rows = query(
        db,
        f"""select f.sku_order_id, l.shop_order_id, cast(timezone('Asia/Shanghai', f.ship_deadline_at) as date),
                   f.is_shipped_within_48h, f.is_48h_miss, f.is_due_to_ship
            from intermediate.int_fulfilment__lines f join sales.fct_order_lines l using (sku_order_id)
            where l.shop_order_id in ({in_list(presale)})""",
    )
    assert {r[1] for r in rows} == set(presale)
    assert all(str(r[2]) <= presale[r[1]] for r in rows)  # the deadline is the promise, not pay + 48 h
    misses = {r[0] for r in rows if r[4]}
    assert misses <= late  # a presale line shipped by its promise is no 48 h miss
    assert any(r[3] for r in rows) or not any(r[5] for r in rows)


def test_partial_unit_refund_is_partial_and_settles_on_the_lower_base(dbt_world_lake):
    world, _, db = dbt_world_lake
    q = {r["key"]: (r["day"], int(r["amount_fen"])) for r in quirks(world, "partial_unit_refund")}
    refunds = query(
        db,
        f"""select sku_order_id, refund_date, refund_yuan, is_full_refund from sales.fct_refunds
            where sku_order_id in ({in_list(q)})""",
    )
    assert {k: (str(d), fen(y)) for k, d, y, _ in refunds} == q
    assert not any(full for *_, full in refunds)
    lines = query(
        db,
        f"""select l.sku_order_id, l.is_fully_refunded, r.status, r.refund_before_settle_fen
            from sales.fct_order_lines l join finance.fin_order_reconciliation r using (sku_order_id)
            where l.sku_order_id in ({in_list(q)})""",
    )
    assert not any(r[1] for r in lines) and all(r[2] != "refunded" for r in lines)
    assert {r[0]: r[3] for r in lines} == {k: a for k, (_, a) in q.items()}


def test_price_protection_refund_is_partial_on_its_refund_day(dbt_world_lake):
    world, _, db = dbt_world_lake
    q = {r["key"]: (r["day"], int(r["amount_fen"])) for r in quirks(world, "price_protection")}
    refunds = query(
        db,
        """select sku_order_id, refund_date, refund_yuan, is_full_refund, aftersale_type from sales.fct_refunds
            where aftersale_type = 6""",
    )
    assert {k: (str(d), fen(y)) for k, d, y, *_ in refunds} == q
    assert not any(r[3] for r in refunds)


def test_shipping_insurance_claims_are_not_shop_refunds(dbt_world_lake):
    world, _, db = dbt_world_lake
    q = {r["key"]: int(r["amount_fen"]) for r in quirks(world, "shipping_insurance_claim")}
    got = {
        k: fen(c)
        for k, c in query(
            db, "select sku_order_id, insurance_claim_yuan from sales.fct_refunds where insurance_claim_yuan > 0"
        )
    }
    assert got == q
    # refunds are the goods' refunds only: fct_refunds and sales_daily equal the truth's refunds
    with open(world / "truth" / "daily_sales.csv", newline="") as fh:
        truth_refund = sum(int(r["refund_fen"]) for r in csv.DictReader(fh))
    assert query(db, "select sum(refund_yuan) from sales.fct_refunds")[0][0] * 100 == truth_refund
    assert query(db, "select sum(refund_yuan) from sales.sales_daily")[0][0] * 100 == truth_refund


def test_exchange_moves_no_money(dbt_world_lake):
    world, _, db = dbt_world_lake
    ex = {r["key"] for r in quirks(world, "exchange")}
    assert query(db, f"select count(*) from sales.fct_refunds where sku_order_id in ({in_list(ex)})") == [(0,)]
    rows = query(
        db,
        f"""select refund_fen, refund_before_settle_fen, status from finance.fin_order_reconciliation
            where sku_order_id in ({in_list(ex)})""",
    )
    assert rows and all(r[0] == 0 and r[1] == 0 and r[2] != "refunded" for r in rows)


def test_late_reversal_is_dated_by_reversal_day_and_refund_by_refund_day(dbt_world_lake):
    world, _, db = dbt_world_lake
    q = {
        r["key"]: (r["day"], r["detail"].removeprefix("refunded "), int(r["amount_fen"]))
        for r in quirks(world, "late_reversal")
    }
    rows = query(
        db,
        """select s.sku_order_id, s.settle_date, r.refund_date, -s.settle_fen
            from finance.fin_settlement_lines s join sales.fct_refunds r using (sku_order_id)
            where s.trade_type = 1""",
    )
    assert {k: (str(sd), str(rd), a) for k, sd, rd, a in rows} == q
    # the refund is in sales on its refund day; the reversal in the fee breakdown on the reversal day
    for day in {d for d, *_ in q.values()}:
        reversed_fen = sum(a for d, _, a in q.values() if d == day)
        got = query(
            db,
            f"select coalesce(sum(settle_fen), 0) from finance.fin_settlement_lines where trade_type = 1 and settle_date = '{day}'",
        )[0][0]
        assert got == -reversed_fen, day


def test_platform_compensation_is_its_own_fund_flow_credit(dbt_world_lake):
    world, _, db = dbt_world_lake
    q = sorted((r["key"], r["day"], int(r["amount_fen"])) for r in quirks(world, "platform_compensation"))
    rows = query(
        db,
        "select sku_order_id, bill_date, signed_fen from finance.fin_fund_flow where movement_kind = 'platform_compensation'",
    )
    assert sorted((k, str(d), a) for k, d, a in rows) == q
