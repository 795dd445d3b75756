"""Query parameters of the trader routes, and the one rule every route parses them by.

The rule (api/README.md, "Query parameters"):
- a parameter left out takes its default;
- a parameter given with an empty value (`limit=`) is a 422: leave it out for the default;
- a parameter given more than once is a 422;
- parameters a route does not know are ignored;
- values are checked by the route's model below: enums take their listed values exactly,
  numbers their bounds, dates are `YYYY-MM-DD` (a UTC day: no time, no offset).

Each route validates its whole query with one model (`parse_query`): FastAPI's
per-parameter resolution would cost more than a cache hit on the hottest endpoint
(bench/api.py, P4). `openapi_parameters` documents the same model in OpenAPI.
"""

from __future__ import annotations

import re
from datetime import date
from functools import cache
from typing import Annotated, Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from api.models import (
    Category,
    DecimalFormat,
    MarketOutcome,
    Order,
    PositionSort,
    PositionStatus,
    SortBy,
    Timeframe,
)

Q = TypeVar("Q", bound=BaseModel)

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _day_only(value: Any) -> Any:
    # Pydantic would also take a datetime at midnight (dropping its offset) or a Unix time.
    if isinstance(value, str) and not _DAY.fullmatch(value):
        raise PydanticCustomError(
            "date_format", "Input should be a date written YYYY-MM-DD, without a time or offset"
        )
    return value


UtcDay = Annotated[date, BeforeValidator(_day_only)]


class _TraderRouteQuery(BaseModel):
    """What every trader route takes."""

    decimals: DecimalFormat = Field(
        DecimalFormat.number,
        description="How USDC amounts, shares, prices and win rates are written: `number` "
        "(JSON numbers, which most readers hold as float64, exact to about 15 significant "
        "digits) or `string` (decimal strings with every digit the marts hold: 6 decimals, "
        "18 for prices).",
    )


class LeaderboardQuery(_TraderRouteQuery):
    """Query of GET /traders/leaderboard."""

    timeframe: Timeframe = Field(
        Timeframe.d7, description="Window ending at the data watermark: 1d, 7d, 30d or all."
    )
    category: Category | None = Field(
        None,
        description="Rank over the positions in markets of this leaderboard category only "
        "(politics, sports, crypto, economics, finance, tech, culture, weather, mentions); "
        "left out: every market.",
    )
    sort_by: SortBy = Field(
        SortBy.pnl, description="Rank by pnl, volume, win_rate or trades (within the window)."
    )
    order: Order = Field(Order.desc, description="desc (best first) or asc.")
    min_trades: int | None = Field(
        None, ge=0, le=1_000_000_000, description="Minimum fills in the window (MIN_TRADER_TRADES)."
    )
    min_volume: float | None = Field(
        None,
        ge=0,
        le=1e15,
        allow_inf_nan=False,
        description="Minimum USDC volume in the window (MIN_TRADER_VOLUME).",
    )
    page: int = Field(1, ge=1, le=100_000, description="Page, from 1.")
    limit: int = Field(20, ge=1, le=100, description="Page size, 1 to 100.")


class SearchQuery(_TraderRouteQuery):
    """Query of GET /traders/search."""

    q: str = Field(
        min_length=1,
        max_length=42,
        pattern=r"^(0[xX])?[0-9a-fA-F]{1,40}$",
        description="Start of a wallet address, hexadecimal, with or without 0x; any case.",
        examples=["0x5668"],
    )
    limit: int = Field(10, ge=1, le=50, description="At most this many results.")


class TraderQuery(_TraderRouteQuery):
    """Query of GET /traders/{wallet_address}."""

    category: Category | None = Field(
        None,
        description="Window metrics over the positions in markets of this leaderboard "
        "category only; left out: every market.",
    )


class StatisticsQuery(_TraderRouteQuery):
    """Query of GET /traders/{wallet_address}/statistics."""

    date_from: UtcDay | None = Field(
        None, alias="from", description="First UTC day, inclusive (YYYY-MM-DD)."
    )
    date_to: UtcDay | None = Field(
        None, alias="to", description="Last UTC day, inclusive (YYYY-MM-DD)."
    )

    @field_validator("date_to")
    @classmethod
    def _not_before_from(cls, value: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("date_from")
        if value is not None and start is not None and start > value:
            raise PydanticCustomError("date_order", "`from` must be on or before `to`")
        return value


class PositionsQuery(_TraderRouteQuery):
    """Query of GET /traders/{wallet_address}/positions."""

    status: PositionStatus = Field(
        PositionStatus.all,
        description="all; open (holding shares); closed (no shares, market unresolved); "
        "resolved (market resolved); redeemed (redeemed for USDC).",
    )
    outcome: MarketOutcome | None = Field(
        None, description="Only positions whose trader-market is a win, loss, flat or open."
    )
    sort: PositionSort = Field(
        PositionSort.last_activity,
        description="Order the positions by this column (market: its question, else its "
        "condition id); ties by token id.",
    )
    order: Order = Field(Order.desc, description="desc (default) or asc; nulls come last.")
    page: int = Field(1, ge=1, le=100_000, description="Page, from 1.")
    limit: int = Field(50, ge=1, le=100, description="Page size, 1 to 100.")


@cache
def _names(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(field.alias or name for name, field in model.model_fields.items())


def parse_query(model: type[Q], request: Request) -> Q:
    """The route's query under the rule above; a RequestValidationError (422) otherwise."""
    names = _names(model)
    raw: dict[str, str] = {}
    errors: list[dict[str, Any]] = []
    for name, value in request.query_params.multi_items():
        if name not in names:
            continue
        if name in raw:
            errors.append(_error("duplicate", name, value, "given more than once: give it once"))
        elif value == "":
            errors.append(
                _error("empty", name, value, "empty: give a value, or leave it out for its default")
            )
        raw[name] = value
    # One answer lists every bad parameter: those the rule refused, then the model's findings
    # on the others.
    refused = {error["loc"][1] for error in errors}
    try:
        query = model.model_validate({k: v for k, v in raw.items() if k not in refused})
    except ValidationError as exc:
        errors += [
            {**e, "loc": ("query", *e["loc"])}
            for e in exc.errors(include_url=False)
            if not e["loc"] or e["loc"][0] not in refused
        ]
    else:
        if not errors:
            return query
    raise RequestValidationError(errors)


def _error(kind: str, name: str, value: str, message: str) -> dict[str, Any]:
    return {"type": kind, "loc": ("query", name), "msg": f"`{name}` is {message}", "input": value}


def openapi_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """The model's fields as OpenAPI query parameters (enums inlined)."""
    schema = model.model_json_schema()
    definitions = schema.get("$defs", {})
    required = set(schema.get("required", ()))
    parameters = []
    for name, prop in schema["properties"].items():
        prop = _not_null(_inline(prop, definitions))
        parameters.append(
            {
                "name": name,
                "in": "query",
                "required": name in required,
                "description": prop.pop("description", ""),
                "schema": prop,
            }
        )
    return parameters


def _not_null(prop: dict[str, Any]) -> dict[str, Any]:
    # A query parameter is left out, never null: `int | None` is documented as an optional int.
    options = [option for option in prop.get("anyOf", ()) if option != {"type": "null"}]
    if len(options) != 1:
        return prop
    rest = {k: v for k, v in prop.items() if k != "anyOf"}
    return {**options[0], **rest}


def _inline(node: Any, definitions: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_inline(item, definitions) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if ref is not None:
        rest = {k: v for k, v in node.items() if k != "$ref"}
        return {**_inline(definitions[ref.rsplit("/", 1)[-1]], definitions), **rest}
    return {key: _inline(value, definitions) for key, value in node.items()}
