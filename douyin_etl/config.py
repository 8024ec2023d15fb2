"""Every setting, read in one place, strictly.

No silent defaults outside the demo and the tests: a setting the pipeline cannot guess (where files
arrive, whose API it calls, which shops, the buyer-key secret) is required, and a missing or malformed
value is a ``ConfigError`` (a ``ValueError``): one line naming the setting, what is wrong and how to set
it. ``douyin-etl demo`` (``demo.demo``) and the tests (``tests/conftest.py``) set their own values.
Path settings are resolved to absolute paths here (``~`` expanded, relative to the current directory),
before they reach dbt or any subprocess. ``run_range`` checks them all first and logs where it reads
and writes (``preflight``).

| variable | when unset | meaning |
| --- | --- | --- |
| DOUYIN_HOME | the checkout (parent of this package) | base of the local layout below |
| DOUYIN_LAKE_DIR | $DOUYIN_HOME/lake (logged) | landing lake root (local path or s3://bucket/prefix) |
| DOUYIN_LAKE_CONN_ID | douyin_lake | Airflow connection (aws) of an s3:// lake: key, secret, extra endpoint_url/region_name |
| AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / DOUYIN_S3_ENDPOINT_URL (or AWS_ENDPOINT_URL) / AWS_REGION | botocore's chain | s3:// lake access outside Airflow; see `lake_credentials` |
| DOUYIN_WAREHOUSE | $DOUYIN_HOME/warehouse/douyin.duckdb (logged) | the published warehouse analysts open read-only |
| DOUYIN_STATE_DIR | $DOUYIN_HOME/var (logged) | run reports, audit copies, the local Airflow home |
| DOUYIN_DROPS_DIR | **error** (the demo sets its world's drops) | where downloaded and 3PL files arrive, one folder per business day |
| Open API credentials | **error** | Airflow connection `doudian_default` (`AIRFLOW_CONN_DOUDIAN_DEFAULT`, JSON or URI; host = gateway URL, login = app key, password = app secret), else DOUYIN_API_BASE_URL + DOUYIN_APP_KEY + DOUYIN_APP_SECRET |
| DOUYIN_SHOP_IDS | the connection's extra `shop_ids`, else **error** | comma list of shop ids the Open API extraction covers |
| per-shop grant | **error** | connection `doudian_shop_<shop id>` (password = the merchant's authorization code, extra `grant_type` `authorization_code`), else `doudian_default` extra `grant_type: authorization_self` or DOUYIN_SHOP_GRANT=authorization_self (the shops' own app) |
| DOUYIN_BUYER_KEY_SECRET | the password of connection `douyin_buyer_key`, else **error** | secret key of buyer_key = HMAC-SHA256(key, doudian_open_id); at least 16 characters |
| DOUYIN_API_QPS | 50 | client-side rate limit (requests/s, > 0) |
| DOUYIN_TRACKING | all | logistics_track extraction: `all` (one call per waybill) or `none` |
| DOUYIN_LOOKBACK_DAYS | 3 | days (whole number >= 0) re-extracted before the interval to catch late updates |
| DOUYIN_WORLD_DIR | $DOUYIN_STATE_DIR/world | simulated world of `simulate`, `serve-mock` and `demo` only; never read by a run |

Connections come from the environment (``AIRFLOW_CONN_<ID>``, parsed without importing Airflow) or,
inside an Airflow task, from Airflow itself: see ``douyin_etl.connections``. A set but malformed
connection is an error, never a reason to try the next source.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from douyin_etl.errors import UsageError

if TYPE_CHECKING:
    from douyin_etl.connections import Connection

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
DBT_PROJECT_DIR = PROJECT_DIR / "dbt_project"
EXPECTATIONS_DIR = PROJECT_DIR / "expectations"
DAGS_DIR = PROJECT_DIR / "dags"

BUSINESS_TZ = "Asia/Shanghai"

# Demo values: the demo and the mock set them explicitly; nothing falls back to them.
# Not secret: they only open the local simulator and pseudonymise the simulated buyers.
DEMO_APP_KEY = "demo_app_key"
DEMO_APP_SECRET = "demo_app_secret_change_me"
DEMO_API_HOST = "127.0.0.1"
DEMO_API_PORT = 18080
DEMO_BUYER_KEY_SECRET = "demo-buyer-key-not-a-secret-0000"
DOUDIAN_CONN_ID = "doudian_default"
SHOP_CONN_PREFIX = "doudian_shop_"  # + shop id: the shop's authorisation (per-shop connection)
SHOP_GRANTS = ("authorization_code", "refresh_token", "authorization_self")
BUYER_KEY_CONN_ID = "douyin_buyer_key"
BUYER_KEY_MIN_LENGTH = 16
_SHOP_ID = re.compile(r"^[A-Za-z0-9_-]+$")


class ConfigError(UsageError):
    """A missing or malformed setting: the message is one line naming it and how to set it."""


def _env(name: str) -> str | None:
    """The variable's value stripped; unset and blank are both None."""
    value = os.environ.get(name)
    return value.strip() if value and value.strip() else None


def _abs(value: str | Path) -> Path:
    """``~`` expanded, relative to the current directory, normalised (symlinks kept)."""
    return Path(os.path.abspath(os.path.expanduser(str(value))))


def _env_path(name: str, default: Path) -> Path:
    value = _env(name)
    return _abs(value) if value else _abs(default)


def home() -> Path:
    return _env_path("DOUYIN_HOME", PROJECT_DIR)


def lake_root() -> str:
    """Lake root as a string: an absolute local path or an ``s3://bucket/prefix`` URL."""
    value = _env("DOUYIN_LAKE_DIR")
    if value and "://" in value:
        scheme = value.split("://", 1)[0].lower()
        if scheme not in ("s3", "s3a", "file"):
            raise ConfigError(
                f"DOUYIN_LAKE_DIR: unsupported URL scheme {scheme!r}; give a local path, "
                f"s3://bucket/prefix or file:///path"
            )
        return value.rstrip("/")
    return str(_env_path("DOUYIN_LAKE_DIR", home() / "lake"))


def warehouse_path() -> Path:
    return _env_path("DOUYIN_WAREHOUSE", home() / "warehouse" / "douyin.duckdb")


def state_dir() -> Path:
    return _env_path("DOUYIN_STATE_DIR", home() / "var")


def world_dir() -> Path:
    """The simulated world of ``simulate``/``serve-mock``/``demo`` (demo tooling only)."""
    return _env_path("DOUYIN_WORLD_DIR", state_dir() / "world")


def drops_dir() -> Path:
    """Where downloaded and 3PL files arrive (``<drops>/<YYYY-MM-DD>/``): required, no default."""
    value = _env("DOUYIN_DROPS_DIR")
    if not value:
        raise ConfigError(
            "DOUYIN_DROPS_DIR is not set: set it to the folder where the day's downloaded and 3PL "
            "files arrive (one sub-folder per business day, YYYY-MM-DD); `douyin-etl demo` sets "
            "its own"
        )
    return _abs(value)


def _int_setting(name: str, default: int, minimum: int, maximum: int, what: str) -> int:
    value = _env(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        number = None
    if number is None or not minimum <= number <= maximum:
        raise ConfigError(f"{name} must be {what}, a whole number from {minimum} to {maximum}; got {value!r}")
    return number


def lookback_days() -> int:
    return _int_setting("DOUYIN_LOOKBACK_DAYS", 3, 0, 366, "the days re-extracted before the interval")


def gate_workers() -> int:
    return _int_setting(
        "DOUYIN_GATE_WORKERS", 2, 1, 16, "the processes the landing gate validates its entities in (1: in this one)"
    )


def api_qps() -> float:
    value = _env("DOUYIN_API_QPS")
    if value is None:
        return 50.0
    try:
        qps = float(value)
    except ValueError:
        qps = math.nan
    if not (math.isfinite(qps) and qps > 0):
        raise ConfigError(f"DOUYIN_API_QPS must be a number of requests per second > 0 (e.g. 50); got {value!r}")
    return qps


def doudian_tracking() -> str:
    value = (_env("DOUYIN_TRACKING") or "all").lower()
    if value not in ("all", "none"):
        raise ConfigError(f"DOUYIN_TRACKING must be 'all' or 'none'; got {value!r}")
    return value


# -- Open API ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DoudianCredentials:
    base_url: str
    app_key: str
    app_secret: str
    source: str = "explicit"  # "env AIRFLOW_CONN_DOUDIAN_DEFAULT", "airflow", "env DOUYIN_*" or "explicit"

    def __repr__(self) -> str:  # never print the secret
        return (
            f"DoudianCredentials(base_url={self.base_url!r}, app_key={self.app_key!r}, app_secret=***, "
            f"source={self.source!r})"
        )


def _how_to_set_credentials() -> str:
    from douyin_etl.connections import env_var

    return (
        f"set the Airflow connection {DOUDIAN_CONN_ID!r} (e.g. {env_var(DOUDIAN_CONN_ID)}="
        '\'{"conn_type": "http", "host": "https://openapi-fxg.jinritemai.com", "login": "<app key>", '
        '"password": "<app secret>", "extra": {"shop_ids": ["<shop id>"]}}\') or all of '
        "DOUYIN_API_BASE_URL, DOUYIN_APP_KEY and DOUYIN_APP_SECRET"
    )


def _base_url(url: str, where: str) -> str:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - validates the port
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or parts.username:
        raise ConfigError(
            f"{where} must be the gateway's base URL like https://openapi-fxg.jinritemai.com "
            f"(http or https, a host, no login in it)"
        )
    return url.rstrip("/")


def _credentials_from_connection(conn: Connection) -> DoudianCredentials:
    where = f"the connection {conn.conn_id!r} ({conn.source})"
    missing = [
        name
        for name, value in (
            ("host", conn.host),
            ("login (app key)", conn.login),
            ("password (app secret)", conn.password),
        )
        if not value
    ]
    if missing:
        raise ConfigError(
            f"{where} has no {', '.join(missing)}; set host = gateway URL, login = app key, password = app secret"
        )
    host = conn.host or ""
    if "://" not in host:
        if (conn.schema or "").lower() not in ("http", "https"):
            raise ConfigError(
                f"{where}: host {host!r} has no protocol; write the host as https://{host} "
                f"(or set schema to http or https)"
            )
        host = f"{conn.schema.lower()}://{host}"  # type: ignore[union-attr]
    if conn.port and host.count(":") < 2:  # a separate port field and none in the host yet
        host = f"{host.rstrip('/')}:{conn.port}"
    return DoudianCredentials(_base_url(host, f"{where}: host"), conn.login or "", conn.password or "", conn.source)


def doudian_connection() -> Connection | None:
    """The ``doudian_default`` connection (environment or Airflow), or None when it is not configured."""
    from douyin_etl import connections

    return connections.get(DOUDIAN_CONN_ID)


def doudian_credentials() -> DoudianCredentials:
    """Open API credentials: the connection ``doudian_default`` if configured, else DOUYIN_*, else an error."""
    conn = doudian_connection()
    if conn is not None:
        return _credentials_from_connection(conn)
    env = {name: _env(name) for name in ("DOUYIN_API_BASE_URL", "DOUYIN_APP_KEY", "DOUYIN_APP_SECRET")}
    if all(env.values()):
        return DoudianCredentials(
            _base_url(env["DOUYIN_API_BASE_URL"] or "", "DOUYIN_API_BASE_URL"),
            env["DOUYIN_APP_KEY"] or "",
            env["DOUYIN_APP_SECRET"] or "",
            "env DOUYIN_*",
        )
    if any(env.values()):
        missing = [k for k, v in env.items() if not v]
        raise ConfigError(
            f"Open API credentials are incomplete: {', '.join(missing)} not set; {_how_to_set_credentials()}"
        )
    raise ConfigError(f"no Open API credentials: {_how_to_set_credentials()}")


@dataclass(frozen=True)
class DoudianShopGrant:
    """How the client gets a shop's first token: ``grant_type`` and its secret (code or refresh token)."""

    shop_id: str
    grant_type: str  # authorization_code | refresh_token | authorization_self
    secret: str = ""
    source: str = "explicit"

    def __repr__(self) -> str:  # never print the code or token
        return (
            f"DoudianShopGrant(shop_id={self.shop_id!r}, grant_type={self.grant_type!r}, "
            f"secret={'***' if self.secret else None}, source={self.source!r})"
        )


def _how_to_set_grant(shop_id: str) -> str:
    from douyin_etl.connections import env_var

    conn_id = SHOP_CONN_PREFIX + shop_id
    return (
        f'set the Airflow connection {conn_id!r} (e.g. {env_var(conn_id)}=\'{{"conn_type": "generic", '
        f'"password": "<authorization code from the merchant>", "extra": {{"grant_type": "authorization_code"}}}}\'), '
        f'or, when the app is the shop\'s own, the extra "grant_type": "authorization_self" of {DOUDIAN_CONN_ID!r} '
        f"(or DOUYIN_SHOP_GRANT=authorization_self)"
    )


def doudian_shop_grant(shop_id: str) -> DoudianShopGrant:
    """How the Open API client authenticates for ``shop_id`` (never a guess; a ConfigError says how to set it).

    1. the connection ``doudian_shop_<shop_id>``: extra ``grant_type`` ``authorization_code`` (password = the
       code the merchant's authorisation gave) or ``refresh_token`` (password = a refresh token);
    2. else ``grant_type: authorization_self`` in the extra of ``doudian_default`` or DOUYIN_SHOP_GRANT
       (the app is the shops' own: no code needed).
    """
    from douyin_etl import connections

    conn = connections.get(SHOP_CONN_PREFIX + shop_id)
    if conn is not None:
        where = f"the connection {conn.conn_id!r} ({conn.source})"
        grant = str(conn.extra.get("grant_type") or "")
        if grant not in SHOP_GRANTS:
            raise ConfigError(
                f"{where} needs extra grant_type = one of {', '.join(SHOP_GRANTS)} (got {grant or 'none'}); "
                + _how_to_set_grant(shop_id)
            )
        if grant != "authorization_self" and not conn.password:
            raise ConfigError(f"{where} has no password: put the merchant's {grant.replace('_', ' ')} there")
        return DoudianShopGrant(shop_id, grant, conn.password or "", conn.source)
    default = doudian_connection()
    self_use = (default.extra.get("grant_type") if default is not None else None) or _env("DOUYIN_SHOP_GRANT")
    if self_use == "authorization_self":
        return DoudianShopGrant(shop_id, "authorization_self", "", "self-use app")
    if self_use:
        raise ConfigError(
            f"grant_type {self_use!r} of {DOUDIAN_CONN_ID!r} / DOUYIN_SHOP_GRANT: only authorization_self applies "
            f"to every shop; {_how_to_set_grant(shop_id)}"
        )
    raise ConfigError(f"no Open API authorisation for shop {shop_id}: {_how_to_set_grant(shop_id)}")


def _shop_list(value: object, where: str) -> list[str]:
    if isinstance(value, str):
        items: list[object] = list(value.split(","))
    elif isinstance(value, list):
        items = value
    else:
        raise ConfigError(f"{where} must be a list of shop ids or a comma list, got a {type(value).__name__}")
    ids = [str(s).strip() for s in items if str(s).strip()]
    bad = [s for s in ids if not _SHOP_ID.match(s)]
    if bad:
        raise ConfigError(f"{where} holds malformed shop ids {bad[:3]}; expected ids like 1000001, comma-separated")
    if not ids:
        raise ConfigError(f"{where} is empty; give at least one shop id")
    return list(dict.fromkeys(ids))


def doudian_shop_ids() -> list[str]:
    """Shops the Open API extraction covers: DOUYIN_SHOP_IDS, else the connection's extra ``shop_ids``."""
    value = _env("DOUYIN_SHOP_IDS")
    if value:
        return _shop_list(value, "DOUYIN_SHOP_IDS")
    conn = doudian_connection()
    if conn is not None and conn.extra.get("shop_ids") not in (None, "", []):
        return _shop_list(conn.extra["shop_ids"], f"the connection {conn.conn_id!r} ({conn.source}) extra shop_ids")
    raise ConfigError(
        f"no shops to extract: set DOUYIN_SHOP_IDS=<id>,<id> or the extra "
        f'{{"shop_ids": ["<id>", ...]}} of the Airflow connection {DOUDIAN_CONN_ID!r} '
        f"(every shop the app is authorised for)"
    )


# -- buyer_key -----------------------------------------------------------------------------------
def buyer_key_secret() -> str:
    """The secret key of buyer_key: connection ``douyin_buyer_key`` (password), else DOUYIN_BUYER_KEY_SECRET.

    Never log it; it reaches dbt only through ``douyin_etl.buyer_key.dbt_env``.
    """
    from douyin_etl import connections

    conn = connections.get(BUYER_KEY_CONN_ID)
    if conn is not None:
        secret, where = conn.password, f"the password of the connection {BUYER_KEY_CONN_ID!r} ({conn.source})"
        if not secret:
            raise ConfigError(f"{where} is empty; put the buyer-key secret in the connection's password")
    else:
        secret, where = _env("DOUYIN_BUYER_KEY_SECRET"), "DOUYIN_BUYER_KEY_SECRET"
        if not secret:
            raise ConfigError(
                f"no buyer-key secret: set DOUYIN_BUYER_KEY_SECRET or the password of the Airflow connection "
                f'{BUYER_KEY_CONN_ID!r} (e.g. {connections.env_var(BUYER_KEY_CONN_ID)}=\'{{"conn_type": '
                f'"generic", "password": "<secret>"}}\'); generate one with '
                f"python -c 'import secrets; print(secrets.token_hex(32))'"
            )
    if len(secret) < BUYER_KEY_MIN_LENGTH:
        raise ConfigError(
            f"{where} is too short: use at least {BUYER_KEY_MIN_LENGTH} characters, e.g. "
            f"python -c 'import secrets; print(secrets.token_hex(32))'"
        )
    return secret


def preflight(drops: Path | None = None) -> dict[str, str]:
    """Check every setting a run needs, before it does anything; returns what to log (never a secret).

    ``drops`` given by the caller stands in for DOUYIN_DROPS_DIR. Raises ``ConfigError``.
    """
    creds = doudian_credentials()
    shops = doudian_shop_ids()
    grants = [doudian_shop_grant(s) for s in shops]  # every shop's authorisation, before any call
    buyer_key_secret()
    lookback_days(), api_qps(), doudian_tracking()
    return {
        "lake": lake_root(),
        "warehouse": str(warehouse_path()),
        "state": str(state_dir()),
        "drops": str(_abs(drops) if drops else drops_dir()),
        "Open API": f"{creds.base_url} (from {creds.source})",
        "shops": ",".join(f"{g.shop_id} ({g.grant_type})" for g in grants),
    }


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
