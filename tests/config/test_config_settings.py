"""Settings: malformed values are one-line errors naming the variable; paths are absolute; no demo fallbacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from douyin_etl import config
from douyin_etl.config import ConfigError


@pytest.mark.parametrize(
    "name, value, fn, expected",
    [
        ("DOUYIN_LOOKBACK_DAYS", "abc", config.lookback_days, "whole number"),
        ("DOUYIN_LOOKBACK_DAYS", "-1", config.lookback_days, "whole number"),
        ("DOUYIN_API_QPS", "-1", config.api_qps, "> 0"),
        ("DOUYIN_API_QPS", "nan", config.api_qps, "> 0"),
        ("DOUYIN_API_QPS", "fast", config.api_qps, "> 0"),
        ("DOUYIN_TRACKING", "some", config.doudian_tracking, "'all' or 'none'"),
        ("DOUYIN_LAKE_DIR", "ftp://host/lake", config.lake_root, "unsupported URL scheme"),
    ],
)
def test_malformed_setting_is_one_line_naming_it(monkeypatch, name, value, fn, expected):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as err:
        fn()
    assert isinstance(err.value, ValueError)
    assert name in str(err.value) and expected in str(err.value) and "\n" not in str(err.value)


def test_numeric_settings_and_their_documented_defaults(monkeypatch):
    monkeypatch.delenv("DOUYIN_LOOKBACK_DAYS", raising=False)
    monkeypatch.delenv("DOUYIN_API_QPS", raising=False)
    assert (config.lookback_days(), config.api_qps()) == (3, 50.0)
    monkeypatch.setenv("DOUYIN_LOOKBACK_DAYS", " 0 ")
    monkeypatch.setenv("DOUYIN_API_QPS", "2.5")
    assert (config.lookback_days(), config.api_qps()) == (0, 2.5)


def test_relative_and_home_paths_are_absolute(monkeypatch, tmp_path):
    """Issue 12 point 9: relative DOUYIN_* paths reached dbt (which runs in dbt_project/) as they were."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DOUYIN_WAREHOUSE", "warehouse/x.duckdb")
    monkeypatch.setenv("DOUYIN_LAKE_DIR", "./lake/")
    monkeypatch.setenv("DOUYIN_STATE_DIR", "~/state")
    monkeypatch.setenv("DOUYIN_DROPS_DIR", "in/../drops")
    monkeypatch.setenv("DOUYIN_WORLD_DIR", "world")
    assert config.warehouse_path() == tmp_path / "warehouse" / "x.duckdb"
    assert config.lake_root() == str(tmp_path / "lake")
    assert config.state_dir() == tmp_path / "home" / "state"
    assert config.drops_dir() == tmp_path / "drops"
    assert config.world_dir() == tmp_path / "world"
    monkeypatch.delenv("DOUYIN_WAREHOUSE")
    monkeypatch.setenv("DOUYIN_HOME", "base")
    assert config.warehouse_path() == tmp_path / "base" / "warehouse" / "douyin.duckdb"
    monkeypatch.setenv("DOUYIN_LAKE_DIR", "s3://bucket/prefix/")
    assert config.lake_root() == "s3://bucket/prefix"


def test_drops_dir_has_no_default(monkeypatch):
    """Issue 12 points 1 and 6: DOUYIN_DROPS_DIR defaulted to the demo world's drops."""
    monkeypatch.delenv("DOUYIN_DROPS_DIR", raising=False)
    with pytest.raises(ConfigError, match=r"DOUYIN_DROPS_DIR is not set.*one sub-folder per business day"):
        config.drops_dir()
    monkeypatch.setenv("DOUYIN_DROPS_DIR", "  ")
    with pytest.raises(ConfigError, match="DOUYIN_DROPS_DIR"):
        config.drops_dir()


def test_buyer_key_secret_from_env_or_connection_else_an_error(monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_DOUYIN_BUYER_KEY", raising=False)
    monkeypatch.delenv("DOUYIN_BUYER_KEY_SECRET", raising=False)
    with pytest.raises(ConfigError, match=r"DOUYIN_BUYER_KEY_SECRET.*douyin_buyer_key"):
        config.buyer_key_secret()
    monkeypatch.setenv("DOUYIN_BUYER_KEY_SECRET", "short")
    with pytest.raises(ConfigError, match="too short") as err:
        config.buyer_key_secret()
    assert "short'" not in str(err.value).replace("too short", "")
    monkeypatch.setenv("DOUYIN_BUYER_KEY_SECRET", "env-secret-0123456789")
    assert config.buyer_key_secret() == "env-secret-0123456789"
    monkeypatch.setenv(
        "AIRFLOW_CONN_DOUYIN_BUYER_KEY", json.dumps({"conn_type": "generic", "password": "conn-secret-0123456789"})
    )
    assert config.buyer_key_secret() == "conn-secret-0123456789"  # the connection wins
    monkeypatch.setenv("AIRFLOW_CONN_DOUYIN_BUYER_KEY", "generic://login@")
    with pytest.raises(ConfigError, match="password of the connection 'douyin_buyer_key'"):
        config.buyer_key_secret()


def test_run_refuses_before_doing_anything_when_a_setting_is_missing(monkeypatch, tmp_path):
    """``run`` outside Airflow with only AIRFLOW_CONN_DOUDIAN_DEFAULT (no shops, no drops): one error, nothing run."""
    from datetime import date

    from douyin_etl.orchestration.run import run_range

    for name in (
        "DOUYIN_API_BASE_URL",
        "DOUYIN_APP_KEY",
        "DOUYIN_APP_SECRET",
        "DOUYIN_SHOP_IDS",
        "DOUYIN_DROPS_DIR",
        "AIRFLOW_CTX_DAG_ID",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DOUYIN_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("DOUYIN_LAKE_DIR", str(tmp_path / "lake"))
    monkeypatch.setenv("AIRFLOW_CONN_DOUDIAN_DEFAULT", "http://k:secret-value@gateway.example.com:443/https")
    with pytest.raises(ConfigError, match="no shops to extract"):
        run_range(date(2026, 10, 1), date(2026, 10, 1))
    monkeypatch.setenv("DOUYIN_SHOP_IDS", "1001")
    with pytest.raises(ConfigError, match="no Open API authorisation for shop 1001.*doudian_shop_1001"):
        run_range(date(2026, 10, 1), date(2026, 10, 1))
    monkeypatch.setenv("DOUYIN_SHOP_GRANT", "authorization_self")
    with pytest.raises(ConfigError, match="DOUYIN_DROPS_DIR is not set"):
        run_range(date(2026, 10, 1), date(2026, 10, 1))
    assert not Path(tmp_path / "state").exists() and not Path(tmp_path / "lake").exists()
