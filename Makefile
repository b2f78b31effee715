# The two commands: `make run` (the demo, in the terminal simulator) and `make test` (lint, types, layering, tests).
# Both create .venv on first use and reinstall only when pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.stamp-run
STAMP_DEV := $(VENV)/.stamp-dev
PEERS := tests/peers
STAMP_PEERS := $(PEERS)/node_modules/.stamp
# pytest workers (pytest-xdist): one per core. Tests take free ports and their own database
# (a SQLite file, a PostgreSQL schema), so they run side by side; TEST_WORKERS=0 runs in-process.
TEST_WORKERS ?= auto

.PHONY: run test lint typecheck layering pytest peers bench clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "aircharge needs Python >= 3.11; set PYTHON=python3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(STAMP_DEV): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@ $(STAMP_RUN)

run: $(STAMP_RUN)
	$(BIN)/aircharge demo

test: lint typecheck layering pytest

lint: $(STAMP_DEV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP_DEV)
	$(BIN)/mypy

layering: $(STAMP_DEV)
	$(BIN)/lint-imports

# Independent protocol peers from the npm registry (node-smpp); skipped where npm is missing.
$(STAMP_PEERS): $(PEERS)/package.json $(PEERS)/package-lock.json
	cd $(PEERS) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

peers:
	@if command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory $(STAMP_PEERS); \
	else echo "npm is missing: tests against node-smpp will be skipped (CI fails instead)"; fi

pytest: $(STAMP_DEV) peers
	@.ci/ensure-postgres || echo "PostgreSQL is not reachable: its tests will be skipped (CI fails instead)"
	@.ci/ensure-packages || echo "Debian packages missing: their tests will be skipped (CI fails instead)"
	$(BIN)/pytest -n $(TEST_WORKERS)

clean:
	rm -rf $(VENV) demo-data .mypy_cache .ruff_cache .pytest_cache $(PEERS)/node_modules
