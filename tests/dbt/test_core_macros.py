"""The dispatched douyin macros compiled and run by dbt itself, and dbt docs offline."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from douyin_etl.money import fen_to_yuan, rate_of
from douyin_etl.timeutil import day_bounds_unix

pytestmark = pytest.mark.slow

CASES = [
    (a, r)
    for a in (0, 1, 5, 49, 50, 51, 99, 100, 12345, 10010, 9999999, 2**40, -50, -51, -12345)
    for r in (0, 1, 150, 300, 500, 2050, 3333, 10000)
]


def _show(h, dbt_world: dict[str, Any], sql: str, run_dir: Path) -> list[dict[str, Any]]:
    run = h.run_dbt(
        ["show", "--inline", sql, "--limit", "-1", "--output", "json"],
        lake_dir=dbt_world["lake_dir"],
        db_path=dbt_world["db_path"],
        run_dir=run_dir,
        read_only=True,
    )
    assert run.ok, run.error
    text = run.log_path.read_text(encoding="utf-8")  # dbt's output, as the runner keeps it
    return json.loads(text[text.index("\n{\n") + 1 :])["show"]


def test_fee_of_fen_to_yuan_business_date_match_python(dbt_world: dict[str, Any], dbt_helpers, tmp_path: Path) -> None:
    start, _ = day_bounds_unix(date(2026, 3, 1))
    instants = [start - 1, start, start + 86399, start + 86400]
    values = ", ".join(f"({i}, {a}, {r})" for i, (a, r) in enumerate(CASES))
    sql = (
        "with cases as (select * from (values " + values + ") as t(i, amount_fen, rate_bp)), "
        "days as (select * from (values "
        + ", ".join(f"({i}, {u})" for i, u in enumerate(instants))
        + ") as d(i, unix_s)) "
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
    run = dbt_helpers.run_dbt(
        ["docs", "generate"],
        lake_dir=dbt_world["lake_dir"],
        db_path=dbt_world["db_path"],
        run_dir=tmp_path / "dbt",
        read_only=True,
    )
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


# --- the default__ implementations (the ANSI-ish fallbacks other engines get), run on DuckDB beside the
# duckdb__ ones and Python. Only dbt's parse is needed: an empty warehouse, no world.
DIVIDE_CASES = [
    (n, d)
    for n in (0, 1, 2, 3, 5, 7, 100, 1001, 12345, 30659, 182985, -1, -3, -7, -1001)
    for d in (1, 2, 3, 6, 7, 1000, -2)
]


def _show_empty(h, tmp_path: Path, sql: str) -> dict[tuple[str, int], str]:
    (tmp_path / "lake").mkdir(exist_ok=True)
    run = h.run_dbt(
        ["show", "--inline", sql, "--limit", "-1", "--output", "json"],
        lake_dir=tmp_path / "lake",
        db_path=tmp_path / "macros.duckdb",
        run_dir=tmp_path / "dbt",
    )
    assert run.ok, run.error
    text = run.log_path.read_text(encoding="utf-8")  # dbt's output, as the runner keeps it
    rows = json.loads(text[text.index("\n{\n") + 1 :])["show"]
    return {(r["kind"], int(r["i"])): r["value"] for r in rows}


def _half_up(n: int, d: int) -> int:
    q = (Decimal(n) / Decimal(d)).quantize(Decimal(1), rounding="ROUND_HALF_UP")
    return int(q)


def test_default_macros_match_duckdb_and_python(tmp_path: Path, dbt_helpers) -> None:
    start, _ = day_bounds_unix(date(2026, 3, 1))
    instants = [0, start - 1, start, start + 86399, start + 86400]
    fee_cases = [(a, r) for a, r in CASES if abs(a) < 2**40]
    sql = " union all ".join(
        [
            "select 'fee' as kind, i, cast({{ default__fee_of('a', 'r') }} as varchar) as value"
            " from (values " + ", ".join(f"({i}, {a}, {r})" for i, (a, r) in enumerate(fee_cases)) + ") as t(i, a, r)",
            "select 'yuan', i, cast({{ default__fen_to_yuan('a') }} as varchar)"
            " from (values " + ", ".join(f"({i}, {a})" for i, (a, _r) in enumerate(fee_cases)) + ") as t(i, a)",
            "select 'div', i, cast({{ divide_round_half_up('n', 'd') }} as varchar)"
            " from (values "
            + ", ".join(f"({i}, {n}, {d})" for i, (n, d) in enumerate(DIVIDE_CASES))
            + ") as t(i, n, d)",
            "select 'div_default', i, cast({{ default__divide_round_half_up('n', 'd') }} as varchar)"
            " from (values "
            + ", ".join(f"({i}, {n}, {d})" for i, (n, d) in enumerate(DIVIDE_CASES))
            + ") as t(i, n, d)",
            "select 'instant', i, cast({{ default__unix_to_timestamptz('u') }} = {{ duckdb__unix_to_timestamptz('u') }}"
            " or ({{ default__unix_to_timestamptz('u') }} is null and u = 0) as varchar)"
            " from (values " + ", ".join(f"({i}, {u})" for i, u in enumerate(instants)) + ") as t(i, u)",
            "select 'day', i, cast({{ default__business_date(duckdb__unix_to_timestamptz('u')) }} as varchar)"
            " from (values " + ", ".join(f"({i}, {u})" for i, u in enumerate(instants)) + ") as t(i, u)",
            "select 'local', i, cast({{ default__business_local_time(duckdb__unix_to_timestamptz('u')) }}"
            " = {{ duckdb__business_local_time(duckdb__unix_to_timestamptz('u')) }} as varchar)"
            " from (values " + ", ".join(f"({i}, {u})" for i, u in enumerate(instants[1:])) + ") as t(i, u)",
            "select 'day_start', 0, cast({{ default__business_day_start(\"cast('2026-03-01' as date)\") }}"
            " = {{ duckdb__unix_to_timestamptz(start) }} as varchar)".replace(
                "{{ duckdb__unix_to_timestamptz(start) }}", f"to_timestamp({start})"
            ),
            "select 'json', 0, {{ default__json_text(\"'[{\\\"warehouse_id\\\": \\\"WH01\\\"}]'\", '$[0].warehouse_id') }}",
            "select 'null_eq', 0, cast({{ default__null_safe_equal('null', 'null') }}"
            " and not {{ default__null_safe_equal('1', 'null') }} as varchar)",
            "select 'days', 0, cast(count(*) as varchar) from ({{ default__day_series(\"cast('2026-02-27' as date)\","
            " \"cast('2026-03-02' as date)\") }}) as s",
            "select 'double', 0, cast(typeof(cast(1 as {{ default__type_double() }})) as varchar)",
            "select 'engine', 0, '{{ default__keyed_incremental_materialization() }} {{ default__keyed_incremental_strategy() }}"
            ' {{ default__day_incremental_key("date_day", ["shop_id", "date_day"]) }}'
            ' {{ default__snapshots_supported() }} {{ spark__day_incremental_key("date_day", ["shop_id", "date_day"]) | join("+") }}\'',
        ]
    )
    got = _show_empty(dbt_helpers, tmp_path, sql)
    for i, (amount, rate) in enumerate(fee_cases):
        assert int(got[("fee", i)]) == rate_of(amount, rate), (amount, rate)
        assert Decimal(got[("yuan", i)]) == fen_to_yuan(amount), amount
    for i, (n, d) in enumerate(DIVIDE_CASES):
        assert int(got[("div", i)]) == _half_up(n, d), (n, d)
        assert int(got[("div_default", i)]) == _half_up(n, d), (n, d)
    assert all(got[("instant", i)] == "true" for i in range(len(instants)))
    assert [got[("day", i)] for i in range(1, 5)] == ["2026-02-28", "2026-03-01", "2026-03-01", "2026-03-02"]
    assert all(got[("local", i)] == "true" for i in range(len(instants) - 1))
    assert got[("day_start", 0)] == "true"
    assert got[("json", 0)].strip('"') == "WH01"  # DuckDB's json_value keeps the JSON quotes; PostgreSQL's does not
    assert got[("null_eq", 0)] == "true"
    assert got[("days", 0)] == "4"
    assert got[("double", 0)] == "DOUBLE"
    assert got[("engine", 0)] == "incremental delete+insert date_day True shop_id+date_day"
