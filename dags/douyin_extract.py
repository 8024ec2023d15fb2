"""Airflow DAGs ``extract_platform``, ``extract_logistics``, ``extract_finance``: land one business day.

One DAG per entity family (douyin_etl.entities.by_family), built from the same spec: a mapped task per
entity (a failing entity retries alone), then one task that emits an Asset per landed entity.
"""

from __future__ import annotations

from airflow.sdk import dag

from douyin_etl import entities
from douyin_etl.orchestration import airflow_tasks as t
from douyin_etl.orchestration import schedules as s

DOC = """
### extract_{family}
Lands the **{family}** entities ({names}) for one **Asia/Shanghai business day** into the raw lake
(`<lake>/raw/<source>/<entity>/dt=YYYY-MM-DD/`).

* **Data interval** = one business day: the run triggered at D+1 00:00+08 covers
  [D 00:00+08, D+1 00:00+08); its logical date is D 00:00+08. `catchup=True` from the first business
  day `DOUYIN_START_DATE` (default 2026-10-01).
* **Backfill** business days A..B (inclusive): `airflow backfill create --dag-id extract_{family}
  --from-date A --to-date B+1` (the bounds are trigger times; add `--dry-run` to list the runs first).
* Event-partitioned Open API entities re-land dt in [D − `DOUYIN_LOOKBACK_DAYS`, D] (late updates);
  snapshots and file drops land dt = D. Every partition is replaced atomically: reruns are idempotent.
* One mapped task per entity; retries with exponential backoff. Entities that read another entity's
  landing (logistics_track reads the day's 3PL shipments) run in a second mapped task, `extract_dependent`. `max_active_runs=1` because look-back
  windows of consecutive days overlap.
* Outlets: one Asset per entity (`douyin://lake/raw/<source>/<entity>`); together they trigger
  `transform_warehouse`.
* Credentials: Airflow connection `doudian_default` (host, login = app key, password = app secret).
"""


def build_extract_dag(family: str):
    names = [e.name for e in entities.by_family(family)]  # type: ignore[arg-type]

    @dag(
        dag_id=f"extract_{family}",
        schedule=s.daily_timetable(),
        start_date=s.start_date(),
        catchup=True,
        max_active_runs=1,
        default_args=s.DEFAULT_ARGS,
        tags=["douyin", "extract", family],
        doc_md=DOC.format(family=family, names=", ".join(names)),
    )
    def extract_family_dag() -> None:
        landed = t.extract_stages(names)
        landed[-1] >> t.announce_landed.override(outlets=s.family_assets(family))(names)

    return extract_family_dag()


for _family in s.EXTRACT_FAMILIES:
    globals()[f"extract_{_family}"] = build_extract_dag(_family)
