"""``douyin_daily`` on an Airflow cluster: PostgreSQL metadata, CeleryExecutor on Redis, REST-triggered.

Set-up (module fixtures): a 2-shop, 11-day world served by the mock Open API, of which the last two
business days are run (settlements arrive ~9 days after an order, so every mart has rows; the lake
starts empty at day 10 — the warehouse list is carried from day 1's drop); the embedded run of the
same two days (``run_range`` per business day, no scheduler) into one base dir; then a throwaway
PostgreSQL + Redis, ``airflow db migrate``, scheduler + dag-processor + api-server + one Celery worker
(``cluster_harness`` beside this file; the settings from ``douyin_etl.orchestration.cluster``) over
another base dir, the ``warehouse_writer`` pool created over REST, and one run per business day
triggered over ``/api/v2``.

Asserts: both runs succeed; every task instance ran through Celery (the result backend holds one
successful Celery task per task instance, the worker's log names them); the published marts equal the
embedded run's, table by table, row for row (``EXCEPT ALL`` both ways); the single-writer rule held
(the pool has one slot and the warehouse-writing task instances never overlap in time).

The cluster run's lake is ``s3://`` on a moto server whose credentials exist only in the Airflow
connection ``douyin_lake``, created over REST in the metadata DB (the workers' environment points
``AWS_*`` at a dead endpoint), so the marts' equality with the embedded run (local lake) also proves that
tasks on Celery workers read the lake's connection: the production shape, cluster + object store.

The scheduler runs with ``use_job_schedule=False`` so that only the two triggered runs exist
(``douyin_daily`` has ``catchup=True``: unpaused, it would otherwise create a run per day up to today).
"""

from __future__ import annotations

import csv
import json
import os
import secrets
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import cluster_harness as harness  # beside this file: the test-only process supervisor and REST client
import duckdb
import pytest
from mart_compare import compare_marts

pytestmark = [pytest.mark.scale, pytest.mark.slow]

DAG_ID = "douyin_daily"
START = date(2026, 10, 1)
WORLD = {"seed": 11, "start": START, "days": 11, "shops": 2, "orders_per_day": 20}
DAYS = [START + timedelta(days=9), START + timedelta(days=10)]  # the last two: settlements, fees, withdrawals
WRITER_TASKS = ("build_audit", "mart_gate", "publish")
RUN_TIMEOUT_S = 420
BUCKET = "douyin-cluster"
LAKE_SECRET = "cluster-lake-secret-never-logged"
ADMIN = "admin"


@dataclass
class Outcome:
    """What a set-up measured: its published warehouse and timings (seconds)."""

    base: Path
    warehouse: Path
    seconds: dict[str, float] = field(default_factory=dict)
    runs: dict[str, dict] = field(default_factory=dict)  # run id -> DagRun JSON (cluster only)
    task_instances: dict[str, list[dict]] = field(default_factory=dict)  # run id -> TIs (cluster only)
    all_runs: list[str] = field(default_factory=list)  # every run id of the DAG in the metadata DB
    pool: dict | None = None
    celery_successes: int = 0
    worker_log: str = ""
    lake_objects: list[str] = field(default_factory=list)  # keys in the S3 lake's bucket (cluster only)

    def figures(self) -> str:
        return json.dumps({k: round(v, 1) for k, v in self.seconds.items()})


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    from douyin_sim.simulator import Behaviour, generate_world

    out = tmp_path_factory.mktemp("cluster-world") / "world"
    # shops withdraw every day money is there, so the two days run on the cluster hold withdrawals (with
    # the weekly default, an early credit such as 平台赔付 moves the withdrawal before them)
    generate_world(out=out, **WORLD, behaviour=Behaviour(withdraw_every_days=1))
    return out


@pytest.fixture(scope="module")
def mock_api(world):
    """The mock Open API over ``world``, up for the whole module (the Celery worker's tasks call it)."""
    from douyin_sim.mock_api import MockServer

    with MockServer(world) as mock:
        yield mock


def _run_vars(world: Path, base: Path, pipeline_env, mock) -> dict[str, str]:
    """The DOUYIN_* / connection variables of a run over ``world`` into ``base`` (shared ``pipeline_env``)."""
    from douyin_etl import config
    from douyin_etl.orchestration.local_airflow import api_connection_env

    mp = pipeline_env(world, base)
    try:
        out = {k: v for k, v in os.environ.items() if k.startswith("DOUYIN_")}
    finally:
        mp.undo()
    out.update(DOUYIN_LOOKBACK_DAYS="0", DOUYIN_START_DATE=START.isoformat())
    out.update(api_connection_env(mock.base_url, config.DEMO_APP_KEY, config.DEMO_APP_SECRET))
    return out


@pytest.fixture(scope="module")
def embedded(world, mock_api, tmp_path_factory, pipeline_env) -> Outcome:
    """The embedded path: ``run_range`` for each business day in this process (no scheduler)."""
    from douyin_etl import config
    from douyin_etl.orchestration.run import run_range

    base = tmp_path_factory.mktemp("embedded")
    mp = pytest.MonkeyPatch()
    for k, v in _run_vars(world, base, pipeline_env, mock_api).items():
        mp.setenv(k, v)
    try:
        out = Outcome(base, config.warehouse_path())
        for day in DAYS:
            result = run_range(day, day)
            assert result.ok, result.summary()
            out.seconds[f"run {day}"] = result.seconds
    finally:
        mp.undo()
    (base / "figures.json").write_text(out.figures(), encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def on_cluster(world, mock_api, postgres, redis, moto_s3, tmp_path_factory, pipeline_env, embedded) -> Outcome:
    """Both business days through the cluster, triggered over REST, on an S3 lake; collects runs, TIs, pool,
    Celery results."""
    from services import free_port

    from douyin_etl.orchestration import cluster
    from douyin_etl.timeutil import day_start

    t_setup = time.monotonic()
    base = tmp_path_factory.mktemp("cluster")
    run_vars = _run_vars(world, base, pipeline_env, mock_api)
    run_vars["DOUYIN_LAKE_DIR"] = f"s3://{moto_s3.make_bucket(BUCKET)}/lake"
    run_vars.update(
        AWS_ACCESS_KEY_ID="not-this-key",
        AWS_SECRET_ACCESS_KEY="not-this-secret",
        AWS_ENDPOINT_URL="http://127.0.0.1:9",
        DOUYIN_S3_ENDPOINT_URL="http://127.0.0.1:9",
        AWS_REGION=moto_s3.region,
    )
    api_port = free_port()
    pg_result_backend = f"db+postgresql://{postgres.user}@127.0.0.1:{postgres.port}/{postgres.database}"
    env = cluster.cluster_env(
        sql_alchemy_conn=postgres.url,
        broker_url=redis.url(0),
        result_backend=pg_result_backend,
        home=base / "airflow",
        api_port=api_port,
        jwt_secret=cluster.generate_secret(),
        api_secret_key=cluster.generate_secret(),
        fernet_key=cluster.generate_fernet_key(),
        worker_log_server_port=free_port(),
        use_job_schedule=False,
    )
    password = secrets.token_urlsafe(16)
    harness.write_passwords_file(env, {ADMIN: password})
    out = Outcome(base, Path(run_vars["DOUYIN_WAREHOUSE"]))
    out.seconds["db migrate"] = harness.migrate(env)
    components = harness.Cluster(run_vars | env, base / "component-logs")
    api = harness.RestClient(f"http://127.0.0.1:{api_port}", ADMIN, password)
    try:
        t0 = time.monotonic()
        components.start()
        while not api.healthy():
            components.check_alive()
            assert time.monotonic() - t0 < 120, "api-server not healthy after 120 s"
            time.sleep(1)
        api.wait_for_dag(DAG_ID)
        out.seconds["components up + DAG parsed"] = time.monotonic() - t0
        api.ensure_pool()
        api.ensure_connection(
            "douyin_lake",
            conn_type="aws",
            login=moto_s3.key,
            password=LAKE_SECRET,
            extra={"endpoint_url": moto_s3.endpoint_url, "region_name": moto_s3.region, "addressing_style": "path"},
        )
        run_ids = []
        for day in DAYS:  # paused: both runs wait queued, then run in run_after order (max_active_runs=1)
            trigger = day_start(day + timedelta(days=1))
            run = api.trigger(
                DAG_ID,
                trigger,
                data_interval=(day_start(day), trigger),
                run_after=trigger,
                run_id=f"cluster__{day.isoformat()}",
            )
            run_ids.append(run["dag_run_id"])
        api.set_paused(DAG_ID, False)
        t1 = time.monotonic()
        out.runs = api.wait_for_runs(DAG_ID, run_ids, timeout=RUN_TIMEOUT_S, alive=components.check_alive)
        out.seconds["both runs, trigger to done"] = time.monotonic() - t1
        for rid, run in out.runs.items():
            out.seconds[f"run {rid}"] = (_ts(run["end_date"]) - _ts(run["start_date"])).total_seconds()
        out.task_instances = {rid: api.task_instances(DAG_ID, rid) for rid in run_ids}
        for rid, tis in out.task_instances.items():  # time inside task bodies vs the run's wall time
            out.seconds[f"sum of task durations {rid}"] = sum(t["duration"] or 0.0 for t in tis)
        out.all_runs = [r["dag_run_id"] for r in api.dag_runs(DAG_ID)]
        out.pool = api.pool("warehouse_writer")
        out.celery_successes = _celery_successes(postgres, sum(map(len, out.task_instances.values())))
    except Exception as exc:
        tails = "\n".join(
            f"---- {name} ({components.log_file(name)}) ----\n{components.tail(name, 2500)}"
            for name in harness.COMPONENTS
        )
        raise RuntimeError(f"the cluster run failed: {exc}\ncomponent log tails:\n{tails}") from exc
    finally:
        api.close()
        components.stop()
    out.worker_log = components.log_file("celery-worker").read_text(encoding="utf-8", errors="replace")
    out.lake_objects = [
        o["Key"]
        for page in moto_s3.client().get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
        for o in page.get("Contents", [])
    ]
    out.seconds["cluster set-up + runs"] = time.monotonic() - t_setup
    (base / "figures.json").write_text(out.figures(), encoding="utf-8")
    return out


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _celery_successes(postgres, expected: int, timeout: float = 60) -> int:
    """Successful Celery tasks in the result backend (``celery_taskmeta`` in Postgres).

    The worker stores a result just after the task instance reports success, so the last ones may
    trail the run's end: wait up to ``timeout`` for ``expected``.
    """
    import psycopg2

    deadline = time.monotonic() + timeout
    con = psycopg2.connect(host="127.0.0.1", port=postgres.port, user=postgres.user, dbname=postgres.database)
    try:
        con.autocommit = True
        while True:
            with con.cursor() as cur:
                cur.execute("SELECT count(*) FROM celery_taskmeta WHERE status = 'SUCCESS'")
                found = int(cur.fetchone()[0])
            if found >= expected or time.monotonic() > deadline:
                return found
            time.sleep(1)
    finally:
        con.close()


def test_both_rest_triggered_runs_succeed(on_cluster: Outcome, embedded: Outcome, record_property):
    record_property("cluster_seconds", on_cluster.figures())
    record_property("embedded_seconds", embedded.figures())
    assert sorted(on_cluster.all_runs) == sorted(on_cluster.runs)  # no catch-up runs: only the two triggered
    for rid, run in on_cluster.runs.items():
        failed = [
            f"{t['task_id']}[{t['map_index']}]={t['state']}"
            for t in on_cluster.task_instances[rid]
            if t["state"] != "success"
        ]
        assert run["state"] == "success", (rid, failed)
        assert run["run_type"] == "manual"
        assert not failed, failed
    first, second = (on_cluster.runs[r] for r in sorted(on_cluster.runs))
    assert _ts(second["start_date"]) >= _ts(first["end_date"])  # max_active_runs=1, business-day order


def test_every_task_instance_ran_on_the_celery_worker(on_cluster: Outcome):
    tis = [t for tis in on_cluster.task_instances.values() for t in tis]
    assert len(tis) >= 2 * 20  # plan, ~19 mapped extracts, gates, build, publish, report per run
    assert all(t["hostname"] and t["pid"] for t in tis)
    assert {t["queue"] for t in tis} == {"default"}
    # CeleryExecutor stores each task's result in the Postgres result backend: one per task instance.
    assert on_cluster.celery_successes == len(tis)
    assert on_cluster.worker_log.count("] succeeded in") == len(tis)  # "Task execute_workload[<id>] succeeded in …"


def test_published_marts_equal_the_embedded_run(on_cluster: Outcome, embedded: Outcome, world: Path):
    diffs = compare_marts(embedded.warehouse, on_cluster.warehouse)
    assert len(diffs) >= 25
    differing = {t: d for t, d in diffs.items() if not d.equal}
    assert not differing, f"marts differ (embedded vs cluster): {differing}"
    empty = {t for t, d in diffs.items() if d.left_rows == 0}
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{on_cluster.warehouse}' AS clu (READ_ONLY)")
        refunds = con.execute("SELECT count(*) FROM clu.sales.fct_refunds").fetchone()[0]
        days = ", ".join(f"DATE '{d}'" for d in DAYS)
        gmv = dict(
            con.execute(
                "SELECT shop_id::VARCHAR || '/' || date_day::VARCHAR, "
                "CAST(round(sum(gmv_yuan) * 100) AS BIGINT) FROM clu.sales.sales_daily "
                f"WHERE date_day IN ({days}) GROUP BY ALL HAVING sum(gmv_yuan) <> 0"
            ).fetchall()
        )
    finally:
        con.close()
    with open(world / "truth" / "daily_sales.csv", encoding="utf-8") as fh:
        truth = {
            f"{r['shop_id']}/{r['date']}": int(r["gmv_fen"])
            for r in csv.DictReader(fh)
            if int(r["gmv_fen"]) and r["date"] in {d.isoformat() for d in DAYS}
        }
    assert gmv == truth and len(truth) == 2 * len(DAYS)  # and both equal the simulator's truth, to the fen
    # settlements, fees, withdrawals included; a billed fee rate needs 2 bill rows of one category and due
    # day, which 2 days of 20 orders may not give (fin_platform_fee_rates is compared with the embedded run)
    assert not empty - {"finance.fin_platform_fee_rates"}, f"marts without rows: {sorted(empty)}"
    assert refunds > 0  # not only the happy path


def test_single_writer_pool_and_no_overlap(on_cluster: Outcome):
    assert on_cluster.pool is not None and on_cluster.pool["slots"] == 1
    writers = sorted(
        (_ts(t["start_date"]), _ts(t["end_date"]), t["task_id"], rid)
        for rid, tis in on_cluster.task_instances.items()
        for t in tis
        if t["task_id"] in WRITER_TASKS
    )
    assert len(writers) == 2 * len(WRITER_TASKS)
    assert {t["pool"] for tis in on_cluster.task_instances.values() for t in tis if t["task_id"] in WRITER_TASKS} == {
        "warehouse_writer"
    }
    for (_s1, e1, t1, r1), (s2, _e2, t2, r2) in zip(writers, writers[1:]):
        assert s2 >= e1, f"{t1} of {r1} and {t2} of {r2} overlapped ({s2} < {e1})"


def test_cluster_env_shares_secrets_and_keeps_the_api_off_the_worker_log_port(tmp_path):
    from douyin_etl.orchestration import cluster

    common = dict(
        sql_alchemy_conn="postgresql+psycopg2://airflow@db:5432/airflow",
        broker_url="redis://r:6379/0",
        result_backend="db+postgresql://airflow@db:5432/airflow",
        home=tmp_path,
        jwt_secret="j",
        api_secret_key="k",
    )
    env = cluster.cluster_env(api_port=8080, **common)
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:8080/execution/"
    assert (env["AIRFLOW__API_AUTH__JWT_SECRET"], env["AIRFLOW__API__SECRET_KEY"]) == ("j", "k")
    with pytest.raises(ValueError, match="log server"):
        cluster.cluster_env(api_port=cluster.WORKER_LOG_SERVER_PORT, **common)
    with pytest.raises(ValueError, match="PostgreSQL"):
        cluster.cluster_env(api_port=8080, **(common | {"sql_alchemy_conn": "sqlite:////tmp/a.db"}))


def test_the_cluster_lake_is_on_s3_through_the_airflow_connection(on_cluster: Outcome):
    """Every entity landed both days in the bucket (the workers read the ``douyin_lake`` connection from the
    metadata DB: the environment's AWS_* point at a dead endpoint), with nothing left half-written, and the
    connection's secret appears in no file of the cluster run (task logs, component logs, reports)."""
    from douyin_etl.entities import ENTITIES

    keys = set(on_cluster.lake_objects)
    for day in DAYS:
        for e in ENTITIES.values():
            prefix = f"lake/raw/{e.source}/{e.name}/dt={day}/"
            assert {prefix + "part-00000.parquet", prefix + "_manifest.json"} <= keys, prefix
    assert not [k for k in keys if "/.tmp-" in k or "/.old-" in k]
    assert not (on_cluster.base / "lake").exists()
    leaked = [p for p in on_cluster.base.rglob("*") if p.is_file() and LAKE_SECRET.encode() in p.read_bytes()]
    assert leaked == []
