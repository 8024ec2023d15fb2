"""Airflow DAG ``transform_warehouse``: data-triggered by the landed-entity Assets of the extract DAGs.

landing gate -> dbt build into the audit copy -> mart gate -> publish -> notify_findings -> report.
"""

from __future__ import annotations

from airflow.sdk import dag

from douyin_etl.orchestration import airflow_tasks as t
from douyin_etl.orchestration import schedules as s

DOC = """
### transform_warehouse
Builds the marts from the raw lake with **write-audit-publish** and publishes them atomically.

* **Schedule**: the Assets of every landed entity (all of them must have a new event), i.e. it runs
  once the three extract DAGs have landed a business day. The business days and partitions come from
  the triggering events' extras. Trigger manually with conf `{"start": "YYYY-MM-DD", "end": "YYYY-MM-DD"}`.
* **landing_gate** → **build_audit** (copy the warehouse, `dbt build` as a subprocess into the copy)
  → **mart_gate** → **publish** (atomic swap) → **notify_findings** (new stock-out risks and
  discrepancies to the alert channels) → **report**, the teardown of **plan** (always written, also for
  failed runs; a failed step fails the DAG run).
* **Alerts**: a task that fails for good (or a gate) and the findings go to the channels configured as
  Airflow connections `douyin_alert_*` (DingTalk, Feishu/Lark, WeCom, email; docs/deploy.md); silent
  when none is configured.
* Single writer: warehouse tasks run in pool `warehouse_writer` (1 slot), `max_active_runs=1`.
  Create the pool once: `airflow pools set warehouse_writer 1 "single DuckDB writer"`.
* A failed gate leaves the published warehouse untouched; the report says what failed.
"""


@dag(
    dag_id="transform_warehouse",
    schedule=s.all_assets(),
    start_date=s.start_date(),
    catchup=False,
    max_active_runs=1,
    default_args=s.DEFAULT_ARGS,
    tags=["douyin", "transform", "warehouse"],
    doc_md=DOC,
)
def transform_warehouse() -> None:
    plan = t.plan_from_assets.override(task_id="plan")()
    t.warehouse_steps(plan)


transform_warehouse()
