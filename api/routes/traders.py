"""Trader endpoints: leaderboard, search, one trader, its daily statistics and positions.

Handlers return the cached JSON body as is (`Response`), so a cache hit costs one lookup and
no serialization; `response_model` still documents the shape in OpenAPI.
"""

from __future__ import annotations

import asyncio
import math
from decimal import Decimal

from fastapi import APIRouter, HTTPException, Request, Response

from api import queries
from api.cache import params_hash
from api.deps import AppState, StateDep, WalletPath
from api.metrics import LEADERBOARD_READS
from api.models import (
    DailyStatPublic,
    DecimalFormat,
    ErrorPublic,
    LeaderboardEntryPublic,
    LeaderboardPublic,
    MarketResultPublic,
    Order,
    PositionPublic,
    PositionsPublic,
    PositionStatus,
    RankPublic,
    Timeframe,
    TraderDetailPublic,
    TraderMetricsPublic,
    TraderPublic,
    TraderRiskPublic,
    TraderSearchPublic,
    TraderSearchResultPublic,
    TraderStatisticsPublic,
    dump_json,
)
from api.params import (
    LeaderboardQuery,
    PositionsQuery,
    SearchQuery,
    StatisticsQuery,
    TraderQuery,
    openapi_parameters,
    parse_query,
)
from api.routes import API_PREFIX

router = APIRouter(prefix=f"{API_PREFIX}/traders", tags=["traders"])

RECENT_POSITIONS = 10
CHART_DAYS = 30

NOT_FOUND = {404: {"model": ErrorPublic, "description": "No such trader in the marts."}}
VALIDATION_ERROR = {
    422: {
        "description": "Validation Error",
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}
        },
    }
}
UNAVAILABLE = {
    503: {"model": ErrorPublic, "description": "The marts cannot be read (none published yet)."}
}


def _json(body: bytes) -> Response:
    return Response(content=body, media_type="application/json")


def _pages(total: int, limit: int) -> int:
    return math.ceil(total / limit) if total else 0


def _cache_parts(decimals: DecimalFormat, *parts: str) -> tuple[str, ...]:
    # The body depends on how decimals are written; the default keeps the documented keys.
    return parts if decimals is DecimalFormat.number else (*parts, f"decimals={decimals.value}")


@router.get(
    "/leaderboard",
    response_model=LeaderboardPublic,
    summary="Ranked traders over a timeframe",
    responses={**UNAVAILABLE, **VALIDATION_ERROR},
    openapi_extra={"parameters": openapi_parameters(LeaderboardQuery)},
)
async def get_leaderboard(request: Request, state: StateDep) -> Response:
    """Traders eligible in the window (at least `min_trades` fills and `min_volume` USDC),
    ranked with SQL RANK() by the sort column: ties share a rank and display in wallet order.
    Windows end at `as_of`, the newest extracted event, not the wall clock."""
    return _json(await leaderboard_body(state, parse_query(LeaderboardQuery, request)))


async def leaderboard_body(state: AppState, query: LeaderboardQuery) -> bytes:
    """The cached JSON body of one leaderboard page (the API route and the web page)."""
    timeframe, category, sort_by, order, page, limit = (
        query.timeframe,
        query.category,
        query.sort_by,
        query.order,
        query.page,
        query.limit,
    )
    settings = state.settings
    min_trades = settings.min_trader_trades if query.min_trades is None else query.min_trades
    min_volume = settings.min_trader_volume if query.min_volume is None else query.min_volume
    # The threshold as written, not its binary float: SQL compares it with exact decimals.
    min_volume_exact = Decimal(repr(min_volume))
    params = {
        "sort_by": sort_by.value,
        "order": order.value,
        "min_trades": min_trades,
        "min_volume": min_volume,
        "page": page,
        "limit": limit,
    }
    warehouse = state.warehouse
    sql_params = {
        "min_trades": min_trades,
        "min_volume": min_volume_exact,
        "limit": limit,
        "offset": (page - 1) * limit,
    }
    by_category = category is not None
    if by_category:
        # Added only when given, so the keys of the all-markets board stay as they were.
        params["category"] = category.value
        sql_params["category"] = category.value

    async def ranked_page() -> tuple[list[dict], int]:
        rows = await warehouse.fetch_costly(
            queries.leaderboard(timeframe.value, sort_by.value, order.value, by_category),
            sql_params,
        )
        queries.rank_page(rows, sort_by.value)
        if rows:
            total = int(rows[0]["total_count"])
        elif page > 1:
            count = await warehouse.fetch_costly(
                queries.leaderboard_count(timeframe.value, by_category), sql_params
            )
            total = int(count[0]["total_count"]) if count else 0
        else:
            total = 0
        return rows, total

    async def compute() -> bytes:
        # marts.leaderboard ranks every market: a category board is ranked per request
        mart_total = (
            state.rankings.total(warehouse, timeframe.value, min_trades, min_volume)
            if sort_by.value in queries.MART_RANKS and order is Order.desc and not by_category
            else None
        )
        if mart_total is not None:
            LEADERBOARD_READS.labels("mart").inc()
            rows = await warehouse.fetch(
                queries.leaderboard_from_mart(sort_by.value),
                {**sql_params, "time_window": timeframe.value},
            )
            total = mart_total
        else:
            LEADERBOARD_READS.labels("ranked").inc()
            rows, total = await ranked_page()
        body = LeaderboardPublic(
            traders=[LeaderboardEntryPublic.model_validate(r) for r in rows],
            total=total,
            page=page,
            limit=limit,
            total_pages=_pages(total, limit),
            timeframe=timeframe,
            category=category,
            sort_by=sort_by,
            order=order,
            min_trades=min_trades,
            min_volume=min_volume_exact,
            as_of=warehouse.as_of,
        )
        return dump_json(body, query.decimals)

    return await state.cache.get_or_compute(
        "leaderboard",
        _cache_parts(query.decimals, timeframe.value, params_hash(params)),
        settings.leaderboard_cache_ttl,
        compute,
    )


@router.get(
    "/search",
    response_model=TraderSearchPublic,
    summary="Find traders by wallet prefix",
    responses={**UNAVAILABLE, **VALIDATION_ERROR},
    openapi_extra={"parameters": openapi_parameters(SearchQuery)},
)
async def search_traders(request: Request, state: StateDep) -> Response:
    """Wallets starting with `q` (case-insensitive), most active first (fills, then volume)."""
    return _json(await search_body(state, parse_query(SearchQuery, request)))


async def search_body(state: AppState, query: SearchQuery) -> bytes:
    """The cached JSON body of a wallet search (the API route and the web page)."""
    q, limit = query.q, query.limit
    prefix = q.lower()
    if not prefix.startswith("0x"):
        prefix = "0x" + prefix
    warehouse = state.warehouse

    async def compute() -> bytes:
        rows = await warehouse.fetch(queries.SEARCH, {"prefix": prefix + "%", "limit": limit})
        body = TraderSearchPublic(
            query=prefix, results=[TraderSearchResultPublic.model_validate(r) for r in rows]
        )
        return dump_json(body, query.decimals)

    return await state.cache.get_or_compute(
        "search",
        _cache_parts(query.decimals, params_hash({"prefix": prefix, "limit": limit})),
        state.settings.leaderboard_cache_ttl,
        compute,
    )


@router.get(
    "/{wallet_address}",
    response_model=TraderDetailPublic,
    summary="One trader: totals, window metrics, recent positions, chart",
    responses={**NOT_FOUND, **UNAVAILABLE},
    openapi_extra={"parameters": openapi_parameters(TraderQuery)},
)
async def get_trader(wallet_address: WalletPath, request: Request, state: StateDep) -> Response:
    """Lifetime totals, PnL/volume/trades over 1d, 7d, 30d and all (with `category`: over the
    positions in that category's markets only), the trader's all-markets leaderboard ranks,
    its most recently active positions and the daily series of its last active days."""
    body = await trader_body(state, wallet_address, parse_query(TraderQuery, request))
    if body is None:
        raise HTTPException(404, f"no trader {wallet_address} in the marts")
    return _json(body)


def _risk(row: dict) -> TraderRiskPublic:
    def market(which: str) -> MarketResultPublic | None:
        if row[which] is None:
            return None
        return MarketResultPublic(market_id=row[which], total_pnl=row[f"{which}_pnl"])

    return TraderRiskPublic(
        profit_factor=row["profit_factor"],
        avg_win=row["avg_win"],
        avg_loss=row["avg_loss"],
        max_drawdown=row["max_drawdown"],
        best_market=market("best_market"),
        worst_market=market("worst_market"),
    )


async def trader_body(state: AppState, wallet_address: str, query: TraderQuery) -> bytes | None:
    """The cached JSON body of one trader, None when the marts do not have the wallet."""
    warehouse = state.warehouse
    wallet = {"wallet": wallet_address}
    category = query.category

    async def category_metrics() -> dict:
        row = await warehouse.fetch_one(
            queries.TRADER_CATEGORY, {**wallet, "category": category.value}
        )
        # no position in the category's markets: nothing traded, nothing earned, nothing
        # closed there
        if row is not None:
            return row
        return {
            name: None if name.startswith("win_rate") else 0
            for name in TraderMetricsPublic.model_fields
        }

    async def compute() -> bytes | None:
        row = await warehouse.fetch_one(queries.TRADER, wallet)
        if row is None:
            return None
        metrics = row if category is None else await category_metrics()
        ranks, positions, chart = await asyncio.gather(
            warehouse.fetch(queries.TRADER_RANKS, wallet),
            warehouse.fetch(queries.RECENT_POSITIONS, {**wallet, "limit": RECENT_POSITIONS}),
            warehouse.fetch(queries.CHART, {**wallet, "limit": CHART_DAYS}),
        )
        order = {t.value: i for i, t in enumerate(Timeframe)}
        body = TraderDetailPublic(
            trader=TraderPublic.model_validate(row),
            category=category,
            metrics=TraderMetricsPublic.model_validate(metrics),
            risk=_risk(row),
            ranks=sorted(
                (RankPublic.model_validate(r) for r in ranks), key=lambda r: order[r.timeframe]
            ),
            recent_positions=[PositionPublic.model_validate(p) for p in positions],
            chart_data=[DailyStatPublic.model_validate(d) for d in chart],
            as_of=warehouse.as_of,
        )
        return dump_json(body, query.decimals)

    parts = (wallet_address,) if category is None else (wallet_address, f"category={category}")
    return await state.cache.get_or_compute(
        "trader",
        _cache_parts(query.decimals, *parts),
        state.settings.trader_cache_ttl,
        compute,
    )


@router.get(
    "/{wallet_address}/statistics",
    response_model=TraderStatisticsPublic,
    summary="A trader's daily statistics",
    responses={**NOT_FOUND, **UNAVAILABLE},
    openapi_extra={"parameters": openapi_parameters(StatisticsQuery)},
)
async def get_trader_statistics(
    wallet_address: WalletPath, request: Request, state: StateDep
) -> Response:
    """One entry per UTC day with activity: fills, volume, cash flow, realized PnL, and the
    end-of-day state (cumulative PnL = realized + unrealized, open positions)."""
    body = await statistics_body(state, wallet_address, parse_query(StatisticsQuery, request))
    if body is None:
        raise HTTPException(404, f"no trader {wallet_address} in the marts")
    return _json(body)


async def statistics_body(
    state: AppState, wallet_address: str, query: StatisticsQuery
) -> bytes | None:
    """The cached JSON body of a trader's daily series, None for a wallet not in the marts."""
    date_from, date_to = query.date_from, query.date_to
    warehouse = state.warehouse

    async def compute() -> bytes | None:
        if await warehouse.fetch_one(queries.TRADER_EXISTS, {"wallet": wallet_address}) is None:
            return None
        params: dict = {"wallet": wallet_address}
        if date_from is not None:
            params["date_from"] = date_from
        if date_to is not None:
            params["date_to"] = date_to
        rows = await warehouse.fetch(
            queries.statistics(date_from is not None, date_to is not None), params
        )
        body = TraderStatisticsPublic(
            wallet_address=wallet_address,
            date_from=date_from,
            date_to=date_to,
            series=[DailyStatPublic.model_validate(r) for r in rows],
            as_of=warehouse.as_of,
        )
        return dump_json(body, query.decimals)

    return await state.cache.get_or_compute(
        "trader_stats",
        _cache_parts(
            query.decimals, wallet_address, params_hash({"from": date_from, "to": date_to})
        ),
        state.settings.trader_stats_cache_ttl,
        compute,
    )


@router.get(
    "/{wallet_address}/positions",
    response_model=PositionsPublic,
    summary="A trader's positions",
    responses={**NOT_FOUND, **UNAVAILABLE},
    openapi_extra={"parameters": openapi_parameters(PositionsQuery)},
)
async def get_trader_positions(
    wallet_address: WalletPath, request: Request, state: StateDep
) -> Response:
    """One entry per position (trader, outcome token), newest activity first unless `sort`
    names another column."""
    body = await positions_body(state, wallet_address, parse_query(PositionsQuery, request))
    if body is None:
        raise HTTPException(404, f"no trader {wallet_address} in the marts")
    return _json(body)


async def positions_body(
    state: AppState, wallet_address: str, query: PositionsQuery
) -> bytes | None:
    """The cached JSON body of one page of a trader's positions, None for an unknown wallet."""
    status, outcome, page, limit = query.status, query.outcome, query.page, query.limit
    status_filter = None if status is PositionStatus.all else status.value
    outcome_filter = outcome.value if outcome is not None else None
    warehouse = state.warehouse

    async def compute() -> bytes | None:
        if await warehouse.fetch_one(queries.TRADER_EXISTS, {"wallet": wallet_address}) is None:
            return None
        params: dict = {"wallet": wallet_address, "limit": limit, "offset": (page - 1) * limit}
        if status_filter is not None:
            params["status"] = status_filter
        if outcome_filter is not None:
            params["outcome"] = outcome_filter
        sql = queries.positions(status_filter, outcome_filter, query.sort.value, query.order.value)
        rows = await warehouse.fetch(sql, params)
        if rows:
            total = int(rows[0]["total_count"])
        elif page > 1:
            count_params = {k: v for k, v in params.items() if k not in ("limit", "offset")}
            count = await warehouse.fetch_one(
                queries.positions_count(status_filter, outcome_filter), count_params
            )
            total = int(count["total_count"]) if count else 0
        else:
            total = 0
        body = PositionsPublic(
            wallet_address=wallet_address,
            positions=[PositionPublic.model_validate(r) for r in rows],
            total=total,
            page=page,
            limit=limit,
            total_pages=_pages(total, limit),
            as_of=warehouse.as_of,
        )
        return dump_json(body, query.decimals)

    key = params_hash(
        {
            "status": status.value,
            "outcome": outcome_filter,
            "sort": query.sort.value,
            "order": query.order.value,
            "page": page,
            "limit": limit,
        }
    )
    return await state.cache.get_or_compute(
        "trader_positions",
        _cache_parts(query.decimals, wallet_address, key),
        state.settings.trader_cache_ttl,
        compute,
    )
