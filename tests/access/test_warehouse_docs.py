"""The published warehouse explains itself: every mart table and column carries its yml description as a
DuckDB comment (dbt's persist_docs, kept by publish), product names sit beside product/SKU ids, and the dbt
docs of the run open on a project overview with exposures and owners."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from douyin_etl import config

MARTS = config.DBT_PROJECT_DIR / "models" / "marts"


def _yml_models() -> dict[str, dict]:
    out = {}
    for path in sorted(MARTS.glob("*/_*__models.yml")):
        for model in yaml.safe_load(path.read_text(encoding="utf-8"))["models"]:
            out[model["name"]] = model
    return out


def test_every_mart_table_and_column_has_its_description_as_comment(published, mart):
    models = _yml_models()
    tables = {
        name: comment
        for name, comment in mart(
            published,
            "SELECT table_name, comment FROM duckdb_tables() "
            "WHERE schema_name IN ('sales', 'finance', 'inventory', 'performance')",
        )
    }
    columns = {
        (t, c): comment
        for t, c, comment in mart(
            published,
            "SELECT table_name, column_name, comment FROM duckdb_columns() "
            "WHERE schema_name IN ('sales', 'finance', 'inventory', 'performance')",
        )
    }
    assert set(models) <= set(tables), set(models) - set(tables)
    wrong = []
    for name, model in models.items():
        if (tables[name] or "").strip() != model["description"].strip():
            wrong.append((name, None, tables[name]))
        for col in model["columns"]:
            comment = columns.get((name, col["name"]))
            if (comment or "").strip() != col["description"].strip():
                wrong.append((name, col["name"], comment))
    assert not wrong, f"{len(wrong)} comments differ from the yml, e.g. {wrong[:3]}"
    assert sum(1 for m in models.values() for _ in m["columns"]) > 400


def test_product_names_beside_product_ids(published, mart):
    marts = [
        (schema, table)
        for schema, table in mart(
            published,
            "SELECT DISTINCT schema_name, table_name FROM duckdb_columns() WHERE column_name = 'product_name' "
            "AND schema_name IN ('finance', 'inventory', 'sales') AND table_name <> 'dim_products'",
        )
    ]
    assert {t for _, t in marts} >= {
        "fin_order_reconciliation",
        "fin_settlement_lines",
        "fin_pnl_product_daily",
        "sales_funnel_daily",
        "inv_stock_daily",
        "inv_movements",
        "inv_health",
        "inv_alerts",
        "inv_replenishment",
    }
    for schema, table in marts:
        ((rows, named, wrong),) = mart(
            published,
            f"SELECT count(*), count(t.product_name), count(*) FILTER (WHERE t.product_name IS DISTINCT FROM "
            f"p.product_name) FROM {schema}.{table} AS t JOIN sales.dim_products AS p USING (product_id)",
        )
        assert rows > 0 or table == "inv_alerts", f"{table}: no row with a known product in the test world"
        assert named == rows and wrong == 0, f"{table}: {rows - named} rows without, {wrong} with another name"


def test_dbt_docs_overview_and_exposures(published):
    manifest = json.loads(
        (Path(published.state_dir) / "runs" / published.run_id / "dbt" / "target" / "manifest.json").read_text()
    )
    overview = manifest["docs"]["doc.douyin.__overview__"]["block_contents"]
    assert "Douyin" in overview and "fen" in overview and "Asia/Shanghai" in overview
    exposures = {e["name"]: e for e in manifest["exposures"].values()}
    assert set(exposures) == {"operators_dashboard", "finance_exports"}
    for e in exposures.values():
        assert e["owner"]["name"] and e["description"] and e["depends_on"]["nodes"]
    finance = {n.split(".")[-1] for n in exposures["finance_exports"]["depends_on"]["nodes"]}
    from douyin_etl.access.export_spec import EXPORT_TABLES

    assert finance == {t.relation.split(".")[1] for t in EXPORT_TABLES}
