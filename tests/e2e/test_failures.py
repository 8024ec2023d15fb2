"""Crash safety and bad batches, end to end (issue 5).

One small generated world (12 business days × 2 shops × 30 orders/day: settlement bills start on day
10, T+7 after receipt) is published once by a clean ``run_range``; its sha256 is recorded. Then:

- a bad batch (a settlement file without a required column, a negative fee, bad rows over the
  quarantine threshold) blocks publishing: the published warehouse stays byte-identical, the run is
  not ``published`` and its report says why;
- ``python -m douyin_etl run`` SIGKILLed (whole process group) during the dbt build, during the
  publish copy and right after the rename of the published file: the published warehouse stays
  readable and whole, the version read names the run whose data is published, the dead run's writer
  lease does not block the rerun, and the rerun publishes marts without duplicates that equal the
  world's truth.

Each bad-batch test edits one drop file and restores its bytes afterwards.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import duckdb
import psutil
import pytest
from bad_drops import bad_drop  # tests/e2e/bad_drops.py

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
START = date(2026, 10, 1)
DAYS = 12
LAST = START + timedelta(days=DAYS - 1)
BAD_DAY = LAST  # has a 结算账单 CSV per shop (settlement starts on day 10 in this world)


# -- fixtures --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    from douyin_sim.simulator import generate_world

    out = tmp_path_factory.mktemp("fworld") / "world"
    generate_world(out=out, seed=11, start=START, days=DAYS, shops=2, orders_per_day=30)
    return out


@pytest.fixture(scope="module")
def env(world, tmp_path_factory, pipeline_env) -> Iterator[Path]:
    from douyin_etl.orchestration.local_airflow import api_connection_env
    from douyin_sim.mock_api import MockServer

    base = tmp_path_factory.mktemp("failures")
    mp = pipeline_env(world, base)
    for k in (
        "DOUYIN_WRITER_LEASE_GRACE_SECONDS",
        "DOUYIN_TEST_PUBLISH_PAUSE_BEFORE_RENAME",
        "DOUYIN_TEST_PUBLISH_PAUSE_AFTER_RENAME",
        "DOUYIN_QUARANTINE_THRESHOLD",
        "DOUYIN_QUARANTINE_FLOOR",
    ):
        mp.delenv(k, raising=False)
    with MockServer(world) as mock:
        for k, v in api_connection_env(mock.base_url, "demo_app_key", "demo_app_secret_change_me").items():
            mp.setenv(k, v)
        yield base
    mp.undo()


@pytest.fixture(scope="module")
def published(world, env) -> dict:
    """The first, clean publish of the whole world: its sha256, run id and mart row counts."""
    from douyin_etl import config
    from douyin_etl.orchestration.run import run_range

    r = run_range(START, LAST)
    assert r.ok, r.summary()
    wh = config.warehouse_path()
    assert _gmv_by_shop_day(wh) == _truth_gmv(world)
    return {"sha": sha256(wh), "run_id": r.run_id, "counts": _mart_counts(wh)}


# -- helpers ---------------------------------------------------------------------------------
def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _query(wh: Path | None, sql: str) -> list[tuple]:
    con = duckdb.connect(str(wh), read_only=True) if wh else duckdb.connect()
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _gmv_by_shop_day(wh: Path) -> dict[tuple[str, str], int]:
    rows = _query(
        wh,
        "SELECT shop_id::VARCHAR, date_day::VARCHAR, CAST(round(sum(gmv_yuan) * 100) AS BIGINT) "
        "FROM sales.sales_daily GROUP BY ALL",
    )
    return {(s, d): int(g) for s, d, g in rows if g}


def _truth_gmv(world: Path) -> dict[tuple[str, str], int]:
    with open(world / "truth" / "daily_sales.csv", encoding="utf-8") as fh:
        return {(r["shop_id"], r["date"]): int(r["gmv_fen"]) for r in csv.DictReader(fh) if int(r["gmv_fen"])}


def _mart_counts(wh: Path) -> dict[str, tuple[int, int]]:
    """(rows, distinct keys) of the two line-level marts."""
    out = {}
    for table, key in (("sales.fct_order_lines", "sku_order_id"), ("finance.fin_settlement_lines", "request_no")):
        out[table] = tuple(_query(wh, f"SELECT count(*), count(DISTINCT {key}) FROM {table}")[0])
    return out


def _assert_published_is(wh: Path, sha: str, run_id: str) -> None:
    """Byte-identical, readable, and still the version of ``run_id``."""
    assert sha256(wh) == sha
    assert _query(wh, "SELECT count(*) FROM sales.fct_order_lines")[0][0] > 0
    assert json.loads(wh.with_name(wh.stem + ".version.json").read_text())["run_id"] == run_id


def _settlement_csv(world: Path, day: date) -> Path:
    files = sorted((world / "drops" / day.isoformat()).glob(f"结算账单_*_{day:%Y%m%d}.csv"))
    assert files, f"no settlement CSV in the drops of {day}"
    return files[0]


def _bad_day_run():
    from douyin_etl.orchestration.run import run_range

    r = run_range(BAD_DAY, BAD_DAY)
    report = json.loads(Path(r.report_path).read_text(encoding="utf-8"))
    return r, report


# -- bad batches -----------------------------------------------------------------------------
def test_a_settlement_file_without_a_required_column_fails_the_run(world, env, published):
    from douyin_etl import config

    bad = _settlement_csv(world, BAD_DAY)

    def drop_column(rows: list[list[str]]) -> None:
        i = rows[0].index("结算金额")
        for row in rows:
            del row[i]

    with bad_drop(bad, drop_column):
        r, report = _bad_day_run()
    assert r.status == "failed" and report["status"] == "failed"
    assert "FileIngestError" in r.error and "结算金额" in r.error and bad.name in r.error, r.error
    assert any("结算金额" in e and bad.name in e for e in report["errors"]), report["errors"]
    assert "publish" not in {s["name"] for s in report["steps"] if s["status"] == "ok"}
    _assert_published_is(config.warehouse_path(), published["sha"], published["run_id"])


def test_a_negative_fee_is_blocked_by_the_landing_gate_and_quarantined(world, env, published):
    from douyin_etl import config

    bad = _settlement_csv(world, BAD_DAY)
    state: dict = {}

    def negative_fee(rows: list[list[str]]) -> None:
        h = rows[0]
        fee, kind = h.index("平台服务费"), h.index("交易类型")
        n = next(i for i, row in enumerate(rows) if i and row[kind] == "已结算" and float(row[fee]) > 0)
        rows[n][fee] = "-" + rows[n][fee]
        state.update(request_no=rows[n][h.index("结算单号")].strip(), line=n + 1)

    with bad_drop(bad, negative_fee):
        r, report = _bad_day_run()
    assert r.status == "blocked" and report["status"] == "blocked", r.summary()
    assert report["gates"]["landing"]["ok"] is False
    assert "landing gate failed" in r.error and "settlement_bill" in r.error, r.error
    assert any("platform_service_fee >= 0" in e for e in report["errors"]), report["errors"]  # the reason
    _assert_published_is(config.warehouse_path(), published["sha"], published["run_id"])
    # `douyin-etl status` of the blocked run: not published, its landing gate blocked by the fee check
    from douyin_etl.access.status import collect_status, render_status

    checks = report["gates"]["landing"]["checks"]
    failing = [c for c in checks if not c["success"]]
    assert any(c.get("column") == "platform_service_fee" and c["severity"] == "error" for c in failing), failing
    status = collect_status(limit=50)
    st = {x["run_id"]: x for x in status["runs"]}[r.run_id]
    assert st["published"] is False and st["status"] == "blocked"
    assert st["gates"] == {"landing": f"blocked ({len(failing)}/{len(checks)} failing)"}
    assert f"landing: blocked ({len(failing)}/{len(checks)} failing)" in render_status(status)
    qdir = Path(config.lake_root()) / "quarantine" / "backoffice" / "settlement_bill" / f"dt={BAD_DAY}"
    files = sorted(qdir.glob(f"{r.run_id}*.parquet"))
    assert files, f"nothing quarantined under {qdir}"
    rows = _query(
        None,
        f'SELECT reason, "column", value, source_ref, raw FROM read_parquet({[str(f) for f in files]}) '
        "WHERE \"column\" = 'platform_service_fee'",
    )
    assert rows, "the negative platform_service_fee row is not in quarantine"
    reason, _col, value, source_ref, raw = rows[0]
    assert "platform_service_fee" in reason and int(float(value)) < 0
    assert bad.name in source_ref and state["request_no"] in raw


def test_bad_rows_over_the_quarantine_threshold_fail_the_file(world, env, published, monkeypatch):
    """Duplicated 结算单号 rows are *not* a blocking error by themselves: the landing writer keeps one row
    per entity key (last written wins) and counts the rest in the partition manifest
    (``duplicates_removed``). The blocking rule the pipeline has for a bad batch of rows is the
    quarantine threshold: when the share of rows of one file whose cells do not convert is above
    ``DOUYIN_QUARANTINE_THRESHOLD__SETTLEMENT_BILL`` (default ``DOUYIN_QUARANTINE_THRESHOLD``, 1 %),
    the whole file fails with ``FileIngestError`` (nothing of it lands) and the run fails — once it
    also has more bad rows than the floor (``DOUYIN_QUARANTINE_FLOOR``, default 3; 0 here, as the
    day's file is small). Here: the file gets extra copies of its own rows (same 结算单号) with an
    amount that is not a number."""
    from douyin_etl import config

    monkeypatch.setenv("DOUYIN_QUARANTINE_THRESHOLD__SETTLEMENT_BILL", "0.2")
    monkeypatch.setenv("DOUYIN_QUARANTINE_FLOOR__SETTLEMENT_BILL", "0")
    bad = _settlement_csv(world, BAD_DAY)
    state: dict = {}

    def duplicates_with_bad_amounts(rows: list[list[str]]) -> None:
        amount = rows[0].index("结算金额")
        body = rows[1:]
        extra = [list(r) for r in body[: max(3, len(body) // 2)]]
        for r in extra:
            r[amount] = "二百零六元"
        rows.extend(extra)
        state.update(bad=len(extra), total=len(body) + len(extra))

    with bad_drop(bad, duplicates_with_bad_amounts):
        r, report = _bad_day_run()
    assert state["bad"] / state["total"] > 0.2
    assert r.status == "failed" and report["status"] == "failed"
    assert f"{state['bad']} of {state['total']} rows are bad" in r.error and "threshold 20.0%" in r.error, r.error
    assert bad.name in r.error and "DOUYIN_QUARANTINE_THRESHOLD__SETTLEMENT_BILL" in r.error
    assert any(bad.name in e for e in report["errors"])
    _assert_published_is(config.warehouse_path(), published["sha"], published["run_id"])


# -- SIGKILL of a whole CLI run --------------------------------------------------------------
def _cli_run(day: date, log_path: Path, **extra_env: str) -> subprocess.Popen:
    env = {**os.environ, **extra_env, "PYTHONUNBUFFERED": "1"}
    log = open(log_path, "wb")  # noqa: SIM115 - closed by the child's exit; the parent keeps no handle
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "douyin_etl", "run", "--start", day.isoformat(), "--end", day.isoformat()],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    finally:
        log.close()


def _wait_for(what: str, cond, proc: subprocess.Popen, log_path: Path, timeout: float = 240.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = cond()
        if got:
            return got
        if proc.poll() is not None:
            pytest.fail(f"the run ended ({proc.returncode}) before {what}; log:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    pytest.fail(f"timed out waiting for {what}; log:\n{log_path.read_text()[-3000:]}")


def _dbt_child(proc: subprocess.Popen) -> psutil.Process | None:
    try:
        for child in psutil.Process(proc.pid).children(recursive=True):
            with contextlib.suppress(psutil.Error):
                if any("dbt" in Path(part).name for part in child.cmdline()[:2]):
                    return child
    except psutil.NoSuchProcess:
        return None
    return None


def _kill_group(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL


def _rerun_and_check(
    world: Path,
    wh: Path,
    log_path: Path,
    killed_run: str,
    published: dict,
    lease_note: str = "takes over the writer lease",
    **env: str,
) -> None:
    """A rerun of the same day (a new run id) frees the dead run's lease (``lease_note`` in its log) and
    publishes correct marts."""
    proc = _cli_run(BAD_DAY, log_path, **({"DOUYIN_WRITER_LEASE_GRACE_SECONDS": "0"} | env))
    rc = proc.wait(timeout=400)
    log = log_path.read_text(errors="replace")
    assert rc == 0, log[-4000:]
    assert lease_note in log and killed_run in log, log[-4000:]
    assert not list(wh.parent.glob(f".tmp-*-{wh.name}")), "the leftover temp file was not swept"
    assert not (wh.with_name(wh.name + ".lease.json")).exists()
    version = json.loads(wh.with_name(wh.stem + ".version.json").read_text())
    assert version["run_id"] not in (killed_run, published["run_id"]) and version["sha256"] == sha256(wh)
    counts = _mart_counts(wh)
    for table, (rows, keys) in counts.items():
        assert rows == keys, f"{table}: {rows} rows but {keys} distinct keys"
    assert counts == published["counts"]  # nothing lost, nothing doubled
    assert _gmv_by_shop_day(wh) == _truth_gmv(world)


def test_sigkill_during_the_dbt_build_then_a_rerun_publishes(world, env, published, tmp_path):
    from douyin_etl import config
    from douyin_etl.warehousing import lock

    wh = config.warehouse_path()
    before, before_run = sha256(wh), json.loads(wh.with_name(wh.stem + ".version.json").read_text())["run_id"]
    log_path = tmp_path / "killed.log"
    proc = _cli_run(BAD_DAY, log_path)
    dbt = _wait_for("the dbt subprocess", lambda: _dbt_child(proc), proc, log_path)
    time.sleep(1.0)  # let dbt start writing the audit copy
    _kill_group(proc)
    with contextlib.suppress(psutil.Error):
        psutil.Process(dbt.pid).wait(timeout=10)
    assert not dbt.is_running() or dbt.status() == psutil.STATUS_ZOMBIE
    _assert_published_is(wh, before, before_run)
    lease = lock.read_lease(wh)
    assert lease is not None and lock.holder_alive(lease) is False  # the dead run's lease is left behind
    killed_run = lease.run_id
    assert (config.state_dir() / "runs" / killed_run / "dbt" / "dbt.log").exists()
    _rerun_and_check(world, wh, tmp_path / "rerun.log", killed_run, published)


def test_sigkill_during_the_publish_copy_then_a_rerun_publishes(world, env, published, tmp_path):
    from douyin_etl import config
    from douyin_etl.warehousing import lock

    wh = config.warehouse_path()
    before, before_run = sha256(wh), json.loads(wh.with_name(wh.stem + ".version.json").read_text())["run_id"]
    log_path = tmp_path / "killed.log"
    proc = _cli_run(BAD_DAY, log_path, DOUYIN_TEST_PUBLISH_PAUSE_BEFORE_RENAME="120")
    # the publish step has the lease; it pauses right before its rename (the audit file fsynced, or the
    # compacted copy written beside the warehouse)
    _wait_for(
        "the pause before the rename", lambda: "PAUSE_BEFORE_RENAME: pausing" in log_path.read_text(), proc, log_path
    )
    lease = lock.read_lease(wh)
    assert lease is not None and lease.step == "publish"
    audit = config.state_dir() / "runs" / lease.run_id / "audit.duckdb"
    _kill_group(proc)
    # the rename never happened: the run's audit file is still its own, and a compacting publish's
    # temp file is left half written beside the warehouse
    assert audit.exists() and wh.stat().st_ino != audit.stat().st_ino, "the kill was not before the rename"
    # the published file is a whole version (the old one: the rename never happened) and readable
    _assert_published_is(wh, before, before_run)
    lease = lock.read_lease(wh)
    assert lease is not None and lease.step == "publish" and lock.holder_alive(lease) is False
    _rerun_and_check(world, wh, tmp_path / "rerun.log", lease.run_id, published)


def test_sigkill_right_after_the_rename_then_the_version_names_the_published_run(world, env, published, tmp_path):
    """Killed between the rename and the version file: readers (``read_version``, ``status``) name the killed
    run, whose data is published; the next run starts at once (no lease grace) and rewrites the version file."""
    from douyin_etl import config
    from douyin_etl.access.status import collect_status
    from douyin_etl.warehousing import lock, wap

    wh = config.warehouse_path()
    before_ino = wh.stat().st_ino
    before_run = json.loads(wh.with_name(wh.stem + ".version.json").read_text())["run_id"]
    log_path = tmp_path / "killed.log"
    proc = _cli_run(BAD_DAY, log_path, DOUYIN_TEST_PUBLISH_PAUSE_AFTER_RENAME="120")
    _wait_for("the rename onto the published file", lambda: wh.stat().st_ino != before_ino, proc, log_path)
    _kill_group(proc)
    lease = lock.read_lease(wh)
    assert lease is not None and lease.step == "publish" and lock.holder_alive(lease) is False
    killed_run = lease.run_id
    assert json.loads(wh.with_name(wh.stem + ".version.json").read_text())["run_id"] == before_run  # the moment
    assert _query(wh, "SELECT run_id FROM _meta.publish_log ORDER BY published_at DESC LIMIT 1") == [(killed_run,)]
    assert wap.read_version(wh)["run_id"] == killed_run
    assert collect_status(limit=1)["version"]["run_id"] == killed_run
    _rerun_and_check(
        world,
        wh,
        tmp_path / "rerun.log",
        killed_run,
        published,
        lease_note="released the writer lease left by run",
        DOUYIN_WRITER_LEASE_GRACE_SECONDS="600",
    )
