"""The analyst guide's examples run on a built warehouse; the generated doc sections match the yml."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import duckdb
import pytest

from douyin_etl import config
from douyin_etl.access.catalog import generated_sections, load_catalog, replace_section, unit_of
from douyin_etl.access.examples import EXAMPLES, sql
from douyin_etl.access.query import run_query

GUIDE = config.PROJECT_DIR / "docs" / "analyst-guide.md"


@pytest.fixture(scope="module")
def answers(published):
    out = {}
    for e in EXAMPLES:
        columns, rows = run_query(e.sql, published.warehouse)
        out[e.key] = [dict(zip(columns, r)) for r in rows]
    return out


def test_ten_examples_answer_non_empty(answers):
    assert len(EXAMPLES) == 10 and len({e.key for e in EXAMPLES}) == 10
    empty = [k for k, rows in answers.items() if not rows]
    assert not empty, f"examples with no rows: {empty}"


def test_example_figures_tie_to_the_marts(answers, published, mart):
    gmv = sum((r["gmv_yuan"] for r in answers["daily_gmv_by_channel"]), Decimal(0))
    ((daily,),) = mart(published, "SELECT sum(gmv_yuan) FROM sales.sales_daily")
    ((lines,),) = mart(published, "SELECT sum(pay_yuan) FROM sales.fct_order_lines WHERE is_paid")
    assert gmv == daily == lines and gmv > 0
    diff = sum((r["difference_yuan"] for r in answers["settlement_discrepancies_by_reason"]), Decimal(0))
    ((fen,),) = mart(
        published, "SELECT sum(difference_fen) FROM finance.fin_order_reconciliation WHERE status = 'discrepancy'"
    )
    assert diff == Decimal(fen) / 100
    margin = sum((r["contribution_margin_yuan"] for r in answers["contribution_margin_by_product"]), Decimal(0))
    ((pnl,),) = mart(published, "SELECT sum(contribution_margin_yuan) FROM finance.fin_pnl_daily")
    assert margin == pnl
    # the best live session's GPM recomputed from the inputs, as 罗盘 defines it: GMV of the world's paid lines
    # carrying its room id x 1000 / 观看人次 of the landed 直播场次 file
    top = answers["live_session_gpm"][0]
    ((watch_pv,),) = published.query(
        f"SELECT watch_pv FROM read_parquet('{published.lake}/raw/backoffice/live_session/dt=*/*.parquet') "
        "WHERE room_id = $room",
        {"room": top["room_id"]},
    )
    ((gmv_fen,),) = duckdb.sql(
        f"SELECT sum(pay_amount) FROM read_parquet('{published.world}/platform/sku_order/*/*.parquet') "
        f"WHERE pay_time > 0 AND room_id_str = '{top['room_id']}'"
    ).fetchall()
    assert watch_pv > 0 and gmv_fen > 0 and top["gmv_yuan"] == Decimal(gmv_fen) / 100
    assert top["gpm_yuan"] == (Decimal(gmv_fen) * 1000 / watch_pv).quantize(Decimal(1), ROUND_HALF_UP) / 100
    assert top["gpm_yuan"] == max(r["gpm_yuan"] for r in answers["live_session_gpm"] if r["gpm_yuan"] is not None)
    # the stock-out and reorder lists are exactly what the inventory marts hold for the day (which
    # tests/dbt/test_ops_marts.py recomputes from the landed 3PL files)
    stockouts = {(r["warehouse_id"], r["sku_id"]) for r in answers["stockout_risk"]}
    assert stockouts and stockouts == set(
        mart(published, "SELECT warehouse_id, sku_id FROM inventory.inv_alerts WHERE alert_type = 'stockout_risk'")
    )
    reorders = {(r["warehouse_id"], r["sku_id"]): r["suggested_order_qty"] for r in answers["reorder_suggestions"]}
    assert reorders and reorders == {
        (w, s): q
        for w, s, q in mart(
            published,
            "SELECT warehouse_id, sku_id, suggested_order_qty FROM inventory.inv_replenishment "
            "WHERE suggested_order_qty > 0",
        )
    }


def test_catalog_covers_every_built_mart(published):
    catalog = {d.relation: d for d in load_catalog()}
    con = duckdb.connect(str(published.warehouse), read_only=True)
    try:
        built = {
            f"{s}.{t}"
            for s, t in con.execute(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_schema IN ('sales', 'finance', 'inventory', 'performance')"
            ).fetchall()
        }
        assert built == set(catalog), built ^ set(catalog)
        for relation in ("finance.fin_pnl_daily", "sales.sales_daily"):
            cols = [r[0] for r in con.execute(f"DESCRIBE {relation}").fetchall()]
            assert cols == [c.name for c in catalog[relation].columns]
    finally:
        con.close()
    assert catalog["sales.sales_daily"].keys == ("shop_id", "date_day", "channel")
    assert catalog["finance.fin_order_reconciliation"].keys == ("sku_order_id",)
    assert unit_of("gmv_yuan", "decimal(18,2)").startswith("yuan")
    assert unit_of("settle_fen", "bigint").startswith("fen")
    assert unit_of("pay_date", "date") == "date (Asia/Shanghai)"


def test_guide_sections_are_generated_from_the_yml():
    text = GUIDE.read_text(encoding="utf-8")
    for name, body in generated_sections().items():
        assert replace_section(text, name, body) == text, (
            f"docs/analyst-guide.md section {name!r} is stale: run "
            "`python -m douyin_etl.access.catalog --write docs/analyst-guide.md`"
        )
    for e in EXAMPLES:
        assert sql(e.key) in text
