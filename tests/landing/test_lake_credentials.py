"""Object-store lake credentials: where they come from and where they may (not) go.

No S3 server needed: these check ``douyin_etl.lake_credentials`` and how ``run_dbt`` hands the
credentials to dbt (environment only) with a stand-in dbt executable. The end-to-end S3 run is in
tests/scale/test_s3_lake.py (``make test-scale``).
"""

from __future__ import annotations

import json
import logging
import os
import stat
import sys

import pytest

from douyin_etl import lake_credentials as lc

SECRET = "lake-secret-for-unit-tests-9f2c"
_ENV = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL",
    "DOUYIN_S3_ENDPOINT_URL",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "DOUYIN_S3_ADDRESSING_STYLE",
    "DOUYIN_LAKE_CONN_ID",
    "AIRFLOW_CONN_DOUYIN_LAKE",
    "AIRFLOW_CONN_OTHER_LAKE",
)


@pytest.fixture
def clean_env(monkeypatch):
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_env_credentials_and_precedence(clean_env):
    clean_env.setenv("AWS_ACCESS_KEY_ID", "AKIA-TEST")
    clean_env.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    clean_env.setenv("AWS_ENDPOINT_URL", "http://generic:9000")
    clean_env.setenv("DOUYIN_S3_ENDPOINT_URL", "https://oss-cn-hangzhou.aliyuncs.com")
    clean_env.setenv("AWS_DEFAULT_REGION", "us-east-1")
    clean_env.setenv("AWS_REGION", "cn-hangzhou")
    clean_env.setenv("AWS_SESSION_TOKEN", "  ")  # blank = unset
    c = lc._from_env()
    assert (c.key, c.secret, c.endpoint_url, c.region, c.token, c.source) == (
        "AKIA-TEST",
        SECRET,
        "https://oss-cn-hangzhou.aliyuncs.com",
        "cn-hangzhou",
        None,
        "env",
    )
    assert SECRET not in repr(c) and "***" in repr(c)


def test_no_credentials_leaves_botocore_defaults(clean_env):
    c = lc._from_env()
    assert (c.key, c.secret, c.endpoint_url, c.region) == (None, None, None, None)
    assert lc.storage_options(c) == {"use_listings_cache": False}


def test_storage_options_for_s3fs(clean_env):
    c = lc.LakeCredentials("AK", SECRET, "http://127.0.0.1:9000", "us-east-1", token="tok", addressing_style="path")
    assert lc.storage_options(c) == {
        "use_listings_cache": False,
        "key": "AK",
        "secret": SECRET,
        "token": "tok",
        "endpoint_url": "http://127.0.0.1:9000",
        "client_kwargs": {"region_name": "us-east-1"},
        "config_kwargs": {"s3": {"addressing_style": "path"}},
    }


def test_dbt_settings_pick_the_s3_target_only_for_an_object_store(tmp_path):
    c = lc.LakeCredentials("AK", SECRET, None, "us-east-1")
    assert lc.dbt_settings(str(tmp_path / "lake"), c) == (None, {})
    assert lc.dbt_settings("file:///srv/lake", c) == (None, {})
    target, env = lc.dbt_settings("s3://bucket/prefix", c)
    assert target == lc.DBT_TARGET == "s3"
    assert env == {
        lc.DBT_ENV_KEY: "AK",
        lc.DBT_ENV_SECRET: SECRET,
        lc.DBT_ENV_TOKEN: "",
        lc.DBT_ENV_ENDPOINT: "",
        lc.DBT_ENV_REGION: "us-east-1",
        lc.DBT_ENV_ADDRESSING: "",
    }
    assert lc.DBT_ENV_SECRET.startswith("DBT_ENV_SECRET_")  # dbt scrubs these from its logs


def test_airflow_connection_wins_over_env(clean_env):
    clean_env.setenv("AWS_ACCESS_KEY_ID", "env-key")
    clean_env.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    clean_env.setenv("AWS_ENDPOINT_URL", "http://env:1")
    clean_env.setenv("DOUYIN_LAKE_CONN_ID", "other_lake")
    clean_env.setenv(
        "AIRFLOW_CONN_OTHER_LAKE",
        json.dumps(
            {
                "conn_type": "aws",
                "login": "conn-key",
                "password": SECRET,
                "extra": {
                    "endpoint_url": "http://minio:9000",
                    "region_name": "cn-shanghai",
                    "addressing_style": "path",
                },
            }
        ),
    )
    c = lc.lake_credentials()
    assert (c.key, c.secret, c.endpoint_url, c.region, c.addressing_style, c.source) == (
        "conn-key",
        SECRET,
        "http://minio:9000",
        "cn-shanghai",
        "path",
        "airflow:other_lake",
    )


def test_missing_airflow_connection_falls_back_to_env(clean_env):
    pytest.importorskip("airflow")
    import airflow  # noqa: F401 - "inside Airflow": the connection is looked up, and not found

    clean_env.setenv("AWS_ACCESS_KEY_ID", "env-key")
    clean_env.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    c = lc.lake_credentials()
    assert (c.key, c.source) == ("env-key", "env")


def test_storage_lake_uses_the_credentials(clean_env):
    pytest.importorskip("s3fs")
    from douyin_etl.storage import Storage

    clean_env.setenv("DOUYIN_LAKE_DIR", "s3://bucket/prefix/")
    clean_env.setenv("AWS_ACCESS_KEY_ID", "AK")
    clean_env.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    clean_env.setenv("DOUYIN_S3_ENDPOINT_URL", "http://127.0.0.1:9")
    st = Storage.lake()
    assert (st.root, st.protocol, st.is_local) == ("s3://bucket/prefix", "s3", False)
    assert st.fs.key == "AK" and st.fs.endpoint_url == "http://127.0.0.1:9"
    assert st.path("raw", "doudian") == "s3://bucket/prefix/raw/doudian"


def test_run_dbt_passes_credentials_in_the_environment_only(clean_env, tmp_path, monkeypatch, caplog):
    """A stand-in dbt records argv and env: ``--target s3``, the secret in env, never in args or logs."""
    from douyin_etl.warehousing import dbt_runner

    seen = tmp_path / "seen.json"
    fake = tmp_path / "dbt"
    fake.write_text(
        f"#!{sys.executable}\nimport json, os, sys\n"
        f"json.dump({{'argv': sys.argv, 'env': dict(os.environ)}}, open({str(seen)!r}, 'w'))\n"
        "print('fake dbt done')\n",
        encoding="utf-8",
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(dbt_runner, "dbt_executable", lambda: fake)
    clean_env.setenv("DOUYIN_LAKE_DIR", "s3://bucket/lake")
    clean_env.setenv("AWS_ACCESS_KEY_ID", "AK")
    clean_env.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    clean_env.setenv(lc.DBT_ENV_ENDPOINT, "http://stale:1")  # a stale value in the parent env never wins
    caplog.set_level(logging.DEBUG)
    run_dir = tmp_path / "run"
    result = dbt_runner.run_dbt(["build"], db_path=tmp_path / "wh.duckdb", run_dir=run_dir)
    got = json.loads(seen.read_text())
    argv = got["argv"]
    assert argv[argv.index("--target") + 1] == "s3"
    assert SECRET not in " ".join(argv)
    assert got["env"][lc.DBT_ENV_SECRET] == SECRET and got["env"][lc.DBT_ENV_KEY] == "AK"
    assert got["env"][lc.DBT_ENV_ENDPOINT] == "" and got["env"]["DOUYIN_LAKE_DIR"] == "s3://bucket/lake"
    assert SECRET not in caplog.text
    assert SECRET not in json.dumps(result.to_dict())
    assert not [p for p in run_dir.rglob("*") if p.is_file() and SECRET.encode() in p.read_bytes()]


def test_run_dbt_keeps_the_default_target_for_a_local_lake(clean_env, tmp_path, monkeypatch):
    from douyin_etl.warehousing import dbt_runner

    seen = tmp_path / "argv.json"
    fake = tmp_path / "dbt"
    fake.write_text(
        f"#!{sys.executable}\nimport json, os, sys\n"
        f"json.dump([sys.argv, sorted(os.environ)], open({str(seen)!r}, 'w'))\n",
        encoding="utf-8",
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(dbt_runner, "dbt_executable", lambda: fake)
    clean_env.setenv("DOUYIN_LAKE_DIR", str(tmp_path / "lake"))
    dbt_runner.run_dbt(["parse"], db_path=tmp_path / "wh.duckdb", run_dir=tmp_path / "run")
    argv, env_names = json.loads(seen.read_text())
    assert "--target" not in argv
    assert lc.DBT_ENV_SECRET not in env_names and os.environ.get(lc.DBT_ENV_SECRET) is None
