# Two entry points: `make demo` (run the whole pipeline on the embedded default) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DBT_VERSION_CHECK := false
export GX_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1
export AIRFLOW__CORE__LOAD_EXAMPLES := False

.PHONY: install install-scale install-lint lint lint-ruff lint-format lint-mypy lint-sql demo test test-slow test-scale bench airflow dashboard clean

$(STAMP): requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

## Scale-out extras (Celery/Postgres providers, s3fs + moto, dbt-spark + pyspark) on top of the lock.
SCALE_STAMP := $(VENV)/.installed-scale
$(SCALE_STAMP): $(STAMP) requirements-scale.lock
	$(PY) -m pip install --quiet -r requirements-scale.lock
	touch $(SCALE_STAMP)

install-scale: $(SCALE_STAMP)

## Linters in their own venv (requirements-lint.lock: ruff, sqlfluff + its dbt templater, mypy, pre-commit), so
## their pins never move the product's. CI runs `make lint` before `make test`.
LINT_VENV  := .venv-lint
LINT_STAMP := $(LINT_VENV)/.installed
$(LINT_STAMP): requirements-lint.lock
	test -x $(LINT_VENV)/bin/python || $(PYTHON) -m venv $(LINT_VENV)
	$(LINT_VENV)/bin/python -m pip install --quiet --upgrade "pip>=24"
	$(LINT_VENV)/bin/python -m pip install --quiet -r requirements-lint.lock
	touch $(LINT_STAMP)

install-lint: $(LINT_STAMP)

## ruff (lint + format check), mypy (types, against the product's venv), sqlfluff (the dbt models, compiled
## by the dbt templater against an empty scratch warehouse and lake: no data needed). `make -k lint` runs
## all four even when one fails (CI does).
lint: lint-ruff lint-format lint-mypy lint-sql

lint-ruff: $(LINT_STAMP)
	$(LINT_VENV)/bin/ruff check .

lint-format: $(LINT_STAMP)
	$(LINT_VENV)/bin/ruff format --check .

lint-mypy: install $(LINT_STAMP)
	$(LINT_VENV)/bin/mypy --python-executable $(PY)

lint-sql: $(LINT_STAMP)
	scratch=$$(mktemp -d) && trap 'rm -rf "$$scratch"' EXIT && \
	DOUYIN_DBT_DB_PATH=$$scratch/lint.duckdb DOUYIN_LAKE_DIR=$$scratch/lake \
	DBT_TARGET_PATH=$$scratch/target DBT_LOG_PATH=$$scratch/logs PYTHONPATH=$(CURDIR) \
	$(LINT_VENV)/bin/sqlfluff lint dbt_project

## Generate a 30-day, 2-shop world, serve it through the mock Open API, run the whole window through Airflow
## as one douyin_daily run (a line per step as it finishes), publish the warehouse, then print the run
## report's page and the commands to try next.
demo: install
	$(PY) -m douyin_etl demo

## The quick suite (≤ 10 min on 2 cores): everything not marked slow.
test: install
	$(PY) -m pytest -q -m "not slow"

## The slow suite: Airflow runs, dbt builds over generated worlds, the tests of the one published warehouse
## (marked `slow`; tests/conftest.py marks every test that reads it). CI runs it after `make test`.
test-slow: install
	$(PY) -m pytest -q -m slow

## The scale-out suite: Airflow on PostgreSQL + Celery/Redis, an S3 (moto) lake, the marts on Spark.
## Needs Debian's postgresql, redis-server and a Java 17 runtime (.ci/run installs them).
test-scale: install-scale
	$(PY) -m pytest -q --scale tests/scale

SF ?= 1
bench: install
	$(PY) -m bench.run --sf $(SF)

## Airflow (scheduler, dag-processor, triggerer, UI) on http://127.0.0.1:8080/ with this project's DAGs; prints the
## URL and the login at every start (user admin; DOUYIN_AIRFLOW_PASSWORD=… to choose the password). Ctrl-C stops it.
airflow: install
	$(PY) -m douyin_etl airflow

## Read-only operator dashboard over the published warehouse on http://127.0.0.1:8501/.
dashboard: install
	$(PY) -m douyin_etl dashboard

clean:
	rm -rf var lake warehouse .pytest_cache .mypy_cache .ruff_cache
