# The two commands of the README: `make demo` and `make test`. Both create .venv when missing.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
SERVERS_ROOT ?= /tmp/lakefeed-test-servers
export LAKEFEED_TEST_SERVERS_ROOT := $(SERVERS_ROOT)

.PHONY: demo test test-unit lint servers-start servers-stop bench reliability clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Reinstall when the packaging changes; the stamp records what was installed.
$(VENV)/.installed-dev: pyproject.toml examples/lakefeed-memory/pyproject.toml \
		examples/lakefeed-lines/pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[all,dev]" -e examples/lakefeed-memory \
		-e examples/lakefeed-lines
	touch $@

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[all]"
	touch $@

demo: $(VENV)/.installed
	$(PY) examples/demo.py

servers-start:
	bash tests/servers/start.sh

servers-stop:
	bash tests/servers/stop.sh

# Starts the five test servers, runs every test, and stops the servers whatever the outcome.
test: $(VENV)/.installed-dev
	bash tests/servers/start.sh
	set -a; source $(SERVERS_ROOT)/run/servers.env; set +a; \
	$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	bash tests/servers/stop.sh; exit $$rc

# Tests that need no server and no browser (a quick loop while editing).
test-unit: $(VENV)/.installed-dev
	$(PY) -m pytest -m "not servers and not browser" $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check core plugins tests examples benchmarks reliability
	$(VENV)/bin/ruff format --check core plugins tests examples benchmarks reliability
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy benchmarks reliability
	$(VENV)/bin/lint-imports --no-cache

bench: $(VENV)/.installed-dev
	bash tests/servers/start.sh
	set -a; source $(SERVERS_ROOT)/run/servers.env; set +a; \
	$(PY) benchmarks/run.py $(BENCH_ARGS); rc=$$?; bash tests/servers/stop.sh; exit $$rc

# The reliability suite (docs/reliability.md): SIGKILL trials, a fault proxy, the rewrite race
# on every backend, SSRF probes and bad inputs; prints one table, exits 1 when a case deviates.
# RELIABILITY_ARGS="--quick" takes a couple of minutes; "--seed N" repeats a run's choices.
reliability: $(VENV)/.installed-dev
	bash tests/servers/start.sh
	set -a; source $(SERVERS_ROOT)/run/servers.env; set +a; \
	$(PY) reliability/run.py $(RELIABILITY_ARGS); rc=$$?; bash tests/servers/stop.sh; exit $$rc

clean:
	rm -rf $(VENV) .demo .pytest_cache .mypy_cache .ruff_cache
