"""dbt-duckdb plugin (profile ``plugins: [{module: douyin_etl.warehousing.buyer_key_plugin}]``): the buyer-key
HMAC pads as DuckDB session variables, read from the dbt process's environment.

The runner (``run_dbt``) puts the pads in ``DBT_ENV_SECRET_DOUYIN_BUYER_KEY_IPAD/OPAD``
(``douyin_etl.buyer_key.dbt_env``); this plugin binds them as BLOB parameters of ``SET VARIABLE`` on the
connection and on every cursor (DuckDB variables are per connection), outside dbt's logged SQL. When
they are absent nothing is set, and the ``buyer_key`` macro raises a clear error if a model needs them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

from douyin_etl.buyer_key import DBT_ENV_IPAD, DBT_ENV_OPAD, DUCKDB_VAR_IPAD, DUCKDB_VAR_OPAD


def set_session(con: Any, pads: Mapping[str, str] | None = None) -> bool:
    """Set the pads (``buyer_key.dbt_env()``; default: this process's environment) on one DuckDB
    connection or cursor; False when there are none."""
    pads = os.environ if pads is None else pads
    ipad, opad = pads.get(DBT_ENV_IPAD), pads.get(DBT_ENV_OPAD)
    if not ipad or not opad:
        return False
    try:
        values = (bytes.fromhex(ipad), bytes.fromhex(opad))
    except ValueError:
        raise ValueError(f"{DBT_ENV_IPAD}/{DBT_ENV_OPAD} are not hex; run dbt through douyin_etl's runner") from None
    con.execute(f"SET VARIABLE {DUCKDB_VAR_IPAD} = ?", [values[0]])
    con.execute(f"SET VARIABLE {DUCKDB_VAR_OPAD} = ?", [values[1]])
    return True


class Plugin(BasePlugin):
    def configure_connection(self, conn: Any) -> None:
        set_session(conn)

    def configure_cursor(self, cursor: Any) -> None:
        set_session(cursor)
