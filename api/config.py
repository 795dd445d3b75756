"""API settings: every knob is an environment variable (DESIGN 4b), read once at startup."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from orchestration.lib.warehouse import DEFAULT_DUCKDB_PATH, normalize_pg_url

DEFAULT_SNAPSHOT_DIR = ".polyboard/snapshot"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    database_url: str | None = Field(
        None,
        description="PostgreSQL warehouse (`postgresql://` or `postgresql+asyncpg://`); "
        "unset serves the published DuckDB snapshot.",
    )
    duckdb_path: str = Field(DEFAULT_DUCKDB_PATH, description="The pipeline's DuckDB file.")
    snapshot_dir: str = Field(
        DEFAULT_SNAPSHOT_DIR,
        description="Where the pipeline publishes read-only Parquet snapshots of the marts "
        "(DuckDB mode); the API never opens the pipeline's DuckDB file.",
    )
    snapshot_poll_seconds: float = Field(
        1.0, gt=0, description="How often the current publication is re-read."
    )
    pg_pool_min_size: int = Field(1, ge=0)
    pg_pool_max_size: int = Field(10, ge=1)
    pg_statement_timeout_ms: int = Field(
        5000, ge=0, description="PostgreSQL cancels a read running longer (0: no limit)."
    )
    pg_retry_seconds: float = Field(
        2.0,
        gt=0,
        description="While PostgreSQL is unreachable, requests get 503 at once and one "
        "request (or the publication poller) tries it again this often.",
    )
    duckdb_statement_timeout_ms: int = Field(
        5000, ge=0, description="A snapshot read running longer is interrupted (0: no limit)."
    )
    costly_query_concurrency: int = Field(
        2,
        ge=1,
        description="Uncached leaderboard rankings run at once per process; the others wait "
        "(at most a statement timeout), leaving connections and threads to other reads.",
    )

    redis_url: str | None = Field(None, description="Redis cache; unset: in-process TTL cache.")
    cache_key_prefix: str = Field("polyboard", description="Prefix of every cache key.")
    redis_retry_seconds: float = Field(
        5.0, gt=0, description="After a Redis failure, how long to serve uncached first."
    )
    leaderboard_cache_ttl: int = Field(60, ge=0)
    trader_cache_ttl: int = Field(300, ge=0)
    trader_stats_cache_ttl: int = Field(180, ge=0)
    memory_cache_max_bytes: int = Field(
        64 * 1024 * 1024,
        ge=64 * 1024,
        description="Bound of the in-process cache in bytes (keys, bodies and per-entry "
        "overhead); the oldest writes are evicted first. Also bounds the near cache.",
    )
    local_cache_ttl: float = Field(
        1.0,
        ge=0,
        description="With Redis: seconds a response also stays in the process (0: off).",
    )

    min_trader_trades: int = Field(10, ge=0)
    min_trader_volume: float = Field(100, ge=0)

    admin_api_token: SecretStr | None = None
    dagster_graphql_url: str = "http://127.0.0.1:3000/graphql"
    dagster_location_name: str = Field(
        "polyboard", description="Code location name (`[tool.dagster] code_location_name`)."
    )
    # `@dg.definitions` code locations hold one unnamed repository, which Dagster names so.
    dagster_repository_name: str = "__repository__"
    dagster_timeout_seconds: float = Field(10.0, gt=0)

    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated origins allowed by CORS (`*` for any); empty: CORS off.",
    )
    gzip_minimum_size: int = Field(1000, ge=0)

    @field_validator("database_url", "redis_url", "admin_api_token", mode="before")
    @classmethod
    def _empty_is_unset(cls, value):
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("database_url")
    @classmethod
    def _libpq_url(cls, value: str | None) -> str | None:
        return normalize_pg_url(value) if value else None

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value):
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @property
    def warehouse_kind(self) -> str:
        return "postgres" if self.database_url else "duckdb"


@lru_cache
def get_settings() -> Settings:
    return Settings()
