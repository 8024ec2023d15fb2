"""Airflow connections, read inside or outside Airflow, strictly.

``get(conn_id)`` returns the connection ``conn_id`` or ``None`` when it is not configured:

1. ``AIRFLOW_CONN_<CONN_ID>`` in the environment, parsed here without importing Airflow, in either of
   Airflow's two forms:

   - JSON: ``{"conn_type": "http", "host": "https://openapi-fxg.jinritemai.com", "login": "<app key>",
     "password": "<app secret>", "extra": {"shop_ids": ["1001", "1002"]}}``;
   - URI: ``conn-type://login:password@host:port/schema?extra`` with every part percent-encoded
     (``urllib.parse.quote(value, safe='')``); the extra is either ``__extra__=<url-encoded JSON>`` or
     one query parameter per key (each value JSON-decoded when it is JSON). A host that carries its own
     protocol is written ``conn-type://protocol://login:password@host:port/schema``.
2. Else, inside an Airflow task (``AIRFLOW_CTX_DAG_ID`` is set), Airflow's own lookup
   (``BaseHook.get_connection``: secrets backend, metadata DB).

A variable (or an Airflow connection's extra) that is set but malformed is a ``ConfigError`` naming the
variable (or connection) and what is wrong; no value of the connection is ever part of a message. An
Airflow lookup that fails for another reason (secrets backend, metadata DB) raises its own error, with
a note naming the connection.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from douyin_etl.config import ConfigError

JSON_KEYS = {"conn_id", "conn_type", "description", "host", "login", "password", "schema", "port", "extra"}
EXTRA_KEY = "__extra__"


@dataclass(frozen=True)
class Connection:
    """The fields of an Airflow connection that this project reads; ``source`` says where it came from."""

    conn_id: str
    source: str  # "env AIRFLOW_CONN_<ID>" or "airflow"
    conn_type: str | None = None
    host: str | None = None
    login: str | None = None
    password: str | None = field(default=None, repr=False)
    schema: str | None = None
    port: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:  # never print the password
        return (
            f"Connection(conn_id={self.conn_id!r}, source={self.source!r}, conn_type={self.conn_type!r}, "
            f"host={self.host!r}, login={self.login!r}, password={'***' if self.password else None}, "
            f"schema={self.schema!r}, port={self.port!r}, extra keys={sorted(self.extra)!r})"
        )


def env_var(conn_id: str) -> str:
    """The environment variable Airflow reads the connection ``conn_id`` from."""
    return f"AIRFLOW_CONN_{conn_id.upper()}"


def _blank_to_none(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def _port(value: Any, where: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        port = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: port must be a whole number (1-65535)") from None
    if not 0 < port < 65536:
        raise ConfigError(f"{where}: port must be between 1 and 65535")
    return port


def _extra(value: Any, where: str) -> dict[str, Any]:
    if value in (None, ""):
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{where}: extra is not valid JSON ({exc.msg} at position {exc.pos})") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: extra must be a JSON object, got a {type(value).__name__}")
    return value


def _from_json(conn_id: str, text: str, where: str) -> Connection:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{where} is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); "
            f'expected {{"conn_type": ..., "host": ..., "login": ..., "password": ...}} '
            f"or a URI conn-type://login:password@host:port/schema"
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must be a JSON object, got a {type(data).__name__}")
    unknown = sorted(set(data) - JSON_KEYS)
    if unknown:
        raise ConfigError(f"{where} has unknown keys {unknown}; allowed: {sorted(JSON_KEYS)}")
    for key in ("conn_type", "host", "login", "password", "schema"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise ConfigError(f"{where}: {key} must be a string")
    return Connection(
        conn_id,
        f"env {where}",
        conn_type=_blank_to_none(data.get("conn_type")),
        host=_blank_to_none(data.get("host")),
        login=_blank_to_none(data.get("login")),
        password=_blank_to_none(data.get("password")),
        schema=_blank_to_none(data.get("schema")),
        port=_port(data.get("port"), where),
        extra=_extra(data.get("extra"), where),
    )


def _from_uri(conn_id: str, text: str, where: str) -> Connection:
    """Airflow's URI form (the same rules as ``airflow.models.Connection._parse_from_uri``)."""
    expected = "expected conn-type://login:password@host:port/schema?extra (percent-encoded) or a JSON object"
    schemes = text.count("://")
    if schemes == 0 or schemes > 2:
        raise ConfigError(f"{where} is neither JSON nor a connection URI; {expected}")
    conn_type, rest = text.split("://", 1)
    if not conn_type or not all(c.isalnum() or c in "+-._" for c in conn_type):
        raise ConfigError(f"{where}: the connection type before '://' is missing or malformed; {expected}")
    protocol = None
    if schemes == 2:
        protocol, rest = rest.split("://", 1)
        if not protocol or "@" in protocol or ":" in protocol:
            raise ConfigError(f"{where}: malformed host protocol; write conn-type://protocol://login:password@host")
    try:
        parts = urlsplit("//" + rest)
        port = parts.port
    except ValueError:  # non-numeric or out-of-range port, bad IPv6 brackets (the text may hold the secret)
        raise ConfigError(
            f"{where}: the part after host: is not a port number, or the host is malformed "
            f"(percent-encode ':', '/', '@', '?' and '#' inside login and password); {expected}"
        ) from None
    hostname = unquote(parts.hostname or "")
    if "/" in hostname:  # an encoded path-like host: keep Airflow's behaviour (netloc after the '@')
        hostname = parts.netloc.rsplit("@", 1)[-1]
    host = f"{protocol}://{hostname}" if protocol and hostname else (hostname or None)
    extra: dict[str, Any] = {}
    if parts.query:
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        if EXTRA_KEY in query:
            extra = _extra(query[EXTRA_KEY], where)
        else:
            for key, value in query.items():
                try:
                    extra[key] = json.loads(value) if value else value
                except ValueError:
                    extra[key] = value
    schema = unquote(parts.path[1:]) if parts.path[1:] else None
    return Connection(
        conn_id,
        f"env {where}",
        conn_type=conn_type.replace("-", "_"),
        host=host,
        login=_blank_to_none(unquote(parts.username)) if parts.username else None,
        password=_blank_to_none(unquote(parts.password)) if parts.password else None,
        schema=schema,
        port=port,
        extra=extra,
    )


def parse(conn_id: str, value: str, where: str | None = None) -> Connection:
    """Parse one connection value (JSON or URI); ``where`` names it in errors (default: its variable)."""
    where = where or env_var(conn_id)
    text = value.strip()
    if not text:
        raise ConfigError(f"{where} is set but empty; unset it or give the connection as JSON or a URI")
    return _from_json(conn_id, text, where) if text.startswith("{") else _from_uri(conn_id, text, where)


def in_airflow_task() -> bool:
    """True inside an Airflow task (the task runner exports the task's context as AIRFLOW_CTX_*)."""
    return bool(os.environ.get("AIRFLOW_CTX_DAG_ID"))


def _from_airflow(conn_id: str) -> Connection | None:
    """Airflow's own lookup (secrets backend, metadata DB); None when the connection does not exist.

    Only "not found" is expected here; any other error of Airflow's lookup surfaces as it is, with a note
    naming the connection and what to check.
    """
    from airflow.sdk.bases.hook import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        conn = BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return None
    except Exception as exc:
        exc.add_note(
            f"while reading the Airflow connection {conn_id!r}: check the Airflow secrets backend / "
            f"metadata DB, or set {env_var(conn_id)}"
        )
        raise
    where = f"the Airflow connection {conn_id!r}"
    return Connection(
        conn_id,
        "airflow",
        conn_type=_blank_to_none(conn.conn_type),
        host=_blank_to_none(conn.host),
        login=_blank_to_none(conn.login),
        password=_blank_to_none(conn.password),
        schema=_blank_to_none(conn.schema),
        port=_port(conn.port, where),
        extra=_extra(conn.extra, where),
    )  # not extra_dejson: it turns malformed JSON into {}


def get(conn_id: str) -> Connection | None:
    """The connection ``conn_id`` from the environment, else (inside an Airflow task) from Airflow; else None."""
    value = os.environ.get(env_var(conn_id))
    if value is not None:
        return parse(conn_id, value)
    if in_airflow_task():
        return _from_airflow(conn_id)
    return None
