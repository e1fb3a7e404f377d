# Two commands on a fresh machine with python3 and make: `make preflight` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The load test's own virtualenv: the inference server and Locust cannot share the Pulumi one (serving/requirements.txt).
LOADTEST_VENV := .venv-loadtest
LOADTEST_ARGS ?=
STACK ?= dev
PREFLIGHT_ARGS ?=
PACKS_ARGS ?=
BENCH_ARGS ?= --dev

.PHONY: preflight test lint typecheck catalogue packs policy-bench bench loadtest clean

# The virtualenv is rebuilt whenever a requirements file changes.
$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(LOADTEST_VENV)/.installed: serving/requirements.txt
	$(PYTHON) -m venv $(LOADTEST_VENV)
	$(LOADTEST_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(LOADTEST_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r serving/requirements.txt
	touch $@

## The pull-request gate, offline: evaluate a stack (default dev), run every policy pack, write all report formats
## to out/ (terminal, Markdown, SARIF, JUnit, JSON). Exit 1 on a mandatory violation. PREFLIGHT_ARGS adds options,
## e.g. PREFLIGHT_ARGS="--baseline base.json" (docs/preflight.md).
preflight: $(VENV)/.installed
	$(PY) -m preflight $(STACK) --tree --format all --output out $(PREFLIGHT_ARGS)

## Lint, type check and the test suite (pytest exit code 5, "no tests collected", fails the target). The suite
## includes a short, bounded load test against the real inference server, so the load-test virtualenv is built too
## (LOADTEST_REQUIRED=1: those tests fail instead of skipping when it is missing).
test: $(VENV)/.installed $(LOADTEST_VENV)/.installed lint typecheck
	LOADTEST_REQUIRED=1 $(PY) -m pytest

## Train the sample model, serve it on 127.0.0.1 with Azure ML's inference server, load it with Locust and gate on
## the endpoint's SLO, then measure one instance's capacity (docs/load-testing.md). Reports in out/loadtest/.
loadtest: $(VENV)/.installed $(LOADTEST_VENV)/.installed
	$(PY) -m loadtest run $(STACK) fraud-detection/score $(LOADTEST_ARGS)
	$(PY) -m loadtest capacity $(STACK) fraud-detection/score

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy

## Regenerate docs/policies.md from the packs' metadata (a test fails when it is stale).
catalogue: $(VENV)/.installed
	$(PY) -m policies.catalogue

## Assemble each policy pack into dist/policy-packs/<pack>: a folder that runs and publishes on its own
## (docs/policy-packs.md). PACKS_ARGS="--venv" also creates each pack's virtualenv (needs the package index).
packs: $(VENV)/.installed
	$(PY) -m policies.build $(PACKS_ARGS)

## Time pack start-up and analysis of a stack through the analyzer protocol.
policy-bench: $(VENV)/.installed
	$(PY) -m preflight.pack_bench $(STACK)

## Benchmark the preflight on generated platforms of 1, 10, 100 and 300 teams (docs/performance.md).
bench: $(VENV)/.installed
	$(PY) -m preflight.bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(LOADTEST_VENV) .pytest_cache .mypy_cache .ruff_cache out dist
