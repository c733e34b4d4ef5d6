# The two commands of the README: `make run` and `make test`. Each sets itself up.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
ENGINE := .tools/mongo-java-server/classes/EmbeddedMongo.class

.PHONY: run test lint typecheck unit install install-dev wrk engine java chromium bench bench-pages screenshots clean

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

# Runtime packages only (requirements.txt): what `make run` needs. The tools of `make test` and
# `make bench` (ruff, mypy, stubs, pytest, playwright, starlette) are in requirements-dev.txt.
$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

# The embedded MongoDB-protocol engine (mongo-java-server): jars from Maven Central, our launcher
# compiled by javac, both into .tools/. Java 17 and Maven are Debian's.
java:
	command -v javac >/dev/null && command -v mvn >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jdk-headless maven)

$(ENGINE): tools/mongo-java-server/pom.xml tools/mongo-java-server/src/EmbeddedMongo.java scripts/install_mongo_java_server.sh
	$(MAKE) java
	./scripts/install_mongo_java_server.sh

engine: $(ENGINE)

# The size of the demo world written on the first start (`make run DEMO_CACHE_ENTRIES=20000`);
# later starts load the saved one (remove .data/mongo to seed another size).
DEMO_CACHE_ENTRIES ?= 100000
DEMO_JOBS ?= 10000
# The demo's stand-in workers (demo/fleet, embedded engine only): DEMO_WORKERS=2,2,1 (light,
# medium,heavy; or a total such as 5; 0 for none) and DEMO_FAILURE_RATE=0.1, read by scripts/run.py.

run: install engine
	ADMIN_UVICORN_NUM_WORKERS=$${ADMIN_UVICORN_NUM_WORKERS:-2} DEMO_CACHE_ENTRIES=$(DEMO_CACHE_ENTRIES) \
		DEMO_JOBS=$(DEMO_JOBS) exec $(PY) scripts/run.py

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install-dev
	$(VENV)/bin/mypy .

# The browser tests drive Debian's chromium (never a browser downloaded by Playwright).
chromium:
	command -v chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

unit: install-dev engine chromium
	$(PY) -m pytest -n 2 -p no:cacheprovider

test: lint typecheck unit

# Refresh the README's screenshots (docs/screenshots/): only this target writes them.
screenshots: install-dev engine chromium
	SCREENSHOTS_DIR=docs/screenshots $(PY) -m pytest -p no:cacheprovider -q tests/test_pages_browser.py

# wrk (Debian's) drives the load figures of the bench.
wrk:
	command -v wrk || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk)

# The read routes at 100k then 1M cache entries (BENCH_SIZES=100k for the first only), each
# route's time next to its bare query time, and the load figures against the Starlette reference.
BENCH_SIZES ?= 100k 1M
bench: install-dev engine wrk
	for size in $(BENCH_SIZES); do $(PY) bench/read_endpoints.py --size $$size || exit 1; done

# Every console page and JSON read route over HTTP on the served app and a 100k-entry world
# (exit status 1 if one is over 300 ms).
bench-pages: install-dev engine
	$(PY) bench/pages.py

clean:
	rm -rf $(VENV) .tools .data
