# Two commands on a fresh machine with python3 and make: `make preflight` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STACK ?= dev

.PHONY: preflight test lint typecheck catalogue policy-bench clean

# The virtualenv is rebuilt whenever a requirements file changes.
$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

## Offline plan of a stack (default dev): what `pulumi up` would create, with no cloud account or CLI.
preflight: $(VENV)/.installed
	$(PY) -m preflight $(STACK)

## Lint, type check and the test suite (pytest exit code 5, "no tests collected", fails the target).
test: $(VENV)/.installed lint typecheck
	$(PY) -m pytest

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy

## Regenerate docs/policies.md from the packs' metadata (a test fails when it is stale).
catalogue: $(VENV)/.installed
	$(PY) -m policies.catalogue

## Time pack start-up and analysis of a stack through the analyzer protocol.
policy-bench: $(VENV)/.installed
	$(PY) -m policies.bench $(STACK)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache out
