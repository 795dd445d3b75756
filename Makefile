# polyboard: `make demo` runs the pipeline on the embedded default; `make test` runs the tests.
SHELL := /bin/bash
export DAGSTER_HOME ?= $(CURDIR)/.polyboard/dagster
export DUCKDB_PATH ?= $(CURDIR)/.polyboard/warehouse.duckdb
SIM_PORT ?= 8030
UV ?= uv

.PHONY: install instance demo pipeline test lint format docs clean

install:
	@command -v $(UV) >/dev/null || python3 -m pip install --quiet uv
	$(UV) sync --frozen

# The Dagster instance: SQLite under DAGSTER_HOME, or PostgreSQL storage when DAGSTER_PG_URL is set.
instance:
	@mkdir -p "$(DAGSTER_HOME)"
	@if [ -n "$$DAGSTER_PG_URL" ]; then cp dagster.postgres.yaml "$(DAGSTER_HOME)/dagster.yaml"; \
	else cp dagster.yaml "$(DAGSTER_HOME)/dagster.yaml"; fi

demo: install instance
	$(UV) run python -m orchestration.demo --sim-port $(SIM_PORT)

pipeline: install instance
	$(UV) run python -m orchestration.pipeline

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
