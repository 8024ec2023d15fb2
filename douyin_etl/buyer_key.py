"""buyer_key: the pseudonymous buyer, HMAC-SHA256(secret key, doudian_open_id) as lowercase hex.

Without the key, open ids (from the API or order exports) cannot be matched to buyer_keys. The key comes
from ``config.buyer_key_secret()`` (the Airflow connection ``douyin_buyer_key`` or
``DOUYIN_BUYER_KEY_SECRET``). It must never reach a log, a file or a dbt argument, so dbt never sees it
as text: ``dbt_env()`` hands the dbt subprocess the two HMAC pads, ``K0 xor ipad`` and ``K0 xor opad`` (hex,
as secret as the key), in ``DBT_ENV_SECRET_*`` variables (dbt scrubs those from its logs), and the
engines compute HMAC = H(opad_key || H(ipad_key || open_id)) in SQL (macro ``buyer_key`` in
``dbt_project/macros/cross_db.sql``):

- DuckDB: the dbt-duckdb plugin ``douyin_etl.warehousing.buyer_key_plugin`` (profile ``plugins:``) sets the
  pads as session variables on every connection and cursor; SQL reads ``getvariable(...)``.
- Spark: the profile's ``spark`` output puts them in the session configuration
  (``spark.douyin.buyer_key.hmac_*``); SQL reads ``${spark.douyin.buyer_key.hmac_*}`` (Spark's variable
  substitution, at execution). The names avoid "secret" on purpose: Spark's redaction rule would hand the
  substitution ``*********(redacted)`` instead of the value. The profile turns Spark's UI off and writes
  no event log, so the session configuration is shown nowhere.

Compiled SQL, manifests and run results hold only those names. Rotating the key changes every
buyer_key: rebuild everything with ``douyin-etl run --full-refresh`` (docs/deploy.md).
"""

from __future__ import annotations

import hashlib
import hmac

DBT_ENV_IPAD = "DBT_ENV_SECRET_DOUYIN_BUYER_KEY_IPAD"
DBT_ENV_OPAD = "DBT_ENV_SECRET_DOUYIN_BUYER_KEY_OPAD"
DUCKDB_VAR_IPAD = "douyin_buyer_key_ipad"
DUCKDB_VAR_OPAD = "douyin_buyer_key_opad"
BLOCK = 64  # SHA-256's block size in bytes


def buyer_key(secret: str, open_id: str) -> str:
    """The reference value: ``hmac.new(secret, open_id, sha256).hexdigest()`` (UTF-8 both)."""
    return hmac.new(secret.encode("utf-8"), open_id.encode("utf-8"), hashlib.sha256).hexdigest()


def hmac_pads(secret: str) -> tuple[bytes, bytes]:
    """(K0 xor ipad, K0 xor opad) of RFC 2104 for SHA-256: K0 = the key (hashed when longer than a block),
    zero-padded to 64 bytes."""
    key = secret.encode("utf-8")
    if len(key) > BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def dbt_env(secret: str | None = None, *, required: bool = True) -> dict[str, str]:
    """Variables for the dbt subprocess's environment only (never log them, never pass them as --vars).

    ``secret`` defaults to ``config.buyer_key_secret()``; with ``required=False`` a missing or unusable key
    gives ``{}`` (for dbt commands that compute no buyer_key, e.g. ``docs generate``).
    """
    from douyin_etl import config

    if secret is None:
        try:
            secret = config.buyer_key_secret()
        except config.ConfigError:
            if required:
                raise
            return {}
    ipad, opad = hmac_pads(secret)
    return {DBT_ENV_IPAD: ipad.hex(), DBT_ENV_OPAD: opad.hex()}
