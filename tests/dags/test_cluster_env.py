"""``douyin-etl cluster-env``: the settings file every cluster component shares (no servers needed)."""

from __future__ import annotations

import stat

from douyin_etl.cli import main
from douyin_etl.orchestration import cluster

DB = "postgresql+psycopg2://airflow:pw@db.internal:5432/airflow"


def _parse(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))


def test_env_file_has_the_cluster_settings_and_fresh_shared_secrets(capsys):
    assert main(["cluster-env", "--db-url", DB, "--broker-url", "redis://redis:6379/0", "--api-port", "8081"]) == 0
    env = _parse(capsys.readouterr().out)
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == DB
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"] == "db+postgresql://airflow:pw@db.internal:5432/airflow"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:8081/execution/"
    assert env["AIRFLOW__SCHEDULER__STANDALONE_DAG_PROCESSOR"] == "True"
    assert env["AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE"] == "True"  # production schedules; only the test turns it off
    secrets = ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY", "AIRFLOW__CORE__FERNET_KEY")
    assert all(len(env[k]) >= 32 for k in secrets)
    assert main(["cluster-env", "--db-url", DB, "--broker-url", "redis://redis:6379/0"]) == 0
    again = _parse(capsys.readouterr().out)
    assert all(again[k] != env[k] for k in secrets)  # generated anew each time: generate once, share the file


def test_env_file_is_written_private_and_bad_settings_are_refused(tmp_path, capsys):
    out = tmp_path / "airflow-cluster.env"
    assert main(["cluster-env", "--db-url", DB, "--broker-url", "redis://r:6379/0", "--out", str(out)]) == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert _parse(out.read_text())["AIRFLOW__CELERY__BROKER_URL"] == "redis://r:6379/0"
    assert main(["cluster-env", "--db-url", "sqlite:////tmp/airflow.db", "--broker-url", "redis://r"]) == 2
    assert "PostgreSQL" in capsys.readouterr().err
    assert main(["cluster-env", "--db-url", DB, "--broker-url", "redis://r", "--api-port", "8793"]) == 2
    assert "log server" in capsys.readouterr().err
    assert cluster.result_backend_for("postgresql://a@h/db") == "db+postgresql://a@h/db"
