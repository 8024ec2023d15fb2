"""Rebuilding the past through ``run_range``: a past day rebuilt, a file re-dropped with fewer rows.

One 14-day world (2 shops, 20 orders/day; settlement bills start on day 11) is run forward once over
the whole range; its published marts are kept as the reference. Then, on the same lake and warehouse:

- rebuilding one past day (``run_range(D, D)``) publishes marts that keep every later day: every mart
  equals the forward build row for row (the horizon never moves backwards, issue 12 point 5);
- a settlement file re-dropped with fewer rows (the merchant downloads the day's 结算账单 again) replaces
  exactly that day's rows: ``fin_settlement_lines`` loses exactly the removed bills, the mart gate passes
  and the run publishes (issue 12 point 4).

The drops are a copy of the simulator's full drops; only the content of one file is replaced.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.slow

START = date(2026, 10, 1)
DAYS = 14
END = START + timedelta(days=DAYS - 1)
PAST_DAY = date(2026, 10, 8)  # rebuilt alone: six later days must stay in every mart
REDROP_DAY = date(2026, 10, 13)  # its settlement file is dropped again with fewer rows (day 14 is later)
REDROP_FILE = f"结算账单_1000001_{REDROP_DAY:%Y%m%d}.csv"
REMOVED_ROWS = 2
MART_SCHEMAS = ("sales", "finance", "inventory", "performance")


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    from douyin_sim.simulator import generate_world

    out = tmp_path_factory.mktemp("rebuild_world") / "world"
    generate_world(out=out, seed=7, start=START, days=DAYS, shops=2, orders_per_day=20)
    return out


@pytest.fixture(scope="module")
def env(world, tmp_path_factory, pipeline_env):
    base = tmp_path_factory.mktemp("rebuild_run")
    shutil.copytree(world / "drops", base / "drops")  # the tests below rewrite one file of this copy
    mp = pipeline_env(world, base)
    mp.setenv("DOUYIN_DROPS_DIR", str(base / "drops"))
    yield base
    mp.undo()


def _run(world: Path, start: date, end: date):
    from douyin_etl.orchestration.local_airflow import api_connection_env
    from douyin_etl.orchestration.run import run_range
    from douyin_sim.mock_api import MockServer

    mp = pytest.MonkeyPatch()
    with MockServer(world) as mock:
        for k, v in api_connection_env(mock.base_url, "demo_app_key", "demo_app_secret_change_me").items():
            mp.setenv(k, v)
        try:
            return run_range(start, end)
        finally:
            mp.undo()


@pytest.fixture(scope="module")
def forward(world, env) -> Path:
    """The forward run over the whole range; returns a copy of its published warehouse (the reference)."""
    from douyin_etl import config

    r = _run(world, START, END)
    assert r.ok, r.summary()
    reference = env / "forward.duckdb"
    shutil.copyfile(config.warehouse_path(), reference)
    return reference


def _mart_tables(db: Path) -> list[str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
            f"AND table_schema IN {MART_SCHEMAS} ORDER BY 1"
        ).fetchall()
    finally:
        con.close()
    return [r[0] for r in rows]


def _diff(left: Path, right: Path, tables: list[str]) -> dict[str, tuple[int, int, int, int]]:
    """table -> (rows left, rows right, rows only left, rows only right) across two warehouses.

    Floating-point columns (averages, rates) are compared rounded to 9 digits: their last bits depend
    on the summation order of parallel aggregation, not on the data."""
    con = duckdb.connect()
    out: dict[str, tuple[int, int, int, int]] = {}
    try:
        con.execute(f"ATTACH '{left}' AS l (READ_ONLY)")
        con.execute(f"ATTACH '{right}' AS r (READ_ONLY)")
        for t in tables:
            columns = con.execute(f"DESCRIBE l.{t}").fetchall()
            select = ", ".join(
                f'round("{c}", 9)' if ctype in ("DOUBLE", "FLOAT") else f'"{c}"' for c, ctype, *_ in columns
            )
            out[t] = tuple(
                con.execute(f"""
                SELECT (SELECT count(*) FROM l.{t}), (SELECT count(*) FROM r.{t}),
                       (SELECT count(*) FROM (SELECT {select} FROM l.{t} EXCEPT ALL SELECT {select} FROM r.{t})),
                       (SELECT count(*) FROM (SELECT {select} FROM r.{t} EXCEPT ALL SELECT {select} FROM l.{t}))""").fetchone()
            )
    finally:
        con.close()
    return out


def _query(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_rebuilding_a_past_day_keeps_every_later_day(world, env, forward):
    from douyin_etl import config

    tables = _mart_tables(forward)
    assert "finance.fin_pnl_daily" in tables and "finance.fin_order_reconciliation" in tables
    (later_days,) = _query(forward, f"SELECT count(*) FROM finance.fin_pnl_daily WHERE date_day > DATE '{PAST_DAY}'")[0]
    assert later_days > 0

    r = _run(world, PAST_DAY, PAST_DAY)
    assert r.ok, r.summary()
    published = config.warehouse_path()
    diff = _diff(published, forward, tables)
    changed = {t: d for t, d in diff.items() if d[0] != d[1] or d[2] or d[3]}
    assert not changed, (
        f"marts that differ from the forward build (rows, reference rows, only rebuilt, only reference): {changed}"
    )
    (as_of,) = _query(published, "SELECT max(as_of_date) FROM finance.fin_order_reconciliation")[0]
    assert as_of == END

    # the run records both its interval and the horizon it published
    report = json.loads(Path(r.report_path).read_text(encoding="utf-8"))
    build = next(s for s in report["steps"] if s["name"] == "build_audit")
    assert build["details"]["as_of"] == END.isoformat()
    (meta,) = _query(published, f"SELECT meta FROM _meta.publish_log WHERE run_id = '{r.run_id}'")[0]
    meta = json.loads(meta)
    assert (meta["start"], meta["end"], meta["as_of"]) == (PAST_DAY.isoformat(), PAST_DAY.isoformat(), END.isoformat())


def _redrop_with_fewer_rows(path: Path, removed: int) -> list[str]:
    """Rewrite the drop ``path`` (a GBK CSV) without its last ``removed`` data rows; return their 结算单号."""
    raw = path.read_bytes()
    text = raw.decode("gbk")
    lines = text.split("\r\n")
    while lines and not lines[-1]:
        lines.pop()
    header, rows = lines[0], lines[1:]
    assert len(rows) > removed, f"{path} has only {len(rows)} rows"
    kept, dropped = rows[:-removed], rows[-removed:]
    key_index = next(csv.reader([header])).index("结算单号")
    request_nos = [next(csv.reader(io.StringIO(line)))[key_index] for line in dropped]
    path.write_bytes(("\r\n".join([header, *kept]) + "\r\n").encode("gbk"))
    return request_nos


def test_redropped_settlement_file_with_fewer_rows_replaces_its_day(world, env, forward):
    from douyin_etl import config

    published = config.warehouse_path()
    (before,) = _query(published, "SELECT count(*) FROM finance.fin_settlement_lines")[0]
    (pnl_before,) = _query(published, "SELECT count(*) FROM finance.fin_pnl_daily")[0]
    removed = _redrop_with_fewer_rows(env / "drops" / REDROP_DAY.isoformat() / REDROP_FILE, REMOVED_ROWS)
    assert len(removed) == REMOVED_ROWS
    in_mart = ", ".join(f"'{k}'" for k in removed)
    assert (
        _query(published, f"SELECT count(*) FROM finance.fin_settlement_lines WHERE request_no IN ({in_mart})")[0][0]
        == REMOVED_ROWS
    )

    r = _run(world, REDROP_DAY, REDROP_DAY)
    assert r.ok, r.summary()
    assert r.mart_gate.ok
    after, still_there, later = _query(
        published,
        f"""
        SELECT count(*), count(*) FILTER (WHERE request_no IN ({in_mart})),
               count(*) FILTER (WHERE source_dt > DATE '{REDROP_DAY}')
        FROM finance.fin_settlement_lines""",
    )[0]
    assert (after, still_there) == (before - REMOVED_ROWS, 0)
    assert later > 0  # the later day's bills stayed
    assert _query(published, "SELECT count(*) FROM finance.fin_pnl_daily")[0][0] == pnl_before
