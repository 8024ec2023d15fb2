"""Credentials and endpoint of an object-store lake (``DOUYIN_LAKE_DIR=s3://bucket/prefix``).

Where they come from (first match wins):

1. The Airflow connection ``DOUYIN_LAKE_CONN_ID`` (default ``douyin_lake``), conn_type ``aws``, from
   ``AIRFLOW_CONN_DOUYIN_LAKE`` (JSON or URI, read without Airflow) or, inside an Airflow task, from
   Airflow (``douyin_etl.connections``); a malformed one is a ``ConfigError``, never skipped:
   login = access key id, password = secret access key, extra
   ``{"endpoint_url": "http://minio:9000", "region_name": "cn-hangzhou", "addressing_style": "path"}``
   (all optional; ``addressing_style`` ``path`` for MinIO and other servers without bucket DNS names).
2. Else the environment: ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY`` (``AWS_SESSION_TOKEN``),
   ``DOUYIN_S3_ENDPOINT_URL`` or ``AWS_ENDPOINT_URL``, ``AWS_REGION`` or ``AWS_DEFAULT_REGION``,
   ``DOUYIN_S3_ADDRESSING_STYLE``.
3. Neither: key and secret stay unset and botocore's own chain applies (instance profile, IRSA,
   ``~/.aws/credentials``).

Where they go: ``storage_options()`` -> the in-process ``s3fs`` filesystem of ``Storage.lake()``;
``dbt_settings()`` -> the dbt subprocess's environment (profile output ``s3`` reads
``DOUYIN_LAKE_S3_*`` and ``DBT_ENV_SECRET_LAKE_S3_*``). Never a command line, a log record, a run
report or a manifest.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

DEFAULT_CONN_ID = "douyin_lake"
DBT_TARGET = "s3"  # the dbt-duckdb output in dbt_project/profiles.yml with a `filesystems:` entry
OBJECT_STORE_PROTOCOLS = ("s3", "s3a")

# Variables the dbt profile's `s3` output reads (set only in the dbt subprocess's environment).
DBT_ENV_KEY = "DOUYIN_LAKE_S3_KEY"
# dbt scrubs the values of DBT_ENV_SECRET_* variables from its logs and allows them only in profiles.
DBT_ENV_SECRET = "DBT_ENV_SECRET_LAKE_S3_SECRET"
DBT_ENV_TOKEN = "DBT_ENV_SECRET_LAKE_S3_TOKEN"
DBT_ENV_ENDPOINT = "DOUYIN_LAKE_S3_ENDPOINT_URL"
DBT_ENV_REGION = "DOUYIN_LAKE_S3_REGION"
DBT_ENV_ADDRESSING = "DOUYIN_LAKE_S3_ADDRESSING_STYLE"


@dataclass(frozen=True)
class LakeCredentials:
    """Access to the object store; ``None`` fields fall back to botocore's defaults."""

    key: str | None
    secret: str | None
    endpoint_url: str | None
    region: str | None
    token: str | None = None
    addressing_style: str | None = None  # "path" or "virtual"; None = botocore's choice
    source: str = "env"  # "airflow:<conn id>" or "env"

    def __repr__(self) -> str:  # never print the secret or the session token
        return (
            f"LakeCredentials(source={self.source!r}, key={self.key!r}, secret={'***' if self.secret else None}, "
            f"endpoint_url={self.endpoint_url!r}, region={self.region!r}, token={'***' if self.token else None}, "
            f"addressing_style={self.addressing_style!r})"
        )


def lake_conn_id() -> str:
    return os.environ.get("DOUYIN_LAKE_CONN_ID", "").strip() or DEFAULT_CONN_ID


def is_object_store(root: str) -> bool:
    """True for an ``s3://`` (or ``s3a://``) lake root; local paths and ``file://`` are not."""
    return "://" in root and root.split("://", 1)[0].lower() in OBJECT_STORE_PROTOCOLS


def _blank_to_none(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def _from_airflow(conn_id: str) -> LakeCredentials | None:
    """The connection ``conn_id`` (environment or Airflow), or None when it is not configured."""
    from douyin_etl import connections

    conn = connections.get(conn_id)
    if conn is None:
        return None
    extra = conn.extra
    return LakeCredentials(
        key=_blank_to_none(conn.login),
        secret=_blank_to_none(conn.password),
        endpoint_url=_blank_to_none(extra.get("endpoint_url") or conn.host),
        region=_blank_to_none(extra.get("region_name")),
        token=_blank_to_none(extra.get("aws_session_token")),
        addressing_style=_blank_to_none(extra.get("addressing_style")),
        source=f"airflow:{conn_id}",
    )


def _from_env() -> LakeCredentials:
    env = os.environ.get
    return LakeCredentials(
        key=_blank_to_none(env("AWS_ACCESS_KEY_ID")),
        secret=_blank_to_none(env("AWS_SECRET_ACCESS_KEY")),
        endpoint_url=_blank_to_none(env("DOUYIN_S3_ENDPOINT_URL") or env("AWS_ENDPOINT_URL")),
        region=_blank_to_none(env("AWS_REGION") or env("AWS_DEFAULT_REGION")),
        token=_blank_to_none(env("AWS_SESSION_TOKEN")),
        addressing_style=_blank_to_none(env("DOUYIN_S3_ADDRESSING_STYLE")),
        source="env",
    )


def lake_credentials() -> LakeCredentials:
    """The lake's credentials: the Airflow connection when configured, else the environment."""
    return _from_airflow(lake_conn_id()) or _from_env()


def storage_options(creds: LakeCredentials | None = None) -> dict[str, Any]:
    """``s3fs.S3FileSystem`` keyword arguments.

    Listings are never cached: in a cluster another worker may have replaced a partition since.
    """
    c = creds or lake_credentials()
    options: dict[str, Any] = {"use_listings_cache": False}
    for name, value in (("key", c.key), ("secret", c.secret), ("token", c.token), ("endpoint_url", c.endpoint_url)):
        if value:
            options[name] = value
    if c.region:
        options["client_kwargs"] = {"region_name": c.region}
    if c.addressing_style:
        options["config_kwargs"] = {"s3": {"addressing_style": c.addressing_style}}
    return options


def dbt_settings(root: str, creds: LakeCredentials | None = None) -> tuple[str | None, dict[str, str]]:
    """(profile target, subprocess env) for dbt over the lake ``root``: ``(None, {})`` for a local lake.

    Every variable the profile reads is set, ``""`` when unset (the profile reads that as none), so
    a stale value in the parent's environment never wins. The env holds the credentials: the caller
    passes it only to the subprocess and never logs it.
    """
    if not is_object_store(root):
        return None, {}
    c = creds or lake_credentials()
    return DBT_TARGET, {
        DBT_ENV_KEY: c.key or "",
        DBT_ENV_SECRET: c.secret or "",
        DBT_ENV_TOKEN: c.token or "",
        DBT_ENV_ENDPOINT: c.endpoint_url or "",
        DBT_ENV_REGION: c.region or "",
        DBT_ENV_ADDRESSING: c.addressing_style or "",
    }
