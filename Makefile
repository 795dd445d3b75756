# polyboard: `make demo` runs the pipeline on the embedded default; `make test` runs the tests.
SHELL := /bin/bash
export DAGSTER_HOME ?= $(CURDIR)/.polyboard/dagster
export DUCKDB_PATH ?= $(CURDIR)/.polyboard/warehouse.duckdb
SIM_PORT ?= 8030
API_PORT ?= 8000
WEBSERVER_PORT ?= 3000
DOCS_PORT ?= 8080
DOCS_DIR ?= $(CURDIR)/.polyboard/dbt-docs
UV ?= uv

.PHONY: install instance demo pipeline test lint format docs clean

install:
	@command -v $(UV) >/dev/null || python3 -m pip install --quiet uv
	$(UV) sync --frozen

# The Dagster instance: SQLite under DAGSTER_HOME, or PostgreSQL storage when DAGSTER_PG_URL is set.
# Installed only when DAGSTER_HOME has none: an operator's own dagster.yaml is never replaced.
instance:
	@mkdir -p "$(DAGSTER_HOME)"
	@if [ -e "$(DAGSTER_HOME)/dagster.yaml" ]; then :; \
	elif [ -n "$$DAGSTER_PG_URL" ]; then cp dagster.postgres.yaml "$(DAGSTER_HOME)/dagster.yaml"; \
	else cp dagster.yaml "$(DAGSTER_HOME)/dagster.yaml"; fi

# The local subgraph (live), one full sync, then the Dagster UI, the daemon and the API until
# Ctrl-C. With DATABASE_URL/REDIS_URL set it runs on PostgreSQL and Redis; with all three
# SUBGRAPH_*_URL set it reads those endpoints instead of starting the local subgraph.
demo: install instance
	$(UV) run python -m orchestration.demo --sim-port $(SIM_PORT) --api-port $(API_PORT) \
		--webserver-port $(WEBSERVER_PORT)

# full_sync_job once, headless, against whatever the environment points at; non-zero on failure.
pipeline: install instance
	$(UV) run python -m orchestration.pipeline

# dbt docs (lineage, model and column descriptions) for the warehouse the pipeline builds.
DBT_ENV = $(UV) run python -c 'import os, shlex; from orchestration.lib.dbt_env import \
	dbt_environment as e; print("; ".join("export " + k + "=" + shlex.quote(v) for k, v in \
	e(os.environ.get("DATABASE_URL"), os.environ["DUCKDB_PATH"]).items()))'
docs: install
	@rm -rf "$(DOCS_DIR)" && mkdir -p "$(dir $(DUCKDB_PATH))"
	eval "$$($(DBT_ENV))" && $(UV) run dbt docs generate --project-dir dbt_project \
		--profiles-dir dbt_project --target-path "$(DOCS_DIR)"
	@echo "dbt docs on http://127.0.0.1:$(DOCS_PORT) (Ctrl-C stops)"
	$(UV) run python -m http.server $(DOCS_PORT) --bind 127.0.0.1 --directory "$(DOCS_DIR)"

test: install
	$(UV) run pytest

lint:
	$(UV) run ruff check .
	$(UV) run ruff format --check .

format:
	$(UV) run ruff check --fix .
	$(UV) run ruff format .

clean:
	rm -rf .polyboard dbt_project/target dbt_project/logs
