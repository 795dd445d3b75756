"""The polyboard read API: `uv run uvicorn api.main:app`.

Serves the dbt marts (traders_v2, trader_stats, trader_markets, leaderboard) from
PostgreSQL, or from the pipeline's published DuckDB snapshot, with a Redis (or in-process)
response cache stamped by the marts publication; admin endpoints launch Dagster jobs.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse

from api.config import Settings, get_settings
from api.deps import AppState
from api.metrics import MetricsMiddleware
from api.models import WALLET_EXAMPLE, WALLET_HELP
from api.routes import API_PREFIX, admin, health, markets, reconciliation, sources, traders
from api.warehouse import WarehouseUnavailable
from api.web import routes as web

__all__ = ["API_PREFIX", "app", "create_app"]

DESCRIPTION = f"""
Polymarket trader analytics: leaderboards, trader profiles, daily statistics and positions,
computed by the polyboard pipeline (Dagster extraction of the Polymarket subgraphs, dbt marts).

- Money is USDC; prices are in [0, 1]. PnL follows average-cost accounting: realized on
  sells, merges and redemptions, unrealized = shares x (mark - average price).
- `decimals=string` writes amounts, shares, prices and rates as exact decimal strings
  (default: JSON numbers, which most readers hold as float64).
- Times are UTC, written with `Z` (`2026-04-20T15:04:05Z`); days are UTC calendar days.
- Windows (1d, 7d, 30d, all) end at `as_of`, the newest extracted event, not the wall clock.
- Wallets are `0x` + 40 hex digits ({WALLET_HELP}); any case is accepted, answers are
  lower-case. Example: `{WALLET_EXAMPLE}`.
- Query parameters: one left out takes its default; an empty or repeated one is a 422;
  unknown ones are ignored. Days are `YYYY-MM-DD`.
- Responses are cached per marts publication: a new publication is visible at once.
- `/api/v1/admin/*` needs `Authorization: Bearer <ADMIN_API_TOKEN>`.
"""

TAGS = [
    {"name": "traders", "description": "Leaderboards and trader profiles from the marts."},
    {
        "name": "reconciliation",
        "description": "How far the positions agree with Polymarket's pnl subgraph.",
    },
    {"name": "admin", "description": "Launch and watch the pipeline's Dagster jobs."},
    {"name": "health", "description": "Liveness, readiness and Prometheus metrics."},
]

log = logging.getLogger("polyboard.api")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = await AppState.start(settings)
        app.state.polyboard = state
        log.info(
            "polyboard API: warehouse %s, cache %s, publication %s",
            state.warehouse.kind,
            state.cache.backend.name,
            state.warehouse.version,
        )
        try:
            yield
        finally:
            await state.stop()

    app = FastAPI(
        title="polyboard",
        summary="Polymarket trader analytics API",
        description=DESCRIPTION,
        version="1.0.0",
        lifespan=lifespan,
        openapi_tags=TAGS,
        docs_url="/docs",
        redoc_url="/redoc",
    )
    app.include_router(traders.router)
    app.include_router(markets.router)
    app.include_router(sources.router)
    app.include_router(reconciliation.router)
    app.include_router(admin.router)
    app.include_router(health.router)
    web.install(app)

    @app.exception_handler(WarehouseUnavailable)
    async def warehouse_unavailable(request: Request, exc: WarehouseUnavailable) -> JSONResponse:
        # The message names paths, SQL and driver errors: the operator reads it in the log,
        # the client gets the plain reason.
        log.warning("%s %s: 503, %s", request.method, request.url.path, exc)
        return JSONResponse({"detail": exc.reason}, status_code=503, headers={"Retry-After": "5"})

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Say what a wallet looks like instead of quoting the regular expression.
        errors = []
        for error in exc.errors():
            if error.get("type") == "string_pattern_mismatch" and error.get("loc", ())[-1:] == (
                "wallet_address",
            ):
                error = {**error, "msg": f"wallet_address must be {WALLET_HELP}"}
            errors.append(error)
        return await request_validation_exception_handler(request, RequestValidationError(errors))

    app.add_middleware(GZipMiddleware, minimum_size=settings.gzip_minimum_size, compresslevel=5)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(MetricsMiddleware)
    return app


app = create_app()
