# Two commands do all set-up: `make demo` and `make test`. See README.md.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint check venv browser wrk clean bench

$(STAMP): pyproject.toml requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || { echo "python3 -m venv failed: on Debian/Ubuntu run 'apt-get install python3-venv'"; exit 1; }
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c requirements.lock '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(PY) -m config.devservers demo

browser:
	@bash scripts/ensure-browser.sh

# The HTTP benchmarks drive their servers with wrk: Debian's package, installed when root (like chromium).
wrk:
	@bash scripts/ensure-wrk.sh

# mypy's django-stubs plugin imports the settings (development ones; it never connects to the database).
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	DEBUG=true DATABASE_URL=$${DATABASE_URL:-postgres://typecheck@127.0.0.1:5432/unused} \
		REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/0} $(VENV)/bin/mypy
	$(PY) scripts/quality_check.py
	$(PY) scripts/security_check.py

# Tests run with development settings (DEBUG on, development keys); tests/foundation checks production settings.
test: $(STAMP) browser lint
	DEBUG=$${DEBUG:-true} $(PY) -m config.devservers run -- $(PY) scripts/run_tests.py $(PYTEST_ARGS)

bench: $(STAMP) wrk
	$(PY) -m config.devservers run -- $(PY) -m bench.all --json

lock:
	$(PY) -m pip freeze --exclude-editable | grep -v '^contacts-sync' > requirements.lock

clean:
	rm -rf $(VENV) .data
