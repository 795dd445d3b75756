"""Market endpoint: one market's metadata and its best traders."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request, Response
from pydantic import Field

from api import queries
from api.cache import params_hash
from api.deps import StateDep
from api.models import MarketDetailPublic, MarketPublic, MarketTraderPublic, dump_json
from api.params import _TraderRouteQuery, openapi_parameters, parse_query
from api.routes import API_PREFIX
from api.routes.traders import NOT_FOUND, UNAVAILABLE, _cache_parts, _json

router = APIRouter(prefix=f"{API_PREFIX}/markets", tags=["markets"])

ConditionPath = Annotated[
    str,
    Path(
        description="The market's condition id: 0x and 64 hex digits (any case).",
        pattern=r"^0[xX][0-9a-fA-F]{64}$",
    ),
]


class MarketQuery(_TraderRouteQuery):
    """Query of GET /markets/{condition_id}."""

    limit: int = Field(10, ge=1, le=100, description="Top traders listed, 1 to 100.")


@router.get(
    "/{condition_id}",
    response_model=MarketDetailPublic,
    summary="One market: its metadata and its top traders by PnL",
    responses={**NOT_FOUND, **UNAVAILABLE},
    openapi_extra={"parameters": openapi_parameters(MarketQuery)},
)
async def get_market(condition_id: ConditionPath, request: Request, state: StateDep) -> Response:
    """The market's Gamma metadata (question, outcomes, event, category, URL; a market Gamma
    lacks is named by its condition id) and its traders ranked by total PnL in it."""
    query = parse_query(MarketQuery, request)
    condition = condition_id.lower()
    warehouse = state.warehouse
    params = {"condition_id": condition}

    async def compute() -> bytes | None:
        market = await warehouse.fetch_one(queries.MARKET, params)
        if market is None:
            return None
        traders = await warehouse.fetch(queries.MARKET_TRADERS, {**params, "limit": query.limit})
        body = MarketDetailPublic(
            market=MarketPublic.model_validate(market),
            top_traders=[MarketTraderPublic.model_validate(t) for t in traders],
            traders=int(traders[0]["traders"]) if traders else 0,
            as_of=warehouse.as_of,
        )
        return dump_json(body, query.decimals)

    body = await state.cache.get_or_compute(
        "market",
        _cache_parts(query.decimals, condition, params_hash({"limit": query.limit})),
        state.settings.trader_cache_ttl,
        compute,
    )
    if body is None:
        raise HTTPException(404, f"no market {condition} in the marts")
    return _json(body)
