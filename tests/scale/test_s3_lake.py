"""The lake on an object store: ``DOUYIN_LAKE_DIR=s3://<bucket>/lake`` against a moto S3 server.

The same small world (2 shops, 20 orders/day, 10 days so settlements exist) runs through ``run_range``
(extract from the mock Open API and the file drops -> landing gate -> dbt build -> mart gate -> publish)
once on the S3 lake and once on a local lake. The S3 run takes its credentials and endpoint from the
Airflow connection ``douyin_lake`` (``AIRFLOW_CONN_DOUYIN_LAKE``), while the environment points at a
dead endpoint: the run only succeeds if the connection is what the extractors, gates and dbt use.

Asserted: the objects under the expected keys, no local lake, equal marts (every table, EXCEPT ALL
both ways), an idempotent rerun of one day (same objects, same Parquet bytes, no leftovers), ``sweep``
and the quarantine on S3, and that the secret appears in no log record, no file of the run, no S3
object. ``test_timings_s3_vs_local`` records the step times (``--junitxml``, ``junit_family=legacy``).
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pytest
from mart_compare import compare_marts

pytestmark = [pytest.mark.scale, pytest.mark.slow]

START = date(2026, 10, 1)
DAYS = 10  # settlement bills start on day 9
END = START + timedelta(days=DAYS - 1)
WORLD = {"seed": 5, "start": START, "days": DAYS, "shops": 2, "orders_per_day": 20}
BUCKET = "douyin-lake-test"
SECRET = f"s3-secret-{uuid.uuid4().hex}"  # distinctive: searched for in logs, files and objects


@dataclass
class Run:
    """One ``run_range`` over the world: its result, base dir, timings and every log record it made."""

    base: Path
    lake: str
    result: object = None
    seconds: dict[str, float] = field(default_factory=dict)
    records: list[str] = field(default_factory=list)


class _Collect(logging.Handler):
    def __init__(self, into: list[str]) -> None:
        super().__init__(logging.DEBUG)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        self.into.append(f"{record.name} {record.getMessage()} {record.exc_text or ''}")


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    from douyin_sim.simulator import generate_world

    out = tmp_path_factory.mktemp("s3world") / "world"
    generate_world(out=out, **WORLD)
    return out


def _run_range(world: Path, base: Path, lake: str, pipeline_env, extra_env: dict[str, str]) -> Run:
    """``run_range`` over the whole world with the lake at ``lake``; collects logs and step timings."""
    import airflow.sdk.bases.hook  # noqa: F401 - Airflow replaces the root log handlers on import: first

    from douyin_etl.orchestration import steps
    from douyin_etl.orchestration.local_airflow import api_connection_env
    from douyin_etl.orchestration.run import run_range
    from douyin_sim.mock_api import MockServer

    run = Run(base, lake)
    mp = pipeline_env(world, base)
    mp.setenv("DOUYIN_LAKE_DIR", lake)
    for k, v in extra_env.items():
        mp.setenv(k, v)
    handler = _Collect(run.records)
    root, ours = logging.getLogger(), logging.getLogger("douyin_etl")
    levels = (root.level, ours.level)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    ours.setLevel(logging.DEBUG)  # includes dbt's own output (logged line by line at DEBUG)
    try:
        with MockServer(world) as mock:
            for k, v in api_connection_env(mock.base_url, "demo_app_key", "demo_app_secret_change_me").items():
                mp.setenv(k, v)
            t0 = time.monotonic()
            run.result = run_range(START, END)
            run.seconds["total"] = time.monotonic() - t0
        recorded = steps.read_steps(run.result.run_id)
        run.seconds["extract"] = sum(s["seconds"] for k, s in recorded.items() if k.startswith("extract."))
        for name in ("landing_gate", "build_audit", "mart_gate"):
            run.seconds[name] = recorded.get(name, {}).get("seconds", 0.0)
    finally:
        root.removeHandler(handler)
        root.setLevel(levels[0])
        ours.setLevel(levels[1])
        mp.undo()
    assert run.result.ok, run.result.summary()
    return run


@pytest.fixture(scope="module")
def s3_lake(moto_s3) -> str:
    moto_s3.make_bucket(BUCKET)
    return f"s3://{BUCKET}/lake"


@pytest.fixture(scope="module")
def s3_env(moto_s3) -> dict[str, str]:
    """Credentials only in the Airflow connection; the plain env points at a dead endpoint."""
    conn = {
        "conn_type": "aws",
        "login": moto_s3.key,
        "password": SECRET,
        "extra": {"endpoint_url": moto_s3.endpoint_url, "region_name": moto_s3.region, "addressing_style": "path"},
    }
    return {
        "AIRFLOW_CONN_DOUYIN_LAKE": json.dumps(conn),
        "AWS_ACCESS_KEY_ID": "not-this-key",
        "AWS_SECRET_ACCESS_KEY": "not-this-secret",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "DOUYIN_S3_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_REGION": moto_s3.region,
    }


@pytest.fixture(scope="module")
def s3_run(world, s3_lake, s3_env, pipeline_env, tmp_path_factory, monkeypatch_module) -> Run:
    base = tmp_path_factory.mktemp("s3run")
    monkeypatch_module.chdir(base)  # a mistaken local write of "s3://…" would land here as ./s3:/…
    return _run_range(world, base, s3_lake, pipeline_env, s3_env)


@pytest.fixture(scope="module")
def local_run(world, pipeline_env, tmp_path_factory) -> Run:
    base = tmp_path_factory.mktemp("localrun")
    return _run_range(world, base, str(base / "lake"), pipeline_env, {})


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def _objects(moto_s3, prefix: str = "lake/") -> dict[str, str]:
    """key -> ETag of every object under ``prefix`` in the test bucket."""
    out: dict[str, str] = {}
    for page in moto_s3.client().get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        out.update({o["Key"]: o["ETag"] for o in page.get("Contents", [])})
    return out


def test_extract_lands_parquet_and_manifests_on_s3(s3_run, moto_s3):
    from douyin_etl.entities import ENTITIES

    keys = set(_objects(moto_s3))
    day_names = [f"dt={(START + timedelta(days=i)).isoformat()}" for i in range(DAYS)]
    for e in ENTITIES.values():
        for dt in day_names:
            for name in ("part-00000.parquet", "_manifest.json"):
                assert f"lake/{e.landing_dir}/{dt}/{name}" in keys, f"missing {e.name} {dt} {name}"
    assert any(k.startswith("lake/_meta/ingested/settlement_bill/") for k in keys)  # the file ledger
    assert not [k for k in keys if "/.tmp-" in k or "/.old-" in k]
    manifest = json.loads(
        moto_s3.client()
        .get_object(Bucket=BUCKET, Key=f"lake/raw/backoffice/settlement_bill/dt={END}/_manifest.json")["Body"]
        .read()
    )
    assert manifest["run_id"] == s3_run.result.run_id and manifest["rows"] > 0
    # Nothing of the lake on the local disk: not the lake root, not an "s3:" directory by mistake.
    assert not (s3_run.base / "lake").exists()
    assert not [p for p in s3_run.base.rglob("s3:*")]
    assert s3_run.result.landing_gate.ok and s3_run.result.mart_gate.ok


def test_marts_equal_row_for_row(s3_run, local_run):
    diffs = compare_marts(local_run.base / "warehouse" / "douyin.duckdb", s3_run.base / "warehouse" / "douyin.duckdb")
    assert len(diffs) >= 10
    differing = {t: d for t, d in diffs.items() if not d.equal}
    assert not differing, f"marts differ (local lake vs S3 lake): {differing}"
    counts = {t: d.left_rows for t, d in diffs.items()}
    # Non-trivial marts: sales, settlements (they start on day 9), stock, fulfilment.
    for t in (
        "sales.fct_order_lines",
        "finance.fin_settlement_lines",
        "inventory.inv_stock_daily",
        "performance.perf_fulfilment",
    ):
        assert counts[t] > 0, f"{t} is empty: the comparison would prove little"


def test_rerun_of_one_day_leaves_the_same_objects(s3_run, s3_lake, s3_env, world, pipeline_env, moto_s3):
    from douyin_etl.orchestration import run
    from douyin_etl.orchestration.local_airflow import api_connection_env
    from douyin_etl.storage import Storage
    from douyin_sim.mock_api import MockServer

    before = _objects(moto_s3)
    mp = pipeline_env(world, s3_run.base)
    mp.setenv("DOUYIN_LAKE_DIR", s3_lake)
    for k, v in s3_env.items():
        mp.setenv(k, v)
    try:
        with MockServer(world) as mock:
            for k, v in api_connection_env(mock.base_url, "demo_app_key", "demo_app_secret_change_me").items():
                mp.setenv(k, v)
            run.extract(run.plan_range("rerun-one-day", END, END))
        after = _objects(moto_s3)
        assert set(after) == set(before)
        changed = sorted(k for k in after if after[k] != before[k])
        # Only manifests of re-extracted partitions change (new run id and time); every Parquet is byte-equal.
        assert changed and all(k.endswith("/_manifest.json") and f"/dt={END}/" in k for k in changed), changed
        storage = Storage.lake()
        assert storage.sweep(storage.path("raw")) == 0
        leftover = storage.path("raw/doudian/shop_order", f".tmp-{uuid.uuid4().hex}-dt={END}", "part-00000.parquet")
        storage.write_bytes(leftover, b"interrupted upload")
        assert storage.sweep(storage.path("raw")) == 1
        assert _objects(moto_s3).keys() == after.keys()
    finally:
        mp.undo()


def test_secret_never_leaks(s3_run):
    assert s3_run.records, "no log records collected"
    leaked = [r for r in s3_run.records if SECRET in r]
    assert not leaked, leaked[:3]
    files = [p for p in s3_run.base.rglob("*") if p.is_file() and SECRET.encode() in p.read_bytes()]
    assert not files, files
    report = Path(s3_run.result.report_path)
    assert report.exists() and SECRET not in report.read_text(encoding="utf-8")
    text = "\n".join(s3_run.records)
    assert "landed shop_order dt=" in text and re.search(r"dbt\| .*Completed successfully", text)  # all collected


def test_secret_not_in_objects(s3_run, moto_s3):
    client = moto_s3.client()
    leaked = [
        k for k in _objects(moto_s3, "") if SECRET.encode() in client.get_object(Bucket=BUCKET, Key=k)["Body"].read()
    ]
    assert not leaked, leaked


def test_timings_s3_vs_local(s3_run, local_run, record_property):
    """Landing and dbt time on the moto lake vs the local lake (reported, loosely bounded)."""
    for name in ("total", "extract", "landing_gate", "build_audit", "mart_gate"):
        record_property(f"s3_{name}_s", round(s3_run.seconds[name], 1))
        record_property(f"local_{name}_s", round(local_run.seconds[name], 1))
    both = {k: (round(s3_run.seconds[k], 1), round(local_run.seconds[k], 1)) for k in s3_run.seconds}
    logging.getLogger(__name__).warning("seconds (S3, local): %s", both)
    assert s3_run.seconds["total"] < 10 * local_run.seconds["total"]


def test_quarantine_writes_and_summarises_on_s3(s3_lake, s3_env, moto_s3, monkeypatch):
    """Bad rows kept aside on S3: added twice in one run (the file is their union), then summarised."""
    from douyin_etl.lake_credentials import storage_options
    from douyin_etl.landing.quarantine import Quarantine, summary
    from douyin_etl.storage import Storage

    for k, v in s3_env.items():
        monkeypatch.setenv(k, v)
    st = Storage(f"s3://{BUCKET}/quarantine-test", storage_options())
    q = Quarantine("run-q", st)
    bad = [
        {
            "reason": "unparseable amount",
            "column": "settle_amount",
            "value": "12,3",
            "source_ref": "f.csv:2",
            "raw": {"settle_amount": "12,3"},
        }
    ]
    path = q.add("settlement_bill", END, bad)
    q2 = Quarantine("run-q", st)
    q2.add("settlement_bill", END, bad + [{**bad[0], "source_ref": "f.csv:3"}])
    assert path == f"s3://{BUCKET}/quarantine-test/quarantine/backoffice/settlement_bill/dt={END}/run-q.parquet"
    assert summary("run-q", st) == [
        {
            "source": "backoffice",
            "entity": "settlement_bill",
            "reason": "unparseable amount",
            "rows": 2,
            "days": [END.isoformat()],
        }
    ]
    assert [k for k in _objects(moto_s3, "quarantine-test/")] == [path.removeprefix(f"s3://{BUCKET}/")]
