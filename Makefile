# The two commands: `make run` (the demo) and `make test` (lint, types, layering, tests).
# Both create .venv on first use and reinstall only when pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.stamp-run
STAMP_DEV := $(VENV)/.stamp-dev

.PHONY: run test lint typecheck layering pytest bench clean

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
	$(BIN)/aircharge demo --headless

test: lint typecheck layering pytest

lint: $(STAMP_DEV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP_DEV)
	$(BIN)/mypy

layering: $(STAMP_DEV)
	$(BIN)/lint-imports

pytest: $(STAMP_DEV)
	@.ci/ensure-postgres || echo "PostgreSQL is not reachable: its tests will be skipped (CI fails instead)"
	@.ci/ensure-packages || echo "Debian packages missing: their tests will be skipped (CI fails instead)"
	$(BIN)/pytest

clean:
	rm -rf $(VENV) demo-data .mypy_cache .ruff_cache .pytest_cache
