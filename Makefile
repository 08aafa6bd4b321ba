# TickStock: `make run` (app on SQLite + simulator), `make test` (whole suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test bench lint format clean

$(PY):
	@echo "Creating $(VENV) and installing TickStock (first run only)..."
	@$(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	@$(PY) -m pip install -q --disable-pip-version-check -e .
	@touch $@

$(TEST_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[test,dev]'
	touch $@ $(STAMP)

# Quiet by default: warnings and the first-start password only (LOG_LEVEL=INFO for all).
run: $(STAMP)
	@$(VENV)/bin/tickstock init-db > /dev/null
	@echo "TickStock on http://$${HOST:-127.0.0.1}:$${PORT:-8050}  (Ctrl-C stops)"
	@LOG_LEVEL=$${LOG_LEVEL:-WARNING} $(VENV)/bin/tickstock serve

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
