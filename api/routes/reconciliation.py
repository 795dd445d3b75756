"""How far the ledger agrees with Polymarket's pnl subgraph, from the same publication as every
answer (dbt_project/models/marts/position_reconciliation.sql has the classes)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api import queries
from api.deps import StateDep
from api.models import DecimalFormat, ReconciliationPublic, dump_json
from api.routes import API_PREFIX
from api.routes.traders import UNAVAILABLE, _json

router = APIRouter(prefix=API_PREFIX, tags=["reconciliation"])


async def reconciliation_body(state: StateDep) -> bytes:
    """The cached JSON body of the reconciliation summary."""
    warehouse = state.warehouse

    async def compute() -> bytes:
        row = await warehouse.fetch_one(queries.RECONCILIATION)
        body = ReconciliationPublic.model_validate({**row, "as_of": warehouse.as_of})
        return dump_json(body, DecimalFormat.number)

    return await state.cache.get_or_compute(
        "reconciliation", (), state.settings.leaderboard_cache_ttl, compute
    )


@router.get(
    "/reconciliation",
    response_model=ReconciliationPublic,
    summary="How far the positions agree with Polymarket's pnl subgraph",
    responses={**UNAVAILABLE},
)
async def get_reconciliation(state: StateDep) -> Response:
    """For every wallet Polymarket's pnl subgraph follows: the share of positions whose shares,
    average price, realized PnL and total bought agree with its UserPosition up to its
    rounding, and the positions whose difference the fees it leaves out, events one side lacks,
    or nothing (`other`) explain."""
    return _json(await reconciliation_body(state))
