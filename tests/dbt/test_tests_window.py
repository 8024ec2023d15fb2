"""A daily run's data tests read the window it rebuilt; the full pass (`douyin-etl check`) reads everything
(issue 13). Real dbt over the dbt tests' small world, through the pipeline's runner; the published file
the full pass checks is a copy of that world's warehouse."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

pytestmark = pytest.mark.slow

CHANNEL_TEST = "test.douyin.accepted_values_fct_order_lines_channel"


def _node(result, prefix: str):
    [node] = [n for n in result.nodes if n.unique_id.startswith(prefix)]
    return node


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_daily_tests_read_the_window_and_the_full_check_reads_everything(
    dbt_world: dict[str, Any],
    dbt_helpers,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
):
    from douyin_etl import cli
    from douyin_etl.warehousing.dbt_runner import run_dbt

    monkeypatch.setenv("DOUYIN_LAKE_DIR", str(dbt_world["lake_dir"]))
    monkeypatch.setenv("DOUYIN_STATE_DIR", str(tmp_path / "var"))
    published = tmp_path / "warehouse" / "douyin.duckdb"
    monkeypatch.setenv("DOUYIN_WAREHOUSE", str(published))
    published.parent.mkdir()
    shutil.copyfile(dbt_world["db_path"], published)
    last = dbt_helpers.world_days(dbt_world["world_dir"])[-1]
    since = last - timedelta(days=3)  # a daily run of `last`: lookback_days (3) before it
    con = duckdb.connect(str(published))
    old, new = (
        con.execute(f"select min(sku_order_id) from sales.fct_order_lines where changed_dt {op} ?", [day]).fetchone()[0]
        for op, day in (("<", since), ("=", last))
    )
    assert old and new
    con.execute("update sales.fct_order_lines set channel = 'bogus_old' where sku_order_id = ?", [old])
    newest_pay = con.execute("select max(pay_date) from sales.fct_order_lines").fetchone()[0]
    con.close()

    def daily(name: str, tests_since, select: str = "fct_order_lines"):
        return run_dbt(
            ["test", "--select", select],
            db_path=published,
            run_dir=tmp_path / name,
            run_params={"as_of_date": last, "tests_since": tests_since},
        )

    # 1. a daily run's tests: the bad row before the window is not read
    first = daily("daily-1", since)  # main: ValueError unknown dbt run parameter 'tests_since'
    assert first.ok, first.failures
    assert _node(first, CHANNEL_TEST).status == "pass"
    compiled = {p.name: p.read_text() for p in (tmp_path / "daily-1" / "target" / "compiled").rglob("*.sql")}
    assert f"changed_dt >= cast('{since.isoformat()}' as date)" in compiled["not_null_fct_order_lines_channel.sql"]
    # a test comparing with another relation reads both whole (sums_match of sales_daily vs fct_order_lines)
    sums = [sql for name, sql in compiled.items() if name.startswith("sums_match_sales_daily")]
    assert sums and not any(since.isoformat() in sql for sql in sums)

    # a test left to the full pass (meta test_window: full_pass, the route view's key) reads no rows daily,
    # and every row without tests_since
    def route_key_sql(name: str) -> str:
        [sql] = [
            p.read_text()
            for p in (tmp_path / name / "target" / "compiled").rglob("unique_combination_of_columns_*.sql")
        ]
        return sql

    routes_daily = daily("routes-daily", since, select="stg_doudian__logistics_track")
    routes_whole = daily("routes-whole", None, select="stg_doudian__logistics_track")
    assert routes_daily.ok and routes_whole.ok
    assert "where false" in route_key_sql("routes-daily")
    assert "where false" not in route_key_sql("routes-whole") and "stg_doudian__logistics_track" in route_key_sql(
        "routes-whole"
    )

    # 2. the full pass over the published file finds it, and writes nothing to the file
    before = _sha(published)
    code = cli.main(["check", "--select", "fct_order_lines"])  # main: argparse error, no command 'check'
    out = capsys.readouterr().out
    assert code == 1 and "FAILED" in out and "accepted_values_fct_order_lines_channel" in out
    assert _sha(published) == before and not published.with_name(published.name + ".wal").exists()
    [report] = (tmp_path / "var" / "checks").glob("*/report.json")
    recorded = json.loads(report.read_text())
    assert recorded["ok"] is False and recorded["as_of"] == newest_pay.isoformat()  # no publish log: newest pay day
    assert [f["unique_id"].startswith(CHANNEL_TEST) for f in recorded["dbt"]["failures"]] == [True]
    assert recorded["mart_gate"]["ok"] is True and recorded["mart_gate"]["since"] is None

    # 3. a bad row inside the window is caught by the next daily run, which reuses the saved parse although
    #    its run parameters differ (the weekly pass keeps a parse of its own and did not replace it)
    con = duckdb.connect(str(published))
    con.execute("update sales.fct_order_lines set channel = 'bogus_new' where sku_order_id = ?", [new])
    con.close()
    second = daily("daily-2", since + timedelta(days=1))
    assert second.parse == "reused"
    caught = _node(second, CHANNEL_TEST)
    assert caught.status == "fail" and caught.failures == 1  # one bad value, 'bogus_new': 'bogus_old' is outside
