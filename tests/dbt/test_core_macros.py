"""The dispatched douyin macros compiled and run by dbt itself, and dbt docs offline."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from douyin_etl.money import fen_to_yuan, rate_of
from douyin_etl.timeutil import day_bounds_unix

pytestmark = pytest.mark.slow

CASES = [(a, r) for a in (0, 1, 5, 49, 50, 51, 99, 100, 12345, 10010, 9999999, 2**40, -50, -51, -12345)
         for r in (0, 1, 150, 300, 500, 2050, 3333, 10000)]


def _show(h, dbt_world: dict[str, Any], sql: str, run_dir: Path) -> list[dict[str, Any]]:
    run = h.run_dbt(["show", "--inline", sql, "--limit", "-1", "--output", "json"], lake_dir=dbt_world["lake_dir"],
                    db_path=dbt_world["db_path"], run_dir=run_dir, read_only=True)
    assert run.ok, run.error
    text = run.log_path.read_text(encoding="utf-8")  # dbt's output, as the runner keeps it
    return json.loads(text[text.index("\n{\n") + 1:])["show"]


def test_fee_of_fen_to_yuan_business_date_match_python(dbt_world: dict[str, Any], dbt_helpers, tmp_path: Path) -> None:
    start, _ = day_bounds_unix(date(2026, 3, 1))
    instants = [start - 1, start, start + 86399, start + 86400]
    values = ", ".join(f"({i}, {a}, {r})" for i, (a, r) in enumerate(CASES))
    sql = (
        "with cases as (select * from (values " + values + ") as t(i, amount_fen, rate_bp)), "
        "days as (select * from (values " + ", ".join(f"({i}, {u})" for i, u in enumerate(instants)) + ") as d(i, unix_s)) "
        "select 'fee' as kind, i, cast({{ fee_of('amount_fen', 'rate_bp') }} as varchar) as value from cases "
        "union all select 'yuan', i, cast({{ fen_to_yuan('amount_fen') }} as varchar) from cases "
        "union all select 'day', i, cast({{ business_date(unix_to_timestamptz('unix_s')) }} as varchar) from days"
    )
    rows = _show(dbt_helpers, dbt_world, sql, tmp_path / "dbt")
    got = {(r["kind"], int(r["i"])): r["value"] for r in rows}
    for i, (amount, rate) in enumerate(CASES):
        assert int(got[("fee", i)]) == rate_of(amount, rate), (amount, rate)
        assert Decimal(got[("yuan", i)]) == fen_to_yuan(amount), amount
    assert [got[("day", i)] for i in range(4)] == ["2026-02-28", "2026-03-01", "2026-03-01", "2026-03-02"]


def test_docs_generate_offline(dbt_world: dict[str, Any], dbt_helpers, tmp_path: Path) -> None:
    run = dbt_helpers.run_dbt(["docs", "generate"], lake_dir=dbt_world["lake_dir"], db_path=dbt_world["db_path"],
                              run_dir=tmp_path / "dbt", read_only=True)
    assert run.ok, run.error
    target = run.run_dir / "target"
    catalog = json.loads((target / "catalog.json").read_text())
    nodes = catalog["nodes"]
    recon = nodes["model.douyin.fin_order_reconciliation"]
    assert recon["metadata"]["schema"] == "finance"
    assert recon["columns"]["difference_fen"]["type"] == "BIGINT"
    manifest = json.loads((target / "manifest.json").read_text())
    described = manifest["nodes"]["model.douyin.sales_daily"]["columns"]["net_sales_yuan"]["description"]
    assert "refund" in described
    assert (target / "index.html").exists()
