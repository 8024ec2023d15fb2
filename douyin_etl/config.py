"""Every setting, read in one place.

Environment variables (all optional; defaults serve the embedded demo):

| variable | default | meaning |
| --- | --- | --- |
| DOUYIN_HOME | the checkout (parent of this package) | base for the relative defaults below |
| DOUYIN_LAKE_DIR | $DOUYIN_HOME/lake | landing lake root (local path or s3://bucket/prefix) |
| DOUYIN_LAKE_CONN_ID | douyin_lake | Airflow connection (aws) of an s3:// lake: key, secret, extra endpoint_url/region_name |
| AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / DOUYIN_S3_ENDPOINT_URL (or AWS_ENDPOINT_URL) / AWS_REGION | botocore's chain | s3:// lake access outside Airflow; see `lake_credentials` |
| DOUYIN_WAREHOUSE | $DOUYIN_HOME/warehouse/douyin.duckdb | the published warehouse analysts open read-only |
| DOUYIN_STATE_DIR | $DOUYIN_HOME/var | run reports, audit copies, the local Airflow home |
| DOUYIN_WORLD_DIR | $DOUYIN_HOME/var/world | simulated world the mock API serves (demo only) |
| DOUYIN_DROPS_DIR | $DOUYIN_WORLD_DIR/drops | where downloaded and 3PL files arrive, one folder per business day |
| DOUYIN_API_BASE_URL / DOUYIN_APP_KEY / DOUYIN_APP_SECRET | demo mock on loopback | Open API access outside Airflow |
| DOUYIN_API_QPS | 50 | client-side rate limit (requests/s) |
| DOUYIN_SHOP_IDS | (empty: the app's default shop) | comma list of shop ids the Open API extraction covers |
| DOUYIN_TRACKING | all | logistics_track extraction: `all` (one call per waybill) or `none` |
| DOUYIN_LOOKBACK_DAYS | 3 | days re-extracted before the interval to catch late updates |

Inside Airflow the Open API credentials come from the connection `doudian_default`
(host = base URL, login = app key, password = app secret); see `doudian_connection()`.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
DBT_PROJECT_DIR = PROJECT_DIR / "dbt_project"
EXPECTATIONS_DIR = PROJECT_DIR / "expectations"
DAGS_DIR = PROJECT_DIR / "dags"

BUSINESS_TZ = "Asia/Shanghai"

# Demo credentials of the embedded mock. Not secret: they only open the local simulator.
DEMO_APP_KEY = "demo_app_key"
DEMO_APP_SECRET = "demo_app_secret_change_me"
DEMO_API_HOST = "127.0.0.1"
DEMO_API_PORT = 18080
DOUDIAN_CONN_ID = "doudian_default"


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else default


def home() -> Path:
    return _env_path("DOUYIN_HOME", PROJECT_DIR)


def lake_root() -> str:
    """Lake root as a string: a local path or an ``s3://bucket/prefix`` URL."""
    value = os.environ.get("DOUYIN_LAKE_DIR")
    if value and "://" in value:
        return value.rstrip("/")
    return str(_env_path("DOUYIN_LAKE_DIR", home() / "lake"))


def warehouse_path() -> Path:
    return _env_path("DOUYIN_WAREHOUSE", home() / "warehouse" / "douyin.duckdb")


def state_dir() -> Path:
    return _env_path("DOUYIN_STATE_DIR", home() / "var")


def world_dir() -> Path:
    return _env_path("DOUYIN_WORLD_DIR", state_dir() / "world")


def drops_dir() -> Path:
    return _env_path("DOUYIN_DROPS_DIR", world_dir() / "drops")


def lookback_days() -> int:
    return int(os.environ.get("DOUYIN_LOOKBACK_DAYS", "3"))


def api_qps() -> float:
    return float(os.environ.get("DOUYIN_API_QPS", "50"))


def doudian_shop_ids() -> list[str]:
    return [s.strip() for s in os.environ.get("DOUYIN_SHOP_IDS", "").split(",") if s.strip()]


def doudian_tracking() -> str:
    value = os.environ.get("DOUYIN_TRACKING", "all").strip().lower()
    if value not in ("all", "none"):
        raise ValueError(f"DOUYIN_TRACKING must be 'all' or 'none', got {value!r}")
    return value


@dataclass(frozen=True)
class DoudianCredentials:
    base_url: str
    app_key: str
    app_secret: str

    def __repr__(self) -> str:  # never print the secret
        return f"DoudianCredentials(base_url={self.base_url!r}, app_key={self.app_key!r}, app_secret=***)"


def doudian_credentials() -> DoudianCredentials:
    """Open API credentials: the Airflow connection if one is configured, else env, else the demo mock."""
    # Only ask Airflow when we run inside it (or its connection is configured): importing it costs ~2 s.
    in_airflow = "airflow" in sys.modules or "AIRFLOW_CTX_DAG_ID" in os.environ \
        or f"AIRFLOW_CONN_{DOUDIAN_CONN_ID.upper()}" in os.environ
    try:
        if not in_airflow:
            raise LookupError("not running inside Airflow")
        from airflow.sdk.bases.hook import BaseHook  # type: ignore

        conn = BaseHook.get_connection(DOUDIAN_CONN_ID)
        host = conn.host or f"http://{DEMO_API_HOST}:{DEMO_API_PORT}"
        if "://" not in host:
            host = f"{conn.schema or 'http'}://{host}" + (f":{conn.port}" if conn.port else "")
        return DoudianCredentials(host.rstrip("/"), conn.login or DEMO_APP_KEY, conn.password or DEMO_APP_SECRET)
    except Exception:  # no Airflow context / no such connection: fall back to env
        pass
    return DoudianCredentials(
        os.environ.get("DOUYIN_API_BASE_URL", f"http://{DEMO_API_HOST}:{DEMO_API_PORT}").rstrip("/"),
        os.environ.get("DOUYIN_APP_KEY", DEMO_APP_KEY),
        os.environ.get("DOUYIN_APP_SECRET", DEMO_APP_SECRET),
    )


def tool_env() -> dict[str, str]:
    """Environment for subprocesses (dbt, airflow): no telemetry, no network version checks."""
    env = dict(os.environ)
    env.update(
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        DBT_VERSION_CHECK="false",
        GX_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
    )
    return env
