"""Airflow DAG ``douyin_full_check``: weekly, every data test and mart check over the whole published
warehouse (daily runs test only the window they rebuilt)."""

from __future__ import annotations

from airflow.sdk import Param, dag

from douyin_etl.orchestration import airflow_tasks as t
from douyin_etl.orchestration import schedules as s

DOC = """
### douyin_full_check
The **full-history test pass**. A daily run tests only the window it rebuilt: the dbt data tests of
big models and the mart gate's checks over big tables read rows from the first day of that window on.
A duplicate of an old row, or an old row a later change broke, is found here.

* **Schedule**: Sundays 04:00 Asia/Shanghai (after that night's daily run); `catchup=False`.
* **full_check**: `dbt test` (every data test, whole tables) and the mart gate (every check, whole
  history) over the **published** warehouse, opened read-only: nothing is written to it, no writer
  pool is needed, and a publish during the pass leaves it reading the version it opened.
* **Report**: `<state>/checks/<run id>/report.json` (dbt's log and run_results beside it). A failing
  test or check fails the task at once and the report names it; fix the data or the model, then
  rebuild the affected days (`douyin-etl run --start … --end …`, or `--full-refresh`).
* Same as `douyin-etl check` on the command line. Params: `select` (a dbt selection, e.g.
  `fct_order_lines`; empty = every data test), `mart_gate` (false = dbt tests only).
"""


@dag(
    dag_id="douyin_full_check",
    schedule=s.weekly_timetable(),
    start_date=s.start_date(),
    catchup=False,
    max_active_runs=1,
    default_args=s.DEFAULT_ARGS,
    tags=["douyin", "quality", "weekly"],
    doc_md=DOC,
    params={
        "select": Param("", type="string", description="dbt selection of the tests (empty: every data test)"),
        "mart_gate": Param(True, type="boolean", description="also run every mart gate check"),
    },
)
def douyin_full_check() -> None:
    t.full_check()


douyin_full_check()
