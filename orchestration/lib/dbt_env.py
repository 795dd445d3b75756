"""The environment dbt runs with: its target and connection, derived from the warehouse."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

from orchestration.lib.warehouse import normalize_pg_url

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
PARTIAL_PARSE = "partial_parse.msgpack"


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
        # libpq session options, unless the operator set their own. The models chain CTEs
        # whose sizes PostgreSQL misjudges by orders of magnitude; it then JIT-compiles
        # queries that run for a second (2.3 s of compiling in one 11 s refresh model) and
        # merge-joins against sorted copies of whole tables. Without both, on the 1M-fill
        # bench, a refresh takes 41 s instead of 53 s and a full build 89 s instead of 98 s.
        # At the default work_mem (4 MB) the refresh's sorts and hashes of a long history
        # spill to disk: with 64 MB a refresh of the 5M-fill bench world takes 241 s instead
        # of 298 s, of the 1M one 109 s instead of 114 s (256 MB gains nothing more).
        env["PGOPTIONS"] = os.environ.get(
            "PGOPTIONS", "-c jit=off -c enable_mergejoin=off -c work_mem=64MB"
        )
    else:
        env.update(
            POLYBOARD_DBT_TARGET="duckdb",
            DUCKDB_PATH=os.path.abspath(duckdb_path or ".polyboard/warehouse.duckdb"),
        )
    return env


def dbt_command(*args: str, target: str, target_path: Path) -> list[str]:
    """`dbt <args>` as a subprocess of this interpreter, with its own target and log folders.

    Each invocation writes its artifacts under `target_path`, so invocations never share them.
    The project's parsed state (see `keep_parsed_state`) is copied in first, as dagster-dbt
    does for every invocation, so dbt re-parses only the files that changed since, and a timed
    invocation costs what one in production costs.
    """
    target_path.mkdir(parents=True, exist_ok=True)
    parsed = DBT_PROJECT_DIR / "target" / PARTIAL_PARSE
    if parsed.exists() and not (target_path / PARTIAL_PARSE).exists():
        shutil.copy(parsed, target_path / PARTIAL_PARSE)
    return [
        sys.executable,
        "-m",
        "dbt.cli.main",
        *args,
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target",
        target,
        "--target-path",
        str(target_path),
        "--log-path",
        str(target_path / "logs"),
    ]


def keep_parsed_state(target_path: Path) -> None:
    """Make an invocation's parsed state the project's, for the next invocation to start from.

    The state the code location prepares is parsed without the run's `--vars` and profile
    environment, and dbt re-parses the whole project when either differs, on every run. The
    state of the last invocation carries them, so the next one with the same settings parses
    only what changed. Replaced atomically: a reader sees the old file or the new one.
    """
    produced = target_path / PARTIAL_PARSE
    if not produced.exists():
        return
    kept = DBT_PROJECT_DIR / "target" / PARTIAL_PARSE
    kept.parent.mkdir(parents=True, exist_ok=True)
    staging = kept.with_name(f"{PARTIAL_PARSE}.{os.getpid()}")
    shutil.copyfile(produced, staging)
    os.replace(staging, kept)
