"""Settings from the environment (DESIGN 4b) and CORS."""

from __future__ import annotations

import httpx
from apitest_support import LiveServer, settings_for

from api.config import Settings


def test_settings_from_environment(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://u:p@db.example:5433/polyboard")
    monkeypatch.setenv("REDIS_URL", "")
    monkeypatch.setenv("ADMIN_API_TOKEN", "")
    monkeypatch.setenv("CORS_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("LEADERBOARD_CACHE_TTL", "30")
    monkeypatch.setenv("MIN_TRADER_VOLUME", "250.5")
    settings = Settings(_env_file=None)
    assert settings.database_url == "postgresql://u:p@db.example:5433/polyboard"
    assert settings.warehouse_kind == "postgres"
    assert settings.redis_url is None and settings.admin_api_token is None
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
    assert settings.leaderboard_cache_ttl == 30 and settings.min_trader_volume == 250.5


def test_defaults(monkeypatch):
    # `make` exports DUCKDB_PATH and friends: the defaults show only with none of them set.
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    settings = Settings(_env_file=None)
    assert settings.warehouse_kind == "duckdb"
    assert settings.duckdb_path == ".polyboard/warehouse.duckdb"
    assert settings.snapshot_dir == ".polyboard/snapshot"
    assert (settings.leaderboard_cache_ttl, settings.trader_cache_ttl) == (60, 300)
    assert settings.trader_stats_cache_ttl == 180
    assert (settings.min_trader_trades, settings.min_trader_volume) == (10, 100)
    assert settings.dagster_graphql_url == "http://127.0.0.1:3000/graphql"
    assert settings.cors_origins == []


def test_cors_allows_configured_origins(request):
    settings = settings_for("duckdb", request, cors_origins=["https://app.example"])
    with LiveServer(settings) as server, httpx.Client(base_url=server.url) as client:
        preflight = client.options(
            "/api/v1/traders/leaderboard",
            headers={
                "Origin": "https://app.example",
                "Access-Control-Request-Method": "GET",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://app.example"
        other = client.get("/health", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
