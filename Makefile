# The two commands of the README: `make run` and `make test`. Each sets itself up.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
FERRETDB := .tools/bin/ferretdb

.PHONY: run test lint typecheck unit install ferretdb chromium bench screenshots clean

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

install: $(VENV)/.installed

$(FERRETDB): scripts/build_ferretdb.sh
	./scripts/build_ferretdb.sh

ferretdb: $(FERRETDB)

run: install ferretdb
	ADMIN_UVICORN_NUM_WORKERS=$${ADMIN_UVICORN_NUM_WORKERS:-2} $(PY) scripts/run.py

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy .

# The browser tests drive Debian's chromium (never a browser downloaded by Playwright).
chromium:
	command -v chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

unit: install ferretdb chromium
	$(PY) -m pytest -n 2 -p no:cacheprovider

test: lint typecheck unit

# Refresh the README's screenshots (docs/screenshots/): only this target writes them.
screenshots: install ferretdb chromium
	SCREENSHOTS_DIR=docs/screenshots $(PY) -m pytest -p no:cacheprovider -q tests/test_pages_browser.py

bench: install ferretdb
	$(PY) bench/read_endpoints.py

clean:
	rm -rf $(VENV) .tools .data
