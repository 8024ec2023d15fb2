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

.PHONY: install demo test test-fast bench airflow dashboard clean

$(STAMP): requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

## Generate a 30-day, 2-shop world, serve it through the mock Open API, run the daily pipeline
## over the whole window through Airflow, publish the warehouse and print where to look.
demo: install
	$(PY) -m douyin_etl demo

## The whole test suite (CI runs exactly this).
test: install
	$(PY) -m pytest -q

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
