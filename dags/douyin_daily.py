"""Airflow DAG ``douyin_daily``: the whole pipeline for one Asia/Shanghai business day in one run.

extract (three families in parallel task groups) -> landing gate -> dbt build (audit) -> mart gate
-> publish -> notify_findings -> report.
"""

from __future__ import annotations

from airflow.sdk import TaskGroup, dag

from douyin_etl import entities
from douyin_etl.orchestration import airflow_tasks as t
from douyin_etl.orchestration import schedules as s

DOC = """
### douyin_daily
The whole daily run for business day D (data interval [D 00:00+08, D+1 00:00+08)), in one DAG:

1. **extract** — task groups `platform`, `logistics`, `finance`, one mapped task per entity
   (same windows as the `extract_*` DAGs: look-back for event-partitioned API entities).
2. **landing_gate** over every partition this run landed.
3. **build_audit** — `dbt build` into a copy of the warehouse (pool `warehouse_writer`, 1 slot).
4. **mart_gate**, 5. **publish** (atomic swap), 6. **notify_findings**: new stock-out risks and new
   reconciliation discrepancies to the configured alert channels, 7. **report**: the teardown of
   **plan**, always written once every other task is done (a failed step fails the DAG run).

Alerts: every task that fails for good (or a gate) and the findings go to the channels configured as
Airflow connections `douyin_alert_dingtalk`, `douyin_alert_feishu`, `douyin_alert_wecom`,
`douyin_alert_email` (docs/deploy.md); nothing is sent when none exists.

**A range in one run**: trigger it manually with conf `{"start": "YYYY-MM-DD", "end": "YYYY-MM-DD"}`;
the plan then covers every entity over exactly those business days and the run lands, gates, builds
and publishes them all at once (`douyin-etl demo` does this for its whole window).

Use either this DAG or the `extract_*` + `transform_warehouse` pair (both are paused on creation);
this one emits no Assets, so it never triggers `transform_warehouse`. `catchup=True` from
`DOUYIN_START_DATE`; `max_active_runs=1`. Backfill business days A..B:
`airflow backfill create --dag-id douyin_daily --from-date A --to-date B+1`.
"""


@dag(
    dag_id="douyin_daily",
    schedule=s.daily_timetable(),
    start_date=s.start_date(),
    catchup=True,
    max_active_runs=1,
    default_args=s.DEFAULT_ARGS,
    tags=["douyin", "daily", "extract", "transform"],
    doc_md=DOC,
)
def douyin_daily() -> None:
    plan = t.plan_business_day.override(task_id="plan")()
    stages = []
    for family in s.EXTRACT_FAMILIES:
        with TaskGroup(group_id=family, tooltip=f"land the {family} entities"):
            stages.append(t.extract_stages([e.name for e in entities.by_family(family)], plan))  # type: ignore[arg-type]
    first_stages = [family_stages[0] for family_stages in stages]
    plan >> first_stages
    for family_stages in stages:  # e.g. logistics_track: after every family's first stage (shipments, orders)
        for dependent in family_stages[1:]:
            first_stages >> dependent
    t.warehouse_steps(plan, upstream=[x for family_stages in stages for x in family_stages])


douyin_daily()
