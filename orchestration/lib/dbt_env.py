"""The environment dbt runs with: its target and connection, derived from the warehouse."""

from __future__ import annotations

import os
from urllib.parse import unquote, urlsplit

from orchestration.lib.warehouse import normalize_pg_url


def dbt_environment(database_url: str | None, duckdb_path: str | None) -> dict[str, str]:
    """Variables read by `dbt_project/profiles.yml`: PostgreSQL when a URL is set, else DuckDB."""
    env = {
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        # A job that builds part of the graph (update_stats_job) runs only the tests whose
        # every parent it builds: a test tying two marts together waits for both.
        "DBT_INDIRECT_SELECTION": "cautious",
    }
    if database_url:
        url = urlsplit(normalize_pg_url(database_url))
        env.update(
            POLYBOARD_DBT_TARGET="postgres",
            POLYBOARD_PG_HOST=url.hostname or "127.0.0.1",
            POLYBOARD_PG_PORT=str(url.port or 5432),
            POLYBOARD_PG_USER=unquote(url.username or "postgres"),
            POLYBOARD_PG_PASSWORD=unquote(url.password or ""),
            POLYBOARD_PG_DBNAME=url.path.lstrip("/") or "postgres",
        )
    else:
        env.update(
            POLYBOARD_DBT_TARGET="duckdb",
            DUCKDB_PATH=os.path.abspath(duckdb_path or ".polyboard/warehouse.duckdb"),
        )
    return env
