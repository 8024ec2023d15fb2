"""The core marts (sales, finance) against the simulated world's ground truth, to the fen."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

import duckdb
import pytest

from worlds import query  # tests/worlds.py

pytestmark = pytest.mark.slow


# Nodes owned by the core (staging of doudian/backoffice/merchant, core intermediate, sales, finance).
CORE_MODELS = (
    "stg_doudian__shop_order",
    "stg_doudian__sku_order",
    "stg_doudian__after_sale",
    "stg_doudian__product",
    "stg_doudian__sku",
    "stg_doudian__sku_daily",
    "stg_doudian__alliance_order",
    "stg_backoffice__settlement_bill",
    "stg_backoffice__fund_flow",
    "stg_backoffice__creator",
    "stg_merchant__product_cost",
    "int_order_lines__enriched",
    "int_refunds__allocated_to_lines",
    "int_settlements__matched_to_lines",
    "int_order_lines__expected_settlement",
    "int_order_lines__costed",
    "int_sku_costs__historized",
    "int_sku_prices__historized",
    "int_pnl_components__product_daily",
    "fct_order_lines",
    "fct_orders",
    "fct_refunds",
    "dim_products",
    "dim_skus",
    "dim_sku_prices",
    "dim_shops",
    "dim_creators",
    "dim_date",
    "sales_daily",
    "sales_customers",
    "sales_cohorts_monthly",
    "fin_settlement_lines",
    "fin_order_reconciliation",
    "fin_fund_flow",
    "fin_withdrawals",
    "fin_fee_breakdown_daily",
    "fin_pnl_daily",
    "fin_pnl_product_daily",
    "platform_fee_rates",
    "snap_sku_prices",
)


def _truth_daily(world_dir: Path) -> dict[tuple[str, str], dict[str, int]]:
    with open(world_dir / "truth" / "daily_sales.csv", newline="") as fh:
        return {
            (r["shop_id"], r["date"]): {k: int(v) for k, v in r.items() if k not in ("shop_id", "date")}
            for r in csv.DictReader(fh)
        }


def test_core_nodes_all_pass(dbt_world: dict[str, Any]) -> None:
    core = [r for r in dbt_world["results"] if any(m in r["unique_id"] for m in CORE_MODELS)]
    assert len(core) > 150, f"expected the core models, tests and unit tests in run_results, got {len(core)}"
    failing = [f"{r['unique_id']}: {r.get('message')}" for r in core if r["status"] not in ("success", "pass")]
    assert failing == [], "\n".join(failing)


def test_schemas_are_exactly_the_layer_names(dbt_world_lake: tuple[Path, Path, Path]) -> None:
    _, _, db = dbt_world_lake
    schemas = {r[0] for r in query(db, "select distinct table_schema from information_schema.tables")}
    assert {"staging", "intermediate", "sales", "finance", "snapshots"} <= schemas
    assert not {s for s in schemas if s.startswith("main_")}, schemas


def test_daily_gmv_refunds_net_sales_equal_truth_to_the_fen(dbt_world_lake: tuple[Path, Path, Path]) -> None:
    world, _, db = dbt_world_lake
    truth = _truth_daily(world)
    mart = {
        (shop, str(day)): (gmv, refund, net)
        for shop, day, gmv, refund, net in query(
            db,
            """
        select shop_id, date_day,
               cast(sum(gmv_yuan) * 100 as bigint), cast(sum(refund_yuan) * 100 as bigint),
               cast(sum(net_sales_yuan) * 100 as bigint)
        from sales.sales_daily group by shop_id, date_day""",
        )
    }
    assert len(truth) == 2 * 14  # shops x days of the shared world
    assert set(mart) == set(truth)
    wrong = {
        k: (mart[k], (t["gmv_fen"], t["refund_fen"], t["net_sales_fen"]))
        for k, t in truth.items()
        if mart[k] != (t["gmv_fen"], t["refund_fen"], t["net_sales_fen"])
    }
    assert wrong == {}
    assert sum(t["gmv_fen"] for t in truth.values()) > 0 and sum(t["refund_fen"] for t in truth.values()) > 0


def test_orders_buyers_lines_per_shop_day_equal_truth(dbt_world_lake: tuple[Path, Path, Path]) -> None:
    world, _, db = dbt_world_lake
    truth = _truth_daily(world)
    mart = {
        (shop, str(day)): (orders, buyers, lines)
        for shop, day, orders, buyers, lines in query(
            db,
            """
        select shop_id, pay_date, count(distinct shop_order_id), count(distinct buyer_key), count(*)
        from sales.fct_order_lines where is_paid group by shop_id, pay_date""",
        )
    }
    assert {k: mart.get(k) for k in truth} == {k: (t["orders"], t["buyers"], t["sku_orders"]) for k, t in truth.items()}
    # the same orders in fct_orders, and AOV = GMV / buyers in sales_daily
    orders = query(db, "select count(*) from sales.fct_orders")[0][0]
    assert orders == sum(t["orders"] for t in truth.values())
    bad_aov = query(
        db,
        # exact half-up on integers (a DOUBLE quotient like 306.59 / 2 = 153.295 would round down)
        "select count(*) from sales.sales_daily where buyers > 0 and gmv_yuan >= 0 and "
        "cast(aov_yuan * 100 as bigint) <> (cast(gmv_yuan * 100 as bigint) * 2 + buyers) // (2 * buyers)",
    )
    assert bad_aov == [(0,)]


def test_reconciliation_equals_truth_exactly(dbt_world_lake: tuple[Path, Path, Path]) -> None:
    world, _, db = dbt_world_lake
    truth_file = world / "truth" / "reconciliation.parquet"
    truth = {
        r[0]: r[1:]
        for r in duckdb.sql(
            f"select sku_order_id, shop_id, pay_amount, expected_settle_fen, settled_fen, status, reason "
            f"from read_parquet('{truth_file}')"
        ).fetchall()
    }
    mart = {
        r[0]: r[1:]
        for r in query(
            db,
            """
        select sku_order_id, shop_id, pay_fen, expected_settle_fen, settled_fen, status, reason
        from finance.fin_order_reconciliation""",
        )
    }
    assert set(mart) == set(truth)
    diff = {k: (mart[k], truth[k]) for k in truth if mart[k] != truth[k]}
    assert diff == {}, f"{len(diff)} lines differ, e.g. {list(diff.items())[:3]}"
    statuses = {s for *_, s, _ in truth.values()}
    assert {"settled", "pending", "refunded", "discrepancy"} <= statuses
    # every injected reconciliation anomaly the truth reports is found, and nothing else
    discrepancies = {k: r for k, (*_, s, r) in mart.items() if s == "discrepancy"}
    assert sorted(discrepancies.values()) == sorted(r for *_, s, r in truth.values() if s == "discrepancy")
    assert {"duplicate_settlement", "fee_mismatch", "refund_not_reversed"} <= set(discrepancies.values())


def test_settlement_and_fee_marts_add_up(dbt_world_lake: tuple[Path, Path, Path]) -> None:
    world, _, db = dbt_world_lake
    bills = world / "platform" / "settlement_bill"
    world_total = duckdb.sql(
        f"select count(*), sum(settle_amount) from read_parquet('{bills}/*/*.parquet')"
    ).fetchall()[0]
    assert query(db, "select count(*), sum(settle_fen) from finance.fin_settlement_lines")[0] == world_total
    assert query(db, "select sum(net_settlement_fen) from finance.fin_fee_breakdown_daily")[0][0] == world_total[1]


def test_fund_flow_duplicates_count_once(dbt_world_lake: tuple[Path, Path, Path]) -> None:
    world, _, db = dbt_world_lake
    flows = world / "platform" / "fund_flow"
    distinct = duckdb.sql(
        f"select count(distinct account_trade_no) from read_parquet('{flows}/*/*.parquet')"
    ).fetchall()[0][0]
    assert query(db, "select count(*), count(distinct account_trade_no) from finance.fin_fund_flow")[0] == (
        distinct,
        distinct,
    )
    with open(world / "truth" / "anomalies.csv", newline="") as fh:
        dup_keys = [r["key"] for r in csv.DictReader(fh) if r["kind"] == "duplicate_fund_flow"]
    assert dup_keys
    for key in dup_keys:
        assert query(db, f"select count(*) from finance.fin_fund_flow where account_trade_no = '{key}'") == [(1,)]


def test_pnl_components_equal_their_sources(dbt_world_lake: tuple[Path, Path, Path]) -> None:
    world, _, db = dbt_world_lake
    # a Qianchuan day restated the next day counts once, with its newest figures
    ads = duckdb.sql(
        f"select cast(sum(stat_cost) * 100 as bigint) from (select stat_cost from "
        f"read_parquet('{world}/platform/ad_report/*/*.parquet', hive_partitioning = true) qualify row_number() "
        f"over (partition by advertiser_id, stat_date, marketing_goal order by dt desc) = 1)"
    ).fetchall()[0][0]
    gmv = sum(t["gmv_fen"] for t in _truth_daily(world).values())
    refunds = sum(t["refund_fen"] for t in _truth_daily(world).values())
    row = query(
        db,
        """select cast(sum(ad_spend_yuan) * 100 as bigint), cast(sum(gmv_yuan) * 100 as bigint),
                              cast(sum(refund_yuan) * 100 as bigint), sum(contribution_margin_fen)
                       from finance.fin_pnl_daily""",
    )[0]
    assert row[:3] == (ads, gmv, refunds)
    product = query(
        db,
        "select sum(contribution_margin_fen), cast(sum(ad_spend_yuan) * 100 as bigint) from finance.fin_pnl_product_daily",
    )[0]
    assert product == (row[3], ads)
    # freight: every carrier invoice the world billed (the simulator's truth: counts.json totals) lands in the
    # P&L exactly once, attributed to a shop and a product
    billed = json.loads((world / "truth" / "counts.json").read_text(encoding="utf-8"))["totals"]
    assert billed["freight_invoices"] > 100 and billed["freight_fen"] > 0
    freight = query(
        db,
        """select (select cast(sum(freight_yuan) * 100 as bigint) from finance.fin_pnl_daily),
                                   (select cast(sum(freight_yuan) * 100 as bigint) from finance.fin_pnl_product_daily),
                                   (select count(*) from finance.fin_pnl_product_daily where product_id is null and freight_yuan <> 0)""",
    )[0]
    assert freight == (billed["freight_fen"], billed["freight_fen"], 0)
    # COGS: every paid line has a unit cost from the merchant's cost sheets
    assert query(db, "select count(*) from sales.fct_order_lines where is_paid and unit_cost_yuan is null") == [(0,)]


def test_no_buyer_pii_beyond_staging(dbt_world_lake: tuple[Path, Path, Path]) -> None:
    world, _, db = dbt_world_lake
    leaked = query(
        db,
        """
        select table_schema, table_name, column_name from information_schema.columns
        where table_schema in ('staging', 'intermediate', 'sales', 'finance')
          and (column_name like 'encrypt%' or column_name like 'mask%' or column_name in ('post_addr', 'doudian_open_id'))""",
    )
    assert leaked == []
    open_id = duckdb.sql(
        f"select doudian_open_id from read_parquet('{world}/platform/shop_order/*/*.parquet') "
        f"where pay_time > 0 limit 1"
    ).fetchall()[0][0]
    import hashlib
    import hmac

    # buyer_key = HMAC-SHA256(the session's secret key, open id); the unsalted md5 matches nothing
    key = os.environ["DOUYIN_BUYER_KEY_SECRET"].encode()
    expected = hmac.new(key, open_id.encode(), hashlib.sha256).hexdigest()
    assert query(db, f"select count(*) from sales.fct_orders where buyer_key = '{expected}'")[0][0] >= 1
    assert query(
        db, f"select count(*) from sales.fct_orders where buyer_key = '{hashlib.md5(open_id.encode()).hexdigest()}'"
    ) == [(0,)]


def test_mart_money_types(dbt_world_lake: tuple[Path, Path, Path]) -> None:
    _, _, db = dbt_world_lake
    cols = query(
        db,
        """select table_name, column_name, data_type from information_schema.columns
                        where table_schema in ('sales', 'finance')""",
    )
    yuan = [(t, c, d) for t, c, d in cols if c.endswith("_yuan")]
    fen = [(t, c, d) for t, c, d in cols if c.endswith("_fen")]
    assert yuan and fen
    assert [x for x in yuan if x[2] != "DECIMAL(18,2)"] == []
    assert [x for x in fen if x[2] != "BIGINT"] == []


def test_every_core_view_evaluates_fully(dbt_world_lake: tuple[Path, Path, Path]) -> None:
    """Views are lazy: a bad cast in a column no mart selects would pass the build. Read them all."""
    _, _, db = dbt_world_lake
    con = duckdb.connect(str(db), read_only=True)
    try:
        views = [
            (s, t)
            for s, t in con.execute(
                "select table_schema, table_name from information_schema.tables "
                "where table_schema in ('staging', 'intermediate') and table_type = 'VIEW'"
            ).fetchall()
            if any(t == m for m in CORE_MODELS)
        ]
        assert len(views) >= 10  # the big staging models are incremental tables (evaluated when built)
        errors = []
        for schema, view in views:
            try:
                con.execute(f"select * from {schema}.{view}").fetchall()
            except duckdb.Error as exc:
                errors.append(f"{schema}.{view}: {exc}")
    finally:
        con.close()
    assert errors == []
