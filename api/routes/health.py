"""Liveness, readiness and Prometheus metrics (outside /api/v1)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.deps import StateDep
from api.models import HealthPublic, ReadyPublic
from api.warehouse import WarehouseUnavailable

router = APIRouter(tags=["health"])
log = logging.getLogger("polyboard.api")


@router.get("/health", response_model=HealthPublic, summary="The process is up")
async def health() -> HealthPublic:
    """Answers while the process runs; says nothing about the warehouse or the cache."""
    return HealthPublic(status="ok")


@router.get(
    "/ready",
    response_model=ReadyPublic,
    summary="Can the API serve data",
    responses={503: {"model": ReadyPublic, "description": "The marts cannot be read."}},
)
async def ready(state: StateDep) -> JSONResponse:
    """Ready when the marts can be read (PostgreSQL reachable, or a DuckDB snapshot loaded).
    A cache that is down does not make the API unready: answers then come from the warehouse."""
    warehouse = state.warehouse
    error = None
    try:
        await warehouse.ping()
    except Exception as exc:
        # The detail is for the log; the answer says what kind of trouble it is.
        log.warning("not ready: %s", exc)
        error = exc.reason if isinstance(exc, WarehouseUnavailable) else WarehouseUnavailable.reason
    body = ReadyPublic(
        status="ready" if error is None else "not_ready",
        warehouse=warehouse.kind,
        warehouse_ok=error is None,
        warehouse_error=error,
        cache=state.cache.backend.name,
        cache_status=await state.cache.backend.status(),
        version=warehouse.version,
        as_of=warehouse.as_of,
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if error is None else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format."}},
)
async def metrics() -> Response:
    """Request latencies by route, cache hits and misses, Redis state, publication switches."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
