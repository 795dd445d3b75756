"""How fresh each source was at its last read, from the same publication as every answer."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api import queries
from api.deps import StateDep
from api.models import DecimalFormat, SourcePublic, SourcesPublic, dump_json
from api.routes import API_PREFIX
from api.routes.traders import UNAVAILABLE, _json

router = APIRouter(prefix=API_PREFIX, tags=["sources"])


async def sources_body(state: StateDep) -> bytes:
    """The cached JSON body of the sources' freshness (the API route and the web pages)."""
    warehouse = state.warehouse

    async def compute() -> bytes:
        rows = await warehouse.fetch(queries.SOURCE_FRESHNESS)
        body = SourcesPublic(
            sources=[SourcePublic.model_validate(r) for r in rows], as_of=warehouse.as_of
        )
        return dump_json(body, DecimalFormat.number)

    return await state.cache.get_or_compute(
        "sources", (), state.settings.leaderboard_cache_ttl, compute
    )


@router.get(
    "/sources",
    response_model=SourcesPublic,
    summary="How fresh each source was at its last read",
    responses={**UNAVAILABLE},
)
async def get_sources(state: StateDep) -> Response:
    """Per source (the three subgraphs, the chain, the market metadata): the time of the newest
    block it served when it was last read, when that read landed, and the lag between them."""
    return _json(await sources_body(state))
