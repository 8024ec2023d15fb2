"""Airflow cluster mode settings: PostgreSQL metadata, CeleryExecutor on Redis, separate components.

The embedded default (``local_airflow``) is one process tree on SQLite. A cluster runs the same DAGs
with four kinds of long-lived components, each its own process (on one machine or many):

- ``scheduler`` — creates runs, queues task instances to Celery;
- ``dag-processor`` — parses ``dags/`` and serializes the DAGs into the metadata DB;
- ``api-server`` — the UI, the public REST API (``/api/v2``) and the Execution API the workers call;
- ``celery-worker`` — runs task instances (and serves their logs on ``worker_log_server_port``).

``cluster_env`` gives the ``AIRFLOW__*`` variables every component shares (the same dict for all of
them: the JWT secret and the API secret key must match, or components reject each other's tokens);
``env_file`` writes them for ``douyin-etl cluster-env``. Starting and supervising the components is the
deployment's job (systemd, Kubernetes, docs/deploy.md); the scale test starts them with its own
harness (``tests/scale/cluster_harness.py``: processes, REST client).
"""

from __future__ import annotations

import secrets
from pathlib import Path

from douyin_etl import config

WORKER_LOG_SERVER_PORT = 8793  # Airflow's default; the api-server must not use it


def generate_secret() -> str:
    """A random secret for ``jwt_secret`` / ``api_secret_key`` (generate once, share with every component)."""
    return secrets.token_urlsafe(32)


def generate_fernet_key() -> str:
    """A Fernet key (encrypts connection passwords and variables in the metadata DB)."""
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def cluster_env(
    *,
    sql_alchemy_conn: str,
    broker_url: str,
    result_backend: str,
    home: Path,
    api_port: int,
    jwt_secret: str,
    api_secret_key: str,
    fernet_key: str = "",
    api_host: str = "127.0.0.1",
    parallelism: int = 4,
    worker_concurrency: int = 2,
    max_active_tasks_per_dag: int = 4,
    worker_log_server_port: int = WORKER_LOG_SERVER_PORT,
    admin_user: str = "admin",
    passwords_file: Path | None = None,
    use_job_schedule: bool = True,
    dags_folder: Path = config.DAGS_DIR,
    logging_level: str = "INFO",
) -> dict[str, str]:
    """The ``AIRFLOW__*`` variables of a PostgreSQL + CeleryExecutor/Redis cluster rooted at ``home``.

    ``sql_alchemy_conn``: ``postgresql+psycopg2://user[:password]@host:port/db`` (the metadata DB);
    ``broker_url``: ``redis://host:port/0``; ``result_backend``: ``db+postgresql://…`` (Celery task
    results in the same Postgres). ``jwt_secret`` and ``api_secret_key`` must be identical for every
    component (``generate_secret()`` once). Sized for 2 cores by default: ``parallelism`` 4 task
    instances across the cluster, ``worker_concurrency`` 2 per Celery worker. ``api_port`` must differ
    from ``worker_log_server_port`` (8793: the worker's log server). ``use_job_schedule=False`` stops
    the scheduler from creating timetable runs (only triggered runs happen: the test profile).
    Users come from the simple auth manager (``admin_user`` with role admin, password in
    ``passwords_file``, see ``write_passwords_file``); production uses a real auth manager.
    """
    if api_port == worker_log_server_port:
        raise ValueError(
            f"api_port {api_port} is the Celery worker's log server port; pick another "
            f"(or move the log server with worker_log_server_port=)"
        )
    if not sql_alchemy_conn.startswith("postgresql"):
        raise ValueError("cluster mode needs PostgreSQL metadata: sql_alchemy_conn=postgresql+psycopg2://…")
    home = Path(home)
    api_url = f"http://{api_host}:{api_port}"
    env = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__PARALLELISM": str(parallelism),
        "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": str(max_active_tasks_per_dag),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api_url}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{admin_user}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords_file or home / "passwords.json"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sql_alchemy_conn,
        "AIRFLOW__CELERY__BROKER_URL": broker_url,
        "AIRFLOW__CELERY__RESULT_BACKEND": result_backend,
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(worker_concurrency),
        "AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER": "1",
        "AIRFLOW__CELERY__SYNC_PARALLELISM": "1",
        "AIRFLOW__SCHEDULER__STANDALONE_DAG_PROCESSOR": "True",
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": str(use_job_schedule),
        "AIRFLOW__API__HOST": api_host,
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API__BASE_URL": api_url,
        "AIRFLOW__API__SECRET_KEY": api_secret_key,
        "AIRFLOW__API_AUTH__JWT_SECRET": jwt_secret,
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(worker_log_server_port),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": logging_level,
    }
    if fernet_key:
        env["AIRFLOW__CORE__FERNET_KEY"] = fernet_key
    return env


def result_backend_for(sql_alchemy_conn: str) -> str:
    """Celery's result backend in the metadata DB: ``postgresql+psycopg2://…`` -> ``db+postgresql://…``."""
    scheme, sep, rest = sql_alchemy_conn.partition("://")
    if not sep or not scheme.startswith("postgresql"):
        raise ValueError("expected a PostgreSQL URL such as postgresql+psycopg2://user:pw@host:5432/airflow")
    return f"db+postgresql://{rest}"


def env_file(env: dict[str, str]) -> str:
    """``env`` as an environment file (systemd ``EnvironmentFile=``, ``docker --env-file``, a Kubernetes
    Secret via ``--from-env-file``): one ``KEY=value`` per line, sorted, secrets included."""
    header = (
        "# Airflow cluster settings for every component (scheduler, dag-processor, api-server, workers).\n"
        "# Contains secrets (JWT secret, API secret key, Fernet key, DB password): keep it mode 0600 or in\n"
        "# a secrets store; generate it once and give every component the same file. docs/deploy.md\n"
    )
    return header + "".join(f"{k}={v}\n" for k, v in sorted(env.items()))
