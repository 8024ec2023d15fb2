"""What the DAG files share: the business-day timetable, default task arguments, assets, pools.

Only light imports here (the entity registry; Airflow's SDK inside the functions, so that
``local_airflow`` can read the constants before Airflow is imported): DAG files import this module at
parse time, and parsing must stay fast and never fail.
"""

from __future__ import annotations

import os
import re
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from douyin_etl import entities
from douyin_etl.alerts.tasks import on_failure
from douyin_etl.config import BUSINESS_TZ
from douyin_etl.timeutil import SHANGHAI

if TYPE_CHECKING:
    from airflow.sdk import Asset, CronTriggerTimetable

OWNER = "data-eng"
WAREHOUSE_POOL = "warehouse_writer"
WAREHOUSE_POOL_SLOTS = 1
WAREHOUSE_POOL_DESCRIPTION = "single DuckDB writer"
DEFAULT_START = "2026-10-01"
EXTRACT_FAMILIES: tuple[entities.Family, ...] = ("platform", "logistics", "finance")


def _retry_delay() -> timedelta:
    """First retry delay (env ``DOUYIN_RETRY_DELAY_SECONDS``, default 30; tests use 1)."""
    try:
        return timedelta(seconds=float(os.environ.get("DOUYIN_RETRY_DELAY_SECONDS", "30")))
    except ValueError:
        return timedelta(seconds=30)


DEFAULT_ARGS: dict[str, Any] = {
    "owner": OWNER,
    "retries": 3,
    "retry_delay": _retry_delay(),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": timedelta(minutes=10),
    # a task that fails for good (retries used up, or a gate) alerts the configured channels (docs/deploy.md)
    "on_failure_callback": on_failure,
}


def daily_timetable() -> CronTriggerTimetable:
    """One Asia/Shanghai business day per run: the run at D+1 00:00+08 covers [D 00:00, D+1 00:00)."""
    from airflow.sdk import CronTriggerTimetable

    return CronTriggerTimetable("0 0 * * *", timezone=BUSINESS_TZ, interval=timedelta(days=1))


def weekly_timetable() -> CronTriggerTimetable:
    """Once a week, Sunday 04:00 Asia/Shanghai (after that night's daily run): the full-history check."""
    from airflow.sdk import CronTriggerTimetable

    return CronTriggerTimetable("0 4 * * 0", timezone=BUSINESS_TZ)


def first_business_day() -> date:
    """First business day the daily DAGs cover (env ``DOUYIN_START_DATE``, default 2026-10-01)."""
    raw = os.environ.get("DOUYIN_START_DATE", DEFAULT_START)
    try:
        return date.fromisoformat(raw)
    except ValueError:  # parsing must never fail; the DAG doc names the format
        return date.fromisoformat(DEFAULT_START)


def start_date() -> datetime:
    """The DAGs' ``start_date``: the first *trigger*, 00:00+08 the day after the first business day.

    With a trigger timetable the interval precedes the trigger: the run at D+1 00:00+08 covers D, so
    the first run covers exactly ``DOUYIN_START_DATE``.
    """
    d = first_business_day() + timedelta(days=1)
    return datetime(d.year, d.month, d.day, tzinfo=SHANGHAI)


def business_day(data_interval_start: datetime | None, logical_date: datetime | None = None) -> date:
    """The Asia/Shanghai business day a run covers: the start of its data interval, in Shanghai."""
    instant = data_interval_start or logical_date
    if instant is None:
        raise ValueError("this run has neither a data interval nor a logical date; trigger it with a logical date")
    return instant.astimezone(SHANGHAI).date()


def entity_asset(name: str) -> Asset:
    """The Asset a landed entity emits (URI from the entity registry)."""
    from airflow.sdk import Asset

    e = entities.get(name)
    return Asset(uri=e.asset_uri, name=f"lake_raw_{e.name}", group="douyin_lake")


def family_assets(family: str) -> list[Asset]:
    return [entity_asset(e.name) for e in entities.by_family(family)]  # type: ignore[arg-type]


def all_assets() -> list[Asset]:
    return [entity_asset(n) for n in entities.ENTITIES]


def safe_run_id(run_id: str) -> str:
    """An Airflow run id made safe for file names and lake metadata (no ':' '+' or spaces)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", run_id).strip("_") or "run"
