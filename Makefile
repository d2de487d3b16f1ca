# Two commands on a fresh machine (Python 3.11 + make):
#   make build   set up .venv, run `dbt build` over the sample ledger and
#                publish the marts as credits.duckdb (credit_ledger/build.py)
#   make test    set up .venv and run the whole test suite (lint, dbt build,
#                mf validate-configs, pytest with the dashboard's browser test
#                and the same project on PostgreSQL and Spark)
#   make dashboard   serve the dashboard over credits.duckdb on 127.0.0.1:$(DASHBOARD_PORT)

PYTHON ?= python3
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export DO_NOT_TRACK := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
# numba's compiled-kernel cache, kept out of the source tree
export NUMBA_CACHE_DIR ?= $(CURDIR)/.venv/numba-cache

DASHBOARD_PORT ?= 8501

.PHONY: setup build test test-engines lint dbt-build pytest bench bench-engines docs sample clean dashboard browser engines

# The Pythons the pinned packages support and the project is tested on;
# another is refused before anything is installed (Python 2 syntax on purpose).
PYTHON_RANGE := (3, 11) <= sys.version_info[:2] <= (3, 13)

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; ok = $(PYTHON_RANGE); ok or sys.stderr.write( \
		"Python %d.%d is not supported: use Python 3.11, 3.12 or 3.13, e.g. make PYTHON=python3.12\n" \
		% sys.version_info[:2]); sys.exit(0 if ok else 1)'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

setup: $(STAMP)

# $(call apt_install,PACKAGE,WHAT IS MISSING,WHAT TO INSTALL): a shell
# command that installs a Debian package with apt-get (sudo when not root),
# or says in one sentence what to install where apt-get is unavailable
apt_install = if ! command -v apt-get >/dev/null; then \
		echo "$(2) and apt-get is unavailable: install $(3)" >&2; exit 1; \
	fi; \
	sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	$$sudo apt-get update && $$sudo apt-get install -y $(1)

# The warehouse engines the test command also runs the project on: the
# optional packages (requirements-engines.txt) in .venv, Debian's PostgreSQL
# server binaries (installed when missing) and Java 17 for Spark.
ENGINE_STAMP := $(VENV)/.engines-installed

$(ENGINE_STAMP): $(STAMP) requirements-engines.txt
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-engines.txt
	touch $(ENGINE_STAMP)

engines: $(ENGINE_STAMP)
	@command -v java >/dev/null && command -v javac >/dev/null || { \
		echo "java and javac are not on PATH: install a JDK 17 (Debian: apt-get install" \
			"openjdk-17-jdk-headless); the Spark engine needs it" >&2; exit 1; }
	@# Spark's FIFO function, compiled from credit_ledger/java (when changed)
	$(BIN)/python -m credit_ledger.spark_fifo
	@command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
		$(call apt_install,postgresql,PostgreSQL's initdb is not on PATH,the PostgreSQL 15 \
			server binaries (the engine tests start a server)); }

# dbt writes credits.build.duckdb; a run that passed is copied over
# credits.duckdb, the file readers open (credit_ledger/build.py)
build: setup
	$(BIN)/python -m credit_ledger.build build

# lint (sqlfluff, one core) runs beside the sample build (dbt-build, about
# one core), then pytest
test: setup browser
	$(MAKE) --no-print-directory -j2 lint pytest

# the engine tests alone (`make test` runs them too): the same project on
# PostgreSQL and Spark (README, "Three engines"), a throwaway server and a
# local session, compared with DuckDB's sample build
ENGINE_TESTS := tests/python/test_engine_postgres.py tests/python/test_engine_spark.py
test-engines: setup engines dbt-build
	CREDITS_TEST_SAMPLE_DB=$(CURDIR)/credits.duckdb $(BIN)/pytest -n 2 --dist loadscope \
		$(ENGINE_TESTS)

# the dashboard's browser test drives Debian's chromium (never a downloaded
# browser); installed here when it is not on PATH
browser:
	@command -v chromium >/dev/null || { \
		$(call apt_install,chromium,chromium is not on PATH,Chromium so that \
			\`chromium\` is on PATH (the dashboard test needs it)); }

# credit_ledger/dashboard.py over the published file (make build first),
# read-only; DASHBOARD_PORT=8600 make dashboard for another port;
# DBT_TARGET=postgres make dashboard reads PostgreSQL's marts (CREDITS_PG_*)
dashboard: setup
	$(BIN)/streamlit run credit_ledger/dashboard.py \
		--server.address 127.0.0.1 --server.port $(DASHBOARD_PORT) \
		--server.headless true --browser.gatherUsageStats false \
		--client.toolbarMode viewer

# (duckdb's bindings print harmless "nanobind: leaked ..." lines when the
# dbt templater exits; they are filtered out)
# (its own target folder and database file: it runs beside the sample build)
lint: setup
	mkdir -p target/lint
	set -o pipefail; DBT_TARGET_PATH=target/lint CREDITS_DB_PATH=target/lint/lint.duckdb \
		$(BIN)/sqlfluff lint 2>&1 \
		| grep -v -E 'nanobind|leaked (instance|type|function)|skipped remainder|refleaks'

# then MetricFlow checks the semantic layer (target/semantic_manifest.json)
# against the file the build published, read-only (profiles.yml `published`)
dbt-build: setup
	$(BIN)/python -m credit_ledger.build build
	$(BIN)/dbt compile --select "resource_type:analysis"
	DBT_TARGET=published $(BIN)/mf validate-configs

# two workers (the machine's cores); a module's tests stay on one worker so
# that its shared build is made once, the longest modules first, the tests
# of modules that share nothing one by one (tests/python/conftest.py);
# modules that read the committed sample share the database dbt-build just
# published
pytest: setup engines dbt-build
	CREDITS_TEST_SAMPLE_DB=$(CURDIR)/credits.duckdb $(BIN)/pytest -n 2 --dist loadscope

bench: setup
	$(BIN)/python -m credit_ledger.benchmark

# load, whole build and FIFO on DuckDB, PostgreSQL (a throwaway server) and
# Spark (1 and 2 local cores), at 10^5 and 10^6 rows and on a skewed ledger
bench-engines: setup engines
	$(BIN)/python -m credit_ledger.engine_benchmark

docs: setup
	$(BIN)/dbt docs generate
	$(BIN)/dbt docs serve --port 8080

sample: setup
	$(BIN)/python -m credit_ledger.generate --out data/sample_ledger

clean:
	rm -rf $(VENV) target logs screenshots credits.duckdb credits.duckdb.wal \
		credits.build.duckdb credits.build.duckdb.wal .credits.duckdb.*.tmp
