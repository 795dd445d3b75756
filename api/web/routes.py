"""The pages people open: the leaderboard (`/`), a trader (`/traders/{wallet}`), `/search`.

Server-rendered from the very cached JSON bodies the API routes answer with
(`api.routes.traders.*_body`): one set of queries, one cache, the same publication
version in every key, so a page is as fresh as the API and costs a cache hit when warm.
Query parameters follow the API's rule (`api.params.parse_query`) and are the page's state,
so every view is a shareable link. The JavaScript in static/app.js only adds to a page that
works without it: search suggestions, the category select, the two charts.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from api.deps import WALLET_RE, StateDep
from api.models import Category, Order, PositionSort, SortBy, Timeframe
from api.params import (
    LeaderboardQuery,
    PositionsQuery,
    SearchQuery,
    StatisticsQuery,
    TraderQuery,
    parse_query,
)
from api.routes import traders
from api.routes.sources import sources_body
from api.warehouse import WarehouseUnavailable
from api.web import format as fmt

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters.update(fmt.FILTERS)

TIMEFRAME_LABELS = {"1d": "24 hours", "7d": "7 days", "30d": "30 days", "all": "All time"}
SORT_LABELS = {"pnl": "PnL", "volume": "Volume", "win_rate": "Win rate", "trades": "Trades"}
POSITION_STATUSES = ("all", "open", "closed", "resolved", "redeemed")
TEXT_POSITION_SORTS = (PositionSort.market, PositionSort.status)


def _fingerprint(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:10]


# Static files are addressed by content (`?v=<hash>`), so a browser may keep them until they
# change, and a new release is never served an old script.
_ASSET_VERSIONS = {
    str(p.relative_to(STATIC)): _fingerprint(p) for p in STATIC.rglob("*") if p.is_file()
}


def asset(path: str) -> str:
    return f"/static/{path}?v={_ASSET_VERSIONS[path]}"


templates.env.globals["asset"] = asset


def install(app: FastAPI) -> None:
    """Serve the pages and their static files from the app."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")


def _link(path: str, current: Mapping[str, str], **changes: Any) -> str:
    """`path` with the current query changed: a None value drops the parameter."""
    query = dict(current)
    for name, value in changes.items():
        if value is None:
            query.pop(name, None)
        else:
            query[name] = str(value)
    return f"{path}?{urlencode(query)}" if query else path


def _known(request: Request, model: type) -> dict[str, str]:
    names = {field.alias or name for name, field in model.model_fields.items()}
    return {k: v for k, v in request.query_params.items() if k in names}


def _render(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def _problem(request: Request, status_code: int, title: str, messages: list[str]) -> Response:
    return _render(request, "problem.html", status_code, title=title, messages=messages)


def _bad_query(request: Request, exc: RequestValidationError) -> Response:
    messages = [f"{'.'.join(map(str, e['loc'][1:]))}: {e['msg']}" for e in exc.errors()]
    return _problem(request, 422, "This link asks for something the data cannot answer", messages)


def _unavailable(request: Request, exc: WarehouseUnavailable) -> Response:
    response = _problem(request, 503, "The data cannot be read right now", [exc.reason])
    response.headers["Retry-After"] = "5"
    return response


async def _freshness(state: StateDep, as_of: str | None) -> dict[str, Any] | None:
    """The data's watermark and each source's lag in plain words, as of this page."""
    if as_of is None:
        return None
    try:
        sources = orjson.loads(await sources_body(state))["sources"]
    except WarehouseUnavailable:  # an older publication without the freshness mart
        sources = []
    now = datetime.now(UTC)
    return {
        "as_of": fmt.utc_time(as_of),
        "age": fmt.ago(as_of, now),
        "sources": fmt.source_lags(sources, now),
    }


@router.get("/", response_class=HTMLResponse)
async def leaderboard_page(request: Request, state: StateDep) -> Response:
    # The thresholds form sends an empty field for "default"; the API would refuse it (422),
    # the page drops it and shows the clean link instead.
    given = request.query_params.multi_items()
    if any(value == "" for _, value in given):
        kept = [(name, value) for name, value in given if value != ""]
        return RedirectResponse(f"/?{urlencode(kept)}" if kept else "/", status_code=303)
    try:
        query = parse_query(LeaderboardQuery, request)
        board = orjson.loads(await traders.leaderboard_body(state, query))
    except RequestValidationError as exc:
        return _bad_query(request, exc)
    except WarehouseUnavailable as exc:
        return _unavailable(request, exc)
    current = _known(request, LeaderboardQuery)

    def link(**changes: Any) -> str:
        return _link("/", current, **changes)

    def sort_link(sort_by: str) -> str:
        # The active column flips its order; another column starts best first.
        if sort_by == query.sort_by.value:
            flipped = Order.asc if query.order is Order.desc else Order.desc
            return link(order=None if flipped is Order.desc else flipped.value, page=None)
        return link(sort_by=None if sort_by == SortBy.pnl else sort_by, order=None, page=None)

    return _render(
        request,
        "leaderboard.html",
        board=board,
        query=query,
        link=link,
        sort_link=sort_link,
        timeframes=[(t.value, TIMEFRAME_LABELS[t.value]) for t in Timeframe],
        categories=[(c.value, c.value.capitalize()) for c in Category],
        sort_labels=SORT_LABELS,
        freshness=await _freshness(state, board["as_of"]),
        thresholds_changed=query.min_trades is not None or query.min_volume is not None,
    )


@router.get("/search", response_class=HTMLResponse)
async def search_page(request: Request, state: StateDep) -> Response:
    """A whole wallet, or a prefix only one trader has, opens its page; else the matches."""
    try:
        query = parse_query(SearchQuery, request)
    except RequestValidationError:
        return _problem(
            request,
            422,
            "Search by wallet address",
            ["Type the start of a wallet address: hexadecimal digits, with or without 0x."],
        )
    q = query.q.lower()
    wallet = q if q.startswith("0x") else "0x" + q
    if WALLET_RE.match(wallet):
        return RedirectResponse(f"/traders/{wallet}", status_code=303)
    try:
        found = orjson.loads(await traders.search_body(state, query))
    except WarehouseUnavailable as exc:
        return _unavailable(request, exc)
    if len(found["results"]) == 1:
        return RedirectResponse(f"/traders/{found['results'][0]['wallet_address']}", 303)
    return _render(request, "search.html", found=found, q=query.q)


@router.get("/traders/{wallet}", response_class=HTMLResponse)
async def trader_page(wallet: str, request: Request, state: StateDep) -> Response:
    if not WALLET_RE.match(wallet):
        return _problem(
            request,
            422,
            "That is not a wallet address",
            ["A wallet address is 0x followed by 40 hexadecimal digits."],
        )
    wallet = wallet.lower()
    try:
        positions_query = parse_query(PositionsQuery, request)
        trader, series, positions = await asyncio.gather(
            traders.trader_body(state, wallet, TraderQuery()),
            traders.statistics_body(state, wallet, StatisticsQuery()),
            traders.positions_body(state, wallet, positions_query),
        )
    except RequestValidationError as exc:
        return _bad_query(request, exc)
    except WarehouseUnavailable as exc:
        return _unavailable(request, exc)
    if trader is None or series is None or positions is None:
        return _render(
            request,
            "unknown_trader.html",
            404,
            wallet=wallet,
            freshness=await _freshness(
                state, state.warehouse.as_of and _iso(state.warehouse.as_of)
            ),
        )
    detail = orjson.loads(trader)
    daily = orjson.loads(series)["series"]
    current = _known(request, PositionsQuery)

    def link(**changes: Any) -> str:
        return _link(f"/traders/{wallet}", current, **changes)

    def position_sort_link(sort: str) -> str:
        # The active column flips its order; another starts high first (text: A first).
        if sort == positions_query.sort.value:
            flipped = Order.asc if positions_query.order is Order.desc else Order.desc
            return link(order=None if flipped is Order.desc else flipped.value, page=None)
        start = Order.asc if sort in TEXT_POSITION_SORTS else Order.desc
        default = sort == PositionSort.last_activity
        return link(
            sort=None if default else sort,
            order=None if start is Order.desc else start.value,
            page=None,
        )

    ranks = {r["timeframe"]: r for r in detail["ranks"]}
    metrics = detail["metrics"]
    windows = [
        {
            "key": key,
            "label": TIMEFRAME_LABELS[key],
            "pnl": metrics[f"pnl_{key}"],
            "volume": metrics[f"volume_{key}"],
            "trades": metrics[f"trades_{key}"],
            "win_rate": metrics[f"win_rate_{key}"],
            "wins": metrics[f"wins_{key}"],
            "losses": metrics[f"losses_{key}"],
            "pnl_rank": ranks.get(key, {}).get("pnl_rank"),
            "volume_rank": ranks.get(key, {}).get("volume_rank"),
        }
        for key in TIMEFRAME_LABELS
    ]
    return _render(
        request,
        "trader.html",
        wallet=wallet,
        trader=detail["trader"],
        risk=detail["risk"],
        windows=windows,
        daily=daily,
        chart_series={
            "day": [d["day"] for d in daily],
            "cumulative_pnl": [d["cumulative_pnl"] for d in daily],
            "volume": [d["volume"] for d in daily],
        },
        positions=orjson.loads(positions),
        positions_query=positions_query,
        statuses=POSITION_STATUSES,
        link=link,
        position_sort_link=position_sort_link,
        freshness=await _freshness(state, detail["as_of"]),
    )


def _iso(moment: datetime) -> str:
    # As the API writes it: the marts store instants, so a value without a zone is UTC.
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
