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

.PHONY: install install-scale demo test test-fast test-scale bench airflow dashboard clean

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

## Generate a 30-day, 2-shop world, serve it through the mock Open API, run the daily pipeline
## over the whole window through Airflow, publish the warehouse and print where to look.
demo: install
	$(PY) -m douyin_etl demo

## The whole test suite (CI runs exactly this).
test: install
	$(PY) -m pytest -q

## The scale-out suite: Airflow on PostgreSQL + Celery/Redis, an S3 (moto) lake, the marts on Spark.
## Needs Debian's postgresql, redis-server and a Java 17 runtime (.ci/run installs them).
test-scale: install-scale
	$(PY) -m pytest -q --scale tests/scale

test-fast: install
	$(PY) -m pytest -q -m "not slow"

SF ?= 1
bench: install
	$(PY) -m bench.run --sf $(SF)

airflow: install
	$(PY) -m douyin_etl airflow

## Read-only operator dashboard over the published warehouse on http://127.0.0.1:8501/.
dashboard: install
	$(PY) -m douyin_etl dashboard

clean:
	rm -rf var lake warehouse .pytest_cache
