# TickStock: `make run` (app on SQLite + simulator), `make test` (whole suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test bench lint format clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[test,dev]'
	touch $@ $(STAMP)

run: $(STAMP)
	$(VENV)/bin/tickstock init-db
	$(VENV)/bin/tickstock serve

test: $(TEST_STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

# make bench BENCH_ARGS="analytics --quick --json out.json"
bench: $(TEST_STAMP)
	$(PY) bench/run_all.py $(BENCH_ARGS)

lint: $(TEST_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(TEST_STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) data/tickstock.db*
