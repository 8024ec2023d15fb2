"""The marts against the world's truth for each platform quirk and natural discrepancy (issue 15 B).

Every expected figure comes from the simulator's truth tables (``truth/<quirk>.csv``, written from the
generator's own arrays) or the world's platform files, never from the SQL under test. A failing test
names its quirk. Reads the session's published warehouse (``dbt_world``: 14 days x 2 shops, every quirk
on), so these tests are slow.
"""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

pytestmark = pytest.mark.slow


def _truth(world: Path, name: str) -> list[dict[str, str]]:
    with open(world / "truth" / f"{name}.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _q(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _in(values) -> str:
    return ",".join("'" + str(v) + "'" for v in values) or "''"


def test_quirk_fee_rate_change_billed_rate_not_seed(dbt_world: dict[str, Any]) -> None:
    world, db = dbt_world["world_dir"], dbt_world["db_path"]
    (ch,) = _truth(world, "fee_rate_changes")
    eff = date.fromisoformat(ch["effective_date"])
    rows = _q(
        db,
        f"""select rate_date, seed_rate_bp, billed_rate_bp, is_rate_changed, fee_variance_fen
            from finance.fin_platform_fee_rates where first_cid = '{ch["first_cid"]}' and billed_rate_bp is not null""",
    )
    after = [r for r in rows if r[0] >= eff]
    assert after, "the world settles the changed category after the change"
    assert {(r[1], r[2], r[3]) for r in after} == {(int(ch["old_rate_bp"]), int(ch["new_rate_bp"]), True)}
    assert {r[2] for r in rows if r[0] < eff} <= {int(ch["old_rate_bp"])}
    assert sum(r[4] for r in after) > 0, "the variance shows what the rate change cost"
    # the other categories were billed at the expected rates
    assert _q(
        db,
        f"select count(*) from finance.fin_platform_fee_rates where first_cid <> '{ch['first_cid']}' "
        "and is_rate_changed",
    ) == [(0,)]


def test_reconciliation_precision_and_recall_with_natural_discrepancies(dbt_world: dict[str, Any]) -> None:
    """Late (not overdue) settlements and 1-fen rounding are settled, never flagged: every flagged line
    is a real anomaly of the truth (precision 1) and every real one is flagged (recall 1)."""
    world, db = dbt_world["world_dir"], dbt_world["db_path"]
    truth = {
        r[0]: r[1:]
        for r in duckdb.sql(
            f"select sku_order_id, status, reason, natural_kind from '{world}/truth/reconciliation.parquet'"
        ).fetchall()
    }
    natural = {k for k, (_, _, n) in truth.items() if n}
    assert {truth[k][2] for k in natural} >= {"late_settlement", "fee_rounding"}
    mart = dict(_q(db, "select sku_order_id, coalesce(reason, status) from finance.fin_order_reconciliation"))
    wrong = {k: mart[k] for k in natural if mart[k] != "settled"}
    assert wrong == {}, f"natural discrepancies flagged: {wrong}"
    flagged = {k: r for k, r in mart.items() if truth[k][0] and r not in ("settled", "pending", "refunded")}
    real = {k: reason for k, (status, reason, _) in truth.items() if status == "discrepancy"}
    assert flagged == real


def test_quirk_commission_campaign_rates_in_the_reconciliation(dbt_world: dict[str, Any]) -> None:
    world, db = dbt_world["world_dir"], dbt_world["db_path"]
    camps = _truth(world, "commission_campaigns")
    assert camps
    lines = _q(
        db,
        """select l.author_id, l.pay_date, r.commission_rate_bp from finance.fin_order_reconciliation r
           join sales.fct_order_lines l using (sku_order_id) where l.channel = 'alliance'""",
    )
    inside = 0
    for c in camps:
        for author, pay_date, bp in lines:
            if author != c["author_id"]:
                continue
            during = date.fromisoformat(c["start_date"]) <= pay_date <= date.fromisoformat(c["end_date"])
            assert bp == int(c["campaign_rate_bp" if during else "base_rate_bp"]), (c, pay_date)
            inside += during
    assert inside > 0, "alliance orders were paid during a campaign"


def test_quirk_adjustments_and_deposit_in_the_fund_flow(dbt_world: dict[str, Any]) -> None:
    world, db = dbt_world["world_dir"], dbt_world["db_path"]
    events = _truth(world, "fund_events")
    assert {"adjustment", "deposit_topup", "deposit_deduction", "deposit_refund"} <= {e["kind"] for e in events}
    mart = {
        k: rest
        for k, *rest in _q(
            db,
            f"""select account_trade_no, movement_kind, signed_fen, is_deposit_account, sku_order_id, copies_seen
                from finance.fin_fund_flow where account_trade_no in ({_in(e["account_trade_no"] for e in events)})""",
        )
    }
    for e in events:
        kind, signed, deposit, order, _ = mart[e["account_trade_no"]]
        assert (kind, signed, deposit, order or "") == (
            e["kind"],
            int(e["signed_fen"]),
            e["account_type"] == "保证金账户",
            e["order_id"],
        ), e
    # adjustments never change what the settlement bill settled (the reconciliation)
    adjusted = {e["order_id"] for e in events if e["kind"] == "adjustment"}
    recon = dict(
        _q(
            db,
            f"select sku_order_id, status from finance.fin_order_reconciliation where sku_order_id in ({_in(adjusted)})",
        )
    )
    truth = {
        r[0]: r[1]
        for r in duckdb.sql(
            f"select sku_order_id, status from '{world}/truth/reconciliation.parquet' where sku_order_id in ({_in(adjusted)})"
        ).fetchall()
    }
    assert recon == truth


def test_quirk_live_sessions_across_midnight(dbt_world: dict[str, Any]) -> None:
    """A session belongs to its start day; its GMV is every paid line of the room, also those paid
    after midnight (docs/metrics.md)."""
    world, db = dbt_world["world_dir"], dbt_world["db_path"]
    cross = {r["room_id"]: r for r in _truth(world, "live_sessions_cross_midnight")}
    assert cross
    rooms = _in(cross)
    lines = duckdb.sql(
        f"""select room_id_str, sum(pay_amount), count(*) filter (where (DATE '1970-01-01'
                   + CAST((pay_time + 28800) // 86400 AS INTEGER)) > (DATE '1970-01-01'
                   + CAST((create_time + 28800) // 86400 AS INTEGER)) or hour(make_timestamp(create_time * 1000000)
                   + INTERVAL 8 HOUR) < 6)
            from read_parquet('{world}/platform/sku_order/*/*.parquet')
            where room_id_str in ({rooms}) and pay_time > 0 group by 1"""
    ).fetchall()
    gmv = {r: Decimal(g) / 100 for r, g, _ in lines}
    assert sum(n for _, _, n in lines) > 0, "some of a session's orders come after midnight"
    mart = {
        r: (d, g)
        for r, d, g in _q(
            db, f"select room_id, live_date, gmv_yuan from performance.perf_live_sessions where room_id in ({rooms})"
        )
    }
    assert set(mart) == set(cross)
    for room, (live_date, g) in mart.items():
        assert live_date == date.fromisoformat(cross[room]["start_date"]), room
        assert g == gmv.get(room, Decimal(0)), room


def test_quirk_ad_reports_restated_newest_wins(dbt_world: dict[str, Any]) -> None:
    world, db = dbt_world["world_dir"], dbt_world["db_path"]
    restated = _truth(world, "ad_restatements")
    assert restated
    mart = {
        (a, str(d), g): s
        for a, d, g, s in _q(
            db, "select advertiser_id, stat_date, marketing_goal, spend_yuan from performance.perf_ads"
        )
    }
    for r in restated:
        key = (r["advertiser_id"], r["stat_date"], r["marketing_goal"])
        assert mart[key] == Decimal(r["restated_cost_fen"]) / 100, r


def test_quirk_rejected_parcels_return_freight_and_stock(dbt_world: dict[str, Any]) -> None:
    world, db = dbt_world["world_dir"], dbt_world["db_path"]
    incidents = _truth(world, "logistics_incidents")
    rejected = [i for i in incidents if i["kind"] == "rejected"]
    assert {i["kind"] for i in incidents} >= {"lost"}
    if rejected:  # the return waybill is billed and names its original
        got = dict(
            _q(
                db,
                f"select tracking_no, original_tracking_no from staging.stg_carrier__freight_invoice "
                f"where tracking_no in ({_in(i['return_tracking_no'] for i in rejected)})",
            )
        )
        assert got == {i["return_tracking_no"]: i["tracking_no"] for i in rejected}
    # every fen of freight reaches a shop's P&L (split, return and unattributable waybills alike)
    assert _q(db, "select count(*) from intermediate.int_pnl_components__product_daily where shop_id is null") == [(0,)]


def test_quirk_split_shipments_per_order(dbt_world: dict[str, Any]) -> None:
    world, db = dbt_world["world_dir"], dbt_world["db_path"]
    multi = {
        r[0]
        for r in duckdb.sql(
            f"""select order_id from read_parquet('{world}/platform/shop_order/*/*.parquet')
                where json_array_length(logistics_info::JSON) > 1"""
        ).fetchall()
    }
    assert multi, "some orders ship in several parcels"
    mart = {
        r[0]
        for r in _q(
            db,
            "select shop_order_id from intermediate.int_fulfilment__lines where tracking_no is not null "
            "group by shop_order_id having count(distinct tracking_no) > 1",
        )
    }
    assert mart == multi
