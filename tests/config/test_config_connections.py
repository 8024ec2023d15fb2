"""AIRFLOW_CONN_* read without Airflow: both of Airflow's forms, the same fields Airflow reads, strict errors.

Airflow's own parser (``airflow.models.Connection``) is the yardstick for the URI and JSON forms.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from douyin_etl import config, connections
from douyin_etl.config import ConfigError

SECRET = "s3cr:t/with@odd#chars?&=+ 中"
VAR = "AIRFLOW_CONN_DOUDIAN_DEFAULT"


def _airflow(uri: str):
    from airflow.models.connection import Connection

    return Connection(conn_id="x", uri=uri)


@pytest.mark.parametrize(
    "uri",
    [
        f"http://app_key:{quote(SECRET, safe='')}@openapi-fxg.jinritemai.com:443/https?shop_ids=%5B%221001%22%2C%221002%22%5D",
        f"http://app_key:{quote(SECRET, safe='')}@openapi-fxg.jinritemai.com/https?__extra__="
        + quote(json.dumps({"shop_ids": ["1001"], "note": "x"}), safe=""),
        f"http://https://app_key:{quote(SECRET, safe='')}@gateway.example.com:8443",
        "aws://AKIA:secret@/?endpoint_url=http%3A%2F%2Fminio%3A9000&region_name=cn-hangzhou",
    ],
)
def test_uri_form_reads_what_airflow_reads(uri):
    ours = connections.parse("x", uri)
    theirs = _airflow(uri)
    assert (ours.conn_type, ours.host, ours.login, ours.password, ours.schema, ours.port) == (
        theirs.conn_type,
        theirs.host or None,
        theirs.login,
        theirs.password,
        theirs.schema or None,
        theirs.port,
    )
    assert ours.extra == theirs.extra_dejson


def test_json_form_and_credentials_from_it(monkeypatch):
    for name in ("DOUYIN_API_BASE_URL", "DOUYIN_APP_KEY", "DOUYIN_APP_SECRET", "DOUYIN_SHOP_IDS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(
        VAR,
        json.dumps(
            {
                "conn_type": "http",
                "host": "openapi-fxg.jinritemai.com",
                "schema": "https",
                "login": "k",
                "password": SECRET,
                "extra": {"shop_ids": [1001, "1002"]},
            }
        ),
    )
    creds = config.doudian_credentials()
    assert (creds.base_url, creds.app_key, creds.app_secret) == ("https://openapi-fxg.jinritemai.com", "k", SECRET)
    assert creds.source == f"env {VAR}" and SECRET not in repr(creds)
    assert config.doudian_shop_ids() == ["1001", "1002"]
    monkeypatch.setenv("DOUYIN_SHOP_IDS", "2001, 2002,")  # the variable wins over the extra
    assert config.doudian_shop_ids() == ["2001", "2002"]


def test_uri_connection_outside_airflow_is_used_not_the_demo(monkeypatch):
    """Issue 12 point 6: only AIRFLOW_CONN_DOUDIAN_DEFAULT set, outside Airflow -> that gateway, never the demo's."""
    for name in ("DOUYIN_API_BASE_URL", "DOUYIN_APP_KEY", "DOUYIN_APP_SECRET", "AIRFLOW_CTX_DAG_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(VAR, f"http://prod_key:{quote(SECRET, safe='')}@gateway.example.com:8443/https")
    creds = config.doudian_credentials()
    assert (creds.base_url, creds.app_key, creds.app_secret) == ("https://gateway.example.com:8443", "prod_key", SECRET)


@pytest.mark.parametrize(
    "value, what",
    [
        (
            '{"conn_type": "http", "host": "https://g.example.com", "login": "k", "password": "' + SECRET + '"',
            "not valid JSON",
        ),
        ('{"host": ["https://g.example.com"], "login": "k", "password": "' + SECRET + '"}', "host must be a string"),
        ('{"conn_type": "http", "hots": "https://g.example.com", "password": "' + SECRET + '"}', "unknown keys"),
        ('{"host": "https://g.example.com", "login": "k", "password": "' + SECRET + '", "port": "eighty"}', "port"),
        (f"http://k:{SECRET}@g.example.com/https", "port number"),  # an unencoded secret: '/' ends the netloc
        ("openapi-fxg.jinritemai.com", "neither JSON nor a connection URI"),
        ("   ", "empty"),
        ('{"host": "https://g.example.com", "login": "k"}', "no password (app secret)"),
        ('{"host": "g.example.com", "login": "k", "password": "' + SECRET + '"}', "no protocol"),
        ('{"host": "ftp://g.example.com", "login": "k", "password": "' + SECRET + '"}', "base URL"),
    ],
)
def test_malformed_connection_is_one_line_naming_the_variable_never_the_secret(monkeypatch, value, what):
    """Issue 12 point 6: a malformed connection used to fall back silently to the demo gateway and secret."""
    monkeypatch.setenv(VAR, value)
    monkeypatch.setenv("DOUYIN_API_BASE_URL", "http://127.0.0.1:18080")  # never a fallback for a broken connection
    monkeypatch.setenv("DOUYIN_APP_KEY", config.DEMO_APP_KEY)
    monkeypatch.setenv("DOUYIN_APP_SECRET", config.DEMO_APP_SECRET)
    with pytest.raises(ConfigError) as err:
        config.doudian_credentials()
    message = str(err.value)
    assert isinstance(err.value, ValueError) and "\n" not in message
    assert what in message and ("AIRFLOW_CONN_DOUDIAN_DEFAULT" in message or "doudian_default" in message)
    assert SECRET not in message and "s3cr" not in message and "odd" not in message


def test_no_connection_and_no_env_names_both_ways(monkeypatch):
    for name in (VAR, "DOUYIN_API_BASE_URL", "DOUYIN_APP_KEY", "DOUYIN_APP_SECRET", "AIRFLOW_CTX_DAG_ID"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(
        ConfigError,
        match=r"AIRFLOW_CONN_DOUDIAN_DEFAULT.*DOUYIN_API_BASE_URL, DOUYIN_APP_KEY and "
        r"DOUYIN_APP_SECRET",
    ) as err:
        config.doudian_credentials()
    assert "\n" not in str(err.value)
    monkeypatch.setenv("DOUYIN_API_BASE_URL", "https://g.example.com")
    with pytest.raises(ConfigError, match="DOUYIN_APP_KEY, DOUYIN_APP_SECRET not set"):
        config.doudian_credentials()
    monkeypatch.setenv("DOUYIN_APP_KEY", "k")
    monkeypatch.setenv("DOUYIN_APP_SECRET", SECRET)
    creds = config.doudian_credentials()
    assert (creds.base_url, creds.source) == ("https://g.example.com", "env DOUYIN_*")


def test_no_shops_is_an_error_saying_how_to_set_them(monkeypatch):
    """Issue 12 point 6: without DOUYIN_SHOP_IDS one shop was extracted and the run failed later, elsewhere."""
    monkeypatch.delenv("DOUYIN_SHOP_IDS", raising=False)
    monkeypatch.setenv(
        VAR, json.dumps({"conn_type": "http", "host": "https://g.example.com", "login": "k", "password": SECRET})
    )
    with pytest.raises(ConfigError, match=r"DOUYIN_SHOP_IDS.*shop_ids.*doudian_default"):
        config.doudian_shop_ids()
    from douyin_etl.sources.doudian.extract import shops_to_extract

    with pytest.raises(ConfigError, match="DOUYIN_SHOP_IDS"):
        shops_to_extract()
    monkeypatch.setenv("DOUYIN_SHOP_IDS", "1001;1002")
    with pytest.raises(ConfigError, match="malformed shop ids"):
        config.doudian_shop_ids()


def test_inside_an_airflow_task_a_missing_connection_is_none_and_env_applies(monkeypatch, airflow_home):
    """Inside a task (AIRFLOW_CTX_DAG_ID) Airflow's backend is asked; not found there -> DOUYIN_* settings."""
    monkeypatch.delenv(VAR, raising=False)
    monkeypatch.setenv("AIRFLOW_CTX_DAG_ID", "some_dag")
    monkeypatch.setenv("DOUYIN_API_BASE_URL", "https://g.example.com")
    monkeypatch.setenv("DOUYIN_APP_KEY", "k")
    monkeypatch.setenv("DOUYIN_APP_SECRET", SECRET)
    assert connections.get("doudian_default") is None  # asked Airflow (its metadata DB): not there
    assert config.doudian_credentials().base_url == "https://g.example.com"


def test_unusable_airflow_home_does_not_matter_for_an_env_connection(tmp_path):
    """Issue 12 point 6: with an AIRFLOW_HOME whose config Airflow cannot load, main fell back to the demo
    gateway 127.0.0.1:18080 and the demo secret. The env connection is read without importing Airflow."""
    import os
    import subprocess
    import sys

    home = tmp_path / "airflow"
    home.mkdir()
    (home / "airflow.cfg").write_text(
        "[core]\nexecutor = NoSuchExecutor\n[database]\nsql_alchemy_conn = nosuchdb://x\n", encoding="utf-8"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOUYIN_API", "DOUYIN_APP", "AIRFLOW_CTX"))}
    env.update(
        AIRFLOW_HOME=str(home), **{VAR: f"http://prod_key:{quote(SECRET, safe='')}@gateway.example.com:8443/https"}
    )
    code = (
        "import sys; from douyin_etl import config; c = config.doudian_credentials(); "
        "print(c.base_url, c.app_key, c.app_secret == sys.argv[1], 'airflow' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code, SECRET], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["https://gateway.example.com:8443", "prod_key", "True", "False"]
